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
