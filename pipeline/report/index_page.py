"""index.html: score distribution, agents ranked, rule hit rates, the review queue and failures."""
from __future__ import annotations

import math
from pathlib import Path

from markupsafe import Markup

from pipeline import charts
from pipeline.report.data import ReportFrames
from pipeline.report.site import Site


def write_index_page(site: Site, frames: ReportFrames, *, pass_score: float, min_calls: int) -> Path:
    agents, rules, calls, findings = frames.agents, frames.rules, frames.calls, frames.findings
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
    return site.write_page(
        "index.html", "index.html",
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
        failures=frames.failures.to_dict("records"),
        min_calls=min_calls,
    )
