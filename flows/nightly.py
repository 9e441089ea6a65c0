"""The nightly QA flow: new recordings in, database rows, reports and Prefect artifacts out.

    discover -> transcribe (one task per call, cached) -> score (rules + DB) -> reports -> artifacts

Transcription is the only expensive step, so it is the only one cached: a recording already
transcribed with the same audio, model and transcription settings is skipped (its transcript
JSON under ``reports/transcripts/`` carries the key, so this survives a killed run, and Prefect's
own task cache sits behind it). Rules, scores, the database and the reports are always redone,
so a rulebook edit shows up in the next run within seconds.

A call that fails (corrupt audio, a rule error) is written to the run's failures table and
report; the night goes on. Killing the run and starting it again redoes only unfinished calls,
and the database upserts keep one row per call.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from prefect import flow
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from pipeline import __version__
from pipeline.audio import file_sha256
from pipeline.config import FlowConfig, PipelineConfig, load_config
from pipeline.errors import CallQAError, MetadataError, TranscriptError
from pipeline.metadata import discover_recordings
from pipeline.store import parse_time
from pipeline.types import CallMeta, Transcript
from flows.tasks import (
    cached_transcript,
    content_path,
    record_failure,
    run_logger,
    score_call,
    store_for,
    transcribe_call,
    transcript_path,
    transcription_key,
    with_current_meta,
    worker_rulebook,
    write_run_reports,
)

logger = logging.getLogger(__name__)

Status = Literal["found", "cached", "transcribed", "failed"]


@dataclass(frozen=True, slots=True)
class CallProgress:
    """One step of the night, for progress bars: ``done`` of ``total`` calls are finished."""

    status: Status
    done: int
    total: int
    call_id: str = ""
    score: float | None = None
    message: str = ""


ProgressHook = Callable[[CallProgress], None]


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    call_id: str
    error_type: str
    message: str


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one run did (no transcripts, no personal data: it becomes the markdown artifact)."""

    run_id: str
    source: str
    n_found: int
    n_transcribed: int
    """Calls whose audio went through Whisper in this run."""
    n_cached: int
    """Calls whose transcript was reused (same audio, model and transcription config)."""
    n_scored: int
    failures: tuple[Failure, ...]
    rulebook: str
    mean_score: float | None
    pass_rate: float | None
    top_rules: tuple[tuple[str, int], ...]
    """Rules that counted most often in this run: (rule id, findings)."""
    report_dir: str | None
    index_html: str | None
    elapsed_s: float
    report_s: float = 0.0
    """Of ``elapsed_s``, the time spent writing reports."""
    agent_rows: tuple[dict, ...] = field(default=(), repr=False)

    @property
    def n_failed(self) -> int:
        return len(self.failures)


# The CLI's progress bar; set by run_nightly for the flow running in this process.
_progress_hook: ProgressHook | None = None


def _report(event: CallProgress) -> None:
    if _progress_hook is not None:
        try:
            _progress_hook(event)
        except Exception:  # noqa: BLE001 - a broken progress bar must not stop the night
            logger.exception("progress hook failed")


def select_recordings(
    recordings: list[tuple[Path, CallMeta]], since: str | None, until: str | None
) -> list[tuple[Path, CallMeta]]:
    """Recordings made in [since, until] (a bare ``until`` date includes that day).

    The manifest's ``recorded_at`` decides; without one, the file's modification time.
    """
    if not since and not until:
        return recordings
    lo = parse_time(since)
    hi = parse_time(until)
    if hi is not None and until is not None and len(until) <= 10:
        hi += timedelta(days=1)
    chosen = []
    for path, meta in recordings:
        try:
            when = parse_time(meta.recorded_at)
        except CallQAError:
            when = None
        if when is None:
            when = datetime.fromtimestamp(path.stat().st_mtime)
        if (lo is None or when >= lo) and (hi is None or when < hi):
            chosen.append((path, meta))
    return chosen


