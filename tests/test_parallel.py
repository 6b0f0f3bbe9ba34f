"""Parallel verse pairs (quran-json): the loader on a fake npm tarball, the real asset, the DefSent wiring."""
from __future__ import annotations

import io
import json
import tarfile

import pandas as pd
import pytest

from embedlab import assets
from embedlab import evalsets as E
from embedlab.evalsets import parallel as P


def _chapters(texts: dict[int, list[str]], field: str = "translation") -> list[dict]:
    return [{"id": ch, "name": f"c{ch}", "verses": [{"id": i + 1, "text": "ar", field: t} for i, t in enumerate(vs)]}
            for ch, vs in texts.items()]


TR = {1: ["bir", "iki", "", "dört", "beş ve altı", "beş ve altı", "yedi", "tekrar"],
      2: [f"ikinci {i}" for i in range(1, 21)] + ["tekrar"]}
EN = {1: ["one", "two", "three", "four", "five", "six", "seven", "again"],
      2: [f"second {i}" for i in range(1, 21)] + ["again"]}


@pytest.fixture()
def fake_quran(tmp_path, monkeypatch):
    """A quran-json-like tarball (tr, en and the Arabic file) behind assets.fetch."""
    members = {"package/dist/quran_tr.json": _chapters(TR), "package/dist/quran_en.json": _chapters(EN),
               "package/dist/quran.json": [{"id": c["id"], "verses": [{"id": v["id"], "text": f"ar {c['id']}:{v['id']}"}
                                                                     for v in c["verses"]]} for c in _chapters(EN)],
               "package/dist/quran_fr.json": _chapters({1: ["un", "deux"]})}    # misaligned with the others
    with tarfile.open(tmp_path / "quran-json-3.1.2.tgz", "w:gz") as tar:
        for name, obj in members.items():
            data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    real = assets.fetch
    monkeypatch.setattr(assets, "fetch", lambda name, progress=True, **kw: tmp_path if name == P.QURAN_ASSET
                        else real(name, progress=progress, **kw))
    P._quran_texts.cache_clear()
    yield tmp_path
    P._quran_texts.cache_clear()


def test_verses_are_aligned_and_pairs_merge_ranges_drop_empty_and_refrains(fake_quran):
    v = P.quran_verses(("tr", "en"))
    assert len(v) == 29 and list(v.columns) == ["chapter", "verse", "ref", "tr", "en"]
    assert v.loc[v.ref == "1:3", "tr"].item() == "" and v.loc[v.ref == "1:3", "en"].item() == "three"
    p = P.quran_verse_pairs("tr", "en")
    assert list(p.columns) == ["s1", "s2", "verse"]
    got = dict(zip(p.verse, zip(p.s1, p.s2)))
    assert got["1:1"] == ("bir", "one") and got["2:20"] == ("ikinci 20", "second 20")
    assert "1:3" not in got                                                   # empty in Turkish: dropped
    assert got["1:5-6"] == ("beş ve altı", "five six")                        # one Turkish text for two verses
    assert "1:8" not in got and "2:21" not in got                             # a refrain: its target is ambiguous
    assert len(p) == 25 and p.attrs["empty_dropped"] == 1 and p.attrs["merged_verses"] == 2
    assert p.attrs["repeated_dropped"] == 2 and p.attrs["pairs_available"] == 25
    whole = P.quran_verse_pairs("tr", "en", merge_ranges=False, drop_repeated=False)
    assert len(whole) == 28 and (whole.s1 == "beş ve altı").sum() == 2      # without: 28 = 29 - 1 empty
    ar = P.quran_verse_pairs("ar", "en")
    assert ar.s1.iloc[0] == "ar 1:1" and len(ar) == 27                         # Arabic from quran.json's "text"


def test_capped_sample_is_seeded_and_in_canonical_order(fake_quran):
    a = P.quran_verse_pairs("tr", "en", max_pairs=10, seed=3)
    assert len(a) == 10 and a.attrs["pairs"] == 10 and a.attrs["pairs_available"] == 25
    assert a.equals(P.quran_verse_pairs("tr", "en", max_pairs=10, seed=3))
    assert not a.equals(P.quran_verse_pairs("tr", "en", max_pairs=10, seed=4))
    full = P.quran_verse_pairs("tr", "en")
    pos = [full.index[full.verse == v][0] for v in a.verse]
    assert pos == sorted(pos) and set(a.verse) <= set(full.verse)
    with pytest.raises(ValueError, match="max_pairs"):
        P.quran_verse_pairs("tr", "en", max_pairs=0)


