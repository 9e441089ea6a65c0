"""Loading a rulebook: YAML -> validated spec -> compiled :class:`Rulebook` (phrase automata built once)."""
from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipeline.acts import ActsSpecError, ActTagger, compile_acts
from pipeline.errors import RulebookError
from pipeline.normalize import compact_text
from pipeline.rules.schema import RULE_TYPES, RulebookSpec, line_of, load_yaml
from pipeline.rules.text import REGEX_PREFIX, PhraseSet
from pipeline.rules.turn_model import TurnModel, load_turn_model

logger = logging.getLogger(__name__)

DEFAULT_RULEBOOK = Path(__file__).resolve().parent.parent / "rulebooks" / "default.yaml"
BUNDLED_HARSH_MODEL = DEFAULT_RULEBOOK.parent / "harsh_turns.json"
"""The harsh-turn model that ``make`` rebuilds (``callqa train-harsh-model``); the default rulebook names it (``model:``)."""
LEXICON_PREFIX = "@"

# Phrase-list fields per rule type, with the shortest phrase that gets homophone tolerance.
# Lists that make a rule *pass* or excuse a phrase (greetings, apologies, softeners) are tolerant
# from two characters (which must keep one of their own, see text._plausible_mishearing); lists
# that make a rule *fire* (forbidden phrases, complaint triggers) only from three, because two
# syllables collide too easily (嘛我 sounds like 骂我). `homophones: false` on a rule turns it off.
_PASS, _FIRE = 2, 3
_PHRASE_FIELDS: dict[str, dict[str, int]] = {
    "required_phrases": {},  # `require` groups are handled separately (_PASS)
    "phrases": {"phrases": _FIRE, "exceptions": _PASS},
    "negation": {"forbidden": _FIRE, "refusal": _FIRE, "polite": _PASS, "softeners": _PASS,
                 "alternatives": _PASS, "reasons": _PASS, "model_exempt": _PASS},
    "response": {"trigger": _FIRE, "trigger_exceptions": _PASS, "respond": _PASS, "respond_exceptions": _PASS},
    "hold": {"hold_phrases": _PASS, "thanks": _PASS},
    "overlap": {"backchannels": _PASS},
    "silence": {"announced_by": _PASS},
    "speech_rate": {},
    "order": {"first": _PASS, "disclose": _FIRE},
    "resolution": {"commitment_actions": _PASS, "deadlines": _PASS, "tickets": _PASS, "concrete_cues": _PASS,
                   "unresolved_cues": _FIRE, "unresolved_exceptions": _PASS, "agent_unresolved_cues": _FIRE,
                   "completion_cues": _FIRE},
}
# Lists of good behaviour the agent must show: 您 phrases also match their 你 form.
_NI_VARIANT_FIELDS = frozenset({"respond", "thanks", "hold_phrases", "announced_by", "first", "backchannels",
                                "commitment_actions", "deadlines", "tickets", "unresolved_exceptions"})
_TOKEN_FIELDS = ("negators", "refusal_verbs", "complements", "skip_tokens")


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule: what scoring needs (weight, category, fatal) plus its matchers."""

    id: str
    type: str
    title_zh: str
    title_en: str
    severity: str
    weight: float
    category: str
    fatal: bool
    enabled: bool
    line: int | None
    spec: Any = field(repr=False)
    """The validated pydantic spec (thresholds, windows, speaker scopes)."""
    sets: Mapping[str, PhraseSet] = field(default_factory=dict, repr=False)
    """Compiled phrase sets by field name (``require.0``, ``require.1`` ... for required groups)."""
    tokens: Mapping[str, frozenset[str]] = field(default_factory=dict, repr=False)
    model: TurnModel | None = field(default=None, repr=False)
    """The rule's trained turn model (``model:`` in the YAML), loaded once with the rulebook."""

    @property
    def title(self) -> str:
        return f"{self.title_zh} / {self.title_en}"


