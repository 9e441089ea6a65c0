"""Reviewer decisions, appeals (申诉) and the append-only history of both.

- A reviewer confirms or rejects a finding: :meth:`pipeline.store.Store.record_review` re-scores
  the call, and a ``web_decisions`` row keeps who, when, the status and score before and after.
  The store keeps only the latest decision per finding; the history here keeps them all.
- An agent appeals a counted finding of their own call with a reason. The team lead of the
  agent's team (or an admin) rules once: *uphold* rejects the finding through the store (the
  call is re-scored), *deny* leaves it as it is. A ruled finding cannot be appealed or
  re-reviewed again: the ruling is final.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from pipeline.errors import CallQAError
from pipeline.scoring import CallScore
from pipeline.store import Store
from webapp import db
from webapp.auth import User, now

logger = logging.getLogger(__name__)

APPEALABLE = ("counted", "confirmed")


class DecisionError(CallQAError):
    """A review or appeal is not allowed in the finding's current state."""


@dataclass(frozen=True, slots=True)
class FindingState:
    call_id: str
    agent_id: str | None
    rulebook_version: str
    finding_key: str
    rule_id: str
    status: str
    score: float


def finding_state(store: Store, call_id: str, rulebook_version: str, finding_key: str) -> FindingState:
    """A finding's current status and its call's score, read through the store."""
    calls = store.calls_frame()
    call = calls[(calls["call_id"] == call_id) & (calls["rulebook_version"] == rulebook_version)]
    if call.empty:
        raise DecisionError(f"call {call_id!r} (rulebook {rulebook_version!r}) is not in {store.url}")
    findings = store.findings_frame(call)
    row = findings[findings["finding_key"] == finding_key]
    if row.empty:
        raise DecisionError(f"call {call_id!r} has no finding {finding_key!r}; reload the call page")
    f = row.iloc[0]
    return FindingState(call_id, call["agent_id"].iloc[0], rulebook_version, finding_key, f["rule_id"],
                        f["status"], float(call["score"].iloc[0]))


def _log(conn, user: User, action: str, state: FindingState | None, *, call_id: str | None = None,
         before: dict | None = None, after: dict | None = None, comment: str = "") -> None:
    conn.execute(insert(db.decisions).values(
        at=now(), actor=user.username, actor_role=user.role, action=action,
        call_id=state.call_id if state else call_id,
        rulebook_version=state.rulebook_version if state else None,
        finding_key=state.finding_key if state else None, rule_id=state.rule_id if state else None,
        before_json=json.dumps(before or {}, ensure_ascii=False), after_json=json.dumps(after or {}, ensure_ascii=False),
        comment=comment,
    ))


def ruled_appeal(engine: Engine, call_id: str, rulebook_version: str, finding_key: str) -> dict | None:
    """The final ruling on a finding's appeal, if there is one."""
    with engine.connect() as conn:
        row = conn.execute(
            select(db.appeals, db.appeal_rulings.c.ruling, db.appeal_rulings.c.ruled_by)
            .join(db.appeal_rulings, db.appeal_rulings.c.appeal_id == db.appeals.c.appeal_id)
            .where(db.appeals.c.call_id == call_id, db.appeals.c.rulebook_version == rulebook_version,
                   db.appeals.c.finding_key == finding_key)
        ).mappings().first()
    return dict(row) if row else None


def review_finding(store: Store, user: User, call_id: str, rulebook_version: str, finding_key: str, *,
                   decision: str, comment: str = "") -> CallScore:
    """Record a reviewer's confirm/reject; the call is re-scored at once and the change logged."""
    if not user.is_reviewer:
        raise DecisionError(f"{user.username} ({user.role}) may not review findings")
    if decision not in ("confirm", "reject"):
        raise DecisionError(f"decision must be confirm or reject, got {decision!r}")
    ruled = ruled_appeal(store.engine, call_id, rulebook_version, finding_key)
    if ruled is not None:
        raise DecisionError(f"finding {finding_key!r} of call {call_id!r} was settled by appeal #{ruled['appeal_id']} "
                            f"({ruled['ruling']} by {ruled['ruled_by']}); that ruling is final")
    before = finding_state(store, call_id, rulebook_version, finding_key)
    new = store.record_review(call_id, rulebook_version, finding_key, decision=decision,  # type: ignore[arg-type]
                              reviewer=user.username, comment=comment)
    with store.engine.begin() as conn:
        _log(conn, user, f"review_{decision}", before, before={"status": before.status, "score": before.score},
             after={"status": "confirmed" if decision == "confirm" else "rejected", "score": new.score},
             comment=comment)
    return new


def mark_checked(engine: Engine, user: User, call_id: str, comment: str = "") -> None:
    """A reviewer looked at a sampled call (it leaves the sampling part of the queue)."""
    if not user.is_reviewer:
        raise DecisionError(f"{user.username} ({user.role}) may not check calls")
    with engine.begin() as conn:
        _log(conn, user, "call_checked", None, call_id=call_id, comment=comment)


def checked_calls(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(db.decisions.c.call_id).where(
            db.decisions.c.action == "call_checked").distinct()).scalars())


