"""The exercises and their checker: every reference passes, every known mistake is named.

Besides the catalogue (each wrong variant must be recognised as itself, with its own message),
the checker's other answers are exercised with hand-written student functions: an exception
(with its input and line), a wrong shape, a wrong dtype, None, inf, a plain mismatch, a stub.
The references are also compared with the package's own implementations where one exists.
"""

import json
import linecache
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from course_rl import exercises
from course_rl.exercises import EXERCISES, by_chapter, check, diagnose, get
from course_rl.exercises import core

ROOT = Path(__file__).resolve().parents[1]
ALL = list(EXERCISES.values())
VARIANTS = [(e.id, v.id) for e in ALL for v in e.variants]


def define(source, name, filename="<student cell>"):
    """Define a function from source, as a notebook cell would (its lines readable by linecache)."""
    source = textwrap.dedent(source).lstrip("\n")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


# ---- the registry ---------------------------------------------------------------------------

def test_enough_exercises_in_every_chapter():
    assert len(ALL) >= 16
    for chapter, least in {1: 3, 2: 3, 3: 3, 4: 3, 5: 1, 6: 3}.items():
        assert len(by_chapter(chapter)) >= least, f"chapter {chapter}"
    for exercise in ALL:
        assert exercise.variants, f"{exercise.id}: no diagnosed mistake beyond a plain mismatch"
        assert exercise.number.startswith(f"{exercise.chapter}.")


def test_at_least_six_of_the_study_defects_are_diagnosed():
    defects = {v.defect for e in ALL for v in e.variants if v.defect}
    assert len(defects) >= 6, defects
    for number in (1, 2, 3, 4, 6, 8):
        assert any(d.startswith(f"defect {number}:") for d in defects), number
    assert any("terminal" in d for d in defects)


def test_unknown_exercise_is_a_one_line_error():
    with pytest.raises(ValueError, match="no exercise 'nope'.*discounted_returns"):
        get("nope")


# ---- references, stubs and solutions ----------------------------------------------------------

@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_reference_passes_its_check(exercise_id):
    feedback = diagnose(get(exercise_id).reference)
    assert feedback.passed, feedback.message
    assert feedback.message.startswith(f"{get(exercise_id).name}: correct.")


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_unmodified_stub_is_not_attempted_yet(exercise_id):
    exercise = get(exercise_id)
    stub = define(exercise.stub, exercise_id)          # the cell runs without error
    feedback = diagnose(stub)
    assert feedback.kind == "not attempted", feedback.message
    assert "not attempted yet" in feedback.message


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_solution_cell_is_self_contained_and_passes(exercise_id):
    exercise = get(exercise_id)
    solution = define(exercise.solution, f"{exercise_id}_solution")
    assert diagnose(solution).passed                    # found by its name, "_solution" stripped
    assert exercise.stub.splitlines()[0] == exercise.solution.splitlines()[0].replace("_solution(", "(")


# ---- the catalogue of mistakes ----------------------------------------------------------------

@pytest.mark.parametrize("exercise_id, variant_id", VARIANTS, ids=[f"{e}-{v}" for e, v in VARIANTS])
def test_each_known_mistake_is_named(exercise_id, variant_id):
    exercise = get(exercise_id)
    variant = next(v for v in exercise.variants if v.id == variant_id)
    feedback = diagnose(variant.wrong, exercise_id)
    assert (feedback.kind, feedback.mistake) == ("mistake", variant_id), feedback.message
    assert variant.diagnosis in feedback.message and f"Hint: {variant.hint}" in feedback.message


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_every_mistake_has_its_own_message(exercise_id):
    exercise = get(exercise_id)
    diagnoses = [v.diagnosis for v in exercise.variants]
    assert len(set(diagnoses)) == len(diagnoses)
    for variant in exercise.variants:
        assert variant.kind and variant.hint and variant.diagnosis.endswith((".", ")"))


# ---- hand-written students ------------------------------------------------------------------

