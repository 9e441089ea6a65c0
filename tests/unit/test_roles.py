"""Role assignment (agent vs customer) from words, who speaks first and a voiceprint."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import RolesConfig
from pipeline.roles import assign_roles, check_stereo_roles, lexical_score
from pipeline.types import Utterance, Word

CFG = RolesConfig()


def dialogue(*lines: tuple[str, str]) -> tuple[Utterance, ...]:
    out, t = [], 0.0
    for speaker, text in lines:
        dur = 0.25 * len(text)
        words = (Word(text, t, t + dur, 0.9, speaker),)
        out.append(Utterance(speaker, t, t + dur, text, text, None, words))
        t += dur + 0.5
    return tuple(out)


# (case, lines as (diarized label, text), label that is the agent, confident?)
CASES = [
    ("agent first, greeting", [
        ("S0", "您好，华鑫银行客服中心，工号3021为您服务，请问有什么可以帮您？"),
        ("S1", "你好，我银行卡好像丢了，急死了。"),
        ("S0", "理解您的心情，我先帮您办理临时挂失。"),
        ("S1", "好的，谢谢你。"),
        ("S0", "感谢您的来电，祝您生活愉快，再见！"),
    ], "S0", True),
    ("customer first", [
        ("S1", "喂，你好，我想问一下我的快递到哪了？"),
        ("S0", "您好，这里是速达快递客服，请问您的运单号是多少？"),
        ("S1", "单号是七七八八。你们怎么这么慢啊。"),
        ("S0", "非常抱歉给您带来不便，请您稍等，我帮您查询一下。"),
    ], "S0", True),
    ("no greeting, polite agent", [
        ("S0", "说吧，什么事。"),
        ("S1", "我的宽带断了，你们什么时候能修好？"),
        ("S0", "请问您的账号是多少？我帮您报修。"),
        ("S1", "账号是一二三四。"),
    ], "S0", True),
    ("agent is the minority speaker", [
        ("S1", "喂？你们这个空调又坏了，我上个月才修过，你们到底怎么回事，我要投诉！"),
        ("S0", "您好，非常抱歉。"),
        ("S1", "我跟你说，我已经打了三次电话了，没有一个人管，我真的急死了，你们必须今天来修。"),
        ("S0", "请您稍等，我帮您查一下工单。"),
    ], "S0", True),
]


@pytest.mark.parametrize("case,lines,agent,confident", CASES, ids=[c[0] for c in CASES])
def test_assign_roles_table(case, lines, agent, confident):
    utterances = dialogue(*lines)
    out, roles = assign_roles(utterances, cfg=CFG)
    for before, after in zip(utterances, out):
        assert after.speaker == ("agent" if before.speaker == agent else "customer")
        assert all(w.speaker == after.speaker for w in after.words)
    assert roles.needs_review is (not confident)
    assert roles.evidence[0] == f"{agent}=agent"
    assert roles.method.startswith("diarization")
    assert utterances[0].speaker in {"S0", "S1"}, "inputs are not mutated"


def test_no_evidence_either_way_needs_review():
    utterances = dialogue(("S0", "喂。"), ("S1", "嗯。"), ("S0", "对。"), ("S1", "好。"))
    _, roles = assign_roles(utterances, cfg=CFG)
    assert roles.needs_review
    assert roles.confidence < CFG.review_threshold


def test_one_speaker_only_is_reviewed():
    out, roles = assign_roles(dialogue(("S0", "您好，请问有什么可以帮您？")), cfg=CFG)
    assert out[0].speaker == "agent"
    assert roles.needs_review and "only one speaker" in roles.evidence[0]


def test_voiceprint_breaks_a_lexical_tie(tmp_path, monkeypatch):
    import pipeline.diarization.offline as offline

    agent_voice = np.zeros(256, dtype=np.float32)
    agent_voice[0] = 1.0
    np.save(tmp_path / "A01.npy", agent_voice)
    other = np.zeros(256, dtype=np.float32)
    other[1] = 1.0

    def fake_embed(samples, rate, spans):  # S1 speaks in the second half of the call
        return agent_voice if spans[0][0] > 0.5 else other

    monkeypatch.setattr(offline, "embed_spans", fake_embed)
    utterances = dialogue(("S0", "喂。"), ("S1", "嗯。"), ("S0", "对。"), ("S1", "好。"))

    class FakeAudio:
        sample_rate = 16000

        def mono(self):
            return np.zeros(16000 * 5, dtype=np.float32)

    out, roles = assign_roles(utterances, audio=FakeAudio(), agent_id="A01",
                              cfg=RolesConfig(voiceprints_dir=tmp_path))
    assert [u.speaker for u in out] == ["customer", "agent", "customer", "agent"]
    assert "voiceprint" in roles.method and not roles.needs_review


# Stereo: channel mapping kept; a swapped agent_channel is flagged, not silently fixed.
STEREO = [
    ("correct mapping", [("agent", "您好，客服中心，工号1024为您服务。"), ("customer", "你好，我想查话费。"),
                         ("agent", "好的，请您稍等。")], False),
    ("swapped mapping", [("customer", "您好，客服中心，工号1024为您服务，请问有什么可以帮您？"),
                         ("agent", "你好，我想查一下我的话费，你们扣多了。"),
                         ("customer", "好的，请您稍等，我帮您查询。"), ("agent", "好，谢谢你。")], True),
    ("no greeting either side", [("agent", "喂。"), ("customer", "嗯，那个。"), ("agent", "说。")], False),
]


@pytest.mark.parametrize("case,lines,flagged", STEREO, ids=[c[0] for c in STEREO])
def test_check_stereo_roles_table(case, lines, flagged):
    roles = check_stereo_roles(dialogue(*lines), CFG)
    assert roles.method == "channel"
    assert roles.needs_review is flagged
    if flagged:
        assert "swapped" in roles.evidence[0]


@pytest.mark.parametrize("text,sign", [
    ("请问有什么可以帮您", 1), ("工号3021为您服务", 1), ("你们这个怎么回事", -1), ("我要投诉你们", -1),
])
def test_lexical_cues(text, sign):
    score, hits = lexical_score([text])
    assert np.sign(score) == sign and hits
