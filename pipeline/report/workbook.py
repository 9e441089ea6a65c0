"""scorecards.xlsx: an Overview sheet (agents ranked), Rules, and one sheet per agent."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from pipeline.report.data import ReportFrames
from pipeline.scorecards import coaching_list

AGENT_CALL_COLUMNS = ["call_id", "recorded_at", "score", "passed", "fatal", "resolution", "n_findings"]
COACHING_COLUMNS = ["call_id", "rule_id", "category", "weight", "status", "start_s", "quote", "message"]


def write_workbook(path: Path, frames: ReportFrames) -> None:
    agents, calls, findings = frames.agents, frames.calls, frames.findings
    taken = {"overview", "rules"}
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        agents.to_excel(xl, sheet_name="Overview", index=False)
        frames.rules.to_excel(xl, sheet_name="Rules", index=False)
        for _, agent in agents.iterrows():
            name = sheet_name(agent["agent_id"], taken)
            card = pd.DataFrame({"metric": agent.index, "value": [None if v is pd.NA else v for v in agent.values]})
            card.to_excel(xl, sheet_name=name, index=False)
            mine = calls[calls["agent_id"] == agent["agent_id"]][AGENT_CALL_COLUMNS]
            mine.to_excel(xl, sheet_name=name, index=False, startrow=len(card) + 2)
            coach = coaching_list(findings, agent["agent_id"])
            if not coach.empty:
                coach[COACHING_COLUMNS].to_excel(
                    xl, sheet_name=name, index=False, startrow=len(card) + len(mine) + 5
                )
        for sheet in xl.book.worksheets:
            for column in sheet.columns:
                letter = column[0].column_letter
                width = max((len(str(c.value)) for c in column if c.value is not None), default=8)
                sheet.column_dimensions[letter].width = min(60, max(8, width + 2))


def sheet_name(value: str, taken: set[str]) -> str:
    """A unique Excel sheet name (31 characters, none of []:*?/\\) for an agent id."""
    name = re.sub(r"[\[\]:*?/\\]", "_", str(value))[:31] or "agent"
    base, i = name, 2
    while name.lower() in taken:
        suffix = f"~{i}"
        name, i = base[: 31 - len(suffix)] + suffix, i + 1
    taken.add(name.lower())
    return name
