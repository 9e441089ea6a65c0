"""The ``acts:`` section of a rulebook (pydantic): word classes and act definitions.

    acts:
      min_score: 0.5
      classes:                         # word classes, used in patterns as {name}
        negator: [不能, 无法, 没法]
        service_verb: [退, 退款, 办理]
      definitions:
        refusal_inability:
          speaker: agent
          phrases: [办不到, 爱莫能助]   # literal lexicon (score: phrase_score)
          patterns:
            - {id: negated_service, re: "{negator}{service_verb}", score: 0.85}
          exceptions: [不好意思, 能不能]  # a hit mostly inside one of these does not count

Patterns are Python regexes over *compact* text (Simplified, no punctuation, Arabic digits);
``{name}`` expands to the class's items as an alternation (literals escaped, ``re:`` items raw).
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ACT_NAMES: tuple[str, ...] = (
    "problem_report", "complaint", "request", "question", "apology_empathy", "refusal_inability",
    "alternative_offer", "commitment_follow_up", "hold_announce", "hold_return", "thanks", "satisfaction",
    "give_up", "closing",
)
"""The acts the default rulebook defines (a rulebook may define others; rules name the ones they use)."""

ActSpeaker = Literal["agent", "customer", "any"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ActPattern(_Strict):
    """One grammar-level pattern: a regex template over word classes, with the score a match gives."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Named in the act's evidence.")
    re: str = Field(min_length=1, description="Regex over compact text; {class} expands a word class.")
    score: float = Field(0.8, ge=0, le=1)


class ActDefinition(_Strict):
    speaker: ActSpeaker = "any"
    description: str = ""
    phrases: list[str] = Field(default_factory=list, description="Literal phrases (or 're:' regexes).")
    phrase_score: float = Field(0.8, ge=0, le=1)
    patterns: list[ActPattern] = Field(default_factory=list)
    exceptions: list[str] = Field(default_factory=list, description="Phrases/regexes that mask a hit.")


class ActsSpec(_Strict):
    min_score: float = Field(0.5, ge=0, le=1, description="Acts scoring below this are not reported.")
    classes: dict[str, list[str]] = Field(default_factory=dict)
    definitions: dict[str, ActDefinition] = Field(min_length=1)
