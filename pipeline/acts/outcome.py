"""The outcome of a whole call from its acts: resolved, unresolved or follow_up, with a confidence.

Read in time order, the call's story decides:

1. the customer's closing stance: giving up (那算了, 还是没解决, 那我再想办法) after the last
   follow-up commitment (and after any real satisfaction) leaves the issue ``unresolved``;
2. otherwise the last commitment (a callback or notice, urging staff, a ticket, an action due in a
   time frame) makes it ``follow_up``, unless the agent reports it done later in the call
   (已经帮您申请成功了) or the customer reports the result (到账了, 能用了): then it was resolved in the call.
   A vague promise (有消息会通知您, 会尽快跟进: no time and no ticket) the customer gives up on or only
   resigns to waiting for (那我就再等等吧) commits nothing: the issue is left ``unresolved``;
3. otherwise an agent refusal or inability nobody followed with an alternative, a commitment or the
   action done after all (八块钱原路退给您了) leaves it ``unresolved``: surely when the customer reacts resigned (好吧 / 晕) and less surely
   (``needs_review`` below the threshold) when the customer only acknowledges (好的 / 谢谢) or says
   nothing telling. Only real satisfaction (明白了, 那就好, 能用了) after the refusal resolves it;
4. otherwise a customer whose last words complain, with nothing helpful after, leaves it
   ``unresolved`` (for review);
5. otherwise ``resolved``, surer when the customer closes satisfied.

Confidence is calibrated on the labelled sets (each value is about the share of such calls the
labels agree with): the weakest stories (an open refusal the customer only acknowledged or did not
react to, a customer leaving with a complaint, a weak commitment followed by a resigned 好吧) get
0.6, below the rulebook's ``review_below``, and go to a reviewer.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.acts.tagger import Act

COMPLAINT_MIN_SCORE = 0.85
"""A complaint this sure as the customer's last words, unanswered, leaves the call unresolved (for review)."""
DONE_EVIDENCE = ("done", "works_now", "arrived")
"""Satisfaction patterns that report the result (到账了, 能用了; not 明白了 or 那就好): after a commitment it was kept in the call."""
UNDERSTOOD_EVIDENCE = ("understood",)
"""Satisfaction patterns that only acknowledge (知道了, 明白了): after a give-up they take nothing back."""
WAIT_EVIDENCE = ("resigned_wait", "resigned_sigh")
"""Give-up patterns of a customer resigned to waiting (那我就再等等吧, 唉 行吧): after a vague promise, no follow-up."""


@dataclass(frozen=True, slots=True)
class OutcomeOptions:
    give_up_min_score: float = 0.8
    """A give-up act at least this sure is a closing stance on its own (那算了); weaker ones (行吧)
    only confirm an open refusal."""
    commitment_min_score: float = 0.8
    """A commitment_follow_up act at least this sure (an action with a deadline, a ticket) is a follow-up."""
    refusal_min_score: float = 0.75
    """Refusals at least this sure can leave an issue open."""
    open_refusal_confidence: float = 0.6
    """Confidence of ``unresolved`` from an open refusal the customer did not react to."""
    satisfaction_min_score: float = 0.7
    """Satisfaction at least this sure (明白了, 能用了) answers a refusal; a bare 好的 (lower) does not."""


@dataclass(frozen=True, slots=True)
class CallOutcome:
    resolution: str  # "resolved" | "unresolved" | "follow_up"
    confidence: float
    evidence: tuple[int, ...]
    """Utterance indices the decision rests on (time order)."""
    reason: str


def _act(acts: Sequence[Act], name: str) -> Act | None:
    return next((a for a in acts if a.name == name), None)