# Dask keeps fixed-length logs of tasks, transitions, events and system samples, long enough by
# default (10,000 entries, events kept an hour) that a 1,000-call night grows the scheduler by
# about 0.1 GB (0.22 -> 0.32 GB). Bounded, peak RSS at 1,000 calls stays within 10 % of 100 calls
# (`callqa bench --section scale`: +9.1 % and +6.8 % in two runs, scheduler 0.23 -> 0.26 GB).
DASK_NIGHT_CONFIG: dict[str, object] = {
    "distributed.admin.log-length": 200,
    "distributed.admin.low-level-log-length": 200,
    "distributed.admin.system-monitor.log-length": 120,
    "distributed.diagnostics.computations.max-history": 10,
    "distributed.scheduler.events-cleanup-delay": "60s",
}


def dask_night_env(config: dict[str, object] = DASK_NIGHT_CONFIG) -> dict[str, str]:
    """:data:`DASK_NIGHT_CONFIG` as the environment variables ``dask scheduler`` and ``dask worker``
    read (``DASK_DISTRIBUTED__ADMIN__LOG_LENGTH=200`` ...), for clusters started outside the flow."""
    return {"DASK_" + "__".join(part.upper().replace("-", "_") for part in key.split(".")): str(value)
            for key, value in config.items()}


def build_task_runner(flow_cfg: FlowConfig):
    """Threads by default; a Dask cluster (existing address, or a local one) from the config."""
    if flow_cfg.task_runner == "dask":
        import dask
        from prefect_dask import DaskTaskRunner

        if flow_cfg.dask_address:  # its scheduler and workers were started with dask_night_env()
            return DaskTaskRunner(address=flow_cfg.dask_address)
        dask.config.set(DASK_NIGHT_CONFIG)  # the local cluster's scheduler and workers read it
        # One thread per worker process: Whisper already uses several cores per call.
        return DaskTaskRunner(cluster_kwargs={
            "n_workers": flow_cfg.max_workers, "threads_per_worker": 1, "processes": True,
            "dashboard_address": None,
        })
    return ThreadPoolTaskRunner(max_workers=flow_cfg.max_workers)


@flow(name="nightly-qa", task_runner=ThreadPoolTaskRunner(max_workers=2))
def nightly_qa(
    source: str,
    since: str | None = None,
    until: str | None = None,
    config: str | None = None,
) -> RunSummary:
    """Transcribe new recordings under ``source``, score every call, write the DB and reports.

    ``since``/``until`` (ISO dates or times) limit the recordings by their recorded time;
    ``config`` is a pipeline YAML file (defaults otherwise).
    """
    started = time.perf_counter()
    log = run_logger()
    cfg = load_config(config)
    recordings = select_recordings(discover_recordings(Path(source), pattern=cfg.flow.filename_pattern,
                                                      agent_channel=cfg.audio.agent_channel), since, until)
    rulebook = worker_rulebook(cfg)
    store = store_for(cfg)
    # before the run row: an edited rulebook under a used version stops the night before it starts
    content = rulebook.path.read_text(encoding="utf-8") if rulebook.path else ""
    store.save_rulebook_version(rulebook.id, rulebook.version, content=content, sha256=rulebook.sha256)
    run_id = store.start_run(
        run_id=str(flow_run.id) if flow_run.id else None, rulebook_id=rulebook.id,
        rulebook_version=rulebook.version, config_hash=cfg.fingerprint(), pipeline_version=__version__,
    )
    log.info("run %s: %d recordings under %s, rulebook %s %s", run_id, len(recordings), source,
             rulebook.id, rulebook.version)

    night = _Night(cfg, run_id, total=len(recordings))
    _report(CallProgress("found", 0, night.total))
    transcripts_dir = (cfg.report.out_dir / "transcripts").resolve()
    transcribe = transcribe_call.with_options(result_storage=(cfg.report.out_dir / ".prefect-cache").resolve())

    # A bounded window of submitted calls: each finished future is scored and dropped before the
    # next call goes in, so neither this process nor the workers hold a whole night of results.
    to_transcribe: list[tuple[Path, CallMeta, str]] = []
    pending: dict[PrefectFuture, tuple[Path, CallMeta, Status]] = {}

    def top_up() -> None:
        while to_transcribe and len(pending) < cfg.flow.in_flight:
            path, meta, key = to_transcribe.pop(0)
            # the task reuses a transcript of the same audio under another call id: counted as reused
            how: Status = "cached" if content_path(transcripts_dir, key).exists() else "transcribed"
            pending[transcribe.submit(str(path), meta, cfg, key, str(transcripts_dir))] = (path, meta, how)

    seen: dict[str, Path] = {}
    for path, meta in recordings:
        if meta.call_id in seen:
            night.fail(path, meta, MetadataError(
                f"{path}: call id {meta.call_id!r} is also used by {seen[meta.call_id]}; give every "
                "recording a unique call_id in the manifest"))
            continue
        seen[meta.call_id] = path
        try:
            key = transcription_key(file_sha256(path), meta, cfg)
        except OSError as e:
            night.fail(path, meta, e)
            continue
        try:
            cached = cached_transcript(transcript_path(transcripts_dir, meta.call_id), key)
        except TranscriptError as e:
            log.warning("%s", e)
            cached = None
        if cached is not None:  # scored here, while the workers run Whisper on the new ones
            night.finish(path, meta, cached, "cached")
        else:
            to_transcribe.append((path, meta, key))
            top_up()

    while pending:
        future = next(as_completed(list(pending)))
        path, meta, how = pending.pop(future)
        outcome = future.result(raise_on_failure=False)
        if isinstance(outcome, BaseException):
            night.fail(path, meta, outcome)
        else:
            night.finish(path, meta, outcome, how)
        del future, outcome
        top_up()

    store.finish_run(run_id, n_calls=len(night.scores), n_failed=len(night.failures),
                     status="finished" if not night.failures else "finished-with-failures")
    lo, hi = (since, until) if since or until else night.period()
    report_started = time.perf_counter()
    paths = write_run_reports(run_id, cfg, since=lo, until=hi, run_date=date.today().isoformat(),
                              audio_root=str(Path(source).resolve()) if Path(source).is_dir() else None)
    summary = night.summary(source, rulebook=f"{rulebook.id} {rulebook.version}", paths=paths,
                            elapsed_s=time.perf_counter() - started,
                            report_s=time.perf_counter() - report_started)
    publish_artifacts(summary)
    log.info("run %s: %d scored (%d transcribed, %d reused), %d failed in %.1f s; report %s",
             run_id, summary.n_scored, summary.n_transcribed, summary.n_cached, summary.n_failed,
             summary.elapsed_s, summary.index_html)
    return summary


