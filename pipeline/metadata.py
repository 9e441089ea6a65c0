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
from pipeline.types import CallMeta

MANIFEST_NAME = "manifest.csv"
DEFAULT_PATTERN = DEFAULT_FILENAME_PATTERN


def read_manifest(path: Path) -> dict[str, CallMeta]:
    """Parse a manifest into ``{resolved audio path: CallMeta}``; bad rows raise with their line."""
    path = Path(path)
    metas: dict[str, CallMeta] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "file" not in reader.fieldnames:
            raise MetadataError(
                f"{path}: expected a header with at least 'file' (file,call_id,agent_id,recorded_at,layout,"
                f"agent_channel), found {reader.fieldnames}"
            )
        for line, row in enumerate(reader, start=2):
            audio = (path.parent / row["file"].strip()).resolve()
            layout = (row.get("layout") or "").strip() or None
            if layout not in (None, "stereo", "mono"):
                raise MetadataError(f"{path}:{line}: layout must be 'stereo' or 'mono', found {layout!r}")
            channel_text = (row.get("agent_channel") or "").strip()
            try:
                agent_channel = int(channel_text) if channel_text else (0 if layout != "mono" else None)
            except ValueError as e:
                raise MetadataError(f"{path}:{line}: agent_channel must be 0 or 1, found {channel_text!r}") from e
            metas[str(audio)] = CallMeta(
                call_id=(row.get("call_id") or "").strip() or _stem(audio),
                source_path=str(audio),
                agent_id=(row.get("agent_id") or "").strip() or None,
                recorded_at=(row.get("recorded_at") or "").strip() or None,
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


def meta_from_filename(path: Path, pattern: str = DEFAULT_PATTERN, *, agent_channel: int = 0) -> CallMeta:
    """Metadata from the filename (e.g. ``A03_20261102-0900_call123.wav`` with a custom pattern)."""
    match = re.search(pattern, Path(path).name, flags=re.IGNORECASE)
    groups = match.groupdict() if match else {}
    return CallMeta(
        call_id=groups.get("call_id") or Path(path).stem,
        source_path=str(Path(path).resolve()),
        agent_id=groups.get("agent_id"),
        recorded_at=groups.get("recorded_at"),
        agent_channel=agent_channel,
    )


def call_meta(path: str | Path, *, manifest: Path | None = None, pattern: str = DEFAULT_PATTERN,
              agent_channel: int = 0) -> CallMeta:
    """Metadata for one recording: the given manifest, else ``manifest.csv`` beside it, else its name."""
    path = Path(path).resolve()
    if manifest is not None:
        metas = read_manifest(manifest)
    else:
        manifest_path = path.parent / MANIFEST_NAME
        mtime = manifest_path.stat().st_mtime if manifest_path.is_file() else 0.0
        metas = _manifest_for_dir(str(path.parent), mtime)
    if str(path) in metas:
        return metas[str(path)]
    return meta_from_filename(path, pattern, agent_channel=agent_channel)


def discover_recordings(source: Path, *, manifest: Path | None = None) -> list[tuple[Path, CallMeta]]:
    """Every recording under ``source`` (a file, a directory tree, or a manifest's entries)."""
    source = Path(source)
    if not source.exists():
        raise MetadataError(f"{source}: no such file or directory")
    if manifest is not None or source.name.endswith(".csv"):
        metas = read_manifest(manifest or source)
        return [(Path(p), meta) for p, meta in metas.items()]
    files: Iterable[Path] = [source] if source.is_file() else sorted(
        p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
    )
    found = []
    for path in files:
        found.append((path.resolve(), call_meta(path)))
    directory_manifests = {p.parent for p, _ in found if (p.parent / MANIFEST_NAME).exists()}
    if directory_manifests:
        # With a manifest, it decides which files are calls (e.g. stereo vs mono copies of one call).
        listed = {str(p) for d in directory_manifests for p in read_manifest(d / MANIFEST_NAME)}
        found = [(p, m) for p, m in found if p.parent not in directory_manifests or str(p) in listed]
    return found


def with_layout(meta: CallMeta, num_channels: int) -> CallMeta:
    """Fill in the layout from the decoded channel count when the manifest did not say."""
    if meta.layout:
        return meta
    return replace(meta, layout="stereo" if num_channels == 2 else "mono")
