"""X2Static's fused Numba kernel against the original PyTorch loop (kept as ``engine="torch"``): the same random
draws and batches, float32 results within rounding of each other, and the same result on one thread or two."""
import numba
import numpy as np
import pytest

from embedlab import x2static


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    vocab, n_sent, dim = 300, 400, 48
    counts = rng.zipf(1.3, size=vocab).clip(1, 500)
    targets = [list(rng.choice(vocab, size=rng.integers(1, 25), p=counts / counts.sum())) for _ in range(n_sent)]
    vectors = rng.normal(size=(n_sent + 50, dim)).astype(np.float32)
    rows = rng.permutation(n_sent + 50)[:n_sent]                     # a part of a larger pass, out of order
    return vectors, targets, vocab, rows


KW = dict(epochs=3, lr=5e-3, t=1e-2, batch_size=32, seed=7, progress=False, return_stats=True, min_median_updates=0)


def test_kernel_matches_the_original_loop_on_the_same_batches(corpus):
    vectors, targets, vocab, rows = corpus
    ref, ref_stats = x2static.train_x2static(vectors, targets, vocab, rows=rows, engine="torch", **KW)
    got, stats = x2static.train_x2static(vectors, targets, vocab, rows=rows, engine="numba", threads=1, **KW)
    np.testing.assert_array_equal(stats.updates, ref_stats.updates)                  # the same draws
    np.testing.assert_array_equal(stats.negative_updates, ref_stats.negative_updates)
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6)
    assert np.abs(got - ref).max() < 1e-3 * np.abs(ref).max()
    np.testing.assert_allclose(stats.losses, ref_stats.losses, rtol=1e-5)
    gathered, _ = x2static.train_x2static(vectors[rows], targets, vocab, engine="numba", threads=1, **KW)
    np.testing.assert_array_equal(gathered, got)                      # rows= reads the same vectors


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
def test_kernel_gives_the_same_table_on_one_thread_or_two(corpus):
    vectors, targets, vocab, rows = corpus
    one, _ = x2static.train_x2static(vectors, targets, vocab, rows=rows, threads=1, **KW)
    two, _ = x2static.train_x2static(vectors, targets, vocab, rows=rows, threads=2, **KW)
    np.testing.assert_array_equal(one, two)


def test_unknown_engine_is_refused(corpus):
    vectors, targets, vocab, rows = corpus
    with pytest.raises(ValueError, match="unknown X2Static engine 'cuda'; allowed: numba, torch"):
        x2static.train_x2static(vectors, targets, vocab, rows=rows, engine="cuda")
