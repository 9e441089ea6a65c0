from __future__ import annotations

import pytest

from pipeline.config import PipelineConfig, load_config
from pipeline.errors import ConfigError


def test_defaults_and_override(tmp_path):
    path = tmp_path / "callqa.yaml"
    path.write_text("asr:\n  model: large-v3\n  device: cuda\n  compute_type: float16\n")
    cfg = load_config(path)
    assert (cfg.asr.model, cfg.asr.device, cfg.asr.compute_type) == ("large-v3", "cuda", "float16")
    assert cfg.audio.agent_channel == 0
    assert cfg.fingerprint("asr") != PipelineConfig().fingerprint("asr")
    assert cfg.fingerprint("audio") == PipelineConfig().fingerprint("audio")


def test_invalid_values_are_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("asr:\n  beam_size: 0\n  modle: x\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: invalid configuration: asr.beam_size.*asr.modle"):
        load_config(path)


def test_broken_yaml_and_missing_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("asr: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.yaml")


def test_asr_speed_fields_have_documented_defaults(tmp_path):
    asr = PipelineConfig().asr
    assert asr.batch_size == 0 and asr.hotwords == () and asr.num_workers == 2 and asr.vad_speech_pad_ms == 400
    path = tmp_path / "callqa.yaml"
    path.write_text("asr:\n  batch_size: 8\n  hotwords: [华鑫银行, 速达快递]\n")
    cfg = load_config(path)
    assert cfg.asr.batch_size == 8 and cfg.asr.hotwords == ("华鑫银行", "速达快递")
    assert cfg.fingerprint("asr") != PipelineConfig().fingerprint("asr")  # a new setting is a new transcript
    path.write_text("asr:\n  batch_size: -1\n")
    with pytest.raises(ConfigError, match="asr.batch_size"):
        load_config(path)
