"""The real offline model on a real (synthetic-voice) call fixture we own: end to end, stereo."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipeline.calls import load_models, process_call
from callqa.cli import app
from pipeline.config import PipelineConfig
from pipeline.normalize import to_simplified
from pipeline.types import Transcript
from tests.conftest import DATA, cer

pytestmark = [pytest.mark.model, pytest.mark.slow]

FIXTURE = DATA / "call_stereo_30s.flac"
AGENT_REF = "您好，华鑫银行客服中心，工号3021为您服务，请问有什么可以帮您？理解您的心情，您先别着急，我先帮您办理临时挂失。请问您的身份证号是多少？"
CUSTOMER_REF = "你好，我银行卡好像丢了，找了一上午都没找到，急死了。身份证号三二零一零二，后面是……后四位四四一二。"


@pytest.fixture(scope="module")
def transcript() -> Transcript:
    cfg = PipelineConfig()
    return process_call(FIXTURE, load_models(cfg, diarization=False), cfg)


def test_stereo_call_is_transcribed_per_speaker(transcript):
    agent = "".join(u.text for u in transcript.utterances if u.speaker == "agent")
    customer = "".join(u.text for u in transcript.utterances if u.speaker == "customer")
    assert cer(agent, AGENT_REF) < 0.35
    assert cer(customer, CUSTOMER_REF) < 0.45  # digits vs 三二零… count as errors
    assert transcript.layout == "stereo" and transcript.roles.method == "channel"


def test_output_is_simplified_with_word_times(transcript):
    # Only what holds on any CPU: decoded words and pause-based utterance splits vary by kernel.
    first = transcript.utterances[0]
    assert first.speaker == "agent" and first.start_s < 1.5  # the agent opens the call at 0.3 s
    assert "您好" in first.text or "你好" in first.text  # whisper-base writes either, by CPU kernel
    text = "".join(u.text for u in transcript.utterances)
    assert to_simplified(text) == text  # Simplified, whatever the model wrote
    starts = [u.start_s for u in transcript.utterances]
    assert starts == sorted(starts) and {u.speaker for u in transcript.utterances} == {"agent", "customer"}
    for u in transcript.utterances:
        assert u.words and 0 <= u.start_s <= u.end_s <= transcript.duration_s + 0.05
        word_starts = [w.start_s for w in u.words]
        assert word_starts == sorted(word_starts)
        assert all(u.start_s - 0.05 <= w.start_s <= w.end_s <= u.end_s + 0.05 for w in u.words)
        assert all(0 <= w.probability <= 1 for w in u.words)


def test_cli_writes_schema_json_from_any_folder_without_copying_the_model(tmp_path, monkeypatch):
    """Issue 13: every working directory got its own 144 MB models/whisper-base/."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(app, ["transcribe", str(FIXTURE), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert list(elsewhere.iterdir()) == []  # the per-user model cache served it: no models/ here
    data = json.loads((tmp_path / "out" / "call_stereo_30s.json").read_text(encoding="utf-8"))
    assert data["schema_version"] == "1.0"
    assert {"call", "duration_s", "model", "pipeline_version", "utterances", "roles"} <= data.keys()
    assert Transcript.from_dict(data).utterances