@dataclass(frozen=True, slots=True)
class Rulebook:
    """A validated, compiled rulebook. ``rules`` keeps the YAML order."""

    id: str
    version: str
    language: str
    rules: Mapping[str, Rule]
    turn_merge_gap_s: float
    user_dict: Path | None
    path: Path | None
    sha256: str
    title: str = ""
    acts: ActTagger | None = None
    """The compiled ``acts:`` section (dialogue acts per utterance), or None without one."""

    @property
    def enabled_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules.values() if rule.enabled)

    def summary(self) -> list[dict[str, Any]]:
        """One row per rule (id, titles, type, severity, weight, category, fatal, enabled)."""
        return [{"rule_id": r.id, "title_zh": r.title_zh, "title_en": r.title_en, "type": r.type,
                 "severity": r.severity, "weight": r.weight, "category": r.category, "fatal": r.fatal,
                 "enabled": r.enabled} for r in self.rules.values()]


def load_rulebook(path: str | Path | None = None) -> Rulebook:
    """Read, validate and compile a rulebook; ``None`` loads the bundled default.

    Raises :class:`RulebookError` naming the file, YAML line, rule id and the fix.
    """
    path = DEFAULT_RULEBOOK if path is None else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise RulebookError(f"{path}: rulebook not found; pass an existing YAML file or omit it for the "
                            f"bundled default") from e
    except UnicodeDecodeError as e:
        raise RulebookError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); save the rulebook as "
                            f"UTF-8 YAML") from e
    except OSError as e:
        raise RulebookError(f"{path}: cannot read the rulebook ({e.strerror}); pass a readable YAML file") from e
    return parse_rulebook(text, path=path)


def parse_rulebook(text: str, *, path: Path | None = None) -> Rulebook:
    """Validate and compile rulebook YAML text (``path`` is used in messages and for the user dict)."""
    where = str(path) if path else "<rulebook>"
    try:
        data, tree = load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())  # one line
        raise RulebookError(f"{where}{line}: not valid YAML ({problem}); fix the syntax "
                            f"at that line (indentation, quotes around text with ':' or '#')") from e
    if not isinstance(data, dict):
        raise RulebookError(f"{where}: expected a mapping with id, version and rules, found "
                            f"{type(data).__name__}; start from pipeline/rulebooks/default.yaml")
    try:
        spec = RulebookSpec.model_validate(data)
    except ValidationError as e:
        raise RulebookError(_format_validation(e, data, tree, where)) from e
    ctx = _Ctx(where=where, tree=tree, data=data, lexicons=spec.lexicons)
    acts = None
    if spec.acts is not None:
        try:
            acts = compile_acts(spec.acts)
        except ActsSpecError as e:
            raise RulebookError(f"{where}:{line_of(tree, ('acts',) + e.loc)}: acts: {e}") from e
    rules: dict[str, Rule] = {}
    for index, rule_spec in enumerate(spec.rules):
        line = line_of(tree, ("rules", index))
        if rule_spec.id in rules:
            raise RulebookError(f"{where}:{line}: rule '{rule_spec.id}': duplicate rule id (first at line "
                                f"{rules[rule_spec.id].line}); fix: give every rule a unique id")
        rules[rule_spec.id] = _compile_rule(rule_spec, index, line, ctx)
    _check_rule_semantics(rules, ctx)
    _check_act_references(rules, acts, ctx)
    rules = _with_models(rules, path.parent if path else DEFAULT_RULEBOOK.parent, ctx)
    user_dict = None
    if spec.settings.user_dict:
        base = path.parent if path else DEFAULT_RULEBOOK.parent
        user_dict = (base / spec.settings.user_dict).resolve()
        if not user_dict.is_file():
            line = line_of(tree, ("settings", "user_dict"))
            raise RulebookError(f"{where}:{line}: settings.user_dict: file {user_dict} not found; fix: put "
                                f"the jieba user dictionary next to the rulebook or set user_dict: null")
    title = f"{spec.title.zh} / {spec.title.en}" if spec.title else ""
    logger.debug("rulebook %s %s: %d rules", spec.id, spec.version, len(rules))
    return Rulebook(id=spec.id, version=spec.version, language=spec.language,
                    rules=rules, turn_merge_gap_s=spec.settings.turn_merge_gap_s,
                    user_dict=user_dict, path=path, sha256=hashlib.sha256(text.encode()).hexdigest(),
                    title=title, acts=acts)


