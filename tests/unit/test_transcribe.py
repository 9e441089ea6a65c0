"""Utterance building from Whisper output: pause splitting, hallucinations, loops, merging."""
from __future__ import annotations

import numpy as np

from pipeline.config import AsrConfig
from pipeline.transcribe import (
    CHANNEL_GAP_S,
    TranscribeOptions,
    drop_repetition_loops,
    is_hallucination,
    merge_by_time,
    segments_to_utterances,
    split_by_channel,
    transcribe_channel,
    transcribe_channels,
)
from tests.conftest import FakeWord, segment


def test_hold_inside_one_segment_becomes_two_utterances():
    # VAD glues speech around a 20 s hold into one Whisper segment; words keep real times.
    seg = segment([("好的，", 1.0, 1.4), ("请您", 1.4, 1.8), ("稍等。", 1.8, 2.3),
                   ("感谢", 22.3, 22.7), ("您的", 22.7, 23.0), ("耐心等待。", 23.0, 24.0)])
    utterances = segments_to_utterances([seg], pause_s=1.0, speaker="agent", channel=0)
    assert [u.text for u in utterances] == ["好的，请您稍等。", "感谢您的耐心等待。"]
    assert utterances[0].end_s == 2.3 and utterances[1].start_s == 22.3
    assert all(u.speaker == "agent" and u.channel == 0 for u in utterances)
    assert all(w.speaker == "agent" for u in utterances for w in u.words)


def test_short_gaps_and_segment_boundaries_do_not_split():
    first = segment([("您好", 0.0, 0.5), ("，请问", 0.6, 1.0)])
    second = segment([("有什么", 1.3, 1.7), ("可以帮您？", 1.7, 2.4)])
    (utterance,) = segments_to_utterances([first, second], pause_s=1.0)
    assert utterance.text == "您好，请问有什么可以帮您？"


def test_traditional_output_is_normalised_and_raw_kept():
    (utterance,) = segments_to_utterances([segment([("謝謝", 0.0, 0.4), ("來電", 0.4, 0.9)])], pause_s=1.0)
    assert utterance.text == "谢谢来电"
    assert utterance.raw_text == "謝謝來電"
    assert [w.text for w in utterance.words] == ["谢谢", "来电"]


def test_subtitle_credit_hallucinations_are_recognised():
    assert is_hallucination("字幕由Amara.org社区提供")
    assert is_hallucination("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目")
    assert is_hallucination("   ")
    assert not is_hallucination("好的，请您稍等")


def test_repetition_loop_is_cut_but_natural_repeats_stay():
    loop = [FakeWord("好的", i, i + 0.3) for i in range(8)]
    assert len(drop_repetition_loops(loop)) == 3
    natural = [FakeWord("对", 0, 0.2), FakeWord("对", 0.2, 0.4), FakeWord("对", 0.4, 0.6)]
    assert len(drop_repetition_loops(natural)) == 3
    phrase = [FakeWord(w, 0, 1) for w in ["请", "稍等"] * 5]
    assert [w.word for w in drop_repetition_loops(phrase)] == ["请", "稍等", "请", "稍等"]


def test_transcribe_channel_uses_required_decoding_options(fake_whisper):
    model = fake_whisper([
        segment([("您好", 0.5, 1.0)]),
        segment([("字幕由", 5.0, 5.5), ("Amara.org社区提供", 5.5, 6.0)]),
    ])
    utterances = transcribe_channel(np.ones(16000 * 7, np.float32), model, TranscribeOptions(), speaker="customer",
                                    channel=1)
    kwargs = model.calls[0]
    assert kwargs["language"] == "zh" and kwargs["word_timestamps"] and kwargs["vad_filter"]
    assert kwargs["condition_on_previous_text"] is False
    assert [u.text for u in utterances] == ["您好"]


def test_silent_channel_is_not_sent_to_whisper(fake_whisper):
    model = fake_whisper([])
    assert transcribe_channel(np.zeros(16000, np.float32), model, TranscribeOptions()) == ()
    assert model.calls == []


def test_merge_by_time_interleaves_channels():
    agent = segments_to_utterances([segment([("您好", 0.0, 1.0)]), segment([("好的", 5.0, 6.0)])], pause_s=1.0,
                                   speaker="agent", channel=0)
    customer = segments_to_utterances([segment([("你好", 2.0, 3.0)])], pause_s=1.0, speaker="customer", channel=1)
    assert [u.speaker for u in merge_by_time(agent, customer)] == ["agent", "customer", "agent"]


