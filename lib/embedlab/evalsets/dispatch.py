"""The dispatcher: :data:`EVALSETS` maps ``(kind, name)`` to a loader; :func:`load_evalset` calls it."""
from __future__ import annotations

from typing import Any, Callable

from ._common import _check_choice
from .analogies import english_analogies, paper_analogies, read_questions_words, treebank_analogies
from .classification import ataturk_kind, bible_genre, bible_testament, mahanews, mahasent
from .dictionaries import definition_pairs, wordnet_definitions
from .similarity import read_similarity, simlex999, wordsim353
from .sts import bible_paraphrase_split, bible_paraphrases, mahasts, sick, stsb, stsb_mr, stsb_tr
from .tagging import ner_tagging, pos_tagging


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
