"""The category model, its artifacts, the confidence gate, corrections and the classifier CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from classifiers.base import Classification, ReportFacts
from classifiers.models import LabelledExample, ModelVersion
from classifiers.serving import store
from classifiers.serving.gate import category_override_unmet, grid_too_unsure
from classifiers.serving.taxonomy import NON_CITY_CODE, disabled_codes, load_categories, merge
from classifiers.settings import ClassifierSettings
from classifiers.tokenizer import normalise, tokenize
from classifiers.training import artifacts, trainer

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "classifiers" / "data" / "seed_corpus.csv"
runner = CliRunner()


def small_corpus(path: Path, per_label: int = 12, labels: int = 5) -> Path:
    """A few common labels of the seed corpus: enough to train in a second or two."""
    with SEED.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_label: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_label.setdefault(r["label"], []).append(r)
    common = sorted(by_label, key=lambda lab: -len(by_label[lab]))[:labels]
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["text", "label", "register"])
        w.writeheader()
        for lab in common:
            w.writerows(by_label[lab][:per_label])
    return path


@pytest.mark.parametrize("word", ["窨井盖", "占道经营", "渣土车", "青砖湖社区", "东门菜市场"])
def test_tokenizer_keeps_domain_words_whole(word: str) -> None:
    assert word in tokenize(f"你好我想反映{word}的问题")


def test_tokenizer_adds_canonical_term_for_a_residents_variant() -> None:
    from classifiers.tokenizer import load_synonyms

    variant, canonical = next(iter(load_synonyms().items()))
    words = tokenize(f"路口那个{variant}不见了")
    assert variant in words and canonical in words


def test_normalise_folds_numbers() -> None:
    assert normalise("3号楼 13812345678") == "0号楼 0"


def test_the_classifier_gate_keeps_per_category_thresholds_and_the_grid() -> None:
    """The general gate is on the department (tests/unit/test_decision_confidence.py); a category's own
    threshold and an unsure grid are the classifier's."""
    settings = ClassifierSettings(grid_auto_threshold=0.6, category_thresholds={"01011": 0.95})
    sure = Classification("06010", 0.5, "421102001001001", 0.85)
    assert not category_override_unmet(sure, settings) and not grid_too_unsure(sure, settings)
    assert grid_too_unsure(Classification("06010", 0.8, "421102001001001", 0.4), settings)
    assert grid_too_unsure(Classification("06010", 0.8, None, 0.5, community_code="421102001001"), settings)
    assert category_override_unmet(Classification("01011", 0.9, "421102001001001", 0.85), settings)
    assert not category_override_unmet(Classification("01011", 0.96, "421102001001001", 0.85), settings)


def test_taxonomy_is_data(tmp_path: Path) -> None:
    rows = load_categories(REPO / "cases" / "data" / "taxonomy.csv")
    codes = [r["code"] for r in rows]
    assert len(codes) == 251 and NON_CITY_CODE in codes and all(r["kind"] == "事件" for r in rows)
    local = tmp_path / "taxonomy.csv"
    local.write_text(
        "kind,major_code,major_name,minor_code,minor_name,full_code,active,parent_code\n"
        "事件,06,市容环境类,010,暴露垃圾,06010,false,\n"
        "事件,06,市容环境类,901,夜市油烟,06901,true,06010\n",
        encoding="utf-8",
    )
    merged = merge(load_categories(local), [{"code": "06901", "name": "夜市烧烤油烟", "active": True}])
    assert merged["06901"]["name"] == "夜市烧烤油烟"
    assert disabled_codes(merged) == {"06010"}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("model")
    corpus = trainer.read_corpus(small_corpus(d / "corpus.csv"))
    trainer.train(corpus, d / "model", version="tiny")
    return d / "model"


def test_skops_round_trip_with_the_trusted_list(tiny_model: Path) -> None:
    import skops.io as sio

    pipe = store.load(tiny_model)
    assert set(store.TRUSTED_TYPES) >= set(sio.get_untrusted_types(file=tiny_model / "model.skops"))
    proba = pipe.predict_proba(["垃圾堆在路边好几天没人清"])
    assert proba.shape == (1, 5) and abs(float(proba.sum()) - 1) < 1e-6
    card = store.read_card(tiny_model)
    assert card["version"] == "tiny" and len(card["training_data"]["sha256"]) == 64
    assert {"scikit-learn", "skops", "jieba"} <= set(card["libraries"])


