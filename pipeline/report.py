"""Reports for QA reviewers and team leads under ``reports/<run date>/``.

Written from the results database (:func:`load_report_data`) or from in-memory results
(:func:`report_data_from_results`):

- ``calls.csv``, ``findings.csv``, ``agents.csv``, ``rules.csv``, ``failures.csv``;
- ``scorecards.xlsx``: an ``Overview`` sheet (agents ranked), ``Rules``, and one sheet per agent;
- a static HTML site: ``index.html`` (score distribution, agents ranked, rule hit rates),
  ``agents/<agent>.html`` (scorecard, trend chart, coaching list) and ``calls/<call>.html``
  (speaker-coloured transcript, highlighted findings, an audio player that seeks to a finding).

Personal data is masked (:mod:`pipeline.redact`) in every text field of every output unless
``redact=False``. Recordings are not altered: they are linked by relative path or copied.
"""
from __future__ import annotations

import logging
import math
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from pipeline import charts
from pipeline.errors import CallQAError
from pipeline.redact import redact_text, redact_transcript
from pipeline.scorecards import agent_trend, build_scorecards, coaching_list, rule_hit_rates
from pipeline.store import Store, open_store, parse_time
from pipeline.types import CallQA, Transcript

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
AUDIO_SUFFIXES = (".flac", ".wav", ".mp3", ".m4a", ".ogg", ".opus")
_TEXT_COLUMNS = ("quote", "message", "resolution_evidence", "comment")


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


def _as_date(value: str | date | datetime | None) -> date | None:
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
    lo, hi = _as_date(since), _as_date(until)
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
            lo, max(d for d in (hi, _as_date(run_date), date.today()) if d is not None)),
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


# -- redaction and formatting -----------------------------------------------------------------------

def _redact_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in _TEXT_COLUMNS:
        if col in out:
            out[col] = [redact_text(v) if isinstance(v, str) else v for v in out[col]]
    return out


def _known(value: Any) -> bool:
    """Not missing: frames hold None, NaN or pd.NA for absent values."""
    return value is not None and value is not pd.NA and not (isinstance(value, float) and math.isnan(value))


