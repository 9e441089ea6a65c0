"""The real offline model on a real (synthetic-voice) call fixture we own: end to end, stereo."""
from __future__ import annotations

import json

import pytest
from rapidfuzz.distance import Levenshtein
from typer.testing import CliRunner

from pipeline.calls import load_models, process_call
from callqa.cli import app
from pipeline.config import PipelineConfig
from pipeline.normalize import text_for_cer
from pipeline.types import Transcript
from tests.conftest import DATA

pytestmark = [pytest.mark.model, pytest.mark.slow]

FIXTURE = DATA / "call_stereo_30s.flac"
AGENT_REF = "您好，华鑫银行客服中心，工号3021为您服务，请问有什么可以帮您？理解您的心情，您先别着急，我先帮您办理临时挂失。请问您的身份证号是多少？"
CUSTOMER_REF = "你好，我银行卡好像丢了，找了一上午都没找到，急死了。身份证号三二零一零二，后面是……后四位四四一二。"


@pytest.fixture(scope="module")
def transcript() -> Transcript:
    cfg = PipelineConfig()
    return process_call(FIXTURE, load_models(cfg, diarization=False), cfg)


def cer(hypothesis: str, reference: str) -> float:
    return Levenshtein.distance(text_for_cer(hypothesis), text_for_cer(reference)) / len(text_for_cer(reference))


def test_stereo_call_is_transcribed_per_speaker(transcript):
    agent = "".join(u.text for u in transcript.utterances if u.speaker == "agent")
    customer = "".join(u.text for u in transcript.utterances if u.speaker == "customer")
    assert cer(agent, AGENT_REF) < 0.35
    assert cer(customer, CUSTOMER_REF) < 0.45  # digits vs 三二零… count as errors
    assert transcript.layout == "stereo" and transcript.roles.method == "channel"


def test_output_is_simplified_with_word_times(transcript):
    first = transcript.utterances[0]
    assert first.speaker == "agent" and first.start_s < 1.5
    assert "您好" in first.text or "你好" in first.text  # whisper-base writes either, by CPU kernel
    assert all(w.start_s <= w.end_s for u in transcript.utterances for w in u.words)
    assert all(0 <= w.probability <= 1 for u in transcript.utterances for w in u.words)
    speakers = [u.speaker for u in transcript.utterances]
    assert speakers[:2] == ["agent", "customer"]


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
