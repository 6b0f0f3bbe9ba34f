"""The static-vs-contextual regime (issues 18 and 19): case reaches the encoder, analogy candidates are a property of
the corpus, taggers look up the corpus vocabulary, trained variants run over seeds, and mined analogy questions are
resampled by word pair."""
import numpy as np
import pandas as pd
import pytest

from embedlab import corpora, stats
from embedlab import static_vs_contextual as svc
from embedlab.evalsets import AnalogySet
from embedlab.static_vs_contextual import data, headlines, results as res, seeds
from embedlab.study import Results


class _Spy:
    """A tokenizer that records the text it is given and otherwise is the tokenizer it wraps."""

    def __init__(self, tok):
        self._tok, self.seen = tok, []

    def __call__(self, text, *a, **kw):
        self.seen.append(text)
        return self._tok(text, *a, **kw)

    def __getattr__(self, name):
        return getattr(self._tok, name)


def _encoder(path):
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from embedlab.encoders import Encoder

    torch.manual_seed(0)
    model = BertModel(BertConfig.from_pretrained(path)).eval()
    return Encoder(name="tiny", model=model, tokenizer=_Spy(BertTokenizerFast.from_pretrained(path)), source="test")


def _words_seen(spy) -> set[str]:
    out = set()
    for batch in spy.seen:
        for x in (batch if isinstance(batch, list) else [batch]):
            out |= set(x) if isinstance(x, list) else {x}
    return out


def _turkish_corpus(tmp_path):
    (tmp_path / "a.txt").write_text("Ankara büyük bir şehir. IŞIK yanar. Cat ankara.\n", encoding="utf-8")
    return corpora.text_slices(tmp_path, language="tr")


@pytest.mark.parametrize("cased", [True, False])
def test_a_cased_encoder_receives_the_text_as_written(tmp_path, tiny_cased_dir, tiny_bert_dir, cased):
    corpus = _turkish_corpus(tmp_path)
    assert corpus.sentences[0][0] == "ankara" and corpus.surface[0][0] == "Ankara"    # both views, aligned
    assert corpus.sentences[1][0] == "ışık"                                          # Turkish dotless i
    enc = _encoder(tiny_cased_dir if cased else tiny_bert_dir)
    vocab = ["ankara", "cat", "ışık"]
    cfg = svc.Config.build(corpora=["tr-treebank"], encoders=[], static_models=["w2v-cbow"],
                           methods=["aggregate-cls", "decontext-cls"], precision="float32")
    diag = {}
    svc.steps.encoder_embeddings({"tiny": enc}, vocab, corpus.sentences, cfg, diagnostics=diag, surface=corpus.surface,
                                 surface_words=data.written_forms(corpus, vocab))
    seen = _words_seen(enc.tokenizer)
    if cased:      # the sentence and the word alone as written; the diagnostics say the input was not lower-cased
        assert {"Ankara", "IŞIK", "Cat"} <= seen and diag["tiny"]["lowercase"] is False
    else:          # an uncased encoder reads the language-aware lower-cased view
        assert {"ankara", "ışık", "cat"} <= seen and not {"Ankara", "IŞIK"} & seen and diag["tiny"]["lowercase"]


def test_written_forms_skip_text_lower_cased_at_the_source():
    low = corpora.Corpus("tr-wiki-s", "tr", [["ankara", "ankara"]], pd.DataFrame({"text": [""]}))
    cased = corpora.cased_corpus("tr-treebank", "tr", [["Ankara", "ve", "Ankara"]], pd.DataFrame({"text": [""]}))
    both = corpora.concat([low, cased])
    assert corpora.lowercased_at_source(both).tolist() == [True, False]
    assert data.written_forms(both, ["ankara", "ve", "yok"]) == ["Ankara", "ve", "yok"]
    assert "tr-wiki-s is lower-cased at the source (2 of the 5 training tokens, 40%)" in data.source_case_note(both)
    assert data.source_case_note(cased) == ""


def test_the_shared_vocabulary_adds_no_evaluation_word_and_taggers_look_up_corpus_words():
    sents = [["ev", "evler", "kitap"]] * 5 + [["nadir"]] * 3 + [["tek"]]
    corpus = corpora.Corpus("toy", "tr", sents, pd.DataFrame({"text": [""] * len(sents)}))
    cfg = svc.Config.build(corpora=["tr-treebank"], vocab_size=2, min_count=3)
    assert svc.vocabulary(corpus, cfg) == ["ev", "evler"]                       # top words only, nothing injected

    class Tagging:
        language = "tr"
        train = [(["Ev", "Nadir"], ["NOUN", "ADJ"])]
        test = [(["TEK", "yok", "kitap"], ["ADJ", "X", "NOUN"])]

    extra = data.tagger_words(corpus, {"tagging": {"pos": Tagging()}}, ["ev", "evler"], 3)
    assert extra == ["kitap", "nadir"]                 # in the corpus 3+ times; 'tek' once, 'yok' never: OOV


