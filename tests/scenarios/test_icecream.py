"""Acceptance tests of the ice-cream scenario (``scenarios/icecream.py``).

Statistical assertions allow K = 5 standard errors (of the estimate, combined
with the Monte-Carlo error of the truth it is compared with). For a normal
statistic the two-sided false-failure rate is about 6e-7 per assertion, so
below 2e-5 for the ~25 statistical assertions here. Every draw is seeded, so a
run is reproducible; the tolerance, not the seed, makes the tests pass.

The documented numbers are checked against :func:`population`, a second,
independent implementation of the docstring's equations: the population
limits of the naive and the back-door estimators by Gauss-Hermite quadrature
over temperature and exact sums over weekend, festival and advert (no Monte
Carlo). The sample estimators are the library's (``RegressionAdjustment``,
Lin's interacted OLS) and a difference in means written here.
"""

from __future__ import annotations

import math
import re
import warnings

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

import scenarios  # noqa: F401  (registers causalsim/IceCream-v0)
from causal import NotIdentifiable
from causal.estimators import RegressionAdjustment
from causal.identify import identify
from causal.interventions import Hard
from causalsim.cli import main as cli
from scenarios.icecream import IceCream, IceCreamParams
from sim.checks import check_scenario
from sim.errors import ScenarioError

K = 5.0  #: standard errors per tolerance: two-sided false-failure rate 5.7e-7 per assertion
COVARIATES = ["temperature", "weekend"]


# ----------------------------------------------------------------------------- estimators
def naive(d: pd.DataFrame, outcome: str = "ice_cream") -> tuple[float, float]:
    """Mean ``outcome`` on advert days minus on no-advert days, with its standard error."""
    y, t = d[outcome].to_numpy(), d["advert"].to_numpy()
    y1, y0 = y[t == 1], y[t == 0]
    return float(y1.mean() - y0.mean()), math.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))


def adjusted(d: pd.DataFrame, covariates: list[str]) -> tuple[float, float]:
    """Lin's interacted regression adjustment; its SE plus the spread of the fitted CATE.

    The HC2 standard error of the coefficient is that of the sample ATE; for the
    population ATE add ``Var(tau(X)) / n`` (the covariates are random too).
    """
    est = RegressionAdjustment().fit(d, treatment="advert", outcome="ice_cream", covariates=covariates)
    ate = est.ate()
    slopes = est.coef_[[f"advert:{c}" for c in covariates]].to_numpy()
    x = d[covariates].to_numpy(float)
    tau_sd = float(np.std((x - x.mean(axis=0)) @ slopes))
    return ate.value, math.hypot(ate.stderr, tau_sd / math.sqrt(len(d)))


def population(confounding: float = 1.0, overlap: float = 0.2, heterogeneity: float = 1.0,
               hidden_confounder: bool = True, nodes: int = 120) -> dict[str, float]:
    """Population limits of the naive and the adjusted estimators, from the docstring's equations.

    Temperature ``25 + 5 x`` is integrated by Gauss-Hermite quadrature (the
    integrands are smooth: 120 nodes agree with 200 to 1e-10); weekend,
    festival and advert are summed exactly. ``E[ice_cream | ...]`` is linear,
    so the population OLS coefficients need only its conditional mean.
    """
    x, wq = np.polynomial.hermite_e.hermegauss(nodes)
    wq = wq / math.sqrt(2 * math.pi)
    t, m = 25 + 5 * x, overlap / 4
    rows, weights, means = [], [], []
    for weekend, p_weekend in ((0, 5 / 7), (1, 2 / 7)):
        for festival, p_festival in ((0, 0.9), (1, 0.1)):
            hidden = 2.5 * festival if hidden_confounder else 0.0
            logit = confounding * (0.3 * (t - 25) + 0.8 * weekend + hidden) - 0.5
            p = m + (1 - 2 * m) / (1 + np.exp(-logit))
            for a, p_a in ((1, p), (0, 1 - p)):
                mu = (20 + 3 * t + 10 * weekend + 25 * festival
                      + a * (8 + 0.5 * heterogeneity * (t - 25)))
                dt, dw = t - 25, np.full_like(t, weekend - 2 / 7)
                rows.append(np.column_stack([np.ones_like(t), np.full_like(t, a), dt, dw, a * dt, a * dw]))
                weights.append(wq * p_weekend * p_festival * p_a)
                means.append(mu)
    z, w, mu = np.vstack(rows), np.concatenate(weights), np.concatenate(means)
    a = z[:, 1]
    naive_limit = (w * a * mu).sum() / (w * a).sum() - (w * (1 - a) * mu).sum() / (w * (1 - a)).sum()
    beta = np.linalg.solve(z.T @ (w[:, None] * z), z.T @ (w * mu))
    return {"naive": float(naive_limit), "adjusted": float(beta[1]), "p_advert": float((w * a).sum())}


