"""What a report reads: one period's results from the store (or from memory), with history."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from pipeline.errors import CallQAError
from pipeline.redact import redact_text
from pipeline.scorecards import agent_trend, build_scorecards, rule_hit_rates
from pipeline.store import Store, open_store, parse_time
from pipeline.types import CallQA, Transcript


# Free-text columns that may quote a caller; identifiers and numbers are not masked.
TEXT_COLUMNS = ("quote", "message", "resolution_evidence", "comment")


class ReportError(CallQAError):
    """A report cannot be written (nothing to report, unwritable folder, ...)."""


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one report needs, as frames shaped like the store's."""

    calls: pd.DataFrame
    findings: pd.DataFrame
    failures: pd.DataFrame
    transcripts: Mapping[str, Transcript]
    previous_calls: pd.DataFrame | None = None
    """Calls of the period before, for the trend column of the scorecards."""
    history_calls: pd.DataFrame | None = None
    """Calls of the last weeks (this period included), for trend charts."""
    since: date | None = None
    until: date | None = None


def as_date(value: str | date | datetime | None) -> date | None:
    parsed = parse_time(value) if value is not None else None
    return parsed.date() if parsed is not None else None


def load_report_data(
    store: Store,
    *,
    since: str | date | None,
    until: str | date | None,
    history_weeks: int = 12,
    run_date: str | date | None = None,
    run_id: str | None = None,
) -> ReportData:
    """Read one period's results, the period before it and some weeks of history.

    Failures are those of run ``run_id`` if given, else those recorded from ``since`` to
    ``run_date`` (a failed file has no recording date, only the time a run gave up on it).
    """
    lo, hi = as_date(since), as_date(until)
    calls = store.calls_frame(lo, hi)
    if lo is None and not calls.empty:
        lo = calls["recorded_at"].min().date()
    if hi is None and not calls.empty:
        hi = calls["recorded_at"].max().date()
    previous = history = None
    if lo is not None and hi is not None:
        length = (hi - lo) + timedelta(days=1)
        previous = store.calls_frame(lo - length, lo - timedelta(days=1))
        history = store.calls_frame(hi - timedelta(weeks=history_weeks) + timedelta(days=1), hi)
    transcripts = {cid: store.load_transcript(cid) for cid in calls["call_id"]}
    return ReportData(
        calls=calls,
        findings=store.findings_frame(calls),
        failures=store.failures_frame(run_id=run_id) if run_id else store.failures_frame(
            lo, max(d for d in (hi, as_date(run_date), date.today()) if d is not None)),
        transcripts=transcripts,
        previous_calls=previous,
        history_calls=history,
        since=lo,
        until=hi,
    )


def report_data_from_results(
    results: Iterable[tuple[Transcript, CallQA]],
    *,
    since: str | date | None = None,
    until: str | date | None = None,
) -> ReportData:
    """Report data for results not (yet) in a database, via a throw-away in-memory store."""
    with open_store("sqlite://") as store:
        for transcript, qa in results:
            store.save_call(transcript, qa)
        return load_report_data(store, since=since, until=until)


@dataclass(frozen=True, slots=True)
class ReportFrames:
    """The frames every output is built from: masked as asked, with scorecards and trends."""

    calls: pd.DataFrame
    findings: pd.DataFrame
    failures: pd.DataFrame
    agents: pd.DataFrame
    rules: pd.DataFrame
    trends: pd.DataFrame


def report_frames(data: ReportData, *, redact: bool, min_calls: int) -> ReportFrames:
    calls = redact_frame(data.calls) if redact else data.calls.copy()
    findings = redact_frame(data.findings) if redact else data.findings.copy()
    history = data.history_calls if data.history_calls is not None else calls
    return ReportFrames(
        calls=calls,
        findings=findings,
        failures=data.failures,
        agents=build_scorecards(calls, findings, min_calls=min_calls, previous=data.previous_calls),
        rules=rule_hit_rates(calls, findings),
        trends=agent_trend(history),
    )


def redact_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in TEXT_COLUMNS:
        if col in out:
            out[col] = [redact_text(v) if isinstance(v, str) else v for v in out[col]]
    return out
