"""softmax, argmax and Sampler: NaN-safe, numpy in and out."""

from __future__ import annotations

import numpy as np
import pytest

import bitnet


def test_softmax_treats_nan_as_minus_infinity():
    x = np.array([1.0, np.nan, 3.0, -np.inf], dtype=np.float32)
    p = bitnet.softmax(x)
    assert p.dtype == np.float32 and p.shape == (4,)
    assert p[1] == 0 and p[3] == 0
    e = np.exp([1.0 - 3.0, 0.0])
    np.testing.assert_allclose(p[[0, 2]], e / e.sum(), rtol=1e-6)
    assert p.sum() == pytest.approx(1.0)
    assert np.isnan(x[1]), "the input must not change"


def test_softmax_keeps_float64_and_is_stable_for_large_logits():
    p = bitnet.softmax(np.array([1000.0, 1000.0, -1000.0]))
    assert p.dtype == np.float64
    np.testing.assert_allclose(p, [0.5, 0.5, 0.0])
    assert bitnet.softmax([0, 0]).dtype == np.float32


def test_argmax_skips_nan_and_takes_the_first_of_ties():
    assert bitnet.argmax(np.array([np.nan, 2.0, 5.0, 5.0, np.nan], dtype=np.float32)) == 2
    assert bitnet.argmax([-np.inf, -np.inf, 0.5]) == 2
    with pytest.raises(bitnet.NumericError):
        bitnet.argmax([-np.inf, np.nan])
    with pytest.raises(bitnet.ConfigError):
        bitnet.argmax([])
    with pytest.raises(bitnet.ConfigError):
        bitnet.argmax(np.zeros((2, 2)))


def test_greedy_sampler_agrees_with_argmax_and_ignores_nan():
    rng = np.random.default_rng(0)
    with bitnet.Sampler(bitnet.SamplingConfig(temperature=0.0)) as s:
        for _ in range(20):
            x = rng.normal(size=512).astype(np.float32)
            x[rng.integers(0, 512, size=20)] = np.nan
            assert s.sample(x) == bitnet.argmax(x)


def test_seeded_sampler_is_reproducible_and_follows_the_distribution():
    logits = np.log(np.array([0.1, 0.2, 0.7], dtype=np.float32))
    cfg = bitnet.SamplingConfig(temperature=1.0, top_k=0, top_p=1.0, seed=42)
    a = [bitnet.Sampler(cfg).sample(logits) for _ in range(3)]
    assert len(set(a)) == 1, "a fresh sampler with one seed must draw the same first token"
    s = bitnet.Sampler(cfg)
    draws = np.bincount([s.sample(logits) for _ in range(3000)], minlength=3) / 3000
    np.testing.assert_allclose(draws, [0.1, 0.2, 0.7], atol=0.04)
    # top_k=1 leaves only the best token.
    one = bitnet.Sampler(bitnet.SamplingConfig(temperature=1.0, top_k=1, seed=1))
    assert {one.sample(logits) for _ in range(50)} == {2}


def test_repetition_penalty_uses_the_history():
    logits = np.array([2.0, 1.9, -5.0], dtype=np.float32)
    s = bitnet.Sampler(bitnet.SamplingConfig(temperature=0.0, repetition_penalty=2.0))
    assert s.sample(logits) == 0
    assert s.sample(logits, history=[0]) == 1


def test_sampling_config_is_validated():
    with pytest.raises(bitnet.ConfigError, match="top_p"):
        bitnet.SamplingConfig(top_p=0.0)
    with pytest.raises(bitnet.ConfigError, match="seed"):
        bitnet.SamplingConfig(seed=1 << 64)
    assert bitnet.GenerationConfig(temperature=0.3, top_k=5, seed=3).sampling() == bitnet.SamplingConfig(
        temperature=0.3, top_k=5, top_p=0.9, seed=3
    )
