"""Benchmark of mono-call attribution: DER, role accuracy, word attribution and speed.

DER is pyannote.metrics' ``DiarizationErrorRate`` with a 0.25 s collar and overlapping speech
scored. Words come from ASR transcripts of the mono files when ``asr_dir`` holds them
(``<asr_dir>/<call_id>.json``, Transcript JSON); otherwise from the reference text with its
characters spread evenly over each reference turn (noted in the metric name).
"""
from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.align import assign_word_speakers
from pipeline.audio import load_audio
from callqa.bench.common import speaker_of_time
from pipeline.config import PipelineConfig
from pipeline.diarization.rttm import Diarization, read_rttm
from pipeline.diarize import diarize, load_diarizer
from pipeline.roles import assign_roles
from pipeline.types import Transcript, Utterance, Word
from pipeline.transcribe import TranscribeOptions, load_whisper, transcribe_channel

logger = logging.getLogger(__name__)

SETS = ("calls", "real_voice_calls")
TARGETS = {"der": 0.10, "roles": 0.97, "words": 0.92, "time_ratio": 0.30}


def _annotation(diarization: Diarization):
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=diarization.uri)
    for k, turn in enumerate(diarization.turns):
        annotation[Segment(turn.start_s, turn.end_s), k] = turn.speaker
    return annotation


def reference_utterances(turns: list[dict]) -> tuple[Utterance, ...]:
    """Unlabelled utterances from reference turns, one word per character spread over the turn."""
    out = []
    for turn in sorted(turns, key=lambda t: t["start"]):
        chars = [c for c in turn["text"] if not c.isspace()]
        if not chars:
            continue
        step = (turn["end"] - turn["start"]) / len(chars)
        words = tuple(Word(c, turn["start"] + i * step, turn["start"] + (i + 1) * step, 1.0)
                      for i, c in enumerate(chars))
        out.append(Utterance("unknown", turn["start"], turn["end"], turn["text"], turn["text"], None, words))
    # A mono ASR transcript does not know where turns change; neither should the benchmark input.
    merged: list[Utterance] = []
    for u in out:
        if merged and u.start_s - merged[-1].end_s < 1.0:
            prev = merged[-1]
            merged[-1] = Utterance("unknown", prev.start_s, max(prev.end_s, u.end_s), prev.text + u.text,
                                   prev.raw_text + u.raw_text, None, prev.words + u.words)
        else:
            merged.append(u)
    return tuple(merged)


def _unpack(ctx_or_path) -> tuple[Path, int | None, Callable[[str], None], PipelineConfig | None]:
    # callqa bench passes its BenchContext; scripts pass the eval directory.
    if hasattr(ctx_or_path, "shared_eval"):
        return Path(ctx_or_path.shared_eval), ctx_or_path.limit, ctx_or_path.log, ctx_or_path.cfg
    return Path(ctx_or_path), None, lambda message: logger.info("%s", message), None


def _transcribe_seconds_per_audio_s(path: Path, cfg: PipelineConfig) -> tuple[float, float]:
    """(wall, CPU) seconds of Whisper alone on one mono call, per audio second (model load excluded)."""

    audio = load_audio(path, cfg.audio)
    whisper = load_whisper(cfg.asr)
    wall, cpu = time.perf_counter(), time.process_time()
    transcribe_channel(audio.mono(), whisper, TranscribeOptions.from_config(cfg.asr))
    return (time.perf_counter() - wall) / audio.duration_s, (time.process_time() - cpu) / audio.duration_s


def _write_mono_asr(audio, call_id: str, path: Path, cfg: PipelineConfig) -> None:
    """Cache the ASR-only transcript of a mono call (words to attribute) beside the bench output."""
    from pipeline.types import CallMeta

    utterances = transcribe_channel(audio.mono(), load_whisper(cfg.asr), TranscribeOptions.from_config(cfg.asr))
    transcript = Transcript(call=CallMeta(call_id=call_id), duration_s=audio.duration_s, utterances=utterances,
                            layout="mono", model=cfg.asr.model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(transcript.to_dict(), ensure_ascii=False), encoding="utf-8")


