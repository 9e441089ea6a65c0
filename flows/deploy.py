"""Schedule the nightly QA run: ``serve`` on one machine, or a work pool for several.

One machine (a long-running process; needs a Prefect server, e.g. ``prefect server start``
with ``PREFECT_API_URL`` pointing at it)::

    python -m flows.deploy /data/calls/incoming --config /etc/callqa/callqa.yaml
    # cron and time zone default to flow.cron / flow.timezone of the config (02:00 Asia/Shanghai)

Several machines: ``prefect.yaml`` at the repository root declares the same deployment for a
work pool (``prefect deploy --all``; then ``prefect worker start --pool callqa`` on each host).

The deployed entry point is :func:`scheduled_nightly_qa`: it reads the config at run time and
runs :func:`~flows.nightly.nightly_qa` with the task runner configured there (threads, or a Dask
cluster), so switching a night to Dask is a config edit, not a redeploy.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow
from prefect.schedules import Cron

from flows.nightly import RunSummary, build_task_runner, nightly_qa
from pipeline.config import load_config

DEPLOYMENT_NAME = "nightly-qa"


@flow(name="nightly-qa-scheduled")
def scheduled_nightly_qa(
    source: str,
    config: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> RunSummary:
    """Run the nightly flow with the task runner of ``config`` (a subflow run per night)."""
    runner = build_task_runner(load_config(config).flow)
    return nightly_qa.with_options(task_runner=runner)(source, since=since, until=until, config=config)


def serve(
    source: str | Path,
    *,
    config: str | Path | None = None,
    cron: str | None = None,
    timezone: str | None = None,
    name: str = DEPLOYMENT_NAME,
) -> None:
    """Serve the nightly run on a cron schedule from this process (blocks; Ctrl-C pauses it)."""
    cfg = load_config(config)
    schedule = Cron(cron or cfg.flow.cron, timezone=timezone or cfg.flow.timezone)
    scheduled_nightly_qa.serve(
        name=name,
        schedules=[schedule],
        parameters={"source": str(Path(source).resolve()),
                    "config": str(Path(config).resolve()) if config else None},
        # A night that overruns must not overlap with the next one writing the same database.
        limit=1,
        description="Nightly QA of customer-service calls: transcribe new recordings, score, report.",
        tags=["callqa"],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the callqa nightly run on a cron schedule.")
    parser.add_argument("source", help="Directory of recordings (with manifest.csv) to process every night.")
    parser.add_argument("--config", help="Pipeline YAML config (flow.cron and flow.timezone set the schedule).")
    parser.add_argument("--cron", help="Override the cron expression, e.g. '30 1 * * *'.")
    parser.add_argument("--timezone", help="Override the schedule's time zone, e.g. Asia/Shanghai.")
    parser.add_argument("--name", default=DEPLOYMENT_NAME, help="Deployment name.")
    args = parser.parse_args(argv)
    serve(args.source, config=args.config, cron=args.cron, timezone=args.timezone, name=args.name)


if __name__ == "__main__":
    main()
