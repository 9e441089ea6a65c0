"""``match`` (findings) and ``assess`` (findings + resolution + metrics) over one transcript."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from pipeline.rules.checks import CHECKS, Outcome, find_holds, resolve_call, speech_rate_cpm
from pipeline.rules.context import CallContext, RuleOptions
from pipeline.rules.rulebook import Rule, Rulebook
from pipeline.types import CallQA, Finding, Transcript

logger = logging.getLogger(__name__)

DEAD_AIR_MIN_GAP_S = 3.0
"""Silences at least this long count towards the ``dead_air_s`` metric."""


@dataclass(frozen=True, slots=True)
class RuleRun:
    """All outcomes of one rulebook on one call (what ``match`` and ``assess`` are built from)."""

    outcomes: dict[str, Outcome]
    context: CallContext

    @property
    def findings(self) -> tuple[Finding, ...]:
        found = [f for outcome in self.outcomes.values() for f in outcome.findings]
        found.sort(key=lambda f: (f.start_s if f.start_s is not None else float("inf"), f.rule_id))
        return tuple(found)


def run_rules(transcript: Transcript, rulebook: Rulebook, options: RuleOptions = RuleOptions()) -> RuleRun:
    """Run every enabled rule that ``options`` does not switch off."""
    unknown = set(options.disabled) - set(rulebook.rules)
    if unknown:
        logger.warning("disabled rule id(s) %s are not in rulebook %s %s", sorted(unknown), rulebook.id,
                       rulebook.version)
    ctx = CallContext.build(transcript, options, rulebook.turn_merge_gap_s, rulebook.acts)
    outcomes: dict[str, Outcome] = {}
    for rule in rulebook.rules.values():
        if not rule.enabled or rule.id in options.disabled:
            continue
        outcomes[rule.id] = _run_one(rule, ctx, rulebook)
    return RuleRun(outcomes=outcomes, context=ctx)


def _run_one(rule: Rule, ctx: CallContext, rulebook: Rulebook) -> Outcome:
    if rule.type == "negation":
        return CHECKS["negation"](rule, ctx, rulebook.user_dict)
    return CHECKS[rule.type](rule, ctx)


def match(transcript: Transcript, rulebook: Rulebook, options: RuleOptions = RuleOptions()) -> tuple[Finding, ...]:
    """The findings of every enabled rule, in time order."""
    return run_rules(transcript, rulebook, options).findings


def assess(transcript: Transcript, rulebook: Rulebook, options: RuleOptions = RuleOptions()) -> CallQA:
    """Findings, resolution (with evidence), per-rule check status and call metrics for one call.

    ``needs_review`` is set when roles are uncertain, a finding rests on low-confidence speech,
    or the transcript has no agent speech to judge.
    """
    run = run_rules(transcript, rulebook, options)
    ctx = run.context
    findings = run.findings
    resolution, evidence, extra = _resolution(run, rulebook)
    metrics = call_metrics(run, rulebook)
    no_agent = not ctx.utterances_of("agent")
    return CallQA(
        call_id=transcript.call.call_id,
        agent_id=transcript.call.agent_id,
        rulebook_id=rulebook.id,
        rulebook_version=rulebook.version,
        resolution=resolution,
        findings=findings,
        resolution_evidence=evidence,
        recorded_at=transcript.call.recorded_at,
        role_confidence=transcript.roles.confidence,
        needs_review=bool(transcript.roles.needs_review or no_agent or any(f.needs_review for f in findings)
                          or extra.get("needs_review", False)),
        metrics=metrics,
        checks={rule_id: outcome.status for rule_id, outcome in run.outcomes.items()},
        resolution_confidence=float(extra.get("confidence", 1.0)),
        resolution_utterances=tuple(extra.get("utterances", ())),
        resolution_needs_review=bool(extra.get("needs_review", False)),
        acts=call_acts(ctx),
    )


def call_acts(ctx: CallContext) -> tuple[dict, ...]:
    """Per utterance with acts: ``{"index", "speaker", "acts": [{"act", "score", "evidence"}]}``."""
    if ctx.tagger is None:
        return ()
    out = []
    for i in ctx.order:
        acts = ctx.acts(i) if ctx.views[i].compact else ()
        if acts:
            out.append({"index": i, "speaker": ctx.utterances[i].speaker, "acts": [a.to_dict() for a in acts]})
    return tuple(out)


def _resolution(run: RuleRun, rulebook: Rulebook) -> tuple[str, str, dict]:
    for rule_id, outcome in run.outcomes.items():
        if "resolution" in outcome.extra:
            extra = {k[len("resolution_"):]: v for k, v in outcome.extra.items() if k.startswith("resolution_")}
            return outcome.extra["resolution"], outcome.evidence, extra
    # The resolution rule is switched off: still classify (it is call metadata), without a finding.
    rule = next((r for r in rulebook.rules.values() if r.type == "resolution"), None)
    if rule is None:
        return "resolved", "rulebook has no resolution rule", {}
    resolution, evidence, _, extra = resolve_call(rule, run.context)
    return resolution, evidence, extra


def call_metrics(run: RuleRun, rulebook: Rulebook) -> dict[str, float]:
    """Talk ratio, speech rates, silences, holds, interruptions and escalation for one call."""
    ctx = run.context
    agent_cpm, agent_s = speech_rate_cpm(ctx, "agent")
    customer_cpm, customer_s = speech_rate_cpm(ctx, "customer")
    talk = agent_s + customer_s
    long_gaps = [g.duration_s for g in ctx.gaps if g.duration_s >= DEAD_AIR_MIN_GAP_S]
    hold_rule = next((r for r in rulebook.rules.values() if r.type == "hold"), None)
    holds = find_holds(hold_rule, ctx) if hold_rule is not None else []
    escalation = [o for rule_id, o in run.outcomes.items()
                  if rulebook.rules[rule_id].type == "phrases" and "escalat" in rule_id]
    overlaps = sum(o.extra.get("overlaps", 0) for o in run.outcomes.values())
    return {
        "duration_s": round(float(ctx.transcript.duration_s), 3),
        "agent_talk_s": round(agent_s, 3),
        "customer_talk_s": round(customer_s, 3),
        "talk_ratio": round(agent_s / talk, 4) if talk else 0.0,
        "agent_speech_rate_cpm": round(agent_cpm, 1),
        "customer_speech_rate_cpm": round(customer_cpm, 1),
        "dead_air_s": round(sum(long_gaps), 3),
        "longest_silence_s": round(max((g.duration_s for g in ctx.gaps), default=0.0), 3),
        "holds": float(len(holds)),
        "hold_s": round(sum(end - start for _, start, end, _ in holds), 3),
        "interruptions": float(overlaps),
        "escalated": 1.0 if any(o.findings for o in escalation) else 0.0,
        "agent_turns": float(len(ctx.turns_of("agent"))),
        "customer_turns": float(len(ctx.turns_of("customer"))),
        "utterances": float(len(ctx.utterances)),
    }
