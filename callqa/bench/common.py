"""What every bench section shares: the run context, result rows and the common measures."""
from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from pipeline.config import PipelineConfig
from pipeline.errors import CallQAError
from pipeline.normalize import text_for_cer
from pipeline.types import Transcript


@dataclass(frozen=True, slots=True)
class BenchContext:
    shared_eval: Path
    cfg: PipelineConfig
    work_dir: Path
    limit: int | None
    log: Callable[[str], None]
    calls: int | None = None  # calls per night of the scale section

    @property
    def asr_dir(self) -> Path | None:
        """Stereo transcripts of ``calls/`` made by the stereo section (later sections score them)."""
        folder = self.work_dir / "calls-stereo"
        return folder if any(folder.glob("*.json")) else None


def row(metric: str, value: float | str, target: str = "", ok: bool | None = None, unit: str = "") -> dict:
    return {"metric": metric, "value": value, "unit": unit, "target": target, "ok": ok}


# --- shared measures -------------------------------------------------------------------------
def cer_counts(hypothesis: str, reference: str) -> tuple[int, int]:
    """(edit distance, reference length) on normalised, punctuation-free text."""
    hyp, ref = text_for_cer(hypothesis), text_for_cer(reference)
    return Levenshtein.distance(hyp, ref), len(ref)


def reference_turns(ref_path: Path) -> list[dict]:
    return json.loads(ref_path.read_text(encoding="utf-8"))["turns"]


def speaker_of_time(turns: list[dict], start: float, end: float) -> str:
    """The reference speaker whose turn overlaps [start, end] most (nearest turn if none)."""
    best, best_overlap = None, 0.0
    for turn in turns:
        overlap = min(end, turn["end"]) - max(start, turn["start"])
        if overlap > best_overlap:
            best, best_overlap = turn["speaker"], overlap
    if best is not None:
        return best
    middle = (start + end) / 2
    return min(turns, key=lambda t: min(abs(t["start"] - middle), abs(t["end"] - middle)))["speaker"]


def call_scores(transcript: Transcript, turns: list[dict]) -> dict:
    """CER per speaker side, and words attributed to the right speaker, for one call."""
    errors = chars = 0
    for speaker in ("agent", "customer"):
        hyp = "".join(u.text for u in transcript.utterances if u.speaker == speaker)
        ref = "".join(t["text"] for t in turns if t["speaker"] == speaker)
        e, n = cer_counts(hyp, ref)
        errors, chars = errors + e, chars + n
    words = [w for u in transcript.utterances for w in u.words]
    right = sum(1 for w in words if w.speaker == speaker_of_time(turns, w.start_s, w.end_s))
    return {"errors": errors, "chars": chars, "words": len(words), "words_right": right}


def run_timed(command: list[str]) -> tuple[float, float, str]:
    """Run a command; return (wall seconds, the command's own peak RSS in GB, its output)."""
    import tempfile

    with tempfile.TemporaryFile(mode="w+") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read()
    if process.returncode:
        raise CallQAError(f"benchmark command failed ({process.returncode}): {' '.join(command[:4])} ...\n"
                          f"{output[-2000:]}")
    return wall, usage.ru_maxrss / 1024 / 1024, output


BARE_WHISPER = textwrap.dedent("""
    import json, sys
    from faster_whisper import WhisperModel
    model_path, device, compute_type, threads, kwargs, files = json.loads(sys.argv[1])
    model = WhisperModel(model_path, device=device, compute_type=compute_type, cpu_threads=threads)
    for path in files:
        segments, _ = model.transcribe(path, **kwargs)
        list(segments)
""")
