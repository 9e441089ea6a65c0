"""agents/<agent>.html: an agent's scorecard, weekly trend chart, calls and coaching list."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import charts
from pipeline.report.data import ReportFrames
from pipeline.report.site import Site, agent_page_path
from pipeline.scorecards import coaching_list


def write_agent_page(site: Site, agent: dict[str, Any], frames: ReportFrames, *, pass_score: float) -> Path:
    """``agent`` is one row of the scorecards (``frames.agents``)."""
    agent_id = agent["agent_id"]
    calls, findings, trends = frames.calls, frames.findings, frames.trends
    mine = calls[calls["agent_id"] == agent_id].sort_values("recorded_at")
    trend = trends[trends["agent_id"] == agent_id]
    trend_chart = charts.line_chart(
        [f"{t:%m-%d}" for t in trend["period_start"]], list(trend["mean_score"]), threshold=pass_score,
        title=f"Weekly mean score of {agent_id}",
    )
    hit_rates = [(k.split(":", 1)[1], v) for k, v in agent.items() if k.startswith("hit_rate:") and v > 0]
    return site.write_page(
        agent_page_path(agent_id), "agent.html",
        agent=agent,
        calls=mine.to_dict("records"),
        trend_chart=trend_chart,
        weeks=trend.to_dict("records"),
        hit_rates=sorted(hit_rates, key=lambda kv: -kv[1]),
        coaching=coaching_list(findings, agent_id).to_dict("records") if not findings.empty else [],
    )


def write_agent_pages(site: Site, frames: ReportFrames, *, pass_score: float) -> dict[str, Path]:
    """One page per agent in the scorecards; agent id to page."""
    return {
        agent["agent_id"]: write_agent_page(site, agent, frames, pass_score=pass_score)
        for agent in frames.agents.to_dict("records")
    }
