"""Build agent_ui/static/vendor/icons.svg, the console's icon sprite, from the lucide-static npm package.

    npm pack lucide-static@0.577.0 && tar xzf lucide-static-0.577.0.tgz
    python scripts/build_icon_sprite.py package/icons

Only the icons listed here go in; pages use them as <svg><use href="…/icons.svg#i-NAME"/></svg>.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ICONS = (
    "phone phone-incoming phone-call message-square globe smartphone cctv layout-grid code voicemail "
    "triangle-alert user users clock map-pin keyboard headset search refresh-cw log-out file-text check x "
    "undo-2 git-merge send image inbox shield list-checks circle-help star"
).split()
OUT = Path(__file__).resolve().parents[1] / "agent_ui" / "static" / "vendor" / "icons.svg"


def symbol(name: str, svg: str) -> str:
    body = re.search(r"<svg[^>]*>(.*)</svg>", svg, re.S)
    assert body, name
    inner = " ".join(body.group(1).split())
    return f'<symbol id="i-{name}" viewBox="0 0 24 24">{inner}</symbol>'


def main(icons_dir: str) -> None:
    folder = Path(icons_dir)
    symbols = [symbol(n, (folder / f"{n}.svg").read_text()) for n in ICONS]
    OUT.write_text(
        "<!-- lucide-static 0.577.0, ISC licence (lucide-LICENSE.txt); built by scripts/build_icon_sprite.py -->\n"
        '<svg xmlns="http://www.w3.org/2000/svg" fill="none" stroke="currentColor" stroke-width="2" '
        'stroke-linecap="round" stroke-linejoin="round">\n' + "\n".join(symbols) + "\n</svg>\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main(sys.argv[1])
