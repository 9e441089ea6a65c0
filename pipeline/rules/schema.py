"""The rulebook YAML schema (pydantic), and mapping validation errors back to YAML lines.

A rulebook is data::

    id: callqa-default-zh
    version: "1.0.0"
    lexicons:                      # named phrase lists, referenced as "@name"
      greeting: [您好, 你好]
    rules:
      - id: greeting_missing
        title: {zh: 开场未问候, en: No greeting in the opening}
        type: required_phrases     # one of RULE_TYPES
        speaker: agent
        window: {part: opening, turns: 1}
        require: ["@greeting", "@offer_or_intro"]
        severity: major
        weight: 5
        category: courtesy

Phrase list items are literal phrases or regexes written ``re:<pattern>``; both are matched on
compact text (Simplified, no punctuation, digits as Arabic numerals).
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.acts.schema import ActsSpec

Severity = Literal["critical", "major", "minor", "info"]
Category = Literal["courtesy", "language", "resolution", "process"]
SpeakerScope = Literal["agent", "customer", "any"]
PhraseList = list[str]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Title(_Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Window(_Strict):
    """Which part of the call a check looks at, in speaker *turns* (consecutive utterances merged)."""

    part: Literal["opening", "closing", "whole"] = "whole"
    turns: int | None = Field(None, ge=1, description="At most this many turns of the rule's speaker.")
    seconds: float | None = Field(None, gt=0, description="Only turns starting within this many seconds "
                                                          "of the call's first (opening) or last (closing) speech.")
    skip_summons: str | None = Field(None, description="Opening: leading turns whose whole compact text matches "
                                                       "this regex (a bare 喂 while the line connects) are skipped.")

    @field_validator("skip_summons")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as e:
                raise ValueError(f"invalid regex ({e}); fix: Python re syntax over compact text") from e
        return value


class _RuleBase(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: Title
    description: str = ""
    severity: Severity = "minor"
    weight: float = Field(0.0, ge=0, le=100)
    category: Category = "courtesy"
    fatal: bool = False
    enabled: bool = True


class RequiredPhrasesRule(_RuleBase):
    """Fails when the window lacks a match of every ``require`` group (one finding per call)."""

    type: Literal["required_phrases"]
    speaker: SpeakerScope = "agent"
    window: Window = Window()
    require: list[PhraseList] = Field(min_length=1)
    reopen_acts: list[str] = Field([], description="Closing window: an utterance of the other side with one of these "
                                                   "acts (a new question or request) after the speaker's closing "
                                                   "reopens the call, so only the speaker's turns after it count.")
    closing_acts: list[str] = Field([], description="A reopening utterance that ends with one of these acts "
                                                    "(没有了 谢谢) closes rather than reopens.")
    homophones: bool = True


class PhrasesRule(_RuleBase):
    """One finding per utterance of ``speaker`` matching ``phrases`` (outside ``exceptions``)."""

    type: Literal["phrases"]
    speaker: SpeakerScope = "customer"
    phrases: PhraseList = Field(min_length=1)
    exceptions: PhraseList = []
    homophones: bool = True


class NegationRule(_RuleBase):
    """Harsh negations: forbidden phrases always count; refusals count without a softener or alternative.

    Refusals are phrases/regexes in ``refusal`` plus, with the tokenizer, a ``negators`` token
    followed (skipping ``skip_tokens``) by a ``refusal_verbs`` token, or a verb token followed by
    a ``complements`` token (改/不了).  Anything overlapping a ``polite`` phrase never counts,
    unless the harsh match strictly contains it (跟我们没关系 contains 没关系).
    """

    type: Literal["negation"]
    speaker: SpeakerScope = "agent"
    forbidden: PhraseList = []
    refusal: PhraseList = []
    polite: PhraseList = []
    softeners: PhraseList = []
    alternatives: PhraseList = []
    negators: list[str] = []
    refusal_verbs: list[str] = []
    complements: list[str] = []
    skip_tokens: list[str] = []
    max_skip: int = Field(2, ge=0, le=5)
    refusal_acts: list[str] = Field([], description="Acts that are refusals (refusal_inability).")
    excuse_acts: list[str] = Field([], description="Acts that soften a refusal (apology_empathy, alternative_offer).")
    reasons: PhraseList = Field([], description="A refusal that gives a reason (因为, 由于) is not harsh.")
    min_act_score: float = Field(0.75, ge=0, le=1)
    model: str | None = Field(None, description="Turn model file (next to the rulebook) that also flags harsh "
                                                "utterances worded without any listed phrase; null: phrases only.")
    model_threshold: float | None = Field(None, ge=0, le=1, description="Override the model's own threshold.")
    model_min_chars: int = Field(8, ge=0, description="Shortest utterance (compact characters) the model judges: "
                                                   "a few characters (是的你呢, 什么键盘呢) carry too little wording "
                                                   "to tell curt from rude; the phrase rules still read them.")
    model_exempt: PhraseList = Field([], description="Phrases after which the model stays silent (the phrase "
                                                     "rules still judge the utterance).")
    model_exempt_acts: list[str] = Field([], description="Acts (commitment_follow_up, thanks) after which the model "
                                                          "stays silent: n-grams of a promise (我们再打过来) look "
                                                          "like a brush-off (您再打过来).")
    finding_act: str | None = Field(None, description="Act each finding adds to its utterance for the rules after "
                                                      "this one (refusal_inability: the call outcome reads a "
                                                      "brush-off or blame as a refusal nobody followed up); "
                                                      "not for the model's findings.")
    homophones: bool = True


class ResponseRule(_RuleBase):
    """After a ``trigger`` utterance, ``respond_speaker`` must say ``respond`` within ``within_turns`` turns.

    Not applicable when nothing triggers; passes when any trigger is answered (a call-level
    check: one finding at the first trigger when none is).
    """

    type: Literal["response"]
    trigger_speaker: SpeakerScope = "customer"
    trigger: PhraseList = []
    trigger_acts: list[str] = Field([], description="Acts of trigger_speaker that trigger (problem_report, ...).")
    trigger_exceptions: PhraseList = []
    respond_speaker: SpeakerScope = "agent"
    respond: PhraseList = []
    respond_exceptions: PhraseList = Field([], description="Ritual formulas that are no answer (怠慢之处请您谅解).")
    respond_acts: list[str] = Field([], description="Acts of respond_speaker that answer (apology_empathy).")
    min_act_score: float = Field(0.5, ge=0, le=1)
    reaction_exempt_acts: list[str] = Field([], description="Trigger acts that do not count once the other side "
                                                            "said one of reaction_to_acts (a customer echoing a "
                                                            "refusal, 那就是办不了了, reports no new problem).")
    reaction_to_acts: list[str] = []
    within_turns: int = Field(4, ge=1)
    include_trigger_turn: bool = False
    answered_before: bool = Field(False, description="An implied_by answer in respond_speaker turns before the "
                                                     "trigger (after the first trigger_speaker turn) also counts: the "
                                                     "agent who named the customer's trouble at the first report "
                                                     "answered a problem the trigger words only found later.")
    implied_by: list[str] = Field([], description="Evidence ids of respond_acts patterns that show a problem was "
                                                  "reported even when no trigger matched (empathy naming the "
                                                  "customer's trouble: feeling_named): the rule passes instead of "
                                                  "being not applicable.")
    homophones: bool = True


class HoldRule(_RuleBase):
    """A hold is a gap after a ``speaker`` utterance of ``min_gap_s``, or ``announced_gap_s`` after a
    ``hold_phrases`` utterance, or (with acts) an ``announce_acts`` utterance answered by the speaker's
    next turn being a ``return_acts`` one at least ``min_hold_s`` later, however short (稍等 ... 查到了);
    the speaker's next ``within_turns`` turns must contain ``thanks``."""

    type: Literal["hold"]
    speaker: SpeakerScope = "agent"
    min_gap_s: float = Field(10.0, gt=0)
    announced_gap_s: float = Field(8.0, gt=0)
    hold_phrases: PhraseList = []
    announce_acts: list[str] = []
    return_acts: list[str] = []
    min_hold_s: float = Field(0.0, ge=0, description="On a timed call, the silence the customer must have waited "
                                                     "(the longest gap between the announce and the return) for an "
                                                     "announced hold to count; text dialogues count any announced hold.")
    unmarked_return_min_s: float | None = Field(None, ge=0, description="After an announce, the speaker's next "
                                                      "utterance this much later is a return even without a return "
                                                      "act (查到了); None: only return acts end an announced hold.")
    text_returns: bool = Field(True, description="In text dialogues (no real timing) the speaker's next message "
                                                 "after an announce is its return, and a message that announces "
                                                 "and then answers is a hold returned in the same message.")
    inline_return_chars: int = Field(8, ge=1, description="Characters after the announce that make a message "
                                                          "its own return (text dialogues).")
    max_reply_chars: int = Field(6, ge=0, description="Between announce and return the other side may say this "
                                                      "much (好的, 嗯嗯) without ending the hold.")
    thanks: PhraseList = Field(min_length=1)
    within_turns: int = Field(1, ge=1)
    homophones: bool = True