def within(estimate: tuple[float, float], target: float, target_se: float = 0.0) -> bool:
    return abs(estimate[0] - target) <= K * math.hypot(estimate[1], target_se)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def default():
    sc = IceCream()
    return sc, sc.observational(200_000, 11), sc.truth(n=200_000, seed=1)


# ----------------------------------------------------------------------------- parameters, spec, graph
def test_params_are_validated():
    assert IceCream().params == IceCreamParams() and IceCream().params.max_units == 365
    for bad in ({"confounding": -1.0}, {"overlap": 1.5}, {"noise": 0.0}, {"heterogeneity": math.nan},
                {"hidden_confounder": 1}, {"max_units": 0}, {"temperature": 30}):
        with pytest.raises(ScenarioError):
            IceCream(**bad)


@pytest.mark.parametrize("params", [{}, {"hidden_confounder": False, "confounding": 0.7, "overlap": 0.4,
                                         "heterogeneity": 2.0, "noise": 1.5}])
def test_spec_round_trips(params, spec_round_trip):
    spec_round_trip(IceCream(**params), ["festival"], {"ice_cream": "cones/day", "temperature": "degC"})


def test_graph_is_the_documented_one():
    g = IceCream().scm.graph
    assert g.parents("ice_cream") == {"temperature", "weekend", "festival", "advert"}
    assert g.parents("sunscreen") == {"temperature", "festival"}  # neither advert nor ice cream
    assert g.parents("advert") == {"temperature", "weekend", "festival"}
    assert g.hidden == {"festival"}
    # without the hidden confounder festival is no parent of the advert (not a zero coefficient)
    assert IceCream(hidden_confounder=False).scm.graph.parents("advert") == {"temperature", "weekend"}


def test_identification_on_the_observed_graph():
    with pytest.raises(NotIdentifiable):
        identify(IceCream().scm.observed_graph, "advert", "ice_cream")
    est = identify(IceCream(hidden_confounder=False).scm.observed_graph, "advert", "ice_cream")
    assert est.strategy == "backdoor" and est.adjustment == frozenset(COVARIATES)


# ----------------------------------------------------------------------------- truth
def test_truth_agrees_with_brute_force(default):
    sc, _, truth = default
    scm = sc.scm
    noise = scm.sample_noise(truth.n, seed=1)  # the truth's own units: common random numbers
    worlds = {a: scm.propagate(noise, {"advert": Hard(float(a))}) for a in (0, 1)}
    for node in ("ice_cream", "sunscreen"):
        d = worlds[1][node] - worlds[0][node]
        assert truth.ate("advert", "none", node).value == pytest.approx(d.mean(), abs=1e-12)
        np.testing.assert_allclose(truth.ite("advert", "none", node), d, atol=1e-12)
    # the unit-level effect is the documented CATE, and on sunscreen it is identically zero
    temperature = worlds[0]["temperature"]
    np.testing.assert_allclose(truth.ite("advert", "none"), 8 + 0.5 * (temperature - 25), atol=1e-9)
    assert (truth.ite("advert", "none", "sunscreen") == 0).all()
    assert truth.ate("advert", "none", "sunscreen").value == 0.0
    ate = truth.ate("advert", "none")
    assert abs(ate.value - 8.0) <= K * ate.stderr  # 8 exactly in expectation
    # independent units: the interventional means of the mutilated model
    n = 50_000
    for a in (0, 1):
        fresh = scm.do({"advert": float(a)}).sample(n, seed=100 + a)
        want = truth.mean("advert" if a else "none")
        se = fresh["ice_cream"].std() / math.sqrt(n)
        assert abs(fresh["ice_cream"].mean() - want.value) <= K * math.hypot(se, want.stderr)


def test_ice_cream_does_not_cause_sunscreen():
    scm = IceCream().scm
    noise = scm.sample_noise(5000, seed=4)
    base = scm.propagate(noise)
    for value in (0.0, 500.0):
        pushed = scm.propagate(noise, {"ice_cream": Hard(value)})
        np.testing.assert_array_equal(pushed["sunscreen"], base["sunscreen"])


def test_correlation_without_causation(default):
    _, data, truth = default
    r = data["ice_cream"].corr(data["sunscreen"])
    # SE of r is about (1 - r^2) / sqrt(n) = 0.0012 here; r is about 0.69
    assert r - 0.5 > K * (1 - r ** 2) / math.sqrt(len(data))
    assert truth.ate("advert", "none", "sunscreen").value == 0.0
    # the advert "raises" sunscreen sales in the logs: the festival and heat behind both
    spurious = naive(data, "sunscreen")
    assert spurious[0] > K * spurious[1]


