"""Check types: each takes a compiled rule and a call, and returns an :class:`Outcome`.

A check reports ``pass``/``fail``/``not_applicable`` (an apology is not needed when nobody
complained) and the findings behind a ``fail``, each with evidence a team lead can play back.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pipeline.acts import Act, OutcomeOptions, call_outcome
from pipeline.rules.context import CallContext
from pipeline.rules.rulebook import Rule
from pipeline.rules.text import Hit, PhraseSet, TextView, load_tokenizer, tokens_with_spans
from pipeline.types import Finding

QUOTE_MAX_CHARS = 160
NEGATION_CHARS = frozenset("不没别无非")


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # "pass" | "fail" | "not_applicable"
    findings: tuple[Finding, ...] = ()
    evidence: str = ""
    extra: dict = field(default_factory=dict)


NOT_APPLICABLE = Outcome("not_applicable")
PASS = Outcome("pass")


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_MAX_CHARS else text[:QUOTE_MAX_CHARS - 1] + "…"


def _pattern(hit: Hit) -> str:
    return f"{hit.pattern} (homophone)" if hit.homophone else hit.pattern


def finding(rule: Rule, ctx: CallContext, indices: list[int] | tuple[int, ...], *, message: str,
            pattern: str = "", quote: str | None = None, end_s: float | None = None) -> Finding:
    """A finding anchored on utterances ``indices`` (the first one is the playback start)."""
    confidence = ctx.confidence(indices)
    if indices:
        first = ctx.utterances[indices[0]]
        start_s, speaker = first.start_s, first.speaker
        end_s = end_s if end_s is not None else max(ctx.utterances[i].end_s for i in indices)
        quote = quote if quote is not None else " ".join(ctx.utterances[i].text for i in indices)
        index: int | None = indices[0]
    else:
        start_s, speaker, index, quote = None, None, None, quote or ""
    return Finding(rule_id=rule.id, severity=rule.severity, weight=rule.weight, category=rule.category,
                   fatal=rule.fatal, utterance_index=index, start_s=start_s, end_s=end_s, speaker=speaker,
                   quote=_quote(quote), pattern=pattern, asr_confidence=round(confidence, 4),
                   needs_review=confidence < ctx.options.review_below_confidence,
                   message=f"{rule.title}: {message}")


def _window_turns(rule: Rule, ctx: CallContext) -> list[int]:
    window = rule.spec.window
    turn_ids = ctx.turns_of(rule.spec.speaker)
    if not turn_ids:
        return []
    if window.part == "opening":
        if window.seconds is not None:
            origin = ctx.turns[0].start_s if ctx.turns else 0.0
            turn_ids = [t for t in turn_ids if ctx.turns[t].start_s - origin <= window.seconds] or turn_ids[:1]
        if window.skip_summons:
            summons = re.compile(window.skip_summons)
            skipped = 0
            while skipped < len(turn_ids) - 1 and summons.fullmatch(ctx.turn_view(turn_ids[skipped]).compact):
                skipped += 1
            turn_ids = turn_ids[skipped:]
        return turn_ids[:window.turns] if window.turns else turn_ids
    if window.part == "closing":
        if window.seconds is not None:
            end = ctx.turns[-1].end_s
            turn_ids = [t for t in turn_ids if end - ctx.turns[t].start_s <= window.seconds] or turn_ids[-1:]
        turn_ids = _after_reopening(rule, ctx, turn_ids)
        return turn_ids[-window.turns:] if window.turns else turn_ids
    return turn_ids


def _after_reopening(rule: Rule, ctx: CallContext, turn_ids: list[int]) -> list[int]:
    """The closing turns after the other side last reopened the call with a new question or request
    (还有其他问题吗 / 啊对了多久能到?): a farewell before it does not close the call."""
    names = getattr(rule.spec, "reopen_acts", ())
    if not names:
        return turn_ids
    closers = rule.spec.closing_acts
    own = set(ctx.utterances_of(rule.spec.speaker))
    for i in reversed(ctx.order):
        if i in own or not ctx.views[i].compact:
            continue
        reopen = ctx.act(i, names)
        closing = ctx.act(i, closers) if closers else None
        if reopen is not None and (closing is None or closing.start < reopen.start):
            start = ctx.utterances[i].start_s
            return [t for t in turn_ids if ctx.turns[t].start_s > start]
    return turn_ids


def _suppressed(hit: Hit, masks: list[Hit]) -> bool:
    """A hit mostly inside a mask (polite phrase, exception) does not count.

    A hit that strictly contains the mask still counts (跟我们没关系 contains 没关系), and so does
    one that only touches it at an edge (不知道你 | 你去问).
    """
    length = hit.end - hit.start
    for m in masks:
        shared = min(hit.end, m.end) - max(hit.start, m.start)
        if shared > 0 and shared * 2 >= length and not hit.covers(m):
            return True
    return False


# --- required phrases ------------------------------------------------------------------------
def check_required_phrases(rule: Rule, ctx: CallContext) -> Outcome:
    turn_ids = _window_turns(rule, ctx)
    if not turn_ids:
        reopened = rule.spec.window.part == "closing" and ctx.turns_of(rule.spec.speaker)
        if not reopened:
            return NOT_APPLICABLE
        last = ctx.turns_of(rule.spec.speaker)[-1]  # the call was reopened and the speaker never closed it again
        return Outcome("fail", (finding(rule, ctx, list(ctx.turns[last].indices), pattern="missing: closing after "
                                        "the last question", message="the call ends on a question or request the "
                                        f"{rule.spec.speaker} never closed after"),))
    view = ctx.turns_view(turn_ids)
    groups = [rule.sets[f"require.{g}"] for g in range(len(rule.spec.require))]
    missing: list[str] = []
    matched: list[str] = []
    for g, group in enumerate(groups):
        hit = group.search(view)
        if hit is None:
            missing.append(_group_label(rule, g))
        else:
            matched.append(_pattern(hit))
    if not missing:
        return Outcome("pass", evidence=", ".join(matched))
    indices = [i for t in turn_ids for i in ctx.turns[t].indices]
    part = rule.spec.window.part
    anchor = indices if part != "closing" else indices[-len(ctx.turns[turn_ids[-1]].indices):]
    where = {"opening": "the opening", "closing": "the closing", "whole": "the call"}[part]
    return Outcome("fail", (finding(rule, ctx, anchor, pattern="missing: " + " + ".join(missing),
                                    quote=" ".join(ctx.utterances[i].text for i in indices),
                                    message=f"{where} ({len(turn_ids)} {rule.spec.speaker} turn(s)) has no "
                                            f"{' and no '.join(missing)}"),))


def _group_label(rule: Rule, g: int) -> str:
    items = rule.spec.require[g]
    return items[0][1:] if len(items) == 1 and items[0].startswith("@") else f"group {g + 1}"


# --- phrases (one finding per utterance) -----------------------------------------------------
def check_phrases(rule: Rule, ctx: CallContext) -> Outcome:
    findings = []
    phrases, exceptions = rule.sets["phrases"], rule.sets["exceptions"]
    for i in ctx.utterances_of(rule.spec.speaker):
        hits = phrases.find_all(ctx.views[i])
        if not hits:
            continue
        masks = exceptions.find_all(ctx.views[i]) if exceptions else []
        hits = [h for h in hits if not _suppressed(h, masks)]
        if hits:
            findings.append(finding(rule, ctx, [i], pattern=_pattern(hits[0]),
                                    message=f"{rule.spec.speaker} said {hits[0].pattern!r}"))
    return Outcome("fail" if findings else "pass", tuple(findings))


# --- harsh negation --------------------------------------------------------------------------
def harsh_hits(rule: Rule, view: TextView, user_dict) -> tuple[str, list[Hit]]:
    """Why an utterance is harsh ("forbidden" / "refusal") and the hits, or ("", []) when it is not."""
    sets = rule.sets
    polite: list[Hit] | None = None

    def not_polite(hits: list[Hit]) -> list[Hit]:
        nonlocal polite
        if not hits:
            return hits
        if polite is None:
            polite = sets["polite"].find_all(view) if sets["polite"] else []
        return [h for h in hits if not _suppressed(h, polite)]

    forbidden = not_polite(sets["forbidden"].find_all(view))
    exact = [h for h in forbidden if not h.homophone]
    if exact:
        return "forbidden", exact
    if sets["softeners"].search(view) or sets["alternatives"].search(view):
        return "", []
    if forbidden:
        # only sounds like a forbidden phrase (关不了 ~ 管不了): as unsure as a refusal, so a reason excuses it
        return "refusal", forbidden
    refusals = not_polite(sets["refusal"].find_all(view))
    if not refusals and rule.tokens.get("negators") and NEGATION_CHARS.intersection(view.compact):
        if polite is None:
            polite = sets["polite"].find_all(view) if sets["polite"] else []
        if _has_free_negation(view.compact, polite):
            refusals = not_polite(_token_refusals(rule, view, user_dict))
    return ("refusal", refusals) if refusals else ("", [])


def _has_free_negation(text: str, polite: list[Hit]) -> bool:
    for pos, ch in enumerate(text):
        if ch in NEGATION_CHARS and not any(m.start <= pos < m.end for m in polite):
            return True
    return False


def _token_refusals(rule: Rule, view: TextView, user_dict) -> list[Hit]:
    """Negator + service verb (不能/给你/退款), or verb + complement (改/不了), found on jieba tokens."""
    negators, verbs = rule.tokens["negators"], rule.tokens["refusal_verbs"]
    complements, skip = rule.tokens["complements"], rule.tokens["skip_tokens"]
    tokens = tokens_with_spans(load_tokenizer(user_dict), view.compact)
    hits: list[Hit] = []
    for k, (token, start, end) in enumerate(tokens):
        if token in negators:
            skipped = 0
            for token2, _, end2 in tokens[k + 1:]:
                if token2 in verbs:
                    hits.append(Hit(start, end2, f"{token}+{token2}"))
                    break
                if token2 in skip and skipped < rule.spec.max_skip:
                    skipped += 1
                    continue
                break
        elif token in complements and k > 0 and tokens[k - 1][0] in verbs:
            hits.append(Hit(tokens[k - 1][1], end, f"{tokens[k - 1][0]}+{token}"))
        else:
            for complement in complements:
                if len(token) > len(complement) and token.endswith(complement) and token[:-len(complement)] in verbs:
                    hits.append(Hit(start, end, f"{token[:-len(complement)]}+{complement}"))
                    break
    return hits


def _excused(rule: Rule, ctx: CallContext, i: int) -> bool:
    """A refusal with a reason (因为, 由于) or an apology/alternative act in it is not harsh."""
    spec, view = rule.spec, ctx.views[i]
    if rule.sets["reasons"] and rule.sets["reasons"].search(view):
        return True
    return bool(spec.excuse_acts) and ctx.act(i, spec.excuse_acts) is not None


def _model_exempt(rule: Rule, ctx: CallContext, i: int) -> bool:
    """The model judges wording only, so anything that makes the turn courteous or helpful silences it."""
    spec, view = rule.spec, ctx.views[i]
    if len(view.compact) < spec.model_min_chars or (rule.sets["model_exempt"] and rule.sets["model_exempt"].search(view)):
        return True
    if _excused(rule, ctx, i) or rule.sets["softeners"].search(view) or rule.sets["alternatives"].search(view):
        return True
    return bool(spec.model_exempt_acts) and ctx.act(i, spec.model_exempt_acts) is not None


def check_negation(rule: Rule, ctx: CallContext, user_dict=None) -> Outcome:
    spec = rule.spec
    findings = []
    for i in ctx.utterances_of(spec.speaker):
        kind, hits = harsh_hits(rule, ctx.views[i], user_dict)
        pattern = _pattern(hits[0]) if hits else ""
        if kind == "refusal" and _excused(rule, ctx, i):
            kind = ""
        if not kind and spec.refusal_acts:
            refusal = ctx.act(i, spec.refusal_acts, spec.min_act_score)
            if (refusal is not None and not _excused(rule, ctx, i) and not rule.sets["softeners"].search(ctx.views[i])
                    and not rule.sets["alternatives"].search(ctx.views[i])):
                kind, pattern = "refusal", f"{refusal.name}: {refusal.evidence}"
        if not kind and rule.model is not None and not _model_exempt(rule, ctx, i):
            probability = rule.model.probability(ctx.views[i].compact)
            if probability >= rule.model.threshold:
                kind, pattern = "model", f"model:{rule.model.name} p={probability:.2f}"
        if kind:
            what = {"forbidden": "forbidden service phrase", "refusal": "refusal without a softener or alternative",
                    "model": "worded like a harsh turn (no listed phrase; trained model)"}[kind]
            findings.append(finding(rule, ctx, [i], pattern=pattern, message=f"{what} {pattern!r}"))
            if spec.finding_act and kind != "model" and ctx.act(i, [spec.finding_act]) is None:
                ctx.add_act(i, Act(spec.finding_act, 0.8, f"{rule.id}: {pattern}"))
    return Outcome("fail" if findings else "pass", tuple(findings))


# --- response (apology after a complaint) ----------------------------------------------------
def check_response(rule: Rule, ctx: CallContext) -> Outcome:
    spec = rule.spec
    trigger, exceptions = rule.sets["trigger"], rule.sets["trigger_exceptions"]
    respond_turns = ctx.turns_of(spec.respond_speaker)
    first_turn = next(iter(ctx.turns_of(spec.trigger_speaker)), len(ctx.turns))
    first_unanswered: tuple[int, str, list[int]] | None = None
    for i in ctx.utterances_of(spec.trigger_speaker):
        hits = trigger.find_all(ctx.views[i]) if trigger else []
        if hits and exceptions:
            masks = exceptions.find_all(ctx.views[i])
            hits = [h for h in hits if not _suppressed(h, masks)]
        why = hits[0].pattern if hits else ""
        if not why and spec.trigger_acts:
            act = ctx.act(i, spec.trigger_acts, spec.min_act_score)
            if act is not None and act.name in spec.reaction_exempt_acts and _after_act(ctx, i, spec.reaction_to_acts):
                act = ctx.act(i, [a for a in spec.trigger_acts if a not in spec.reaction_exempt_acts],
                              spec.min_act_score)
            why = f"{act.name}: {act.evidence}" if act is not None else ""
        if not why:
            continue
        t = ctx.turn_of_utterance(i)
        window = [r for r in respond_turns if (r >= t if spec.include_trigger_turn else r > t)][:spec.within_turns]
        if spec.answered_before:
            earlier = next((a for r in respond_turns if first_turn < r < t and (a := _implied_in(rule, ctx, r))), "")
            if earlier:
                return Outcome("pass", evidence=f"{why} -> earlier {earlier}")
        for r in window:
            answer = _response_in(rule, ctx, r)
            if answer:
                return Outcome("pass", evidence=f"{why} -> {answer}")
        if first_unanswered is None:
            first_unanswered = (i, why, window)
    if first_unanswered is None:
        implied = _implied_response(rule, ctx, first_turn)
        return Outcome("pass", evidence=implied) if implied else NOT_APPLICABLE
    i, why, window = first_unanswered
    end_s = ctx.turns[window[-1]].end_s if window else None
    return Outcome("fail", (finding(rule, ctx, [i], pattern=why, end_s=end_s,
                                    message=f"{spec.trigger_speaker} said {why!r}; no "
                                            f"{spec.respond_speaker} response in the next "
                                            f"{spec.within_turns} turn(s)"),))


def _response_in(rule: Rule, ctx: CallContext, r: int) -> str:
    """What in turn ``r`` answers the trigger (a ``respond`` phrase or a ``respond_acts`` act), else ""."""
    spec = rule.spec
    respond = rule.sets["respond"]
    answer = _answer(respond, rule.sets.get("respond_exceptions"), ctx.turn_view(r)) if respond else None
    if answer is not None:
        return _pattern(answer)
    if spec.respond_acts:
        act_answer = ctx.turn_act(r, spec.respond_acts, spec.min_act_score)
        if act_answer is not None:
            return f"{act_answer[1].name}: {act_answer[1].evidence}"
    return ""


def _implied_in(rule: Rule, ctx: CallContext, r: int) -> str:
    """The act of turn ``r`` said with a pattern in ``implied_by`` (empathy naming the trouble), else ""."""
    for i in ctx.turns[r].indices:
        for act in ctx.acts(i):
            if act.name not in rule.spec.respond_acts or act.score < rule.spec.min_act_score:
                continue
            ids = ctx.tagger.pattern_ids(ctx.views[i].compact, ctx.utterances[i].speaker, act.name)
            how = sorted(ids & set(rule.spec.implied_by))
            if how:
                return f"{act.name}: {how[0]}"
    return ""


def _implied_response(rule: Rule, ctx: CallContext, first_turn: int) -> str:
    """Evidence that a problem was reported though no trigger matched (see ``implied_by``), else ""."""
    if not rule.spec.implied_by:
        return ""
    implied = next((a for r in ctx.turns_of(rule.spec.respond_speaker) if r > first_turn
                    and (a := _implied_in(rule, ctx, r))), "")
    return f"no trigger matched, but {implied} answers a reported problem" if implied else ""


def _answer(respond: PhraseSet, exceptions: PhraseSet | None, view: TextView) -> Hit | None:
    """The first ``respond`` hit that is not part of a ritual formula in ``exceptions``."""
    if not exceptions:
        return respond.search(view)
    masks = exceptions.find_all(view)
    return next((h for h in respond.find_all(view) if not _suppressed(h, masks)), None)


def _after_act(ctx: CallContext, index: int, names) -> bool:
    """True when an utterance of the other side before ``index`` has one of the acts ``names``."""
    if not names:
        return False
    speaker = ctx.utterances[index].speaker
    for i in ctx.order:
        if i == index:
            return False
        if ctx.utterances[i].speaker != speaker and ctx.views[i].compact and ctx.act(i, names, 0.75):
            return True
    return False


# --- holds -----------------------------------------------------------------------------------
def find_holds(rule: Rule, ctx: CallContext) -> list[tuple[int, float, float, int | None]]:
    """(utterance before the hold, hold start s, hold end s, returning utterance or None) for every hold.

    Silences are holds as before; with acts, so is an announced hold of any length (``min_hold_s``):
    an announce act (稍等, 我查一下) whose next utterance of the speaker is a return act (查到了).
    """
    spec = rule.spec
    holds: list[tuple[int, float, float, int | None]] = []
    for gap in ctx.gaps:
        if gap.duration_s < spec.announced_gap_s:
            continue
        recent = _recent_utterances(ctx, gap.before, spec.speaker)
        if not recent:
            continue
        announced = any(_announces(rule, ctx, j) for j in recent)
        last_is_speaker = ctx.utterances[gap.before].speaker == spec.speaker or spec.speaker == "any"
        if gap.duration_s >= spec.min_gap_s and (last_is_speaker or announced):
            holds.append((recent[-1], gap.start_s, gap.end_s, None))
        elif announced:
            holds.append((recent[-1], gap.start_s, gap.end_s, None))
    if spec.announce_acts and spec.return_acts:
        silent = {before for before, *_ in holds}
        min_hold_s = 0.0 if _untimed(ctx) else spec.min_hold_s  # a text dialogue's times are synthetic
        for i, j in _announced_returns(rule, ctx):
            if ctx.act(j, spec.return_acts) is None:  # a return read from context: shown among the acts
                where = "in the same message" if i == j else f"after the announce in utterance {i}"
                ctx.add_act(j, Act(spec.return_acts[0], 0.7, f"next utterance {where}"))
            start_s = ctx.utterances[i].end_s
            end_s = start_s if i == j else ctx.utterances[j].start_s  # i == j: returned in the same message
            # the customer must have waited in silence: not a 好，你查 then the answer at once
            if i not in silent and (i == j or _longest_silence(ctx, i, j) >= min_hold_s) and not any(
                    s <= start_s < e for _, s, e, _ in holds):
                holds.append((i, start_s, max(start_s, end_s), j))
        holds.sort(key=lambda h: h[1])
    return holds


def _announces(rule: Rule, ctx: CallContext, index: int) -> bool:
    """The utterance announces a wait. With announce acts it must be one, so that asking the customer
    to look (您看一下到账了吗) or a look-up waiting on the customer's details starts no hold."""
    if rule.spec.announce_acts:
        return ctx.act(index, rule.spec.announce_acts) is not None
    return rule.sets["hold_phrases"].search(ctx.views[index]) is not None


