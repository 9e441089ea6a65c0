"""Reviewers' confirm/reject decisions on findings, keyed like findings so they survive re-runs."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from pipeline.errors import StoreError
from pipeline.scoring import Decision
from pipeline.store.database import upsert
from pipeline.store.schema import findings, reviews


def check_review(decision: str, reviewer: str) -> None:
    if decision not in ("confirm", "reject"):
        raise StoreError(f"review decision must be 'confirm' or 'reject', got {decision!r}")
    if not reviewer:
        raise StoreError("record_review: a reviewer name is required so decisions can be audited")


def write_review(
    conn: Connection,
    call_id: str,
    rulebook_version: str,
    finding_key: str,
    *,
    decision: Decision,
    reviewer: str,
    comment: str,
    decided_at: datetime,
    url: str,
) -> None:
    """Upsert the decision on one stored finding (a finding that is not stored is an error)."""
    row = conn.execute(select(findings.c.rule_id).where(
        findings.c.call_id == call_id, findings.c.rulebook_version == rulebook_version,
        findings.c.finding_key == finding_key,
    )).first()
    if row is None:
        raise StoreError(
            f"no finding {finding_key!r} for call {call_id!r} under rulebook version "
            f"{rulebook_version!r} in {url}; take the key from findings.csv (finding_key)"
        )
    upsert(conn, reviews, [dict(
        call_id=call_id, rulebook_version=rulebook_version, finding_key=finding_key,
        rule_id=row.rule_id, decision=decision, reviewer=reviewer, comment=comment,
        decided_at=decided_at,
    )], ("call_id", "rulebook_version", "finding_key"))


def decisions_for(conn: Connection, call_id: str, rulebook_version: str) -> dict[str, Decision]:
    """Finding key to decision, for one call under one rulebook version."""
    rows = conn.execute(select(reviews.c.finding_key, reviews.c.decision).where(
        reviews.c.call_id == call_id, reviews.c.rulebook_version == rulebook_version
    )).all()
    return {key: decision for key, decision in rows}


def rule_precision(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(
        select(reviews.c.rule_id, reviews.c.decision, func.count().label("n"))
        .group_by(reviews.c.rule_id, reviews.c.decision)
    ).all()
    table: dict[str, dict[str, int]] = {}
    for rule_id, decision, n in rows:
        table.setdefault(rule_id, {"confirm": 0, "reject": 0})[decision] = n
    out = pd.DataFrame(
        [{"rule_id": r, "confirmed": d["confirm"], "rejected": d["reject"]} for r, d in sorted(table.items())],
        columns=["rule_id", "confirmed", "rejected"],
    )
    out["reviewed"] = out["confirmed"] + out["rejected"]
    out["precision"] = (out["confirmed"] / out["reviewed"]).where(out["reviewed"] > 0)
    return out