def test_a_file_needing_other_types_is_refused(tmp_path: Path) -> None:
    import os

    import skops.io as sio

    sio.dump({"f": os.system}, tmp_path / "model.skops")
    with pytest.raises(store.UntrustedModelError, match="system"):
        store.load(tmp_path)


def test_shipped_default_loads_and_classifies(env: Path) -> None:
    from classifiers.serving.registry import get_classifier

    card = store.read_card(REPO / "classifiers" / "models" / "default")
    assert card["training_data"]["source"] == "seed_corpus.csv" and "holdout" in card
    assert (REPO / "classifiers" / "models" / "default" / "model.skops").stat().st_size < 5_000_000
    c = get_classifier().classify(ReportFacts(text="东门菜场那边有人占道经营摆摊卖菜"))
    assert c.category_code == "09006" and len(c.category_top3) == 3
    assert c.grid_code == "421102001001001" and c.grid_source == "text"
    assert c.model_version.startswith("default-")


def disable_category(code: str) -> None:
    from cases.db import session_scope
    from cases.models import Category

    with session_scope() as s:
        row = s.get(Category, ("事件", code))
        assert row is not None
        row.active = False
        s.add(row)
        s.commit()


def test_disabled_category_is_never_proposed(env: Path) -> None:
    from classifiers.serving.registry import get_classifier, reset_classifier

    disable_category("09006")
    reset_classifier()
    c = get_classifier().classify(ReportFacts(text="东门菜场那边有人占道经营摆摊卖菜"))
    assert c.category_code != "09006" and all(code != "09006" for code, _ in c.category_top3)


def test_record_correction(env: Path) -> None:
    from cases.db import session_scope
    from classifiers.training.corrections import labelled_examples, record_correction

    with session_scope() as s:
        record_correction(s, "楼下烧烤油烟太大", "06020", who="agent7")
        record_correction(s, "楼下烧烤油烟太大", "06021", who="agent8", grid_code="421102001001001")
        s.commit()
        assert len(s.exec(select(LabelledExample)).all()) == 2
        assert labelled_examples(s) == [("楼下烧烤油烟太大", "06021")]


