"""The nightly flow end to end on three 12-second calls through a local Dask cluster.

The fast test uses an in-process cluster and a fake Whisper (the real audio is still decoded);
the ``model`` test runs real whisper-base in Dask worker processes.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

pytest.importorskip("prefect_dask")

from prefect_dask import DaskTaskRunner  # noqa: E402

from flows import tasks  # noqa: E402
from flows.nightly import nightly_qa, run_nightly  # noqa: E402
from pipeline.calls import Models  # noqa: E402
from pipeline.store import open_store  # noqa: E402
from tests.conftest import DATA, FakeWhisper, cer, segment  # noqa: E402

CALLS = DATA / "flow_calls"


@pytest.fixture(scope="module")
def prefect_api():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=None):
        yield


def write_config(tmp_path: Path, **sections) -> Path:
    data = {"report": {"out_dir": str(tmp_path / "reports")},
            "store": {"url": f"sqlite:///{tmp_path / 'reports' / 'callqa.db'}"}}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    path = tmp_path / "callqa.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def calls_with_corrupt_file(tmp_path: Path) -> Path:
    source = tmp_path / "calls"
    shutil.copytree(CALLS, source)
    (source / "dev-099.stereo.flac").write_bytes(b"fLaC" + b"\x00garbage" * 64)
    with (source / "manifest.csv").open("a", encoding="utf-8") as manifest:
        manifest.write("dev-099.stereo.flac,dev-099,A06,2026-11-05T17:30,stereo,0\n")
    return source


def local_dask_in_process() -> DaskTaskRunner:
    # Threads in this process, so the fake model patched in below is the one the workers use.
    return DaskTaskRunner(cluster_kwargs={"n_workers": 1, "threads_per_worker": 2, "processes": False,
                                          "dashboard_address": None})


def test_flow_on_dask_isolates_a_corrupt_call_and_reuses_transcripts(prefect_api, tmp_path, monkeypatch):
    whisper = FakeWhisper([segment([("您好", 0.5, 0.9), ("请问", 1.0, 1.3), ("有什么", 1.3, 1.7),
                                    ("可以帮您", 1.7, 2.4)])])
    monkeypatch.setattr(tasks, "_load_models", lambda cfg_json, diarization: Models(whisper=whisper))
    source = calls_with_corrupt_file(tmp_path)
    config = write_config(tmp_path)

    first = nightly_qa.with_options(task_runner=local_dask_in_process())(str(source), config=str(config))

    assert (first.n_found, first.n_transcribed, first.n_cached, first.n_scored) == (4, 3, 0, 3)
    [failure] = first.failures
    assert failure.call_id == "dev-099" and failure.error_type == "AudioError"
    report = Path(first.report_dir)
    assert (report / "index.html").is_file() and (report / "scorecards.xlsx").is_file()
    failures_csv = (report / "failures.csv").read_text(encoding="utf-8")
    assert "dev-099.stereo.flac" in failures_csv and "AudioError" in failures_csv
    with open_store(f"sqlite:///{tmp_path / 'reports' / 'callqa.db'}") as store:
        counts = store.row_counts()
        assert counts["calls"] == 3 and counts["scores"] == 3
        assert list(store.failures_frame(run_id=first.run_id)["call_id"]) == ["dev-099"]
    for call_id in ("dev-001", "dev-009", "dev-011"):
        assert (tmp_path / "reports" / "transcripts" / f"{call_id}.json").is_file()
    n_whisper_calls = len(whisper.calls)

    second = nightly_qa.with_options(task_runner=local_dask_in_process())(str(source), config=str(config))

    assert len(whisper.calls) == n_whisper_calls, "the second night must not run Whisper again"
    assert (second.n_transcribed, second.n_cached, second.n_scored, second.n_failed) == (0, 3, 3, 1)
    assert second.mean_score == first.mean_score
    with open_store(f"sqlite:///{tmp_path / 'reports' / 'callqa.db'}") as store:
        counts = store.row_counts()
    assert counts["calls"] == 3 and counts["scores"] == 3 and counts["runs"] == 2


def test_a_night_submits_calls_in_a_bounded_window_and_counts_same_audio_as_reused(prefect_api, tmp_path,
                                                                                   monkeypatch):
    """flow.max_in_flight 1: one call at a time on the runner; a copy of a recording under a new id
    is not decoded again and the summary says "reused", not "transcribed"."""
    whisper = FakeWhisper([segment([("您好", 0.5, 0.9), ("请问", 1.0, 1.3)])])
    monkeypatch.setattr(tasks, "_load_models", lambda cfg_json, diarization: Models(whisper=whisper))
    source = tmp_path / "calls"
    shutil.copytree(CALLS, source)
    shutil.copyfile(source / "dev-001.stereo.flac", source / "dev-100.stereo.flac")
    with (source / "manifest.csv").open("a", encoding="utf-8") as manifest:
        manifest.write("dev-100.stereo.flac,dev-100,A06,2026-11-05T17:30,stereo,0\n")
    config = write_config(tmp_path, flow={"max_in_flight": 1})

    night = nightly_qa.with_options(task_runner=local_dask_in_process())(str(source), config=str(config))

    assert (night.n_found, night.n_transcribed, night.n_cached, night.n_scored, night.n_failed) == (4, 3, 1, 4, 0)
    assert len(whisper.calls) == 3 * 2  # three distinct recordings, two channels each


def read_artifacts(keys: list[str]) -> list[dict]:
    # Straight to the REST API: Prefect 3.8's client sends nulls this server version rejects.
    import httpx
    from prefect.settings import PREFECT_API_URL

    response = httpx.post(f"{PREFECT_API_URL.value()}/artifacts/filter", timeout=30, json={
        "artifacts": {"key": {"any_": keys}}, "limit": 50, "offset": 0, "sort": "CREATED_DESC"})
    response.raise_for_status()
    return response.json()


def test_flow_publishes_artifacts_without_transcript_text(prefect_api, tmp_path, monkeypatch):
    whisper = FakeWhisper([segment([("您好", 0.5, 0.9), ("再见", 1.0, 1.3)])])
    monkeypatch.setattr(tasks, "_load_models", lambda cfg_json, diarization: Models(whisper=whisper))
    summary = run_nightly(CALLS, config=write_config(tmp_path))
    assert summary.n_scored == 3

    by_key: dict[str, dict] = {}
    for artifact in read_artifacts(["agent-scores", "nightly-qa-summary", "qa-report"]):
        by_key.setdefault(artifact["key"], artifact)  # newest first: this test's run
    assert set(by_key) == {"agent-scores", "nightly-qa-summary", "qa-report"}
    assert "index.html" in str(by_key["qa-report"]["data"])  # stored as a markdown link
    assert by_key["agent-scores"]["type"] == "table" and "A03" in str(by_key["agent-scores"]["data"])
    summary_text = str(by_key["nightly-qa-summary"]["data"])
    assert "| 3 | 3 | 0 | 3 | 0 |" in summary_text
    assert "您好" not in summary_text and "再见" not in summary_text


@pytest.mark.model
@pytest.mark.slow
def test_flow_with_real_whisper_in_dask_worker_processes(prefect_api, tmp_path):
    from pipeline.models import REGISTRY, model_status

    if not model_status(REGISTRY["whisper-base"], verify=False).present:
        pytest.skip("whisper-base not assembled; run `callqa models whisper-base`")
    config = write_config(  # the model from the per-user cache, as the worker processes find it
        tmp_path, asr={"cpu_threads": 2, "beam_size": 1}, flow={"task_runner": "dask", "max_workers": 1},
    )
    summary = run_nightly(CALLS, config=config)

    assert (summary.n_transcribed, summary.n_scored, summary.n_failed) == (3, 3, 0)
    with open_store(f"sqlite:///{tmp_path / 'reports' / 'callqa.db'}") as store:
        transcript = store.load_transcript("dev-001")
    agent_text = "".join(u.text for u in transcript.utterances if u.speaker == "agent")
    # what the agent says in the first 12 s (tests/data/flow_calls); a CER bound holds on any CPU
    assert cer(agent_text, "您好，华鑫银行客服中心，工号3021为您服务，请问有什么可以帮您？") < 0.4, agent_text
