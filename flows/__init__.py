"""Prefect orchestration of the callqa pipeline: the only package that imports Prefect.

Importing it turns telemetry off (unless the environment already decided) before Prefect
itself is imported, so a nightly job never phones home by default.
"""
from __future__ import annotations

import os

# Must run before the first `import prefect`: settings are read at import time.
for _name, _value in {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # A 2-core CI box needs longer than the default to boot the ephemeral server.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}.items():
    os.environ.setdefault(_name, _value)

from flows.nightly import RunSummary, nightly_qa, run_nightly  # noqa: E402

__all__ = ["RunSummary", "nightly_qa", "run_nightly"]
