"""Word-to-speaker assignment and re-splitting of utterances at speaker changes."""
from __future__ import annotations

from pipeline.align import assign_word_speakers
from pipeline.diarization.rttm import Diarization, SpeakerTurn
from pipeline.types import Utterance, Word

DIAR = Diarization(turns=(
    SpeakerTurn("S0", 0.0, 2.0),
    SpeakerTurn("S1", 2.1, 3.0),
    SpeakerTurn("S0", 3.5, 5.0),
))


def utt(*words: tuple[str, float, float]) -> Utterance:
    ws = tuple(Word(text, start, end, 0.9) for text, start, end in words)
    return Utterance("unknown", ws[0].start_s, ws[-1].end_s, "".join(w.text for w in ws), words=ws)


def test_words_go_to_the_turn_they_overlap_most_and_utterances_split():
    u = utt(("您好，", 0.2, 0.8), ("请问", 1.0, 1.9), ("好的", 1.95, 2.6), ("谢谢", 2.6, 2.9))
    out = assign_word_speakers([u], DIAR, pause_s=1.0)
    assert [(x.speaker, x.text) for x in out] == [("S0", "您好，请问"), ("S1", "好的谢谢")]
    assert out[1].start_s == 1.95 and out[1].end_s == 2.9
    assert all(w.speaker == x.speaker for x in out for w in x.words)


def test_word_in_a_gap_goes_to_the_nearest_turn():
    u = utt(("嗯", 3.1, 3.3))
    (out,) = assign_word_speakers([u], DIAR, pause_s=1.0)
    assert out.speaker == "S1"  # 0.1 s after S1 ends, 0.2 s before S0 starts
    assert out.words[0].speaker == out.speaker


def test_pause_splits_one_speakers_words():
    u = utt(("第一句", 0.0, 0.5), ("第二句", 1.8, 1.95))
    out = assign_word_speakers([u], DIAR, pause_s=1.0)
    assert [x.text for x in out] == ["第一句", "第二句"]


def test_inputs_are_not_mutated_and_wordless_utterances_are_labelled():
    u = utt(("好的", 2.2, 2.5))
    bare = Utterance("unknown", 3.6, 4.5, "没有词时间")
    out = assign_word_speakers((u, bare), DIAR, pause_s=1.0)
    assert u.speaker == "unknown" and u.words[0].speaker == "unknown"
    assert [x.speaker for x in out] == ["S1", "S0"]


def test_empty_diarization_keeps_speakers():
    u = utt(("好的", 0.2, 0.5))
    (out,) = assign_word_speakers([u], Diarization(turns=()), pause_s=1.0)
    assert out.speaker == "unknown"
