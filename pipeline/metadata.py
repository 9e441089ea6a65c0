"""Call metadata: a ``manifest.csv`` beside the audio, else a configurable filename pattern.

Manifest columns: ``file,call_id,agent_id,recorded_at,layout,agent_channel`` (only ``file`` is
required; ``call_id`` defaults to the file stem). The benchmark sets use the same format.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from pipeline.audio import AUDIO_SUFFIXES
from pipeline.config import DEFAULT_FILENAME_PATTERN
from pipeline.errors import MetadataError
from pipeline.types import CallMeta, call_id_problem

MANIFEST_NAME = "manifest.csv"
DEFAULT_PATTERN = DEFAULT_FILENAME_PATTERN
MANIFEST_COLUMNS = "file,call_id,agent_id,recorded_at,layout,agent_channel"


def read_manifest(path: Path) -> dict[str, CallMeta]:
    """Parse a manifest into ``{resolved audio path: CallMeta}``; bad rows raise with their line.

    A manifest that lists no recording is an error too: a night of "0 calls" is never what it meant.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            metas = _parse_manifest(csv.DictReader(handle), path)
    except FileNotFoundError as e:
        raise MetadataError(f"{path}: manifest not found; check the path (columns: {MANIFEST_COLUMNS})") from e
    except UnicodeDecodeError as e:
        raise MetadataError(f"{path}: manifest is not UTF-8 text ({e.reason} at byte {e.start}); save it as "
                            f"UTF-8 CSV with the header {MANIFEST_COLUMNS}") from e
    except (csv.Error, OSError) as e:
        raise MetadataError(f"{path}: cannot read the manifest ({e}); save it as a UTF-8 CSV with the header "
                            f"{MANIFEST_COLUMNS}") from e
    if not metas:
        raise MetadataError(f"{path}: manifest lists no recordings (header only); add one row per recording "
                            f"({MANIFEST_COLUMNS}) or pass the audio directory without a manifest")
    return metas


