"""Evaluate a rulebook against labelled calls: per-label precision/recall/F1, confusion, resolution.

Labelled calls follow ``shared/eval/calls/SCHEMA.md`` (``<call_id>.ref.json``: turns with exact
times and call-level labels). The rules run on (a) the reference text with reference times and
(b) optionally the pipeline's own transcripts of the audio (``<call_id>.json``), where a
turn-level finding (harsh negation, interruption) matches a labelled turn when their times overlap.

QA teams use the same functions to calibrate their own rulebook on their own labelled calls.
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import TranscriptError
from pipeline.normalize import normalize_text
from pipeline.rules import Rulebook, RuleOptions, assess, load_rulebook
from pipeline.types import CallMeta, CallQA, RoleAssignment, Transcript, Utterance

logger = logging.getLogger(__name__)

TRI_STATE = ("present", "missing", "not_needed")
RESOLUTIONS = ("resolved", "unresolved", "follow_up")

# Which rule ids answer which label (a rulebook of your own may rename them: pass `label_rules`).
DEFAULT_LABEL_RULES: dict[str, tuple[str, ...]] = {
    "opening_greeting": ("greeting_missing",),
    "closing_farewell": ("farewell_missing",),
    "apology": ("apology_missing",),
    "hold_thanks": ("hold_thanks_missing",),
    "harsh_turns": ("harsh_negation",),
    "interruption_turns": ("interruption",),
}
TURN_LABELS = ("harsh_turns", "interruption_turns")
MIN_OVERLAP_S = 0.05
"""A finding matches a labelled turn when their times overlap by at least this much."""


# --- inputs ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LabelledCall:
    call_id: str
    agent_id: str | None
    labels: dict[str, Any]
    turns: tuple[dict, ...]
    duration_s: float
    path: Path


def load_labelled_call(path: Path) -> LabelledCall:
    """Read one ``<call_id>.ref.json``; raises :class:`TranscriptError` if it does not follow SCHEMA.md."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        turns = tuple(data["turns"])
        for turn in turns:
            float(turn["start"]), float(turn["end"]), turn["speaker"], turn["text"]
        return LabelledCall(call_id=data["call_id"], agent_id=data.get("agent_id"), labels=dict(data["labels"]),
                            turns=turns, duration_s=float(data.get("duration") or max(t["end"] for t in turns)),
                            path=Path(path))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TranscriptError(f"{path}: not a labelled call as in shared/eval/calls/SCHEMA.md ({e!r}); expected "
                              f"call_id, labels and turns with speaker, text, start and end") from e


def transcript_from_reference(path: Path | LabelledCall) -> Transcript:
    """A Transcript from a ``.ref.json``: reference text and times, speaker from each turn."""
    call = path if isinstance(path, LabelledCall) else load_labelled_call(Path(path))
    utterances = tuple(
        Utterance(speaker=t["speaker"], start_s=float(t["start"]), end_s=float(t["end"]),
                  text=normalize_text(t["text"]), raw_text=t["text"],
                  channel=0 if t["speaker"] == "agent" else 1)
        for t in call.turns)
    return Transcript(call=CallMeta(call_id=call.call_id, source_path=str(call.path), agent_id=call.agent_id,
                                    layout="stereo"),
                      duration_s=call.duration_s, utterances=utterances, model="reference",
                      roles=RoleAssignment(confidence=1.0, method="reference"))


