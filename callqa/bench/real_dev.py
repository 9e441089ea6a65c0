"""``callqa bench --section real_dev``: label F1, resolution accuracy and per-act F1 on the labelled
real dev set (JDDC chat sessions, labels in ``tests/data/real_dev/jddc_labels.json``, text read from
``shared/eval/real_text``) and on the real-style scripted calls (``tests/data/realstyle``); the same
numbers, without targets, on the check sets ``tests/data/other_wording*`` (written in isolation from
the rules to measure generalisation: never tune on them).

Sets that are not there (labels not merged yet, no shared data) are skipped with a row saying so.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from callqa.bench.rules import _report_rows, _row
from pipeline.evaluate import EvalReport, evaluate_calls, evaluate_dialogues
from pipeline.rules import BUNDLED_HARSH_MODEL, load_rulebook, with_turn_model

REPO = Path(__file__).resolve().parents[2]
JDDC_LABELS = REPO / "tests" / "data" / "real_dev" / "jddc_labels.json"
REALSTYLE_CALLS = REPO / "tests" / "data" / "realstyle"
CHECK_SETS = REPO / "tests" / "data"
TARGET = 0.85


def bench_real_dev(context: Any) -> list[dict]:
    shared_eval = Path(getattr(context, "shared_eval", context))
    rulebook = load_rulebook()
    with_model = with_turn_model(rulebook, "harsh_negation", BUNDLED_HARSH_MODEL) if BUNDLED_HARSH_MODEL.is_file() else None
    rows: list[dict] = []
    dialogues = shared_eval / "real_text" / "cs_dialogues.jsonl"
    if JDDC_LABELS.is_file() and dialogues.is_file():
        report = evaluate_dialogues(JDDC_LABELS, dialogues, rulebook)
        rows += _rows(report, f"JDDC dev, {report.calls} sessions")
        if with_model is not None:
            rows.append(_model_row(evaluate_dialogues(JDDC_LABELS, dialogues, with_model), "JDDC dev"))
    else:
        rows.append(_row("real_dev: JDDC labels or dialogues not found (skipped)", 0, "", None))
    if REALSTYLE_CALLS.is_dir() and any(REALSTYLE_CALLS.glob("*.ref.json")):
        report = evaluate_calls(REALSTYLE_CALLS, rulebook)
        rows += _rows(report, f"real-style, {report.calls} calls")
        if with_model is not None:
            rows.append(_model_row(evaluate_calls(REALSTYLE_CALLS, with_model), "real-style"))
    else:
        rows.append(_row("real_dev: real-style fixtures not found (skipped)", 0, "", None))
    for folder in sorted(CHECK_SETS.glob("other_wording*")):
        if any(folder.glob("*.ref.json")):
            report = evaluate_calls(folder, rulebook)
            rows += [{**r, "target": "", "ok": None} for r in _rows(report, f"check set {folder.name}, {report.calls} calls")]
            if with_model is not None:
                rows.append(_model_row(evaluate_calls(folder, with_model), folder.name))
    return rows


def _model_row(report: EvalReport, source: str) -> dict:
    """The opt-in harsh-turn model (``model: harsh_turns.json``), so its trade-off is measured, not guessed."""
    return _row(f"rules+model F1 harsh_turns ({source}, opt-in turn model)", round(report.labels["harsh_turns"].f1, 3),
                "", None)


def _rows(report: EvalReport, source: str) -> list[dict]:
    rows = [{**r, "target": f"≥ {TARGET:.2f}", "ok": r["value"] >= TARGET} if "resolution" in r["metric"] else r
            for r in _report_rows(report, source, TARGET)]
    rows.append(_row(f"outcome needs_review calls ({source})", report.resolution_review, "", None))
    rows.append(_row(f"outcome accuracy on the other calls ({source})", round(report.resolution_accuracy_confident, 3),
                     "", None))
    for item in report.act_rows():
        rows.append(_row(f"act F1 {item['act']} ({source})", item["f1"], "", None))
    return rows