def _longest_silence(ctx: CallContext, first: int, last: int) -> float:
    """The longest gap between consecutive utterances from ``first`` to ``last`` (seconds)."""
    span = ctx.order[ctx.order.index(first):ctx.order.index(last) + 1]
    latest_end, longest = ctx.utterances[first].end_s, 0.0
    for k in span[1:]:
        longest = max(longest, ctx.utterances[k].start_s - latest_end)
        latest_end = max(latest_end, ctx.utterances[k].end_s)
    return longest


def _announced_returns(rule: Rule, ctx: CallContext) -> list[tuple[int, int]]:
    """(announce, return) utterance pairs: the speaker announces a wait or a look-up and comes back
    with its next utterance, the other side saying at most a short 好的/嗯 in between.

    A customer who answers with information (the order number the agent asked for) turns the
    look-up into an ordinary exchange, not a hold.
    """
    spec = rule.spec
    text_only = spec.text_returns and _untimed(ctx)
    pairs = []
    pending: int | None = None
    for i in ctx.order:
        if not ctx.views[i].compact:
            continue
        mine = spec.speaker == "any" or ctx.utterances[i].speaker == spec.speaker
        if not mine:
            # on a call, a customer answering with information ends the look-up; in a chat the
            # customer keeps typing while the agent looks
            if pending is not None and not text_only and len(ctx.views[i].compact) > spec.max_reply_chars:
                pending = None
            continue
        announce = ctx.act(i, spec.announce_acts)
        if pending is not None and (ctx.act(i, spec.return_acts) is not None or (announce is None and (
                text_only or spec.unmarked_return_min_s is not None
                and ctx.utterances[i].start_s - ctx.utterances[pending].end_s >= spec.unmarked_return_min_s))):
            pairs.append((pending, i))
        pending = i if announce is not None else None
        if announce is not None and text_only:
            # a chat message that announces a look-up and then gives its result: the wait was before sending
            if len(ctx.views[i].compact) - _announce_end(rule, ctx, i, announce) >= spec.inline_return_chars:
                pairs.append((i, i))
                pending = None
    return pairs


