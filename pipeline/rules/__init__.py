"""The QA rulebook: rules as data (YAML), matched on normalised transcripts.

    rulebook = load_rulebook()                   # bundled default, validated
    findings = match(transcript, rulebook)       # tuple[Finding, ...]
    qa = assess(transcript, rulebook, RuleOptions(disabled=("surname_address",)))  # CallQA

Scoring (100 points, categories, fatal rules) lives in :mod:`pipeline.scoring`; it reads each
finding's weight/category/fatal, which come from ``rulebook.rules[rule_id]``.
"""
from __future__ import annotations

from pipeline.rules.context import CallContext, RuleOptions
from pipeline.rules.engine import RuleRun, assess, call_metrics, match, run_rules
from pipeline.rules.rulebook import (BUNDLED_HARSH_MODEL, DEFAULT_RULEBOOK, Rule, Rulebook, load_rulebook, parse_rulebook,
                                    with_turn_model, without_turn_model)
from pipeline.rules.schema import RULE_TYPES
from pipeline.rules.text import PhraseSet, TextView, load_tokenizer

__all__ = [
    "DEFAULT_RULEBOOK", "RULE_TYPES",
    "Rule", "Rulebook", "RuleOptions", "RuleRun", "CallContext",
    "load_rulebook", "parse_rulebook", "with_turn_model", "without_turn_model", "BUNDLED_HARSH_MODEL", "match", "assess", "run_rules", "call_metrics",
    "PhraseSet", "TextView", "load_tokenizer",
]
