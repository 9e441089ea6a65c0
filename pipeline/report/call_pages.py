"""calls/<call>.html: speaker-coloured transcript, highlighted findings, an audio player that seeks."""
from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from pipeline.redact import redact_transcript
from pipeline.report.data import ReportFrames
from pipeline.report.site import Site, agent_page_path, slug
from pipeline.types import Transcript

logger = logging.getLogger("pipeline.report")

# What a browser's <audio> element can play (narrower than what the pipeline decodes).
PLAYABLE_SUFFIXES = (".flac", ".wav", ".mp3", ".m4a", ".ogg", ".opus")


def write_call_pages(
    site: Site,
    frames: ReportFrames,
    transcripts: Mapping[str, Transcript],
    *,
    agents_with_pages: Collection[str],
    redact: bool,
    audio_root: Path | None,
    copy_audio: bool,
) -> dict[str, Path]:
    """One page per call that has a transcript; call id to page."""
    findings = frames.findings
    by_call = {cid: group for cid, group in findings.groupby("call_id")} if not findings.empty else {}
    pages: dict[str, Path] = {}
    for call in frames.calls.to_dict("records"):
        call_id = call["call_id"]
        transcript = transcripts.get(call_id)
        if transcript is None:
            logger.warning("no transcript for call %s; its page is skipped", call_id)
            continue
        call_findings = by_call.get(call_id, pd.DataFrame(columns=findings.columns))
        pages[call_id] = write_call_page(
            site, call, transcript, call_findings,
            agent_page=f"../{agent_page_path(call['agent_id'])}" if call["agent_id"] in agents_with_pages else None,
            redact=redact, audio_root=audio_root, copy_audio=copy_audio,
        )
    return pages


def write_call_page(
    site: Site,
    call: dict[str, Any],
    transcript: Transcript,
    call_findings: pd.DataFrame,
    *,
    agent_page: str | None,
    redact: bool,
    audio_root: Path | None,
    copy_audio: bool,
) -> Path:
    """``call`` is one row of ``frames.calls``; ``call_findings`` its rows of ``frames.findings``."""
    shown = redact_transcript(transcript) if redact else transcript
    call_findings = call_findings.sort_values("start_s", na_position="last")
    marks: dict[int, list[tuple[str, str]]] = {}
    for f in call_findings.to_dict("records"):
        if f["status"] == "rejected":
            continue
        idx = f["utterance_index"]
        if idx is not None and not (isinstance(idx, float) and math.isnan(idx)):
            marks.setdefault(int(idx), []).append((f["quote"] or "", f["rule_id"]))
    lines = [
        {"index": i, "speaker": u.speaker, "start_s": u.start_s, "end_s": u.end_s,
         "html": highlight(u.text, marks.get(i, [])), "flagged": i in marks}
        for i, u in enumerate(shown.utterances)
    ]
    audio = find_audio(transcript, audio_root)
    return site.write_page(
        f"calls/{slug(call['call_id'])}.html", "call.html",
        call=call,
        agent_page=agent_page,
        findings=call_findings.to_dict("records"),
        lines=lines,
        audio_src=audio_src(audio, site.root, site.root / "calls", copy_audio),
        categories=[(k[4:], v) for k, v in call.items() if k.startswith("cat_")],
        duration_s=transcript.duration_s,
    )


def highlight(text: str, quotes: list[tuple[str, str]]) -> Markup:
    """``text`` with each (quote, rule_id) wrapped in <mark>; the whole text when a quote is absent."""
    spans: list[tuple[int, int, str]] = []
    for quote, rule_id in quotes:
        if quote and (pos := text.find(quote)) >= 0:
            spans.append((pos, pos + len(quote), rule_id))
    if not spans:
        if quotes:
            return Markup('<mark title="{}">{}</mark>').format(", ".join(r for _, r in quotes), text)
        return escape(text)
    spans.sort()
    out, cursor = [], 0
    for start, end, rule_id in spans:
        if start < cursor:
            continue
        out.append(escape(text[cursor:start]))
        out.append(Markup('<mark title="{}">{}</mark>').format(rule_id, text[start:end]))
        cursor = end
    out.append(escape(text[cursor:]))
    return Markup("").join(out)


def find_audio(transcript: Transcript, audio_root: Path | None) -> Path | None:
    """The recording of a call: its source path (absolute, or under ``audio_root``), else a
    file named ``<call_id>.*`` in ``audio_root`` (stereo preferred)."""
    source = transcript.call.source_path
    candidates: list[Path] = []
    if source:
        p = Path(source)
        if p.suffix.lower() in PLAYABLE_SUFFIXES:
            candidates.append(p)
            if audio_root is not None:
                candidates += [audio_root / p, audio_root / p.name]
    for c in candidates:
        if c.is_file():
            return c
    if audio_root is not None and audio_root.is_dir():
        found = sorted(
            (f for f in audio_root.glob(f"{transcript.call.call_id}.*") if f.suffix.lower() in PLAYABLE_SUFFIXES),
            key=lambda f: (".stereo." not in f.name, f.name),
        )
        if found:
            return found[0]
    return None


def audio_src(audio: Path | None, root: Path, page_dir: Path, copy: bool) -> str | None:
    """The page's link to a recording: relative to the page, after copying it in when asked."""
    if audio is None:
        return None
    if copy:
        target = root / "audio" / audio.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.stat().st_size != audio.stat().st_size:
            shutil.copy2(audio, target)
        audio = target
    return Path(os.path.relpath(audio.resolve(), page_dir.resolve())).as_posix()
