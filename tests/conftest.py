"""Shared fixtures: tiny random encoders built in a temporary folder (no download, a few milliseconds a pass).

``tiny_bert_dir`` is a BERT masked-LM checkpoint with its own WordPiece vocabulary (``TINY_WORDS`` plus
``##fish``/``##s``); ``tiny_encoder`` wraps the bare ``BertModel`` (no MLM head, like the offline encoders) as an
``embedlab.encoders.Encoder``; ``tiny_cased_dir`` is the same with a cased vocabulary (``do_lower_case=False``).
"""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TINY_WORDS = ["the", "a", "cat", "dog", "sun", "star", "hot", "small", "pet", "animal", "bright", "sky", "is", "of",
              "and", "in", "sea", "fish", "water", "zebra", "horse", "bird", "tree", "green", "big", "red", "car",
              "road", "man", "woman", "king", "queen", "city", "house", "run", "walk", "eat", "food", "night", "day"]


def _tiny_checkpoint(path, cased: bool, seed: int = 0):
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    words = TINY_WORDS + ([w.capitalize() for w in TINY_WORDS[:10]] if cased else [])
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, "##fish", "##s"]
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=not cased)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    BertForMaskedLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A tiny random uncased BERT masked-LM checkpoint and tokenizer."""
    return _tiny_checkpoint(tmp_path_factory.mktemp("tiny-bert") / "mlm", cased=False)


@pytest.fixture(scope="session")
def tiny_cased_dir(tmp_path_factory):
    """A tiny random cased BERT masked-LM checkpoint and tokenizer."""
    return _tiny_checkpoint(tmp_path_factory.mktemp("tiny-bert-cased") / "mlm", cased=True)


@pytest.fixture(scope="session")
def tiny_encoder(tiny_bert_dir):
    """A tiny random BERT encoder without an MLM head, as an ``embedlab.encoders.Encoder``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from embedlab.encoders import Encoder

    torch.manual_seed(1)
    model = BertModel(BertConfig.from_pretrained(tiny_bert_dir)).eval()
    model.config.name_or_path = ""
    return Encoder(name="tiny", model=model, tokenizer=BertTokenizerFast.from_pretrained(tiny_bert_dir), source="test")