class _Night:
    """Book-keeping of one run: scores, failures and the progress count."""

    def __init__(self, cfg: PipelineConfig, run_id: str, *, total: int) -> None:
        self.cfg = cfg
        self.run_id = run_id
        self.total = total
        self.done = 0
        self.scores: dict[str, float] = {}
        self.passed: dict[str, bool] = {}
        self.recorded: list[datetime] = []
        self.how: Counter[str] = Counter()
        self.rule_hits: Counter[str] = Counter()
        self.failures: list[Failure] = []

    def finish(self, path: Path, meta: CallMeta, transcript: Transcript, how: Status) -> None:
        try:
            transcript = with_current_meta(transcript, meta)
            qa, score = score_call(transcript, self.run_id, self.cfg)
        except Exception as e:  # noqa: BLE001 - one bad call must not end the night
            self.fail(path, meta, e)
            return
        self.scores[meta.call_id] = score.score
        self.passed[meta.call_id] = score.passed
        self.how[how] += 1
        self.rule_hits.update(f.rule_id for f in qa.findings if not f.needs_review)
        when = parse_time(qa.recorded_at or transcript.call.recorded_at)  # the store has validated it
        if when is not None:
            self.recorded.append(when)
        self.done += 1
        run_logger().info("%s: %s, score %.1f (%d/%d)", meta.call_id, how, score.score, self.done, self.total)
        _report(CallProgress(how, self.done, self.total, meta.call_id, score.score))

    def fail(self, path: Path, meta: CallMeta, error: BaseException) -> None:
        failure = Failure(str(path), meta.call_id, type(error).__name__, str(error))
        self.failures.append(failure)
        record_failure(self.run_id, str(path), meta.call_id, error, self.cfg)
        self.done += 1
        run_logger().warning("%s failed (%s): %s", meta.call_id, failure.error_type, failure.message)
        _report(CallProgress("failed", self.done, self.total, meta.call_id, message=failure.message))

    def period(self) -> tuple[str | None, str | None]:
        """The recording days of this run's calls (the report's period); today when none."""
        if not self.recorded:
            today = date.today().isoformat()
            return today, today
        return min(self.recorded).date().isoformat(), max(self.recorded).date().isoformat()

    def summary(self, source: str, *, rulebook: str, paths, elapsed_s: float, report_s: float) -> RunSummary:
        scores = list(self.scores.values())
        agents = _agent_rows(paths.agents_csv) if paths is not None else ()
        return RunSummary(
            run_id=self.run_id, source=str(source), n_found=self.total,
            n_transcribed=self.how["transcribed"], n_cached=self.how["cached"], n_scored=len(scores),
            failures=tuple(self.failures), rulebook=rulebook,
            mean_score=round(sum(scores) / len(scores), 1) if scores else None,
            pass_rate=round(sum(self.passed.values()) / len(scores), 3) if scores else None,
            top_rules=tuple(self.rule_hits.most_common(5)),
            report_dir=str(paths.root) if paths is not None else None,
            index_html=str(paths.index_html.resolve()) if paths is not None else None,
            elapsed_s=round(elapsed_s, 1), report_s=round(report_s, 1), agent_rows=agents,
        )


