"""Cases and photos for tests of the grid worker's pages and use cases (unit and browser)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from cases.db import session_scope
from cases.lifecycle import Action
from cases.models import Report
from cases.service import apply_action, open_case
from routing.review import dispatch_case
from tests.console_helpers import GRID

FAR_GRID = "421102005002001"  # 四合社区第1网格, far from GRID
PHOTO_ATT = "att_" + "a" * 32  # an attachment id of the department's 反馈 photo (its bytes are not needed)


def photo(colour: tuple[int, int, int] = (60, 140, 90), size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG as a phone's camera would send it."""
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle((0, h * 2 // 3, w, h), fill=tuple(c // 2 for c in colour))  # a street, a kerb, a bin
    draw.rectangle((w // 3, h // 3, w // 2, h * 2 // 3 + 20), fill=(40, 90, 60))
    draw.ellipse((w * 3 // 5, h // 2, w * 4 // 5, h * 3 // 4), fill=(230, 230, 220))
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


def handled_case(
    *,
    grid: str = GRID,
    category: str = "06010",
    title: str = "东门菜市场门口垃圾满溢",
    place: str = "东门菜市场北门",
    report_photos: tuple[str, ...] = (),
    handled_photos: tuple[str, ...] = (PHOTO_ATT,),
) -> str:
    """A case the department has marked handled (反馈, with a note and photos): a 核实 task. Its number."""
    with session_scope() as s:
        case = open_case(s, actor="system:test", title=title, category_code=category, grid_code=grid)
        report = Report(channel="web", external_id=f"t-{case.number}", text=title, address=place, case_id=case.id)
        report.attachments = list(report_photos)
        s.add(report)
        apply_action(s, case, Action.REGISTER, "system:test")
        dispatch_case(s, case, "system:test")
        apply_action(s, case, Action.ACCEPT, "dept:wang")
        note = "已清运并冲洗地面"
        apply_action(s, case, Action.HANDLE, "dept:wang", reason=note, data={"photos": list(handled_photos)})
        return case.number


def stored_photo(colour: tuple[int, int, int]) -> str:
    """A photo stored with intake's attachment storage (the settings' database and var dir); its id."""
    from intake.storage import store_image

    with session_scope() as s:
        return store_image(s, photo(colour)).id