def test_cate_and_heterogeneity():
    contexts = pd.DataFrame({"temperature": [20.0, 30.0], "weekend": [0.0, 1.0]})
    for h in (0.0, 1.0, 3.0):
        cate = IceCream(heterogeneity=h).truth(n=100).cate("advert", "none", contexts, samples=500, seed=2)
        # common random numbers: the noise cancels, so the CATE is exact
        np.testing.assert_allclose(cate, 8 + 0.5 * h * (contexts["temperature"] - 25), atol=1e-9)
        assert (cate[1] - cate[0]) / 10 == pytest.approx(0.5 * h, abs=1e-10)


def test_reward_and_break_even(default):
    sc, _, truth = default
    gain = truth.rewards("advert") - truth.rewards("none")
    np.testing.assert_allclose(gain, 2 * truth.ite("advert", "none") - 10, atol=1e-9)
    value = truth.value("advert").value - truth.value("none").value
    assert abs(value - 6.0) <= K * gain.std() / math.sqrt(len(gain))  # 6 per day on average
    # advertising pays above 19 degC (h = 1): the CATE there is 5 cones, worth the cost of 10
    edge = truth.cate("advert", "none", pd.DataFrame({"temperature": [19.0], "weekend": [0.0]}))
    assert 2 * edge[0] - 10 == pytest.approx(0.0, abs=1e-9)
    temperature = truth.values("none")["temperature"]
    threshold = truth.policy_value(lambda obs: (obs[:, 0] > 19).astype(np.int64))
    paired = np.where(temperature > 19, truth.rewards("advert"), truth.rewards("none"))
    assert threshold.value == pytest.approx(paired.mean(), abs=1e-9)
    better = paired - truth.rewards("advert")  # (19 - temperature)+ per day: never negative
    assert (better >= -1e-9).all() and better.mean() > K * better.std() / math.sqrt(len(better))


# ----------------------------------------------------------------------------- the trap and its fixes
def test_documented_numbers():
    # the docstring's rounded figures, from the population limits (no sampling error)
    pop = population()
    assert round(pop["naive"]) == 27 and round(pop["naive"] - 8) == 19  # 26.68, bias 18.68
    assert round(pop["naive"] - pop["adjusted"]) == 15  # observed part 14.76
    assert round(pop["adjusted"] - 8) == 4  # hidden part 3.92
    assert round(population(confounding=2.0)["naive"]) == 31  # 31.17
    assert population(confounding=0.0)["naive"] == pytest.approx(8.0, abs=1e-9)
    assert population(hidden_confounder=False)["adjusted"] == pytest.approx(8.0, abs=1e-9)


def test_naive_comparison_is_biased_by_the_documented_amount(default):
    _, data, truth = default
    ate = truth.ate("advert", "none")
    est = naive(data)
    bias = (est[0] - ate.value, math.hypot(est[1], ate.stderr))
    assert within(bias, population()["naive"] - 8.0)  # 18.68
    assert bias[0] > K * bias[1]
    assert abs(data["advert"].mean() - population()["p_advert"]) <= K * 0.5 / math.sqrt(len(data))


def test_adjustment_leaves_the_hidden_part(default):
    _, data, truth = default
    ate = truth.ate("advert", "none")
    z = identify(IceCream(hidden_confounder=False).scm.observed_graph, "advert", "ice_cream").adjustment
    est = adjusted(data, sorted(z))
    assert within(est, population()["adjusted"])  # 11.92: bias 3.92 from the festivals
    assert est[0] - ate.value > K * math.hypot(est[1], ate.stderr)


def test_adjustment_recovers_the_truth_without_hidden_confounding():
    sc = IceCream(hidden_confounder=False)
    z = identify(sc.scm.observed_graph, "advert", "ice_cream").adjustment
    data = sc.observational(200_000, 13)
    ate = sc.truth(n=100_000, seed=1).ate("advert", "none")
    est = adjusted(data, sorted(z))
    assert within(est, ate.value, ate.stderr) and within(est, 8.0)
    assert within(naive(data), population(hidden_confounder=False)["naive"])  # 24.43: still biased
    assert not within(naive(data), ate.value, ate.stderr)


# ----------------------------------------------------------------------------- knobs
def _naive_bias(n: int = 100_000, seed: int = 21, **params) -> tuple[float, float]:
    est = naive(IceCream(**params).observational(n, seed))
    return est[0] - 8.0, est[1]  # the ATE is 8 at every confounding, overlap, noise


def _separated(low: tuple[float, float], high: tuple[float, float]) -> bool:
    return high[0] - low[0] > K * math.hypot(low[1], high[1])


def test_confounding_grows_the_bias():
    biases = [_naive_bias(confounding=c) for c in (0.0, 0.5, 1.0, 2.0)]
    assert abs(biases[0][0]) <= K * biases[0][1]  # as good as randomised
    assert all(_separated(lo, hi) for lo, hi in zip(biases, biases[1:], strict=False))