def _announce_end(rule: Rule, ctx: CallContext, i: int, announce: Act) -> int:
    """Where the announce of utterance ``i`` ends (the act and any hold phrase): what follows is the return."""
    hits = rule.sets["hold_phrases"].find_all(ctx.views[i]) if rule.sets["hold_phrases"] else []
    return max([announce.end] + [h.end for h in hits])


def _untimed(ctx: CallContext) -> bool:
    """Text dialogues (chat logs) carry synthetic times: no pause can tell a hold."""
    return ctx.transcript.model == "text" or ctx.transcript.roles.method == "text"


def _recent_utterances(ctx: CallContext, before: int, scope: str, lookback: int = 2) -> list[int]:
    """The speaker's utterances among the last ``lookback`` utterances ending at ``before``."""
    position = ctx.order.index(before)
    recent = ctx.order[max(0, position - lookback + 1):position + 1]
    return [j for j in recent if scope == "any" or ctx.utterances[j].speaker == scope]


def check_hold(rule: Rule, ctx: CallContext) -> Outcome:
    holds = find_holds(rule, ctx)
    if not holds:
        return NOT_APPLICABLE
    findings = []
    evidence = []
    speaker_turns = ctx.turns_of(rule.spec.speaker)
    for before, start_s, end_s, back in holds:
        if back is not None:  # announced hold: the returning utterance and the rest of its turn
            turn = ctx.turns[ctx.turn_of_utterance(back)]
            back_views = [ctx.views[i] for i in turn.indices[turn.indices.index(back):]]
            if back == before:  # announced and answered in one message: the thanks must come after the announce
                announce = ctx.act(back, rule.spec.announce_acts)
                rest = back_views[0].compact[_announce_end(rule, ctx, back, announce):] if announce else back_views[0].compact
                back_views[0] = TextView(rest, rest)
            answer = next((h for v in back_views if (h := rule.sets["thanks"].search(v))), None)
            anchor = [back]
        else:
            after = [t for t in speaker_turns if ctx.turns[t].start_s >= end_s - 0.01][:rule.spec.within_turns]
            answer = next((h for t in after if (h := rule.sets["thanks"].search(ctx.turn_view(t)))), None)
            anchor = list(ctx.turns[after[0]].indices) if after else [before]
        if answer is not None:
            evidence.append(f"{end_s - start_s:.0f} s hold -> {_pattern(answer)}")
            continue
        findings.append(finding(rule, ctx, anchor, pattern=f"hold {end_s - start_s:.1f} s",
                                message=f"no thanks or apology for the wait after a {end_s - start_s:.0f} s "
                                        f"hold ({start_s:.1f}-{end_s:.1f} s)"))
    return Outcome("fail" if findings else "pass", tuple(findings), evidence="; ".join(evidence),
                   extra={"holds": len(holds), "hold_s": sum(e - s for _, s, e, _ in holds)})