def test_exception_names_the_input_and_the_line():
    student = define("""
        def gae_advantages(rewards, values, gamma, lam, final_value):
            advantages = np.zeros(len(rewards))
            running = 0.0
            for t in reversed(range(len(rewards))):
                delta = rewards[t] + gamma * values[t + 1] - values[t]
                running = delta + gamma * lam * running
                advantages[t] = running
            return advantages
        """, "gae_advantages", filename="/tmp/ipykernel_1/3852.py")
    feedback = diagnose(student)
    assert feedback.kind == "exception"
    message = feedback.message
    assert "raised IndexError" in message and feedback.case in message
    assert "rewards = [" in message                              # the input's values
    assert "line 5 of your code: delta = rewards[t] + gamma * values[t + 1] - values[t]" in message
    assert "3852.py" not in message                              # a notebook cell, not a file
    assert "final_value" in message.split("Hint:")[1]            # the exercise's own hint


def test_exception_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "my_answers.py"
    path.write_text("import numpy as np\n\ndef half_life(gamma):\n    return np.log(0.5) / np.log(gamma) / undefined\n")
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    message = diagnose(namespace["half_life"]).message
    assert "NameError" in message and "line 4 of your code (my_answers.py)" in message
    assert "not defined" in message.split("Hint:")[1]


def test_a_wrong_signature_is_explained():
    feedback = diagnose(lambda rewards: rewards, "discounted_returns")
    assert feedback.kind == "exception"
    assert "discounted_returns(rewards, gamma)" in feedback.message


def test_wrong_shape_has_its_own_message():
    student = define("""
        def fall_returns(length, gamma):
            return -gamma ** np.arange(length, -1, -1.0)     # one step too many
        """, "fall_returns")
    feedback = diagnose(student)
    assert feedback.kind == "shape", feedback.message
    assert "has shape (2,), where shape (1,) is expected" in feedback.message


def test_an_array_where_a_number_is_expected():
    feedback = diagnose(lambda gamma: np.array([np.log(0.5) / np.log(gamma)]), "half_life")
    assert feedback.kind == "shape"
    assert "a single number (shape ())" in feedback.message and "float(x)" in feedback.message


def test_wrong_dtype_has_its_own_message():
    student = define("""
        def fall_returns(length, gamma):
            return -(np.float32(gamma) ** np.arange(length - 1, -1, -1, dtype=np.float32))
        """, "fall_returns")
    feedback = diagnose(student)
    assert feedback.kind == "dtype", feedback.message
    assert "float64 values are expected, yours are float32" in feedback.message


def test_integers_where_floats_are_expected():
    feedback = diagnose(lambda gamma: int(np.log(0.5) / np.log(gamma)), "half_life")
    assert feedback.kind == "dtype" and "integers" in feedback.message


def test_a_tuple_of_the_wrong_length():
    feedback = diagnose(lambda a, b: 0.5, "welch_test")
    assert feedback.kind == "shape"
    assert "should return 3 values, (difference, t, p)" in feedback.message


def test_a_forgotten_return():
    student = define("""
        def refresh_noise(noise, persistence, coins, fresh):
            redraw = coins >= persistence
            noise[redraw] = fresh[redraw]
        """, "refresh_noise")
    feedback = diagnose(student)
    assert feedback.kind == "none" and "forget a `return`" in feedback.message


def test_inputs_changed_in_place_do_not_disturb_the_check():
    student = define("""
        def refresh_noise(noise, persistence, coins, fresh):
            redraw = coins >= persistence
            noise[redraw] = fresh[redraw]
            coins[:] = -1.0
            return noise
        """, "refresh_noise")
    assert diagnose(student).passed


def test_inf_where_the_reference_is_finite():
    student = define("""
        def torso_positions(rewards, actions, dt, cost_weight=0.1):
            positions = dt * np.cumsum(rewards + cost_weight * np.sum(actions**2, axis=1))
            return positions / np.abs(actions).sum()        # no torque: 0 / 0
        """, "torso_positions")
    feedback = diagnose(student)
    assert feedback.kind == "nonfinite" and "inf or nan" in feedback.message


