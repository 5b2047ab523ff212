"""Stable-Baselines3's PPO learns the ice-cream advert decision better than a random policy (issue 13).

Optional and slow: it needs the ``rl`` extra (``pip install "causalsim[rl]"``, which brings PyTorch)
and is skipped without it; like every ``slow`` test it runs only with ``pytest -m slow``.

Why this scenario. In ``icecream`` the reward of a day is ``2 ice_cream - 10 advert``, and the
advert's effect on it is ``6 + (temperature - 25)`` (heterogeneity 1, see ``scenarios/icecream.py``):
advertising pays on days warmer than 19 degC, about 88% of them. The best action depends on the
observed context ``(temperature, weekend)`` and the signal is learnable: a random policy gives up
3.0 per day against always advertising and 3.3 against advertising exactly when it pays.

Why PPO, with ``gamma=0``. Every day is a new unit whose context does not depend on earlier actions:
a contextual bandit, so each action is credited with its own day's reward only (``gamma=0``), and the
deterministic policy needs only the sign of the advantage right in each context. A DQN would first
have to regress Q-values around 200 with a noise of 40 per day. The observation and the reward are
standardised with their mean and standard deviation under the random policy on a separate episode
(otherwise the value loss, of order 200 squared, swamps the policy's gradient under PPO's global
gradient-norm clipping).

The comparison is paired. Each evaluation episode is run twice from the same reset seed (the same
days and the same noise, so only the actions differ), once with the trained policy
(``deterministic=True``) and once with uniformly random actions. The test asserts that the
one-sided 99.9% lower t-bound on the mean per-day difference, over 20 episodes of 365 days, exceeds
``MARGIN = 1.5`` per day, half of what always advertising gains:

* false pass: a policy whose true gain over random is at most 1.5 per day passes with probability
  at most 0.001 (the bound's level);
* false failure: the per-episode differences have a standard deviation of about 0.26 per day
  (0.26 for always advertising, 0.25 for advertising exactly when it pays, measured on these seeds;
  standard error of the mean 0.058), so the bound sits about 0.21 below the mean, and a policy that
  gains at least 2.5 per day fails only if its mean comes out 0.8 (about 13 standard errors) low:
  probability below 1e-12.

Training itself is seeded (``PPO(seed=0)``, CPU), but its outcome can differ between PyTorch and
Stable-Baselines3 versions; ``test_the_harness_separates_good_from_bad_policies`` checks the
harness and its calibration without Stable-Baselines3.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium
import numpy as np
import pytest
from scipy import stats

import scenarios

pytestmark = pytest.mark.slow

SCENARIO = "icecream"
TRAIN_SEED = 0
#: 20 PPO rollouts of 2048 days.
TIMESTEPS = 20 * 2048
#: Evaluation episodes (365 days each), disjoint from the standardisation episode's seed.
EVAL_SEEDS = tuple(range(1000, 1020))
STANDARDISE_SEED = 999
#: Required gain over the random policy, in reward per day (always advertising gains 3.0).
MARGIN = 1.5
LEVEL = 0.999

Policy = Callable[[np.ndarray], int]


def _make_env() -> gymnasium.Env:
    return gymnasium.make(scenarios.env_id(SCENARIO))


def _per_day_reward(env: gymnasium.Env, act: Policy, seed: int) -> float:
    """The mean reward per decision over one episode started with ``reset(seed=seed)``."""
    obs, _ = env.reset(seed=seed)
    total, steps, done = 0.0, 0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(act(obs))
        total += float(reward)
        steps += 1
        done = terminated or truncated
    return total / steps


def _random_policy(env: gymnasium.Env, seed: int) -> Policy:
    rng = np.random.default_rng([seed, 1])
    n = int(env.action_space.n)
    return lambda obs: int(rng.integers(n))


def _standardisation(seed: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Mean and standard deviation of the observation and of the reward under the random policy."""
    env = _make_env()
    act = _random_policy(env, seed)
    obs, _ = env.reset(seed=seed)
    observations, rewards, done = [obs], [], False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(act(obs))
        observations.append(obs)
        rewards.append(float(reward))
        done = terminated or truncated
    X = np.asarray(observations)
    sd = X.std(axis=0)
    return X.mean(axis=0), np.where(sd > 0, sd, 1.0), float(np.mean(rewards)), float(np.std(rewards))


def _standardised(env: gymnasium.Env, mean: np.ndarray, sd: np.ndarray) -> gymnasium.Env:
    space = gymnasium.spaces.Box(-np.inf, np.inf, shape=env.observation_space.shape, dtype=np.float64)
    return gymnasium.wrappers.TransformObservation(env, lambda obs: (obs - mean) / sd, space)


def _paired_gain(env: gymnasium.Env, act: Policy) -> tuple[float, float, np.ndarray]:
    """Per-day reward of ``act`` minus that of the random policy, episode by episode (same seeds).

    Returns the mean difference, its one-sided ``LEVEL`` lower t-bound and the differences.
    """
    diff = np.array([_per_day_reward(env, act, s) - _per_day_reward(env, _random_policy(env, s), s)
                     for s in EVAL_SEEDS])
    n = len(diff)
    bound = diff.mean() - stats.t.ppf(LEVEL, n - 1) * diff.std(ddof=1) / np.sqrt(n)
    return float(diff.mean()), float(bound), diff


def test_the_harness_separates_good_from_bad_policies() -> None:
    """Without Stable-Baselines3: always advertising clears the margin, never advertising does not.

    Deterministic (seeded episodes and random actions): always advertising gains 3.0 per day over the
    random policy (lower bound 2.8), never advertising loses 3.0.
    """
    env = _make_env()
    gain, bound, diff = _paired_gain(env, lambda obs: 1)
    assert bound > MARGIN and abs(gain - 3.0) < 0.3 and diff.std(ddof=1) < 0.4
    gain, bound, _ = _paired_gain(env, lambda obs: 0)
    assert bound < gain < 0


def test_ppo_beats_a_random_policy() -> None:
    sb3 = pytest.importorskip("stable_baselines3")
    mean, sd, r_mean, r_sd = _standardisation(STANDARDISE_SEED)
    train_env = gymnasium.wrappers.TransformReward(_standardised(_make_env(), mean, sd),
                                                   lambda r: (r - r_mean) / r_sd)
    model = sb3.PPO("MlpPolicy", train_env, n_steps=2048, batch_size=64, gamma=0.0, seed=TRAIN_SEED,
                    device="cpu", verbose=0)
    model.learn(total_timesteps=TIMESTEPS)

    def learned(obs: np.ndarray) -> int:
        action, _ = model.predict(obs, deterministic=True)
        return int(action)

    gain, bound, diff = _paired_gain(_standardised(_make_env(), mean, sd), learned)
    assert bound > MARGIN, (f"PPO gains {gain:.2f} per day over a random policy (lower {LEVEL:.1%} bound "
                            f"{bound:.2f}, per-episode {np.round(diff, 2).tolist()}); need more than "
                            f"{MARGIN} (always advertising gains 3.0)")
