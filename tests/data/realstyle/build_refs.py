"""Write one <call_id>.ref.json per call in calls.json, in the format of the rendered eval calls.

The real-style calls are text only (no audio), so turn times are synthetic: a turn lasts its
character count at about 4.5 characters per second, turns are 0.6 s apart, `pause_after` adds
silence after a turn and `overlap` starts a turn that many seconds before the previous one ends.
Deterministic and stdlib only: run `python tests/data/realstyle/build_refs.py` after editing
calls.json and commit the regenerated files.
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHARS_PER_SECOND = 4.5
GAP_S = 0.6
FIRST_START_S = 0.3
TAIL_S = 0.8
MIN_TURN_S = 0.6


def timed_turns(turns: list[dict]) -> list[dict]:
    """Give every turn index, start and end; returns new dicts, the input is left as it is."""
    out: list[dict] = []
    next_start = FIRST_START_S
    previous_start = 0.0
    previous_end = 0.0
    for index, turn in enumerate(turns):
        start = next_start
        overlap = turn.get("overlap")
        if overlap and index > 0:
            # An interruption starts before the previous speaker has finished, never before they began.
            start = max(previous_start + 0.1, previous_end - overlap)
        length = max(MIN_TURN_S, len(turn["text"]) / CHARS_PER_SECOND)
        end = start + length
        out.append({**turn, "index": index, "start": round(start, 3), "end": round(end, 3)})
        previous_start, previous_end = start, end
        next_start = max(end, previous_end) + GAP_S + float(turn.get("pause_after", 0.0))
    return out


def reference(call: dict) -> dict:
    turns = timed_turns(call["turns"])
    return {
        "call_id": call["call_id"],
        "industry": call["industry"],
        "agent_id": call["agent_id"],
        "agent_voice": call["agent_voice"],
        "customer_voice": call["customer_voice"],
        "labels": call["labels"],
        "turns": turns,
        "duration": round(max(t["end"] for t in turns) + TAIL_S, 3),
    }


def main() -> None:
    calls = json.loads((HERE / "calls.json").read_text(encoding="utf-8"))
    for call in calls:
        path = HERE / f"{call['call_id']}.ref.json"
        path.write_text(json.dumps(reference(call), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(calls)} reference files to {HERE}")


if __name__ == "__main__":
    main()