def test_an_unknown_mistake_shows_the_input_and_both_answers():
    feedback = diagnose(lambda rewards, gamma: np.asarray(rewards, float) * 2.0, "discounted_returns")
    assert feedback.kind == "mismatch"
    assert feedback.case == "an episode of one step"                 # the smallest input
    assert "rewards = [2], gamma = 0.95" in feedback.message
    assert "expected [2], got [4]" in feedback.message
    reference = get("discounted_returns").reference
    long = diagnose(lambda rewards, gamma: reference(rewards, gamma) + (len(rewards) > 8)
                    * (np.arange(len(rewards)) == 3), "discounted_returns")
    assert "1 of the 10 values differ, the first at index 3: expected" in long.message
    assert "discounted_returns(**last_input())" in long.message
    assert len(exercises.last_input()["rewards"]) == 10


def test_a_function_with_another_name():
    def my_half_life(gamma):
        return np.log(0.5) / np.log(gamma)
    assert diagnose(my_half_life).kind == "unknown exercise"
    assert "check(my_half_life, \"discounted_returns\")" in diagnose(my_half_life).message
    assert diagnose(my_half_life, "half_life").passed
    assert diagnose(my_half_life, "nope").kind == "unknown exercise"
    assert "without calling it" in diagnose(0.5).message


def test_a_slow_function_is_stopped(monkeypatch):
    monkeypatch.setattr(core, "SECONDS_PER_CALL", 0.2)

    def half_life(gamma):
        while True:
            pass
    started = time.perf_counter()
    feedback = diagnose(half_life)
    assert time.perf_counter() - started < 5
    assert feedback.kind == "exception" and "took more than 0.2 s" in feedback.message


def test_check_prints_the_message(capsys):
    check(get("cartpole_reward").reference)
    printed = capsys.readouterr().out
    assert printed.startswith("Exercise 1.1 (cartpole_reward): correct.")


# Mistakes as students write them (not the catalogue's own functions)

def test_a_double_loop_is_correct_with_a_remark():
    student = define("""
        def discounted_returns(rewards, gamma):
            returns = np.zeros(len(rewards))
            for t in range(len(rewards)):
                for i in range(len(rewards) - t):
                    returns[t] += gamma**i * rewards[t + i]
            return returns
        """, "discounted_returns")
    feedback = diagnose(student)
    assert feedback.passed and "loop inside a loop" in feedback.message


def test_a_single_backward_loop_is_correct_without_remark():
    student = define("""
        def discounted_returns(rewards, gamma):
            returns, running = np.zeros(len(rewards)), 0.0
            for t in reversed(range(len(rewards))):
                running = rewards[t] + gamma * running
                returns[t] = running
            return returns
        """, "discounted_returns")
    feedback = diagnose(student)
    assert feedback.passed and "remark" not in feedback.message