_AGENT_COLUMNS = ("rank", "agent_id", "status", "calls", "mean_score", "ci_low", "ci_high", "pass_rate",
                  "fatal_calls", "findings_per_call", "trend")


def _agent_rows(agents_csv: Path) -> tuple[dict, ...]:
    import pandas as pd

    frame = pd.read_csv(agents_csv)
    frame = frame[[c for c in _AGENT_COLUMNS if c in frame.columns]]
    # JSON has no NaN: blank cells for "not ranked" / "no previous period".
    return tuple(frame.astype(object).where(frame.notna(), None).to_dict("records"))


def summary_markdown(summary: RunSummary) -> str:
    """The run's markdown artifact: counts, failures and rule ids; no transcript text."""
    lines = [
        f"# Nightly QA run `{summary.run_id}`",
        "",
        f"Rulebook **{summary.rulebook}**; {summary.elapsed_s:.0f} s ({summary.report_s:.0f} s of it reports).",
        "",
        "| recordings | transcribed | reused | scored | failed | mean score | pass rate |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary.n_found} | {summary.n_transcribed} | {summary.n_cached} | {summary.n_scored} "
        f"| {summary.n_failed} | {_fmt(summary.mean_score)} | {_fmt_pct(summary.pass_rate)} |",
    ]
    if summary.top_rules:
        lines += ["", "## Top findings", "", "| rule | findings |", "|---|---:|"]
        lines += [f"| `{rule}` | {n} |" for rule, n in summary.top_rules]
    if summary.failures:
        lines += ["", "## Failed recordings", "", "| file | error | reason |", "|---|---|---|"]
        lines += [f"| `{Path(f.path).name}` | {f.error_type} | {_cell(f.message)} |" for f in summary.failures]
    if summary.index_html:
        lines += ["", f"Report: `{summary.index_html}`"]
    return "\n".join(lines) + "\n"


def publish_artifacts(summary: RunSummary) -> None:
    """Table of agent scores, markdown summary, link to the HTML report (lowercase-dashed keys)."""
    if summary.agent_rows:
        create_table_artifact(key="agent-scores", table=list(summary.agent_rows),
                              description=f"Agent scorecards, run {summary.run_id}")
    create_markdown_artifact(key="nightly-qa-summary", markdown=summary_markdown(summary),
                             description="Counts, failures and top findings of the nightly QA run")
    if summary.index_html:
        create_link_artifact(key="qa-report", link=Path(summary.index_html).as_uri(),
                             link_text="QA report (HTML)", description="Reports of this run")


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _cell(text: str) -> str:
    # The path is already in the file column; keep the reason short and table-safe.
    return text.replace("|", "\\|").replace("\n", " ")[:300]


def run_nightly(
    source: str | Path,
    *,
    config: str | Path | None = None,
    since: str | None = None,
    until: str | None = None,
    progress: ProgressHook | None = None,
) -> RunSummary:
    """Run the flow once in this process with the configured task runner (used by ``callqa run``)."""
    global _progress_hook
    cfg = load_config(config)
    runner = build_task_runner(cfg.flow)
    _progress_hook = progress
    try:
        return nightly_qa.with_options(task_runner=runner)(
            str(source), since=since, until=until, config=str(config) if config else None,
        )
    finally:
        _progress_hook = None