# --- batched path: both channels in one pass, words mapped back to channel and time ----------------
def test_batched_stereo_maps_words_back_to_their_channel_and_clock(fake_whisper):
    # Channel 0 is 10 s, then CHANNEL_GAP_S of silence, so channel 1 starts at 12 s on the joined clock.
    start1 = 10.0 + CHANNEL_GAP_S
    model = fake_whisper([
        segment([("您好", 0.5, 1.0), ("请讲", 1.1, 1.6)]),
        # One Whisper window can hold the end of channel 0 and the start of channel 1.
        segment([("好的", 8.0, 8.5), ("你好", start1 + 0.2, start1 + 0.7), ("我想", start1 + 0.8, start1 + 1.2)]),
    ])
    silence_then_speech = np.ones(16000 * 10, np.float32)
    agent, customer = transcribe_channels(
        [silence_then_speech, silence_then_speech], model, TranscribeOptions(batch_size=8),
        speakers=["agent", "customer"], channel_ids=[0, 1],
    )
    assert len(model.calls) == 1  # one batched pass for the whole call
    kwargs = model.calls[0]
    assert kwargs["batch_size"] == 8 and kwargs["word_timestamps"] and kwargs["vad_filter"]
    assert [u.text for u in agent] == ["您好请讲", "好的"]
    assert [u.text for u in customer] == ["你好我想"]
    assert customer[0].start_s == 0.2 and customer[0].words[-1].end_s == 1.2
    assert all(u.channel == 1 and u.speaker == "customer" for u in customer)
    assert all(w.speaker == "agent" for u in agent for w in u.words)


def test_words_in_the_gap_go_to_the_nearer_channel_and_never_get_negative_times():
    starts = [0.0, 12.0]
    near_end = FakeWord("嗯", 10.1, 10.3)       # VAD padding of channel 0 reaches into the gap
    early = FakeWord("喂", 11.8, 12.1)          # padding of channel 1 reaches back into the gap
    split = split_by_channel([near_end, early], starts, gap_s=2.0)
    assert [w.word for w in split[0]] == ["嗯"] and split[0][0].start == 10.1
    assert [w.word for w in split[1]] == ["喂"] and split[1][0].start == 0.0


def test_hallucination_is_dropped_per_channel_piece_in_batched_mode(fake_whisper):
    model = fake_whisper([segment([("好的", 1.0, 1.4), ("字幕由Amara.org社区提供", 13.0, 14.0)])])
    agent, customer = transcribe_channels(
        [np.ones(16000 * 10, np.float32)] * 2, model, TranscribeOptions(batch_size=4),
        speakers=["agent", "customer"], channel_ids=[0, 1],
    )
    assert [u.text for u in agent] == ["好的"] and customer == ()


def test_sequential_path_is_one_whisper_call_per_channel(fake_whisper):
    model = fake_whisper([segment([("您好", 0.5, 1.0)])])
    agent, customer = transcribe_channels(
        [np.ones(16000, np.float32)] * 2, model, TranscribeOptions(batch_size=0),
        speakers=["agent", "customer"], channel_ids=[0, 1],
    )
    assert len(model.calls) == 2 and "batch_size" not in model.calls[0]
    assert agent[0].channel == 0 and customer[0].channel == 1 and customer[0].start_s == 0.5


def test_hotwords_from_the_config_reach_both_paths(fake_whisper):
    options = TranscribeOptions.from_config(AsrConfig(hotwords=("华鑫银行", " 速达快递 ", "")))
    assert options.hotwords == "华鑫银行，速达快递"
    assert options.whisper_kwargs()["hotwords"] == options.batched_kwargs()["hotwords"] == "华鑫银行，速达快递"
    assert TranscribeOptions.from_config(AsrConfig()).hotwords is None


def test_stereo_channels_are_decoded_side_by_side_with_two_workers(fake_whisper):
    """asr.num_workers 2 (the default): both channels decode at once, same words as one by one."""
    import threading

    both_started = threading.Barrier(2, timeout=5)

    class TwoAtOnce(fake_whisper):
        def transcribe(self, audio, **kwargs):
            both_started.wait()  # raises BrokenBarrierError if the channels ran one after the other
            return super().transcribe(audio, **kwargs)

    channels = [np.ones(16000, np.float32)] * 2
    done: list[float] = []
    options = TranscribeOptions.from_config(AsrConfig(num_workers=2))
    agent, customer = transcribe_channels(
        channels, TwoAtOnce([segment([("您好", 0.5, 1.0)])]), options,
        speakers=["agent", "customer"], channel_ids=[0, 1], progress=done.append,
    )
    one_by_one = transcribe_channels(
        channels, fake_whisper([segment([("您好", 0.5, 1.0)])]), TranscribeOptions(parallel_channels=1),
        speakers=["agent", "customer"], channel_ids=[0, 1],
    )
    assert (agent, customer) == one_by_one
    assert agent[0].speaker == "agent" and customer[0].channel == 1
    assert max(done) == 2.0  # progress counts both channels' seconds


def test_zero_threads_share_the_usable_cores_among_the_workers(monkeypatch):
    from pipeline.transcribe import whisper

    monkeypatch.setattr(whisper, "usable_cores", lambda: 8)
    assert whisper.thread_layout(AsrConfig()) == (4, 2)
    assert whisper.thread_layout(AsrConfig(num_workers=1)) == (8, 1)
    assert whisper.thread_layout(AsrConfig(cpu_threads=3, num_workers=4)) == (3, 4)
    monkeypatch.setattr(whisper, "usable_cores", lambda: 1)
    assert whisper.thread_layout(AsrConfig()) == (1, 2)
