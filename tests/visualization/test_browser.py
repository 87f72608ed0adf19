"""The visual server in a real browser: ``twinslice viz`` serves, Chromium loads, Step redraws.

Debian's ``chromium`` driven by the ``playwright`` package (never ``playwright install``),
headless, offline: the page's front end comes from Solara's asset cache
(``python -m visualization.assets``). The last screenshot is kept in ``tests/artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from visualization.assets import CORE_PACKAGES, is_cached, solara_cache_dir

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
STEPS = 3
WAIT_S = 240  # a limit on waiting for a busy machine, not a timing assertion

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (runs/setup/browser.sh)"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"twinslice viz exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(1.0)
    pytest.fail(f"twinslice viz did not answer at {url}:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``twinslice viz`` on a free loopback port, killed with its process group at the end."""
    missing = [s for s in CORE_PACKAGES if not is_cached(solara_cache_dir(), s)]
    if missing:
        pytest.fail(f"Solara assets not cached ({missing}); run python -m visualization.assets")
    port = _free_port()
    log = tmp_path_factory.mktemp("viz") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "runs.cli",
        "viz",
        "campus-video",
        "--port",
        str(port),
        "--set",
        "users.count=12",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_http(url, proc, log)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def page(tmp_path: Path):
    """A headless Chromium page with a fresh profile."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 1560},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def _chart_images(page) -> list:
    """The page's chart images (matplotlib PNGs), each with a non-trivial size."""
    images = page.locator(".vue-grid-item img")
    images.first.wait_for(timeout=WAIT_S * 1000)
    return [images.nth(i) for i in range(images.count())]


def _changed(locator, before: bytes) -> bool:
    """Whether the element's pixels differ from ``before`` (polled: PNGs decode async)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if locator.screenshot() != before:
            return True
        time.sleep(0.5)
    return False


def _step_to(page, step: int) -> None:
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text(f"Time: {step:.1f}", exact=True).wait_for(timeout=WAIT_S * 1000)


def test_page_renders_and_changes_after_steps(server: str, page) -> None:
    page.goto(server, timeout=WAIT_S * 1000)
    page.get_by_role("button", name="Step", exact=True).wait_for(timeout=WAIT_S * 1000)
    page.get_by_text("Time: 0.0", exact=True).wait_for(timeout=WAIT_S * 1000)
    images = _chart_images(page)
    assert len(images) >= 6
    for img in images:
        box = img.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 150
    network_before = images[0].screenshot()
    radio_before = images[1].screenshot()
    for step in range(1, STEPS + 1):
        _step_to(page, step)
    images = _chart_images(page)
    assert _changed(images[0], network_before), "the network view did not change"
    assert _changed(images[1], radio_before), "the throughput / SINR chart did not change"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viz.png"))
    images[0].screenshot(path=str(ARTIFACTS / "viz-network.png"))