class OverlapRule(_RuleBase):
    """``speaker`` starts while ``other`` is talking, overlapping at least ``min_overlap_s``."""

    type: Literal["overlap"]
    speaker: SpeakerScope = "agent"
    other: SpeakerScope = "customer"
    min_overlap_s: float = Field(0.5, gt=0)
    backchannels: PhraseList = []
    backchannel_max_chars: int = Field(3, ge=0)
    closing_acts: list[str] = Field([], description="Overlaps in the closing where either side says one of these "
                                                    "(farewells, thanks) do not count.")
    closing_turns: int = Field(2, ge=1, description="The closing: the agent's last this many turns.")
    homophones: bool = True


class SilenceRule(_RuleBase):
    """Dead air: a gap of ``min_gap_s`` where nobody speaks and no hold was announced before it."""

    type: Literal["silence"]
    min_gap_s: float = Field(10.0, gt=0)
    announced_by: PhraseList = []
    homophones: bool = True


class SpeechRateRule(_RuleBase):
    """``speaker``'s characters per minute of speech outside [min_cpm, max_cpm] (one finding per call)."""

    type: Literal["speech_rate"]
    speaker: SpeakerScope = "agent"
    min_cpm: float | None = Field(None, gt=0)
    max_cpm: float | None = Field(None, gt=0)
    min_speech_s: float = Field(20.0, ge=0, description="Calls with less speech than this are not rated.")