@dataclass(frozen=True, slots=True)
class _Ctx:
    where: str
    tree: Any
    data: dict
    lexicons: dict[str, list[str]]


def _rule_id(data: dict, index: Any) -> str:
    try:
        return str(data["rules"][index].get("id", f"#{index + 1}"))
    except (KeyError, IndexError, TypeError, AttributeError):
        return f"#{index}"


_FIXES = {
    "missing": "add this field",
    "extra_forbidden": "remove it or correct its spelling (see the rule type's fields in pipeline/rules/schema.py)",
    "union_tag_invalid": f"set `type` to one of {', '.join(RULE_TYPES)}",
    "union_tag_not_found": f"add `type:` with one of {', '.join(RULE_TYPES)}",
    "literal_error": "use one of the values listed",
    "string_pattern_mismatch": "use lower-case letters, digits and underscores (e.g. greeting_missing)",
    "too_short": "give at least one item",
}


def _format_validation(error: ValidationError, data: dict, tree: Any, where: str) -> str:
    problems = []
    for err in error.errors():
        loc = tuple(err["loc"])
        if err["type"].startswith("union_tag"):
            loc += ("type",)
        line = line_of(tree, loc)
        in_rule = len(loc) > 1 and loc[0] == "rules"
        shown = loc[2:] if in_rule else loc
        fields = ".".join(str(p) for p in shown if not (isinstance(p, str) and p in RULE_TYPES)) or "rule"
        subject = f"rule '{_rule_id(data, loc[1])}'" if in_rule else "rulebook"
        fix = _FIXES.get(err["type"], "correct the value")
        found = err.get("input")
        found_text = f" (found {found!r})" if found is not None and not isinstance(found, (dict, list)) else ""
        problems.append(f"{where}:{line}: {subject}: {fields}: {err['msg']}{found_text}; fix: {fix}")
    # one line, so a nightly log line holds the whole error
    text = problems[0] if len(problems) == 1 else f"{len(problems)} rulebook problems: " + " | ".join(problems)
    return " ".join(text.split())  # YAML keys and values may hold newlines


def _expand(items: list[str], ctx: _Ctx, rule_id: str, loc: tuple, depth: int = 0) -> list[tuple[str, tuple]]:
    """Items with lexicon references replaced, each with the YAML location it came from."""
    out: list[tuple[str, tuple]] = []
    for k, item in enumerate(items):
        if item.startswith(LEXICON_PREFIX):
            name = item[len(LEXICON_PREFIX):]
            if name not in ctx.lexicons:
                raise RulebookError(
                    f"{ctx.where}:{line_of(ctx.tree, loc + (k,))}: rule '{rule_id}': unknown lexicon {item!r}; fix: "
                    f"define it under `lexicons:` (known: {', '.join(sorted(ctx.lexicons)) or 'none'})")
            if depth > 5:
                raise RulebookError(f"{ctx.where}: lexicon {item!r} refers to itself; fix: remove the cycle")
            out.extend(_expand(ctx.lexicons[name], ctx, rule_id, ("lexicons", name), depth + 1))
        else:
            out.append((item, loc + (k,)))
    return out


