"""Transcripts from (speaker, text) turns, for the rule and act tests that need a whole call."""
from __future__ import annotations

from pipeline.evaluate import dialogue_transcript
from pipeline.types import CallMeta, Transcript, Utterance

A, C = "agent", "customer"
GREET = (A, "您好，客服中心，请问有什么可以帮您？")   # a complete opening: greeting + offer of help
BYE = (A, "感谢您的来电，再见。")                      # a complete closing


def spoken_call(*turns: tuple, gap_s: float = 0.5, call_id: str = "t-001", agent_id: str = "A01") -> Transcript:
    """(speaker, text[, pause_after_s]) turns, each 3 s long and ``gap_s`` apart unless a pause is given."""
    utterances, t = [], 0.0
    for speaker, text, *pause in turns:
        utterances.append(Utterance(speaker=speaker, start_s=t, end_s=t + 3.0, text=text))
        t += 3.0 + (pause[0] if pause else gap_s)
    return Transcript(call=CallMeta(call_id=call_id, agent_id=agent_id), duration_s=t, utterances=tuple(utterances))


def agent_reply_call(reply: str, reaction: str = "哦，好吧。") -> Transcript:
    """A request, the agent's ``reply`` (utterance 2), the customer's ``reaction``, a farewell: for harsh-turn tests."""
    return spoken_call(GREET, (C, "这个能不能帮我处理一下？"), (A, reply), (C, reaction), BYE,
                       call_id="t-reply", agent_id="A01")


def chat(dialog_id: str, *turns: tuple[str, str]) -> Transcript:
    """A text dialogue (chat log, synthetic times) from (speaker, text) turns, read as the JSONL loader reads it."""
    return dialogue_transcript({"dialog_id": dialog_id, "turns": [{"role": speaker, "text": text} for speaker, text in turns]},
                               0, "chat.jsonl")
