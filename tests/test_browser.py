"""The widgets in a real browser: JupyterLab on 127.0.0.1, driven in headless Chromium.

Chapter 2: Run All, move a slider of the policy explorer, the figure changes. Chapter 4: Run
All, click the live run panel's Run, the board appears and updates, the status says done. The
kernel runs this worktree's ``course_rl`` in fast mode (``COURSE_RL_FAST=1``) on copies of the
notebooks (the stored ones are never touched).

Needs the system's Chromium (Debian: ``apt-get install chromium``) and the ``playwright``
package (the ``dev`` extra); Playwright drives that Chromium and never downloads a browser.
Skipped, with the reason, where either is missing. Set ``COURSE_RL_BROWSER`` to another
Chromium binary, ``COURSE_RL_SCREENSHOTS`` to a folder to keep screenshots.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("COURSE_RL_BROWSER"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def missing_browser() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no Chromium found (apt-get install chromium, or set COURSE_RL_BROWSER)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(root: Path, env_extra: dict | None = None):
    """A JupyterLab server on 127.0.0.1 (a free port, a random token) serving ``root``:
    yields its base URL and token. Settings, data and workspaces live in a temporary folder,
    so notebooks open untrusted and no news is fetched."""
    home = Path(tempfile.mkdtemp(prefix="course-rl-lab-"))
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = free_port(), os.urandom(12).hex()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           **(env_extra or {})}
    log = open(home / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
         "--LabApp.extension_manager=readonly"]  # no extension look-ups on PyPI
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (home / "server.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def browser_page(width: int = 1024, height: int = 900):
    """A headless Chromium page (the system's Chromium, driven by Playwright)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def open_notebook(page, url: str, token: str, path: str) -> None:
    page.goto(f"{url}/lab/tree/{path}?reset&token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_timeout(1500)  # outputs render after the cells


def wait_for_kernel(page, timeout_s: float = 120) -> None:
    """Wait until the notebook's kernel is idle."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = page.evaluate("""() => {
            const el = document.querySelector('.jp-Notebook-ExecutionIndicator');
            return el ? el.getAttribute('data-status') : null; }""")
        if status == "idle":
            return
        page.wait_for_timeout(500)
    raise TimeoutError("the kernel did not become idle")


def run_all(page, timeout_s: float = 600) -> None:
    """Menu Run > Run All Cells, then wait until every code cell has an execution count."""
    wait_for_kernel(page)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    deadline = time.monotonic() + timeout_s
    page.wait_for_timeout(2000)
    while time.monotonic() < deadline:
        state = page.evaluate("""() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
            const texts = prompts.map(p => p.textContent.trim());
            return {pending: texts.filter(t => t === '[*]:' || t === '[ ]:').length,
                    total: texts.length,
                    errors: document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"] .jp-RenderedText, .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]').length}; }""")
        if state["pending"] == 0:
            break
        page.wait_for_timeout(1000)
    else:
        raise TimeoutError(f"Run All did not finish in {timeout_s} s: {state}")
    errors = page.evaluate("""() => [...document.querySelectorAll(
        '.jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]')].map(e => e.textContent)""")
    assert not errors, "error outputs after Run All:\n" + "\n".join(e[:2000] for e in errors)


def image_source(page, scope: str) -> str:
    return page.evaluate("""(scope) => {
        const imgs = [...document.querySelectorAll(scope + ' img')];
        return imgs.length ? imgs[imgs.length - 1].src : ''; }""", scope)


def copy_chapters(target: Path) -> Path:
    notebooks = target / "notebooks"
    notebooks.mkdir(parents=True)
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(path, notebooks / path.name)
    return notebooks


def screenshot(page, name: str) -> None:
    folder = os.environ.get("COURSE_RL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    reason = missing_browser()
    if reason:
        pytest.skip(f"browser test skipped: {reason}")
    root = tmp_path_factory.mktemp("lab")
    copy_chapters(root)
    with jupyter_lab(root, {"COURSE_RL_FAST": "1"}) as (url, token):
        yield url, token


WIDGET = ".jp-OutputArea-output .widget-vbox"


def test_chapter_2_slider_redraws_the_figure(lab):
    url, token = lab
    with browser_page() as page:
        open_notebook(page, url, token, "notebooks/02_policy_distribution.ipynb")
        run_all(page)
        explorer = page.locator(WIDGET).filter(has=page.locator(".widget-slider")).last
        explorer.scroll_into_view_if_needed()
        explorer.locator("img").first.wait_for()
        before = image_source(page, WIDGET)
        readouts = explorer.locator(".widget-readout")
        assert readouts.count() == 4
        screenshot(page, "chapter2-live-before-slider.png")
        # every read-out visible inside a 1024-px window with the file browser open
        window = page.viewport_size["width"]
        for i in range(4):
            box = readouts.nth(i).bounding_box()
            assert box and box["x"] + box["width"] <= window, f"read-out {i} cut off: {box}"
        first = readouts.nth(0).inner_text()
        handle = explorer.locator(".noUi-handle").first
        handle.focus()
        for _ in range(10):
            handle.press("ArrowLeft")
        page.wait_for_function(
            """([scope, before]) => { const imgs = [...document.querySelectorAll(scope + ' img')];
                 return imgs.length && imgs[imgs.length - 1].src !== before; }""",
            arg=[WIDGET, before], timeout=60_000)
        assert readouts.nth(0).inner_text() != first
        # the figure is shown at its own size, not stretched
        natural, shown = page.evaluate("""(scope) => { const imgs = [...document.querySelectorAll(scope + ' img')];
            const img = imgs[imgs.length - 1]; return [img.naturalWidth, img.getBoundingClientRect().width]; }""",
                                       WIDGET)
        assert shown <= natural + 1, (natural, shown)
        screenshot(page, "chapter2-live-after-slider.png")


def test_chapter_4_run_button_updates_the_board(lab):
    url, token = lab
    with browser_page() as page:
        open_notebook(page, url, token, "notebooks/04_a2c.ipynb")
        run_all(page)
        panel = page.locator(WIDGET).filter(has=page.locator("button", has_text="Run")).last
        panel.scroll_into_view_if_needed()
        board = panel.locator("img").last
        before = board.get_attribute("src") or ""
        panel.locator("button", has_text="Run").click()
        page.wait_for_function(
            """(before) => { const boxes = [...document.querySelectorAll('.jp-OutputArea-output .widget-vbox')]
                   .filter(b => [...b.querySelectorAll('button')].some(x => x.textContent.includes('Run')));
                 const img = [...boxes[boxes.length - 1].querySelectorAll('img')].pop();
                 return img && img.src && img.src !== before && img.offsetWidth > 0; }""",
            arg=before, timeout=120_000)
        panel.locator(".widget-html", has_text=re.compile("done in")).wait_for(timeout=300_000)
        screenshot(page, "chapter4-after-run.png")
        status = panel.locator(".widget-html", has_text=re.compile("done in")).inner_text()
        assert "best greedy return" in status
