"""2D Matryoshka study: grid cells against a direct per-layer computation, each loss on a toy batch, bad inputs."""
import copy
import math
import random

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from embedlab import encoders
from embedlab import matryoshka as M

WORDS = "the a cat dog sat on mat ran fast slow big small red blue house tree car bird sang".split()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A random 3-layer, 32-dim BERT with a word-level vocabulary, saved to disk like a real checkpoint."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = tmp_path_factory.mktemp("tiny-bert")
    (path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS))
    BertTokenizerFast(vocab_file=str(path / "vocab.txt")).save_pretrained(path)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(WORDS) + 5, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(path)
    return encoders.Encoder("tiny", BertModel.from_pretrained(path).eval(), BertTokenizerFast.from_pretrained(path), "test")


@pytest.fixture(scope="module")
def st_model(tiny):
    """The tiny encoder as a SentenceTransformer, loaded once; tests train deep copies."""
    return M.sentence_transformer(tiny, "mean", max_length=16).to("cpu").eval()


@pytest.fixture(scope="module")
def texts():
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, rng.integers(2, 9))) for _ in range(48)]


def _direct(encoder, texts_a, texts_b, layer, dim, pooling):
    """Encode with the model cut after ``layer`` (its last layer), truncate, and score without the grid code."""
    with M.truncated(encoder, layer):
        a = encoders.sentence_embeddings(encoder, texts_a, [layer], pooling, progress=False)[0, :, :dim]
        b = encoders.sentence_embeddings(encoder, texts_b, [layer], pooling, progress=False)[0, :, :dim]
    a, b = a / np.linalg.norm(a, axis=1, keepdims=True), b / np.linalg.norm(b, axis=1, keepdims=True)
    return a, b


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_grid_cells_match_direct_per_layer_computation(tiny, texts, pooling):
    gold = np.random.default_rng(1).random(24)
    tasks = [M.GridTask("toy-sts", "sts", texts[:24], texts[24:], gold),
             M.GridTask("toy-retrieval", "retrieval", texts[:24], texts[24:])]
    grid = M.evaluate_grid(tiny, tasks, dims=[4, 16, 32], pooling=pooling, progress=False)
    assert len(grid) == 3 * 3 * 3  # (spearman + mrr + recall@1) x 3 layers x 3 dims
    for layer in (1, 2, 3):
        for dim in (4, 16, 32):
            a, b = _direct(tiny, texts[:24], texts[24:], layer, dim, pooling)
            cell = grid[(grid.layer == layer) & (grid.dim == dim)].set_index("metric")["value"]
            assert cell["spearman"] == pytest.approx(spearmanr((a * b).sum(1), gold).statistic * 100, abs=1e-3)
            sims = a @ b.T
            ranks = (sims > np.diag(sims)[:, None]).sum(1) + 1
            assert cell["mrr"] == pytest.approx(np.mean(1 / ranks) * 100, abs=1e-3)
            assert cell["recall@1"] == pytest.approx(np.mean(ranks == 1) * 100, abs=1e-3)
    # the cells differ: a wrong slice or a repeated layer would make whole rows equal (one chance tie is allowed:
    # Spearman over 24 pairs takes few distinct values)
    assert grid[grid.metric == "spearman"].value.nunique() >= 8


def test_grid_encodes_each_distinct_text_once(tiny, texts, monkeypatch):
    seen = []
    real = encoders.sentence_embeddings
    monkeypatch.setattr(encoders, "sentence_embeddings", lambda enc, t, *a, **k: seen.append(list(t)) or real(enc, t, *a, **k))
    tasks = [M.GridTask("x", "retrieval", texts[:10], texts[10:20]), M.GridTask("y", "retrieval", texts[:10], texts[5:15])]
    M.evaluate_grid(tiny, tasks, progress=False)
    assert len(seen) == 1 and len(seen[0]) == len(set(texts[:20]))


