"""Shared fixtures: tiny random encoders built in a temporary folder (no download, a few milliseconds a pass).

``tiny_bert_dir`` is a BERT masked-LM checkpoint with its own WordPiece vocabulary (``TINY_WORDS`` plus
``##fish``/``##s``); ``tiny_encoder`` wraps the bare ``BertModel`` (no MLM head, like the offline encoders) as an
``embedlab.encoders.Encoder``; ``tiny_cased_dir`` is the same with a cased vocabulary (``do_lower_case=False``).

Models are mutable (training, ``requires_grad``, frozen blocks), so ``tiny_encoder`` is built once per session and
handed to each test as a deep copy (the sentence-transformers pattern): a test that changes it cannot change what
another test sees (a shared, mutated encoder once made a test pass or fail by test order, fixed in d519d4b).

``smoke_run`` is one ``embedlab run --profile smoke`` shared by every test that checks its outputs (slow tests only).
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# trained results are not reused across tests (embedlab.memo): a test that compares two trainings must train twice
os.environ["EMBEDLAB_TRAINED_CACHE"] = "off"
ROOT = Path(__file__).resolve().parents[1]

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
def _tiny_encoder_once(tiny_bert_dir):
    """Built once per session; tests get :func:`tiny_encoder`, a copy of it."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from embedlab.encoders import Encoder

    torch.manual_seed(1)
    model = BertModel(BertConfig.from_pretrained(tiny_bert_dir)).eval()
    model.config.name_or_path = ""
    return Encoder(name="tiny", model=model, tokenizer=BertTokenizerFast.from_pretrained(tiny_bert_dir), source="test")


@pytest.fixture
def tiny_encoder(_tiny_encoder_once):
    """A tiny random BERT encoder without an MLM head, as an ``embedlab.encoders.Encoder``; each test its own copy."""
    return copy.deepcopy(_tiny_encoder_once)


class SmokeRun(NamedTuple):
    folder: Path                          # reports/smoke of the run: index.html, summary.md, <run>/metrics.json
    process: subprocess.CompletedProcess  # the `embedlab run` that wrote it (returncode, stdout, stderr)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> SmokeRun:
    """``embedlab run --profile smoke`` once per session, into a temporary reports folder (a few minutes).

    ``EMBEDLAB_SMOKE_REPORTS=reports/smoke`` checks an existing smoke run's folder instead of starting one.
    """
    existing = os.environ.get("EMBEDLAB_SMOKE_REPORTS")
    if existing:
        return SmokeRun(Path(existing).resolve(), subprocess.CompletedProcess(["(existing run)", existing], 0, "", ""))
    reports = tmp_path_factory.mktemp("reports")
    p = subprocess.run([sys.executable, "-m", "embedlab.cli", "run", "--profile", "smoke", "--jobs", "2",
                        "--reports-dir", str(reports)], capture_output=True, text=True, cwd=ROOT)
    return SmokeRun(reports / "smoke", p)
