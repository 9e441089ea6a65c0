"""The call page in headless Chromium: no console errors, and clicking a finding seeks the audio.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package; skips
cleanly when any is missing. Screenshots go to ``$CALLQA_SCREENSHOT_DIR`` (default: the
test's tmp dir) so a person can look at them.
"""
from __future__ import annotations

import functools
import os
import shutil
import threading
import time
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from pipeline.report import report_data_from_results, write_reports
from tests.report_factory import finding, qa, transcript

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required", "--window-size=1200,1400")


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with HTTP Range support: Chromium only seeks media it can fetch by range."""

    def log_message(self, *args):  # keep test output clean
        pass

    def send_head(self):
        header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not header or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        first, _, last = header.removeprefix("bytes=").partition("-")
        start = int(first) if first else max(0, size - int(last))
        end = min(int(last), size - 1) if first and last else size - 1
        handle = path.open("rb")
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self._remaining = end - start + 1
        return handle

    def copyfile(self, source, outputfile):
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        while remaining > 0:
            chunk = source.read(min(64 * 1024, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)


@pytest.fixture
def serve():
    servers = []

    def start(root: Path) -> str:
        handler = functools.partial(RangeHandler, directory=str(root))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(driver, script: str, *, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


def screenshot_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("CALLQA_SCREENSHOT_DIR", tmp_path))
    target.mkdir(parents=True, exist_ok=True)
    return target


def check_call_page(driver, url: str, shot: Path) -> float:
    """Open a call page, click its first timed finding, return where the audio went."""
    driver.get(url)
    wait_for(driver, "return document.getElementById('player').readyState >= 1")
    finding_el = driver.find_element("css selector", "li.finding[data-start]:not([data-start=''])")
    start = float(finding_el.get_attribute("data-start"))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", finding_el)
    finding_el.click()
    wait_for(driver, f"var t = document.getElementById('player').currentTime; return t >= {start} - 0.05;")
    now = driver.execute_script("return document.getElementById('player').currentTime")
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(shot))
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
    assert start - 0.05 <= now < start + 3.0, (start, now)
    return start


def test_click_on_finding_seeks_audio(tmp_path, browser, serve):
    import soundfile as sf

    sr = 8000
    t = np.arange(30 * sr) / sr
    left = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    right = (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "c1.stereo.wav", np.stack([left, right], axis=1), sr)

    results = [(transcript("c1", "A01"), qa("c1", "A01", findings=(
        finding(weight=15.0, start_s=12.5, utterance_index=2),
        finding("no_closing", weight=5, category="courtesy", utterance_index=None, start_s=None, pattern=""),
    )))]
    data = report_data_from_results(results)
    paths = write_reports(data, tmp_path / "reports", run_date=date(2026, 11, 30), audio_root=audio, copy_audio=True)
    base = serve(paths.root)

    start = check_call_page(browser, f"{base}/calls/c1.html", screenshot_dir(tmp_path) / "call-c1.png")
    assert start == 12.5
    for page in ("index.html", "agents/A01.html"):
        browser.get(f"{base}/{page}")
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    browser.get(f"{base}/index.html")
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "overview.png"))


EVAL_CALLS = Path(__file__).resolve().parents[3] / "shared" / "eval" / "calls"


@pytest.mark.skipif(not (EVAL_CALLS / "dev-002.ref.json").is_file(), reason="shared eval calls not present")
def test_eval_call_flac_seeks_to_harsh_turn(tmp_path, browser, serve):
    """The same on a real recording of the eval set (8 kHz FLAC), finding on a labelled harsh turn."""
    import json

    from pipeline.types import CallMeta, CallQA, Finding, Transcript, Utterance

    ref = json.loads((EVAL_CALLS / "dev-002.ref.json").read_text(encoding="utf-8"))
    utts = tuple(Utterance(t["speaker"], t["start"], t["end"], t["text"], t["text"]) for t in ref["turns"])
    meta = CallMeta(ref["call_id"], "dev-002.stereo.flac", ref["agent_id"], "2026-11-02T16:17", "stereo", 0)
    harsh = ref["labels"]["harsh_turns"][0]
    qa_result = CallQA(ref["call_id"], ref["agent_id"], "default", "1.0", ref["labels"]["resolution"], (
        Finding("harsh_negation", "major", 15.0, "language", utterance_index=harsh, start_s=utts[harsh].start_s,
                end_s=utts[harsh].end_s, speaker="agent", quote=utts[harsh].text[:12]),
    ), recorded_at=meta.recorded_at)
    data = report_data_from_results([(Transcript(meta, ref["duration"], utts), qa_result)])
    paths = write_reports(data, tmp_path, run_date=date(2026, 11, 30), audio_root=EVAL_CALLS, copy_audio=True)
    start = check_call_page(browser, f"{serve(paths.root)}/calls/dev-002.html",
                            screenshot_dir(tmp_path) / "call-dev-002.png")
    assert start == pytest.approx(utts[harsh].start_s)