# --- interruptions ---------------------------------------------------------------------------
def check_overlap(rule: Rule, ctx: CallContext) -> Outcome:
    spec = rule.spec
    others = ctx.utterances_of(spec.other)
    findings = []
    closing = {i for t in ctx.turns_of(spec.speaker)[-spec.closing_turns:] for i in ctx.turns[t].indices}
    for i in ctx.utterances_of(spec.speaker):
        view = ctx.views[i]
        if len(view.compact) <= spec.backchannel_max_chars and rule.sets["backchannels"].search(view):
            continue
        in_closing = spec.closing_acts and i in closing
        start, end = ctx.speech[i]
        for j in others:
            o_start, o_end = ctx.speech[j]
            if j == i or not (o_start < start < o_end):
                continue
            if in_closing and (ctx.act(i, spec.closing_acts) or ctx.act(j, spec.closing_acts)):
                break  # overlapping goodbyes at the end of a call are no interruption
            overlap = min(o_end, end) - start
            if overlap >= spec.min_overlap_s:
                findings.append(finding(rule, ctx, [i], pattern=f"overlap {overlap:.1f} s",
                                        message=f"{spec.speaker} started {overlap:.1f} s before the {spec.other} "
                                                f"finished: {ctx.utterances[j].text!r}"))
                break
    return Outcome("fail" if findings else "pass", tuple(findings), extra={"overlaps": len(findings)})


