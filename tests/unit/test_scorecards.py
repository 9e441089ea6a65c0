from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest

from pipeline.scorecards import (
    NOT_ENOUGH_CALLS,
    agent_trend,
    build_scorecards,
    call_metrics,
    coaching_list,
    rule_hit_rates,
    t_quantile_975,
)
from tests.report_factory import qa, transcript


def frames():
    rows = []
    scores = {"A01": [95, 90, 100, 85], "A02": [60, 70, 65], "A03": [100]}
    for agent, values in scores.items():
        for i, s in enumerate(values):
            rows.append(dict(call_id=f"{agent}-{i}", agent_id=agent, recorded_at=pd.Timestamp(2026, 11, 2 + i * 3),
                             score=float(s), passed=s >= 80, fatal=False, escalated=agent == "A02" and i == 0,
                             resolution="unresolved" if s < 70 else "resolved", talk_ratio=0.6))
    calls = pd.DataFrame(rows)
    findings = pd.DataFrame([
        dict(call_id="A02-0", agent_id="A02", recorded_at=pd.Timestamp(2026, 11, 2), rule_id="harsh",
             category="language", severity="major", weight=20.0, fatal=False, status="counted", quote="不归我们管",
             start_s=3.0, message=""),
        dict(call_id="A02-1", agent_id="A02", recorded_at=pd.Timestamp(2026, 11, 5), rule_id="harsh",
             category="language", severity="major", weight=20.0, fatal=False, status="rejected", quote="不行",
             start_s=4.0, message=""),
        dict(call_id="A01-3", agent_id="A01", recorded_at=pd.Timestamp(2026, 11, 11), rule_id="no_closing",
             category="courtesy", severity="minor", weight=15.0, fatal=False, status="pending_review", quote="",
             start_s=None, message=""),
        dict(call_id="A02-1", agent_id="A02", recorded_at=pd.Timestamp(2026, 11, 5), rule_id="harsh",
             category="language", severity="major", weight=20.0, fatal=False, status="confirmed", quote="你自己看",
             start_s=9.0, message=""),
    ])
    return calls, findings


def test_agents_ranked_by_mean_with_small_samples_unranked():
    calls, findings = frames()
    card = build_scorecards(calls, findings, min_calls=3)
    assert list(card["agent_id"]) == ["A01", "A02", "A03"]
    assert list(card["rank"].astype("object")) == [1, 2, pd.NA]
    a03 = card.set_index("agent_id").loc["A03"]
    assert a03["status"] == NOT_ENOUGH_CALLS and math.isnan(a03["ci_low"])
    a01 = card.set_index("agent_id").loc["A01"]
    assert a01["mean_score"] == pytest.approx(92.5) and a01["median_score"] == pytest.approx(92.5)
    assert a01["ci_low"] < 92.5 < a01["ci_high"] <= 100
    assert a01["pass_rate"] == 1.0 and a01["worst_call_id"] == "A01-3" and a01["best_call_id"] == "A01-2"


def test_hit_rates_count_only_counted_or_confirmed_findings():
    calls, findings = frames()
    card = build_scorecards(calls, findings).set_index("agent_id")
    assert card.loc["A02", "hit_rate:harsh"] == pytest.approx(2 / 3)
    assert card.loc["A01", "hit_rate:no_closing"] == 0.0  # pending review
    assert card.loc["A01", "pending_review"] == 1
    assert card.loc["A02", "escalations"] == 1 and card.loc["A02", "unresolved_rate"] == pytest.approx(2 / 3)
    rules = rule_hit_rates(calls, findings).set_index("rule_id")
    assert rules.loc["harsh", "calls_hit"] == 2 and rules.loc["harsh", "precision"] == 0.5
    assert math.isnan(rules.loc["no_closing", "precision"])


def test_trend_against_previous_period():
    calls, findings = frames()
    previous = calls.assign(score=calls["score"] - 10)
    card = build_scorecards(calls, findings, previous=previous).set_index("agent_id")
    assert card.loc["A01", "trend"] == pytest.approx(10.0)
    assert math.isnan(build_scorecards(calls, findings).loc[0, "trend"])


def test_empty_period_gives_an_empty_table_with_columns():
    calls, findings = frames()
    card = build_scorecards(calls.iloc[0:0], findings.iloc[0:0])
    assert card.empty and "mean_score" in card.columns


def test_weekly_trend_and_coaching_list():
    calls, findings = frames()
    weeks = agent_trend(calls)
    a01 = weeks[weeks["agent_id"] == "A01"]
    assert list(a01["calls"]) == [3, 1] and list(a01["period_start"].dt.day_of_week) == [0, 0]  # Mon 2 - Sun 8 Nov
    coach = coaching_list(findings, "A02")
    assert list(coach["status"]) == ["counted", "confirmed"]  # rejected findings are not coached


def test_t_quantile_and_call_metrics():
    assert t_quantile_975(1) == 12.706 and t_quantile_975(100) == pytest.approx(1.984, abs=0.01)
    m = call_metrics(transcript(), qa())
    assert m["escalated"] is True  # the customer says 我要投诉
    assert 0 < m["talk_ratio"] < 1 and m["agent_talk_s"] > 0
    assert call_metrics(transcript(), replace(qa(), metrics={"escalated": False}))["escalated"] is False


def test_zero_weight_findings_are_not_faults():
    calls, findings = frames()
    info = dict(call_id="A02-2", agent_id="A02", recorded_at=pd.Timestamp(2026, 11, 8), rule_id="escalation_request",
                category="process", severity="info", weight=0.0, fatal=False, status="counted", quote="我要投诉",
                start_s=1.0, message="")
    findings = pd.concat([findings, pd.DataFrame([info])], ignore_index=True)
    card = build_scorecards(calls, findings).set_index("agent_id")
    assert card.loc["A02", "findings_per_call"] == pytest.approx(2 / 3)
    assert card.loc["A02", "hit_rate:escalation_request"] == pytest.approx(1 / 3)  # still reported
    assert "escalation_request" not in set(coaching_list(findings, "A02")["rule_id"])
