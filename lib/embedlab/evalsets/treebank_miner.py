"""The morphological analogy miner over treebanks: :class:`Relation` (forms of one lemma that differ in feature
values), :func:`mine_analogies` over CoNLL-U sentences and :func:`treebank_analogies` per language."""
from __future__ import annotations

import dataclasses
import functools
from collections import Counter, defaultdict
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ._common import _base_language, _check_choice, _lowercase, _stable_hash
from .analogies import AnalogySet, _is_word
from .conllu import Sentence, UD_SPLITS, turkish_treebank_sentences, ud_treebank


@dataclasses.dataclass(frozen=True)
class Relation:
    """A morphological relation: forms of one lemma that differ in ``x`` -> ``y`` feature values.

    ``x``/``y`` are tuples of ``(feature, allowed_values)``; the value ``_`` means "feature absent".
    Build from a spec with :meth:`parse`: ``"NOUN Number=Sing:Number=Plur"``,
    ``"NOUN,PROPN Case=Bare/Nom:Case=Acc"`` (``/`` separates alternatives),
    ``"NOUN Person[psor]=_|Number[psor]=_:Person[psor]=1|Number[psor]=Sing"`` (``|`` joins features).
    """

    name: str
    upos: tuple[str, ...]
    x: tuple[tuple[str, tuple[str, ...]], ...]
    y: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def parse(cls, spec: str, name: str | None = None) -> "Relation":
        try:
            upos, feats = spec.strip().split(None, 1)
            xs, ys = feats.replace(" ", "").split(":")
            x = tuple((f, tuple(v.split("/"))) for f, _, v in (it.partition("=") for it in xs.split("|")))
            y = tuple((f, tuple(v.split("/"))) for f, _, v in (it.partition("=") for it in ys.split("|")))
        except ValueError:
            raise ValueError(f"bad relation spec {spec!r}; expected e.g. 'NOUN Number=Sing:Number=Plur'") from None
        if {f for f, _ in x} != {f for f, _ in y} or any(not f or not v or "" in v for f, v in x + y):
            raise ValueError(f"bad relation spec {spec!r}: both sides must name the same features with values")
        if all(set(vx) & set(vy) for (_, vx), (_, vy) in zip(sorted(x), sorted(y))):
            raise ValueError(f"bad relation spec {spec!r}: the two sides overlap")
        return cls(name or " ".join(spec.split()), tuple(upos.split(",")), x, y)

    @functools.cached_property
    def features(self) -> frozenset[str]:
        return frozenset(f for f, _ in self.x)

    @staticmethod
    def _match(bundle, feats: dict) -> dict | None:
        residual = {}
        for f, allowed in bundle:
            v = feats.get(f)
            if v is None:
                if "_" in allowed:
                    continue
                return None
            items = v.split(",")
            if not any(i in allowed for i in items):
                return None
            rest = [i for i in items if i not in allowed]
            if rest:
                residual[f] = ",".join(rest)
        return residual

    def side(self, upos: str, feats: dict) -> tuple[str, tuple] | None:
        """``("x"|"y", base-key features)`` for a word on either side of the relation, else ``None``."""
        if upos not in self.upos:
            return None
        for label, bundle in (("x", self.x), ("y", self.y)):
            res = self._match(bundle, feats)
            if res is not None:
                other = {k: v for k, v in feats.items() if k not in self.features}
                other.update({k + "~": v for k, v in res.items()})
                return label, tuple(sorted(other.items()))
        return None


def _rels(*specs: str) -> tuple[Relation, ...]:
    return tuple(Relation.parse(s) for s in specs)


