"""Retrain the category model on the seed corpus plus agents' corrections, and activate the new model
only if its macro-F1 does not drop.

Both models are scored on the same held-out examples, drawn from those the active model was not trained
on (in practice, corrections made since): scored on its own training rows the active model would look
perfect and no retrained model could ever replace it.

Two steps, so a caller can say what is about to happen before the minutes of training: `plan_retrain`
reads the examples and the active model, `retrain` trains, compares and records the new version. Neither
commits; `retrain` touches the session only at the end, so a caller's session holds no connection while
the model trains."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from classifiers.serving import store
from classifiers.serving.versions import SHIPPED, active_version, register
from classifiers.training import artifacts, trainer
from classifiers.training.corrections import labelled_examples
from classifiers.training.evaluation import evaluate


@dataclass(frozen=True)
class RetrainPlan:
    """What a retrain would train on and compare with."""

    train: trainer.Corpus
    held_out: trainer.Corpus  # examples the active model has not seen
    corrections: int
    active_path: Path
    active_name: str  # the active version, or "shipped default"


@dataclass(frozen=True)
class RetrainResult:
    version: str
    path: Path
    held_out: int
    active_name: str
    new_macro_f1: float | None  # None: too few held-out examples to compare on
    active_macro_f1: float | None
    activated: bool

    @property
    def compared(self) -> bool:
        return self.new_macro_f1 is not None


def plan_retrain(session: Session, seed_corpus: Path, holdout: float = 0.2) -> RetrainPlan:
    """The seed corpus with agents' corrections (a corrected seed text keeps the agent's label), split so
    that a share of the examples the active model has not seen is held out."""
    seed = trainer.read_corpus(seed_corpus)
    corrections = labelled_examples(session)
    current = active_version(session)
    corrected = {t for t, _ in corrections}
    pairs = [(t, lab) for t, lab in zip(seed.texts, seed.labels, strict=True) if t not in corrected]
    corpus = trainer.corpus_from_pairs([*pairs, *corrections], f"seed+{len(corrections)} corrections")
    active_path = Path(current.path) if current else SHIPPED
    seen = artifacts.read_trained_on(active_path)
    if seen is None:  # saved before models listed what they were trained on: the seed corpus, at least
        seen = artifacts.example_digests(seed.texts, seed.labels)
    train, held_out = trainer.unseen_holdout(corpus, seen, holdout)
    name = current.version if current else "shipped default"
    return RetrainPlan(train, held_out, len(corrections), active_path, name)


def retrain(
    session: Session,
    plan: RetrainPlan,
    models_dir: Path,
    min_new: int = 20,
    step: Callable[[str], None] = lambda _: None,
) -> RetrainResult:
    """Train the new model into `models_dir/VERSION`, score it and the active one on the held-out
    examples, and list the new version, active when it scored at least as well. With fewer than `min_new`
    held-out examples nothing is compared and the new version is listed, not activated. `step` hears
    about each training phase (`trainer.train`)."""
    version = trainer.new_version()
    out = models_dir / version
    enough = plan.held_out.size >= min_new
    _, card = trainer.train(plan.train, out, plan.held_out if enough else None, step=step, version=version)
    new_f1 = active_f1 = None
    if enough:
        new_f1 = float(card["metrics"]["macro_f1"])
        active_f1 = float(evaluate(store.load(plan.active_path), plan.held_out.texts, plan.held_out.labels)["macro_f1"])
    activated = new_f1 is not None and active_f1 is not None and new_f1 >= active_f1
    register(session, version, out, card, activate=activated)
    return RetrainResult(version, out, plan.held_out.size, plan.active_name, new_f1, active_f1, activated)
