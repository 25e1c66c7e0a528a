"""`hotline classifier`: train, evaluate, predict with, retrain and switch category models."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from cases.db import session_scope
from cases.queries import local
from cases.settings import kernel_settings
from classifiers.settings import classifier_settings

# scikit-learn, skops and jieba are imported inside the commands: `hotline` itself must start fast.

app = typer.Typer(
    help="Category and grid classifier: train, evaluate, predict, retrain, versions.", no_args_is_help=True
)
console = Console()
SEED_CORPUS = Path(__file__).resolve().parents[1] / "classifiers" / "data" / "seed_corpus.csv"


@contextmanager
def _training_bar() -> Iterator[Callable[[str], None]]:
    """A progress bar over the training phases; yields the `step` callback training reports to."""
    from classifiers.training.trainer import PHASES

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("read data", total=len(PHASES))
        yield lambda name: bar.update(task, description=name, completed=PHASES.index(name))
        bar.update(task, completed=len(PHASES))


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="CSV with columns text,label (others ignored).", exists=True)],
    out: Annotated[Path | None, typer.Option(help="Output folder (default: var dir/models/VERSION).")] = None,
    eval_data: Annotated[Path | None, typer.Option("--eval", help="Score the model on this CSV too.")] = None,
) -> None:
    """Train a category model on DATA and write model.skops and card.json."""
    from classifiers.training import trainer

    corpus = trainer.read_corpus(data)
    version = trainer.new_version()
    out = out or kernel_settings().var_dir / "models" / version
    evaluation = trainer.read_corpus(eval_data) if eval_data else None
    console.print(f"training on {corpus.size} rows, {len(set(corpus.labels))} labels from {data}")
    with _training_bar() as step:
        _, card = trainer.train(corpus, out, evaluation, step=step, version=version)
    console.print(f"[green]model written to {out}[/green]  C={card['params']['C']}")
    if "metrics" in card:
        console.print(card["metrics"])


def _report(name: str, m: dict[str, Any]) -> None:
    console.print(
        f"[bold]{name}[/bold]: n={m['n']} accuracy={m['accuracy']:.4f} macro-F1={m['macro_f1']:.4f}"
        + (f" ECE={m['ece']:.4f}" if "ece" in m else "")
    )
    t = Table("label", "precision", "recall", "F1", "support")
    for lab, r in m["per_class"].items():
        t.add_row(lab, f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", str(r["support"]))
    console.print(t)
    labels, matrix = m["confusion"]["labels"], m["confusion"]["matrix"]
    c = Table("true \\ predicted", *labels, title="confusion")
    for lab, row in zip(labels, matrix, strict=True):
        c.add_row(lab, *(str(v) if v else "·" for v in row))
    console.print(c)


@app.command("eval")
def eval_(
    model: Annotated[Path, typer.Argument(help="Model folder or .skops file.", exists=True)],
    data: Annotated[Path, typer.Argument(help="CSV with columns text,label.", exists=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(help="Also train the char 1–3-gram TF-IDF + LinearSVC baseline on this CSV and score it on DATA."),
    ] = None,
) -> None:
    """Accuracy, macro-F1, per-class P/R/F1, confusion table and ECE of MODEL on DATA."""
    from classifiers.serving import store
    from classifiers.training import trainer
    from classifiers.training.evaluation import evaluate, evaluate_baseline

    corpus = trainer.read_corpus(data)
    result: dict[str, Any] = {
        "model": str(model),
        "data": str(data),
        "metrics": evaluate(store.load(model), corpus.texts, corpus.labels),
    }
    if baseline is not None:
        base = trainer.read_corpus(baseline)
        result["baseline"] = evaluate_baseline(base.texts, base.labels, corpus.texts, corpus.labels)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    _report("model", result["metrics"])
    if "baseline" in result:
        _report("baseline (char 1–3-gram TF-IDF + LinearSVC)", result["baseline"])


@app.command()
def predict(
    inp: Annotated[Path, typer.Argument(metavar="IN.csv", help="Column text; optional lat,lon.", exists=True)],
    out: Annotated[Path, typer.Argument(metavar="OUT.csv")],
    model: Annotated[Path | None, typer.Option(help="Model folder or .skops (default: the active one).")] = None,
) -> None:
    """Category and grid for every row of IN.csv, written to OUT.csv."""
    from classifiers.serving.predict import PREDICTION_FIELDS, predict_rows
    from classifiers.serving.registry import build_classifier

    settings = classifier_settings()
    if model is not None:
        settings = settings.model_copy(update={"classifier_model_path": model})
    with inp.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    predicted = predict_rows(build_classifier(settings, kernel_settings().reference_data_dir), rows)
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[*(rows[0].keys() if rows else ["text"]), *PREDICTION_FIELDS])
        w.writeheader()
        w.writerows(predicted)
    console.print(f"[green]{len(rows)} rows → {out}")


@app.command()
def retrain(
    holdout: Annotated[float, typer.Option(help="Share of the new examples held out to compare the models.")] = 0.2,
    min_new: Annotated[int, typer.Option(help="Fewest held-out examples to decide on; fewer: not activated.")] = 20,
    seed_corpus: Annotated[Path, typer.Option(help="The seed corpus.")] = SEED_CORPUS,
) -> None:
    """Train on the seed corpus plus agents' corrections; activate only if macro-F1 does not drop.

    Both models are scored on the same held-out examples, drawn from those the active model was not trained
    on (in practice, corrections made since): scored on its own training rows the active model would look
    perfect and no retrained model could ever replace it."""
    from classifiers.serving.registry import reset_classifier
    from classifiers.training.retrain import plan_retrain
    from classifiers.training.retrain import retrain as run_retrain

    with session_scope() as s:
        plan = plan_retrain(s, seed_corpus, holdout)
    console.print(
        f"retraining on {plan.train.size} rows ({plan.corrections} corrections), held out {plan.held_out.size} "
        "that the active model has not seen"
    )
    with _training_bar() as step, session_scope() as s:
        result = run_retrain(s, plan, kernel_settings().var_dir / "models", min_new, step)
    reset_classifier()
    if not result.compared:
        console.print(
            f"[yellow]kept {result.active_name}[/]: {result.held_out} held-out examples it has not seen, fewer "
            f"than --min-new {min_new}, are too few to compare on. {result.version} is listed; "
            f"`hotline classifier activate {result.version}` to use it anyway."
        )
        return
    verdict = "[green]activated" if result.activated else "[yellow]kept the current model (macro-F1 would drop)"
    console.print(
        f"{verdict}[/]: new {result.version} macro-F1 {result.new_macro_f1:.4f} vs {result.active_name} "
        f"{result.active_macro_f1:.4f} on the same {result.held_out} held-out rows"
    )


@app.command()
def models() -> None:
    """Every model version, the active one marked."""
    from classifiers.serving import store
    from classifiers.serving.versions import SHIPPED, list_versions

    with session_scope() as s:
        rows = list_versions(s)
    t = Table(Column("version", no_wrap=True), "active", "macro-F1", "rows", "created", Column("path", overflow="fold"))
    t.add_row(
        "(shipped default)",
        "" if any(r.active for r in rows) else "*",
        str(store.read_card(SHIPPED).get("metrics", {}).get("macro_f1", "")),
        "",
        "",
        str(SHIPPED),
    )
    for r in rows:
        t.add_row(
            r.version,
            "*" if r.active else "",
            f"{r.macro_f1:.4f}" if r.macro_f1 is not None else "",
            str(r.card.get("training_data", {}).get("rows", "")),
            local(r.created_at),
            r.path,
        )
    console.print(t)


@app.command()
def activate(version: Annotated[str, typer.Argument(help="A version listed by `models`.")]) -> None:
    """Make VERSION the model every new report is classified with."""
    from classifiers.serving.registry import reset_classifier, when_running_processes_reload
    from classifiers.serving.versions import set_active

    with session_scope() as s:
        try:
            set_active(s, version)
        except KeyError:
            console.print(f"[red]no model version {version}")
            raise typer.Exit(1) from None
    reset_classifier()
    console.print(f"[green]{version} is active (running servers pick it up {when_running_processes_reload()})")
