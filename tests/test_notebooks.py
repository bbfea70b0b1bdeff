"""The stored notebooks: executed in order without errors, small, with working Colab badges."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
BADGE = re.compile(r"colab\.research\.google\.com/github/course-rl/course_rl/blob/main/(notebooks/[\w.-]+\.ipynb)")
SETUP_MARK = '"google.colab" in sys.modules'


def cells(path):
    return json.loads(path.read_text())["cells"]


def test_there_are_six_chapters():
    names = [p.name for p in NOTEBOOKS]
    for prefix in ("01_", "02_", "03_", "04_", "05_", "06_"):
        assert any(n.startswith(prefix) for n in names), f"chapter {prefix} missing: {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_a_clean_run_in_order(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in code]
    assert all(n is not None for n in counts), f"{path.name}: unexecuted cells"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), f"{path.name}: out of order {counts}"
    for c in code:
        for out in c.get("outputs", []):
            assert out["output_type"] != "error", f"{path.name}: stored error {out.get('ename')}"
    assert path.stat().st_size < 3_000_000, f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"


MACHINE_PATH = re.compile(r"(/tmp/ipykernel|/home/\w|/work/|/Users/\w|[A-Z]:\\\\Users|site-packages/)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_name_no_machine_path(path):
    """Warnings in a kernel print one line without their file (course_rl.widgets), so no stored
    output names a temporary cell file, a home folder or where the package is installed."""
    for i, c in enumerate(cells(path)):
        for out in c.get("outputs", []):
            text = "".join(out.get("text", [])) + "".join(out.get("data", {}).get("text/plain", []))
            found = MACHINE_PATH.search(text)
            assert not found, f"{path.name} cell {i}: a stored output names a machine path: " \
                              f"...{text[max(0, found.start() - 60):found.end() + 60]}..."


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_badge_and_colab_setup_cell(path):
    first = "".join(cells(path)[0]["source"])
    targets = BADGE.findall(first)
    assert targets == [f"notebooks/{path.name}"], f"{path.name}: badge points to {targets}"
    setup = "".join(cells(path)[1]["source"])
    assert SETUP_MARK in setup


def test_readme_badges_point_to_existing_notebooks():
    readme = (ROOT / "README.md").read_text()
    targets = BADGE.findall(readme)
    assert targets, "the README has no Colab badge"
    for target in targets:
        assert (ROOT / target).exists(), target


def test_chapter_5_shows_the_summary_of_the_shipped_runs():
    """The study table stored in chapter 5 is the one `course-rl summary` prints today, so the
    chapter, the README (tests/test_results.py) and the CLI quote the same numbers."""
    import warnings

    from course_rl import results, stats

    path = ROOT / "notebooks" / "05_results.ipynb"
    cell = next(c for c in cells(path) if "".join(c["source"]).startswith(
        "if found:\n    print(stats.summary_table(ROOT, found))"))
    stored = "".join("".join(o.get("text", "")) for o in cell["outputs"] if o.get("name") == "stdout")
    names = ["reinforce-cartpole", "a2c-cartpole", "reinforce-cheetah", "a2c-cheetah"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")    # no run of an older task version is left out
        table = stats.summary_table(results.shipped_root(), names)
    assert stored.strip() == table.strip()
