"""Frames for reports and scorecards: calls with scores, findings with review status, failures."""
from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from pipeline.scoring import finding_status
from pipeline.store.database import Database
from pipeline.store.schema import TABLES, calls, failures, findings, metadata, reviews, scores
from pipeline.store.times import TimeLike, time_range
from pipeline.types import Finding

FAILURE_COLUMNS = ["run_id", "path", "call_id", "error_type", "message", "recorded_at"]


def row_counts(conn: Connection) -> dict[str, int]:
    return {
        name: conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
        for name in TABLES
    }


def calls_frame(db: Database, since: TimeLike, until: TimeLike, *, rulebook_version: str | None) -> pd.DataFrame:
    lo, hi = time_range(since, until)
    query = select(
        scores.c.call_id, calls.c.agent_id, calls.c.recorded_at, scores.c.rulebook_id,
        scores.c.rulebook_version, scores.c.score, scores.c.passed, scores.c.fatal,
        scores.c.deductions, scores.c.pending_review_deductions, scores.c.n_findings,
        scores.c.n_pending_review, scores.c.n_rejected, scores.c.resolution,
        scores.c.resolution_evidence, scores.c.needs_review, scores.c.role_confidence,
        calls.c.duration_s, calls.c.talk_ratio, calls.c.agent_talk_s, calls.c.customer_talk_s,
        calls.c.escalated, calls.c.source_path, calls.c.layout, calls.c.model,
        scores.c.run_id, scores.c.updated_at, scores.c.category_scores_json,
    ).join(calls, calls.c.call_id == scores.c.call_id)
    if lo is not None:
        query = query.where(calls.c.recorded_at >= lo)
    if hi is not None:
        query = query.where(calls.c.recorded_at < hi)
    if rulebook_version is not None:
        query = query.where(scores.c.rulebook_version == rulebook_version)
    frame = db.read_frame(query)
    if frame.empty:
        return empty_calls_frame()
    frame = (
        frame.sort_values(["updated_at", "rulebook_version"])
        .drop_duplicates("call_id", keep="last")
        .sort_values(["recorded_at", "call_id"])
        .reset_index(drop=True)
    )
    cats = pd.DataFrame([json.loads(s or "{}") for s in frame.pop("category_scores_json")])
    for col in cats.columns:
        frame[f"cat_{col}"] = cats[col].to_numpy()
    for col in ("passed", "fatal", "needs_review", "escalated"):
        frame[col] = frame[col].astype(bool)
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"])
    return frame


def findings_frame(db: Database, calls_frame: pd.DataFrame) -> pd.DataFrame:
    if calls_frame.empty:
        return empty_findings_frame()
    pairs = set(zip(calls_frame["call_id"], calls_frame["rulebook_version"], strict=True))
    ids = sorted({c for c, _ in pairs})
    parts = []
    for chunk in _chunks(ids, 500):
        query = select(
            findings, reviews.c.decision, reviews.c.reviewer, reviews.c.comment, reviews.c.decided_at,
        ).outerjoin(reviews, (reviews.c.call_id == findings.c.call_id)
                    & (reviews.c.rulebook_version == findings.c.rulebook_version)
                    & (reviews.c.finding_key == findings.c.finding_key)
                    ).where(findings.c.call_id.in_(chunk))
        parts.append(db.read_frame(query))
    frame = pd.concat(parts, ignore_index=True) if parts else empty_findings_frame()
    if frame.empty:
        return empty_findings_frame()
    keep = [(c, v) in pairs for c, v in zip(frame["call_id"], frame["rulebook_version"], strict=True)]
    frame = frame[keep].copy()
    if frame.empty:
        return empty_findings_frame()
    frame["status"] = [
        finding_status(Finding(rule_id=r, severity="", weight=0.0, needs_review=bool(nr)),
                       d if isinstance(d, str) else None)
        for r, nr, d in zip(frame["rule_id"], frame["needs_review"], frame["decision"], strict=True)
    ]
    meta = calls_frame.set_index("call_id")
    frame["agent_id"] = frame["call_id"].map(meta["agent_id"])
    frame["recorded_at"] = frame["call_id"].map(meta["recorded_at"])
    for col in ("fatal", "needs_review"):
        frame[col] = frame[col].astype(bool)
    return frame.sort_values(["recorded_at", "call_id", "idx"]).reset_index(drop=True)


def failures_frame(db: Database, since: TimeLike, until: TimeLike, *, run_id: str | None) -> pd.DataFrame:
    lo, hi = time_range(since, until)
    query = select(failures)
    if run_id is not None:
        query = query.where(failures.c.run_id == run_id)
    if lo is not None:
        query = query.where(failures.c.recorded_at >= lo)
    if hi is not None:
        query = query.where(failures.c.recorded_at < hi)
    frame = db.read_frame(query.order_by(failures.c.recorded_at))
    if frame.empty:
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    return frame.drop(columns=["id"])


def empty_calls_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=[
        "call_id", "agent_id", "recorded_at", "rulebook_id", "rulebook_version", "score", "passed",
        "fatal", "deductions", "pending_review_deductions", "n_findings", "n_pending_review",
        "n_rejected", "resolution", "resolution_evidence", "needs_review", "role_confidence",
        "duration_s", "talk_ratio", "agent_talk_s", "customer_talk_s", "escalated", "source_path",
        "layout", "model", "run_id", "updated_at",
    ])


def empty_findings_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=[
        "call_id", "rulebook_version", "finding_key", "idx", *Finding.__dataclass_fields__,
        "decision", "reviewer", "comment", "decided_at", "status", "agent_id", "recorded_at",
    ])


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i: i + size]
