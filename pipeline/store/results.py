"""Scores and findings: a call's QA outcome under one rulebook version, written and read back."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from pipeline.errors import StoreError
from pipeline.scoring import CallScore, finding_keys
from pipeline.store.database import upsert
from pipeline.store.schema import findings, scores
from pipeline.types import CallQA, Finding, Transcript


def score_columns(score: CallScore) -> dict[str, Any]:
    """The columns of ``scores`` that scoring decides (and a review changes)."""
    return dict(
        score=score.score,
        category_scores_json=json.dumps(score.category_scores),
        fatal=score.fatal,
        passed=score.passed,
        deductions=score.deductions,
        pending_review_deductions=score.pending_review_deductions,
        n_findings=score.n_findings,
        n_pending_review=score.n_pending_review,
        n_rejected=score.n_rejected,
    )


def write_score(
    conn: Connection,
    transcript: Transcript,
    qa: CallQA,
    score: CallScore,
    *,
    recorded: datetime | None,
    run_id: str | None,
    now: datetime,
) -> None:
    upsert(conn, scores, [dict(
        call_id=qa.call_id,
        rulebook_version=qa.rulebook_version,
        rulebook_id=qa.rulebook_id,
        agent_id=qa.agent_id or transcript.call.agent_id,
        recorded_at=recorded or now,
        **score_columns(score),
        resolution=qa.resolution,
        resolution_evidence=qa.resolution_evidence,
        needs_review=qa.needs_review,
        role_confidence=qa.role_confidence,
        metrics_json=json.dumps(qa.metrics, ensure_ascii=False, default=float),
        checks_json=json.dumps(qa.checks, ensure_ascii=False),
        run_id=run_id,
        updated_at=now,
    )], ("call_id", "rulebook_version"))


def update_score(conn: Connection, call_id: str, rulebook_version: str, score: CallScore) -> None:
    conn.execute(update(scores).where(
        scores.c.call_id == call_id, scores.c.rulebook_version == rulebook_version
    ).values(**score_columns(score)))


def write_findings(conn: Connection, qa: CallQA) -> None:
    # Findings are replaced as a set: one that a re-run no longer produces must go.
    conn.execute(delete(findings).where(
        findings.c.call_id == qa.call_id, findings.c.rulebook_version == qa.rulebook_version
    ))
    if qa.findings:
        conn.execute(insert(findings), [
            dict(call_id=qa.call_id, rulebook_version=qa.rulebook_version, finding_key=key,
                 idx=i, **f.to_dict())
            for i, (key, f) in enumerate(zip(finding_keys(qa.findings), qa.findings, strict=True))
        ])


def load_qa(conn: Connection, call_id: str, rulebook_version: str, *, url: str) -> CallQA:
    row = conn.execute(select(scores).where(
        scores.c.call_id == call_id, scores.c.rulebook_version == rulebook_version
    )).mappings().first()
    if row is None:
        raise StoreError(
            f"no QA result for call {call_id!r} under rulebook version {rulebook_version!r} in {url}"
        )
    rows = conn.execute(select(findings).where(
        findings.c.call_id == call_id, findings.c.rulebook_version == rulebook_version
    ).order_by(findings.c.idx)).mappings().all()
    known = set(Finding.__dataclass_fields__)
    return CallQA(
        call_id=call_id,
        agent_id=row["agent_id"],
        rulebook_id=row["rulebook_id"] or "",
        rulebook_version=rulebook_version,
        resolution=row["resolution"] or "",
        findings=tuple(Finding(**{k: v for k, v in r.items() if k in known}) for r in rows),
        resolution_evidence=row["resolution_evidence"] or "",
        recorded_at=row["recorded_at"].isoformat(timespec="minutes") if row["recorded_at"] else None,
        role_confidence=row["role_confidence"] if row["role_confidence"] is not None else 1.0,
        needs_review=bool(row["needs_review"]),
        metrics=json.loads(row["metrics_json"] or "{}"),
        checks=json.loads(row["checks_json"] or "{}"),
    )