def test_truncated_model_is_the_first_layers_and_is_restored(tiny, texts):
    batch = tiny.tokenizer(texts[:5], padding=True, return_tensors="pt")
    with torch.no_grad():
        full = tiny.model(**batch, output_hidden_states=True).hidden_states
        with M.truncated(tiny, 2):
            assert tiny.n_layers == 2
            cut = tiny.model(**batch).last_hidden_state
    assert torch.allclose(cut, full[2], atol=1e-5)
    assert tiny.n_layers == 3 and len(M.cost._layer_list(tiny.model)[0].layer) == 3


def test_costs_are_measured_per_layer_and_per_dim(tiny, texts):
    lat = M.layer_latency(tiny, texts, repeats=1)
    assert list(lat.layer) == [1, 2, 3] and (lat.seconds > 0).all()
    search = M.search_latency([8, 32], n_index=500, n_queries=10, repeats=1)
    assert list(search.bytes_per_vector) == [32, 128]
    assert len(M.cell_costs(lat, search)) == 6


def test_bad_inputs_raise_clear_errors(tiny, texts):
    task = M.GridTask("t", "retrieval", texts[:4], texts[4:8])
    with pytest.raises(ValueError, match=r"layer\(s\) \[7\] out of range.*to 3"):
        M.evaluate_grid(tiny, [task], layers=[1, 7], progress=False)
    with pytest.raises(ValueError, match=r"dimension\(s\) \[64\] out of range.*1 to 32"):
        M.evaluate_grid(tiny, [task], dims=[8, 64], progress=False)
    with pytest.raises(ValueError, match="dimension"):
        M.check_cells(tiny, dims=[0])
    with pytest.raises(ValueError, match="empty evaluation set 'void'"):
        M.GridTask("void", "sts", [], [], np.array([]))
    with pytest.raises(ValueError, match="no evaluation tasks"):
        M.evaluate_grid(tiny, [], progress=False)
    with pytest.raises(ValueError, match="unknown pooling 'max'.*mean, cls"):
        M.evaluate_grid(tiny, [task], pooling="max", progress=False)
    with pytest.raises(ValueError, match="unknown task kind"):
        M.GridTask("t", "nli", ["a"], ["b"])
    with pytest.raises(ValueError, match="layer 4 out of range"):
        with M.truncated(tiny, 4):
            pass
    with pytest.raises(ValueError, match="unknown STS set 'sts12'"):
        M.evaluation_tasks(sts=["sts12"])
    with pytest.raises(ValueError, match="unknown training source"):
        M.training_pairs("nli")
    with pytest.raises(ValueError, match="empty training set"):
        M.PairData("none", [], [])
    with pytest.raises(ValueError, match="unknown variant 'espresso'"):
        M.fine_tune(tiny, M.PairData("p", texts[:4], texts[4:8]), "espresso")
    with pytest.raises(ValueError, match="CoSENT needs scored pairs"):
        M.fine_tune(tiny, M.PairData("p", texts[:4], texts[4:8]), "baseline", base="cosent")
    with pytest.raises(ValueError, match="unknown layer weighting"):
        M.layer_weight(2, "linear")


def test_ladders_diagonals_and_weights():
    assert M.dim_ladder(384) == [8, 16, 32, 64, 128, 256, 384]
    assert M.dim_ladder(32, 8) == [8, 16, 32]
    assert M.starbucks_diagonal(12, 768) == [(2, 32), (4, 64), (6, 128), (8, 256), (10, 512), (12, 768)]
    assert M.starbucks_diagonal(6, 384) == [(1, 16), (2, 32), (3, 64), (4, 128), (5, 256), (6, 384)]
    assert M.layer_weight(5, "uniform") == 1.0
    assert M.layer_weight(1, "log") == 1.0 and M.layer_weight(math.e, "log") == pytest.approx(0.5)


def test_pareto_frontier_drops_dominated_cells():
    cells = pd.DataFrame({"cost": [1, 2, 2, 3, 4], "value": [50, 60, 55, 60, 70]})
    front = M.pareto_frontier(cells, ["cost"])
    assert front.values.tolist() == [[1, 50], [2, 60], [4, 70]]


