"""Cluster and training-seed bootstrap intervals (embedlab.stats)."""
import warnings

import numpy as np
import pytest

from embedlab import stats


def test_repeated_word_pair_widens_the_interval():
    """A mined analogy set where one word pair stands in 50 questions: resampling pairs, not questions,
    must widen the interval (the 50 questions are one piece of evidence)."""
    rng = np.random.default_rng(3)
    scores = np.r_[rng.integers(0, 2, 100).astype(float), np.ones(50)]
    pairs = [f"p{i}" for i in range(100)] + ["ankara:türkiye"] * 50
    lo, hi = stats.mean_ci(scores)
    clo, chi = stats.clustered_mean_ci(scores, stats.cluster_ids(pairs))
    assert (chi - clo) > 1.5 * (hi - lo)


def test_singleton_clusters_equal_the_item_bootstrap():
    x = np.random.default_rng(0).random(120)
    assert stats.clustered_mean_ci(x, np.arange(120)) == pytest.approx(stats.mean_ci(x))


def test_one_seed_is_the_paired_item_bootstrap():
    rng = np.random.default_rng(1)
    a, b = rng.random(200), rng.random(200)
    assert stats.seeded_diff_ci([a], [b]) == pytest.approx(stats.paired_mean_diff_ci(a, b))


def test_seed_variance_widens_the_interval():
    """Three training seeds whose means scatter: the hierarchical interval is wider than any one seed's."""
    rng = np.random.default_rng(2)
    items = rng.random(400)
    a = [items + d for d in (-0.08, 0.0, 0.08)]
    b = [items.copy() for _ in range(3)]
    lo, hi = stats.seeded_diff_ci(a, b)
    one = stats.seeded_diff_ci(a[1:2], b[1:2])
    assert (hi - lo) > 5 * (one[1] - one[0] + 1e-12)
    assert lo < 0 < hi


def test_spearman_statistic_with_shared_gold():
    rng = np.random.default_rng(4)
    gold = rng.random(100)
    a = [gold + rng.normal(0, 0.1, 100) for _ in range(2)]
    b = [gold + rng.normal(0, 1.0, 100) for _ in range(2)]
    lo, hi = stats.seeded_diff_ci(a, b, stat=stats.spearman, shared=(gold,), n_boot=200)
    assert lo > 0


def test_seed_agreement_and_bad_clusters():
    assert stats.seed_agreement([0.1, 0.2, 0.3]) == (3, 3)
    assert stats.seed_agreement([0.1, 0.2, -0.05]) == (2, 3)
    with pytest.raises(ValueError, match="clusters has 2 ids for 3 items"):
        stats.item_draws(3, clusters=[0, 1])


def test_headlines_record_seeds_and_replication():
    from embedlab.study import Reference, Results

    r = Results("toy")
    one = r.compare("x/a-b", "a - b", "a", "b", 0.1, ci=(0.05, 0.15), n=100, seeds=1, per_seed=[0.1])
    assert "one training seed: the interval covers evaluation items only" in one.as_dict()["seed_note"]
    assert "One training seed" in r.findings()[0]
    rep = r.compare("x/c-d", "c - d", "c", "d", 0.1, ci=(0.02, 0.2), n=100, seeds=3, per_seed=[0.05, 0.1, 0.15])
    assert rep.replicates is True and "replicates across 3 seeds" in r.findings()[1]
    mixed = r.compare("x/e-f", "e - f", "e", "f", 0.01, ci=(-0.1, 0.1), n=100, seeds=3, per_seed=[0.1, -0.05, 0.0])
    assert mixed.replicates is False and "does not replicate" in r.findings()[2]
    back = Results.from_dict(r.to_dict())
    assert [h.seeds for h in back.headlines] == [1, 3, 3] and back.headlines[1].per_seed == [0.05, 0.1, 0.15]


def test_expected_baseline_at_chance_is_not_a_fault():
    from embedlab.study import Reference, Results

    r = Results("toy")
    r.expect("shift/unaligned/ap", "unaligned AP", 0.11, Reference("chance", 0.1), ci=(0.05, 0.2), n=100)
    assert r.status == "ok" and "as expected" in r.findings()[0]
    r.expect("shift/broken/ap", "broken AP", 0.6, Reference("chance", 0.1), ci=(0.5, 0.7), n=100)
    assert r.status == "partial" and "expected at chance" in r.headlines[1].flags[0]


def test_statistics_over_draws_equal_the_statistic_draw_by_draw():
    """Each vectorised form (mean, Spearman, ROC-AUC, macro-F1) gives what the statistic gives on every draw,
    including ties, constant rows (NaN) and draws that miss a class; and the interval is the same either way."""
    from embedlab.evaluate.classification import macro_f1
    from embedlab.static_vs_contextual.headlines import _auc

    rng = np.random.default_rng(3)
    n = 60
    pred = np.round(rng.normal(size=n), 1)                       # rounded: ties
    gold = np.round(pred + rng.normal(size=n), 0)
    binary = (gold > 0).astype(float)
    labels, guess = rng.integers(0, 5, n).astype(float), rng.integers(0, 6, n).astype(float)
    draws = rng.integers(0, n, size=(200, n))
    draws[0] = 0                                                 # a constant draw
    draws[1, :] = np.where(binary == 1)[0][0]                    # one class only
    cases = [(stats.mean_stat, (pred,)), (stats.spearman, (pred, gold)), (_auc, (pred, binary)),
             (macro_f1, (labels, guess))]
    for stat, arrays in cases:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one = np.array([stat(*(a[d] for a in arrays)) for d in draws])
        many = stat.over_draws(*(a[draws] for a in arrays))
        np.testing.assert_allclose(many, one, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=stat.__name__)
    assert np.isnan(stats.spearman.over_draws(pred[draws[:1]], gold[draws[:1]]))[0]

    runs_a = [(pred + rng.normal(0, 0.1, n), gold) for _ in range(3)]
    runs_b = [(pred + rng.normal(0, 0.5, n), gold) for _ in range(3)]
    plain = lambda x, y: stats.spearman(x, y)                    # noqa: E731 (no vectorised form)
    assert stats.seeded_diff_ci(runs_a, runs_b, stat=stats.spearman) == \
        pytest.approx(stats.seeded_diff_ci(runs_a, runs_b, stat=plain), abs=1e-12)


def test_clustered_means_from_cluster_sums_equal_the_concatenated_draws():
    """Resampling whole clusters: the mean from per-cluster sums is the mean of the concatenated items, draw by
    draw, and the seeded interval is the same as with a statistic that has no shortcut."""
    rng = np.random.default_rng(5)
    n = 300
    clusters = rng.integers(0, 40, n)
    runs_a = [rng.random(n) for _ in range(3)]
    runs_b = [(rng.random(n) < 0.4).astype(float) for _ in range(3)]
    fast = stats._clustered_means([(x,) for x in runs_a], clusters, 200, 7)
    draws = stats._cluster_draws(clusters, 200, 7)
    for x, got in zip(runs_a, fast):
        np.testing.assert_allclose(got, [x[d].mean() for d in draws], rtol=1e-13)
    plain = lambda x, *_: float(np.mean(x))                      # noqa: E731 (no shortcut)
    assert stats.seeded_diff_ci(runs_a, runs_b, clusters=clusters) == \
        pytest.approx(stats.seeded_diff_ci(runs_a, runs_b, stat=plain, clusters=clusters), abs=1e-12)
    with pytest.raises(ValueError, match="clusters has 3 ids for 300 items"):
        stats.seeded_diff_ci(runs_a, runs_b, clusters=[0, 1, 2])
