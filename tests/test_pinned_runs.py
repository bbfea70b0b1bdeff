"""Refactoring guard: short fixed-seed runs give exactly the arrays recorded before it.

The digests come from ``tests/pinned_runs.py`` (run on the code before the architecture
rework); a change that is *meant* to change training regenerates them and says so.
"""

import json

import pytest

import pinned_runs


@pytest.mark.parametrize("label, experiment, backend, changes", pinned_runs.CASES,
                         ids=[c[0] for c in pinned_runs.CASES])
def test_short_runs_are_unchanged(label, experiment, backend, changes):
    want = json.loads(pinned_runs.DATA.read_text())[label]
    got = {k: pinned_runs.digest(v)
           for k, v in pinned_runs.run_case(experiment, backend, changes).items()}
    assert sorted(got) == sorted(want)
    changed = [k for k in want if got[k] != want[k]]
    assert not changed, f"{label}: these arrays changed: {changed}"
