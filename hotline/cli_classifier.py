"""`hotline classifier`: train, evaluate, predict with, retrain and switch category models."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from cases.db import session_scope
from cases.settings import get_settings

if TYPE_CHECKING:
    from classifiers.training.trainer import Corpus

# scikit-learn, skops and jieba are imported inside the commands: `hotline` itself must start fast.

app = typer.Typer(
    help="Category and grid classifier: train, evaluate, predict, retrain, versions.", no_args_is_help=True
)
console = Console()
SEED_CORPUS = Path(__file__).resolve().parents[1] / "classifiers" / "data" / "seed_corpus.csv"
PHASES = ("vectorise", "choose C", "fit and calibrate", "evaluate", "save")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _train_with_bar(
    corpus: Corpus, out: Path, evaluation: Corpus | None, version: str | None = None
) -> tuple[Any, dict[str, Any]]:
    from classifiers.training import trainer

    with _progress() as bar:
        task = bar.add_task("read data", total=len(PHASES))

        def step(name: str) -> None:
            bar.update(task, description=name, completed=PHASES.index(name))

        result = trainer.train(corpus, out, evaluation, step=step, version=version)
        bar.update(task, completed=len(PHASES))
    return result


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
    out = out or get_settings().var_dir / "models" / version
    evaluation = trainer.read_corpus(eval_data) if eval_data else None
    console.print(f"training on {corpus.size} rows, {len(set(corpus.labels))} labels from {data}")
    _, card = _train_with_bar(corpus, out, evaluation, version)
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


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


@app.command()
def predict(
    inp: Annotated[Path, typer.Argument(metavar="IN.csv", help="Column text; optional lat,lon.", exists=True)],
    out: Annotated[Path, typer.Argument(metavar="OUT.csv")],
    model: Annotated[Path | None, typer.Option(help="Model folder or .skops (default: the active one).")] = None,
) -> None:
    """Category and grid for every row of IN.csv, written to OUT.csv."""
    from classifiers.base import ReportFacts
    from classifiers.serving.registry import build_classifier

    settings = get_settings()
    if model is not None:
        settings = settings.model_copy(update={"classifier_model_path": model})
    clf = build_classifier(settings)
    with inp.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    facts = [ReportFacts(text=r.get("text") or "", lat=_float(r.get("lat")), lon=_float(r.get("lon"))) for r in rows]
    results = clf.classify_many(facts)
    # community_code is its own column: a 12-digit community in grid_code would read as a guessed grid.
    fields = [
        "category",
        "category_confidence",
        "category_top3",
        "grid_code",
        "grid_confidence",
        "grid_source",
        "community_code",
    ]
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[*(rows[0].keys() if rows else ["text"]), *fields])
        w.writeheader()
        for r, c in zip(rows, results, strict=True):
            w.writerow(
                {
                    **r,
                    "category": c.category_code or "",
                    "category_confidence": f"{c.category_confidence:.4f}",
                    "category_top3": json.dumps([[k, round(p, 4)] for k, p in c.category_top3], ensure_ascii=False),
                    "grid_code": c.grid_code or "",
                    "grid_confidence": f"{c.grid_confidence:.4f}",
                    "grid_source": c.grid_source,
                    "community_code": c.community_code or "",
                }
            )
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
    from classifiers.serving import store
    from classifiers.serving.registry import reset_classifier
    from classifiers.serving.versions import SHIPPED, active_version, register
    from classifiers.training import artifacts, trainer
    from classifiers.training.corrections import labelled_examples
    from classifiers.training.evaluation import evaluate

    seed = trainer.read_corpus(seed_corpus)
    with session_scope() as s:
        corrections = labelled_examples(s)
        current = active_version(s)
    corrected = {t for t, _ in corrections}
    pairs = [(t, lab) for t, lab in zip(seed.texts, seed.labels, strict=True) if t not in corrected]
    corpus = trainer.corpus_from_pairs([*pairs, *corrections], f"seed+{len(corrections)} corrections")
    old_path = Path(current.path) if current else SHIPPED
    seen = artifacts.read_trained_on(old_path)
    if seen is None:  # saved before models listed what they were trained on: the seed corpus, at least
        seen = artifacts.example_digests(seed.texts, seed.labels)
    tr, te = trainer.unseen_holdout(corpus, seen, holdout)
    version = trainer.new_version()
    out = get_settings().var_dir / "models" / version
    console.print(
        f"retraining on {tr.size} rows ({len(corrections)} corrections), held out {te.size} "
        "that the active model has not seen"
    )
    enough = te.size >= min_new
    _, card = _train_with_bar(tr, out, te if enough else None, version)
    name = current.version if current else "shipped default"
    if enough:
        new_f1 = float(card["metrics"]["macro_f1"])
        old_f1 = float(evaluate(store.load(old_path), te.texts, te.labels)["macro_f1"])
        better = new_f1 >= old_f1
    with session_scope() as s:
        register(s, version, out, card, activate=enough and better)
        s.commit()
    reset_classifier()
    if not enough:
        console.print(
            f"[yellow]kept {name}[/]: {te.size} held-out examples it has not seen, fewer than "
            f"--min-new {min_new}, are too few to compare on. {version} is listed; "
            f"`hotline classifier activate {version}` to use it anyway."
        )
        return
    verdict = "[green]activated" if better else "[yellow]kept the current model (macro-F1 would drop)"
    console.print(
        f"{verdict}[/]: new {version} macro-F1 {new_f1:.4f} vs {name} {old_f1:.4f} on the same {te.size} held-out rows"
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
            r.created_at.isoformat(timespec="seconds"),
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
        s.commit()
    reset_classifier()
    console.print(f"[green]{version} is active (running servers pick it up {when_running_processes_reload()})")
