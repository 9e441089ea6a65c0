"""RTTM / JSON forms of a diarization."""
from __future__ import annotations

import pytest

from pipeline.diarization.rttm import Diarization, SpeakerTurn, read_rttm, write_rttm
from pipeline.errors import DiarizationError

RTTM = """SPEAKER dev-001 1 0.300 6.671 <NA> <NA> agent <NA> <NA>
SPEAKER dev-001 1 7.699 5.666 <NA> <NA> customer <NA> <NA>
SPEAKER other 1 1.000 1.000 <NA> <NA> agent <NA> <NA>
"""


def test_rttm_round_trip(tmp_path):
    diar = Diarization(turns=(SpeakerTurn("SPEAKER_00", 0.3, 1.25), SpeakerTurn("SPEAKER_01", 1.5, 2.0)),
                       uri="call-1", duration_s=3.0, backend="offline")
    path = write_rttm(diar, tmp_path / "out" / "call-1.rttm")
    again = read_rttm(path)
    assert again.uri == "call-1"
    assert [(t.speaker, t.start_s, round(t.end_s, 3)) for t in again.turns] == [
        ("SPEAKER_00", 0.3, 1.25), ("SPEAKER_01", 1.5, 2.0)]
    assert path.read_text().startswith("SPEAKER call-1 1 0.300 0.950 <NA> <NA> SPEAKER_00")


def test_rttm_uri_filter_and_speakers():
    diar = Diarization.from_rttm(RTTM, uri="dev-001")
    assert diar.speakers == ("agent", "customer")
    assert len(diar.turns) == 2
    assert diar.speech_s("agent") == pytest.approx(6.671)


def test_rttm_bad_line_names_the_line():
    with pytest.raises(DiarizationError, match=r"x.rttm:2: expected an RTTM line"):
        Diarization.from_rttm("SPEAKER a 1 0 1 <NA> <NA> s <NA> <NA>\nfoo bar\n", source="x.rttm")


def test_json_round_trip_and_relabel():
    diar = Diarization(turns=(SpeakerTurn("SPEAKER_00", 0.0, 1.0), SpeakerTurn("SPEAKER_01", 1.2, 2.0)), uri="c")
    assert Diarization.from_dict(diar.to_dict()) == diar
    relabelled = diar.relabel({"SPEAKER_00": "agent", "SPEAKER_01": "customer"})
    assert relabelled.speakers == ("agent", "customer")
    assert diar.speakers == ("SPEAKER_00", "SPEAKER_01"), "relabel returns a new object"
