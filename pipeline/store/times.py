"""Times as the store keeps them: naive datetimes (UTC for our own stamps, wall clock for calls)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pipeline.errors import StoreError

TimeLike = str | date | datetime | None


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def parse_time(value: TimeLike) -> datetime | None:
    """ISO text or date to a naive datetime (wall-clock time as recorded; offsets dropped)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time())
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError as e:
        raise StoreError(
            f"recorded_at: expected an ISO date/time such as 2026-11-02T09:00, got {value!r}; "
            "fix the manifest or the filename pattern"
        ) from e


def time_range(since: TimeLike, until: TimeLike) -> tuple[datetime | None, datetime | None]:
    """[since, until) bounds; a bare ``until`` date includes that whole day."""
    lo = parse_time(since)
    hi = parse_time(until)
    if hi is not None and (isinstance(until, date) and not isinstance(until, datetime) or (isinstance(until, str) and len(until) <= 10)):
        hi = hi + timedelta(days=1)
    return lo, hi
