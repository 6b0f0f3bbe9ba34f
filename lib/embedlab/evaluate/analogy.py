"""Word analogies ``a : b :: c : ?``: 3CosAdd and 3CosMul, accuracy and MRR@k, per category and overall,
with coverage; vectorized over questions.

Conventions follow gensim (``KeyedVectors.most_similar`` / ``most_similar_cosmul`` /
``evaluate_word_analogies``): cosine on unit vectors, the three question words are never answers,
a question is *answerable* when all four words are in the vocabulary, and accuracy is over answerable
questions (coverage is reported beside it). 3CosAdd ranks candidates by ``cos(x, b) - cos(x, a) +
cos(x, c)``, 3CosMul by ``s(x, b) s(x, c) / (s(x, a) + eps)`` with ``s = (1 + cos) / 2`` and ``eps = 0.001`` as Levy &
Goldberg (2014) (a parameter; gensim's ``most_similar_cosmul`` uses 1e-6, which can change the answer).
MRR@k scores ``1 / rank`` when the answer is within the top ``k``, else 0.

Speed and memory (:func:`search`): the vocabulary is walked in chunks; per chunk, one matrix product gives
the cosines of the distinct question words with the chunk's words (never the whole [question words x
vocabulary] matrix: fewer rows than a product with one combined vector per question, since questions share
words), then one compiled, parallel pass per question combines its three rows in a branch-free loop, and updates
the best candidate and the count of candidates above the answer (:func:`_chunk_pass`). Results are exact and
independent of the chunk size.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numba
import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from ..choices import check_names

ANALOGY_METHODS = ("3cosadd", "3cosmul")
OVERALL = "overall"


def check_methods(methods: Iterable[str]) -> list[str]:
    """Validate analogy methods against :data:`ANALOGY_METHODS`."""
    return check_names("analogy method(s)", methods, ANALOGY_METHODS, nonempty=True)


def question_frame(questions) -> pd.DataFrame:
    """Questions as a DataFrame ``a, b, c, d, category`` (from an AnalogySet, a DataFrame or 5-tuples)."""
    df = getattr(questions, "questions", questions)
    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(list(df), columns=["a", "b", "c", "d", "category"])
    missing = {"a", "b", "c", "d", "category"} - set(df.columns)
    if missing:
        raise ValueError(f"analogy questions lack column(s) {sorted(missing)}; need a, b, c, d, category")
    if df.empty:
        raise ValueError("no analogy questions")
    return df.reset_index(drop=True)


def answerable(kv: KeyedVectors, questions) -> np.ndarray:
    """Boolean mask of questions whose four words are all in ``kv``."""
    df = question_frame(questions)
    vocab = kv.key_to_index
    return np.all([[w in vocab for w in df[col]] for col in "abcd"], axis=0)


def common_questions(embeddings: Mapping[str, KeyedVectors], questions) -> np.ndarray:
    """Mask of questions answerable by every embedding (to compare all models on the same questions)."""
    return np.logical_and.reduce([answerable(kv, questions) for kv in embeddings.values()])


#: 3CosMul's epsilon: Levy & Goldberg (2014) use 0.001; gensim's ``most_similar_cosmul`` uses 1e-6.
COSMUL_EPS = 1e-3
#: target size of one (question words x vocabulary chunk) float32 block, in bytes
CHUNK_BYTES = 64 << 20


@numba.njit(parallel=True, cache=True, fastmath={"nnan", "nsz"})
def _chunk_pass(sims, start, a, b, c, wa, wb, wc, wd, target, cosmul, eps, best, best_j, above):  # pragma: no cover
    """One vocabulary chunk ``[start, start + sims.shape[1])`` of the per-question search, in place.

    ``sims[i]`` holds the cosine of question word i with the chunk's words; ``a``, ``b``, ``c`` index
    ``sims``, ``wa``/``wb``/``wc``/``wd`` the vocabulary. 3CosAdd scores ``sb - sa + sc``, 3CosMul
    ``((1 + sb) / 2) * ((1 + sc) / 2) / ((1 + sa) / 2 + eps)`` (Levy & Goldberg 2014), in float32; the three
    question words are excluded; ``best``/``best_j`` keep the running maximum (ties go to the lower index, as
    ``np.argmax``, because chunks come in order and only a strictly higher score replaces the best);
    ``above`` counts candidates other than the answer scoring strictly above the answer's ``target`` score.

    Per question one branch-free loop over the chunk scores every candidate, keeps the chunk's maximum and counts
    the scores above the target (it vectorizes); the question words and the answer are then taken out of the count,
    and only a chunk whose maximum beats the running best is scanned again, with the exclusions, for the new best.
    """
    n, v = len(a), sims.shape[1]
    one, two = np.float32(1.0), np.float32(2.0)
    for q in numba.prange(n):
        ra, rb, rc = sims[a[q]], sims[b[q]], sims[c[q]]
        t = target[q]
        top, cnt = np.float32(-3.0e38), 0
        if cosmul:
            for jj in range(v):
                score = ((one + rb[jj]) / two) * ((one + rc[jj]) / two) / ((one + ra[jj]) / two + eps)
                top = max(top, score)
                cnt += score > t
        else:
            for jj in range(v):
                score = rb[jj] - ra[jj] + rc[jj]
                top = max(top, score)
                cnt += score > t
        ws = (wa[q], wb[q], wc[q], wd[q])
        for e in range(4):                              # the question words and the answer do not count
            jj = ws[e] - start
            if jj < 0 or jj >= v or (e > 0 and ws[e] == ws[0]) or (e > 1 and ws[e] == ws[1]) or \
                    (e > 2 and ws[e] == ws[2]):
                continue
            if cosmul:
                score = ((one + rb[jj]) / two) * ((one + rc[jj]) / two) / ((one + ra[jj]) / two + eps)
            else:
                score = rb[jj] - ra[jj] + rc[jj]
            cnt -= score > t
        above[q] += cnt
        if top > best[q]:                               # a new best may be here: scan again, excluding a, b, c
            bq, bj = best[q], best_j[q]
            for jj in range(v):
                j = start + jj
                if j == wa[q] or j == wb[q] or j == wc[q]:
                    continue
                if cosmul:
                    score = ((one + rb[jj]) / two) * ((one + rc[jj]) / two) / ((one + ra[jj]) / two + eps)
                else:
                    score = rb[jj] - ra[jj] + rc[jj]
                if score > bq:
                    bq, bj = score, j
            best[q], best_j[q] = bq, bj


def _norms(vectors: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """Row norms (at least 1e-12), block by block: ``np.linalg.norm`` on the whole table would make a squared
    copy of it (2.4 GB for 2M x 300 float32)."""
    out = np.empty(len(vectors), dtype=np.float32)
    for s in range(0, len(vectors), block):
        out[s:s + block] = np.linalg.norm(np.asarray(vectors[s:s + block], dtype=np.float32), axis=1)
    return np.maximum(out, np.float32(1e-12))


def _unit_rows(vectors: np.ndarray, rows, norms: np.ndarray) -> np.ndarray:
    return (np.asarray(vectors[rows], dtype=np.float32) / norms[rows, None]).astype(np.float32, copy=False)


def _target_scores(q_unit: np.ndarray, d_unit: np.ndarray, a, b, c, cosmul: bool, eps: np.float32) -> np.ndarray:
    """The answer's own score per question, in the float32 arithmetic of :func:`_chunk_pass`."""
    sa = np.einsum("ij,ij->i", q_unit[a], d_unit).astype(np.float32)
    sb = np.einsum("ij,ij->i", q_unit[b], d_unit).astype(np.float32)
    sc = np.einsum("ij,ij->i", q_unit[c], d_unit).astype(np.float32)
    one, two = np.float32(1), np.float32(2)
    if cosmul:
        return ((one + sb) / two) * ((one + sc) / two) / ((one + sa) / two + eps)
    return sb - sa + sc


