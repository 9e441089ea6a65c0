"""The scale bench's night: new call ids over the same recordings, readable by the nightly flow."""
from __future__ import annotations

from pipeline.audio import file_sha256
from pipeline.metadata import discover_recordings
from tests.conftest import DATA

from callqa.bench.scale import night_source


def test_night_repeats_recordings_under_new_ids_that_the_manifest_reader_accepts(tmp_path):
    originals = [{"file": str(DATA / "flow_calls" / name), "call_id": name.split(".")[0], "agent_id": "A01",
                  "recorded_at": "2026-11-02T09:00", "layout": "stereo", "agent_channel": "0"}
                 for name in ("dev-001.stereo.flac", "dev-009.stereo.flac")]
    source = night_source(tmp_path / "night", originals, 5)
    found = discover_recordings(source / "manifest-5.csv", pattern=r"(?P<call_id>.+)")
    assert [meta.call_id for _, meta in found] == [f"night-{n:05d}" for n in range(1, 6)]
    # Same bytes as the original in turn: the content-addressed cache sees one recording per original.
    assert file_sha256(found[2][0]) == file_sha256(originals[0]["file"])
    assert file_sha256(found[3][0]) == file_sha256(originals[1]["file"])
    assert all(meta.layout == "stereo" and meta.agent_channel == 0 for _, meta in found)
