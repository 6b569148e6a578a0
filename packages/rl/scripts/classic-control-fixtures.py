#!/usr/bin/env python3
"""Records Gymnasium's classic-control transitions for @hypernets/rl's tests.

Run by hand, not by CI:

    python3 packages/rl/scripts/classic-control-fixtures.py /path/to/Gymnasium \
        > packages/rl/src/testing/fixtures/classic-control.json

The argument is a checkout of Farama-Foundation/Gymnasium (the folder that holds the
`gymnasium` package). Needs numpy; nothing else: Gymnasium's other dependencies
(cloudpickle, typing_extensions, farama_notifications) are only imported lazily or under
TYPE_CHECKING by the classic-control code. Should an older checkout import one eagerly, an
empty stand-in module is put on sys.modules for it (listed in the output's "stubs"); the
physics is always Gymnasium's own env classes.

For every env it sets `env.unwrapped.state` to a random state (wider than the reset
distribution, to reach the clips, wraps, walls and termination thresholds), steps one random
action, and records (state, action) -> (next state, observation, reward, terminated). It also
records one short trajectory per env (reset state, actions, then what each step returned),
which checks the state's dtype between steps (MountainCarContinuous keeps float32, Acrobot
float64). Inputs are rounded to 12 significant digits before they are used, so the JSON holds
them exactly; observations are float32 and written in their shortest float32 form.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import types

CASES = 250
TRAJECTORY = 40
SEED = 20240601


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: classic-control-fixtures.py <path of a Gymnasium checkout>")
    sys.path.insert(0, sys.argv[1])
    stubs = []
    for name in ("cloudpickle", "typing_extensions", "farama_notifications"):
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
            stubs.append(name)
    import numpy as np

    import gymnasium
    from gymnasium.envs.classic_control import (
        AcrobotEnv,
        CartPoleEnv,
        Continuous_MountainCarEnv,
        MountainCarEnv,
        PendulumEnv,
    )

    rng = np.random.default_rng(SEED)
    r12 = lambda x: float(f"{float(x):.12g}")  # noqa: E731
    f32 = lambda x: float(repr(np.float32(x)).removeprefix("np.float32(").removesuffix(")"))  # noqa: E731
    out12 = lambda x: float(f"{float(x):.15g}")  # noqa: E731

    def uniform(lo, hi):
        return r12(rng.uniform(lo, hi))

    def record(env, state, action, state_dtype):
        u = env.unwrapped
        u.state = np.array(state, dtype=state_dtype)
        if hasattr(u, "steps_beyond_terminated"):
            u.steps_beyond_terminated = None
        obs, reward, terminated, truncated, _ = u.step(action)
        assert truncated is False
        return [
            [out12(v) for v in np.asarray(u.state, dtype=np.float64)],
            [f32(v) for v in np.asarray(obs)],
            out12(reward),
            bool(terminated),
        ]

    envs = []

    # CartPole-v1: x beyond ±2.4, theta beyond ±12° so some steps terminate.
    env = CartPoleEnv()
    env.reset(seed=0)
    cases = []
    for _ in range(CASES):
        s = [uniform(-2.6, 2.6), uniform(-3, 3), uniform(-0.26, 0.26), uniform(-3.5, 3.5)]
        a = int(rng.integers(0, 2))
        cases.append([s, a, *record(env, s, a, np.float64)])
    envs.append({"id": "CartPole-v1", "kwargs": {}, "cases": cases, "trajectory": trajectory(env, rng, "discrete", 2)})

    # Pendulum-v1: angles over several turns (angle_normalize), speeds and torques past the clips.
    for g in (10.0, 9.81):
        env = PendulumEnv(g=g)
        env.reset(seed=0)
        cases = []
        for _ in range(CASES if g == 10.0 else 50):
            s = [uniform(-3 * math.pi, 3 * math.pi), uniform(-9, 9)]
            a = np.array([np.float32(uniform(-3, 3))], dtype=np.float32)
            cases.append([s, [float(a[0])], *record(env, s, a, np.float64)])
        envs.append(
            {
                "id": "Pendulum-v1",
                "kwargs": {"g": g},
                "cases": cases,
                "trajectory": trajectory(env, rng, "box", 1, 2.0) if g == 10.0 else None,
            }
        )

    # MountainCar-v0: a fifth of the states at the left wall moving left.
    env = MountainCarEnv()
    env.reset(seed=0)
    cases = []
    for i in range(CASES):
        if i % 5 == 0:
            s = [uniform(-1.2, -1.15), uniform(-0.07, 0)]
        else:
            s = [uniform(-1.2, 0.6), uniform(-0.07, 0.07)]
        a = int(rng.integers(0, 3))
        cases.append([s, a, *record(env, s, a, np.float64)])
    envs.append({"id": "MountainCar-v0", "kwargs": {}, "cases": cases, "trajectory": trajectory(env, rng, "discrete", 3)})

    # MountainCarContinuous-v0: the left wall, the goal (+100), actions past ±1.
    env = Continuous_MountainCarEnv()
    env.reset(seed=0)
    cases = []
    for i in range(CASES):
        if i % 5 == 0:
            s = [uniform(-1.2, -1.15), uniform(-0.07, 0)]
        elif i % 5 == 1:
            s = [uniform(0.4, 0.6), uniform(-0.02, 0.07)]
        else:
            s = [uniform(-1.2, 0.6), uniform(-0.07, 0.07)]
        a = np.array([np.float32(uniform(-1.5, 1.5))], dtype=np.float32)
        cases.append([s, [float(a[0])], *record(env, s, a, np.float64)])
    envs.append(
        {
            "id": "MountainCarContinuous-v0",
            "kwargs": {},
            "cases": cases,
            "trajectory": trajectory(env, rng, "box", 1, 1.0),
        }
    )

    # Acrobot-v1: any angles, speeds up to and past the bounds (4π, 9π).
    env = AcrobotEnv()
    env.reset(seed=0)
    cases = []
    for _ in range(CASES):
        s = [uniform(-math.pi, math.pi), uniform(-math.pi, math.pi), uniform(-14, 14), uniform(-30, 30)]
        a = int(rng.integers(0, 3))
        cases.append([s, a, *record(env, s, a, np.float64)])
    envs.append({"id": "Acrobot-v1", "kwargs": {}, "cases": cases, "trajectory": trajectory(env, rng, "discrete", 3)})

    doc = {
        "source": "Farama-Foundation/Gymnasium gymnasium/envs/classic_control",
        "gymnasium_version": gymnasium.__version__,
        "numpy_version": np.__version__,
        "stubs": stubs,
        "fields": ["state", "action", "next_state", "observation", "reward", "terminated"],
        "envs": envs,
    }
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


def trajectory(env, rng, kind, n, scale=1.0):
    """Reset with a seed, then TRAJECTORY steps (fewer if the episode terminates)."""
    import numpy as np

    f32 = lambda x: float(repr(np.float32(x)).removeprefix("np.float32(").removesuffix(")"))  # noqa: E731
    u = env.unwrapped
    env.reset(seed=int(rng.integers(0, 2**31)))
    if hasattr(u, "steps_beyond_terminated"):
        u.steps_beyond_terminated = None
    start = [float(v) for v in np.asarray(u.state, dtype=np.float64)]
    dtype = str(np.asarray(u.state).dtype)
    steps = []
    for _ in range(TRAJECTORY):
        if kind == "discrete":
            a = int(rng.integers(0, n))
            action = a
        else:
            a = np.array([np.float32(float(f"{rng.uniform(-scale, scale):.6g}"))], dtype=np.float32)
            action = [float(a[0])]
        obs, reward, terminated, _, _ = u.step(a)
        steps.append([action, [f32(v) for v in np.asarray(obs)], float(f"{float(reward):.15g}"), bool(terminated)])
        if terminated:
            break
    return {"start": start, "start_dtype": dtype, "steps": steps}


if __name__ == "__main__":
    main()
