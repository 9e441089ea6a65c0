"""``callqa bench --section real_dev``: label F1, resolution accuracy and per-act F1 on the labelled
real dev set (JDDC chat sessions, labels in ``tests/data/real_dev/jddc_labels.json``, text read from
``shared/eval/real_text``) and on the real-style scripted calls (``tests/data/realstyle``); the same
numbers, without targets, on the scripted sets ``tests/data/other_wording*`` (written in isolation from
the rules: the check sets in ``CHECK_SET_NAMES`` measure generalisation and are never tuned on; the others are
tuning sets). Each source also gets the harsh-turn F1 of the phrases alone (``model: null``), so the
bundled model's trade-off is measured, not guessed.

Sets that are not there (labels not merged yet, no shared data) are skipped with a row saying so.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from callqa.bench.rules import _report_rows, _row
from pipeline.evaluate import EvalReport, evaluate_calls, evaluate_dialogues
from pipeline.rules import load_rulebook, without_turn_model

REPO = Path(__file__).resolve().parents[2]
JDDC_LABELS = REPO / "tests" / "data" / "real_dev" / "jddc_labels.json"
REALSTYLE_CALLS = REPO / "tests" / "data" / "realstyle"
CHECK_SETS = REPO / "tests" / "data"
TARGET = 0.85
CHECK_SET_NAMES = ("other_wording_5", "other_wording_6", "other_wording_17", "other_wording_24")


def bench_real_dev(context: Any) -> list[dict]:
    shared_eval = Path(getattr(context, "shared_eval", context))
    rulebook = load_rulebook()
    model_on = rulebook.rules["harsh_negation"].model is not None
    phrases_only = without_turn_model(rulebook, "harsh_negation") if model_on else None
    rows: list[dict] = []
    dialogues = shared_eval / "real_text" / "cs_dialogues.jsonl"
    if JDDC_LABELS.is_file() and dialogues.is_file():
        report = evaluate_dialogues(JDDC_LABELS, dialogues, rulebook)
        rows += _rows(report, f"JDDC dev, {report.calls} sessions")
        if phrases_only is not None:
            rows.append(_phrases_row(evaluate_dialogues(JDDC_LABELS, dialogues, phrases_only), "JDDC dev"))
    else:
        rows.append(_row("real_dev: JDDC labels or dialogues not found (skipped)", 0, "", None))
    if REALSTYLE_CALLS.is_dir() and any(REALSTYLE_CALLS.glob("*.ref.json")):
        report = evaluate_calls(REALSTYLE_CALLS, rulebook)
        rows += _rows(report, f"real-style, {report.calls} calls")
        if phrases_only is not None:
            rows.append(_phrases_row(evaluate_calls(REALSTYLE_CALLS, phrases_only), "real-style"))
    else:
        rows.append(_row("real_dev: real-style fixtures not found (skipped)", 0, "", None))
    for folder in sorted(CHECK_SETS.glob("other_wording*"), key=lambda f: (len(f.name), f.name)):
        if any(folder.glob("*.ref.json")):
            kind = "check set" if folder.name in CHECK_SET_NAMES else "tuning set"
            report = evaluate_calls(folder, rulebook)
            rows += [{**r, "target": "", "ok": None} for r in _rows(report, f"{kind} {folder.name}, {report.calls} calls")]
            if phrases_only is not None:
                rows.append(_phrases_row(evaluate_calls(folder, phrases_only), folder.name))
    return rows


def _phrases_row(report: EvalReport, source: str) -> dict:
    """Harsh-turn F1 without the bundled turn model (``model: null``): what the model adds, measured."""
    return _row(f"phrases-only F1 harsh_turns ({source}, model: null)", round(report.labels["harsh_turns"].f1, 3),
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
