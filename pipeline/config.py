"""Pipeline configuration: one YAML file, validated once, with a documented default per field.

Model choice, device and compute type are configuration, never code changes::

    asr:
      model: large-v3          # registry name, local CTranslate2 directory, or hub id
      device: cuda
      compute_type: float16
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ConfigError


# call id from names such as dev-001.stereo.flac or 12345.wav (override in flow.filename_pattern)
DEFAULT_FILENAME_PATTERN = r"(?P<call_id>[^/]+?)(?:\.(?:stereo|mono8k|mono))?\.(?:wav|flac|mp3|m4a|ogg|opus|amr)$"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AsrConfig(_Section):
    model: str = Field("whisper-base", description="Registry name, CTranslate2 directory or hub id.")
    device: Literal["cpu", "cuda", "auto"] = Field("cpu", description="Where Whisper runs.")
    compute_type: str = Field("int8", description="CTranslate2 compute type (int8, float16, ...).")
    cpu_threads: int = Field(
        0, ge=0, description="CPU threads per CTranslate2 worker; 0 = the cores this process may use divided "
        "by num_workers (CTranslate2's own default of 4 oversubscribes small machines).",
    )
    num_workers: int = Field(
        2, ge=1, description="CTranslate2 workers per loaded model, i.e. decodes that run at once: the two "
        "channels of a stereo call are transcribed side by side (2), and with flow.task_runner threads "
        "several calls share the workers. 1 = one decode at a time, using every thread. On 2 cores, 2 "
        "workers x 1 thread took 0.54x the time of 1 x 2 for the same words (see README, Benchmark).",
    )
    batch_size: int = Field(
        0, ge=0, description="Windows decoded together by faster-whisper's BatchedInferencePipeline, the VAD "
        "speech of both stereo channels in one pass (e.g. 8); 0 or 1 = sequential WhisperModel.transcribe per "
        "channel. Sequential is the default: batched was 0.62x the time of bare faster-whisper but 23.7 % CER vs "
        "17.5 % on the 40 dev calls, where channels side by side (num_workers 2) gave 0.64x at 17.5 % (README, "
        "Benchmark).",
    )
    hotwords: tuple[str, ...] = Field(
        (), description="Product and brand names put before every window as faster-whisper hotwords "
        "(joined with ，); empty = none.",
    )
    beam_size: int = Field(5, ge=1, description="Beam width of the decoder.")
    language: str = Field("zh", description="Spoken language passed to Whisper.")
    initial_prompt: str = Field(
        "",
        description="Prompt for every 30 s window (Simplified and punctuated, e.g. 以下是普通话的句子。). Off by "
        "default: with whisper-base any prompt raised CER on real speech (10.0% -> 12.4% neutral, 19.5% "
        "call-centre phrases, which leaked into the text); larger models follow prompts better.",
    )
    vad_min_silence_ms: int = Field(500, ge=50, description="Silence that ends a VAD speech chunk.")
    vad_speech_pad_ms: int = Field(
        400, ge=0, description="Audio kept before and after each VAD speech chunk (faster-whisper's speech_pad_ms)."
    )
    utterance_pause_s: float = Field(
        1.0, gt=0, description="A gap between words at least this long splits an utterance."
    )
    hallucination_silence_threshold_s: float | None = Field(
        None, gt=0, description="Skip silences longer than this when Whisper seems to hallucinate there "
        "(faster-whisper's hallucination_silence_threshold); None = off.",
    )
    models_dir: Path | None = Field(
        None, description="Where registry models are assembled and looked up; None = the per-user cache "
        "($CALLQA_MODELS_DIR, else ~/.cache/callqa/models via platformdirs), shared by every working directory.",
    )


class AudioConfig(_Section):
    agent_channel: int = Field(0, ge=0, le=1, description="Stereo channel of the agent by default.")
    max_duration_s: float = Field(4 * 3600, gt=0, description="Longer recordings are rejected.")
    min_duration_s: float = Field(0.5, ge=0, description="Shorter recordings are rejected as empty.")
    silence_dbfs: float = Field(-55.0, description="A channel whose RMS is below this is silent.")


class DiarizationConfig(_Section):
    backend: Literal["offline", "pyannote"] = Field("offline", description="Diarizer used for mono calls.")
    pyannote_pipeline: str = Field(
        "models/pyannote-community-1",
        description="Local pyannote pipeline directory or hub id (with token) for backend=pyannote.",
    )
    hf_token: str | None = Field(None, description="Hub token, only for a hub id.")
    num_speakers: int | None = Field(2, description="Exact speaker count; None lets min/max decide.")
    min_speakers: int = Field(2, ge=1)
    max_speakers: int = Field(2, ge=1)
    device: Literal["cpu", "cuda"] = Field("cpu")
    # Offline backend (Silero VAD + resemblyzer embeddings + two-state Viterbi); see pipeline/diarization/offline.py.
    vad_threshold: float = Field(0.5, gt=0, lt=1, description="Silero speech probability that starts speech.")
    vad_min_gap_s: float = Field(0.15, ge=0, description="Shorter silences inside speech are bridged.")
    vad_min_speech_s: float = Field(0.12, ge=0, description="Shorter speech blips are dropped (clicks, breaths).")
    vad_pad_s: float = Field(0.05, ge=0, description="Padding added around each speech region.")
    window_s: float = Field(1.5, gt=0.2, description="Speaker-embedding window length.")
    hop_s: float = Field(0.5, gt=0.05, description="Hop between embedding windows inside long speech regions.")
    change_prob_speech: float = Field(
        0.01, gt=0, lt=1, description="Prior probability of a speaker change between windows of continuous speech."
    )
    change_prob_short: float = Field(0.05, gt=0, lt=1, description="... across a very short pause (inside a turn).")
    change_prob_long: float = Field(0.7, gt=0, lt=1, description="... across a long pause (turns change hands).")
    turn_gap_s: float = Field(0.5, gt=0, description="Pause length halfway between the short and long priors.")
    turn_gap_width_s: float = Field(0.08, gt=0, description="How sharply the prior moves from short to long.")
    fill_gap_s: float = Field(
        0.8, ge=0, description="Pauses shorter than this between turns of one speaker are filled (one turn)."
    )
    cpu_threads: int = Field(
        1, ge=0, description="Torch threads for the offline speaker encoder (0 = torch default); one is "
        "fastest for its small batches and leaves the other cores to Whisper."
    )


class RolesConfig(_Section):
    review_threshold: float = Field(
        0.7, ge=0, le=1, description="Role confidence below this marks the call needs_review."
    )
    voiceprints_dir: Path | None = Field(None, description="Enrolled agent voice samples (<agent_id>.wav).")
    lexical_scale: float = Field(0.5, gt=0, description="Log-odds per point of lexical agent-cue score.")
    first_speaker_logit: float = Field(1.0, ge=0, description="Log-odds that whoever opens the call is the agent.")
    voiceprint_scale: float = Field(20.0, ge=0, description="Log-odds per unit of voiceprint cosine difference.")
    stereo_mapping_logit: float = Field(
        3.0, ge=0, description="Prior log-odds that a stereo channel mapping is right before the words are checked."
    )


class RulesConfig(_Section):
    rulebook: Path | None = Field(None, description="YAML rulebook; None = the bundled default.")
    disabled: tuple[str, ...] = Field((), description="Rule ids switched off.")
    review_below_confidence: float = Field(
        0.5, ge=0, le=1, description="Findings on speech with lower ASR confidence need review."
    )


class ReportConfig(_Section):
    out_dir: Path = Field(Path("reports"), description="Reports go to <out_dir>/<run date>/.")
    redact_pii: bool = Field(True, description="Mask phone, ID, bank card numbers and addresses.")
    min_calls_for_ranking: int = Field(3, ge=1, description="Agents with fewer calls are not ranked.")
    pass_score: float = Field(80.0, ge=0, le=100, description="Calls scoring at least this pass.")


class StoreConfig(_Section):
    url: str = Field("sqlite:///reports/callqa.db", description="SQLAlchemy URL (SQLite or PostgreSQL).")


class FlowConfig(_Section):
    task_runner: Literal["threads", "dask"] = Field("threads")
    dask_address: str | None = Field(None, description="Existing Dask scheduler; None = local cluster.")
    max_workers: int = Field(2, ge=1)
    max_in_flight: int = Field(
        0, ge=0, description="Calls handed to the task runner at once; the next is submitted as one finishes, "
        "so memory stays flat however long the night (finished results are released). 0 = 4 x max_workers.",
    )

    @property
    def in_flight(self) -> int:
        return self.max_in_flight or 4 * self.max_workers

    cron: str = Field("0 2 * * *")
    timezone: str = Field("Asia/Shanghai")
    filename_pattern: str = Field(
        DEFAULT_FILENAME_PATTERN,
        description="Regex with named groups (call_id, agent_id, recorded_at) used when no manifest exists.",
    )

    @field_validator("filename_pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ValueError(f"not a valid regex ({e}); e.g. {DEFAULT_FILENAME_PATTERN}") from e
        return pattern


class PipelineConfig(_Section):
    asr: AsrConfig = AsrConfig()
    audio: AudioConfig = AudioConfig()
    diarization: DiarizationConfig = DiarizationConfig()
    roles: RolesConfig = RolesConfig()
    rules: RulesConfig = RulesConfig()
    report: ReportConfig = ReportConfig()
    store: StoreConfig = StoreConfig()
    flow: FlowConfig = FlowConfig()

    def fingerprint(self, *sections: str) -> str:
        """Stable hash of the named sections (all by default), used in cache keys."""
        names = sections or tuple(type(self).model_fields)
        payload = {name: getattr(self, name).model_dump(mode="json") for name in names}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: str | Path | None = None) -> PipelineConfig:
    """Read and validate a YAML config; ``None`` gives the defaults."""
    if path is None:
        return PipelineConfig()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: config file not found; pass an existing YAML file or omit --config") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); save the config as UTF-8 YAML") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config ({e.strerror}); pass a readable YAML file") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())
        raise ConfigError(f"{path}{where}: not valid YAML ({problem}); fix the syntax at that line") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (asr, audio, rules, ...), found "
                          f"{type(data).__name__}; see the configuration section of the README")
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        problems = " ".join(problems.split())  # one line: YAML keys and values may hold newlines
        raise ConfigError(f"{path}: invalid configuration: {problems}") from e