class OrderRule(_RuleBase):
    """``speaker`` says ``disclose`` before anyone said ``first`` (identity verification before details)."""

    type: Literal["order"]
    speaker: SpeakerScope = "agent"
    first: PhraseList = Field(min_length=1)
    disclose: PhraseList = Field(min_length=1)
    homophones: bool = True


class ResolutionRule(_RuleBase):
    """Classifies the call as resolved / unresolved / follow_up; ``unresolved`` is a finding.

    follow_up: an agent utterance with a ``commitment_actions`` match and a ``deadlines`` or
    ``tickets`` match.  unresolved: a ``unresolved_cues`` match from the customer in the last
    ``closing_turns`` customer turns (or ``agent_unresolved_cues`` from the agent) after the last
    commitment.
    """

    type: Literal["resolution"]
    commitment_actions: PhraseList = Field(min_length=1)
    deadlines: PhraseList = Field(min_length=1)
    tickets: PhraseList = []
    concrete_cues: PhraseList = Field([], description="What makes a promise concrete besides deadlines and tickets "
                                                      "(a reference number, a day, an hour). Empty: every "
                                                      "commitment counts as concrete.")
    unresolved_cues: PhraseList = Field(min_length=1)
    unresolved_exceptions: PhraseList = []
    agent_unresolved_cues: PhraseList = []
    completion_cues: PhraseList = Field(default_factory=list, description="Agent phrases reporting an action done "
                                        "(已经帮您取消成功了): a commitment before one was kept in the call.")
    closing_turns: int = Field(3, ge=1)
    use_acts: bool = Field(True, description="Also read commitments, refusals and the customer's closing stance "
                                             "from the dialogue acts (needs an acts: section).")
    give_up_min_score: float = Field(0.8, ge=0, le=1)
    commitment_min_score: float = Field(0.8, ge=0, le=1)
    refusal_min_score: float = Field(0.75, ge=0, le=1)
    open_refusal_confidence: float = Field(0.6, ge=0, le=1)
    satisfaction_min_score: float = Field(0.7, ge=0, le=1, description="Customer satisfaction this sure (明白了, "
                                          "能用了) answers a refusal; a bare 好的 (0.6) does not.")
    review_below: float = Field(0.65, ge=0, le=1, description="An unresolved outcome less sure than this is "
                                                              "needs_review (its deduction waits for a reviewer).")
    homophones: bool = True


RuleSpec = Annotated[
    Union[RequiredPhrasesRule, PhrasesRule, NegationRule, ResponseRule, HoldRule, OverlapRule,
          SilenceRule, SpeechRateRule, OrderRule, ResolutionRule],
    Field(discriminator="type"),
]

RULE_TYPES: tuple[str, ...] = ("required_phrases", "phrases", "negation", "response", "hold", "overlap",
                               "silence", "speech_rate", "order", "resolution")


class Settings(_Strict):
    turn_merge_gap_s: float = Field(
        3.0, ge=0, description="Consecutive utterances of one speaker closer than this form one turn.")
    user_dict: str | None = Field("callcentre_dict.txt", description="jieba user dictionary, relative "
                                                                     "to the rulebook file.")


class RulebookSpec(_Strict):
    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    language: str = "zh-CN"
    title: Title | None = None
    description: str = ""
    settings: Settings = Settings()
    lexicons: dict[str, PhraseList] = {}
    acts: ActsSpec | None = None
    rules: list[RuleSpec] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # `version: 1.0` is read by YAML as a float; keep the text the author meant.
        return str(value) if isinstance(value, (int, float)) else value


# --- YAML lines ------------------------------------------------------------------------------
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster


def load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """(data, node tree): the tree keeps the line of every key for error messages."""
    return yaml.load(text, Loader=_LOADER), yaml.compose(text, Loader=_LOADER)


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based YAML line of the deepest node reachable along a pydantic error location."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                continue  # discriminator tags (e.g. 'negation') are in the loc but not in the YAML
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