def _phrase_set(name: str, items: list[str], homophones: bool, ctx: _Ctx, rule_id: str, loc: tuple,
                min_chars: int = _PASS) -> PhraseSet:
    expanded = _expand(items, ctx, rule_id, loc)
    ni_variants = homophones and (name in _NI_VARIANT_FIELDS or name.startswith("require."))
    for item, item_loc in expanded:  # one by one, so an error points at the item's own line
        where = f"{ctx.where}:{line_of(ctx.tree, item_loc)}: rule '{rule_id}': {name}"
        try:
            if item.startswith(REGEX_PREFIX):
                re.compile(item[len(REGEX_PREFIX):])
            elif not compact_text(item):
                raise ValueError(f"phrase {item!r} is empty after normalisation (only punctuation/spaces)")
        except re.error as e:
            raise RulebookError(f"{where}: invalid regex {item!r} ({e}); fix: correct the pattern after 're:' "
                                f"(Python re syntax, matched on compact text)") from e
        except ValueError as e:
            raise RulebookError(f"{where}: {e}; fix: remove the item") from e
    return PhraseSet.build(name, [item for item, _ in expanded], homophones=homophones,
                           min_homophone_chars=min_chars, ni_variants=ni_variants)


def _compile_rule(spec: Any, index: int, line: int | None, ctx: _Ctx) -> Rule:
    sets: dict[str, PhraseSet] = {}
    homophones = bool(getattr(spec, "homophones", True))
    if spec.type == "required_phrases":
        for g, group in enumerate(spec.require):
            sets[f"require.{g}"] = _phrase_set(f"require.{g}", group, homophones, ctx, spec.id,
                                               ("rules", index, "require", g))
    for name, min_chars in _PHRASE_FIELDS[spec.type].items():
        sets[name] = _phrase_set(name, getattr(spec, name), homophones, ctx, spec.id, ("rules", index, name),
                                 min_chars)
    tokens: dict[str, frozenset[str]] = {}
    if spec.type == "negation":
        for name in _TOKEN_FIELDS:
            tokens[name] = frozenset(compact_text(t) for t, _ in _expand(getattr(spec, name), ctx, spec.id,
                                                                           ("rules", index, name)))
    return Rule(id=spec.id, type=spec.type, title_zh=spec.title.zh, title_en=spec.title.en,
                severity=spec.severity, weight=spec.weight, category=spec.category, fatal=spec.fatal,
                enabled=spec.enabled, line=line, spec=spec, sets=sets,
                tokens=tokens)


def _with_models(rules: dict[str, Rule], base: Path, ctx: _Ctx) -> dict[str, Rule]:
    """Load each rule's ``model:`` file (relative to the rulebook); a missing file names the rule and line."""
    out = {}
    for index, (rule_id, rule) in enumerate(rules.items()):
        name = getattr(rule.spec, "model", None)
        if not name:
            out[rule_id] = rule
            continue
        try:
            out[rule_id] = _rule_with_model(rule, (base / name).resolve(), rule.spec.model_threshold)
        except RulebookError as e:
            line = line_of(ctx.tree, ("rules", index, "model"))
            raise RulebookError(f"{ctx.where}:{line}: rule '{rule_id}': model: {e}") from e
    return out


def _rule_with_model(rule: Rule, model_path: Path, threshold: float | None) -> Rule:
    model = load_turn_model(model_path)
    return replace(rule, model=model if threshold is None else replace(model, threshold=threshold))


def _rule_taking_a_model(rulebook: Rulebook, rule_id: str) -> Rule:
    rule = rulebook.rules.get(rule_id)
    if rule is None or not hasattr(rule.spec, "model"):
        raise RulebookError(f"{rulebook.path or 'rulebook'}: no rule {rule_id!r} that takes a model; fix: name a "
                            f"negation rule such as 'harsh_negation'")
    return rule


def with_turn_model(rulebook: Rulebook, rule_id: str, model_path: Path, *, threshold: float | None = None) -> Rulebook:
    """The rulebook with ``model:`` set on one rule (what the YAML setting does), for comparisons."""
    rule = _rule_with_model(_rule_taking_a_model(rulebook, rule_id), Path(model_path), threshold)
    digest = hashlib.sha256((rulebook.sha256 + Path(model_path).read_text(encoding="utf-8")).encode()).hexdigest()
    return replace(rulebook, rules={**rulebook.rules, rule_id: rule}, sha256=digest)


