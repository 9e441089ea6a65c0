"""write_reports: every output of one period, each from its own builder."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.report.agent_pages import write_agent_pages
from pipeline.report.call_pages import write_call_pages
from pipeline.report.data import ReportData, as_date, load_report_data, report_frames
from pipeline.report.index_page import write_index_page
from pipeline.report.site import open_site
from pipeline.report.tables import csv_tables
from pipeline.report.workbook import write_workbook
from pipeline.store import Store

logger = logging.getLogger("pipeline.report")


@dataclass(frozen=True, slots=True)
class ReportPaths:
    """Where :func:`write_reports` put each output."""

    root: Path
    calls_csv: Path
    findings_csv: Path
    agents_csv: Path
    rules_csv: Path
    failures_csv: Path
    scorecards_xlsx: Path
    index_html: Path
    agent_pages: dict[str, Path] = field(default_factory=dict)
    call_pages: dict[str, Path] = field(default_factory=dict)


def write_reports(
    source: Store | ReportData,
    out_dir: Path,
    *,
    run_date: date | str | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
    audio_root: Path | None = None,
    copy_audio: bool = False,
    redact: bool = True,
    min_calls: int = 3,
    pass_score: float = 80.0,
    run_id: str | None = None,
) -> ReportPaths:
    """Write every report for one period into ``out_dir/<run date>/`` and return the paths.

    ``source`` is a :class:`~pipeline.store.Store` (the period is read with ``since``/
    ``until``; failures of ``run_id``, see :func:`load_report_data`) or ready
    :class:`ReportData`. ``copy_audio`` copies recordings into the
    report (self-contained, e.g. for a web server); otherwise pages link them by relative path.
    """
    data = source if isinstance(source, ReportData) else load_report_data(
        source, since=since, until=until, run_date=run_date, run_id=run_id)
    run_day = as_date(run_date) or date.today()
    period = f"{data.since or '…'} – {data.until or '…'}"
    site = open_site(Path(out_dir) / run_day.isoformat(), {
        "period": period, "root": "", "run_date": run_day.isoformat(), "pass_score": pass_score, "redacted": redact,
    })
    root = site.root
    frames = report_frames(data, redact=redact, min_calls=min_calls)

    for name, table in csv_tables(frames).items():
        table.to_csv(root / name, index=False)
    write_workbook(root / "scorecards.xlsx", frames)
    paths = ReportPaths(
        root=root,
        calls_csv=root / "calls.csv",
        findings_csv=root / "findings.csv",
        agents_csv=root / "agents.csv",
        rules_csv=root / "rules.csv",
        failures_csv=root / "failures.csv",
        scorecards_xlsx=root / "scorecards.xlsx",
        index_html=write_index_page(site, frames, pass_score=pass_score, min_calls=min_calls),
        agent_pages=write_agent_pages(site, frames, pass_score=pass_score),
    )
    paths.call_pages.update(write_call_pages(
        site, frames, data.transcripts, agents_with_pages=paths.agent_pages, redact=redact,
        audio_root=audio_root, copy_audio=copy_audio,
    ))
    logger.info("report for %s written to %s (%d calls, %d agents)", period, root, len(frames.calls), len(frames.agents))
    return paths
