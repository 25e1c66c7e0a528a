"""Train a category model from a labelled CSV and write it with its model card."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

from classifiers.serving import store
from classifiers.training import artifacts, model
from classifiers.training.evaluation import evaluate

# Wide enough for 400-row seed corpora and 5,000-row message boards alike.
C_GRID = (0.3, 1.0, 3.0)
# What `train` tells its `step` callback, in order ("choose C" and "evaluate" only when they happen).
PHASES = ("vectorise", "choose C", "fit and calibrate", "evaluate", "save")


@dataclass(frozen=True)
class Corpus:
    texts: list[str]
    labels: list[str]
    sha256: str
    source: str

    @property
    def size(self) -> int:
        return len(self.texts)


def read_corpus(path: Path) -> Corpus:
    """Columns text,label (others ignored); rows without either are skipped."""
    raw = path.read_bytes()
    texts, labels = [], []
    # A file object with newline="", not splitlines(): the csv module then keeps the newline inside a quoted
    # field ("subject\nbody"); given lines it silently glued the subject to the body.
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
        raise ValueError(f"{path}: needs columns text,label (has {reader.fieldnames})")
    for row in reader:
        text, label = (row.get("text") or "").strip(), (row.get("label") or "").strip()
        if text and label:
            texts.append(text)
            labels.append(label)
    return Corpus(texts, labels, hashlib.sha256(raw).hexdigest(), path.name)


def corpus_from_pairs(pairs: Sequence[tuple[str, str]], source: str) -> Corpus:
    h = hashlib.sha256("\n".join(f"{t}\t{lab}" for t, lab in pairs).encode("utf-8")).hexdigest()
    return Corpus([t for t, _ in pairs], [lab for _, lab in pairs], h, source)


def holdout(corpus: Corpus, fraction: float = 0.2, seed: int = 0) -> tuple[Corpus, Corpus]:
    """Stratified split; labels with a single example stay in training (they cannot be held out)."""
    counts: dict[str, int] = {}
    for lab in corpus.labels:
        counts[lab] = counts.get(lab, 0) + 1
    idx = list(range(corpus.size))
    solo = [i for i in idx if counts[corpus.labels[i]] < 2]
    rest = [i for i in idx if counts[corpus.labels[i]] >= 2]
    tr, te = train_test_split(rest, test_size=fraction, random_state=seed, stratify=[corpus.labels[i] for i in rest])
    return _rows(corpus, [*tr, *solo], "train"), _rows(corpus, te, "holdout")


def unseen_holdout(corpus: Corpus, seen: set[str], fraction: float = 0.2, seed: int = 0) -> tuple[Corpus, Corpus]:
    """Hold out a share of the rows not in `seen` (`artifacts.example_digest`s of what the active model trained
    on); every seen row trains. A model and its challenger can then be compared on rows neither has seen.
    Not stratified: new rows are mostly agents' corrections, spread one or two over many labels."""
    fresh = [i for i in range(corpus.size) if artifacts.example_digest(corpus.texts[i], corpus.labels[i]) not in seen]
    held: set[int] = set()
    if len(fresh) >= 2:
        _, te = train_test_split(fresh, test_size=fraction, random_state=seed)
        held = set(te)
    rest = [i for i in range(corpus.size) if i not in held]
    return _rows(corpus, rest, "train"), _rows(corpus, sorted(held), "unseen holdout")


def _rows(corpus: Corpus, ids: Sequence[int], part: str) -> Corpus:
    return Corpus(
        [corpus.texts[i] for i in ids], [corpus.labels[i] for i in ids], corpus.sha256, f"{corpus.source}[{part}]"
    )


def new_version() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def train(
    corpus: Corpus,
    out_dir: Path,
    evaluation: Corpus | None = None,
    params: model.Params = model.Params(),
    c_grid: Sequence[float] = C_GRID,
    step: Callable[[str], None] = lambda _: None,
    version: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Fit, optionally evaluate, save. Returns the pipeline and its card."""
    pipe, info = model.fit(corpus.texts, corpus.labels, params, c_grid, step)
    card: dict[str, Any] = {
        "version": version or new_version(),
        "kind": "category",
        "training_data": {
            "source": corpus.source,
            "sha256": corpus.sha256,
            "rows": corpus.size,
            "labels": len(set(corpus.labels)),
        },
        "params": {**asdict(params), **info},
        "classes": [str(c) for c in pipe.classes_],
    }
    if evaluation is not None and evaluation.size:
        step("evaluate")
        metrics = evaluate(pipe, evaluation.texts, evaluation.labels)
        card["evaluation_data"] = {"source": evaluation.source, "sha256": evaluation.sha256, "rows": evaluation.size}
        card["metrics"] = {k: metrics[k] for k in ("n", "accuracy", "macro_f1", "ece")}
    step("save")
    artifacts.save(pipe, out_dir, card)
    artifacts.write_trained_on(out_dir, corpus.texts, corpus.labels)
    return pipe, store.read_card(out_dir)
