"""The confidence gate's figures on the seed corpus's held-out part, before and after (issue 16, item 5).

The held-out part is the one `classifiers.training.default_model` scores the shipped recipe on: a
stratified fifth of classifiers/data/seed_corpus.csv (`trainer.holdout(corpus, 0.2, seed=0)`); the same
recipe is fitted on the other four fifths here, so no held-out row was seen in training. Each held-out
report is routed by the shipped rules (routing/data/rules.yaml) with the model's top three categories
as its candidates, as the pipeline does, and counted as dispatched without a person or held:

- before: the old gate on the category — dispatch when the top category's probability reaches the old
  `HOTLINE_CATEGORY_AUTO_THRESHOLD` (0.6, removed in 3339586) and its rule dispatches;
- after: the gate on the department — dispatch when the decision's confidence (the probabilities of the
  candidates the rules send to the same department, added) reaches the rule set's
  `min_decision_confidence` (0.6) and the rule dispatches.

A dispatch is right when its department is the one the rules give the labelled category. Only the gate
is compared: grid, duplicates and 核查 hold a case whichever gate is used.

    python bench/gate.py
    python bench/gate.py --threshold 0.5
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from classifiers.training import model, trainer
from classifiers.training.default_model import SEED_CORPUS
from routing.conditions import RoutingInputs
from routing.rules import DEFAULT_RULES, RuleSetSpec, load_rule_file, route

OLD_CATEGORY_THRESHOLD = 0.6  # HOTLINE_CATEGORY_AUTO_THRESHOLD's default until 3339586


@dataclass
class Tally:
    dispatched: int = 0
    right: int = 0

    def line(self, label: str, n: int) -> str:
        share = self.dispatched / n
        right = self.right / self.dispatched if self.dispatched else 0.0
        return f"| {label} | {self.dispatched} / {n} = {share:.1%} | {self.right} / {self.dispatched} = {right:.1%} |"


def truth(spec: RuleSetSpec, label: str) -> str | None:
    return route(spec, RoutingInputs(category_code=label, category_confidence=1.0)).department_code


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threshold", type=float, default=None, help="the rule set's min_decision_confidence")
    args = ap.parse_args()
    spec = load_rule_file(DEFAULT_RULES)
    if args.threshold is not None:
        spec = replace(spec, min_decision_confidence=args.threshold)
    corpus = trainer.read_corpus(SEED_CORPUS)
    train, held = trainer.holdout(corpus, 0.2, seed=0)
    t = time.perf_counter()
    pipe, _ = model.fit(train.texts, train.labels, model.Params(), trainer.C_GRID)
    fitted = time.perf_counter() - t
    proba = np.asarray(pipe.predict_proba(held.texts))
    classes = [str(c) for c in pipe.classes_]
    before, after = Tally(), Tally()
    category_right = 0
    for row, label in zip(proba, held.labels, strict=True):
        top = np.argsort(-row)[:3]
        candidates = tuple((classes[i], float(row[i])) for i in top)
        code, p = candidates[0]
        category_right += code == label
        want = truth(spec, label)
        d = route(spec, RoutingInputs(category_code=code, category_confidence=p, candidates=candidates))
        rule_would = d.department_code is not None and (d.auto_dispatch or d.low_confidence)  # the rule's own hold
        if rule_would and p >= OLD_CATEGORY_THRESHOLD:
            before.dispatched += 1
            before.right += d.department_code == want
        if d.auto_dispatch:
            after.dispatched += 1
            after.right += d.department_code == want
    n = held.size
    print(f"seed corpus {corpus.size} rows, held out {n} (stratified fifth, seed 0); recipe fitted on the other "
          f"{train.size} in {fitted:.0f} s; top category right on {category_right / n:.1%} of them")  # fmt: skip
    print("| gate | dispatched without a person | of those, to the right department |")
    print("|---|---:|---:|")
    print(before.line(f"before: top category ≥ {OLD_CATEGORY_THRESHOLD:g}", n))
    print(after.line(f"after: department confidence ≥ {spec.min_decision_confidence:g}", n))


if __name__ == "__main__":
    main()