def test_overlap_bounds_the_propensities():
    sc0 = IceCream()
    data = sc0.scm.sample(20_000, seed=5, hidden=True)
    t, w, f = (data[c].to_numpy(float) for c in ("temperature", "weekend", "festival"))
    for overlap in (0.0, 0.2, 0.6, 1.0):
        sc = IceCream(overlap=overlap)
        mech = sc.scm.mechanisms["advert"]
        p = mech.probability({v: data[v].to_numpy(float) for v in mech.parents}, len(data))
        m = overlap / 4
        want = m + (1 - 2 * m) / (1 + np.exp(-(0.3 * (t - 25) + 0.8 * w + 2.5 * f - 0.5)))
        np.testing.assert_allclose(p, want, rtol=1e-12, atol=1e-15)  # the documented P(advert)
        assert p.min() >= m and p.max() <= 1 - m
        assert p.min() - m < 0.01 and (1 - m) - p.max() < 0.01  # the bounds are (nearly) reached


def test_noise_raises_the_standard_error_and_leaves_the_bias_alone():
    before = IceCream().observational(100_000, 22)
    after = IceCream(noise=2.0).observational(100_000, 22)
    assert (before["advert"] == after["advert"]).all()  # the knob leaves the logged policy alone
    # residual variance 100 + 56 (festivals) becomes 400 + 56: the SE grows by sqrt(456 / 156) = 1.71
    assert adjusted(after, COVARIATES)[1] > 1.5 * adjusted(before, COVARIATES)[1]
    assert naive(after)[1] > 1.2 * naive(before)[1]
    shift = naive(before.assign(ice_cream=after["ice_cream"] - before["ice_cream"]))
    assert abs(shift[0]) <= K * shift[1]


# ----------------------------------------------------------------------------- engine conformance
def _frame_bytes(d: pd.DataFrame) -> bytes:
    return str(list(zip(d.columns, d.dtypes.astype(str), strict=True))).encode() + d.to_numpy().tobytes()


def test_deterministic():
    sc = IceCream()
    assert _frame_bytes(sc.observational(500, 4)) == _frame_bytes(sc.observational(500, 4))
    assert _frame_bytes(sc.rct(500, 4)) == _frame_bytes(sc.rct(500, 4))
    assert _frame_bytes(sc.observational(500, 4)) != _frame_bytes(sc.observational(500, 5))
    runs = []
    for _ in range(2):
        env = gym.make("causalsim/IceCream-v0", max_units=20).unwrapped
        obs, _ = env.reset(seed=9)
        steps = [obs]
        for t in range(20):
            obs, reward, terminated, truncated, _ = env.step(t % 2)
            steps += [obs, np.array([reward, terminated, truncated], dtype=float)]
        runs.append(np.concatenate(steps))
    np.testing.assert_array_equal(*runs)
    assert runs[0][-1] == 1.0 or runs[0][-2] == 1.0  # the episode ended after max_units days


@pytest.mark.parametrize("params", [{}, {"hidden_confounder": False, "overlap": 0.0}])
def test_check_scenario(params):
    check_scenario(IceCream(**params))


def test_gymnasium_env_and_vector_env():
    with warnings.catch_warnings():  # check_env flags the unbounded Box observations; that is by design
        warnings.simplefilter("ignore", UserWarning)
        check_env(gym.make("causalsim/IceCream-v0").unwrapped)
    env = gym.make("causalsim/IceCream-v0").unwrapped
    obs, info = env.reset(seed=0)
    assert obs.shape == (2,) and obs[1] in (0.0, 1.0)  # temperature, weekend
    obs, reward, _, _, info = env.step(1)
    parts = info["rewards"]
    assert set(parts) == {"revenue", "cost"} and parts["cost"] == -10.0
    assert parts["revenue"] == pytest.approx(2 * info["outcome"])
    assert reward == pytest.approx(sum(parts.values()))

    venv = gym.make_vec("causalsim/IceCream-v0", num_envs=16)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (16, 2)
    for _ in range(5):
        obs, reward, terminated, truncated, _ = venv.step(venv.action_space.sample())
    assert obs.shape == (16, 2) and reward.shape == (16,) and np.isfinite(reward).all()
    venv.close()


def test_cli_whatif_reports_no_effect_on_sunscreen(capsys):
    status = cli(["whatif", "icecream", "--do", "advert=advert", "--outcome", "sunscreen", "--n", "20000"])
    out = capsys.readouterr().out
    assert status == 0
    (line,) = [s for s in out.splitlines() if s.startswith("effect")]
    numbers = [float(x) for x in re.findall(r"[-+]?\d+\.?\d*", line.split("correlation")[0])]
    assert numbers and all(x == 0.0 for x in numbers)
