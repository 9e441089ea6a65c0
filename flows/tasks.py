"""Prefect tasks: a few lines each around ``pipeline`` functions.

Tasks take paths, small frozen values and the config. Models, the rulebook and the database
engine are loaded once per worker process (``functools`` caches) and never travel as task
parameters, so a Dask worker loads Whisper once however many calls it gets.

Only I/O errors are retried: a corrupt recording fails the same way every time, so an
``AudioError`` goes straight to the failures table instead of wasting the night on retries.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.exceptions import MissingContextError
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from sqlalchemy.exc import OperationalError

from pipeline import __version__
from pipeline.calls import Models, load_models, process_call
from pipeline.files import write_json
from pipeline.config import PipelineConfig
from pipeline.errors import CallQAError, TranscriptError
from pipeline.report import ReportPaths, load_report_data, write_reports
from pipeline.rules import DEFAULT_RULEBOOK, Rulebook, RuleOptions, assess, load_rulebook
from pipeline.scoring import CallScore, ScoringOptions
from pipeline.store import Store, open_store
from pipeline.types import CallMeta, CallQA, Transcript

logger = logging.getLogger(__name__)

# Config sections that change what Whisper + diarization produce (rules and reports do not).
TRANSCRIPTION_SECTIONS = ("asr", "audio", "diarization", "roles")
IO_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError, ConnectionError, OperationalError)


# -- cache keys and the durable transcript cache ---------------------------------------------------

def transcription_key(audio_sha256: str, meta: CallMeta, cfg: PipelineConfig) -> str:
    """Key of one call's transcript: same audio, model, settings and channel layout = same transcript."""
    # Thread and worker counts change speed, not words: a re-tuned worker must still hit the cache.
    stable = cfg.model_copy(update={"asr": cfg.asr.model_copy(update={"cpu_threads": 0, "num_workers": 1})})
    parts = (
        audio_sha256, cfg.asr.model, stable.fingerprint(*TRANSCRIPTION_SECTIONS),
        meta.layout or "", str(meta.agent_channel), __version__,
    )
    return "transcript-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def transcript_path(transcripts_dir: Path, call_id: str) -> Path:
    return Path(transcripts_dir) / f"{call_id}.json"


def cached_transcript(path: Path, key: str) -> Transcript | None:
    """The transcript stored at ``path`` if it was made under ``key``; ``None`` means "recompute"."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        # A half-written or foreign file is not an error for the night: it is simply redone.
        logger.warning("%s: unreadable cached transcript (%s); transcribing again", path, e)
        return None
    if not isinstance(data, dict) or data.get("cache_key") != key:
        return None
    try:
        return Transcript.from_dict(data)
    except TranscriptError as e:
        raise TranscriptError(f"{path}: cached transcript does not follow the transcript schema ({e}); "
                              "delete it to transcribe the call again") from e


def save_transcript(path: Path, transcript: Transcript, key: str) -> Path:
    """Write the transcript JSON (atomically) with its cache key inside."""
    return write_json(Path(path), {"cache_key": key, **transcript.to_dict()})


# Content-addressed copies: the key holds no call id, so the same audio bytes under the same ASR
# config and channel mapping are decoded once, whatever id the manifest gives them (a re-sent or
# re-labelled recording is not transcribed twice).
BY_CONTENT_DIR = ".by-content"


def content_path(transcripts_dir: Path, key: str) -> Path:
    return Path(transcripts_dir) / BY_CONTENT_DIR / f"{key}.json"


def transcript_by_content(transcripts_dir: Path, key: str, meta: CallMeta, path: str | Path) -> Transcript | None:
    """A transcript of the same audio made under ``key`` for any call id, re-labelled as ``meta``."""
    found = cached_transcript(content_path(transcripts_dir, key), key)
    if found is None:
        return None
    relabelled = with_current_meta(found, meta)
    return replace(relabelled, call=replace(relabelled.call, source_path=str(path)))


def with_current_meta(transcript: Transcript, meta: CallMeta) -> Transcript:
    """A cached transcript with today's manifest data (agent, time may be corrected later)."""
    call = replace(transcript.call, call_id=meta.call_id, agent_id=meta.agent_id, recorded_at=meta.recorded_at)
    return replace(transcript, call=call)


# -- per-process caches ------------------------------------------------------------------------------

_models_lock = threading.Lock()


def worker_models(cfg: PipelineConfig, *, diarization: bool) -> Models:
    """Models for this process, loaded on first use (threads of one worker share them)."""
    with _models_lock:
        return _load_models(cfg.model_dump_json(), diarization)


@lru_cache(maxsize=4)
def _load_models(cfg_json: str, diarization: bool) -> Models:
    return load_models(PipelineConfig.model_validate_json(cfg_json), diarization=diarization)


@lru_cache(maxsize=8)
def _rulebook(path: str, mtime_ns: int) -> Rulebook:
    return load_rulebook(path)


