"""Manifest CSV and filename patterns: metadata for every named recording, or one line naming the file."""
from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import MetadataError
from pipeline.metadata import discover_recordings, meta_from_filename, read_manifest
from pipeline.types import call_id_problem
from tests.fuzz.helpers import cli_fails_in_one_line, valid_or_our_error

COLUMNS = ["file", "call_id", "agent_id", "recorded_at", "layout", "agent_channel"]
cells = st.one_of(st.sampled_from(["", "c1.wav", "stereo", "mono", "0", "1", "2", "A01", "2026-11-02T09:00",
                                   "../x.wav", "a/b", "..", " ", "é.wav", "\x00"]), st.text(max_size=10))


@st.composite
def manifests(draw) -> str:
    header = draw(st.lists(st.sampled_from(COLUMNS + ["extra", ""]), min_size=0, max_size=7, unique=True)
                  | st.permutations(COLUMNS))
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=len(header) + 2), max_size=5))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _checked(tmp_path, content):
    path = tmp_path / "manifest.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    metas = valid_or_our_error(lambda: read_manifest(path), path, MetadataError)
    for meta in (metas or {}).values():
        assert call_id_problem(meta.call_id) is None, meta
        assert meta.layout in (None, "stereo", "mono") and meta.agent_channel in (None, 0, 1)
    return path


@given(manifests() | st.text(max_size=80) | st.binary(max_size=80))
def test_manifest_parses_or_names_the_file(tmp_path, content):
    _checked(tmp_path, content)


@given(manifests())
def test_transcribe_with_a_bad_manifest_exits_with_one_line(tmp_path, content):
    path = _checked(tmp_path, content)
    cli_fails_in_one_line(["transcribe", str(path), "--out", str(tmp_path / "out"),
                           "--config", str(tmp_path / "no-such-config.yaml")])


# what Linux allows in a file name (newlines excepted: messages name files and stay one line)
file_names = st.text(min_size=1, max_size=30).filter(lambda n: not set(n) & set("/\x00\n") and n not in (".", ".."))


@given(file_names)
def test_any_filename_gives_a_usable_call_id_or_our_error(tmp_path, name):
    meta = valid_or_our_error(lambda: meta_from_filename(tmp_path / name), tmp_path / name, MetadataError)
    assert meta is None or call_id_problem(meta.call_id) is None, meta


@given(st.text(max_size=30), file_names)
def test_any_filename_pattern_gives_metadata_or_our_error(tmp_path, pattern, name):
    try:
        meta = meta_from_filename(tmp_path / f"{name}.wav", pattern)
    except MetadataError as e:
        assert "flow.filename_pattern" in str(e) or f"{name}.wav" in str(e), e
    else:
        assert call_id_problem(meta.call_id) is None, meta


@given(st.lists(st.sampled_from(["a.wav", "b.flac", "sub/c.mp3", "notes.txt", "manifest.csv"]), unique=True))
def test_directories_give_recordings_or_name_the_directory(tmp_path, names):
    root = tmp_path / "calls"
    for stale in sorted(root.rglob("*"), reverse=True) if root.exists() else ():
        stale.unlink() if stale.is_file() else stale.rmdir()
    root.mkdir(exist_ok=True)
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("file\na.wav\n" if name == "manifest.csv" else "x")
    found = valid_or_our_error(lambda: discover_recordings(root), root, MetadataError)
    if found is not None:
        assert found and len({p for p, _ in found}) == len(found)