# --- dead air --------------------------------------------------------------------------------
def check_silence(rule: Rule, ctx: CallContext) -> Outcome:
    findings = []
    for gap in ctx.gaps:
        if gap.duration_s < rule.spec.min_gap_s:
            continue
        recent = _recent_utterances(ctx, gap.before, "agent")
        if any(rule.sets["announced_by"].search(ctx.views[j]) for j in recent):
            continue
        findings.append(finding(rule, ctx, [gap.before], pattern=f"silence {gap.duration_s:.1f} s",
                                end_s=gap.end_s,
                                message=f"{gap.duration_s:.0f} s of silence ({gap.start_s:.1f}-{gap.end_s:.1f} s) "
                                        f"without announcing a hold"))
    return Outcome("fail" if findings else "pass", tuple(findings))


# --- speech rate -----------------------------------------------------------------------------
def speech_rate_cpm(ctx: CallContext, scope: str) -> tuple[float, float]:
    """(characters per minute of speech, seconds of speech) for a speaker scope."""
    indices = ctx.utterances_of(scope)
    seconds = sum(max(0.0, ctx.utterances[i].duration_s) for i in indices)
    chars = sum(len(ctx.views[i].compact) for i in indices)
    return (chars / seconds * 60.0 if seconds > 0 else 0.0), seconds


