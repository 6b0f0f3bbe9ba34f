"""The GPU path: a tiny encoder moved to CUDA gives what it gives on the CPU, and training runs there.

Skipped where no CUDA device is visible (CI); run on a GPU machine with ``pytest tests/test_device.py``.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from embedlab import defsent, encoders, extract
from embedlab import matryoshka as M

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible")

WORDS = ("cat dog fish bird sun moon sea snow a the an of that is small big animal pet barks meows swims "
         "flies sings bright hot star white night water cold wet rain").split()
DICT = [("cat", "a small pet that meows"), ("dog", "a pet animal that barks"), ("fish", "an animal that swims"),
        ("bird", "an animal that flies and sings"), ("sun", "the bright hot star"), ("moon", "the white star of night"),
        ("sea", "the big wet water"), ("snow", "cold white rain")]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same tiny random BERT (MLM checkpoint on disk) on the CPU and on CUDA."""
    from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizerFast

    d = tmp_path_factory.mktemp("tiny-gpu")
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])})
    torch.manual_seed(0)
    BertForMaskedLM(BertConfig(vocab_size=len(WORDS) + 5, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=64)).save_pretrained(d)
    tok.save_pretrained(d)
    cpu = BertModel.from_pretrained(d).eval()
    return (encoders.Encoder("tiny", cpu, tok, "test"),
            encoders.Encoder("tiny", copy.deepcopy(cpu).to("cuda"), tok, "test"))


def test_default_device_follows_the_environment(monkeypatch):
    monkeypatch.delenv("EMBEDLAB_DEVICE", raising=False)
    assert encoders.default_device() == "cuda"
    monkeypatch.setenv("EMBEDLAB_DEVICE", "cpu")
    assert encoders.default_device() == "cpu"


def test_sentence_embeddings_and_static_extraction_match_the_cpu(pair):
    cpu, gpu = pair
    assert gpu.device.type == "cuda"
    texts = ["the cat is small", "a dog barks", "the sun is a bright hot star", "snow"]
    np.testing.assert_allclose(encoders.sentence_embeddings(gpu, texts, progress=False),
                               encoders.sentence_embeddings(cpu, texts, progress=False), atol=1e-4)
    for a, b in zip(extract.decontextualized(gpu, WORDS[:6], [0, 3], progress=False).values(),
                    extract.decontextualized(cpu, WORDS[:6], [0, 3], progress=False).values()):
        np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(extract.input_layer(gpu, WORDS[:6]), extract.input_layer(cpu, WORDS[:6]), atol=1e-6)
    sentences = [t.split() for t in texts]
    got = extract.static_embeddings(gpu, ["cat", "dog", "sun"], ["aggregate-subword"], [-1], sentences, progress=False)
    want = extract.static_embeddings(cpu, ["cat", "dog", "sun"], ["aggregate-subword"], [-1], sentences, progress=False)
    for name in want:
        np.testing.assert_allclose(got[name].vectors, want[name].vectors, atol=1e-4)


def test_defsent_trains_and_ranks_on_the_gpu(pair):
    _, gpu = pair
    single = defsent.single_token_entries(gpu, DICT)
    cfg = defsent.defsent_config(gpu, "cls", learning_rate=5e-3, epochs=10, batch_size=4)
    trained = defsent.train_defsent(gpu, single, "cls", cfg, progress=False)
    assert trained.encoder.device.type == "cuda" and np.isfinite(trained.losses).all()
    assert np.mean(trained.losses[-3:]) < np.mean(trained.losses[:3])
    emb = defsent.embed_poolings(trained.encoder, list(single.definition), ["cls"], 64, False)["cls"]
    ranks, top = defsent.vocabulary_ranks(defsent.prediction_layer(trained.encoder), emb, single.token_id)
    assert ranks.min() >= 1 and top.shape == (len(single), 5)
    plus = defsent.train_defsent_plus(gpu, DICT, "mean", defsent.defsent_plus_config(learning_rate=3e-3, epochs=3,
                                                                                      batch_size=4), progress=False)
    assert np.isfinite(plus.losses).all()


@pytest.mark.parametrize("variant", M.VARIANTS)
def test_matryoshka_fine_tune_runs_on_the_gpu_and_the_grid_reads_it(pair, variant):
    _, gpu = pair
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, 6)) for _ in range(32)]
    pairs = M.PairData("toy", texts[:16], texts[16:])
    run = M.fine_tune(gpu, pairs, variant, batch_size=8, lr=1e-3, dims=[8, 16, 32], progress=False)
    assert run.encoder.device.type == "cuda" and np.isfinite(run.losses).all()
    emb = encoders.sentence_embeddings(run.encoder, texts[:4], progress=False)
    assert emb.shape == (4, 4, 32) and np.isfinite(emb).all()
