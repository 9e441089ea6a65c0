"""Rules section of ``callqa bench``: label F1 and resolution accuracy on the labelled calls
(reference text, and the stereo section's ASR transcripts), scoring speed, flag rates on real text."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipeline.evaluate import (EvalReport, evaluate_calls, flag_rates, load_transcripts, scoring_speed,
                               transcript_from_reference, transcripts_from_dialogues)
from pipeline.rules import load_rulebook

# ASR transcripts of calls/ to score: the bench's own stereo output, or this variable's folder.
ASR_TRANSCRIPTS_DIR = os.environ.get("CALLQA_ASR_TRANSCRIPTS", "")


def bench_rules(shared_eval: Any) -> list[dict]:
    """Rows ``{metric, value, target, ok, unit}`` for ``callqa bench``.

    Accepts the eval folder or the bench context (anything with a ``shared_eval`` attribute).
    """
    context = shared_eval
    shared_eval = Path(getattr(context, "shared_eval", context))
    rulebook = load_rulebook()
    rows: list[dict] = []
    calls_dir = shared_eval / "calls"
    report = evaluate_calls(calls_dir, rulebook)
    rows += _report_rows(report, "reference", 0.95)
    asr_dir = getattr(context, "asr_dir", None) or (Path(ASR_TRANSCRIPTS_DIR) if ASR_TRANSCRIPTS_DIR else None)
    if asr_dir is not None and asr_dir.is_dir() and any(asr_dir.glob("*.json")):
        asr = evaluate_calls(calls_dir, rulebook, transcripts=load_transcripts(asr_dir))
        rows += _report_rows(asr, f"ASR ({asr_dir})", 0.90)
    references = [transcript_from_reference(p) for p in sorted(calls_dir.glob("*.ref.json"))]
    speed = scoring_speed(references, rulebook)
    rows.append(_row("rules: transcripts/s/core (reference)", round(speed, 1), "≥ 500", speed >= 500, "/s"))
    dialogues = shared_eval / "real_text" / "cs_dialogues.jsonl"
    if dialogues.exists():
        real = transcripts_from_dialogues(dialogues)
        rates, resolutions, _ = flag_rates(real, rulebook)
        rows.append(_row("real_text: dialogues scored without error", len(real), "200", len(real) == 200))
        for rule_id, rate in rates.items():
            rows.append(_row(f"real_text: {rule_id} flag rate", round(rate * 100, 1), "", None, "%"))
        for resolution, rate in resolutions.items():
            rows.append(_row(f"real_text: resolution {resolution}", round(rate * 100, 1), "", None, "%"))
    return rows


def _report_rows(report: EvalReport, source: str, target: float) -> list[dict]:
    rows = []
    for item in report.rows():
        value = item.get("macro_f1", item["f1"])
        value = min(value, item["f1"])
        rows.append(_row(f"rules F1 {item['label']} ({source})", round(value, 3), f"≥ {target:.2f}",
                         value >= target))
    acc = report.resolution_accuracy
    rows.append(_row(f"rules resolution accuracy ({source})", round(acc, 3), f"≥ {target:.2f}", acc >= target))
    if report.missing_transcripts:
        rows.append(_row(f"rules calls without transcript ({source})", len(report.missing_transcripts), "0", False))
    return rows


def _row(metric: str, value: Any, target: str = "", ok: bool | None = None, unit: str = "") -> dict:
    return {"metric": metric, "value": value, "unit": unit, "target": target, "ok": ok}