def check_speech_rate(rule: Rule, ctx: CallContext) -> Outcome:
    spec = rule.spec
    cpm, seconds = speech_rate_cpm(ctx, spec.speaker)
    if seconds < spec.min_speech_s:
        return NOT_APPLICABLE
    too_fast = spec.max_cpm is not None and cpm > spec.max_cpm
    too_slow = spec.min_cpm is not None and cpm < spec.min_cpm
    if not (too_fast or too_slow):
        return Outcome("pass", evidence=f"{cpm:.0f} chars/min")
    limit = f"> {spec.max_cpm:.0f}" if too_fast else f"< {spec.min_cpm:.0f}"
    indices = ctx.utterances_of(spec.speaker)
    return Outcome("fail", (finding(rule, ctx, indices[:1], pattern=f"{cpm:.0f} chars/min {limit}",
                                    quote=ctx.utterances[indices[0]].text,
                                    message=f"{spec.speaker} speaks {cpm:.0f} characters per minute ({limit})"),))


# --- order (identity verification before account details) ------------------------------------
def check_order(rule: Rule, ctx: CallContext) -> Outcome:
    first, disclose = rule.sets["first"], rule.sets["disclose"]
    for i in ctx.order:
        if not ctx.views[i].compact:
            continue
        if first.search(ctx.views[i]):
            return PASS
        if ctx.utterances[i].speaker == rule.spec.speaker or rule.spec.speaker == "any":
            hit = disclose.search(ctx.views[i])
            if hit is not None:
                return Outcome("fail", (finding(rule, ctx, [i], pattern=_pattern(hit),
                                                message=f"disclosed {hit.pattern!r} before verifying identity"),))
    return NOT_APPLICABLE


