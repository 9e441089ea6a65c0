from __future__ import annotations

import pytest

from pipeline.errors import MetadataError
from pipeline.metadata import call_meta, discover_recordings, meta_from_filename, read_manifest

MANIFEST = """file,call_id,agent_id,recorded_at,layout,agent_channel
c1.stereo.flac,c1,A01,2026-11-02T09:00,stereo,1
c2.mono8k.wav,c2,A02,2026-11-02T10:00,mono,
"""


def test_manifest_beside_audio(tmp_path):
    (tmp_path / "manifest.csv").write_text(MANIFEST)
    for name in ("c1.stereo.flac", "c2.mono8k.wav", "unlisted.wav"):
        (tmp_path / name).write_bytes(b"x")
    meta = call_meta(tmp_path / "c1.stereo.flac")
    assert (meta.call_id, meta.agent_id, meta.layout, meta.agent_channel) == ("c1", "A01", "stereo", 1)
    assert call_meta(tmp_path / "c2.mono8k.wav").agent_channel is None
    found = discover_recordings(tmp_path)
    assert sorted(m.call_id for _, m in found) == ["c1", "c2"]  # the manifest decides what is a call


def test_bad_manifest_rows_name_the_line(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_text("file,layout\nx.wav,quad\n")
    with pytest.raises(MetadataError, match=r"manifest.csv:2: layout must be"):
        read_manifest(path)
    path.write_text("name,agent\nx.wav,A1\n")
    with pytest.raises(MetadataError, match="expected a header with at least 'file'"):
        read_manifest(path)


def test_filename_pattern_fallback(tmp_path):
    pattern = r"(?P<agent_id>A\d+)_(?P<recorded_at>\d{8}T\d{4})_(?P<call_id>\w+)\.wav$"
    meta = meta_from_filename(tmp_path / "A07_20261102T0930_abc123.wav", pattern)
    assert (meta.agent_id, meta.recorded_at, meta.call_id) == ("A07", "20261102T0930", "abc123")
    assert meta_from_filename(tmp_path / "dev-001.stereo.flac").call_id == "dev-001"


def test_empty_manifest_is_an_error_naming_it(tmp_path):
    (tmp_path / "manifest.csv").write_text("file,call_id,agent_id\n")
    (tmp_path / "c1.wav").write_bytes(b"x")
    with pytest.raises(MetadataError, match=r"manifest.csv: manifest lists no recordings.*add one row"):
        discover_recordings(tmp_path / "manifest.csv")
    with pytest.raises(MetadataError, match="manifest lists no recordings"):
        discover_recordings(tmp_path)


def test_directory_without_recordings_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(MetadataError, match=rf"{tmp_path}: no recordings .* found; pass a directory"):
        discover_recordings(tmp_path)


def test_named_file_missing_from_manifest_beside_it_is_still_processed(tmp_path):
    """Issue 11: `callqa transcribe some/dir/x.wav` with x.wav unlisted was silently skipped."""
    (tmp_path / "manifest.csv").write_text(MANIFEST)
    for name in ("x.wav", "c1.stereo.flac"):
        (tmp_path / name).write_bytes(b"x")
    [(path, meta)] = discover_recordings(tmp_path / "x.wav")
    assert path == (tmp_path / "x.wav").resolve() and meta.call_id == "x" and meta.agent_id is None
    [(_, listed)] = discover_recordings(tmp_path / "c1.stereo.flac")
    assert (listed.call_id, listed.agent_id) == ("c1", "A01")


def test_several_files_with_one_manifest_give_each_recording_once(tmp_path):
    """Issue 11: `transcribe a.wav b.wav --manifest M.csv` processed every manifest row once per argument."""
    from pipeline.metadata import discover_all

    manifest = tmp_path / "M.csv"
    manifest.write_text("file,call_id\n" + "".join(f"f{i}.wav,call{i}\n" for i in range(10)))
    files = [tmp_path / f"f{i}.wav" for i in range(10)]
    for path in files:
        path.write_bytes(b"x")
    found = discover_all([*files, files[0], tmp_path], manifest=manifest)
    assert [m.call_id for _, m in found] == [f"call{i}" for i in range(10)]


def test_configured_filename_pattern_is_used_for_unlisted_files(tmp_path):
    pattern = r"(?P<agent_id>A\d+)_(?P<call_id>\w+)\.wav$"
    (tmp_path / "A07_abc.wav").write_bytes(b"x")
    [(_, meta)] = discover_recordings(tmp_path, pattern=pattern)
    assert (meta.agent_id, meta.call_id) == ("A07", "abc")
    with pytest.raises(MetadataError, match="not a valid regex.*fix flow.filename_pattern"):
        discover_recordings(tmp_path, pattern="(?P<call_id")
