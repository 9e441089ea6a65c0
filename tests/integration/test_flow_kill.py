"""Killing the nightly run part-way and starting it again: nothing lost, nothing duplicated.

The run is a real subprocess (killed with SIGKILL, the way a scheduler or the OOM killer ends
it) with a slow fake Whisper, so the kill lands between calls deterministically.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("prefect")

import flows  # noqa: E402,F401 - sets telemetry off and the server start-up timeout
from pipeline.store import open_store  # noqa: E402
from tests.conftest import DATA  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CALLS = DATA / "flow_calls"

CHILD = """
import json, sys, time
from flows import tasks
from flows.nightly import run_nightly
from pipeline.calls import Models
from tests.conftest import FakeWhisper, segment

class SlowWhisper(FakeWhisper):
    def transcribe(self, audio, **kwargs):
        time.sleep(float(sys.argv[3]))
        return super().transcribe(audio, **kwargs)

whisper = SlowWhisper([segment([("您好", 0.5, 0.9), ("请问", 1.0, 1.3), ("有什么可以帮您", 1.3, 2.4)])])
tasks._load_models = lambda cfg_json, diarization: Models(whisper=whisper)
summary = run_nightly(sys.argv[1], config=sys.argv[2])
print("RESULT " + json.dumps({"whisper_calls": len(whisper.calls), "transcribed": summary.n_transcribed,
                              "cached": summary.n_cached, "scored": summary.n_scored}))
"""


@pytest.fixture(scope="module")
def prefect_api_url():
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=None):
        # The child runs share this server instead of booting their own.
        yield PREFECT_API_URL.value()


def _child(source: Path, config: Path, delay_s: float, api_url: str) -> list[str]:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PYTHONPATH": str(REPO)}
    return [sys.executable, "-c", CHILD, str(source), str(config), str(delay_s)], env


@pytest.mark.slow
def test_killed_run_resumes_without_duplicates_or_lost_calls(prefect_api_url, tmp_path):
    reports = tmp_path / "reports"
    db_url = f"sqlite:///{reports / 'callqa.db'}"
    config = tmp_path / "callqa.yaml"
    config.write_text(yaml.safe_dump({
        "report": {"out_dir": str(reports)}, "store": {"url": db_url},
        "flow": {"task_runner": "threads", "max_workers": 1},
    }), encoding="utf-8")
    transcripts = reports / "transcripts"
    args, env = _child(CALLS, config, 1.5, prefect_api_url)

    run = subprocess.Popen(args, cwd=REPO, env=env, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not list(transcripts.glob("*.json")):
            assert run.poll() is None, run.stdout.read().decode(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "no transcript landed within 5 minutes"
            time.sleep(0.05)
    finally:
        # Its whole process group, as a scheduler would: no worker survives the kill.
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    landed = sorted(p.stem for p in transcripts.glob("*.json"))
    assert 1 <= len(landed) < 3, f"the kill should land part-way, found transcripts {landed}"

    rerun = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    [line] = [ln for ln in rerun.stdout.splitlines() if ln.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))

    # Transcripts that landed before the kill are reused, the rest are made now.
    assert result["cached"] == len(landed), rerun.stdout[-5000:]
    assert result["transcribed"] == 3 - len(landed)
    assert result["whisper_calls"] == 2 * (3 - len(landed))  # stereo: one pass per channel
    with open_store(db_url) as store:
        counts = store.row_counts()
        calls = store.calls_frame()
        n_utterances = sum(len(store.load_transcript(c).utterances) for c in calls["call_id"])
    assert sorted(calls["call_id"]) == ["dev-001", "dev-009", "dev-011"]
    assert counts["calls"] == 3 and counts["scores"] == 3
    assert counts["utterances"] == n_utterances
    assert counts["runs"] == 2 and counts["failures"] == 0