def test_cli_train_eval_predict(tmp_path: Path) -> None:
    from hotline.cli_classifier import app

    data = small_corpus(tmp_path / "train.csv")
    r = runner.invoke(app, ["train", str(data), "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m" / "model.skops").exists() and (tmp_path / "m" / "card.json").exists()

    r = runner.invoke(app, ["eval", str(tmp_path / "m"), str(data), "--json", "--baseline", str(data)])
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    m = result["metrics"]
    assert {"accuracy", "macro_f1", "per_class", "confusion", "ece"} <= set(m)
    assert m["accuracy"] > 0.8 and "macro_f1" in result["baseline"]
    r = runner.invoke(app, ["eval", str(tmp_path / "m"), str(data)])
    assert r.exit_code == 0 and "macro-F1" in r.output and "confusion" in r.output

    inp = tmp_path / "in.csv"
    inp.write_text(
        "text,lat,lon\n东门菜场门口垃圾堆了好几天,,\n路边有垃圾,30.403,114.843\n青砖湖居委会旁边垃圾站满了,,\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["predict", "--model", str(tmp_path / "m"), str(inp), str(tmp_path / "out.csv")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["grid_source"] for r in rows] == ["text", "gps", "community"]
    assert [r["grid_code"] for r in rows] == ["421102001001001", "421102001001001", ""]
    assert rows[2]["community_code"] == "421102001002"
    assert len(json.loads(rows[0]["category_top3"])) == 3 and float(rows[0]["category_confidence"]) > 0


def test_cli_retrain_models_activate(env: Path) -> None:
    from cases.db import session_scope
    from classifiers.training.corrections import record_correction
    from hotline.cli_classifier import app

    seed = small_corpus(env / "seed.csv", per_label=10, labels=4)
    with session_scope() as s:
        record_correction(s, "东门菜场门口一堆垃圾没人收", "06010", who="agent7")
        s.commit()
    r = runner.invoke(app, ["retrain", "--seed-corpus", str(seed)])
    assert r.exit_code == 0, r.output
    # One correction is too little to tell two models apart: listed, not activated.
    assert "kept shipped default" in r.output and "--min-new" in r.output
    with session_scope() as s:
        versions = s.exec(select(ModelVersion)).all()
    assert len(versions) == 1 and versions[0].card["training_data"]["rows"] > 0 and not versions[0].active
    r = runner.invoke(app, ["models"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and versions[0].version in r.output
    r = runner.invoke(app, ["activate", versions[0].version])
    assert r.exit_code == 0
    r = runner.invoke(app, ["activate", "nope"])
    assert r.exit_code == 1


def test_retrain_compares_on_examples_the_active_model_has_not_seen(env: Path) -> None:
    """The shipped default was trained on every seed row; scored on them it would be perfect and never
    replaced. The comparison rows are drawn from the corrections it has not seen."""
    import re

    from cases.db import session_scope
    from classifiers.serving.versions import SHIPPED
    from classifiers.training.corrections import record_correction
    from hotline.cli_classifier import app

    seed = small_corpus(env / "seed.csv", per_label=10, labels=4)
    seed_rows = trainer.read_corpus(seed)
    new = [
        (f"{place}{what}", label)
        for place in ("东门菜场", "青砖湖路", "考棚街", "安国寺门口", "黄州古城")
        for what, label in (
            ("一堆垃圾好几天没人收", "06010"),
            ("有人摆摊卖菜占了半条路", "09006"),
            ("井盖不见了很危险", "01001"),
        )
    ]
    with session_scope() as s:
        for text, label in new:
            record_correction(s, text, label, who="agent7")
        # An agent relabelled a seed text: a new example, though the model has seen the text.
        other = next(lab for lab in seed_rows.labels if lab != seed_rows.labels[0])
        record_correction(s, seed_rows.texts[0], other, who="agent8")
        s.commit()
    seen = artifacts.read_trained_on(SHIPPED)
    assert seen is not None and artifacts.example_digest(seed_rows.texts[0], seed_rows.labels[0]) in seen
    r = runner.invoke(app, ["retrain", "--seed-corpus", str(seed), "--min-new", "3"])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "held out 4 that the active model has not seen" in out, out
    m = re.search(r"macro-F1 ([\d.]+) vs shipped default ([\d.]+) on the same 4 held-out rows", out)
    assert m is not None, out
    new_f1, old_f1 = float(m.group(1)), float(m.group(2))
    assert old_f1 < 1.0  # not scored on its own training rows
    with session_scope() as s:
        (version,) = s.exec(select(ModelVersion)).all()
    assert version.active == (new_f1 >= old_f1)
    trained = artifacts.read_trained_on(Path(version.path))
    assert trained is not None and len(trained) == version.card["training_data"]["rows"]
    rest = zip(seed_rows.texts[1:], seed_rows.labels[1:], strict=True)
    assert {artifacts.example_digest(t, lab) for t, lab in rest} <= trained


def test_retrain_use_case_leaves_the_commit_to_its_caller(env: Path) -> None:
    """What `hotline classifier retrain` (and next a supervisor's page) calls: the new version is listed in
    the caller's transaction, which the caller commits or not."""
    from cases.db import session_scope
    from classifiers.training.corrections import record_correction
    from classifiers.training.retrain import plan_retrain, retrain

    seed = small_corpus(env / "seed.csv", per_label=10, labels=4)
    with session_scope() as s:
        record_correction(s, "东门菜场门口一堆垃圾没人收", "06010", who="agent7")
        s.commit()
    with session_scope() as s:
        plan = plan_retrain(s, seed)
        result = retrain(s, plan, env / "models")
        assert s.get(ModelVersion, result.version) is not None
        s.rollback()
        assert s.get(ModelVersion, result.version) is None
    assert plan.corrections == 1 and plan.active_name == "shipped default"
    assert result.held_out == plan.held_out.size < 20 and not result.compared and not result.activated
    assert (result.path / "model.skops").exists()


def test_unseen_holdout_holds_out_only_new_examples() -> None:
    corpus = trainer.corpus_from_pairs(
        [(f"旧的第{i}条", "06010") for i in range(50)]
        + [(f"新的第{i}条", "09006") for i in range(20)]
        + [("旧的第0条", "99000")],  # relabelled
        "t",
    )
    seen = {artifacts.example_digest(f"旧的第{i}条", "06010") for i in range(50)}
    tr, te = trainer.unseen_holdout(corpus, seen, 0.2)
    assert te.size == 5
    assert all(t.startswith("新的") or lab == "99000" for t, lab in zip(te.texts, te.labels, strict=True))
    assert sum(t.startswith("旧的") and lab == "06010" for t, lab in zip(tr.texts, tr.labels, strict=True)) == 50
    assert tr.size + te.size == corpus.size
    everything = {artifacts.example_digest(t, lab) for t, lab in zip(corpus.texts, corpus.labels, strict=True)}
    assert trainer.unseen_holdout(corpus, seen | everything)[1].size == 0


def test_fast_path_matches_the_pipeline(tiny_model: Path) -> None:
    import numpy as np

    from classifiers.serving.fast import FastScorer

    pipe = store.load(tiny_model)
    with SEED.open(encoding="utf-8") as f:
        texts = [*[r["text"] for r in csv.DictReader(f)][:200], "", "   ", "完全无关的话"]
    # What the integer n-gram keys of the batch path must get right: whitespace runs, characters beyond
    # the BMP, one- and two-character texts, texts ending where the next begins.
    texts += ["垃圾 \t\n  没人收", "井盖😀丢了", "𠀀𠀁𠀂", "垃", "垃圾", "\n", "路灯不亮\n\n晚上很黑", "A5区3号楼 噪音"]
    texts += ["。".join(texts[:12]), "\n".join(texts[20:40])]  # long enough for one message's array path
    fast = FastScorer.from_pipeline(pipe)
    expected = pipe.predict_proba(texts)
    # Batches and single messages, through the compiled kernels.
    np.testing.assert_allclose(fast.predict_proba(texts), expected, atol=1e-6)
    np.testing.assert_allclose(np.vstack([fast.predict_proba([t]) for t in texts]), expected, atol=1e-6)
    np.testing.assert_allclose(np.vstack([fast.proba_one(t) for t in texts]), expected, atol=1e-6)

    # Blocks weighted inside the union (a recipe may weigh one block less) are weighted the same way.
    union = pipe.named_steps["features"]
    union.set_params(transformer_weights={union.transformer_list[0][0]: 0.5, union.transformer_list[1][0]: 1.7})
    weighted = FastScorer.from_pipeline(pipe)
    expected = pipe.predict_proba(texts)
    np.testing.assert_allclose(weighted.predict_proba(texts), expected, atol=1e-6)
    np.testing.assert_allclose(np.vstack([weighted.proba_one(t) for t in texts]), expected, atol=1e-6)


def test_segmenter_dictionary_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from classifiers import tokenizer

    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path))
    saved = tokenizer._jieba
    try:
        tokenizer._jieba = None
        built = tokenizer.segmenter().lcut("东门菜场那边有人摆摊的占道经营")
        cached = list((tmp_path / "cache").glob("jieba-*.marshal"))
        assert len(cached) == 1
        tokenizer._jieba = None
        assert tokenizer.segmenter().lcut("东门菜场那边有人摆摊的占道经营") == built
        assert "占道经营" in built and "摆摊的" in built
    finally:
        tokenizer._jieba = saved


def test_vocabularies_survive_the_array_storage(tiny_model: Path, tmp_path: Path) -> None:
    import numpy as np

    pipe = store.load(tiny_model)
    vocabs = [dict(vec.vocabulary_) for _, vec in pipe.named_steps["features"].transformer_list]
    artifacts.save(pipe, tmp_path, {"version": "x"})
    # Saving leaves the fitted object as it was.
    assert [vec.vocabulary_ for _, vec in pipe.named_steps["features"].transformer_list] == vocabs
    again = store.load(tmp_path)
    assert [vec.vocabulary_ for _, vec in again.named_steps["features"].transformer_list] == vocabs
    texts = ["路边有人摆摊 ", "  ", "井盖坏了"]
    np.testing.assert_array_equal(again.predict_proba(texts), pipe.predict_proba(texts))


def test_serving_tables_give_the_pipelines_probabilities(tiny_model: Path, tmp_path: Path) -> None:
    import numpy as np

    from classifiers.serving.fast import SERVING_FILE, FastScorer

    pipe = store.load(tiny_model)
    artifacts.save(pipe, tmp_path, {"version": "x"})
    assert (tmp_path / SERVING_FILE).exists() and store.read_card(tmp_path)["serving_sha256"]
    served = store.load_serving(tmp_path)
    assert isinstance(served, FastScorer)
    with SEED.open(encoding="utf-8") as f:
        texts = [*[r["text"] for r in csv.DictReader(f)][:100], "", "完全无关的话"]
    expected = pipe.predict_proba(texts)
    np.testing.assert_allclose(served.predict_proba(texts), expected, atol=1e-6)
    np.testing.assert_allclose(np.vstack([served.proba_one(t) for t in texts]), expected, atol=1e-6)
    assert served.classes == [str(c) for c in pipe.classes_]

    # Tables that are not the ones the card names are not served; the skops model is.
    with (tmp_path / SERVING_FILE).open("ab") as f:
        f.write(b"\0")
    assert store.load_serving(tmp_path) is None


def test_serving_file_cannot_name_an_arbitrary_function(tiny_model: Path, tmp_path: Path) -> None:
    import json as _json

    import numpy as np

    from classifiers.serving.fast import SERVING_FILE, FastScorer

    artifacts.save(store.load(tiny_model), tmp_path, {"version": "x"})
    with np.load(tmp_path / SERVING_FILE, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = _json.loads(str(arrays["meta"]))
    meta["parts"][0][0] = ["word", "os.system"]
    arrays["meta"] = np.asarray(_json.dumps(meta))
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="unreviewed function"):
        FastScorer.load(bad)


def test_serving_process_does_not_import_scikit_learn(tiny_model: Path, tmp_path: Path) -> None:
    """A web or worker process classifies from the serving tables: no scikit-learn or skops import."""
    import subprocess
    import sys

    artifacts.save(store.load(tiny_model), tmp_path, {"version": "x"})
    code = (
        "import sys; from pathlib import Path; from classifiers.serving.registry import load_scorer; "
        f"s = load_scorer(Path({str(tmp_path)!r})); print(s.proba_one('井盖坏了').shape); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'skops')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_cross_validation_on_training_data_only() -> None:
    from collections import Counter

    from classifiers.training.crossval import cross_validate

    corpus = trainer.read_corpus(SEED)
    common = {lab for lab, n in Counter(corpus.labels).items() if n >= 20}
    rows = [(t, lab) for t, lab in zip(corpus.texts, corpus.labels, strict=True) if lab in common][:300]
    result = cross_validate([t for t, _ in rows], [lab for _, lab in rows], c_grid=(1.0,), folds=3)
    assert result["best"] == 1.0 and len(result["C"]["1.0"]) == 3
    assert 0.0 < result["mean"] <= 1.0


def test_compiled_ngram_lookup_finds_what_the_string_lookup_finds(tiny_model: Path) -> None:
    """Character n-grams are looked up as packed integer keys in compiled code; per text they must find
    exactly the columns the string lookup finds, whatever the characters."""
    import random

    from classifiers.serving.fast import FastScorer

    fast = FastScorer.from_pipeline(store.load(tiny_model))
    char_parts = [p for p in fast.parts if p.grams is not None]
    assert char_parts, "the recipe's character blocks should take the integer-key path"
    rng = random.Random(7)
    pool = [*"垃圾桶井盖路灯占道经营东门菜市场噪音 \t\n0123AXZ区县😀𠀀", chr(0x10FFFF), "\ud800"]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(300)]
    for part in char_parts:
        for text in texts:
            assert sorted(part.grams.ids_in(text).tolist()) == sorted(part.ids_of(text)), repr(text)


def test_ngram_table_under_collisions() -> None:
    """A large random vocabulary (long probe chains in the open-addressing table), random texts, misses
    and hits: the compiled lookup against a dict of strings."""
    import random

    from classifiers.serving.fast import _char_ngrams, _GramTable
    from classifiers.tokenizer import normalise

    rng = random.Random(11)
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 60)] + ["😀", "a", " "]
    terms = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3))) for _ in range(6000)}
    ids = {t: i + 1 for i, t in enumerate(sorted(terms))}
    table = _GramTable.build(["char", "classifiers.tokenizer.normalise", 1, 3], ids)
    assert table is not None
    analyze = _char_ngrams(normalise, (1, 3))
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 50)))
        expected = sorted(filter(None, map(ids.get, analyze(text))))
        assert sorted(table.ids_in(text).tolist()) == expected, repr(text)


