"""Hand-built transcripts and QA results for the scoring, store and report tests.

They stand in for ``pipeline.rules.assess`` so these tests do not depend on the rulebook.
"""
from __future__ import annotations

from pipeline.types import CallMeta, CallQA, Finding, Transcript, Utterance

RULEBOOK = ("default", "1.0")


def finding(rule_id: str = "harsh_negation", *, weight: float = 10.0, category: str = "language",
            fatal: bool = False, needs_review: bool = False, utterance_index: int | None = 2,
            start_s: float | None = 12.5, quote: str = "这个不归我们管", pattern: str = "不归我们管",
            severity: str = "major") -> Finding:
    return Finding(rule_id=rule_id, severity=severity, weight=weight, category=category, fatal=fatal,
                   utterance_index=utterance_index, start_s=start_s,
                   end_s=None if start_s is None else start_s + 2.0,
                   speaker="agent" if utterance_index is not None else None, quote=quote, pattern=pattern,
                   needs_review=needs_review, message=f"{rule_id} matched")


def transcript(call_id: str = "c1", agent_id: str = "A01", recorded_at: str = "2026-11-02T09:00",
               lines: tuple[tuple[str, str], ...] | None = None, source_path: str = "") -> Transcript:
    lines = lines or (
        ("agent", "您好，请问有什么可以帮您？"),
        ("customer", "我的手机号是13812345678，宽带一直断，我要投诉。"),
        ("agent", "这个不归我们管，您找别的部门吧。"),
        ("customer", "我住在北京市朝阳区建国路88号，你们上门看看。"),
        ("agent", "好的，给您登记了，感谢来电，再见。"),
    )
    utts, t = [], 0.5
    for speaker, text in lines:
        dur = 0.25 * len(text)
        utts.append(Utterance(speaker=speaker, start_s=round(t, 2), end_s=round(t + dur, 2), text=text,
                              raw_text=text, channel=0 if speaker == "agent" else 1))
        t += dur + 0.8
    meta = CallMeta(call_id=call_id, source_path=source_path or f"{call_id}.stereo.wav", agent_id=agent_id,
                    recorded_at=recorded_at, layout="stereo", agent_channel=0)
    return Transcript(call=meta, duration_s=round(t, 2), utterances=tuple(utts), model="fake")


def qa(call_id: str = "c1", agent_id: str = "A01", recorded_at: str = "2026-11-02T09:00",
       findings: tuple[Finding, ...] = (), resolution: str = "resolved", version: str = RULEBOOK[1]) -> CallQA:
    return CallQA(call_id=call_id, agent_id=agent_id, rulebook_id=RULEBOOK[0], rulebook_version=version,
                  resolution=resolution, findings=tuple(findings), recorded_at=recorded_at)