def test_bad_languages_say_what_is_allowed(fake_quran):
    with pytest.raises(ValueError, match=r"unknown source language 'de'.*allowed: 'ar', 'bn', 'en'.*'tr', 'ur', 'zh'"):
        P.quran_verse_pairs("de", "en")
    with pytest.raises(ValueError, match=r"unknown target language 'TR'.*allowed"):
        P.quran_verse_pairs("en", "TR")
    with pytest.raises(ValueError, match="must differ"):
        P.quran_verse_pairs("tr", "tr")
    with pytest.raises(ValueError, match=r"quran_fr.json is not verse-aligned with tr: 27 ids differ"):
        P.quran_verse_pairs("tr", "fr")
    with pytest.raises(ValueError, match="has no member package/dist/quran_zh.json"):
        P.quran_verse_pairs("tr", "zh")


def test_registered_as_a_turkish_translation_set(fake_quran):
    spec = E.get_spec("translation", "quran-tr-en")
    assert spec.languages == ("tr", "en") and spec.assets_for() == ("quran-json",)
    assert "cross-lingual" in spec.description
    assert ("translation", "quran-tr-en") in {(s.kind, s.name) for s in E.evalsets_for("tr")}
    p = E.load_evalset("translation", "quran-tr-en", max_pairs=5)
    assert len(p) == 5 and p.attrs["src"] == "tr" and p.attrs["tgt"] == "en"
    assert assets.get("quran-json").loader == "embedlab.evalsets:quran_verse_pairs"


def test_the_defsent_turkish_run_scores_translation_retrieval_and_says_so(fake_quran, monkeypatch):
    from embedlab import defsent
    from embedlab.study import Results

    def gone(*a, **kw):
        raise assets.AssetUnavailable("not cached, no mirror, offline")

    monkeypatch.setattr(E, "sts_pairs", gone)
    heads = pd.DataFrame([("kedi", "küçük bir hayvan")], columns=["headword", "definition"])
    r = Results("defsent")
    data = defsent.evaluation_data("tr", heads.iloc[:0], heads, max_pairs=12, results=r, missing="skip")
    assert list(data.paraphrase) == ["quran-tr-en"] and len(data.paraphrase["quran-tr-en"]) == 12
    reasons = {u.name: u.reason for u in r.unavailable}
    assert "monolingual tr paraphrase" in reasons["paraphrase"] and "quran-tr-en" in reasons["paraphrase"]
    note = next(n for n in r.notes if n.startswith("paraphrase.quran-tr-en"))
    assert "translation retrieval (tr→en), not monolingual paraphrase" in note and "12 tr verses" in note
    assert "of 29 aligned verses, 2 " in note.lower() and "into 1 pairs" in note and "leaving 25 pairs" in note
    en = defsent.evaluation_data("en", heads.iloc[:0], heads, max_pairs=12, results=Results("defsent"))
    assert "quran-tr-en" not in en.paraphrase


def test_real_asset_aligns_all_6236_verses():
    """The pinned npm tarball: 6,236 verses aligned in Turkish and English; the tr->en pairs after merging."""
    if not assets.is_cached(P.QURAN_ASSET):
        try:
            assets.fetch(P.QURAN_ASSET, progress=False)
        except assets.AssetUnavailable as exc:
            pytest.skip(f"asset {P.QURAN_ASSET} unavailable: {exc}")
    P._quran_texts.cache_clear()
    v = P.quran_verses(("tr", "en"))
    assert len(v) == 6236 and v.chapter.nunique() == 114 and (v.tr != "").all() and (v.en != "").all()
    assert v.loc[v.ref == "1:1", "en"].item().startswith("In the name of Allah")
    p = P.quran_verse_pairs("tr", "en")
    assert p.attrs["merged_verses"] == 1413 and p.attrs["merged_pairs"] == 570 and len(p) == 5244
    assert p.attrs["pairs_before_drop"] == 5393 and p.attrs["repeated_dropped"] == 149
    assert not p.s1.duplicated().any() and not p.s2.duplicated().any()
    assert len(P.quran_verse_pairs("tr", "en", max_pairs=300)) == 300
