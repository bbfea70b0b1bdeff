"""The widgets in a real browser: JupyterLab on 127.0.0.1, driven in headless Chromium.

Chapter 2: Run All, move a slider of the policy explorer, the figure changes. Chapter 4: Run
All, click the live run panel's Run, the board appears and updates, the status says done; the
Diagnostics toggle adds the diagnostic panels to the board. The
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


SERVER_LOG: list[Path] = []  # the running server's log, for error messages


def server_log_tail(chars: int = 4000) -> str:
    try:
        return SERVER_LOG[-1].read_text()[-chars:]
    except (IndexError, OSError):
        return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(root: Path, env_extra: dict | None = None):
    """A JupyterLab server on 127.0.0.1 (a free port, a random token) serving ``root``:
    yields its base URL and token. Settings, data and workspaces live in a temporary folder,
    so notebooks open untrusted, no news is fetched and every cell is rendered."""
    home = Path(tempfile.mkdtemp(prefix="course-rl-lab-"))
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # every cell in the page (JupyterLab otherwise leaves cells out of view unrendered)
    notebook_settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    notebook_settings.mkdir(parents=True)
    (notebook_settings / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    port, token = free_port(), os.urandom(12).hex()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           **(env_extra or {})}
    log = open(home / "server.log", "w")
    SERVER_LOG.append(home / "server.log")
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
            try:
                yield page
            except Exception:
                # what the page showed when the test failed, and what its outputs held
                shot = Path(tempfile.mkdtemp(prefix="course-rl-browser-")) / "failure.png"
                page.screenshot(path=str(shot))
                kinds = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output')]
                    .map(o => o.getAttribute('data-mime-type') || o.firstElementChild?.className)""")
                print(f"browser test failure: screenshot {shot}; outputs {kinds}\n"
                      f"server log:\n{server_log_tail(2000)}")
                raise
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


def prompts(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll(
        '.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim())""")


def run_all(page, timeout_s: float = 900) -> None:
    """Menu Run > Restart Kernel and Run All Cells, then wait until every code cell has run.

    Outputs are cleared first, so that a finished cell is one with a number again. (Restarting
    first: a Run All sent while a new kernel is still connecting can be lost.)"""
    wait_for_kernel(page)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Edit$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Clear Outputs of All Cells$")).click()
    page.wait_for_function("""() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                               .every(p => !/\\d/.test(p.textContent))""")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Restart Kernel and Run All")).click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    deadline = time.monotonic() + timeout_s
    page.wait_for_timeout(3000)
    while time.monotonic() < deadline:
        texts = prompts(page)
        if texts and all(re.fullmatch(r"\[\d+\]:", t) for t in texts):
            break
        page.wait_for_timeout(1000)
    else:
        status = page.evaluate("""() => { const el = document.querySelector(
            '.jp-Notebook-ExecutionIndicator'); return el && el.getAttribute('data-status'); }""")
        dialogs = page.locator(".jp-Dialog").all_inner_texts()
        screenshot(page, "run-all-timeout.png")
        raise TimeoutError(f"Run All did not finish in {timeout_s} s: prompts {prompts(page)}, "
                           f"kernel {status}, dialogs {dialogs}\nserver log:\n{server_log_tail()}")
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


WIDGET = ".jp-OutputArea-output > .widget-vbox"  # a displayed panel (not its inner columns)


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


RECORDER = """(scope) => {
    // every distinct board image and status text of the last panel with a Run button
    const panel = [...document.querySelectorAll(scope)]
        .filter(b => [...b.querySelectorAll('button')].some(x => x.textContent.includes('Run'))).pop();
    window.__seen = [];
    const look = () => {
        const img = [...panel.querySelectorAll('img')].pop();
        const status = [...panel.querySelectorAll('.widget-html')].map(h => h.innerText).join(' | ');
        const now = {src: img && img.offsetWidth > 0 ? img.src : '', status: status};
        const last = window.__seen[window.__seen.length - 1];
        if (!last || last.src !== now.src || last.status !== now.status) window.__seen.push(now);
    };
    look();
    window.__recorder = setInterval(look, 50);
}"""


def seen(page) -> list[dict]:
    return page.evaluate("() => window.__seen")


def wait_until_seen(page, condition: str, timeout_ms: int) -> None:
    """Wait until ``condition`` (JS over ``s``, the recorded states) holds; on a timeout the
    error lists the states seen."""
    try:
        page.wait_for_function(f"() => {{ const s = window.__seen; return {condition}; }}",
                               timeout=timeout_ms)
    except Exception as err:
        states = "\n".join(f"{x['status'][:150]!r} src={x['src'][:40]}" for x in seen(page))
        raise AssertionError(f"never saw {condition}; states seen:\n{states}") from err


def test_chapter_4_run_button_updates_the_board(lab):
    url, token = lab
    with browser_page() as page:
        open_notebook(page, url, token, "notebooks/04_a2c.ipynb")
        run_all(page)
        panel = page.locator(WIDGET).filter(has=page.locator("button", has_text="Run")).last
        panel.scroll_into_view_if_needed()
        page.evaluate(RECORDER, WIDGET)
        before = seen(page)[0]
        assert "done in" in before["status"]  # the fast-mode run of the notebook itself
        panel.locator("button", has_text="Run").click()
        wait_until_seen(page, "s.findIndex(x => x.status.includes('training')) >= 0 && s.slice("
                        "s.findIndex(x => x.status.includes('training'))).some(x => "
                        "x.status.includes('done in'))", 300_000)
        log = seen(page)
        training = next(i for i, x in enumerate(log) if "training" in x["status"])
        # at the click the last run's board goes at once (an empty board while loading)...
        assert all(x["src"] != before["src"] for x in log[training:]), "stale board while training"
        # ...then the board updates as the run goes, and ends drawn
        boards = {x["src"] for x in log[training:] if x["src"]}
        assert len(boards) >= 3, f"{len(boards)} board images after the click"
        assert "best greedy return" in log[-1]["status"]
        panel.locator("img").last.scroll_into_view_if_needed()
        screenshot(page, "chapter4-after-run.png")

        # the Diagnostics toggle: the finished run's board gains the diagnostic panels (taller)
        def board_height():
            return page.evaluate("""(scope) => { const imgs = [...document.querySelectorAll(scope + ' img')];
                return imgs[imgs.length - 1].naturalHeight; }""", WIDGET)
        short, shown = board_height(), len(seen(page))
        panel.locator("button", has_text="Diagnostics").click()
        wait_until_seen(page, f"s.length > {shown} && s[s.length - 1].src && "
                              f"s[s.length - 1].src !== s[{shown - 1}].src", 60_000)
        page.wait_for_timeout(500)
        assert board_height() > short, (board_height(), short)
        screenshot(page, "chapter4-diagnostics.png")

        # Stop (interrupt the kernel) during a longer run: "stopped", not a failure
        episodes = panel.locator(".noUi-handle").nth(2)
        episodes.focus()
        episodes.press("End")
        page.evaluate("() => { window.__seen = []; }")
        panel.locator("button", has_text="Run").click()
        wait_until_seen(page, "s.some(x => x.status.includes('training'))", 60_000)
        page.wait_for_timeout(4000)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Kernel$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Interrupt Kernel$")).click()
        wait_until_seen(page, "s.some(x => x.status.includes('stopped'))", 120_000)
        status = seen(page)[-1]["status"]
        assert "failed" not in status and "KeyboardInterrupt" not in status, status
        screenshot(page, "chapter4-stopped.png")
