"""The outcome of a whole call from its acts: resolved, unresolved or follow_up, with a confidence.

Read in time order, the call's story decides:

1. the customer's closing stance: giving up (那算了, 还是没解决, 那我再想办法) after the last
   follow-up commitment leaves the issue ``unresolved``;
2. otherwise the last commitment (a callback or notice with a deadline, a ticket) makes it
   ``follow_up``;
3. otherwise an agent refusal or inability nobody followed with an alternative or a commitment
   leaves it ``unresolved``, more surely when the customer's last words are a resigned 行吧/好吧
   and less surely (``needs_review`` below the threshold) when the customer says nothing telling;
4. otherwise ``resolved``, surer when the customer closes satisfied (解决了, 明白了, 好的谢谢).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.acts.tagger import Act


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
                 unresolved_cues: Sequence[tuple[int, str]] = ()) -> CallOutcome:
    """Decide a call's outcome.

    ``utterances``: (index, speaker, acts) in time order. ``closing_customer``: indices of the
    customer's closing utterances (their stance counts). ``commitments`` and ``unresolved_cues``:
    (index, what) found by the rule's own phrase lists, merged with the acts.
    """
    position = {i: n for n, (i, _, _) in enumerate(utterances)}
    acts_of = {i: acts for i, _, acts in utterances}
    speaker_of = {i: speaker for i, speaker, _ in utterances}
    commits = [(position[i], i, what) for i, what in commitments if i in position]
    for i, speaker, acts in utterances:
        commit = _act(acts, "commitment_follow_up")
        if speaker == "agent" and commit is not None and commit.score >= options.commitment_min_score:
            commits.append((position[i], i, commit.evidence))
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
        happy = _act(acts_of[i], "satisfaction")
        if happy is not None:
            satisfied.append((position[i], i, happy))
    cues += [(p, i, a.evidence, a.score) for p, i, a in give_ups if a.score >= options.give_up_min_score]
    last_happy = max((p for p, _, _ in satisfied), default=-1)
    # 1. the customer gives up (or says it is not solved) after the last commitment
    stated = [c for c in cues if c[0] > after_commit and c[0] >= last_happy]
    if stated:
        p, i, what, score = max(stated)
        return CallOutcome("unresolved", round(score, 3), (i,), f"{speaker_of[i]} [{i}] {what}")
    # 2. a follow-up was committed
    if last_commit is not None:
        _, i, what = last_commit
        return CallOutcome("follow_up", 0.85, (i,), f"agent [{i}] {what}")
    # 3. a refusal nobody followed with an alternative or a commitment
    open_refusal = _open_refusal(utterances, options)
    if open_refusal is not None:
        r, refusal = open_refusal
        weak = [g for g in give_ups if g[0] > position[r]]
        if weak and weak[-1][0] >= last_happy:
            _, g, give_up = weak[-1]
            return CallOutcome("unresolved", round(max(0.7, give_up.score), 3), (r, g),
                               f"agent [{r}] {refusal.evidence}; customer [{g}] {give_up.evidence}")
        if last_happy < position[r]:
            return CallOutcome("unresolved", options.open_refusal_confidence, (r,),
                               f"agent [{r}] {refusal.evidence}, with no alternative or follow-up after it")
    # 4. resolved
    if satisfied:
        _, i, happy = satisfied[-1]
        return CallOutcome("resolved", 0.9, (i,), f"customer [{i}] {happy.evidence}")
    return CallOutcome("resolved", 0.75, (), "no unresolved statement, open refusal or pending follow-up")


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