def _cell(row: dict, column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def _parse_manifest(reader: csv.DictReader, path: Path) -> dict[str, CallMeta]:
    if not reader.fieldnames or "file" not in reader.fieldnames:
        raise MetadataError(
            f"{path}: expected a header with at least 'file' ({MANIFEST_COLUMNS}), found {reader.fieldnames}"
        )
    metas: dict[str, CallMeta] = {}
    for row in reader:
        line = reader.line_num
        name = _cell(row, "file")
        if not name:
            raise MetadataError(f"{path}:{line}: empty 'file' cell; give the recording's path relative to "
                                f"the manifest, or delete the row")
        if "\0" in name:
            raise MetadataError(f"{path}:{line}: 'file' contains a NUL character; fix the file name")
        audio = (path.parent / name).resolve()
        layout = _cell(row, "layout") or None
        if layout not in (None, "stereo", "mono"):
            raise MetadataError(f"{path}:{line}: layout must be 'stereo' or 'mono', found {layout!r}")
        channel_text = _cell(row, "agent_channel")
        if channel_text not in ("", "0", "1"):
            raise MetadataError(f"{path}:{line}: agent_channel must be 0 or 1, found {channel_text!r}")
        agent_channel = int(channel_text) if channel_text else (0 if layout != "mono" else None)
        if str(audio) in metas:
            raise MetadataError(f"{path}:{line}: {name} is listed twice; keep one row per recording")
        call_id = _cell(row, "call_id") or _stem(audio)
        if problem := call_id_problem(call_id):
            raise MetadataError(f"{path}:{line}: {problem}; fix the call_id cell")
        metas[str(audio)] = CallMeta(
            call_id=call_id,
            source_path=str(audio),
            agent_id=_cell(row, "agent_id") or None,
            recorded_at=_cell(row, "recorded_at") or None,
            layout=layout,
            agent_channel=agent_channel,
        )
    return metas


@lru_cache(maxsize=64)
def _manifest_for_dir(directory: str, mtime: float) -> dict[str, CallMeta]:
    # keyed by the manifest's mtime so an edited manifest is read again
    manifest = Path(directory) / MANIFEST_NAME
    return read_manifest(manifest) if manifest.is_file() else {}


def _stem(path: Path) -> str:
    match = re.search(DEFAULT_PATTERN, path.name, flags=re.IGNORECASE)
    return match.group("call_id") if match else path.stem


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The filename pattern as a regex; a broken one is a :class:`MetadataError` with the fix."""
    try:
        return _compile(pattern)
    except re.error as e:
        raise MetadataError(f"filename pattern {pattern!r} is not a valid regex ({e}); fix flow.filename_pattern, "
                            f"e.g. {DEFAULT_PATTERN}") from e


@lru_cache(maxsize=16)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, flags=re.IGNORECASE)


def meta_from_filename(path: Path, pattern: str = DEFAULT_PATTERN, *, agent_channel: int = 0) -> CallMeta:
    """Metadata from the filename (e.g. ``A03_20261102-0900_call123.wav`` with a custom pattern)."""
    match = compile_pattern(pattern).search(Path(path).name)
    groups = {k: v for k, v in match.groupdict().items() if v} if match else {}
    call_id = groups.get("call_id") or Path(path).stem or Path(path).name
    if problem := call_id_problem(call_id):
        raise MetadataError(f"{path}: no call id in the file name ({problem}); rename the file or list it in "
                            f"a manifest.csv with a call_id")
    return CallMeta(
        call_id=call_id,
        source_path=str(Path(path).resolve()),
        agent_id=groups.get("agent_id"),
        recorded_at=groups.get("recorded_at"),
        agent_channel=agent_channel,
    )


def call_meta(path: str | Path, *, manifest: Path | None = None, pattern: str = DEFAULT_PATTERN,
              agent_channel: int = 0) -> CallMeta:
    """Metadata for one recording: the given manifest, else ``manifest.csv`` beside it, else its name."""
    path = Path(path).resolve()
    metas = read_manifest(manifest) if manifest is not None else _beside(path.parent)
    if str(path) in metas:
        return metas[str(path)]
    return meta_from_filename(path, pattern, agent_channel=agent_channel)


def _beside(directory: Path) -> dict[str, CallMeta]:
    manifest_path = directory / MANIFEST_NAME
    mtime = manifest_path.stat().st_mtime if manifest_path.is_file() else 0.0
    return _manifest_for_dir(str(directory), mtime)


def discover_recordings(source: Path, *, manifest: Path | None = None, pattern: str = DEFAULT_PATTERN,
                        agent_channel: int = 0) -> list[tuple[Path, CallMeta]]:
    """Every recording under ``source``: a file, a directory tree, or a manifest CSV's entries.

    A file named here is always returned (metadata from a manifest listing it, else its name):
    naming a file is asking for it. In a directory, a ``manifest.csv`` (or the given ``manifest``) decides
    which files are calls, e.g. the stereo and not the mono copy of one call. A source with no
    recording raises :class:`MetadataError`.
    """
    source = Path(source)
    if not source.exists():
        raise MetadataError(f"{source}: no such file or directory; pass a recording, a directory of recordings "
                            f"or a manifest CSV")
    if source.is_file() and source.suffix.lower() == ".csv":
        return [(Path(p), meta) for p, meta in read_manifest(source).items()]
    given = read_manifest(manifest) if manifest is not None else None
    if source.is_file():
        path = source.resolve()
        metas = given if given is not None else _beside(path.parent)
        return [(path, metas.get(str(path)) or meta_from_filename(path, pattern, agent_channel=agent_channel))]
    files = sorted(p.resolve() for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    found = []
    for path in files:
        metas = given if given is not None else _beside(path.parent)
        if metas and str(path) not in metas:
            continue  # the manifest decides which files are calls
        found.append((path, metas.get(str(path)) or meta_from_filename(path, pattern, agent_channel=agent_channel)))
    if not found:
        listed = f" listed in {manifest}" if manifest is not None else ""
        raise MetadataError(
            f"{source}: no recordings ({', '.join(AUDIO_SUFFIXES)}){listed} found; pass a directory that holds "
            "call recordings, the recordings themselves, or a manifest CSV"
        )
    return found


def discover_all(sources: Iterable[Path], *, manifest: Path | None = None, pattern: str = DEFAULT_PATTERN,
                 agent_channel: int = 0) -> list[tuple[Path, CallMeta]]:
    """:func:`discover_recordings` over several sources, each recording once (first mention wins)."""
    found: dict[Path, CallMeta] = {}
    for source in sources:
        for path, meta in discover_recordings(source, manifest=manifest, pattern=pattern,
                                              agent_channel=agent_channel):
            found.setdefault(path, meta)
    return list(found.items())


def with_layout(meta: CallMeta, num_channels: int) -> CallMeta:
    """Fill in the layout from the decoded channel count when the manifest did not say."""
    if meta.layout:
        return meta
    return replace(meta, layout="stereo" if num_channels == 2 else "mono")
