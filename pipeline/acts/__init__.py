"""Dialogue acts: what each utterance *does* (reports a problem, refuses, announces a hold, gives up).

    tagger = compile_acts(spec)                      # from the rulebook's ``acts:`` section
    acts = tagger.tag(text, speaker)                 # tuple[Act, ...], each with score and evidence
    outcome = call_outcome(speakers, acts_per_utterance, OutcomeOptions())  # resolved / unresolved / follow_up

Acts are found by grammar-level patterns (negation or inability + verb, interrogative + anomaly,
loss verb + amount, ...) written as regex templates over word classes (``{negator}{service_verb}``)
and by lexicons, all data in the rulebook YAML. This layer knows nothing about rules: the rules
(:mod:`pipeline.rules`) consume acts, never the other way round.
"""
from __future__ import annotations

from pipeline.acts.outcome import CallOutcome, OutcomeOptions, call_outcome
from pipeline.acts.schema import ACT_NAMES, ActDefinition, ActPattern, ActsSpec
from pipeline.acts.tagger import Act, ActsSpecError, ActTagger, compile_acts

__all__ = [
    "ACT_NAMES", "Act", "ActDefinition", "ActPattern", "ActsSpec", "ActsSpecError", "ActTagger",
    "CallOutcome", "OutcomeOptions", "call_outcome", "compile_acts",
]