@pytest.mark.parametrize("source, mistake", [
    ("""
    def mixture_weights(logits):
        e = np.exp(np.asarray(logits, dtype=np.float64))
        return e / e.sum(axis=-1, keepdims=True)
    """, "unshifted"),
    ("""
    def mode_spreads(raw_spread, action_dim, floor=1e-4):
        return (1 / (1 + np.exp(raw_spread)) / action_dim + floor).astype(np.float32)
    """, "sigmoid_of_minus_s"),
    ("""
    def n_step_targets(rewards, values, n, gamma):
        T = len(rewards)
        out = np.zeros(T)
        for t in range(T):
            out[t] = sum(gamma**i * rewards[t + i] for i in range(min(n, T - t)))
            if t + n < T:
                out[t] += gamma**n * values[t]
        return out
    """, "bootstraps_from_s_t"),
    ("""
    def select_actions(weights, means, stds, mode_noise, gauss_noise, temp):
        mode = np.minimum((mode_noise[..., None] >= np.cumsum(weights, -1)).sum(-1), weights.shape[-1] - 1)
        pick = lambda x: np.take_along_axis(x, mode[..., None], -1)[..., 0]
        return pick(means) + temp * pick(stds) * gauss_noise
    """, "greedy_still_samples_the_mode"),
    ("""
    def gae_advantages(rewards, values, gamma, lam, final_value):
        values = np.append(values, 0.0)
        deltas = rewards + gamma * values[1:] - values[:-1]
        out, running = np.zeros(len(rewards)), 0.0
        for t in reversed(range(len(rewards))):
            running = deltas[t] + gamma * lam * running
            out[t] = running
        return out
    """, "time_limit_treated_as_the_end"),
    ("""
    def cartpole_reward(terminated, truncated):
        if terminated and not truncated:
            return -1.0
        return 0.0
    """, "original_last_step"),
    ("""
    def welch_test(a, b):
        from scipy import stats
        t, p = stats.ttest_ind(a, b)
        return np.mean(a) - np.mean(b), t, p
    """, "student_t_test"),
    ("""
    def frames_to_unit(frames):
        return frames / 255
    """, "float64"),
    ("""
    def negative_elbo(frames, logits, mean, log_var):
        p = 1 / (1 + np.exp(-logits))
        bce = -(frames * np.log(p) + (1 - frames) * np.log(1 - p))
        kl = 0.5 * np.sum(np.exp(log_var) + mean**2 - 1 - log_var, axis=1)
        return bce.sum(axis=(1, 2, 3)) + kl
    """, "naive_cross_entropy"),
])
def test_hand_written_mistakes_are_named(source, mistake):
    name = textwrap.dedent(source).split("def ", 1)[1].split("(", 1)[0]
    feedback = diagnose(define(source, name))
    assert feedback.mistake == mistake, feedback.message


def test_a_ratio_of_python_exps_raises_with_a_hint():
    student = define("""
        import math
        def ppo_objective(log_p, old_log_p, advantage, clip=0.2):
            ratio = math.exp(log_p) / math.exp(old_log_p)
            return min(ratio * advantage, max(1 - clip, min(ratio, 1 + clip)) * advantage)
        """, "ppo_objective")
    feedback = diagnose(student)
    assert feedback.kind == "exception" and "ZeroDivisionError" in feedback.message
    assert "exp(log_p - old_log_p)" in feedback.message.split("Hint:")[1]


def test_the_checker_imports_no_tensorflow():
    code = "import sys, course_rl.exercises; assert 'tensorflow' not in sys.modules, 'tensorflow imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


# ---- the references against the package ---------------------------------------------------------

