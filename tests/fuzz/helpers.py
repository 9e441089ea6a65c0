"""The one property of the fuzz suite, checked for library calls and for the command line."""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import strategies as st
from typer.testing import CliRunner

from callqa.cli import app
from pipeline.errors import CallQAError

T = TypeVar("T")


def valid_or_our_error(call: Callable[[], T], path: Path, error: type[CallQAError] = CallQAError) -> T | None:
    """``call()``'s value, or ``None`` after checking it raised ``error``: one line naming ``path`` and a fix."""
    try:
        return call()
    except error as e:
        message = str(e)
        assert str(path) in message or path.name in message, f"error does not name {path}: {message}"
        assert len(message) > len(str(path)) + 25, f"error gives no reason or fix: {message}"
        assert "\n" not in message, f"error is not one line: {message}"
        return None


def cli_fails_in_one_line(args: list[str]):
    """Run ``callqa ARGS``: success, or a non-zero exit with ``error:``/``failed:`` lines and no traceback."""
    result = CliRunner().invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"callqa {' '.join(args)} raised {result.exception!r}\n{result.output}") \
            from result.exception
    assert "Traceback" not in result.output and '  File "' not in result.output, result.output
    if result.exit_code != 0:
        assert any(line.startswith(("error:", "failed:")) for line in result.output.splitlines()), result.output
    return result


# JSON/YAML-like values: what a hand-edited or foreign file may hold where we expect something else.
scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats() | st.text(max_size=12)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutations(draw, base: Any, values: st.SearchStrategy = json_values, max_edits: int = 3) -> Any:
    """``base`` with 1-``max_edits`` fields replaced by other values, deleted, or duplicated."""
    value = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_edits))):
        paths = [p for p in _paths(value) if p]
        if not paths:
            return draw(values)
        path = draw(st.sampled_from(paths))
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "stringify"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "stringify":
            parent[path[-1]] = json.dumps(parent[path[-1]], ensure_ascii=False)
        else:
            parent[path[-1]] = draw(values)
    return value
