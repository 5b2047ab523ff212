"""Noise distributions: moments match, densities integrate, bad parameters fail early.

Moment checks allow 5 standard errors (false-failure rate ~6e-7 each)."""

import numpy as np
import pytest
from scipy import integrate

from causal import ModelError
from causal.noise import (
    DISTRIBUTIONS,
    Bernoulli,
    Categorical,
    Exponential,
    Gumbel,
    LogNormal,
    Normal,
    StudentT,
    Uniform,
)

CONTINUOUS = [Normal(1, 2), Uniform(-1, 3), LogNormal(0, 0.5), Exponential(2), StudentT(5, 1, 2),
              Gumbel(0.5, 1.5)]


@pytest.mark.parametrize("dist", CONTINUOUS + [Bernoulli(0.3), Categorical((0.2, 0.3, 0.5))],
                         ids=str)
def test_sample_mean_matches_expectation(dist):
    n = 200_000
    x = dist.sample(n, np.random.default_rng(0))
    assert x.dtype == np.float64 and x.shape == (n,)
    assert abs(x.mean() - dist.expectation()) < 5 * x.std() / np.sqrt(n)


@pytest.mark.parametrize("dist", CONTINUOUS, ids=str)
def test_density_integrates_to_one(dist):
    total, _ = integrate.quad(lambda t: np.exp(dist.logpdf(np.array([t]))[0]), -np.inf, np.inf,
                              limit=200, points=None)
    assert total == pytest.approx(1.0, abs=1e-5)


def test_discrete_support_and_mass():
    values, probs = Categorical((0.2, 0.3, 0.5)).support()
    np.testing.assert_array_equal(values, [0, 1, 2])
    np.testing.assert_allclose(np.exp(Categorical((0.2, 0.3, 0.5)).logpdf(values)), probs)
    assert np.exp(Bernoulli(0.3).logpdf(np.array([0.5, 2.0, 1.0]))).tolist() == [0.0, 0.0, 0.3]
    with pytest.raises(ModelError, match="continuous"):
        Normal().support()


@pytest.mark.parametrize("dist", CONTINUOUS + [Bernoulli(0.25), Categorical((0.5, 0.5))], ids=str)
def test_to_spec_round_trips(dist):
    from causal.spec import parse_noise

    assert parse_noise(dist.to_spec()) == dist


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Normal(0, 0), "sd must be > 0"),
        (lambda: Normal(float("nan"), 1), "finite"),
        (lambda: Uniform(1, 1), "low < high"),
        (lambda: Exponential(-1), "scale must be > 0"),
        (lambda: Bernoulli(1.5), r"\[0, 1\]"),
        (lambda: Categorical((0.5, 0.6)), "sum to 1"),
        (lambda: Categorical((1.0,)), "at least two"),
        (lambda: Normal("a", 1), "must be a number"),
        (lambda: StudentT(1).expectation(), "no mean"),
    ],
)
def test_bad_parameters_raise_model_error(build, match):
    with pytest.raises(ModelError, match=match):
        build()


def test_registry_names_every_distribution():
    assert set(DISTRIBUTIONS) == {"normal", "uniform", "lognormal", "exponential", "student_t",
                                  "gumbel", "bernoulli", "categorical"}


def test_sampling_uses_only_the_given_generator():
    a = Normal().sample(5, np.random.default_rng(1))
    np.random.seed(99)
    b = Normal().sample(5, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dist", CONTINUOUS + [Normal(), Uniform(), Bernoulli(0.3), Categorical((0.2, 0.8))],
                         ids=str)
def test_sample_into_a_row_draws_the_same_values_as_sample(dist):
    block = np.full((3, 1001), np.nan)
    out = dist.sample_into(block[1], np.random.default_rng(7))
    assert out is block[1] or np.shares_memory(out, block)
    assert np.array_equal(block[1], dist.sample(1001, np.random.default_rng(7)))
    assert np.isnan(block[0]).all() and np.isnan(block[2]).all()