def test_length_grouped_batches_cover_the_data_once_and_are_seeded(texts):
    pairs = M.PairData("p", texts[:40], texts[8:48])
    batches = M.length_grouped_batches(pairs, 8, seed=3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(40))
    assert all(np.array_equal(a, b) for a, b in zip(batches, M.length_grouped_batches(pairs, 8, seed=3)))
    assert not all(np.array_equal(a, b) for a, b in zip(batches, M.length_grouped_batches(pairs, 8, seed=4)))


def test_kl_alignment_does_not_move_the_teacher():
    student, teacher = torch.randn(4, 8, requires_grad=True), torch.randn(4, 8, requires_grad=True)
    M.losses._kl(student, teacher, 0.3).backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0
    same = torch.randn(4, 8)
    assert float(M.losses._kl(same, same, 0.3)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("base", ["cosent", "mnrl"])
@pytest.mark.parametrize("variant", M.VARIANTS)
def test_each_loss_is_finite_and_decreases_on_a_toy_batch(st_model, texts, variant, base):
    torch.manual_seed(0)
    model = copy.deepcopy(st_model)  # in eval mode: no dropout noise
    loss_fn = M.build_loss(variant, model, base, dims=[4, 8, 16], seed=0)
    features = [M.training._features(model, texts[:12]), M.training._features(model, texts[12:24])]
    labels = torch.tensor(np.random.default_rng(0).random(12), dtype=torch.float32) if base == "cosent" else None
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    values = []
    for _ in range(6):
        if isinstance(loss_fn, M.TwoDMatryoshkaLoss):
            loss_fn.rng = random.Random(0)  # the same sampled (layer, dim) each step: one fixed objective
        loss = loss_fn(features, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(float(loss.detach()))
    assert all(np.isfinite(values))
    assert values[-1] < values[0]


@torch.no_grad()
def test_variant_losses_use_the_cells_they_promise(st_model, texts):
    model = st_model
    features = [M.training._features(model, texts[:8]), M.training._features(model, texts[8:16])]
    star = M.build_loss("starbucks", model, "mnrl", starbucks_pairs=[(1, 8), (3, 32)], kl_weight=0.0)
    emb = star.layer_embeddings(features, [1, 3])
    expected = star.cell(emb[1], 8, None) + star.cell(emb[3], 32, None)
    assert float(star(features, None)) == pytest.approx(float(expected), rel=1e-5)
    two = M.build_loss("2dmse", model, "mnrl", dims=[8, 16], kl_weight=0.0, layer_weighting="log")
    two.rng = random.Random(5)
    rng = random.Random(5)
    i, d = rng.randint(1, 2), rng.choice([8, 16])
    emb = two.layer_embeddings(features, [i, 3])
    expected = (two.cell(emb[3], 32, None) + two.cell(emb[3], d, None)
                + M.layer_weight(i, "log") * (two.cell(emb[i], 32, None) + two.cell(emb[i], d, None)))
    assert float(two(features, None)) == pytest.approx(float(expected), rel=1e-5)
    with pytest.raises(ValueError, match="Starbucks pairs"):
        M.build_loss("starbucks", model, "mnrl", starbucks_pairs=[(4, 8)])


@pytest.mark.slow
def test_fine_tune_is_deterministic_and_changes_the_model(tiny, texts):
    pairs = M.PairData("p", texts[:24], texts[24:48], np.random.default_rng(0).random(24).astype(np.float32))
    runs = [M.fine_tune(tiny, pairs, "2dmse", batch_size=8, lr=1e-3, progress=False) for _ in range(2)]
    assert runs[0].losses == runs[1].losses and len(runs[0].losses) == 3
    before = encoders.sentence_embeddings(tiny, texts[:5], progress=False)
    after = [encoders.sentence_embeddings(r.encoder, texts[:5], progress=False) for r in runs]
    assert np.array_equal(after[0], after[1])
    assert not np.allclose(before, after[0], atol=1e-4)
    assert runs[0].encoder.name == "tiny+2dmse" and tiny.n_layers == runs[0].encoder.n_layers