def bench_diarization(
    shared_eval, *, asr_dir: Path | None = None, cfg: PipelineConfig | None = None, limit: int | None = None,
    transcribe_s_per_audio_s: tuple[float, float] | None = None,
) -> list[dict]:
    """Rows ``{metric, value, target, ok, unit}`` for the offline (configured) diarizer on both mono sets."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    shared_eval_or_ctx = shared_eval
    shared_eval, ctx_limit, log, ctx_cfg = _unpack(shared_eval)
    limit = limit or ctx_limit
    cfg = cfg or ctx_cfg or PipelineConfig()
    work_dir = getattr(shared_eval_or_ctx, "work_dir", None)
    asr_dir = Path(asr_dir) if asr_dir else (Path(work_dir) / "mono-asr" if work_dir else None)
    diarizer = load_diarizer(cfg.diarization)
    rows: list[dict] = []
    diar_wall = diar_cpu = audio_s = 0.0
    first_file: Path | None = None
    for name in SETS:
        folder = shared_eval / name
        manifest = folder / "manifest.mono.csv"
        if not manifest.exists():
            log(f"diarization: {manifest} missing, set skipped")
            continue
        with open(manifest, newline="", encoding="utf-8") as handle:
            entries = list(csv.DictReader(handle))[: limit or None]
        metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
        correct = flagged_wrong = wrong = 0
        words_right = words_total = 0
        word_source = "reference text"
        wrong_calls = []
        for entry in entries:
            path, call_id = folder / entry["file"], entry["call_id"]
            first_file = first_file or path
            audio = load_audio(path, cfg.audio)
            start, start_cpu = time.perf_counter(), time.process_time()
            hyp = diarize(audio, diarizer, cfg.diarization)
            diar_wall += time.perf_counter() - start
            diar_cpu += time.process_time() - start_cpu
            audio_s += audio.duration_s
            from pyannote.core import Segment

            metric(_annotation(read_rttm(folder / f"{call_id}.rttm")), _annotation(hyp),
                   uem=Segment(0, audio.duration_s))
            turns = json.loads((folder / f"{call_id}.ref.json").read_text(encoding="utf-8"))["turns"]
            asr_file = asr_dir / f"{call_id}.json" if asr_dir else None
            if asr_file is not None and not asr_file.exists():
                _write_mono_asr(audio, call_id, asr_file, cfg)
            if asr_file is not None and asr_file.exists():
                utterances = Transcript.from_dict(json.loads(asr_file.read_text(encoding="utf-8"))).utterances
                word_source = "ASR words"
            else:
                utterances = reference_utterances(turns)
            labelled = assign_word_speakers(utterances, hyp, pause_s=cfg.asr.utterance_pause_s)
            attributed, roles = assign_roles(labelled, audio=audio, agent_id=entry.get("agent_id") or None,
                                             cfg=cfg.roles)
            # The call's roles are right when the diarized speaker holding most agent speech became the agent.
            mapping: dict[str, str] = {}
            for before, after in zip(labelled, attributed):
                mapping.setdefault(before.speaker, after.speaker)
            agent_overlap: dict[str, float] = {}
            for turn in hyp.turns:
                for ref in turns:
                    if ref["speaker"] == "agent":
                        shared = min(turn.end_s, ref["end"]) - max(turn.start_s, ref["start"])
                        if shared > 0:
                            agent_overlap[turn.speaker] = agent_overlap.get(turn.speaker, 0.0) + shared
            agent_label = max(agent_overlap, key=agent_overlap.get) if agent_overlap else None
            ok = agent_label is not None and mapping.get(agent_label) == "agent"
            correct += ok
            if not ok:
                wrong += 1
                flagged_wrong += roles.needs_review
                wrong_calls.append(f"{call_id}{'(flagged)' if roles.needs_review else '(NOT flagged)'}")
            for utterance in attributed:
                for word in utterance.words:
                    words_total += 1
                    words_right += word.speaker == speaker_of_time(turns, word.start_s, word.end_s)
            log(f"diarization {call_id}: roles {'ok' if ok else 'WRONG'} conf {roles.confidence:.2f}"
                f"{' review' if roles.needs_review else ''}")
        if not entries:
            continue
        der = abs(metric)
        accuracy = correct / len(entries)
        word_accuracy = words_right / words_total if words_total else 0.0
        rows += [
            _row(f"DER {name} mono8k (collar 0.25 s, overlap scored)", round(der, 4), f"≤ {TARGETS['der']}",
                 der <= TARGETS["der"]),
            _row(f"role accuracy {name} ({len(entries)} calls)", round(accuracy, 4), f"≥ {TARGETS['roles']}",
                 accuracy >= TARGETS["roles"]),
            _row(f"wrong roles flagged needs_review {name}", f"{flagged_wrong}/{wrong}",
                 "all", flagged_wrong == wrong),
            _row(f"word attribution {name} ({word_source})", round(word_accuracy, 4), f"≥ {TARGETS['words']}",
                 word_accuracy >= TARGETS["words"]),
        ]
        if wrong_calls:
            rows.append(_row(f"wrong-role calls {name}", " ".join(wrong_calls), "", None))
    if audio_s:
        rows.append(_row("diarization time per audio minute (wall)", round(diar_wall / audio_s * 60, 2), "", None,
                         " s"))
        rows.append(_row("diarization CPU time per audio minute", round(diar_cpu / audio_s * 60, 2), "", None, " s"))
        if transcribe_s_per_audio_s is None and first_file is not None:
            try:
                transcribe_s_per_audio_s = _transcribe_seconds_per_audio_s(first_file, cfg)
            except Exception as e:  # the ratio is optional; Whisper may be absent in a diarization-only setup
                log(f"diarization: transcription timing skipped ({e})")
        if transcribe_s_per_audio_s:
            asr_wall, asr_cpu = transcribe_s_per_audio_s
            rows.append(_row("transcription time per audio minute (wall, one mono call)", round(asr_wall * 60, 2),
                             "", None, " s"))
            for kind, diar, asr in (("wall", diar_wall, asr_wall), ("CPU", diar_cpu, asr_cpu)):
                ratio = (diar / audio_s) / asr
                rows.append(_row(f"diarization / transcription time ({kind})", round(ratio, 3),
                                 f"≤ {TARGETS['time_ratio']}", ratio <= TARGETS["time_ratio"]))
    return rows


def _row(metric: str, value, target: str, ok: bool | None, unit: str = "") -> dict:
    return {"metric": metric, "value": value, "unit": unit, "target": target, "ok": ok}
