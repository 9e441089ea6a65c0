"""The CSV outputs: calls.csv and findings.csv in reviewer column order; agents, rules and failures as built."""
from __future__ import annotations

import pandas as pd

from pipeline.report.data import ReportFrames

CALL_COLUMNS_FIRST = ["call_id", "agent_id", "recorded_at", "score", "passed", "fatal"]
CALL_COLUMNS_AFTER_CATEGORIES = [
    "deductions", "pending_review_deductions", "n_findings", "n_pending_review", "n_rejected",
    "resolution", "resolution_evidence", "escalated", "talk_ratio", "duration_s", "needs_review",
    "role_confidence", "rulebook_id", "rulebook_version", "run_id",
]
FINDING_COLUMNS = [
    "call_id", "agent_id", "recorded_at", "rulebook_version", "finding_key", "rule_id", "category",
    "severity", "weight", "fatal", "status", "needs_review", "start_s", "end_s", "speaker",
    "utterance_index", "quote", "message", "asr_confidence", "decision", "reviewer", "comment",
]


def calls_table(calls: pd.DataFrame) -> pd.DataFrame:
    """calls.csv: identity and outcome first, then category sub-scores, then the details."""
    cats = [c for c in calls.columns if c.startswith("cat_")]
    return calls[CALL_COLUMNS_FIRST + cats + [c for c in CALL_COLUMNS_AFTER_CATEGORIES if c in calls.columns]]


def findings_table(findings: pd.DataFrame) -> pd.DataFrame:
    """findings.csv: one row per finding with its review status and the key reviewers quote."""
    return findings[[c for c in FINDING_COLUMNS if c in findings.columns]]


def csv_tables(frames: ReportFrames) -> dict[str, pd.DataFrame]:
    """File name to table, for every CSV output."""
    return {
        "calls.csv": calls_table(frames.calls),
        "findings.csv": findings_table(frames.findings),
        "agents.csv": frames.agents,
        "rules.csv": frames.rules,
        "failures.csv": frames.failures,
    }
