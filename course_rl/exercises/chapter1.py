"""Exercises of chapter 1 (notebooks/01_tasks.ipynb): rewards, returns and positions of the tasks.

Each exercise is a reference solution (its docstring is the stub the student sees), the inputs
it is checked on, and the catalogue of known wrong answers with what each one means.
"""

from __future__ import annotations

import numpy as np

from .core import Case, Exercise, Variant, register


# ------------------------------------------------------------------------------------------------
# 1.1 The study's cart-pole reward
# ------------------------------------------------------------------------------------------------

def cartpole_reward(terminated, truncated):
    """The study's cart-pole reward for one gymnasium step.

    terminated: True on the step the pole falls. truncated: True on the step the 1000-step time
    limit ends the episode (a fall on that very step makes both True).
    Returns the reward the agent learns from, a float: -1.0 on the step the pole falls,
    0.0 on every other step.
    """
    return -1.0 if terminated else 0.0


def _four_steps(rng):
    words = {(False, False): "an ordinary step", (False, True): "the time limit, pole still up",
             (True, False): "a fall", (True, True): "a fall on the very last step (1000)"}
    return [Case(label, {"terminated": term, "truncated": trunc}, edge=(term and trunc))
            for (term, trunc), label in words.items()]


register(Exercise(
    id="cartpole_reward", chapter=1, title="The study's cart-pole reward",
    question=(
        "Write the study's cart-pole reward from the two flags of a gymnasium step: "
        "0 on every step, -1 on the step the pole falls, and nothing special when the "
        "1000-step time limit ends the episode (section 5 gives the three reasons)."),
    reference=cartpole_reward, cases=_four_steps, dtype="number",
    hint="a fall is `terminated`; the time limit is `truncated`, and only a fall is punished.",
    fact=("With this reward a state from which the pole never falls is worth about 0, and one "
          "k steps before a fall about -gamma^k; the reported score is still the number of "
          "steps survived."),
    variants=(
        Variant("time_limit_is_a_fall", lambda terminated, truncated: -1.0 if (terminated or truncated) else 0.0,
                "Your reward punishes the time limit like a fall. `truncated` means we stopped "
                "watching, not that the pole fell: a balancing agent would be punished for "
                "doing everything right.",
                "look at `terminated` only.", kind="truncation treated as termination"),
        Variant("original_last_step", lambda terminated, truncated: -1.0 if (terminated and not truncated) else 0.0,
                "A fall on the last step earns 0 in your version. That is the original code's "
                "reward: with gym's single `done` flag it could not tell a fall at step 1000 from "
                "the time limit. Gymnasium's two flags can, and a fall is a fall.",
                "`truncated` does not matter at all; `terminated` alone decides.",
                kind="study's own reward", defect="the original gave 0 to a fall on step 1000"),
        Variant("engine_reward", lambda terminated, truncated: 1.0,
                "You return the engines' +1 per step. The study replaced it by 0 per step and "
                "-1 for the fall, so that a safe state is worth about 0 instead of "
                "1/(1 - gamma) = 20.",
                "no reward at all for surviving a step; -1.0 for the fall.", kind="wrong reward"),
        Variant("fall_rewarded", lambda terminated, truncated: 1.0 if terminated else 0.0,
                "Your fall earns +1: a reward, not a penalty. The agent would learn to drop the "
                "pole as fast as it can.",
                "the sign: -1.0 on the falling step.", kind="sign"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 1.2 The return to come before a fall
# ------------------------------------------------------------------------------------------------

def fall_returns(length, gamma):
    """Discounted returns to come G_t of a cart-pole episode that ends in a fall.

    Under the study's reward the episode's rewards are 0, ..., 0, -1: the pole falls on its last
    step (`length` steps in all). Returns G_t = sum_i gamma^i r_{t+i} for t = 0 .. length - 1
    as a float64 array of shape (length,), computed from a formula (no simulation).
    """
    steps_left = np.arange(length - 1, -1, -1, dtype=np.float64)  # after step t, to the fall
    return -(float(gamma) ** steps_left)


def _fall_cases(rng):
    cases = [Case("an episode of one step (it falls at once)", {"length": 1, "gamma": 0.95}, edge=True),
             Case("gamma = 1 (no discount)", {"length": 5, "gamma": 1.0}, edge=True),
             Case("gamma = 0 (only the present counts)", {"length": 4, "gamma": 0.0}, edge=True),
             Case("the study's gamma = 0.95", {"length": 30, "gamma": 0.95})]
    for _ in range(5):
        cases.append(Case("a random episode", {"length": int(rng.integers(2, 60)),
                                               "gamma": float(rng.uniform(0.5, 0.999))}))
    return cases


register(Exercise(
    id="fall_returns", chapter=1, title="The return to come before a fall",
    question=(
        "Under the study's reward, an episode that ends in a fall has the rewards "
        "0, 0, ..., 0, -1. Return the discounted return to come $G_t$ of every step, "
        "from a formula rather than by summing: the right-hand panel of the figure above."),
    reference=fall_returns, cases=_fall_cases, dtype="float64",
    hint="the last step's return is its own reward, -1; one step earlier it is -gamma.",
    fact=("A fall k steps ahead weighs gamma^k: with gamma = 0.95 the return is -0.5 about 13.5 "
          "steps before the fall and above -0.01 beyond 90 steps, so the critic learns how close "
          "a fall is."),
    variants=(
        Variant("exponent_one_too_large",
                lambda length, gamma: -(float(gamma) ** np.arange(length, 0, -1, dtype=np.float64)),
                "Your exponents are one too large: the falling step's return is its own reward, "
                "-1 = -gamma^0, not -gamma.",
                "after step t there are length - 1 - t steps to the fall.", kind="off-by-one"),
        Variant("reversed_in_time",
                lambda length, gamma: -(float(gamma) ** np.arange(length, dtype=np.float64)),
                "Your returns run backwards in time: the return is -1 at the falling step (the "
                "end) and fades towards the start of the episode, not the other way round.",
                "count the steps left until the fall, not the steps since the start.", kind="reversed"),
        Variant("positive",
                lambda length, gamma: float(gamma) ** np.arange(length - 1, -1, -1, dtype=np.float64),
                "Your returns are positive, but every reward is 0 or -1: the return to come of a "
                "falling episode is negative.",
                "the sign: G_t = -gamma^(steps until the fall).", kind="sign"),
        Variant("undiscounted", lambda length, gamma: np.full(length, -1.0),
                "You gave every step the episode's undiscounted return, -1: with the discount, "
                "earlier steps feel the fall less.",
                "weigh the -1 by gamma to the power of the steps between t and the fall.",
                kind="discount ignored"),
    ),
))


# ------------------------------------------------------------------------------------------------
# 1.3 Where the half-cheetah went
# ------------------------------------------------------------------------------------------------

def torso_positions(rewards, actions, dt, cost_weight=0.1):
    """The half-cheetah torso's forward displacement after each step, from rewards and actions.

    The reward is r_t = (x_{t+1} - x_t) / dt - cost_weight * sum_j a_{t,j}^2.
    rewards: shape (T,); actions: shape (T, 6); dt: the time step in seconds.
    Returns x_{t+1} - x_0 for t = 0 .. T-1, a float64 array of shape (T,).
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    effort = cost_weight * np.sum(np.asarray(actions, dtype=np.float64) ** 2, axis=1)
    return dt * np.cumsum(rewards + effort)   # velocity x dt, added up step by step


def _cheetah_cases(rng):
    def episode(steps, label, edge=False):
        actions = np.clip(rng.normal(size=(steps, 6)), -1, 1)
        return Case(label, {"rewards": rng.normal(0.2, 1.0, steps), "actions": actions,
                            "dt": 0.0165}, edge=edge)
    cases = [episode(1, "an episode of one step", edge=True),
             episode(6, "six steps (as many as joints)", edge=True)]
    cases += [episode(int(rng.integers(2, 80)), "a random episode") for _ in range(5)]
    cases.append(Case("no torque at all", {"rewards": rng.normal(size=10), "actions": np.zeros((10, 6)),
                                          "dt": 0.05}, edge=True))
    return cases


register(Exercise(
    id="torso_positions", chapter=1, title="Where the half-cheetah went",
    question=(
        "The half-cheetah's reward is its forward velocity minus an effort cost, "
        "$r_t = (x_{t+1} - x_t)/\\Delta t - 0.1 \\sum_j a_{t,j}^2$. Recover the torso's forward "
        "displacement after every step from the rewards and actions alone, as the figure "
        "above does."),
    reference=torso_positions, cases=_cheetah_cases, dtype="float64",
    hint="add the effort cost of each step back to its reward, multiply by dt, and add up "
         "(np.cumsum).",
    fact=("The reward is a velocity, so the sum of (reward + effort) times dt is a distance: a "
          "random cheetah stays within about a metre of its start in 8 simulated seconds."),
    variants=(
        Variant("effort_of_whole_episode",
                lambda rewards, actions, dt, cost_weight=0.1: dt * np.cumsum(
                    np.asarray(rewards, np.float64) + cost_weight * np.sum(np.asarray(actions) ** 2)),
                "You added the effort of the whole episode to every step: np.sum without an "
                "axis sums over the steps too.",
                "each step has its own cost, cost_weight * sum over its 6 joints: "
                "np.sum(actions**2, axis=1).", kind="axis"),
        Variant("effort_subtracted",
                lambda rewards, actions, dt, cost_weight=0.1: dt * np.cumsum(
                    np.asarray(rewards, np.float64) - cost_weight * np.sum(np.asarray(actions) ** 2, axis=1)),
                "You subtracted the effort cost a second time: the reward already has it taken "
                "off, so it must be added back to leave the velocity.",
                "velocity = reward + cost_weight * sum_j a_j^2.", kind="sign"),
        Variant("no_time_step",
                lambda rewards, actions, dt, cost_weight=0.1: np.cumsum(
                    np.asarray(rewards, np.float64) + cost_weight * np.sum(np.asarray(actions) ** 2, axis=1)),
                "Your positions are sums of velocities: a velocity (m/s) becomes a distance (m) "
                "only when multiplied by the time step.",
                "multiply by dt (0.0165 s on pybullet).", kind="units"),
        Variant("one_step_late",
                lambda rewards, actions, dt, cost_weight=0.1: np.concatenate([[0.0], dt * np.cumsum(
                    np.asarray(rewards, np.float64) + cost_weight * np.sum(np.asarray(actions) ** 2, axis=1))[:-1]]),
                "Your positions are one step late: entry t must be x_{t+1} - x_0, the "
                "displacement after step t, so the first entry is already dt * (r_0 + cost_0), "
                "not 0.",
                "np.cumsum already includes step t in entry t; no leading 0.", kind="off-by-one"),
        Variant("no_running_total",
                lambda rewards, actions, dt, cost_weight=0.1: dt * (
                    np.asarray(rewards, np.float64) + cost_weight * np.sum(np.asarray(actions) ** 2, axis=1)),
                "You return the displacement of each single step, not the running total since "
                "the start.",
                "add the steps up with np.cumsum.", kind="missing sum"),
    ),
))