def worker_rulebook(cfg: PipelineConfig) -> Rulebook:
    """The configured rulebook, re-read when its file changes (a weight edit counts on the next run)."""
    path = Path(cfg.rules.rulebook or DEFAULT_RULEBOOK)
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime_ns = 0  # load_rulebook raises the explanatory RulebookError
    return _rulebook(str(path), mtime_ns)


@lru_cache(maxsize=4)
def worker_store(url: str, pass_score: float) -> Store:
    return open_store(url, scoring=ScoringOptions(pass_score=pass_score))


def store_for(cfg: PipelineConfig) -> Store:
    return worker_store(cfg.store.url, cfg.report.pass_score)


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a run (logs reach the UI), this module's outside (plain calls)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logger


# -- retries ----------------------------------------------------------------------------------------

def retry_on_io(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry transient I/O failures only; a CallQAError (corrupt audio, bad rule) would fail again."""
    try:
        state.result()
    except CallQAError:
        return False
    except IO_ERRORS:
        return True
    except Exception:  # noqa: BLE001 - anything else is a bug or bad data: retrying will not help
        return False
    return False


def _transcription_cache_key(context: Any, parameters: dict[str, Any]) -> str:
    return parameters["key"]


# -- tasks ------------------------------------------------------------------------------------------

@task(
    name="transcribe-call",
    task_run_name="transcribe-{meta.call_id}",
    # `prefect concurrency-limit create whisper N` caps simultaneous transcriptions (e.g. per GPU).
    tags=["whisper"],
    cache_key_fn=_transcription_cache_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=retry_on_io,
)
def transcribe_call(path: str, meta: CallMeta, cfg: PipelineConfig, key: str, transcripts_dir: str) -> Transcript:
    """Transcribe and attribute speakers for one call, or return the transcript made under ``key``."""
    log = run_logger()
    out = transcript_path(Path(transcripts_dir), meta.call_id)
    transcript = cached_transcript(out, key)
    if transcript is not None:
        log.info("%s: transcript already made with this model and config", meta.call_id)
        return transcript
    transcript = transcript_by_content(Path(transcripts_dir), key, meta, path)
    if transcript is not None:
        log.info("%s: same audio already transcribed under another call id; reused", meta.call_id)
        save_transcript(out, transcript, key)
        return transcript
    started = time.perf_counter()
    models = worker_models(cfg, diarization=meta.layout != "stereo")
    transcript = process_call(path, models, cfg, meta=meta)
    save_transcript(out, transcript, key)
    save_transcript(content_path(Path(transcripts_dir), key), transcript, key)
    elapsed = time.perf_counter() - started
    log.info("%s: %.0f s of %s audio transcribed in %.1f s (%d utterances, roles by %s, confidence %.2f)",
             meta.call_id, transcript.duration_s, transcript.layout, elapsed, len(transcript.utterances),
             transcript.roles.method, transcript.roles.confidence)
    for warning in transcript.warnings:
        log.warning("%s: %s", meta.call_id, warning)
    return transcript


@task(
    name="score-call",
    task_run_name="score-{transcript.call.call_id}",
    cache_policy=NO_CACHE,
    retries=3,
    retry_delay_seconds=[1, 5, 15],
    retry_condition_fn=retry_on_io,
)
def score_call(transcript: Transcript, run_id: str, cfg: PipelineConfig) -> tuple[CallQA, CallScore]:
    """Apply the current rulebook and upsert the call with its score (never cached: rules change).

    The store scores the findings, applying reviewers' decisions already recorded for them.
    """
    qa = assess(transcript, worker_rulebook(cfg), RuleOptions.from_config(cfg.rules))
    saved = store_for(cfg).save_call(transcript, qa, run_id=run_id)
    run_logger().info("%s: score %.1f, %d findings", qa.call_id, saved.score.score, saved.n_findings)
    return qa, saved.score


@task(name="record-failure", task_run_name="record-failure-{call_id}", cache_policy=NO_CACHE,
      retries=3, retry_delay_seconds=[1, 5, 15], retry_condition_fn=retry_on_io)
def record_failure(run_id: str, path: str, call_id: str, error: BaseException, cfg: PipelineConfig) -> None:
    """Put a call that could not be processed into the run's failures table (type and message)."""
    store_for(cfg).record_failure(run_id, path=path, error=error, call_id=call_id)


@task(name="write-reports", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5,
      retry_condition_fn=retry_on_io)
def write_run_reports(
    run_id: str,
    cfg: PipelineConfig,
    *,
    since: str | None,
    until: str | None,
    run_date: str,
    audio_root: str | None,
) -> ReportPaths:
    """CSV, XLSX and HTML reports for the period, listing this run's failures."""
    store = store_for(cfg)
    data = load_report_data(store, since=since, until=until)
    # The report lists what this run could not process, whatever the recordings' dates.
    data = replace(data, failures=store.failures_frame(run_id=run_id))
    return write_reports(
        data, cfg.report.out_dir, run_date=run_date, audio_root=Path(audio_root) if audio_root else None,
        redact=cfg.report.redact_pii, min_calls=cfg.report.min_calls_for_ranking,
        pass_score=cfg.report.pass_score,
    )

