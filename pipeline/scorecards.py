"""Per-agent scorecards, rule hit rates and trends from call and finding tables (pandas).

Inputs are the frames :class:`pipeline.store.Store` returns (``calls_frame`` and
``findings_frame``), or frames built by hand with the same columns:

- calls: ``call_id, agent_id, recorded_at, score, passed, fatal, resolution, escalated,
  talk_ratio`` (one row per call);
- findings: ``call_id, rule_id, category, status`` (``counted``/``pending_review``/
  ``confirmed``/``rejected``), plus ``quote, start_s, severity, weight, message`` for coaching.

An agent with fewer than ``min_calls`` calls in the period is kept in the table with
``status = "not enough calls"`` and no rank, because a mean over one or two calls says
more about the calls than about the agent.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from pipeline.types import CallQA, Transcript

NOT_ENOUGH_CALLS = "not enough calls"
RANKED = "ranked"
COUNTED_STATUSES = ("counted", "confirmed")

# Customer phrases that ask for a complaint or a supervisor (escalation).
ESCALATION_TERMS = (
    "投诉", "升级处理", "找你们领导", "找你们经理", "找你们主管", "叫你们领导", "叫你们经理",
    "你们领导", "你们经理", "你们主管", "12315", "工信部", "银保监", "消协", "曝光",
)

# Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (then ~normal);
# kept here so a confidence interval does not pull in scipy.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)


def t_quantile_975(dof: int) -> float:
    """97.5% quantile of Student's t (for a 95% two-sided interval)."""
    if dof < 1:
        return math.nan
    if dof <= len(_T975):
        return _T975[dof - 1]
    return 1.960 + 2.4 / dof  # close to the table beyond 30 dof, exact in the limit


def call_metrics(transcript: Transcript, qa: CallQA) -> dict[str, Any]:
    """Talk time per side, the agent's share of talk, and whether the customer escalated.

    ``qa.metrics`` wins where the rules stage already measured the same thing.
    """
    agent = sum(u.duration_s for u in transcript.utterances if u.speaker == "agent")
    customer = sum(u.duration_s for u in transcript.utterances if u.speaker == "customer")
    total = agent + customer
    escalated = qa.metrics.get("escalated", qa.metrics.get("escalation"))
    if escalated is None:
        escalated = any(
            term in u.text for u in transcript.utterances if u.speaker != "agent" for term in ESCALATION_TERMS
        ) or any("escalat" in f.rule_id for f in qa.findings)
    return {
        "agent_talk_s": round(agent, 3),
        "customer_talk_s": round(customer, 3),
        "talk_ratio": round(float(qa.metrics.get("talk_ratio", agent / total if total else math.nan)), 4),
        "escalated": bool(escalated),
    }


def _counted(findings: pd.DataFrame) -> pd.DataFrame:
    if findings.empty or "status" not in findings:
        return findings
    return findings[findings["status"].isin(COUNTED_STATUSES)]


def _mean_ci(values: pd.Series) -> tuple[float, float, float]:
    n = int(values.count())
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan
    half = t_quantile_975(n - 1) * float(values.std(ddof=1)) / math.sqrt(n)
    return mean, max(0.0, mean - half), min(100.0, mean + half)


