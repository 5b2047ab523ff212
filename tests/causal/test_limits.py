"""The memory cap (causal.limits): requests over it are refused before allocating."""


import numpy as np
import pytest

from causal import SCM, CounterfactualError, Linear, ModelError, limits
from causal.noise import Normal
from causal.testing import run_python

MIB = 2**20


def chain():
    return SCM(
        {"z": Linear(), "x": Linear({"z": 0.8}), "y": Linear({"x": 2.0, "z": -1.0}),
         "w": Linear({"y": 0.5})},
        {"z": Normal(), "x": Normal(), "y": Normal(), "w": Normal()},
    )


def hidden_parent():
    return SCM(
        {"u": Linear(), "x": Linear({"u": 1.0}), "y": Linear({"x": 2.0, "u": 3.0})},
        {"u": Normal(), "x": Normal(), "y": Normal()},
        hidden=["u"],
    )


# bytes per unit of each entry point on a 4-node model with noise at every node (the
# documented estimate 8 * (arrays + 2)): sample/sample_noise 4 arrays, ate noise + 2 arms
# = 12, expected noise + values = 8 per draw
SAMPLE, ATE, EXPECTED = 8 * 6, 8 * 14, 8 * 10


@pytest.mark.parametrize("call, per_unit", [
    (lambda m, n: m.sample(n, seed=0), SAMPLE),
    (lambda m, n: m.sample_noise(n, seed=0), SAMPLE),
    (lambda m, n: m.ate("x", "y", 1.0, 0.0, n=n, seed=0), ATE),
    (lambda m, n: m.expected("y", {"x": 1.0}, draws=n, seed=0), EXPECTED),
])
def test_scm_requests_just_over_the_cap_are_refused_and_just_under_run(call, per_unit):
    m = chain()
    top = MIB // per_unit
    with limits.max_bytes(MIB):
        call(m, top)                       # just under: runs
        with pytest.raises(ModelError, match=r"over the limit of 1 MiB\b") as e:
            call(m, top + 1)
        msg = str(e.value)
        assert "CAUSALSIM_MAX_BYTES" in msg and f"chunks of at most {top:,}" in msg
        assert "raise the limit" in msg
    with limits.max_bytes(2 * MIB):        # a raised cap lets it run
        call(m, top + 1)


def test_sample_message_names_the_request_and_the_estimate():
    with limits.max_bytes(MIB), pytest.raises(ModelError) as e:
        chain().sample(10_000_000_000)
    msg = str(e.value)
    assert msg.startswith("sample(n=10,000,000,000) (4 nodes x 8 bytes + 2 x 8 bytes per unit) "
                          "needs about 447 GiB")
    assert "one seed per chunk" in msg


def test_absurd_counts_are_refused_without_allocating(monkeypatch):
    m = chain()
    monkeypatch.setattr(np, "empty", lambda *a, **k: pytest.fail("allocated"))
    for n in (10**12, 2**62, 10**30):
        with pytest.raises(ModelError, match="over the limit"):
            m.sample(n)
        with pytest.raises(ModelError, match="over the limit"):
            m.sample_noise(n)
        with pytest.raises(ModelError, match="over the limit"):
            m.ate("x", "y", 1.0, 0.0, n=n)
        with pytest.raises(ModelError, match="over the limit"):
            m.expected("y", draws=n)
    # even a cap above int64 does not let an element count overflow int64 through
    with limits.max_bytes(2**70), pytest.raises(ModelError, match="over the limit"):
        m.sample(2**62)


def test_expected_counts_units_times_draws():
    m = chain()
    fixed = {"z": np.zeros(10)}
    top = MIB // EXPECTED
    with limits.max_bytes(MIB):
        m.expected("y", fixed_noise=fixed, draws=top // 10)
        with pytest.raises(ModelError, match=r"expected\(draws=.*for 10 unit"):
            m.expected("y", fixed_noise=fixed, draws=top // 10 + 1)


def test_counterfactual_weighting_counts_particles():
    m = hidden_parent()
    ev = m.sample(4, seed=1)[["x", "y"]]
    per = 8 * (2 * 3 + 2)                  # every node's noise and value + unit + weight
    top = MIB // (per * 4)                 # samples per unit that fit for 4 units
    with limits.max_bytes(MIB):
        cf = m.counterfactual(ev, {"x": 1.0}, samples=top, seed=0)
        assert cf.attrs["mode"] == "weighting"
        with pytest.raises(CounterfactualError, match=r"samples=.* over the limit of 1 MiB") as e:
            m.counterfactual(ev, {"x": 1.0}, samples=top + 1, seed=0)
        assert "units of evidence" in str(e.value) and "fewer samples" in str(e.value)
        with pytest.raises(CounterfactualError, match="over the limit"):
            m.cate("x", "y", 1.0, 0.0, ev, samples=top + 1, seed=0)
    with limits.max_bytes(2 * MIB):
        m.counterfactual(ev, {"x": 1.0}, samples=top + 1, seed=0)


def test_set_max_bytes_validates_and_restores():
    old = limits.MAX_BYTES
    with limits.max_bytes(123) as cap:
        assert cap == limits.MAX_BYTES == 123
    assert limits.MAX_BYTES == old
    for bad in (0, -1, 1.5, "x", True, None):
        with pytest.raises(limits.CausalSimError, match="positive whole number"):
            limits.set_max_bytes(bad)
    assert limits.MAX_BYTES == old


def _run(env_value):
    code = ("import warnings; warnings.simplefilter('error')\n"
            "from causal import limits, SCM, Linear, ModelError\nfrom causal.noise import Normal\n"
            "m = SCM({'x': Linear()}, {'x': Normal()})\n"
            "try:\n    m.sample(100_000)\n    print(limits.MAX_BYTES, 'ok')\n"
            "except ModelError as e:\n    print(limits.MAX_BYTES, 'refused')\n")
    return run_python(code, {limits.ENV_VAR: env_value})


def test_environment_variable_sets_the_cap_at_import():
    assert _run(None)[0] == f"{limits.DEFAULT_MAX_BYTES} ok"
    assert _run("1048576")[0] == "1048576 refused"      # 100,000 units x 24 bytes > 1 MiB
    assert _run("1e7")[0] == "10000000 ok"
    out, err = _run("lots")
    assert out == "" and "CAUSALSIM_MAX_BYTES='lots'" in err   # a bad value warns (here: an error)