# --- resolution ------------------------------------------------------------------------------
def classify_resolution(rule: Rule, ctx: CallContext) -> tuple[str, str, Finding | None]:
    """(resolution, evidence, unresolved finding or None)."""
    resolution, evidence, f, _ = resolve_call(rule, ctx)
    return resolution, evidence, f


def resolve_call(rule: Rule, ctx: CallContext) -> tuple[str, str, Finding | None, dict]:
    """(resolution, evidence, unresolved finding or None, extra: confidence and evidence utterances)."""
    if rule.spec.use_acts and ctx.tagger is not None:
        return _resolve_with_acts(rule, ctx)
    resolution, evidence, f = _resolve_by_phrases(rule, ctx)
    return resolution, evidence, f, {}


def _commitments(rule: Rule, ctx: CallContext) -> list[tuple[int, str]]:
    sets = rule.sets
    out = []
    for i in ctx.utterances_of("agent"):
        view = ctx.views[i]
        action = sets["commitment_actions"].search(view)
        if action is None:
            continue
        when = sets["deadlines"].search(view) or (sets["tickets"].search(view) if sets["tickets"] else None)
        if when is not None:
            out.append((i, f"{action.pattern} + {when.pattern}"))
    return out


def _concrete(rule: Rule, ctx: CallContext) -> Callable[[int], bool] | None:
    """Whether an agent utterance names a time or a ticket (明天下午三点前, 工单, HH52073): what makes a
    promise concrete. None when the rule lists no ``concrete_cues`` (every commitment then counts)."""
    sets = rule.sets
    if not sets["concrete_cues"]:
        return None

    def names_time_or_ticket(i: int) -> bool:
        view = ctx.views[i]
        return bool(sets["deadlines"].search(view) or (sets["tickets"] and sets["tickets"].search(view))
                    or sets["concrete_cues"].search(view))
    return names_time_or_ticket


def _unresolved_cues(rule: Rule, ctx: CallContext, closing: list[int]) -> list[tuple[int, str]]:
    sets = rule.sets
    candidates = set(closing)
    if sets["agent_unresolved_cues"]:
        candidates.update(ctx.utterances_of("agent"))
    out = []
    for i in sorted(candidates, key=ctx.order.index):
        cues = sets["unresolved_cues"] if ctx.utterances[i].speaker != "agent" else sets["agent_unresolved_cues"]
        hit = cues.search(ctx.views[i]) if cues else None
        if hit is None:
            continue
        if sets["unresolved_exceptions"] and sets["unresolved_exceptions"].search(ctx.views[i]):
            continue
        out.append((i, hit.pattern))
    return out


def _completions(rule: Rule, ctx: CallContext) -> list[tuple[int, str]]:
    """Agent utterances reporting an action done (已经帮您取消成功了): a commitment before them was kept in the call."""
    cues = rule.sets.get("completion_cues")
    if not cues:
        return []
    return [(i, hit.pattern) for i in ctx.utterances_of("agent") if (hit := cues.search(ctx.views[i])) is not None]


