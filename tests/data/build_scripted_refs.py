"""Write one <call_id>.ref.json per call in a set's calls.json (format of ../shared/eval/calls/*.ref.json).

Shared by the text-only scripted sets (tests/data/other_wording*).

These calls are not rendered to audio, so turn times are estimated deterministically:
speech at CHARS_PER_SECOND (punctuation and spaces do not count), GAP_S of silence between
turns plus the previous turn's ``pause_after``, and a turn with ``overlap`` starts that many
seconds before the previous turn ends (never earlier than 0.2 s after the previous start, as
in the renderer). Run: python3 tests/data/build_scripted_refs.py tests/data/other_wording_4
"""
import json
import sys
import unicodedata
from pathlib import Path

CHARS_PER_SECOND = 4.5
GAP_S = 0.6
FIRST_START_S = 0.3
TAIL_S = 0.8
MIN_TURN_S = 0.5


def spoken_chars(text: str) -> int:
    return sum(1 for ch in text if not unicodedata.category(ch).startswith(("P", "Z", "S")))


def with_times(call: dict) -> dict:
    turns, start = [], FIRST_START_S
    for i, turn in enumerate(call["turns"]):
        if i:
            previous = turns[-1]
            if turn.get("overlap"):
                start = max(previous["start"] + 0.2, previous["end"] - float(turn["overlap"]))
            else:
                start = previous["end"] + GAP_S + float(call["turns"][i - 1].get("pause_after", 0.0))
        end = start + max(MIN_TURN_S, spoken_chars(turn["text"]) / CHARS_PER_SECOND)
        turns.append({**turn, "index": i, "start": round(start, 3), "end": round(end, 3)})
    ref = {k: v for k, v in call.items() if k != "turns"}
    ref["turns"] = turns
    ref["duration"] = round(turns[-1]["end"] + TAIL_S, 3)
    return ref


def main(folder: Path) -> None:
    calls = json.loads((folder / "calls.json").read_text(encoding="utf-8"))
    for call in calls:
        ref = with_times(call)
        (folder / f"{call['call_id']}.ref.json").write_text(json.dumps(ref, ensure_ascii=False, indent=1),
                                                            encoding="utf-8")
    print(f"wrote {len(calls)} ref files to {folder}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 tests/data/build_scripted_refs.py <set folder with calls.json>")
    main(Path(sys.argv[1]))