# Default relations per language, in the feature names each treebank actually uses (inspected):
# turkish-treebanks: PersonNumber=A3sg/A3pl (nominal agreement) and V1sg..V3pl (verbal), Case=Bare/Nom/
# Acc/Dat/Loc/Abl/Gen/Ins (Bare and Nom are both unmarked), Possessive=Pnon/P1sg..P3pl,
# TenseAspectMood=Aor/Prog1/Past/Nar/Fut..., Polarity; UD IMST: Number, Case, Number[psor]+Person[psor],
# Tense+Aspect (+Polite=Infm on the progressive), Polarity, Person; UD Szeged: Number, 18 cases,
# Number[psor]+Person[psor], Tense, Definite, Degree; UD Marathi-UFAL: Number, Case (Nom, Acc, Dat,
# Loc, Erg, Ins, Abs = oblique), Gender and Number agreement on verbs. Relations that yield no pair
# at the default settings (e.g. Hungarian Ade/Ess/Tra) are left out.
_TR_CASES = ("Acc", "Dat", "Loc", "Abl", "Gen", "Ins")
_PSOR = (("Sing", "1"), ("Sing", "2"), ("Sing", "3"), ("Plur", "1"), ("Plur", "2"), ("Plur", "3"))
DEFAULT_RELATIONS: dict[str, tuple[Relation, ...]] = {
    "tr": _rels(
        "NOUN PersonNumber=A3sg:PersonNumber=A3pl",
        *(f"NOUN Case=Bare:Case={c}" for c in _TR_CASES),
        *(f"NOUN Possessive=Pnon:Possessive={p}" for p in ("P1sg", "P2sg", "P3sg", "P1pl", "P2pl", "P3pl")),
        "VERB TenseAspectMood=Prog1:TenseAspectMood=Past",
        "VERB TenseAspectMood=Aor:TenseAspectMood=Past",
        "VERB TenseAspectMood=Past:TenseAspectMood=Fut",
        "VERB TenseAspectMood=Past:TenseAspectMood=Nar",
        "VERB Polarity=Pos:Polarity=Neg",
        "VERB PersonNumber=V3sg:PersonNumber=V3pl",
        "VERB PersonNumber=V3sg:PersonNumber=V1sg",
        "VERB PersonNumber=V1sg:PersonNumber=V1pl",
    ),
    "tr-ud": _rels(
        "NOUN Number=Sing:Number=Plur",
        *(f"NOUN Case=Nom:Case={c}" for c in _TR_CASES),
        *(f"NOUN Number[psor]=_|Person[psor]=_:Number[psor]={n}|Person[psor]={p}" for n, p in _PSOR),
        "VERB Tense=Pres|Aspect=Prog|Polite=Infm:Tense=Past|Aspect=Perf|Polite=_",
        "VERB Tense=Pres|Aspect=Hab:Tense=Past|Aspect=Perf",
        "VERB Tense=Past:Tense=Fut",
        "VERB Polarity=Pos:Polarity=Neg",
        "VERB Number=Sing:Number=Plur",
        "VERB Person=3:Person=1",
    ),
    "hu": _rels(
        "NOUN Number=Sing:Number=Plur",
        *(f"NOUN Case=Nom:Case={c}" for c in
          ("Acc", "Ine", "Sup", "Sbl", "Ins", "Dat", "Gen", "Ill", "Ela", "All", "Del", "Abl", "Ter")),
        "NOUN Number[psor]=_|Person[psor]=_:Number[psor]=Sing|Person[psor]=3",
        "NOUN Number[psor]=_|Person[psor]=_:Number[psor]=Sing|Person[psor]=1",
        "NOUN Number[psor]=_|Person[psor]=_:Number[psor]=Plur|Person[psor]=3",
        "VERB Tense=Pres:Tense=Past",
        "VERB Number=Sing:Number=Plur",
        "VERB Definite=Ind:Definite=Def",
        "VERB Person=3:Person=1",
        "ADJ Degree=Pos:Degree=Cmp",
        "ADJ Number=Sing:Number=Plur",
    ),
    "mr": _rels(
        "NOUN Number=Sing:Number=Plur",
        *(f"NOUN Case=Nom:Case={c}" for c in ("Acc", "Dat", "Loc", "Erg", "Abs", "Ins")),
        "VERB Gender=Masc:Gender=Fem",
        "VERB Gender=Masc:Gender=Neut",
        "VERB Number=Sing:Number=Plur",
    ),
}
# Feature values merged before matching (turkish-treebanks: Nom and Bare are both the unmarked case).
DEFAULT_NORMALIZE: dict[str, dict[str, dict[str, str]]] = {"tr": {"Case": {"Nom": "Bare"}}}

# Orthographic features that are not held fixed when looking for a lemma's base form.
_IGNORED_FEATURES = frozenset({"Apostrophe", "Typo", "Abbr", "Foreign", "Style"})


def _normalize_feats(feats: dict, normalize: dict[str, dict[str, str]] | None) -> dict:
    if not normalize:
        return feats
    out = dict(feats)
    for f, mapping in normalize.items():
        if f in out:
            out[f] = ",".join(mapping.get(v, v) for v in out[f].split(","))
    return out