def test_top_k_is_a_stable_descending_sort_cut_short() -> None:
    import numpy as np

    from classifiers.serving import kernels

    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 5, 236):
        for _ in range(100):
            p = rng.random(n)
            if rng.random() < 0.3:
                p = np.round(p, 1)  # ties: the earlier category first
            assert kernels.top_k(p, 3).tolist() == np.argsort(-p, kind="stable")[:3].tolist()


def test_running_process_picks_up_an_activated_model_and_city_edits(
    env: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A web node or worker is not restarted when a supervisor activates a model, disables a category or
    edits the grid layer: it sees the change at its next check, and only rebuilds when something changed."""
    import time

    from cases.db import session_scope
    from cases.models import Grid
    from classifiers.serving.registry import get_classifier, reset_classifier
    from classifiers.serving.versions import register
    from hotline.settings import reset_settings

    text = "东门菜场那边有人占道经营摆摊卖菜"
    monkeypatch.setenv("HOTLINE_CLASSIFIER_REFRESH_SECONDS", "3600")
    reset_settings()
    reset_classifier()
    first = get_classifier()
    assert first.classify(ReportFacts(text=text)).category_code == "09006"
    disable_category("09006")
    assert get_classifier() is first  # not yet time to look

    monkeypatch.setenv("HOTLINE_CLASSIFIER_REFRESH_SECONDS", "0.01")
    reset_settings()
    time.sleep(0.02)
    second = get_classifier()
    assert second is not first
    assert all(code != "09006" for code, _ in second.classify(ReportFacts(text=text)).category_top3)
    time.sleep(0.02)
    assert get_classifier() is second  # looked again, nothing changed: no rebuild

    with session_scope() as s:
        grid = s.get(Grid, "421102001001002")
        assert grid is not None
        grid.places = [*grid.places, "红旗渠纪念广场"]
        s.add(grid)
        s.commit()
    time.sleep(0.02)
    located = get_classifier().classify(ReportFacts(text="红旗渠纪念广场的垃圾桶满了"))
    assert located.grid_code == "421102001001002" and located.grid_source == "text"

    with session_scope() as s:
        register(s, "tiny-v2", tiny_model, store.read_card(tiny_model), activate=True)
        s.commit()
    time.sleep(0.02)
    assert get_classifier().classify(ReportFacts(text=text)).model_version == "tiny-v2"


def test_a_refresh_in_progress_does_not_hold_up_other_threads(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cases import providers
    from classifiers.serving import registry
    from hotline.settings import reset_settings

    monkeypatch.setenv("HOTLINE_CLASSIFIER_REFRESH_SECONDS", "0.01")
    reset_settings()
    registry.reset_classifier()
    current = registry.get_classifier()
    live = providers.get(registry.LIVE)
    live._checked = 0.0  # due for a check
    with live._lock:  # as if another thread were checking or rebuilding right now
        assert registry.get_classifier() is current