def _resolve_with_acts(rule: Rule, ctx: CallContext) -> tuple[str, str, Finding | None, dict]:
    spec = rule.spec
    closing = [i for t in ctx.turns_of("customer")[-spec.closing_turns:] for i in ctx.turns[t].indices]
    waiting = rule.sets["unresolved_exceptions"]
    stance = [i for i in closing if not (waiting and waiting.search(ctx.views[i]))]  # 等你们电话: waiting, not giving up
    utterances = [(i, ctx.utterances[i].speaker, ctx.acts(i)) for i in ctx.order if ctx.views[i].compact]
    options = OutcomeOptions(give_up_min_score=spec.give_up_min_score,
                             commitment_min_score=spec.commitment_min_score,
                             refusal_min_score=spec.refusal_min_score,
                             open_refusal_confidence=spec.open_refusal_confidence,
                             satisfaction_min_score=spec.satisfaction_min_score)
    outcome = call_outcome(utterances, stance, options, commitments=_commitments(rule, ctx),
                           unresolved_cues=_unresolved_cues(rule, ctx, closing), completions=_completions(rule, ctx),
                           concrete=_concrete(rule, ctx))
    extra = {"confidence": outcome.confidence, "utterances": outcome.evidence,
             "needs_review": outcome.confidence < spec.review_below}
    quoted = "; ".join(f"{ctx.utterances[i].speaker} [{i}]: {ctx.utterances[i].text}" for i in outcome.evidence)
    evidence = f"{outcome.reason} | {quoted}" if quoted else outcome.reason
    if outcome.resolution != "unresolved":
        return outcome.resolution, evidence, None, extra
    f = finding(rule, ctx, list(outcome.evidence), pattern=outcome.reason,
                message=f"the issue is left unresolved ({outcome.reason}); confidence {outcome.confidence:.2f}")
    if outcome.confidence < spec.review_below:
        f = replace(f, needs_review=True)
    return "unresolved", evidence, f, extra


def _resolve_by_phrases(rule: Rule, ctx: CallContext) -> tuple[str, str, Finding | None]:
    sets = rule.sets
    last_commit: tuple[int, str] | None = None
    for i in ctx.utterances_of("agent"):
        view = ctx.views[i]
        action = sets["commitment_actions"].search(view)
        if action is None:
            continue
        when = sets["deadlines"].search(view) or (sets["tickets"].search(view) if sets["tickets"] else None)
        if when is not None:
            last_commit = (i, f"{action.pattern} + {when.pattern}")
    last_unresolved: tuple[int, str] | None = None
    customer_turns = ctx.turns_of("customer")[-rule.spec.closing_turns:]
    candidates = [i for t in customer_turns for i in ctx.turns[t].indices]
    candidates += [i for i in ctx.utterances_of("agent") if sets["agent_unresolved_cues"]]
    for i in sorted(set(candidates), key=ctx.order.index):
        cues = sets["unresolved_cues"] if ctx.utterances[i].speaker != "agent" else sets["agent_unresolved_cues"]
        hit = cues.search(ctx.views[i]) if cues else None
        if hit is None:
            continue
        if sets["unresolved_exceptions"] and sets["unresolved_exceptions"].search(ctx.views[i]):
            continue
        last_unresolved = (i, hit.pattern)
    order = ctx.order.index
    if last_unresolved and (last_commit is None or order(last_unresolved[0]) > order(last_commit[0])):
        i, cue = last_unresolved
        f = finding(rule, ctx, [i], pattern=cue,
                    message=f"the issue is left unresolved ({ctx.utterances[i].speaker} said {cue!r}) and no "
                            f"follow-up was committed after it")
        return "unresolved", f"{ctx.utterances[i].speaker} [{i}]: {ctx.utterances[i].text}", f
    if last_commit:
        i, what = last_commit
        return "follow_up", f"agent [{i}] ({what}): {ctx.utterances[i].text}", None
    return "resolved", "no unresolved statement and no pending follow-up", None


def check_resolution(rule: Rule, ctx: CallContext) -> Outcome:
    resolution, evidence, f, extra = resolve_call(rule, ctx)
    return Outcome("fail" if f else "pass", (f,) if f else (), evidence=evidence,
                   extra={"resolution": resolution, **{f"resolution_{k}": v for k, v in extra.items()}})


CHECKS: dict[str, Callable[..., Outcome]] = {
    "required_phrases": check_required_phrases,
    "phrases": check_phrases,
    "negation": check_negation,
    "response": check_response,
    "hold": check_hold,
    "overlap": check_overlap,
    "silence": check_silence,
    "speech_rate": check_speech_rate,
    "order": check_order,
    "resolution": check_resolution,
}