def mine_analogies(sentences: Iterable[Sentence], language: str,
                   relations: Sequence[Relation | str] | None = None, max_per_relation: int = 1000,
                   min_count: int = 2, seed: int = 0, min_pairs: int = 5, name: str | None = None,
                   source: str = "", ignore_features: Iterable[str] = _IGNORED_FEATURES,
                   normalize: dict[str, dict[str, str]] | None = None) -> AnalogySet:
    """Mine morphological analogy questions (``a : b :: c : d``) from lemma + feature annotations.

    Selection, per relation ``X -> Y`` (e.g. ``NOUN Number=Sing:Number=Plur``; the default list per
    language is :data:`DEFAULT_RELATIONS`, written in the feature names each treebank actually uses):

    1. Every token with a lemma whose UPOS is in the relation's UPOS list and whose features bear a
       value of ``X`` (or of ``Y``) is filed under a *base form*: lowercased lemma + UPOS + all its
       other features (the relation's own features excluded; orthographic ones - Apostrophe, Typo,
       Abbr, Foreign, Style - ignored; ``normalize`` merges values first: for ``tr`` Case=Nom counts as
       Case=Bare, both unmarked; merged turkish-treebanks words carry their derivation chain). The X
       form and the Y form of a base thus differ only in the relation's feature(s): ``ev``/``evler``
       are both Case=Bare, Possessive=Pnon.
    2. For each base seen on both sides, the X form and the Y form are the most frequent lowercased
       surface forms on each side (language rules: Turkish ``I`` -> ``ı``; ties: alphabetical).

    Filtering, in order (the survivors of each step are counted in ``stats``): 3. the two forms differ
    (``forms_differ``); 4. both are alphabetic - letters and combining marks only, no digits,
    apostrophes or hyphens (``alphabetic``); 5. each occurs at least ``min_count`` times in the whole
    treebank, counting lowercased surface forms of all tokens (``frequent``); 6. each is
    unambiguous: a form seen with more than one lemma on either side of this relation is dropped
    (``unambiguous``); identical (X, Y) pairs from different bases are kept once (``pairs``).

    Questions: for every relation with at least ``min_pairs`` pairs, the ordered pairs of distinct
    pairs ``(a, b)``, ``(c, d)`` with ``a != c`` and ``b != d``; when there are more than
    ``max_per_relation`` a uniform sample of that many is drawn with
    ``numpy.random.default_rng([seed, hash(relation name)])`` from the sorted pair list, so the
    result depends neither on input order, nor on the other relations, nor on ``PYTHONHASHSEED``.
    A question's ``category`` is its relation's name; ``pairs`` lists the word pairs with their
    lemma and corpus counts.
    """
    if max_per_relation < 1 or min_count < 1 or min_pairs < 2:
        raise ValueError(f"need max_per_relation >= 1, min_count >= 1, min_pairs >= 2; got {max_per_relation}, "
                         f"{min_count}, {min_pairs}")
    if relations is None:
        _check_choice("language for default relations", language, DEFAULT_RELATIONS)
        relations = DEFAULT_RELATIONS[language]
    if normalize is None:
        normalize = DEFAULT_NORMALIZE.get(language, {})
    rels = [r if isinstance(r, Relation) else Relation.parse(r) for r in relations]
    if not rels:
        raise ValueError("no relations given")
    ignore = frozenset(ignore_features)
    lang = _base_language(language)
    lower_cache: dict[str, str] = {}

    def low(s: str) -> str:
        if s not in lower_cache:
            lower_cache[s] = _lowercase(s, lang)
        return lower_cache[s]

    freq: Counter = Counter()
    # per relation: base -> side -> Counter(form); form -> lemmas
    bases: list[dict] = [{} for _ in rels]
    form_lemmas: list[dict] = [defaultdict(set) for _ in rels]
    memo: dict[tuple, list] = {}  # (upos, feats) -> [(relation index, side, base features)]
    n_sent = 0
    for sent in sentences:
        n_sent += 1
        for tok in sent.tokens:
            form = low(tok.form)
            freq[form] += 1
            if tok.lemma in ("_", ""):
                continue
            fkey = (tok.upos, tuple(sorted(tok.feats.items())))
            hits = memo.get(fkey)
            if hits is None:
                feats = _normalize_feats(tok.feats, normalize)
                hits = []
                for ri, rel in enumerate(rels):
                    hit = rel.side(tok.upos, feats)
                    if hit is not None:
                        hits.append((ri, 0 if hit[0] == "x" else 1,
                                     tuple(kv for kv in hit[1] if kv[0] not in ignore)))
                memo[fkey] = hits
            if not hits:
                continue
            lemma = low(tok.lemma)
            for ri, label, other in hits:
                key = (lemma, tok.upos, other)
                sides = bases[ri].get(key)
                if sides is None:
                    sides = bases[ri][key] = ({}, {})
                side = sides[label]
                side[form] = side.get(form, 0) + 1
                form_lemmas[ri][form].add(lemma)
    if n_sent == 0:
        raise ValueError("no sentences to mine")

    q_rows, p_rows, s_rows = [], [], []
    for ri, rel in enumerate(rels):
        st = Counter(bases=len(bases[ri]))
        pairs: dict[tuple[str, str], str] = {}
        for (lemma, upos, _), (xs, ys) in bases[ri].items():
            if not xs or not ys:
                continue
            st["both_sides"] += 1
            fx = min(xs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            fy = min(ys.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            if fx == fy:
                continue
            st["forms_differ"] += 1
            if not (_is_word(fx) and _is_word(fy)):
                continue
            st["alphabetic"] += 1
            if freq[fx] < min_count or freq[fy] < min_count:
                continue
            st["frequent"] += 1
            if len(form_lemmas[ri][fx]) > 1 or len(form_lemmas[ri][fy]) > 1:
                continue
            st["unambiguous"] += 1
            pairs.setdefault((fx, fy), lemma)
        plist = sorted(pairs)
        st["pairs"] = len(plist)
        for fx, fy in plist:
            p_rows.append((rel.name, pairs[(fx, fy)], fx, fy, freq[fx], freq[fy]))
        rng = np.random.default_rng([seed, _stable_hash(rel.name) % 2**32])
        qs = _sample_questions(plist, max_per_relation, rng) if len(plist) >= min_pairs else []
        st["questions"] = len(qs)
        q_rows += [(a, b, c, d, rel.name) for a, b, c, d in qs]
        s_rows.append({"category": rel.name, **st})
    stats = pd.DataFrame(s_rows).fillna(0)
    for col in stats.columns[1:]:
        stats[col] = stats[col].astype(int)
    questions = pd.DataFrame(q_rows, columns=["a", "b", "c", "d", "category"])
    if questions.empty:
        raise ValueError(f"no analogy questions could be mined for {language!r} with min_count={min_count} "
                         f"(pairs per relation: {dict(zip(stats['category'], stats['pairs']))})")
    notes = (f"mined from {n_sent} sentences; min_count={min_count}, min_pairs={min_pairs}, "
             f"max_per_relation={max_per_relation}, seed={seed}; {len(p_rows)} word pairs over {len(rels)} "
             f"relations, {int((stats['questions'] > 0).sum())} with questions")
    return AnalogySet(questions, name or f"treebank-{language}", language, source, notes,
                      pairs=pd.DataFrame(p_rows, columns=["category", "lemma", "a", "b", "count_a", "count_b"]),
                      stats=stats)


def _sample_questions(pairs: list[tuple[str, str]], cap: int, rng: np.random.Generator) -> list[tuple]:
    n = len(pairs)
    if n < 2:
        return []
    total = n * (n - 1)

    def decode(k: int) -> tuple[int, int]:
        i, j = divmod(int(k), n - 1)
        return i, j + (j >= i)

    def ok(i: int, j: int) -> bool:
        return pairs[i][0] != pairs[j][0] and pairs[i][1] != pairs[j][1]

    if total <= 4_000_000:
        order = rng.permutation(total)
    else:
        order = rng.choice(total, size=min(total, 4 * cap), replace=False)
    chosen = []
    for k in order:
        i, j = decode(k)
        if ok(i, j):
            chosen.append((i, j))
            if len(chosen) == cap:
                break
    chosen.sort()
    return [(pairs[i][0], pairs[i][1], pairs[j][0], pairs[j][1]) for i, j in chosen]


TREEBANK_ANALOGY_LANGUAGES = {"tr": "turkish-treebanks", "tr-ud": "ud-tr-imst", "hu": "ud-hu-szeged",
                              "mr": "ud-mr-ufal"}
_DEFAULT_MIN_COUNT = {"tr": 2, "tr-ud": 2, "hu": 2, "mr": 1}


def treebank_sentences(language: str) -> list[Sentence]:
    """All sentences of the treebank used for ``language`` (see :data:`TREEBANK_ANALOGY_LANGUAGES`):
    ``tr`` -> turkish-treebanks with IGs merged; the UD ones -> train + dev + test."""
    _check_choice("treebank language", language, TREEBANK_ANALOGY_LANGUAGES)
    if language == "tr":
        return turkish_treebank_sentences(merge=True)
    splits = ud_treebank(TREEBANK_ANALOGY_LANGUAGES[language])
    return [s for sp in UD_SPLITS for s in splits.get(sp, [])]


def treebank_analogies(language: str, relations: Sequence[Relation | str] | None = None,
                       max_per_relation: int = 1000, min_count: int | None = None, seed: int = 0,
                       min_pairs: int = 5) -> AnalogySet:
    """Morphological analogies mined (:func:`mine_analogies`) from an offline treebank.

    ``tr``: ``turkish-treebanks`` (web + wiki, IGs merged, its own feature names); ``tr-ud``: UD
    Turkish-IMST; ``hu``: UD Hungarian-Szeged; ``mr``: UD Marathi-UFAL (train + dev + test of the UD
    ones). ``min_count`` defaults to 2 (1 for the 3,847-word Marathi treebank).
    """
    _check_choice("language for treebank analogies", language, TREEBANK_ANALOGY_LANGUAGES)
    mc = _DEFAULT_MIN_COUNT[language] if min_count is None else min_count
    return mine_analogies(treebank_sentences(language), language, relations, max_per_relation, mc, seed,
                          min_pairs=min_pairs, name=f"treebank-{language}",
                          source=TREEBANK_ANALOGY_LANGUAGES[language])
