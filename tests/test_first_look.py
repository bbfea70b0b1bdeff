"""The stored notebooks make sense before anything runs: on GitHub, on nbviewer, in JupyterLab
before the notebook is trusted, where no widget lives and HTML video may be stripped.

* every widget output carries a PNG of the widget's state (what those viewers show) and a
  one-line note as its text, never a Python repr such as ``VBox(children=(...``;
* every video carries an image that any viewer shows (an animated GIF, or a poster PNG), and
  keeps its MP4 on the ``<video>`` element (JupyterLab's sanitiser strips a ``<source>``'s);
* no stored output shows TensorFlow's, CUDA's or absl's start-up log lines.

The pictures come from ``course_rl.widgets.Panel`` and ``course_rl.video.to_html``; stored
notebooks get them when they are re-executed.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# Set to False once the chapters have been re-executed with the package's first-look
# machinery (the integration step); until then the first-look checks are expected to fail.
AWAITING_REEXECUTION = False
awaiting = pytest.mark.xfail(AWAITING_REEXECUTION, strict=True,
                             reason="notebooks not re-executed yet")

WIDGET = "application/vnd.jupyter.widget-view+json"
IMAGES = ("image/png", "image/gif", "image/jpeg", "image/webp")
# the repr ipywidgets gives a widget: a class name and its children or value
WIDGET_REPR = re.compile(r"^\s*\[?'?\w*(Box|Slider|Button|Image|Output|HTML|Label|Dropdown|Tab|"
                         r"Accordion|Progress|Text|Checkbox)\w*\((children|value|description|layout)=")
# a tqdm progress bar is a widget whose text is its meter ("name: 100%|####| 20/20 [...]")
PROGRESS_METER = re.compile(r"\d+%\|.*\| *\d+/\d+")
NOISE = ("All log messages before absl::InitializeLog", "oneDNN custom operations",
         "Could not find cuda drivers", "cuInit", "cpu_feature_guard",
         "rebuild TensorFlow with the appropriate compiler", "Unable to register cu")


def outputs(path):
    """(cell index, output) of every stored output of a notebook."""
    cells = json.loads(path.read_text())["cells"]
    for index, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            yield index, output


def text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def first_look_problems(path) -> list[str]:
    problems = []
    for index, output in outputs(path):
        data = output.get("data", {})
        plain = text(data.get("text/plain", ""))
        where = f"{path.name} cell {index}"
        if WIDGET in data:
            if PROGRESS_METER.search(plain):
                continue  # a progress bar: its text is its meter, and that is what shows
            if not any(mime in data for mime in IMAGES):
                problems.append(f"{where}: a widget output without a picture of the widget")
            if WIDGET_REPR.search(plain) or "\n" in plain.strip():
                problems.append(f"{where}: a widget's text is a repr, not a note: {plain[:80]!r}")
        elif WIDGET_REPR.search(plain) and not any(m in data for m in IMAGES + ("text/html",)):
            problems.append(f"{where}: a widget shown as its repr: {plain[:80]!r}")
        html = text(data.get("text/html", ""))
        if "<video" in html:
            if not any(mime in data for mime in IMAGES):
                problems.append(f"{where}: a video without an image for viewers without video")
            if re.search(r"<source[^>]*src=\"data:", html):
                problems.append(f"{where}: the video's data sits on <source> (stripped when "
                                f"untrusted): put it on <video src=...>")
    return problems


@awaiting
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_widgets_and_videos_have_a_first_look(path):
    problems = first_look_problems(path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_tensorflow_log_lines_in_stored_outputs(path):
    noisy = []
    for index, output in outputs(path):
        texts = [text(output.get("text", ""))]
        texts += [text(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
        noisy += [f"cell {index}: {line[:120]}" for t in texts for line in t.splitlines()
                  if any(n in line for n in NOISE)]
    assert not noisy, f"{path.name}:\n" + "\n".join(noisy)


def test_the_checks_see_the_defects_they_name(tmp_path):
    """The checker itself, on a notebook with every defect and one with none."""
    png, gif = "iVBORw0KGgo=", "R0lGODlh"
    view = {"model_id": "x", "version_major": 2, "version_minor": 0}
    bad = [{"output_type": "display_data", "metadata": {},
            "data": {WIDGET: view, "text/plain": "VBox(children=(FloatSlider(value=0.9, …"}},
           {"output_type": "display_data", "metadata": {}, "data": {
               "text/html": '<video controls><source src="data:video/mp4;base64,AAAA"></video>',
               "text/plain": "<IPython.core.display.HTML object>"}}]
    good = [{"output_type": "display_data", "metadata": {},
             "data": {WIDGET: view, "image/png": png, "text/plain": "Policy explorer at p = 0.9"}},
            {"output_type": "display_data", "metadata": {},
             "data": {WIDGET: view, "text/plain": "run seed 7:  40%|####      | 8/20 [00:01<00:02]"}},
            {"output_type": "display_data", "metadata": {}, "data": {
                "text/html": '<video controls src="data:video/mp4;base64,AAAA"></video>',
                "image/gif": gif, "text/plain": "video, 2.0 s"}}]
    for name, outs in (("bad.ipynb", bad), ("good.ipynb", good)):
        (tmp_path / name).write_text(json.dumps({"cells": [
            {"cell_type": "code", "source": "", "metadata": {}, "execution_count": 1,
             "outputs": outs}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    problems = first_look_problems(tmp_path / "bad.ipynb")
    assert len(problems) == 4, problems
    assert first_look_problems(tmp_path / "good.ipynb") == []
