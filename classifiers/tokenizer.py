"""Word segmentation for the category model: jieba with the city-management user dictionary.

`tokenize` is a module-level function so a fitted pipeline stores a reference to it (skops trusts it by
name) instead of a closure it could not serialise."""

from __future__ import annotations

import csv
import hashlib
import logging
import marshal
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import jieba

from classifiers.segment import compile_cut

DATA = Path(__file__).parent / "data"
USERDICT = DATA / "userdict.txt"
SYNONYMS = DATA / "synonyms.csv"

_lock = threading.Lock()
_jieba: jieba.Tokenizer | None = None
_cut: Callable[[str], list[str]] | None = None
_synonyms: dict[str, str] = {}


def load_synonyms(path: Path = SYNONYMS) -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as f:
        return {r["variant"].strip(): r["canonical"].strip() for r in csv.DictReader(f) if r.get("variant")}


def _cache_path() -> Path:
    """Where the merged prefix dictionary (jieba's own + ours) is kept: the var dir, named by what built it,
    so an edited user dictionary or a new jieba never reads a stale file."""
    h = hashlib.sha256(jieba.__version__.encode())
    for path in (USERDICT, SYNONYMS):
        h.update(path.read_bytes() if path.exists() else b"-")
    try:
        from cases.settings import kernel_settings

        base = Path(kernel_settings().var_dir)
    except Exception:  # settings are optional here; the temp dir always works
        base = Path(tempfile.gettempdir())
    return base / "cache" / f"jieba-{h.hexdigest()[:16]}.marshal"


def _build(t: jieba.Tokenizer) -> None:
    t.initialize()
    if USERDICT.exists():
        t.load_userdict(str(USERDICT))
    # Variants must stay whole words too, or 下水道盖子 is cut before the table sees it.
    for variant in _synonyms:
        t.add_word(variant, 1000)


def _save_cache(t: jieba.Tokenizer, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            marshal.dump((t.FREQ, t.total), f)
        os.replace(tmp, path)
    except OSError:  # a read-only var dir: next start rebuilds, slower but correct
        pass


def segmenter() -> jieba.Tokenizer:
    """The jieba instance with the domain dictionary, built once per process.

    A private `jieba.Tokenizer` rather than the global one: other packages may segment with the plain
    dictionary, and adding words to the global instance would change their results. The merged dictionary
    is cached (marshal, as jieba caches its own) so a start reads one file instead of jieba's cache plus
    our dictionary's ~500 `add_word` calls."""
    global _jieba, _synonyms
    if _jieba is None:
        with _lock:
            if _jieba is None:
                jieba.setLogLevel(logging.WARNING)
                t = jieba.Tokenizer()
                _synonyms = load_synonyms()
                cache = _cache_path()
                try:
                    # loads(bytes), not load(file): marshal reading a file object is ~3x slower.
                    t.FREQ, t.total = marshal.loads(cache.read_bytes())
                    t.initialized = True
                except (OSError, EOFError, ValueError, TypeError):
                    _build(t)
                    _save_cache(t, cache)
                _jieba = t
    return _jieba


_DIGITS = re.compile(r"\d+")
# Anonymised place codes in public complaint boards ("A5区", "M2县") say nothing about the matter.
_CODED_PLACE = re.compile(r"[A-Z]\d*(?=[市县区镇])")


def normalise(text: str) -> str:
    """What the character n-grams see: numbers (house numbers, dates, phone numbers) folded to one
    symbol so they stop being thousands of rare features."""
    return _DIGITS.sub("0", _CODED_PLACE.sub("X", text))


# Messages without a subject line (most of them; all phoned or texted ones) use their opening instead.
SUBJECT_CHARS = 30


def subject(text: str) -> str:
    """What the model's subject block sees: the first line of a "subject\nbody" message, else the first
    `SUBJECT_CHARS` characters, normalised like the whole text."""
    head, newline, _ = text.partition("\n")
    return normalise(head if newline else text[:SUBJECT_CHARS])


def cutter() -> Callable[[str], list[str]]:
    """`segmenter().lcut` as the model uses it, through the faster equivalent in `classifiers.segment`."""
    global _cut
    if _cut is None:
        t = segmenter()
        with _lock:
            if _cut is None:
                # Without jieba's HMM (`compile_cut` has none): its guesses at unknown words are what the
                # character n-grams already cover, and segmentation is faster without it (Teddy Cup 5-fold
                # CV macro-F1 0.9067 vs 0.9078, inside the fold-to-fold noise of ±0.007).
                _cut = compile_cut(t)
    return _cut


def tokenize(text: str) -> list[str]:
    """Words of `text`; a resident's variant (摆摊的) also yields the canonical term (流动摊贩), so both
    registers share one feature without a rule per category."""
    words = [w for w in cutter()(text) if not w.isspace()]
    if _synonyms:
        words.extend(_synonyms[w] for w in words if w in _synonyms)
    return words
