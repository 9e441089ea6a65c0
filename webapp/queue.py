"""The review queue: findings waiting for a reviewer first, then calls picked by a sampling plan.

The sampling plan takes every call with a fatal finding, every call whose speaker roles or
speech recognition are uncertain, and a random share of each agent's calls per week. The
random pick is a hash of the call id and a seed, so it is stable between page loads and
the same for every reviewer; a call leaves the sampled part once a reviewer marks it checked.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True, slots=True)
class SamplingPlan:
    random_share: float = 0.1
    """Share of each agent's calls per week picked at random (0 = none, 1 = all)."""
    low_role_confidence: float = 0.7
    """Calls whose role assignment is less sure than this are sampled."""
    low_asr_confidence: float = 0.5
    """Calls with a finding on speech recognised less surely than this are sampled."""
    seed: str = "callqa"
    """Changing the seed draws a different random sample."""


def _draw(call_id: str, seed: str) -> str:
    return hashlib.sha256(f"{seed}:{call_id}".encode()).hexdigest()


def pending_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings flagged needs_review that no reviewer has decided yet, oldest call first."""
    if findings.empty:
        return findings
    return findings[findings["status"] == "pending_review"].sort_values(["recorded_at", "call_id", "idx"])


def sampled_calls(calls: pd.DataFrame, findings: pd.DataFrame, plan: SamplingPlan,
                  checked: set[str] = frozenset()) -> pd.DataFrame:
    """Calls the plan picks, with a ``reasons`` column, fatal first; checked calls are left out."""
    columns = [*calls.columns, "reasons"]
    if calls.empty:
        return pd.DataFrame(columns=columns)
    reasons: dict[str, list[str]] = {cid: [] for cid in calls["call_id"]}
    live = findings[findings["status"] != "rejected"] if not findings.empty else findings
    if not live.empty:
        for cid in live[live["fatal"]]["call_id"].unique():
            reasons[cid].append("fatal")
        conf = pd.to_numeric(live["asr_confidence"], errors="coerce")
        for cid in live[conf < plan.low_asr_confidence]["call_id"].unique():
            reasons[cid].append("low ASR confidence")
    role_conf = pd.to_numeric(calls["role_confidence"], errors="coerce")
    for cid in calls[role_conf < plan.low_role_confidence]["call_id"]:
        reasons[cid].append("uncertain roles")
    if plan.random_share > 0:
        week = pd.to_datetime(calls["recorded_at"]).dt.to_period("W-SUN")
        for _, group in calls.assign(week=week).groupby(["agent_id", "week"], dropna=False):
            k = math.ceil(plan.random_share * len(group))
            for cid in sorted(group["call_id"], key=lambda c: _draw(c, plan.seed))[:k]:
                reasons[cid].append("random sample")
    picked = calls[[bool(reasons[c]) and c not in checked for c in calls["call_id"]]].copy()
    picked["reasons"] = [reasons[c] for c in picked["call_id"]]
    picked["_fatal_first"] = ["fatal" not in r for r in picked["reasons"]]
    return picked.sort_values(["_fatal_first", "recorded_at", "call_id"]).drop(columns="_fatal_first")