def search(vectors: np.ndarray, wa, wb, wc, wd, methods: Sequence[str] = ANALOGY_METHODS, eps: float = COSMUL_EPS,
           chunk_size: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Best candidate and 1-based answer rank per question and method, over vocabulary chunks.

    ``vectors`` is the raw ``[V, dim]`` table (not normalised: each chunk is normalised on the fly, so no
    normalised copy of the table is made); ``wa``..``wd`` are vocabulary indices. Memory beyond the table:
    one ``[distinct question words x chunk_size]`` float32 block plus a ``[chunk_size x dim]`` normalised
    chunk; ``chunk_size=None`` picks the largest chunk whose block fits :data:`CHUNK_BYTES`. The answer's rank
    is 1 + the number of candidates (question words excluded) scoring strictly above it; the result does not
    depend on ``chunk_size`` (``tests/test_analogy.py`` checks chunked against one chunk and against gensim).
    Returns ``{method: (best_index, rank)}``.
    """
    methods = check_methods(methods)
    wa, wb, wc, wd = (np.asarray(x, dtype=np.int64) for x in (wa, wb, wc, wd))
    vocab = len(vectors)
    norms = _norms(vectors)
    words = np.unique(np.concatenate([wa, wb, wc]))
    where = np.full(vocab, -1, dtype=np.int64)
    where[words] = np.arange(len(words))
    a, b, c = where[wa], where[wb], where[wc]
    q_unit = _unit_rows(vectors, words, norms)
    d_unit = _unit_rows(vectors, wd, norms)
    if chunk_size is None:
        chunk_size = max(1024, CHUNK_BYTES // (4 * max(1, len(words))))
    chunk_size = max(1, int(chunk_size))
    eps32 = np.float32(eps)
    state = {}
    for m in methods:
        cosmul = m == "3cosmul"
        target = _target_scores(q_unit, d_unit, a, b, c, cosmul, eps32)
        collide = (wd == wa) | (wd == wb) | (wd == wc)          # the answer is a question word: never found
        target = np.where(collide, np.float32(-np.inf), target).astype(np.float32)
        state[m] = (cosmul, target, np.full(len(wa), -np.inf, np.float32), np.zeros(len(wa), np.int64),
                    np.zeros(len(wa), np.int64))
    for s in range(0, vocab, chunk_size):
        e = min(vocab, s + chunk_size)
        sims = q_unit @ _unit_rows(vectors, slice(s, e), norms).T
        for m in methods:
            cosmul, target, best, best_j, above = state[m]
            _chunk_pass(sims, s, a, b, c, wa, wb, wc, wd, target, cosmul, eps32, best, best_j, above)
        del sims
    out = {}
    for m, (_, _, _, best_j, above) in state.items():
        rank = above + 1
        # the answer's own score is computed apart from the chunk's matrix product, so a last-bit difference
        # could disagree with the best candidate; keep the two consistent
        rank = np.where(best_j == wd, 1, np.where(rank == 1, 2, rank))
        out[m] = (best_j, rank)
    return out


def analogy_ranks(kv: KeyedVectors, questions, methods: Sequence[str] = ANALOGY_METHODS,
                  restrict: np.ndarray | None = None, eps: float = COSMUL_EPS, chunk_size: int | None = None,
                  k: int = 10) -> pd.DataFrame:
    """Per question and method: whether it was answered, the predicted word, the answer's 1-based rank,
    ``correct`` and ``rr`` (reciprocal rank within the top ``k``, else 0: the question's MRR@k score).

    Unanswerable questions (or those outside ``restrict``) get ``answered=False``, rank 0 and rr 0.
    ``question`` is the question's row in ``questions`` (the same for every method and embedding, so two
    embeddings' rows pair up for :func:`embedlab.stats.paired_mean_diff_ci`); a ``group`` column of the
    questions is carried along. ``eps`` is 3CosMul's epsilon (default :data:`COSMUL_EPS`, Levy & Goldberg's
    0.001; gensim uses 1e-6); ``chunk_size`` bounds memory (see :func:`search`).
    """
    methods = check_methods(methods)
    df = question_frame(questions)
    mask = answerable(kv, df)
    if restrict is not None:
        mask &= np.asarray(restrict, dtype=bool)
    idx = {col: np.array([kv.key_to_index.get(w, -1) for w in df[col]], dtype=np.int64) for col in "abcd"}
    rows = np.flatnonzero(mask)
    found = search(kv.vectors, *(idx[col][rows] for col in "abcd"), methods=methods, eps=eps,
                   chunk_size=chunk_size) if len(rows) else {}
    out = []
    for method in methods:
        pred = np.full(len(df), -1)
        rank = np.zeros(len(df), dtype=np.int64)
        if len(rows):
            pred[rows], rank[rows] = found[method]
        cols = {"method": method, "question": np.arange(len(df)), "category": df["category"]}
        if "group" in df.columns:
            cols["group"] = df["group"]
        cols.update({"answered": mask, "predicted": [kv.index_to_key[p] if p >= 0 else "" for p in pred],
                     "rank": rank, "correct": mask & (pred == idx["d"]),
                     "rr": np.where(mask & (rank >= 1) & (rank <= k), 1.0 / np.maximum(rank, 1), 0.0)})
        out.append(pd.DataFrame(cols))
    return pd.concat(out, ignore_index=True)


def summarize(ranks: pd.DataFrame, k: int = 10, by: str = "category", ci: bool = False, seed: int = 0
              ) -> pd.DataFrame:
    """Per method and ``by`` column (``category``, or ``group`` where the questions have one) plus ``overall``:
    questions, answered, coverage, accuracy, MRR@k. With ``ci``: 95% bootstrap intervals over questions
    (``accuracy_lo/hi``, ``mrr@k_lo/hi``, :func:`embedlab.stats.mean_ci`)."""
    from .. import stats

    r = ranks.assign(rr=np.where(ranks["answered"] & (ranks["rank"] <= k) & (ranks["rank"] > 0),
                                 1.0 / ranks["rank"].clip(lower=1), 0.0))
    rows = []
    for method, g in r.groupby("method", sort=False):
        for cat, h in list(g.groupby(by, sort=False)) + [(OVERALL, g)]:
            ans = h[h["answered"]]
            row = {"method": method, by: cat, "questions": len(h), "answered": len(ans),
                   "coverage": len(ans) / len(h), "accuracy": ans["correct"].mean() if len(ans) else np.nan,
                   f"mrr@{k}": ans["rr"].mean() if len(ans) else np.nan}
            if ci:
                row["accuracy_lo"], row["accuracy_hi"] = stats.mean_ci(ans["correct"].astype(float), seed=seed)
                row[f"mrr@{k}_lo"], row[f"mrr@{k}_hi"] = stats.mean_ci(ans["rr"], seed=seed)
            rows.append(row)
    return pd.DataFrame(rows)


def evaluate_analogies(kv: KeyedVectors, questions, methods: Sequence[str] = ANALOGY_METHODS, k: int = 10,
                       restrict: np.ndarray | None = None, eps: float = COSMUL_EPS, chunk_size: int | None = None,
                       per_question: bool = False, by: str = "category", ci: bool = False):
    """Accuracy and MRR@k per method and category (see :func:`summarize`); ``restrict`` limits the questions.

    ``eps``: 3CosMul's epsilon (:data:`COSMUL_EPS` = 0.001, Levy & Goldberg; gensim's value is 1e-6).
    With ``per_question=True`` returns ``(summary, per_question)`` where ``per_question`` is
    :func:`analogy_ranks`'s frame (method, question, category, answered, predicted, rank, correct, rr) for
    bootstrap intervals and paired differences between embeddings.
    """
    ranks = analogy_ranks(kv, questions, methods, restrict=restrict, eps=eps, chunk_size=chunk_size, k=k)
    summary = summarize(ranks, k, by=by, ci=ci)
    return (summary, ranks) if per_question else summary


def evaluate_many(embeddings: Mapping[str, KeyedVectors], questions, methods: Sequence[str] = ANALOGY_METHODS,
                  k: int = 10, same_questions: bool = True, eps: float = COSMUL_EPS, per_question: bool = False,
                  by: str = "category", ci: bool = False, chunk_size: int | None = None):
    """:func:`evaluate_analogies` for every embedding (column ``embedding``); with ``same_questions``
    every model answers only the questions all of them can answer. With ``per_question=True`` returns
    ``(summary, per_question)``, the per-question frames of all embeddings stacked (column ``embedding``)."""
    df = question_frame(questions)
    restrict = common_questions(embeddings, df) if same_questions else None
    frames, per = [], []
    for name, kv in embeddings.items():
        summary, ranks = evaluate_analogies(kv, df, methods, k, restrict, eps=eps, chunk_size=chunk_size,
                                            per_question=True, by=by, ci=ci)
        frames.append(summary.assign(embedding=name))
        per.append(ranks.assign(embedding=name))
    out = pd.concat(frames, ignore_index=True)
    out = out[["embedding"] + [c for c in out.columns if c != "embedding"]]
    if not per_question:
        return out
    per_df = pd.concat(per, ignore_index=True)
    return out, per_df[["embedding"] + [c for c in per_df.columns if c != "embedding"]]


def write_questions_words(questions, path) -> None:
    """Write questions in the Mikolov ``questions-words`` format (``: category`` headers), e.g. for gensim."""
    df = question_frame(questions)
    with open(path, "w", encoding="utf-8") as f:
        for cat, g in df.groupby("category", sort=False):
            f.write(f": {cat}\n")
            for a, b, c, d in g[["a", "b", "c", "d"]].itertuples(index=False):
                f.write(f"{a} {b} {c} {d}\n")
