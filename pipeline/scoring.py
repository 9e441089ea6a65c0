"""Turn a call's findings into a 100-point score with per-category sub-scores.

The model QA teams use on paper scorecards:

- every call starts at ``max_score`` (100) and each counted finding deducts its rule's
  ``weight``; a rule that fires several times deducts at most ``max_hits_per_rule`` times,
  so one long rant does not outweigh everything else;
- a *fatal* finding (e.g. abusive language) sets the score to 0;
- findings flagged ``needs_review`` (low ASR confidence, uncertain roles) deduct nothing until
  a reviewer confirms them; their weight is reported as ``pending_review_deductions``;
- a finding a reviewer rejected never deducts, whether or not it was flagged;
- each category (courtesy, language, resolution, process) gets its own 100-point sub-score.

Only the findings' own ``weight``/``category``/``fatal``/``needs_review`` are used, so scoring
does not need the rulebook object.
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pipeline.types import CallQA, Finding

logger = logging.getLogger(__name__)

CATEGORIES: tuple[str, ...] = ("courtesy", "language", "resolution", "process")

Decision = Literal["confirm", "reject"]
_KEY_PATTERN_CHARS = 32
FindingStatus = Literal["counted", "pending_review", "confirmed", "rejected"]


@dataclass(frozen=True, slots=True)
class ScoringOptions:
    """How findings become a score."""

    max_score: float = 100.0
    """Score of a call without findings."""
    pass_score: float = 80.0
    """A call passes when its score is at least this and no fatal finding counts."""
    max_hits_per_rule: int = 2
    """A rule that fires more often than this deducts only this many times."""
    categories: tuple[str, ...] = CATEGORIES
    """Categories that always get a sub-score (findings of other categories add their own)."""


@dataclass(frozen=True, slots=True)
class CallScore:
    """The score of one call under one rulebook version."""

    call_id: str
    agent_id: str | None
    recorded_at: str | None
    rulebook_id: str
    rulebook_version: str
    score: float
    """0-100 after deductions; 0 when a fatal finding counts."""
    category_scores: dict[str, float] = field(default_factory=dict)
    """Per category, ``max_score`` minus that category's deductions (not below 0)."""
    fatal: bool = False
    deductions: float = 0.0
    """Points taken off by counted findings (before the fatal rule and the floor at 0)."""
    pending_review_deductions: float = 0.0
    """Points that unreviewed ``needs_review`` findings would take off once confirmed."""
    passed: bool = True
    n_findings: int = 0
    """Findings that count (confirmed or not needing review)."""
    n_pending_review: int = 0
    n_rejected: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallScore:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def finding_key(finding: Finding) -> str:
    """A key that names a finding across re-runs, so review decisions survive re-scoring.

    Built from the rule, the utterance and the matched pattern rather than list position,
    because a rulebook change may add or remove other findings of the same call.
    """
    where = "call" if finding.utterance_index is None else str(finding.utterance_index)
    pattern = finding.pattern
    if len(pattern) > _KEY_PATTERN_CHARS:
        # Long regexes would make unwieldy (and, in databases, over-long) keys; a digest is as stable.
        digest = hashlib.sha1(pattern.encode("utf-8")).hexdigest()[:10]
        pattern = f"{pattern[:16]}~{digest}"
    return f"{finding.rule_id}@{where}:{pattern}"


def finding_keys(findings: tuple[Finding, ...] | list[Finding]) -> list[str]:
    """:func:`finding_key` for each finding, with ``#2``, ``#3`` appended to repeats."""
    seen: Counter[str] = Counter()
    keys = []
    for f in findings:
        key = finding_key(f)
        seen[key] += 1
        keys.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return keys


def finding_status(finding: Finding, decision: Decision | None) -> FindingStatus:
    """Whether a finding deducts now: reviewer decisions override the ``needs_review`` flag."""
    if decision == "reject":
        return "rejected"
    if decision == "confirm":
        return "confirmed"
    if decision is not None:
        raise ValueError(f"review decision must be 'confirm' or 'reject', got {decision!r}")
    return "pending_review" if finding.needs_review else "counted"


def score_call(
    qa: CallQA,
    options: ScoringOptions = ScoringOptions(),
    *,
    decisions: Mapping[str, Decision] | None = None,
) -> CallScore:
    """Score one call from its findings.

    ``decisions`` maps :func:`finding_keys` keys to a reviewer's ``"confirm"``/``"reject"``;
    findings without a decision count unless they are flagged ``needs_review``.
    """
    decisions = decisions or {}
    counted: dict[str, list[Finding]] = defaultdict(list)
    pending: dict[str, list[Finding]] = defaultdict(list)
    n_rejected = 0
    for key, finding in zip(finding_keys(qa.findings), qa.findings, strict=True):
        status = finding_status(finding, decisions.get(key))
        if status in ("counted", "confirmed"):
            counted[finding.rule_id].append(finding)
        elif status == "pending_review":
            pending[finding.rule_id].append(finding)
        else:
            n_rejected += 1

    by_category: dict[str, float] = {c: 0.0 for c in options.categories}
    deductions = 0.0
    for hits in counted.values():
        for f in hits[: options.max_hits_per_rule]:
            deductions += f.weight
            by_category[f.category] = by_category.get(f.category, 0.0) + f.weight
    # Pending points are what confirmation would add, within the same per-rule cap.
    pending_points = 0.0
    for rule_id, hits in pending.items():
        room = max(0, options.max_hits_per_rule - len(counted.get(rule_id, ())))
        pending_points += sum(f.weight for f in hits[:room])

    fatal = any(f.fatal for hits in counted.values() for f in hits)
    score = 0.0 if fatal else max(0.0, options.max_score - deductions)
    category_scores = {c: max(0.0, options.max_score - d) for c, d in by_category.items()}
    return CallScore(
        call_id=qa.call_id,
        agent_id=qa.agent_id,
        recorded_at=qa.recorded_at,
        rulebook_id=qa.rulebook_id,
        rulebook_version=qa.rulebook_version,
        score=round(score, 2),
        category_scores={c: round(v, 2) for c, v in category_scores.items()},
        fatal=fatal,
        deductions=round(deductions, 2),
        pending_review_deductions=round(pending_points, 2),
        passed=(not fatal) and score >= options.pass_score,
        n_findings=sum(len(h) for h in counted.values()),
        n_pending_review=sum(len(h) for h in pending.values()),
        n_rejected=n_rejected,
    )