def call_outcome(utterances: Sequence[tuple[int, str, Sequence[Act]]], closing_customer: Sequence[int],
                 options: OutcomeOptions = OutcomeOptions(), *, commitments: Sequence[tuple[int, str]] = (),
                 unresolved_cues: Sequence[tuple[int, str]] = (),
                 completions: Sequence[tuple[int, str]] = (),
                 concrete: Callable[[int], bool] | None = None) -> CallOutcome:
    """Decide a call's outcome.

    ``utterances``: (index, speaker, acts) in time order (the ``alternative_offer`` act already
    leaves out the closing formula 还有什么可以帮您的). ``closing_customer``: indices of the
    customer's closing utterances (their stance counts). ``commitments``, ``unresolved_cues`` and
    ``completions`` (the agent reporting an action done): (index, what) found by the rule's own
    phrase lists, merged with the acts. ``concrete(i)``: whether agent utterance ``i`` names a time or a
    ticket (asked only of the last commitment); None when unknown (every commitment counts as concrete).
    """
    position = {i: n for n, (i, _, _) in enumerate(utterances)}
    acts_of = {i: acts for i, _, acts in utterances}
    speaker_of = {i: speaker for i, speaker, _ in utterances}
    commits = [(position[i], i, what, 0.9) for i, what in commitments if i in position]
    for i, speaker, acts in utterances:
        commit = _act(acts, "commitment_follow_up")
        if speaker == "agent" and commit is not None and commit.score >= options.commitment_min_score:
            commits.append((position[i], i, commit.evidence, commit.score))
    commit_at = {c[1] for c in commits}
    last_commit = max(commits) if commits else None
    after_commit = last_commit[0] if last_commit else -1

    closing = [i for i in closing_customer if i in position]
    cues = [(position[i], i, what, 0.9) for i, what in unresolved_cues if i in position]
    give_ups = []
    satisfied = []
    for i in closing:
        give_up = _act(acts_of[i], "give_up")
        if give_up is not None:
            give_ups.append((position[i], i, give_up))
    for i, speaker, acts in utterances:
        happy = _act(acts, "satisfaction")
        if speaker == "customer" and happy is not None:
            satisfied.append((position[i], i, happy))
    cues += [(p, i, a.evidence, a.score) for p, i, a in give_ups if a.score >= options.give_up_min_score]
    real = [s for s in satisfied if s[2].score >= options.satisfaction_min_score]
    last_happy = max((p for p, _, _ in real), default=-1)
    # a 知道了 after giving up acknowledges the agent's last words; it takes nothing back
    last_content = max((p for p, _, a in real if not a.evidence.startswith(UNDERSTOOD_EVIDENCE)), default=-1)
    # 1. the customer gives up (or says it is not solved) after the last commitment
    stated = [c for c in cues if c[0] > after_commit and c[0] >= last_content]
    if stated:
        p, i, what, score = max(stated)
        return CallOutcome("unresolved", round(score, 3), (i,), f"{speaker_of[i]} [{i}] {what}")
    # 2. a follow-up was committed, and not reported done later in the call
    if last_commit is not None:
        p, i, what, score = last_commit
        done = [(position[j], j, how) for j, how in completions
                if j in position and position[j] > p and j not in commit_at]
        done += [(q, j, happy.evidence) for q, j, happy in satisfied
                 if q > p and happy.evidence.startswith(DONE_EVIDENCE)]
        done.sort()
        if done:
            _, j, how = done[-1]
            return CallOutcome("resolved", 0.7, (i, j), f"agent [{i}] {what}; done in the call: {speaker_of[j]} [{j}] {how}")
        resigned = [g for g in give_ups if g[0] > p]
        gave_up = [g for g in resigned if g[2].score >= options.give_up_min_score or g[2].evidence.startswith(WAIT_EVIDENCE)]
        if gave_up and concrete is not None and not concrete(i):
            _, g, give_up = gave_up[-1]
            return CallOutcome("unresolved", 0.7, (i, g), f"agent [{i}] {what}, with no time or ticket; "
                                                          f"customer [{g}] {give_up.evidence}")
        # a weak commitment is less sure; a resigned customer after it makes it less sure still
        confidence = 0.9 if score >= 0.9 else 0.8 if score >= 0.85 else 0.7
        if resigned:
            confidence -= 0.1
        return CallOutcome("follow_up", round(confidence, 3), (i,), f"agent [{i}] {what}")
    # 3. a refusal nobody followed with an alternative or a commitment
    open_refusal = _open_refusal(utterances, options)
    if open_refusal is not None and any(position.get(j, -1) > position[open_refusal[0]] for j, _ in completions):
        open_refusal = None  # refused first, then done after all (八块钱原路退给您了)
    if open_refusal is not None:
        r, refusal = open_refusal
        weak = [g for g in give_ups if g[0] > position[r]]
        if weak and weak[-1][0] >= last_happy:
            _, g, give_up = weak[-1]
            return CallOutcome("unresolved", round(max(0.75, give_up.score), 3), (r, g),
                               f"agent [{r}] {refusal.evidence}; customer [{g}] {give_up.evidence}")
        acknowledged = [s for s in satisfied if s[0] > position[r]]
        if last_happy < position[r] and acknowledged and 0 <= last_happy and not weak:
            # satisfied first, then a side remark that reads as a refusal, then thanks: the issue was settled
            _, i, happy = acknowledged[-1]
            return CallOutcome("resolved", 0.7, (i,), f"customer [{i}] {happy.evidence} (satisfied before agent [{r}])")
        if last_happy < position[r]:
            return CallOutcome("unresolved", options.open_refusal_confidence, (r,),
                               f"agent [{r}] {refusal.evidence}, with no alternative or follow-up after it")
    # 4. the customer's last words still complain, and nothing answered them
    complaint = _left_complaining(utterances, closing, position, last_happy)
    if complaint is not None:
        i, act = complaint
        return CallOutcome("unresolved", options.open_refusal_confidence, (i,),
                           f"customer [{i}] {act.evidence}, left without an answer that helps")
    # 5. resolved
    if real:
        _, i, happy = real[-1]
        return CallOutcome("resolved", 0.9, (i,), f"customer [{i}] {happy.evidence}")
    if satisfied:
        _, i, happy = satisfied[-1]
        return CallOutcome("resolved", 0.8, (i,), f"customer [{i}] {happy.evidence}")
    return CallOutcome("resolved", 0.75, (), "no unresolved statement, open refusal or pending follow-up")


def _left_complaining(utterances: Sequence[tuple[int, str, Sequence[Act]]], closing: Sequence[int],
                      position: dict[int, int], last_happy: int) -> tuple[int, Act] | None:
    """The customer's last closing utterance if it complains and no agent alternative or commitment followed."""
    if not closing:
        return None
    last = max(closing, key=position.__getitem__)
    complaint = next((a for a in utterances[position[last]][2] if a.name == "complaint"), None)
    if complaint is None or complaint.score < COMPLAINT_MIN_SCORE or position[last] < last_happy:
        return None
    for i, speaker, acts in utterances[position[last] + 1:]:
        if speaker == "agent" and (_act(acts, "alternative_offer") or _act(acts, "commitment_follow_up")):
            return None
    return last, complaint


def _open_refusal(utterances: Sequence[tuple[int, str, Sequence[Act]]],
                  options: OutcomeOptions) -> tuple[int, Act] | None:
    """The last agent refusal with no alternative or commitment in it or after it."""
    found: tuple[int, Act] | None = None
    for i, speaker, acts in utterances:
        if speaker != "agent":
            continue
        if _act(acts, "alternative_offer") or _act(acts, "commitment_follow_up"):
            found = None
            continue
        refusal = _act(acts, "refusal_inability")
        if refusal is not None and refusal.score >= options.refusal_min_score:
            found = (i, refusal)
    return found
