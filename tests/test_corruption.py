"""Random damage to each file of a run: a correct load, or one clear error naming the file;
never a traceback, never a silent wrong load (issue 23, item 4 and the npz tracebacks).

Damage: flipped bytes, a truncation, a zeroed block, at random places (seeded). A load is
correct when it gives exactly the undamaged run's arrays, config or actions (a zeroed block
over zeros changes nothing). A damaged checkpoint is either restored exactly or ignored with
a warning naming it, leaving the objects as they were (the run then starts from cycle 0).
"""

import shutil
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from course_rl import results, video
from course_rl.agent import Agent
from course_rl.training import Checkpoint, Interrupted, Recorder, stop_after, train

from test_faults import TINY, assert_same_run

DAMAGES_PER_KIND = 40  # x 3 kinds x each file type
RUN_FILES = (results.CONFIG_FILE, results.TRACE_FILE, results.WEIGHTS_FILE,
             results.NORMALIZER_FILE, results.MANIFEST_FILE)


def _zero_block(data: bytearray, rng) -> bytearray:
    at, n = int(rng.integers(len(data))), int(rng.integers(1, 257))
    end = min(len(data), at + n)
    data[at:end] = b"\0" * (end - at)
    return data


def damage(file: Path, kind: str, rng: np.random.Generator) -> None:
    data = bytearray(file.read_bytes())
    if kind == "flip":
        for at in rng.integers(len(data), size=int(rng.integers(1, 9))):
            data[at] ^= int(rng.integers(1, 256))
    elif kind == "truncate":
        data = data[:int(rng.integers(len(data)))]
    else:
        data = _zero_block(data, rng)
    file.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished run (with a normaliser) in <root>/tiny/pybullet/seed-0, its policy's greedy
    actions on fixed observations, and an interrupted run's folder with a checkpoint."""
    root = tmp_path_factory.mktemp("corruption")
    folder = root / "tiny" / "pybullet" / "seed-0"
    train(TINY, seed=1, out=folder, progress=False)
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    actions = video.load_policy(folder)(obs, temp=0.0)
    cut = root / "cut"
    with pytest.raises(Interrupted):
        train(TINY, seed=1, out=cut, progress=False, callback=stop_after(1))
    return folder, obs, actions, cut


def _loads_of(name: str):
    """The loaders that read a file of ``name``."""
    if name in (results.WEIGHTS_FILE, results.NORMALIZER_FILE):
        return ("policy",)
    return ("trace", "policy") if name != results.TRACE_FILE else ("trace",)


def test_damaged_run_files_are_named_or_load_correctly(run, tmp_path):
    folder, obs, actions, _ = run
    reference = results.load_trace(folder)
    counts = {name: Counter() for name in RUN_FILES}
    for name in RUN_FILES:
        for kind in ("flip", "truncate", "zero"):
            for seed in range(DAMAGES_PER_KIND):
                case = tmp_path / "case"
                shutil.rmtree(case, ignore_errors=True)
                shutil.copytree(folder, case)
                damage(case / name, kind, np.random.default_rng([seed, len(kind), len(name)]))
                changed = (case / name).read_bytes() != (folder / name).read_bytes()
                for load in _loads_of(name):
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            if load == "trace":
                                got = results.load_trace(case)
                                same = got.config == reference.config and all(
                                    np.array_equal(got[k], reference[k]) for k in reference.arrays)
                            else:
                                same = np.array_equal(video.load_policy(case)(obs, temp=0.0), actions)
                    except (ValueError, NotImplementedError) as err:
                        message = str(err)
                        assert name in message and "\n" not in message, (name, kind, seed, message)
                        counts[name]["caught"] += 1
                        continue
                    # no error: only a load of exactly the undamaged run is allowed
                    assert same, f"{name} {kind} seed {seed}: silently wrong {load} load"
                    assert not changed or name == results.MANIFEST_FILE, (name, kind, seed)
                    counts[name]["unchanged, loaded correctly"] += 1
    print("\ndamaged run files:", {n: dict(c) for n, c in counts.items()})
    for name in RUN_FILES:
        assert counts[name]["caught"] >= DAMAGES_PER_KIND * 2, (name, counts[name])


def test_a_damaged_checkpoint_is_restored_exactly_or_ignored(run, tmp_path):
    _, _, _, cut = run
    agent = Agent(TINY, (4,), (1,), seed=1)
    pristine = agent.get_state()
    good_agent = Agent(TINY, (4,), (1,), seed=1)
    good_cycle = Checkpoint(cut, TINY, "pybullet", good_agent, good_agent.make_sampler(2),
                            np.random.default_rng(0), Recorder()).restore()
    assert good_cycle == 1
    good = good_agent.get_state()
    counts = Counter()
    for kind in ("flip", "truncate", "zero"):
        for seed in range(3 * DAMAGES_PER_KIND):
            case = tmp_path / "ckpt"
            shutil.rmtree(case, ignore_errors=True)
            shutil.copytree(cut, case)
            damage(case / results.CHECKPOINT_FILE, kind, np.random.default_rng([seed, len(kind)]))
            agent.set_state(pristine)
            record = Recorder()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cycle = Checkpoint(case, TINY, "pybullet", agent, agent.make_sampler(2),
                                   np.random.default_rng(0), record).restore()
            state = agent.get_state()
            if cycle == 0:
                assert [str(w.message) for w in caught if results.CHECKPOINT_FILE in str(w.message)]
                assert all(np.array_equal(state[k], pristine[k]) for k in pristine), (kind, seed)
                assert record.value_rmse == [] and record.best_policy is None
                counts["ignored with a warning"] += 1
            else:
                assert cycle == good_cycle and not caught
                assert all(np.array_equal(state[k], good[k]) for k in good), (kind, seed)
                counts["restored exactly"] += 1
    print("\ndamaged checkpoints:", dict(counts))
    assert counts["ignored with a warning"] >= 2 * DAMAGES_PER_KIND


def test_a_run_with_a_damaged_checkpoint_starts_again_to_the_same_run(run, tmp_path):
    folder, _, _, cut = run
    case = tmp_path / "restart"
    shutil.copytree(cut, case)
    data = (case / results.CHECKPOINT_FILE).read_bytes()
    (case / results.CHECKPOINT_FILE).write_bytes(data[:len(data) // 2])
    with pytest.warns(UserWarning, match="checkpoint.npz is corrupt or truncated.*ignored"):
        train(TINY, seed=1, out=case, progress=False)
    assert_same_run(case, folder)


def test_a_checkpoint_missing_a_key_is_ignored_with_a_warning(run, tmp_path):
    folder, _, _, cut = run
    case = tmp_path / "keyless"
    shutil.copytree(cut, case)
    state = results.load_checkpoint(case)
    del state["rng/env"]
    results.save_checkpoint(case, state)
    with pytest.warns(UserWarning, match="checkpoint.npz lacks rng/env.*ignored"):
        train(TINY, seed=1, out=case, progress=False)
    assert_same_run(case, folder)