def test_returns_references_match_the_package():
    from course_rl import returns
    rng = np.random.default_rng(3)
    rewards, values = rng.normal(size=40), rng.normal(size=40)
    for gamma in (0.0, 0.5, 0.95, 1.0):
        np.testing.assert_allclose(get("discounted_returns").reference(rewards, gamma),
                                   returns.discounted_returns(rewards, gamma), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(get("fall_returns").reference(40, gamma),
                                   returns.discounted_returns(np.r_[np.zeros(39), -1.0], gamma), atol=1e-12)
        for n in (1, 3, 39, 40, 55):
            np.testing.assert_allclose(get("n_step_targets").reference(rewards, values, n, gamma),
                                       returns.n_step_targets(rewards, gamma, n, values), atol=1e-10)
        for lam in (0.0, 0.95, 1.0):
            for final in (0.0, 2.5):
                np.testing.assert_allclose(
                    get("gae_advantages").reference(rewards, values, gamma, lam, final),
                    returns.gae_advantages(rewards, values, gamma, lam, final), atol=1e-10)
    for gamma in (0.5, 0.95, 0.99):
        assert get("half_life").reference(gamma) == pytest.approx(returns.half_life(gamma))


def test_policy_references_match_the_package():
    from course_rl import policy
    rng = np.random.default_rng(4)
    outputs = 3 * rng.normal(size=(50, 2, 3, 3))
    outputs[0, 0, :, 0] = [100.0, 0.0, -3.0]
    weights, means, stds = policy.mixture_params(outputs, action_dim=2)
    np.testing.assert_allclose(get("mixture_weights").reference(outputs[..., 0]), weights, rtol=1e-12)
    np.testing.assert_allclose(get("mode_spreads").reference(outputs[..., 2], 2), stds, rtol=1e-12)

    sampler = policy.MixturePolicySampler(50, (2,), 3, persistence=0.5, rng=rng)
    for temp in (1.0, 0.3, 0.0):
        ours = get("select_actions").reference(weights, means, stds, sampler.mode_noise,
                                               sampler.gauss_noise, temp)
        np.testing.assert_allclose(ours, sampler.select(outputs, temp=temp), rtol=1e-6, atol=1e-6)

    noise, coins, fresh = rng.normal(size=(200, 2)), rng.random(200), rng.normal(size=(200, 2))
    kept = get("refresh_noise").reference(noise, 0.7, coins, fresh)
    assert np.array_equal(kept[coins < 0.7], noise[coins < 0.7])
    assert np.array_equal(kept[coins >= 0.7], fresh[coins >= 0.7])


def test_log_density_and_entropy_match_the_tensorflow_versions():
    from course_rl import policy
    rng = np.random.default_rng(5)
    outputs = (2 * rng.normal(size=(30, 3, 2, 3))).astype(np.float32)
    actions = rng.uniform(-1, 1, (30, 3)).astype(np.float32)
    weights, means, stds = policy.mixture_params(outputs, action_dim=3)
    ours = get("mixture_log_density").reference(actions, weights, means, stds)
    theirs = policy.log_prob(outputs, actions, 3).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    bound = get("entropy_upper_bound").reference(weights, stds)
    np.testing.assert_allclose(bound, policy.entropy_upper_bound(outputs, 3).numpy(), rtol=1e-4, atol=1e-4)
    # and the log-density against a Monte-Carlo-free brute force: the density itself
    density = np.prod(policy.mixture_density(actions, outputs, 3), axis=-1)
    representable = density > 1e-300          # elsewhere log(density) is -inf, ours is not
    assert 0 < representable.sum() < len(density) and np.isfinite(ours).all()
    np.testing.assert_allclose(ours[representable], np.log(density[representable]), rtol=1e-6)


def test_loss_references_match_their_definitions():
    rng = np.random.default_rng(6)
    log_p, returns, values = rng.normal(size=8), rng.normal(size=8), rng.normal(size=8)
    loss, d_log_p, d_values = get("policy_loss").call(get("policy_loss").reference,
                                                      {"log_p": log_p, "returns": returns, "values": values})
    assert loss == pytest.approx(-np.sum(log_p * (returns - values)), rel=1e-5)
    np.testing.assert_allclose(d_log_p, -(returns - values), rtol=1e-5)
    assert not d_values.any()

    ppo = get("ppo_objective").reference
    for _ in range(200):   # Spinning Up's form: min(r, 1 + eps) A for A >= 0, max(r, 1 - eps) A below
        log_p, old, advantage = rng.uniform(-3, 0), rng.uniform(-3, 0), rng.normal()
        r = np.exp(log_p - old)
        expected = min(r, 1.2) * advantage if advantage >= 0 else max(r, 0.8) * advantage
        assert ppo(log_p, old, advantage) == pytest.approx(expected, rel=1e-12)


def test_statistics_references_match_the_package():
    from course_rl import stats
    rng = np.random.default_rng(7)
    a, b = rng.normal(800, 200, 20), rng.normal(600, 250, 13)
    comparison = stats.compare(a, b)
    difference, t, p = get("welch_test").reference(a, b)
    assert (difference, t, p) == pytest.approx((comparison.difference, comparison.welch_t, comparison.welch_p))
    description = stats.describe(a)
    assert get("mean_interval").reference(a) == pytest.approx((description.ci_low, description.ci_high))


def test_cartpole_reward_matches_the_wrapper():
    import gymnasium as gym
    from course_rl import tasks

    class Flags(gym.Env):
        observation_space = gym.spaces.Box(-1, 1, (1,))
        action_space = gym.spaces.Box(-1, 1, (1,))

        def __init__(self, flags):
            self.flags = flags

        def step(self, action):
            return np.zeros(1, np.float32), 1.0, *self.flags, {}

    for flags in ((False, False), (False, True), (True, False), (True, True)):
        reward = tasks.FallPenaltyReward(Flags(flags)).step(np.zeros(1))[1]
        assert get("cartpole_reward").reference(*flags) == reward


def test_vision_references_match_the_package():
    from course_rl import vae
    rng = np.random.default_rng(8)
    mean, log_var, noise = rng.normal(size=(4, 8)), rng.normal(-3, 1, (4, 8)), rng.normal(size=(4, 8))
    np.testing.assert_allclose(get("reparameterize").reference(mean, log_var, noise),
                               vae.latent_sample(mean, log_var, noise), rtol=1e-5)
    frames = rng.integers(0, 256, (2, 96, 96, 3), dtype=np.uint8)
    unit = get("frames_to_unit").reference(frames)
    assert unit.dtype == np.float32 and unit.max() <= 1 and np.array_equal(unit * 255, frames)

    x = rng.random((3, 6, 6, 3)).astype(np.float32)
    logits = (3 * rng.normal(size=(3, 6, 6, 3))).astype(np.float32)
    mean, log_var = mean[:3].astype(np.float32), log_var[:3].astype(np.float32)
    reconstruction, kl, _ = (t.numpy() for t in vae.VAE.loss_terms(x, logits, mean, log_var))
    xc = np.clip(x.astype(np.float64), 1e-7, 1 - 1e-7)
    entropy = -(xc * np.log(xc) + (1 - xc) * np.log(1 - xc)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(get("negative_elbo").reference(x, logits, mean, log_var),
                               reconstruction + entropy + kl, rtol=1e-4)


def test_torso_positions_against_a_loop():
    rng = np.random.default_rng(9)
    rewards, actions = rng.normal(size=30), rng.uniform(-1, 1, (30, 6))
    x, expected = 0.0, []
    for r, a in zip(rewards, actions):
        x += 0.0165 * (r + 0.1 * sum(a_j**2 for a_j in a))
        expected.append(x)
    np.testing.assert_allclose(get("torso_positions").reference(rewards, actions, 0.0165), expected)


# ---- the notebooks and the registry -------------------------------------------------------------

ROLES = ["question", "stub", "check", "solution"]


@pytest.mark.parametrize("chapter", range(1, 7))
def test_notebook_exercises_agree_with_the_registry(chapter):
    path = next((ROOT / "notebooks").glob(f"0{chapter}_*.ipynb"))
    cells = json.loads(path.read_text())["cells"]
    found = [(c["metadata"]["course_rl"], "".join(c["source"])) for c in cells
             if "exercise" in c.get("metadata", {}).get("course_rl", {})]
    ids = list(dict.fromkeys(meta["exercise"] for meta, _ in found))
    assert ids == [e.id for e in by_chapter(chapter)], f"{path.name}: exercises {ids}"
    for exercise in by_chapter(chapter):
        mine = [(meta["role"], source) for meta, source in found if meta["exercise"] == exercise.id]
        assert [role for role, _ in mine] == ROLES, f"{exercise.id}: cells {mine}"
        sources = dict(mine)
        assert f"Exercise {exercise.number}" in sources["question"]
        assert sources["stub"].strip() == exercise.stub.strip()
        assert f"check({exercise.id})" in sources["check"]
        assert exercise.solution.strip() in sources["solution"]
    solutions = [c for c in cells if c.get("metadata", {}).get("course_rl", {}).get("role") == "solution"]
    assert all(c["metadata"]["jupyter"]["source_hidden"] for c in solutions)