def without_turn_model(rulebook: Rulebook, rule_id: str) -> Rulebook:
    """The rulebook with ``model: null`` on one rule (phrases and acts only), for comparisons."""
    rule = _rule_taking_a_model(rulebook, rule_id)
    digest = hashlib.sha256((rulebook.sha256 + f"without model on {rule_id}").encode()).hexdigest()
    return replace(rulebook, rules={**rulebook.rules, rule_id: replace(rule, model=None)}, sha256=digest)


_ACT_FIELDS = ("trigger_acts", "respond_acts", "reaction_exempt_acts", "reaction_to_acts", "announce_acts", "return_acts", "refusal_acts", "excuse_acts", "model_exempt_acts",
               "closing_acts", "reopen_acts", "finding_act")


def _check_act_references(rules: dict[str, Rule], acts: ActTagger | None, ctx: _Ctx) -> None:
    """Every act a rule names is defined in the ``acts:`` section."""
    known = set(acts.names) if acts is not None else set()
    for index, rule in enumerate(rules.values()):
        for name in _ACT_FIELDS:
            named = getattr(rule.spec, name, None) or ()
            for k, act in enumerate((named,) if isinstance(named, str) else named):
                if act not in known:
                    line = line_of(ctx.tree, ("rules", index, name) + (() if isinstance(named, str) else (k,)))
                    raise RulebookError(f"{ctx.where}:{line}: rule '{rule.id}': {name}: unknown act {act!r}; fix: "
                                        f"define it under acts.definitions (known: {', '.join(sorted(known)) or 'none'})")
        if rule.type == "response" and not (rule.spec.trigger or rule.spec.trigger_acts):
            raise RulebookError(f"{ctx.where}:{rule.line}: rule '{rule.id}': neither trigger nor trigger_acts; fix: "
                                f"give at least one")
        if rule.type == "response" and not (rule.spec.respond or rule.spec.respond_acts):
            raise RulebookError(f"{ctx.where}:{rule.line}: rule '{rule.id}': neither respond nor respond_acts; fix: "
                                f"give at least one")


def _check_rule_semantics(rules: dict[str, Rule], ctx: _Ctx) -> None:
    """Checks pydantic cannot express: thresholds that make a rule meaningless."""
    for rule in rules.values():
        spec = rule.spec
        where = f"{ctx.where}:{rule.line}: rule '{rule.id}'"
        if rule.type == "speech_rate" and spec.min_cpm is None and spec.max_cpm is None:
            raise RulebookError(f"{where}: speech_rate needs min_cpm or max_cpm; fix: add max_cpm: 320 "
                                f"(characters per minute)")
        if rule.type == "speech_rate" and spec.min_cpm and spec.max_cpm and spec.min_cpm >= spec.max_cpm:
            raise RulebookError(f"{where}: min_cpm {spec.min_cpm} must be below max_cpm {spec.max_cpm}; "
                                f"fix: swap or widen them")
        if rule.type == "hold" and spec.announced_gap_s > spec.min_gap_s:
            raise RulebookError(f"{where}: announced_gap_s {spec.announced_gap_s} is longer than min_gap_s "
                                f"{spec.min_gap_s}; fix: an announced hold should need a shorter gap")
        if rule.type == "negation" and not (spec.forbidden or spec.refusal or spec.negators):
            raise RulebookError(f"{where}: negation rule has no forbidden, refusal or negators list; fix: add "
                                f"at least one")
        if rule.type == "negation" and spec.negators and not spec.refusal_verbs:
            raise RulebookError(f"{where}: negators given without refusal_verbs; fix: list the service verbs "
                                f"a negator refuses (退款, 处理, ...)")
    resolution = [r.id for r in rules.values() if r.type == "resolution"]
    if len(resolution) > 1:
        raise RulebookError(f"{ctx.where}: more than one resolution rule ({', '.join(resolution)}); fix: keep one")
