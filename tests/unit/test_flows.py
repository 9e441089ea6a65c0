"""Unit tests of the Prefect tasks and flow helpers, with a fake Whisper and no Prefect server."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("prefect")

from prefect.states import Completed, Failed  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from flows import tasks  # noqa: E402
from flows.nightly import (  # noqa: E402
    DASK_NIGHT_CONFIG,
    dask_night_env,
    Failure,
    RunSummary,
    build_task_runner,
    select_recordings,
    summary_markdown,
)
from pipeline.audio import file_sha256  # noqa: E402
from pipeline.calls import Models  # noqa: E402
from pipeline.config import FlowConfig, PipelineConfig  # noqa: E402
from pipeline.errors import AudioError  # noqa: E402
from pipeline.metadata import discover_recordings  # noqa: E402
from pipeline.types import CallMeta  # noqa: E402
from tests.conftest import DATA, FakeWhisper, segment  # noqa: E402

CALLS = DATA / "flow_calls"
META = CallMeta(call_id="dev-001", agent_id="A03", recorded_at="2026-11-02T09:00", layout="stereo", agent_channel=0)


def test_transcription_key_follows_audio_model_and_transcription_settings():
    cfg = PipelineConfig()
    key = tasks.transcription_key("a" * 64, META, cfg)
    assert key == tasks.transcription_key("a" * 64, META, cfg)
    assert key != tasks.transcription_key("b" * 64, META, cfg)
    assert key != tasks.transcription_key("a" * 64, META, cfg.model_copy(
        update={"asr": cfg.asr.model_copy(update={"model": "small"})}))
    assert key != tasks.transcription_key("a" * 64, META, cfg.model_copy(
        update={"asr": cfg.asr.model_copy(update={"beam_size": 1})}))
    assert key != tasks.transcription_key("a" * 64, replace(META, agent_channel=1), cfg)


def test_transcription_key_ignores_rules_reports_and_thread_count():
    cfg = PipelineConfig()
    key = tasks.transcription_key("a" * 64, META, cfg)
    other = cfg.model_copy(update={
        "rules": cfg.rules.model_copy(update={"disabled": ("greeting",)}),
        "report": cfg.report.model_copy(update={"pass_score": 60.0}),
        "asr": cfg.asr.model_copy(update={"cpu_threads": 1, "num_workers": 2}),
    })
    assert tasks.transcription_key("a" * 64, META, other) == key
    # Rules are re-run every night, so a new agent id from the manifest needs no new transcript.
    assert tasks.transcription_key("a" * 64, replace(META, agent_id="A99"), cfg) == key


def _fake_models(monkeypatch) -> FakeWhisper:
    whisper = FakeWhisper([segment([("您好", 0.5, 0.9), ("请问", 1.0, 1.3), ("有什么", 1.3, 1.7), ("可以帮您", 1.7, 2.4)])])
    monkeypatch.setattr(tasks, "_load_models", lambda cfg_json, diarization: Models(whisper=whisper))
    return whisper


def test_transcribe_call_writes_keyed_transcript_and_reuses_it(monkeypatch, tmp_path):
    whisper = _fake_models(monkeypatch)
    cfg = PipelineConfig()
    path = CALLS / "dev-001.stereo.flac"
    key = tasks.transcription_key(file_sha256(path), META, cfg)

    first = tasks.transcribe_call.fn(str(path), META, cfg, key, str(tmp_path))
    stored = json.loads((tmp_path / "dev-001.json").read_text(encoding="utf-8"))
    assert stored["cache_key"] == key
    assert stored["call"]["call_id"] == "dev-001"
    assert first.utterances and first.layout == "stereo"
    n_calls = len(whisper.calls)

    again = tasks.transcribe_call.fn(str(path), META, cfg, key, str(tmp_path))
    assert len(whisper.calls) == n_calls, "a transcript made under the same key must not be recomputed"
    assert again == first

    tasks.transcribe_call.fn(str(path), META, cfg, key + "-new-model", str(tmp_path))
    assert len(whisper.calls) > n_calls


def test_same_audio_under_a_new_call_id_is_not_decoded_again(monkeypatch, tmp_path):
    whisper = _fake_models(monkeypatch)
    cfg = PipelineConfig()
    path = CALLS / "dev-001.stereo.flac"
    key = tasks.transcription_key(file_sha256(path), META, cfg)
    first = tasks.transcribe_call.fn(str(path), META, cfg, key, str(tmp_path))
    n_calls = len(whisper.calls)

    # The same recording re-sent tonight under another id (and a new agent): one decode in all.
    resent = replace(META, call_id="night-0042", agent_id="A07")
    assert tasks.transcription_key(file_sha256(path), resent, cfg) == key
    again = tasks.transcribe_call.fn("/elsewhere/night-0042.flac", resent, cfg, key, str(tmp_path))
    assert len(whisper.calls) == n_calls
    assert again.utterances == first.utterances
    assert again.call.call_id == "night-0042" and again.call.agent_id == "A07"
    assert again.call.source_path == "/elsewhere/night-0042.flac"
    assert json.loads((tmp_path / "night-0042.json").read_text(encoding="utf-8"))["call"]["call_id"] == "night-0042"

    # Another channel mapping is another transcript.
    swapped = replace(META, call_id="night-0043", agent_channel=1)
    other_key = tasks.transcription_key(file_sha256(path), swapped, cfg)
    tasks.transcribe_call.fn(str(path), swapped, cfg, other_key, str(tmp_path))
    assert len(whisper.calls) > n_calls


def test_cached_transcript_ignores_missing_foreign_and_broken_files(tmp_path):
    assert tasks.cached_transcript(tmp_path / "none.json", "k") is None
    (tmp_path / "old.json").write_text(json.dumps({"call": {"call_id": "x"}}), encoding="utf-8")
    assert tasks.cached_transcript(tmp_path / "old.json", "k") is None  # no key: made by `callqa transcribe`
    (tmp_path / "half.json").write_text('{"cache_key": "k", "call": {', encoding="utf-8")
    assert tasks.cached_transcript(tmp_path / "half.json", "k") is None  # killed mid-write elsewhere


def test_corrupt_recording_raises_audio_error_and_is_not_retried(monkeypatch, tmp_path):
    _fake_models(monkeypatch)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    with pytest.raises(AudioError) as caught:
        tasks.transcribe_call.fn(str(bad), replace(META, call_id="bad"), PipelineConfig(), "k", str(tmp_path))
    assert tasks.retry_on_io(None, None, Failed(data=caught.value)) is False


@pytest.mark.parametrize("error, retried", [
    (OSError("NFS share went away"), True),
    (TimeoutError("slow disk"), True),
    (AudioError("corrupt.wav: not audio"), False),
    (ValueError("a bug"), False),
])
def test_only_io_errors_are_retried(error, retried):
    assert tasks.retry_on_io(None, None, Failed(data=error)) is retried


def test_retry_condition_on_success_is_false():
    assert tasks.retry_on_io(None, None, Completed(data=1)) is False


def test_with_current_meta_takes_manifest_fields_and_keeps_transcript():
    from pipeline.types import Transcript

    transcript = Transcript(call=replace(META, source_path="/old/dev-001.flac"), duration_s=1.0, utterances=())
    updated = tasks.with_current_meta(transcript, replace(META, agent_id="A07", recorded_at="2026-11-03T10:00"))
    assert updated.call.agent_id == "A07" and updated.call.recorded_at == "2026-11-03T10:00"
    assert updated.call.source_path == "/old/dev-001.flac"


def test_select_recordings_by_recorded_time():
    found = discover_recordings(CALLS)
    assert [m.call_id for _, m in select_recordings(found, None, None)] == ["dev-001", "dev-009", "dev-011"]
    assert [m.call_id for _, m in select_recordings(found, "2026-11-03", None)] == ["dev-009", "dev-011"]
    # A bare until date includes the whole day.
    assert [m.call_id for _, m in select_recordings(found, "2026-11-02", "2026-11-04")] == ["dev-001", "dev-009"]


def test_select_recordings_without_time_uses_file_mtime(tmp_path):
    path = tmp_path / "x.flac"
    shutil.copy(CALLS / "dev-001.stereo.flac", path)
    found = [(path, CallMeta(call_id="x"))]
    assert select_recordings(found, "2000-01-01", None) == found
    assert select_recordings(found, "2999-01-01", None) == []


def test_task_runner_comes_from_config():
    assert isinstance(build_task_runner(FlowConfig()), ThreadPoolTaskRunner)
    from prefect_dask import DaskTaskRunner

    local = build_task_runner(FlowConfig(task_runner="dask", max_workers=3))
    assert isinstance(local, DaskTaskRunner) and local.cluster_kwargs["n_workers"] == 3
    remote = build_task_runner(FlowConfig(task_runner="dask", dask_address="tcp://10.0.0.5:8786"))
    assert remote.address == "tcp://10.0.0.5:8786"


def test_summary_markdown_has_counts_failures_and_rules_but_no_transcript_text():
    summary = RunSummary(
        run_id="r1", source="/calls", n_found=4, n_transcribed=2, n_cached=1, n_scored=3,
        failures=(Failure("/calls/bad.wav", "bad", "AudioError", "/calls/bad.wav: no audio stream | found"),),
        rulebook="callqa-default-zh 1.0.0", mean_score=81.7, pass_rate=0.667,
        top_rules=(("closing_farewell", 2),), report_dir="/r", index_html="/r/index.html", elapsed_s=12.0,
    )
    text = summary_markdown(summary)
    assert "| 4 | 2 | 1 | 3 | 1 | 81.7 | 67% |" in text
    assert "`bad.wav` | AudioError" in text and "\\|" in text  # pipes escaped inside the table
    assert "`closing_farewell` | 2" in text
    assert "您好" not in text


def test_flows_package_turns_telemetry_off(monkeypatch):
    import os

    assert os.environ.get("DO_NOT_TRACK") == "1"
    assert os.environ.get("PREFECT_SERVER_ANALYTICS_ENABLED", "").lower() == "false"


def test_pipeline_package_does_not_import_prefect():
    import subprocess
    import sys

    code = ("import sys, pipeline, pipeline.calls, pipeline.store, pipeline.report; "
            "print('prefect' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


def test_serve_schedules_the_nightly_run_from_config(monkeypatch, tmp_path):
    from flows import deploy

    captured = {}
    monkeypatch.setattr(deploy.scheduled_nightly_qa, "serve", lambda **kwargs: captured.update(kwargs))
    deploy.main([str(CALLS)])
    [schedule] = captured["schedules"]
    assert (schedule.cron, schedule.timezone) == ("0 2 * * *", "Asia/Shanghai")
    assert captured["parameters"] == {"source": str(CALLS.resolve()), "config": None}
    assert captured["limit"] == 1

    config = tmp_path / "c.yaml"
    config.write_text("flow:\n  cron: '30 1 * * *'\n  timezone: Europe/Berlin\n", encoding="utf-8")
    deploy.main([str(CALLS), "--config", str(config)])
    [schedule] = captured["schedules"]
    assert (schedule.cron, schedule.timezone) == ("30 1 * * *", "Europe/Berlin")


def test_prefect_yaml_points_at_the_deployed_flow():
    import yaml

    from flows import deploy

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "prefect.yaml").read_text(encoding="utf-8"))
    for deployment in spec["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        assert path == "flows/deploy.py" and getattr(deploy, name) is deploy.scheduled_nightly_qa
        assert deployment["schedules"][0]["timezone"] == "Asia/Shanghai"


def test_dask_night_env_is_read_back_by_dask_as_the_same_settings():
    """``dask scheduler`` started with these variables bounds the logs that grew over a long night."""
    import copy

    import dask.config
    import distributed  # noqa: F401  (loads the distributed defaults the variables override)

    read = dask.config.update(copy.deepcopy(dask.config.config), dask.config.collect_env(dask_night_env()))
    for key, value in DASK_NIGHT_CONFIG.items():
        assert dask.config.get(key, config=read) == value, key