def _num(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    return f"{float(value):.{digits}f}"


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    return f"{100 * float(value):.0f}%"


def _signed(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    return f"{float(value):+.1f}"


def _mmss(seconds: Any) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    s = int(float(seconds))
    return f"{s // 60}:{s % 60:02d}"


def _slug(value: str) -> str:
    """A file-name-safe form of an id (ids come from manifests, so they may hold anything)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(value)).strip("._") or "unknown"


def _sheet_name(value: str, taken: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "_", str(value))[:31] or "agent"
    base, i = name, 2
    while name.lower() in taken:
        suffix = f"~{i}"
        name, i = base[: 31 - len(suffix)] + suffix, i + 1
    taken.add(name.lower())
    return name


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=_num, pct=_pct, signed=_signed, mmss=_mmss, slug=_slug)
    env.tests["known"] = _known
    return env


def _highlight(text: str, quotes: list[tuple[str, str]]) -> Markup:
    """``text`` with each (quote, rule_id) wrapped in <mark>; the whole text when a quote is absent."""
    spans: list[tuple[int, int, str]] = []
    for quote, rule_id in quotes:
        if quote and (pos := text.find(quote)) >= 0:
            spans.append((pos, pos + len(quote), rule_id))
    if not spans:
        if quotes:
            return Markup('<mark title="{}">{}</mark>').format(", ".join(r for _, r in quotes), text)
        return escape(text)
    spans.sort()
    out, cursor = [], 0
    for start, end, rule_id in spans:
        if start < cursor:
            continue
        out.append(escape(text[cursor:start]))
        out.append(Markup('<mark title="{}">{}</mark>').format(rule_id, text[start:end]))
        cursor = end
    out.append(escape(text[cursor:]))
    return Markup("").join(out)


# -- audio ----------------------------------------------------------------------------------------

def find_audio(transcript: Transcript, audio_root: Path | None) -> Path | None:
    """The recording of a call: its source path (absolute, or under ``audio_root``), else a
    file named ``<call_id>.*`` in ``audio_root`` (stereo preferred)."""
    source = transcript.call.source_path
    candidates: list[Path] = []
    if source:
        p = Path(source)
        if p.suffix.lower() in AUDIO_SUFFIXES:
            candidates.append(p)
            if audio_root is not None:
                candidates += [audio_root / p, audio_root / p.name]
    for c in candidates:
        if c.is_file():
            return c
    if audio_root is not None and audio_root.is_dir():
        found = sorted(
            (f for f in audio_root.glob(f"{transcript.call.call_id}.*") if f.suffix.lower() in AUDIO_SUFFIXES),
            key=lambda f: (".stereo." not in f.name, f.name),
        )
        if found:
            return found[0]
    return None


def _audio_src(audio: Path | None, root: Path, page_dir: Path, copy: bool) -> str | None:
    if audio is None:
        return None
    if copy:
        target = root / "audio" / audio.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.stat().st_size != audio.stat().st_size:
            shutil.copy2(audio, target)
        audio = target
    return Path(os.path.relpath(audio.resolve(), page_dir.resolve())).as_posix()


# -- outputs --------------------------------------------------------------------------------------

def _write_xlsx(path: Path, agents: pd.DataFrame, rules: pd.DataFrame, calls: pd.DataFrame,
                findings: pd.DataFrame) -> None:
    taken = {"overview", "rules"}
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        agents.to_excel(xl, sheet_name="Overview", index=False)
        rules.to_excel(xl, sheet_name="Rules", index=False)
        for _, agent in agents.iterrows():
            name = _sheet_name(agent["agent_id"], taken)
            card = pd.DataFrame({"metric": agent.index, "value": [None if v is pd.NA else v for v in agent.values]})
            card.to_excel(xl, sheet_name=name, index=False)
            mine = calls[calls["agent_id"] == agent["agent_id"]][
                ["call_id", "recorded_at", "score", "passed", "fatal", "resolution", "n_findings"]
            ]
            mine.to_excel(xl, sheet_name=name, index=False, startrow=len(card) + 2)
            coach = coaching_list(findings, agent["agent_id"])
            if not coach.empty:
                coach[["call_id", "rule_id", "category", "weight", "status", "start_s", "quote", "message"]].to_excel(
                    xl, sheet_name=name, index=False, startrow=len(card) + len(mine) + 5
                )
        for sheet in xl.book.worksheets:
            for column in sheet.columns:
                letter = column[0].column_letter
                width = max((len(str(c.value)) for c in column if c.value is not None), default=8)
                sheet.column_dimensions[letter].width = min(60, max(8, width + 2))


def _calls_csv_frame(calls: pd.DataFrame) -> pd.DataFrame:
    first = ["call_id", "agent_id", "recorded_at", "score", "passed", "fatal"]
    cats = [c for c in calls.columns if c.startswith("cat_")]
    rest = ["deductions", "pending_review_deductions", "n_findings", "n_pending_review", "n_rejected",
            "resolution", "resolution_evidence", "escalated", "talk_ratio", "duration_s", "needs_review",
            "role_confidence", "rulebook_id", "rulebook_version", "run_id"]
    return calls[first + cats + [c for c in rest if c in calls.columns]]


def _findings_csv_frame(findings: pd.DataFrame) -> pd.DataFrame:
    cols = ["call_id", "agent_id", "recorded_at", "rulebook_version", "finding_key", "rule_id", "category",
            "severity", "weight", "fatal", "status", "needs_review", "start_s", "end_s", "speaker",
            "utterance_index", "quote", "message", "asr_confidence", "decision", "reviewer", "comment"]
    return findings[[c for c in cols if c in findings.columns]]


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
    run_day = _as_date(run_date) or date.today()
    root = Path(out_dir) / run_day.isoformat()
    try:
        for sub in ("agents", "calls", "assets"):
            (root / sub).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReportError(f"cannot create report folder {root}: {e}; choose a writable --out") from e

    calls = data.calls.copy()
    findings = _redact_frame(data.findings) if redact else data.findings.copy()
    if redact:
        calls = _redact_frame(calls)
    failures = data.failures
    agents = build_scorecards(calls, findings, min_calls=min_calls, previous=data.previous_calls)
    rules = rule_hit_rates(calls, findings)
    history = data.history_calls if data.history_calls is not None else calls
    trends = agent_trend(history)

    paths = ReportPaths(
        root=root,
        calls_csv=root / "calls.csv",
        findings_csv=root / "findings.csv",
        agents_csv=root / "agents.csv",
        rules_csv=root / "rules.csv",
        failures_csv=root / "failures.csv",
        scorecards_xlsx=root / "scorecards.xlsx",
        index_html=root / "index.html",
    )
    _calls_csv_frame(calls).to_csv(paths.calls_csv, index=False)
    _findings_csv_frame(findings).to_csv(paths.findings_csv, index=False)
    agents.to_csv(paths.agents_csv, index=False)
    rules.to_csv(paths.rules_csv, index=False)
    failures.to_csv(paths.failures_csv, index=False)
    _write_xlsx(paths.scorecards_xlsx, agents, rules, calls, findings)

    env = _environment()
    for asset in ("style.css", "callqa.js"):
        shutil.copyfile(TEMPLATES / asset, root / "assets" / asset)
    period = f"{data.since or '…'} – {data.until or '…'}"
    common = {"period": period, "root": "", "run_date": run_day.isoformat(), "pass_score": pass_score, "redacted": redact}

    # Overview.
    ranked = agents[agents["status"] == "ranked"]
    overview_chart = charts.hbar_chart(
        list(agents["agent_id"]), list(agents["mean_score"]), low=list(agents["ci_low"]),
        high=list(agents["ci_high"]), muted=list(agents["status"] != "ranked"),
        title="Mean score per agent with 95% confidence interval",
    ) if not agents.empty else Markup("")
    rule_chart = charts.hbar_chart(
        list(rules["rule_id"]), list(rules["hit_rate"] * 100), value_format="{:.0f}%",
        title="Share of calls where each rule counted",
    ) if not rules.empty else Markup("")
    categories = sorted(c[4:] for c in calls.columns if c.startswith("cat_"))
    category_chart = charts.hbar_chart(
        categories, [float(calls[f"cat_{c}"].mean()) for c in categories], title="Mean category sub-score",
    ) if categories and not calls.empty else Markup("")
    review_queue = findings[findings["status"] == "pending_review"] if not findings.empty else findings
    (root / "index.html").write_text(env.get_template("index.html").render(
        **common,
        n_calls=len(calls),
        mean_score=float(calls["score"].mean()) if not calls.empty else math.nan,
        pass_rate=float(calls["passed"].mean()) if not calls.empty else math.nan,
        fatal_calls=int(calls["fatal"].sum()) if not calls.empty else 0,
        n_ranked=len(ranked),
        histogram=charts.histogram(list(calls["score"]), threshold=pass_score),
        agents_chart=overview_chart,
        rules_chart=rule_chart,
        category_chart=category_chart,
        agents=agents.to_dict("records"),
        rules=rules.to_dict("records"),
        review_queue=review_queue.to_dict("records"),
        failures=failures.to_dict("records"),
        min_calls=min_calls,
    ), encoding="utf-8")

    # One page per agent.
    for agent in agents.to_dict("records"):
        agent_id = agent["agent_id"]
        mine = calls[calls["agent_id"] == agent_id].sort_values("recorded_at")
        trend = trends[trends["agent_id"] == agent_id]
        trend_chart = charts.line_chart(
            [f"{t:%m-%d}" for t in trend["period_start"]], list(trend["mean_score"]), threshold=pass_score,
            title=f"Weekly mean score of {agent_id}",
        )
        hit_rates = [(k.split(":", 1)[1], v) for k, v in agent.items() if k.startswith("hit_rate:") and v > 0]
        page = root / "agents" / f"{_slug(agent_id)}.html"
        page.write_text(env.get_template("agent.html").render(
            **{**common, "root": "../"},
            agent=agent,
            calls=mine.to_dict("records"),
            trend_chart=trend_chart,
            weeks=trend.to_dict("records"),
            hit_rates=sorted(hit_rates, key=lambda kv: -kv[1]),
            coaching=coaching_list(findings, agent_id).to_dict("records") if not findings.empty else [],
        ), encoding="utf-8")
        paths.agent_pages[agent_id] = page

    # One page per call.
    by_call = {cid: group for cid, group in findings.groupby("call_id")} if not findings.empty else {}
    for call in calls.to_dict("records"):
        call_id = call["call_id"]
        transcript = data.transcripts.get(call_id)
        if transcript is None:
            logger.warning("no transcript for call %s; its page is skipped", call_id)
            continue
        shown = redact_transcript(transcript) if redact else transcript
        call_findings = by_call.get(call_id, pd.DataFrame(columns=findings.columns)).sort_values("start_s", na_position="last")
        marks: dict[int, list[tuple[str, str]]] = {}
        for f in call_findings.to_dict("records"):
            if f["status"] == "rejected":
                continue
            idx = f["utterance_index"]
            if idx is not None and not (isinstance(idx, float) and math.isnan(idx)):
                marks.setdefault(int(idx), []).append((f["quote"] or "", f["rule_id"]))
        lines = [
            {"index": i, "speaker": u.speaker, "start_s": u.start_s, "end_s": u.end_s,
             "html": _highlight(u.text, marks.get(i, [])), "flagged": i in marks}
            for i, u in enumerate(shown.utterances)
        ]
        page_dir = root / "calls"
        audio_src = _audio_src(find_audio(transcript, audio_root), root, page_dir, copy_audio)
        page = page_dir / f"{_slug(call_id)}.html"
        page.write_text(env.get_template("call.html").render(
            **{**common, "root": "../"},
            call=call,
            agent_page=f"../agents/{_slug(call['agent_id'])}.html" if call["agent_id"] in paths.agent_pages else None,
            findings=call_findings.to_dict("records"),
            lines=lines,
            audio_src=audio_src,
            categories=[(k[4:], v) for k, v in call.items() if k.startswith("cat_")],
            duration_s=transcript.duration_s,
        ), encoding="utf-8")
        paths.call_pages[call_id] = page
    logger.info("report for %s written to %s (%d calls, %d agents)", period, root, len(calls), len(agents))
    return paths