def test_repeated_word_pair_widens_the_analogy_interval_at_the_study_level():
    """A mined set where one word pair stands in 50 questions: the headline resamples word pairs, not questions."""
    rows = [(f"a{i}", f"b{i}", f"c{i}", f"d{i}", "rel") for i in range(100)]
    rows += [("ankara", "ankarada", f"c{i}", f"d{i}", "rel") for i in range(50)]
    aset = AnalogySet(pd.DataFrame(rows, columns=["a", "b", "c", "d", "category"]), "mined", "xx", "test")
    correct = np.r_[np.random.default_rng(3).integers(0, 2, 100), np.ones(50)].astype(bool)
    items = pd.DataFrame({"embedding": "w2v-sg", "method": "3cosadd", "question": np.arange(150), "category": "rel",
                          "answered": True, "correct": correct, "rr": correct.astype(float), "in_scope": True,
                          "seed": 0})
    words = sorted(set(aset.questions[["a", "b", "c", "d"]].to_numpy().ravel()))
    inputs = svc.Inputs(None, {"analogy": {"mined": aset}, "similarity": {}, "tagging": {}, "classification": {}},
                        words, {}, words, words)
    r = Results("static_vs_contextual")
    r.extra["analogy_candidates"] = len(words)
    info = pd.DataFrame({"embedding": ["w2v-sg"], "kind": [res.TRAINED]})
    cfg = svc.Config.build(corpora=["tr-treebank"], analogy_methods=["3cosadd"])
    res.fill(r, cfg, inputs, info, {"mined": items}, {}, pd.DataFrame(), pd.DataFrame())
    (h,) = r.headlines
    lo, hi = stats.mean_ci(correct.astype(float))
    assert h.ci[1] - h.ci[0] > 1.5 * (hi - lo)                     # failed before: questions were resampled
    assert headlines.pair_clusters(aset.questions).max() + 1 == 101  # 100 pairs + the repeated one
    assert f"{len(words)} candidates" in h.label and h.seeds == 1 and "one training seed" in h.seed_note
    row = r.tables["analogy_summary"].query("category == 'overall'").iloc[0]
    assert row["candidates"] == len(words) and row["coverage"] == 1.0


def test_tagging_headlines_over_seeds_against_the_majority_tag():
    rng = np.random.default_rng(0)
    toks = []
    for seed in range(3):
        for emb, p in (("w2v-sg", 0.9), ("majority tag", 0.8)):
            correct = rng.random(400) < p
            toks.append(pd.DataFrame({"task": "pos", "embedding": emb, "hidden_size": 0 if emb == "majority tag" else 8,
                                      "sentence": np.repeat(np.arange(40), 10), "position": np.tile(np.arange(10), 40),
                                      "correct": correct, "seed": seed}))
    tokens = pd.concat(toks, ignore_index=True)
    table = tokens.groupby(["task", "embedding", "hidden_size", "seed"], as_index=False)["correct"].mean() \
        .rename(columns={"correct": "accuracy"}).assign(macro_f1=0.5, oov_rate=0.1, unseen_rate=0.2)
    info = pd.DataFrame({"embedding": ["w2v-sg"], "kind": [res.TRAINED]})
    inputs = svc.Inputs(None, {"analogy": {}, "similarity": {}, "tagging": {}, "classification": {}}, [], {})
    r = Results("static_vs_contextual")
    res.fill(r, svc.Config.build(corpora=["tr-treebank"]), inputs, info, {}, {}, (table, tokens), pd.DataFrame())
    best, diff = r.headlines
    assert best.seeds == 3 and len(best.per_seed) == 3 and best.reference.kind == "majority"
    assert diff.key == "tagging.pos/best-minus-majority-tag/acc-h8" and diff.seeds == 3 and diff.ci[0] > 0
    assert diff.replicates is True
    t = r.tables["tagging"].set_index("embedding")
    assert t.loc["w2v-sg", "seeds"] == 3 and t.loc["w2v-sg", "n"] == 400


def test_tagger_tables_add_the_other_tagging_words_only_where_a_model_embeds_any_word():
    from gensim.models import KeyedVectors

    def kv(words, dim=3):
        out = KeyedVectors(dim)
        out.add_vectors(words, np.arange(len(words) * dim, dtype=np.float32).reshape(len(words), dim))
        return out

    run = {"fasttext": kv(["ev", "okul"]), "w2v-sg": kv(["ev", "okul"])}
    tables = seeds.with_lookup(run, {"fasttext": kv(["okul", "evlerimizden"])})
    assert tables["fasttext"].index_to_key == ["ev", "okul", "evlerimizden"]
    assert np.array_equal(tables["fasttext"]["okul"], run["fasttext"]["okul"])       # the vocabulary's own vector
    assert tables["w2v-sg"] is run["w2v-sg"]                                          # zero vector for the rest

    class Tagging:
        language = "tr"
        train = [(["Ev", "İzmir'de", "ev"], ["NOUN", "PROPN", "NOUN"])]
        test = [(["İzmir'de"], ["PROPN"])]

    forms = data.tagging_forms({"tagging": {"pos": Tagging()}})
    assert forms == {"ev": "Ev", "izmir'de": "İzmir'de"}          # lower-cased key, most frequent written form
