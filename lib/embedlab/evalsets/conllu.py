"""CoNLL-U: the reader (:class:`Sentence`, :class:`Token`), inflectional-group merging for the
``turkish-treebanks`` package, and access to the Turkish and UD treebanks."""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import NamedTuple

from embedlab import assets
from ._common import _check_choice, _nonempty


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
