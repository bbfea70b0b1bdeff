"""Refactoring guard: short fixed-seed runs give exactly the arrays recorded before it.

The digests come from ``tests/pinned_runs.py`` (run on the code before the architecture
rework); a change that is *meant* to change training regenerates them and says so. Each case
runs in a child process on a named OpenBLAS kernel, the one thing besides the code that moves
the last bits (see ``pinned_runs``).
"""

import json

import pytest

import pinned_runs


@pytest.mark.parametrize("label", [c[0] for c in pinned_runs.CASES])
def test_short_runs_are_unchanged(label):
    pins = json.loads(pinned_runs.DATA.read_text())
    kernel = next((k for k in pinned_runs.kernels_here() if k in pins), None)
    if kernel is None:
        pytest.skip(f"digests are pinned for the OpenBLAS kernels {sorted(pins)}, "
                    f"which this CPU cannot run")
    want = pins[kernel][label]
    got = pinned_runs.digests_in_child(label, kernel)
    assert sorted(got) == sorted(want)
    changed = [k for k in want if got[k] != want[k]]
    assert not changed, f"{label} (OpenBLAS {kernel}): these arrays changed: {changed}"