def load_transcript(path: Path) -> Transcript:
    """A pipeline transcript JSON (``Transcript.to_dict()``)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise TranscriptError(f"{path}: transcript not found; pass the output of `callqa transcribe`") from e
    except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise TranscriptError(f"{path}: not a callqa transcript JSON ({e.__class__.__name__}: {e}); expected the "
                              f"output of `callqa transcribe` (Transcript.to_dict)") from e
    try:
        return Transcript.from_dict(data)
    except TranscriptError as e:
        raise TranscriptError(f"{path}: not a callqa transcript: {e}; expected the output of `callqa transcribe` "
                              f"(Transcript.to_dict, schema in the README)") from e


def load_transcripts(directory: Path) -> dict[str, Transcript]:
    """Pipeline transcripts in a directory, by call id (``*.json``, skipping ``*.qa.json``/``*.ref.json``)."""
    out: dict[str, Transcript] = {}
    for path in sorted(Path(directory).glob("*.json")):
        if path.name.endswith((".qa.json", ".ref.json")):
            continue
        transcript = load_transcript(path)
        out[transcript.call.call_id] = transcript
    return out


def transcripts_from_dialogues(path: Path, *, chars_per_s: float = 4.0, gap_s: float = 0.6) -> list[Transcript]:
    """Text-only dialogues (``{"dialog_id", "turns": [{"role", "text"}]}`` per line) with synthetic times.

    Each turn lasts ``len(text) / chars_per_s`` seconds and turns are ``gap_s`` apart, so
    timing rules (holds, interruptions) stay silent and only the language rules are exercised.
    """
    transcripts = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        if line.strip():
            transcripts.append(dialogue_transcript(json.loads(line), n, path, chars_per_s=chars_per_s, gap_s=gap_s))
    return transcripts


def dialogue_transcript(data: dict, n: int, path: Path, *, chars_per_s: float = 4.0, gap_s: float = 0.6) -> Transcript:
    """One text dialogue as a Transcript with synthetic times (see :func:`transcripts_from_dialogues`)."""
    t = 0.0
    utterances = []
    for turn in data["turns"]:
        text = normalize_text(turn["text"])
        duration = max(0.5, len(text) / chars_per_s)
        speaker = turn.get("role") or turn.get("speaker") or "unknown"
        utterances.append(Utterance(speaker=speaker, start_s=round(t, 3), end_s=round(t + duration, 3),
                                    text=text, raw_text=turn["text"]))
        t += duration + gap_s
    call_id = str(data.get("dialog_id") or f"dialogue-{n:04d}")
    return Transcript(call=CallMeta(call_id=call_id, source_path=str(path)), duration_s=round(t, 3),
                      utterances=tuple(utterances), model="text", roles=RoleAssignment(method="text"))


# --- predictions -----------------------------------------------------------------------------
def predicted_labels(qa: CallQA, label_rules: Mapping[str, tuple[str, ...]] = DEFAULT_LABEL_RULES) -> dict[str, Any]:
    """The call-level labels a QA result implies (turn labels as lists of findings' time spans)."""

    def status(label: str) -> str:
        statuses = [qa.checks.get(rule_id, "not_run") for rule_id in label_rules[label]]
        if "fail" in statuses:
            return "missing"
        if "pass" in statuses:
            return "present"
        return "not_needed"

    def spans(label: str) -> list[tuple[float, float]]:
        return [(f.start_s, f.end_s) for f in qa.findings
                if f.rule_id in label_rules[label] and f.start_s is not None and f.end_s is not None]

    return {
        "opening_greeting": status("opening_greeting") != "missing",
        "closing_farewell": status("closing_farewell") != "missing",
        "apology": status("apology"),
        "hold_thanks": status("hold_thanks"),
        "harsh_turns": spans("harsh_turns"),
        "interruption_turns": spans("interruption_turns"),
        "resolution": qa.resolution,
    }


# --- scoring ---------------------------------------------------------------------------------
@dataclass(slots=True)
class LabelScore:
    """Counts for one label; the positive class is the fault (no greeting, apology missing, ...)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    confusion: Counter = field(default_factory=Counter)
    """(expected, predicted) -> calls, for call-level labels."""
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def macro_f1(self, classes: Iterable[str]) -> float:
        """Mean F1 over the classes of a call-level label (from the confusion counts)."""
        scores = []
        for c in classes:
            tp = self.confusion[(c, c)]
            fp = sum(n for (e, p), n in self.confusion.items() if p == c and e != c)
            fn = sum(n for (e, p), n in self.confusion.items() if e == c and p != c)
            if tp + fp + fn == 0:
                continue
            scores.append(2 * tp / (2 * tp + fp + fn))
        return sum(scores) / len(scores) if scores else 1.0


@dataclass(slots=True)
class EvalReport:
    source: str
    calls: int = 0
    labels: dict[str, LabelScore] = field(default_factory=dict)
    resolution_correct: int = 0
    resolution_confusion: Counter = field(default_factory=Counter)
    resolution_errors: list[str] = field(default_factory=list)
    resolution_review: int = 0
    """Calls whose outcome is too uncertain to count without a reviewer (``resolution_needs_review``)."""
    resolution_review_correct: int = 0
    missing_transcripts: list[str] = field(default_factory=list)
    acts: dict[str, LabelScore] = field(default_factory=dict)
    """Per dialogue act, over the turns that carry an ``acts`` label."""

    @property
    def resolution_accuracy(self) -> float:
        return self.resolution_correct / self.calls if self.calls else 0.0

    @property
    def resolution_accuracy_confident(self) -> float:
        """Resolution accuracy on the calls that do not go to review."""
        rest = self.calls - self.resolution_review
        return (self.resolution_correct - self.resolution_review_correct) / rest if rest else 0.0

    def rows(self) -> list[dict[str, Any]]:
        """One row per label: precision, recall, F1 of the fault class (and macro-F1 for three-way labels)."""
        out = []
        for label, score in self.labels.items():
            row = {"label": label, "precision": round(score.precision, 4), "recall": round(score.recall, 4),
                   "f1": round(score.f1, 4), "tp": score.tp, "fp": score.fp, "fn": score.fn}
            if label in ("apology", "hold_thanks"):
                row["macro_f1"] = round(score.macro_f1(TRI_STATE), 4)
            out.append(row)
        return out

    def act_rows(self) -> list[dict[str, Any]]:
        """One row per labelled act: precision, recall, F1 over labelled turns."""
        return [{"act": act, "precision": round(s.precision, 4), "recall": round(s.recall, 4), "f1": round(s.f1, 4),
                 "tp": s.tp, "fp": s.fp, "fn": s.fn} for act, s in sorted(self.acts.items())]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "calls": self.calls, "labels": self.rows(), "acts": self.act_rows(),
            "confusion": {label: {f"{e}->{p}": n for (e, p), n in sorted(s.confusion.items())}
                          for label, s in self.labels.items() if s.confusion},
            "errors": {label: s.errors for label, s in self.labels.items() if s.errors},
            "act_errors": {act: s.errors for act, s in sorted(self.acts.items()) if s.errors},
            "resolution_accuracy": round(self.resolution_accuracy, 4),
            "resolution_confusion": {f"{e}->{p}": n for (e, p), n in sorted(self.resolution_confusion.items())},
            "resolution_errors": self.resolution_errors,
            "resolution_review": self.resolution_review,
            "resolution_accuracy_confident": round(self.resolution_accuracy_confident, 4),
            "missing_transcripts": self.missing_transcripts,
        }


def _fault(label: str, value: Any) -> bool:
    if label in ("opening_greeting", "closing_farewell"):
        return value is False
    return value == "missing"


def score_call(report: EvalReport, call: LabelledCall, qa: CallQA,
               label_rules: Mapping[str, tuple[str, ...]] = DEFAULT_LABEL_RULES) -> None:
    """Add one call's agreement with its labels to ``report``."""
    predicted = predicted_labels(qa, label_rules)
    report.calls += 1
    for label in ("opening_greeting", "closing_farewell", "apology", "hold_thanks"):
        score = report.labels.setdefault(label, LabelScore())
        expected, got = call.labels[label], predicted[label]
        score.confusion[(str(expected), str(got))] += 1
        e, p = _fault(label, expected), _fault(label, got)
        score.tp += e and p
        score.fp += p and not e
        score.fn += e and not p
        if expected != got:
            score.errors.append(f"{call.call_id}: expected {expected}, got {got}")
    for label in TURN_LABELS:
        score = report.labels.setdefault(label, LabelScore())
        wanted = [call.turns[i] for i in call.labels.get(label, [])]
        found = predicted[label]
        matched = [any(_overlap(s, e, t) for s, e in found) for t in wanted]
        useful = [any(_overlap(s, e, t) for t in wanted) for s, e in found]
        score.tp += sum(matched)
        score.fn += len(matched) - sum(matched)
        score.fp += len(useful) - sum(useful)
        for t, ok in zip(wanted, matched):
            if not ok:
                score.errors.append(f"{call.call_id}: missed turn {t['index']} {t['text']!r}")
        for (s, e), ok in zip(found, useful):
            if not ok:
                quote = next((f.quote for f in qa.findings if f.start_s == s and f.end_s == e), "")
                score.errors.append(f"{call.call_id}: false alarm {s:.1f}-{e:.1f} s {quote!r}")
    _score_acts(report, call, qa)
    expected, got = call.labels["resolution"], predicted["resolution"]
    report.resolution_confusion[(expected, got)] += 1
    report.resolution_review += qa.resolution_needs_review
    if expected == got:
        report.resolution_correct += 1
        report.resolution_review_correct += qa.resolution_needs_review
    else:
        report.resolution_errors.append(f"{call.call_id}: expected {expected}, got {got} ({qa.resolution_evidence})")


def _score_acts(report: EvalReport, call: LabelledCall, qa: CallQA) -> None:
    """Per-act agreement on turns labelled with ``"acts"`` (reference text only: one utterance per turn)."""
    if report.source != "reference" or not any("acts" in t for t in call.turns):
        return
    predicted = {item["index"]: {a["act"] for a in item["acts"]} for item in qa.acts}
    for k, turn in enumerate(call.turns):
        if "acts" not in turn:
            continue
        wanted, got = set(turn["acts"]), predicted.get(k, set())
        for act in wanted | got:
            score = report.acts.setdefault(act, LabelScore())
            if act in wanted and act in got:
                score.tp += 1
            elif act in got:
                score.fp += 1
                score.errors.append(f"{call.call_id}: turn {k} false {act} {turn['text'][:40]!r}")
            else:
                score.fn += 1
                score.errors.append(f"{call.call_id}: turn {k} missed {act} {turn['text'][:40]!r}")


def _overlap(start_s: float, end_s: float, turn: dict) -> bool:
    return min(end_s, float(turn["end"])) - max(start_s, float(turn["start"])) >= MIN_OVERLAP_S


def evaluate_calls(calls_dir: Path, rulebook: Rulebook | None = None, options: RuleOptions = RuleOptions(), *,
                   transcripts: Mapping[str, Transcript] | None = None,
                   label_rules: Mapping[str, tuple[str, ...]] = DEFAULT_LABEL_RULES) -> EvalReport:
    """Run the rules on every ``*.ref.json`` in ``calls_dir`` and score them against the labels.

    ``transcripts`` (by call id) replaces the reference text with the pipeline's transcripts;
    calls without one are listed in ``missing_transcripts`` and skipped.
    """
    rulebook = rulebook or load_rulebook()
    paths = sorted(Path(calls_dir).glob("*.ref.json"))
    if not paths:
        raise TranscriptError(f"{calls_dir}: no *.ref.json labelled calls found; point at a folder like "
                              f"shared/eval/calls")
    report = EvalReport(source="reference" if transcripts is None else "transcripts")
    for path in paths:
        call = load_labelled_call(path)
        if transcripts is None:
            transcript = transcript_from_reference(call)
        elif call.call_id in transcripts:
            transcript = transcripts[call.call_id]
        else:
            report.missing_transcripts.append(call.call_id)
            continue
        score_call(report, call, assess(transcript, rulebook, options), label_rules)
    return report


def load_dialogue_labels(labels_path: Path, dialogues_path: Path) -> list[tuple[LabelledCall, Transcript]]:
    """Labelled text dialogues: a label file of ids and labels only, the text from a dialogues JSONL.

    The label file is ``{"source", "sessions": [{"dialog_id", "labels": {...}, "acts": {"<turn>": [...]}}]}``
    (turn indices index the dialogue's ``turns``). Transcripts get synthetic times
    (:func:`transcripts_from_dialogues`), so turn labels match findings by time as for calls.
    Only the dialogues named in the label file are read.
    """
    try:
        data = json.loads(Path(labels_path).read_text(encoding="utf-8"))
        sessions = {str(s["dialog_id"]): s for s in data["sessions"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TranscriptError(f"{labels_path}: not a dialogue label file ({e!r}); expected {{\"sessions\": "
                              f"[{{\"dialog_id\", \"labels\", \"acts\"}}]}}") from e
    wanted = Path(dialogues_path).read_text(encoding="utf-8").splitlines()
    lines = [line for line in wanted if line.strip() and json.loads(line).get("dialog_id") in sessions]
    out: list[tuple[LabelledCall, Transcript]] = []
    for n, line in enumerate(lines):
        transcript = dialogue_transcript(json.loads(line), n, dialogues_path)
        session = sessions[transcript.call.call_id]
        acts = {int(k): list(v) for k, v in (session.get("acts") or {}).items()}
        turns = tuple({"index": k, "speaker": u.speaker, "text": u.raw_text or u.text, "start": u.start_s,
                       "end": u.end_s, **({"acts": acts[k]} if k in acts else {})}
                      for k, u in enumerate(transcript.utterances))
        labels = {"harsh_turns": [], "interruption_turns": [], **session["labels"]}
        out.append((LabelledCall(call_id=transcript.call.call_id, agent_id=None, labels=labels, turns=turns,
                                 duration_s=transcript.duration_s, path=Path(labels_path)), transcript))
    missing = set(sessions) - {call.call_id for call, _ in out}
    if missing:
        raise TranscriptError(f"{labels_path}: {len(missing)} labelled dialogue(s) not in {dialogues_path} "
                              f"(e.g. {sorted(missing)[0]}); fix: point at the dialogues file the labels were made on")
    return out


def evaluate_dialogues(labels_path: Path, dialogues_path: Path, rulebook: Rulebook | None = None,
                       options: RuleOptions = RuleOptions(),
                       label_rules: Mapping[str, tuple[str, ...]] = DEFAULT_LABEL_RULES) -> EvalReport:
    """:func:`evaluate_calls` for labelled text dialogues (see :func:`load_dialogue_labels`)."""
    rulebook = rulebook or load_rulebook()
    report = EvalReport(source="reference")
    for call, transcript in load_dialogue_labels(labels_path, dialogues_path):
        score_call(report, call, assess(transcript, rulebook, options), label_rules)
    return report


# --- speed and real text ---------------------------------------------------------------------
def scoring_speed(transcripts: list[Transcript], rulebook: Rulebook, *, min_seconds: float = 2.0,
                  warmup_seconds: float = 1.0) -> float:
    """Transcripts assessed per second on one core (single-threaded), in the steady state.

    Whole passes for ``warmup_seconds`` first: the first pass loads the tokenizer's dictionary and
    fills caches (its first half second runs at about a tenth of the rate), which is start-up, not
    the rate of a night's batch.
    """
    start = time.perf_counter()
    while time.perf_counter() - start < warmup_seconds:
        for transcript in transcripts:
            assess(transcript, rulebook)
    done, start = 0, time.perf_counter()
    cpu_start = time.process_time()
    while True:
        for transcript in transcripts:
            assess(transcript, rulebook)
        done += len(transcripts)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            break
    # CPU time, not wall time: other processes on a shared machine do not count against us.
    cpu = time.process_time() - cpu_start
    return done / max(cpu, 1e-9)


def flag_rates(transcripts: list[Transcript], rulebook: Rulebook,
               options: RuleOptions = RuleOptions()) -> tuple[dict[str, float], dict[str, float], list[CallQA]]:
    """(share of calls each rule fires on, share of calls per resolution, QA results)."""
    results = [assess(t, rulebook, options) for t in transcripts]
    fired: Counter = Counter()
    for qa in results:
        for rule_id in {f.rule_id for f in qa.findings}:
            fired[rule_id] += 1
    n = max(len(results), 1)
    rates = {rule_id: fired[rule_id] / n for rule_id in rulebook.rules if rulebook.rules[rule_id].enabled}
    resolutions = Counter(qa.resolution for qa in results)
    return rates, {r: resolutions[r] / n for r in RESOLUTIONS}, results