def rule_hit_rates(calls: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """Per rule: findings, calls hit, hit rate over all calls, and review precision.

    ``precision`` = confirmed / (confirmed + rejected), empty until a reviewer has looked.
    """
    columns = ["rule_id", "category", "severity", "findings", "calls_hit", "hit_rate",
               "pending_review", "confirmed", "rejected", "precision"]
    if findings.empty:
        return pd.DataFrame(columns=columns)
    n_calls = max(1, calls["call_id"].nunique())
    rows = []
    for rule_id, group in findings.groupby("rule_id", sort=True):
        counted = _counted(group)
        confirmed = int((group["status"] == "confirmed").sum())
        rejected = int((group["status"] == "rejected").sum())
        rows.append({
            "rule_id": rule_id,
            "category": group["category"].iloc[0],
            "severity": group["severity"].iloc[0] if "severity" in group else "",
            "findings": len(counted),
            "calls_hit": counted["call_id"].nunique(),
            "hit_rate": counted["call_id"].nunique() / n_calls,
            "pending_review": int((group["status"] == "pending_review").sum()),
            "confirmed": confirmed,
            "rejected": rejected,
            "precision": confirmed / (confirmed + rejected) if confirmed + rejected else math.nan,
        })
    return pd.DataFrame(rows, columns=columns).sort_values(["hit_rate", "rule_id"], ascending=[False, True],
                                                           ignore_index=True)


def build_scorecards(
    calls: pd.DataFrame,
    findings: pd.DataFrame,
    *,
    min_calls: int = 3,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per agent for the period covered by ``calls``, best first.

    ``previous`` is the calls frame of the period before; ``trend`` is this period's mean
    score minus that period's. Columns ``hit_rate:<rule_id>`` give the share of the agent's
    calls where the rule counted.
    """
    base_cols = [
        "rank", "agent_id", "status", "calls", "mean_score", "median_score", "ci_low", "ci_high",
        "pass_rate", "fatal_calls", "findings_per_call", "pending_review", "escalations",
        "escalation_rate", "unresolved_rate", "follow_up_rate", "talk_ratio", "previous_mean_score",
        "trend", "worst_call_id", "worst_score", "best_call_id", "best_score",
    ]
    if calls.empty:
        return pd.DataFrame(columns=base_cols)
    counted = _counted(findings)
    rules = sorted(findings["rule_id"].unique()) if not findings.empty else []
    prev_mean = (
        previous.groupby("agent_id")["score"].mean() if previous is not None and not previous.empty else pd.Series(dtype=float)
    )
    rows = []
    for agent_id, group in calls.groupby("agent_id", sort=True, dropna=False):
        group = group.sort_values(["score", "call_id"])
        n = len(group)
        mean, lo, hi = _mean_ci(group["score"])
        ids = set(group["call_id"])
        agent_counted = counted[counted["call_id"].isin(ids)] if not counted.empty else counted
        agent_findings = findings[findings["call_id"].isin(ids)] if not findings.empty else findings
        previous_mean = float(prev_mean.get(agent_id, math.nan))
        row = {
            "agent_id": agent_id if isinstance(agent_id, str) else "(unknown)",
            "status": RANKED if n >= min_calls else NOT_ENOUGH_CALLS,
            "calls": n,
            "mean_score": mean,
            "median_score": float(group["score"].median()),
            "ci_low": lo,
            "ci_high": hi,
            "pass_rate": float(group["passed"].astype(bool).mean()),
            "fatal_calls": int(group["fatal"].astype(bool).sum()),
            # Zero-weight findings (e.g. the customer asked to escalate) are facts, not faults.
            "findings_per_call": int((agent_counted["weight"] > 0).sum()) / n if not agent_counted.empty else 0.0,
            "pending_review": int((agent_findings["status"] == "pending_review").sum()) if not agent_findings.empty else 0,
            "escalations": int(group["escalated"].astype(bool).sum()) if "escalated" in group else 0,
            "escalation_rate": float(group["escalated"].astype(bool).mean()) if "escalated" in group else math.nan,
            "unresolved_rate": float((group["resolution"] == "unresolved").mean()),
            "follow_up_rate": float((group["resolution"] == "follow_up").mean()),
            "talk_ratio": float(group["talk_ratio"].mean()) if "talk_ratio" in group else math.nan,
            "previous_mean_score": previous_mean,
            "trend": mean - previous_mean if not math.isnan(previous_mean) else math.nan,
            "worst_call_id": group["call_id"].iloc[0],
            "worst_score": float(group["score"].iloc[0]),
            "best_call_id": group.sort_values(["score", "call_id"], ascending=[False, True])["call_id"].iloc[0],
            "best_score": float(group["score"].iloc[-1]),
        }
        for rule_id in rules:
            hit = agent_counted[agent_counted["rule_id"] == rule_id]["call_id"].nunique() if not agent_counted.empty else 0
            row[f"hit_rate:{rule_id}"] = hit / n
        rows.append(row)
    table = pd.DataFrame(rows)
    ranked = table["status"] == RANKED
    # Rank by mean score; ties go to the higher pass rate, then fewer fatal calls.
    order = table[ranked].sort_values(
        ["mean_score", "pass_rate", "fatal_calls", "agent_id"], ascending=[False, False, True, True]
    ).index
    table["rank"] = pd.Series(pd.NA, index=table.index, dtype="Int64")
    table.loc[order, "rank"] = np.arange(1, len(order) + 1)
    unranked = table[~ranked].sort_values(["mean_score", "agent_id"], ascending=[False, True]).index
    table = table.loc[list(order) + list(unranked)].reset_index(drop=True)
    rule_cols = [c for c in table.columns if c.startswith("hit_rate:")]
    return table[base_cols + rule_cols]


def agent_trend(calls: pd.DataFrame, *, freq: str = "W-SUN") -> pd.DataFrame:
    """Mean score and call count per agent and period (by default weeks Monday to Sunday)."""
    columns = ["agent_id", "period_start", "calls", "mean_score", "pass_rate"]
    if calls.empty:
        return pd.DataFrame(columns=columns)
    frame = calls.assign(recorded_at=pd.to_datetime(calls["recorded_at"]))
    periods = frame["recorded_at"].dt.to_period(freq)
    frame = frame.assign(period_start=periods.dt.start_time)
    out = (
        frame.groupby(["agent_id", "period_start"])
        .agg(calls=("call_id", "count"), mean_score=("score", "mean"),
             pass_rate=("passed", lambda s: float(s.astype(bool).mean())))
        .reset_index()
    )
    return out[columns]


def coaching_list(findings: pd.DataFrame, agent_id: str) -> pd.DataFrame:
    """The agent's counted and pending findings that cost points, heaviest first, with quotes."""
    if findings.empty:
        return findings
    mine = findings[(findings["agent_id"] == agent_id) & (findings["status"] != "rejected") & (findings["weight"] > 0)]
    return mine.sort_values(["fatal", "weight", "recorded_at"], ascending=[False, False, True], ignore_index=True)
