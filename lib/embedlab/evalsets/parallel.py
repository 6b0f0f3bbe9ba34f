"""Parallel (translation) sentence pairs: Quran verses aligned across languages, from the npm package ``quran-json``
3.1.2 (a sha256-pinned ``url`` asset, read as data: only the needed JSON members of its tarball are read).

:func:`quran_verses` is the verse-aligned table (6,236 verses, one column per language); :func:`quran_verse_pairs`
turns two of its languages into translation-retrieval pairs (query = a verse in ``src``, candidates = the ``tgt``
verses). Two properties of the data shape the pairs:

* a translation may give **one text for a range of verses** (the Turkish Diyanet translation does so for 1,413 of
  the 6,236 verses): consecutive verses of a chapter whose ``src`` or ``tgt`` text repeats the previous verse's
  are merged into one pair (``verse`` ``"26:141-159"``), so that no query has several correct candidates;
* **refrains** (``"So which of the favors of your Lord would you deny"`` x31 in English) make a target ambiguous:
  pairs whose ``src`` or ``tgt`` text occurs more than once are dropped (``drop_repeated``).

What was merged and dropped is kept in ``DataFrame.attrs`` (``verses``, ``merged_verses``, ``pairs_before_drop``,
``merged_pairs``, ``repeated_dropped``, ``empty_dropped``, ``pairs_available`` before the cap) for the reports that say so.
"""
from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd

from ._common import _check_choice, _nonempty, _tarball_members

QURAN_ASSET = "quran-json"
#: language -> (tarball member, verse field): ``ar`` is the Uthmani text, the others translations
QURAN_LANGUAGES: dict[str, tuple[str, str]] = {
    "ar": ("package/dist/quran.json", "text"),
    **{lang: (f"package/dist/quran_{lang}.json", "translation")
       for lang in ("bn", "en", "es", "fr", "id", "ru", "sv", "tr", "ur", "zh")},
}


def _check_language(what: str, language: str) -> None:
    _check_choice(what, language, sorted(QURAN_LANGUAGES))


@functools.lru_cache(maxsize=4)
def _quran_texts(languages: tuple[str, ...]) -> pd.DataFrame:
    members = [QURAN_LANGUAGES[lang][0] for lang in languages]
    raw = _tarball_members(QURAN_ASSET, list(dict.fromkeys(members)))
    table = None
    for lang, member in zip(languages, members):
        field = QURAN_LANGUAGES[lang][1]
        rows = [(int(ch["id"]), int(v["id"]), str(v.get(field) or "").strip())
                for ch in json.loads(raw[member].decode("utf-8")) for v in ch["verses"]]
        df = pd.DataFrame(rows, columns=["chapter", "verse", lang])
        if df.duplicated(["chapter", "verse"]).any():
            raise ValueError(f"{member}: a chapter:verse id occurs twice")
        if table is None:
            table = df
            continue
        merged = table.merge(df, on=["chapter", "verse"], how="outer", indicator=True)
        odd = merged[merged["_merge"] != "both"]
        if len(odd):
            ids = ", ".join(f"{c}:{v}" for c, v in odd[["chapter", "verse"]].head(5).to_numpy())
            raise ValueError(f"{member} is not verse-aligned with {languages[0]}: {len(odd)} ids differ ({ids} ...)")
        table = merged.drop(columns="_merge")
    return table.sort_values(["chapter", "verse"]).reset_index(drop=True)


def quran_verses(languages: tuple[str, ...] | list[str] = ("tr", "en")) -> pd.DataFrame:
    """The verses of the Quran aligned by ``chapter:verse`` across ``languages`` (DataFrame chapter, verse, ref,
    one text column per language; 6,236 rows; a verse a translation leaves empty is ``""``). Languages:
    ``ar`` (the Uthmani text), ``bn en es fr id ru sv tr ur zh`` (translations; see the asset's citation)."""
    languages = tuple(languages)
    if not languages:
        raise ValueError("languages is empty; allowed: " + ", ".join(sorted(QURAN_LANGUAGES)))
    for lang in languages:
        _check_language("quran-json language", lang)
    df = _quran_texts(tuple(dict.fromkeys(languages))).copy()
    df.insert(2, "ref", df["chapter"].astype(str) + ":" + df["verse"].astype(str))
    return df


def _ref(chapter: int, first: int, last: int) -> str:
    return f"{chapter}:{first}" if first == last else f"{chapter}:{first}-{last}"


def quran_verse_pairs(src: str = "tr", tgt: str = "en", max_pairs: int | None = None, seed: int = 0,
                      merge_ranges: bool = True, drop_repeated: bool = True) -> pd.DataFrame:
    """Translation-retrieval pairs ``s1`` (a verse in ``src``) -> ``s2`` (the same verse in ``tgt``), DataFrame
    s1, s2, verse (``"2:255"``, or ``"26:141-159"`` for a merged range), in canonical order.

    Verses empty in either language are dropped; ``merge_ranges`` joins consecutive verses of a chapter where
    either translation repeats one text over a range; ``drop_repeated`` drops pairs whose ``s1`` or ``s2`` occurs
    more than once (refrains: their target is ambiguous); ``max_pairs`` keeps a seeded sample (canonical order)."""
    _check_language("source language", src)
    _check_language("target language", tgt)
    if src == tgt:
        raise ValueError(f"source and target language must differ; got {src!r} twice")
    if max_pairs is not None and max_pairs < 1:
        raise ValueError(f"max_pairs must be a positive number of pairs or None; got {max_pairs!r}")
    verses = quran_verses((src, tgt))
    empty = (verses[src] == "") | (verses[tgt] == "")
    kept = verses[~empty]
    groups: list[list[tuple[int, int, str, str]]] = []
    for ch, v, a, b in kept[["chapter", "verse", src, tgt]].itertuples(index=False):
        last = groups[-1][-1] if groups else None
        if merge_ranges and last is not None and last[0] == ch and (last[2] == a or last[3] == b):
            groups[-1].append((ch, v, a, b))
        else:
            groups.append([(ch, v, a, b)])
    rows = [(" ".join(dict.fromkeys(r[2] for r in g)), " ".join(dict.fromkeys(r[3] for r in g)),
             _ref(g[0][0], g[0][1], g[-1][1])) for g in groups]
    pairs = pd.DataFrame(rows, columns=["s1", "s2", "verse"])
    n_before = len(pairs)
    if drop_repeated:
        repeated = pairs["s1"].duplicated(keep=False) | pairs["s2"].duplicated(keep=False)
        pairs = pairs[~repeated]
    _nonempty(pairs, f"aligned {src}-{tgt} verse pairs")
    n_unique = len(pairs)
    if max_pairs is not None and len(pairs) > max_pairs:
        pairs = pairs.iloc[np.sort(np.random.default_rng(seed).choice(len(pairs), size=max_pairs, replace=False))]
    out = pairs.reset_index(drop=True)
    out.attrs.update({"source": f"{QURAN_ASSET}:{QURAN_LANGUAGES[src][0]}+{QURAN_LANGUAGES[tgt][0]}",
                      "src": src, "tgt": tgt, "verses": len(verses), "empty_dropped": int(empty.sum()),
                      "merged_verses": sum(len(g) for g in groups if len(g) > 1),
                      "merged_pairs": sum(len(g) > 1 for g in groups), "pairs_before_drop": n_before,
                      "repeated_dropped": n_before - n_unique, "pairs_available": n_unique, "pairs": len(out)})
    return out
