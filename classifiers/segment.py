"""jieba's accurate-mode segmentation, same words, fewer Python steps.

`jieba.Tokenizer.cut` walks each run of Chinese text twice (`get_DAG` builds every dictionary word that
starts at each character, then `calc` scores the routes and takes `log` of every candidate's frequency
again on every call) and hands words through three nested generators. Segmentation is most of the
classifier's time, so this does the same dynamic programme in one backward pass over the same prefix
dictionary, appending to one list. The result is word-for-word what the
tokenizer's own `lcut(text, HMM=False)` returns: `tests/unit/test_segment.py` compares them on the seed
corpus, the Teddy Cup texts and random strings. jieba's HMM for unknown words is not used: the character
n-grams already cover what it guesses (see `classifiers.tokenizer.cutter`)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import jieba

# jieba's own block patterns (jieba/__init__.py), copied because they are module privates there.
_HAN = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
_SKIP = re.compile("(\r\n|\\s)", re.U)
_ENG = re.compile("[a-zA-Z0-9]", re.U)


def compile_cut(t: jieba.Tokenizer) -> Callable[[str], list[str]]:
    """A function text → words equal to `t.lcut(text, HMM=False)`, reading `t`'s dictionary as it is now
    (words added to `t` later are not seen: build it after the dictionary is complete)."""
    t.check_initialized()
    freq: dict[str, int] = t.FREQ
    logtotal = math.log(t.total)
    unknown = -logtotal  # jieba: log(FREQ.get(w) or 1) - logtotal for a lone character without a word
    log = math.log
    is_eng = _ENG.match

    def route(s: str) -> list[int]:
        """end[k]: where the best word starting at k ends (exclusive)."""
        n = len(s)
        score = [0.0] * (n + 1)
        end = [0] * (n + 1)
        get = freq.get
        for k in range(n - 1, -1, -1):
            best = -math.inf
            best_x = -1
            i = k + 1
            frag = s[k]
            # Walk the prefixes of s[k:] while the dictionary knows them (as jieba's get_DAG does); a
            # prefix that is not a word has frequency 0.
            while (f := get(frag)) is not None:
                if f:
                    # `log(f) - logtotal` first, as jieba computes it, so the sums and ties are the same.
                    v = (log(f) - logtotal) + score[i]
                    # max over (score, end): a tie goes to the longer word, as in jieba's max of tuples.
                    if v >= best:
                        best, best_x = v, i
                if i >= n:
                    break
                i += 1
                frag = s[k:i]
            if best_x < 0:
                best, best_x = unknown + score[k + 1], k + 1
            score[k] = best
            end[k] = best_x
        return end

    def block(s: str, out: list[str]) -> None:
        end = route(s)
        n = len(s)
        x = 0
        buf = ""
        while x < n:
            y = end[x]
            w = s[x:y]
            # Latin letters and digits cut one by one are joined into one word, as jieba's
            # `__cut_DAG_NO_HMM` does.
            if y - x == 1 and is_eng(w):
                buf += w
            else:
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(w)
            x = y
        if buf:
            out.append(buf)

    han_match = _HAN.match
    skip_match = _SKIP.match

    def cut(text: str) -> list[str]:
        out: list[str] = []
        for blk in _HAN.split(text):
            if not blk:
                continue
            if han_match(blk):
                block(blk, out)
            else:
                for x in _SKIP.split(blk):
                    if skip_match(x):
                        out.append(x)
                    else:
                        out.extend(x)
        return out

    return cut