def file_appeal(store: Store, user: User, call_id: str, rulebook_version: str, finding_key: str, *,
                reason: str) -> int:
    """An agent appeals a finding of their own call; returns the appeal id."""
    reason = reason.strip()
    if user.role != "agent":
        raise DecisionError("only the agent of a call can appeal its findings")
    if not reason:
        raise DecisionError("an appeal needs a reason: say why the finding is wrong")
    state = finding_state(store, call_id, rulebook_version, finding_key)
    if state.agent_id != user.agent_id:
        raise DecisionError(f"call {call_id!r} is not one of {user.username}'s calls")
    if state.status not in APPEALABLE:
        raise DecisionError(f"finding {finding_key!r} is {state.status}; only findings that cost points can be appealed")
    with store.engine.begin() as conn:
        existing = conn.execute(select(db.appeals.c.appeal_id).where(
            db.appeals.c.call_id == call_id, db.appeals.c.rulebook_version == rulebook_version,
            db.appeals.c.finding_key == finding_key)).first()
        if existing is not None:
            raise DecisionError(f"finding {finding_key!r} was already appealed (appeal #{existing.appeal_id})")
        appeal_id = conn.execute(insert(db.appeals).values(
            call_id=call_id, rulebook_version=rulebook_version, finding_key=finding_key, rule_id=state.rule_id,
            agent_id=state.agent_id, filed_by=user.username, reason=reason, filed_at=now(),
        )).inserted_primary_key[0]
        _log(conn, user, "appeal_filed", state, before={"status": state.status, "score": state.score},
             after={"appeal_id": appeal_id}, comment=reason)
    return int(appeal_id)


def may_rule(user: User, appeal_agent_team: str | None) -> bool:
    return user.role == "admin" or (user.role == "team_lead" and user.team is not None
                                    and user.team == appeal_agent_team)


def rule_appeal(store: Store, user: User, appeal_id: int, *, ruling: str, comment: str = "",
                team_of: dict[str, str]) -> CallScore | None:
    """The team lead's final ruling; *uphold* rejects the finding and re-scores the call."""
    if ruling not in ("uphold", "deny"):
        raise DecisionError(f"ruling must be uphold or deny, got {ruling!r}")
    appeal = get_appeal(store.engine, appeal_id)
    if appeal is None:
        raise DecisionError(f"no appeal #{appeal_id}")
    if not may_rule(user, team_of.get(appeal["agent_id"] or "")):
        raise DecisionError(f"{user.username} does not lead the team of agent {appeal['agent_id']}")
    if appeal["ruling"] is not None:
        raise DecisionError(f"appeal #{appeal_id} was already ruled ({appeal['ruling']} by {appeal['ruled_by']}); "
                            "rulings are final")
    state = finding_state(store, appeal["call_id"], appeal["rulebook_version"], appeal["finding_key"])
    new = None
    if ruling == "uphold":
        new = store.record_review(appeal["call_id"], appeal["rulebook_version"], appeal["finding_key"],
                                  decision="reject", reviewer=user.username,
                                  comment=f"appeal #{appeal_id} upheld: {comment}".strip())
    after_score = new.score if new is not None else state.score
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(db.appeal_rulings).values(
                appeal_id=appeal_id, ruling=ruling, ruled_by=user.username, comment=comment, ruled_at=now(),
                score_before=state.score, score_after=after_score))
            _log(conn, user, f"appeal_{'upheld' if ruling == 'uphold' else 'denied'}", state,
                 before={"status": state.status, "score": state.score, "appeal_id": appeal_id},
                 after={"status": "rejected" if ruling == "uphold" else state.status, "score": after_score},
                 comment=comment)
    except IntegrityError as e:
        raise DecisionError(f"appeal #{appeal_id} was ruled by someone else just now; rulings are final") from e
    return new


_APPEAL_COLUMNS = ["appeal_id", "call_id", "rulebook_version", "finding_key", "rule_id", "agent_id", "filed_by",
                   "reason", "filed_at", "ruling", "ruled_by", "ruling_comment", "ruled_at", "score_before",
                   "score_after"]


def appeals_frame(engine: Engine, *, call_id: str | None = None) -> pd.DataFrame:
    """Appeals with their ruling (empty ruling = open), newest first."""
    query = select(
        db.appeals, db.appeal_rulings.c.ruling, db.appeal_rulings.c.ruled_by,
        db.appeal_rulings.c.comment.label("ruling_comment"), db.appeal_rulings.c.ruled_at,
        db.appeal_rulings.c.score_before, db.appeal_rulings.c.score_after,
    ).outerjoin(db.appeal_rulings, db.appeal_rulings.c.appeal_id == db.appeals.c.appeal_id)
    if call_id is not None:
        query = query.where(db.appeals.c.call_id == call_id)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(db.appeals.c.appeal_id.desc())).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=_APPEAL_COLUMNS)


def get_appeal(engine: Engine, appeal_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(db.appeals, db.appeal_rulings.c.ruling, db.appeal_rulings.c.ruled_by)
            .outerjoin(db.appeal_rulings, db.appeal_rulings.c.appeal_id == db.appeals.c.appeal_id)
            .where(db.appeals.c.appeal_id == appeal_id)
        ).mappings().first()
    return dict(row) if row else None


def history(engine: Engine, *, call_id: str | None = None, actions: Sequence[str] | None = None,
            limit: int = 500) -> list[dict[str, Any]]:
    """Decision history (of one call, or of some actions), newest first, with before/after decoded."""
    query = select(db.decisions).order_by(db.decisions.c.id.desc()).limit(limit)
    if call_id is not None:
        query = query.where(db.decisions.c.call_id == call_id)
    if actions is not None:
        query = query.where(db.decisions.c.action.in_(actions))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{**dict(r), "before": json.loads(r["before_json"] or "{}"), "after": json.loads(r["after_json"] or "{}")}
            for r in rows]
