"""How numbers are spoken to a caller."""

from __future__ import annotations

_DIGITS = {"0": "零", "1": "幺", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六", "7": "七", "8": "八", "9": "九"}


def digits_zh(value: str) -> str:
    """'12319-20261125-000123' -> '幺 二 三 幺 九，二 零 二 六 …': one digit at a time, as operators read
    numbers (幺 for 1, so it is not mistaken for 七), a pause at each dash."""
    groups = [g for g in value.replace(" ", "").split("-") if g]
    return "，".join(" ".join(_DIGITS.get(ch, ch) for ch in g) for g in groups)


def case_number_from_keys(digits: str, prefix: str) -> str | None:
    """Keypad entry → case number. Accepts the full 17 digits after the prefix (YYYYMMDD + 6) or all of it
    with the prefix; returns None when it cannot be a case number."""
    d = "".join(ch for ch in digits if ch.isdigit())
    if d.startswith(prefix) and len(d) == len(prefix) + 14:
        d = d[len(prefix) :]
    if len(d) != 14:
        return None
    return f"{prefix}-{d[:8]}-{d[8:]}"


# Words a caller says while thinking, greeting or clearing the line. Only interjections are single
# characters here: a one-character content word (脏, 臭, 堵) must survive. Longer phrases first, so
# "就是说" goes before "就是".
FILLERS = tuple(
    sorted(
        {
            "嗯",
            "啊",
            "呃",
            "额",
            "哦",
            "噢",
            "喔",
            "唔",
            "哎",
            "诶",
            "欸",
            "唉",
            "喂",
            "哈",
            "呀",
            "吧",
            "嘛",
            "呢",
            "哟",
            "那个",
            "这个",
            "就是",
            "就是说",
            "然后",
            "那么",
            "反正",
            "怎么说",
            "怎么说呢",
            "我说",
            "你好",
            "您好",
            "是这样",
            "是这样的",
            "好的",
            "是的",
            "对的",
            "对对",
            "不知道",
            "我也",
            "我想",
            "我要",
            "反映",
            "一下",
            "一个",
            "有个",
            "问题",
            "那边",
            "这边",
            "听得到吗",
            "听到吗",
            "有人吗",
            "什么",
        },
        key=len,
        reverse=True,
    )
)
MIN_CONTENT_CHARS = 2


def content_chars(text: str) -> str:
    """What is left of an utterance once fillers, punctuation and spaces are taken out."""
    rest = "".join(ch for ch in text if ch.isalnum())  # drops 。，？ spaces and the like
    for filler in FILLERS:
        rest = rest.replace(filler, "")
    return rest


def has_content(text: str | None) -> bool:
    """False for silence, fillers only ("嗯那个就是", "喂喂", "嗯嗯啊") or a fragment too short to be a
    report — whatever a classifier would make of it."""
    return len(content_chars(text or "")) >= MIN_CONTENT_CHARS


def may_read_back(
    text: str | None,
    category_code: str | None,
    category_confidence: float,
    floor: float,
    speech_confidence: float | None = None,
) -> bool:
    """May the call say "您反映的是…问题，对吗？" for this classification?

    Not for an utterance without content, not without a category, not below the confidence floor. The
    recogniser's own confidence counts too when it gives one: a category read from words it doubts is a
    guess about a guess. Twilio sends 0 (or nothing) when it has no estimate, so 0 is "unknown"."""
    if not has_content(text) or category_code is None or category_confidence < floor:
        return False
    return not (speech_confidence is not None and 0 < speech_confidence < floor)
