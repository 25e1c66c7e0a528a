"""The resident web form (H5) through the whole app: submit → case, track, rate; CSRF, honeypot, limits."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import select

from cases.db import session_scope
from cases.jobnames import JobName
from cases.lifecycle import Action
from cases.models import Case, CaseEvent, Report
from cases.service import apply_action, get_case_by_number
from cases.settings import kernel_settings
from intake.models import Attachment
from intake.ratelimit import reset_limiter
from intake.tracking import issue_token

GRID = "421102001001001"


@pytest.fixture
def web(client: TestClient) -> Iterator[TestClient]:
    reset_limiter()
    yield client
    reset_limiter()


def token(c: TestClient, path: str = "/h5/") -> str:
    r = c.get(path)
    assert r.status_code == 200
    m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert m
    return m.group(1)


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (800, 600), (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 24.0, 10.0), 3: "E", 4: (114.0, 50.0, 30.0)}  # GPS IFD
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def submit(c: TestClient, files: list[Any] | None = None, **fields: str) -> Any:
    data = {
        "csrf_token": token(c),
        "description": "东门菜市场门口暴露垃圾两天没人清理",
        "address": "东门菜市场北门",
        "phone": "13800138000",
        **fields,
    }
    return c.post("/h5/report", data=data, files=files or [], follow_redirects=False)


def test_form_renders_in_chinese_with_common_categories(web: TestClient) -> None:
    r = web.get("/h5/")
    assert r.status_code == 200 and "我要反映" in r.text
    assert "暴露垃圾" in r.text and "赤壁街道 · 东门社区" in r.text
    assert 'name="website"' in r.text  # honeypot
    assert "h5csrf" in r.headers["set-cookie"]


def test_submit_with_photo_makes_case_and_strips_exif(web: TestClient) -> None:
    r = submit(web, files=[("photos", ("p.jpg", jpeg_with_gps(), "image/jpeg"))], category_code="06010")
    assert r.status_code == 303, r.text
    page = web.get(r.headers["location"])
    number = re.search(r'id="case-number">([^<]+)<', page.text)
    assert number, page.text
    with session_scope() as s:
        case = get_case_by_number(s, number.group(1))
        assert case is not None and case.grid_code == GRID and case.category_code == "06010"
        report = s.exec(select(Report).where(Report.case_id == case.id)).one()
        assert report.channel == "web" and report.phone == "+8613800138000"
        att = s.get(Attachment, report.attachments[0])
        assert att is not None and att.content_type == "image/jpeg"
    img = web.get(f"/attachments/{att.id}")
    assert img.headers["content-type"] == "image/jpeg"
    assert img.headers["x-content-type-options"] == "nosniff"
    stored = Image.open(io.BytesIO(img.content))
    assert not stored.getexif() and "exif" not in stored.info
    thumb = Image.open(io.BytesIO(web.get(f"/attachments/{att.id}/thumb").content))
    assert max(thumb.size) <= 320
    assert web.get("/attachments/att_nope").status_code == 404


def test_errors_keep_what_was_typed(web: TestClient) -> None:
    r = submit(web, description="", address="东门路口", phone="12")
    assert r.status_code == 422
    assert "请描述您要反映的问题" in r.text and "东门路口" in r.text
    r = submit(web, phone="12")
    assert r.status_code == 422 and "电话号码格式不正确" in r.text and "东门菜市场门口暴露垃圾" in r.text
    r = submit(web, address="")
    assert r.status_code == 422 and "问题的位置" in r.text
    r = submit(web, files=[("photos", ("x.jpg", b"not an image", "image/jpeg"))])
    assert r.status_code == 422 and "无法识别这张图片" in r.text and "东门菜市场北门" in r.text
    with session_scope() as s:
        assert s.exec(select(Report)).all() == [] and s.exec(select(Attachment)).all() == []


def test_too_many_photos(web: TestClient) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "PNG")
    files = [("photos", (f"{i}.png", buf.getvalue(), "image/png")) for i in range(10)]
    r = submit(web, files=files)
    assert r.status_code == 422 and "最多上传 9 张照片" in r.text


def test_csrf_and_honeypot(web: TestClient) -> None:
    r = web.post("/h5/report", data={"description": "井盖丢了", "address": "东门路"}, follow_redirects=False)
    assert r.status_code == 400 and "页面已过期" in r.text and "井盖丢了" in r.text
    r = web.post("/h5/report", data={"csrf_token": "1.abc", "description": "x", "address": "y"})
    assert r.status_code == 400
    other = TestClient(web.app)  # a different browser: its own cookie, our token is useless to it
    tok = token(web)
    r = other.post("/h5/report", data={"csrf_token": tok, "description": "x", "address": "y"})
    assert r.status_code == 400
    r = submit(web, website="http://spam.example")
    assert r.status_code == 400
    with session_scope() as s:
        assert s.exec(select(Report)).all() == []


def test_rate_limits_per_ip_and_phone(web: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.settings import reset_settings

    monkeypatch.setenv("HOTLINE_WEB_RATE_PHONE_PER_DAY", "2")
    monkeypatch.setenv("HOTLINE_WEB_RATE_IP_PER_HOUR", "3")
    reset_settings()
    assert submit(web).status_code == 303
    assert submit(web).status_code == 303
    r = submit(web)
    assert r.status_code == 429 and "今天提交次数已达上限" in r.text
    assert submit(web, phone="13900139000").status_code == 429  # 4th from this IP this hour
    r = submit(web, phone="")
    assert r.status_code == 429 and "提交太频繁" in r.text
    with session_scope() as s:
        assert len(s.exec(select(Report)).all()) == 2


def test_community_choice_and_anonymous(web: TestClient) -> None:
    r = submit(web, address="", phone="", community_code="421102001002", description="青砖湖路灯不亮了")
    assert r.status_code == 303
    with session_scope() as s:
        report = s.exec(select(Report)).one()
        assert report.phone is None and report.hints["community_code"] == "421102001002"
        assert report.address and report.address.startswith("赤壁街道青砖湖社区")


def test_category_search_fragment(web: TestClient) -> None:
    r = web.get("/h5/categories", params={"q": "井盖"})
    assert r.status_code == 200 and "污水井盖异常" in r.text and 'name="category_code"' in r.text
    assert "没有找到" in web.get("/h5/categories", params={"q": "火星"}).text


def _case_number(web: TestClient, **fields: str) -> str:
    r = submit(web, **fields)
    assert r.status_code == 303, r.text
    m = re.search(r'id="case-number">([^<]+)<', web.get(r.headers["location"]).text)
    assert m
    return m.group(1)


def track(web: TestClient, number: str, phone: str) -> Any:
    return web.post("/h5/track", data={"csrf_token": token(web, "/h5/track"), "number": number, "phone": phone})


def test_track_shows_plain_timeline_and_needs_the_phone(web: TestClient) -> None:
    number = _case_number(web)
    r = track(web, number, "138 0013 8000")
    assert r.status_code == 200
    assert number in r.text and "您的反映已收到" in r.text and "已派遣至" in r.text and "已派遣" in r.text
    assert "classify" not in r.text and "rate-form" not in r.text  # not handled yet: no rating
    wrong = track(web, number, "13800128000")
    missing = track(web, "12319-20990101-000001", "13800138000")
    assert wrong.status_code == missing.status_code == 404
    assert "8000" not in wrong.text and number not in wrong.text.replace(f'value="{number}"', "")
    assert track(web, number, "8000").status_code == 404  # the last four digits prove nothing now


def _move(number: str, *actions: Action) -> None:
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None
        for a in actions:
            if a == Action.DISPATCH:  # a re-dispatch routes again, with fresh deadlines
                from routing.review import dispatch_case

                dispatch_case(s, case, "agent:test")
            else:
                apply_action(s, case, a, "dept:test")
        s.commit()


def _track_token(web: TestClient, number: str) -> str:
    m = re.search(r'name="t" value="([^"]+)"', track(web, number, "13800138000").text)
    assert m, "no rate form"
    return m.group(1)


def _rate(web: TestClient, t: str, rating: str, comment: str = "") -> Any:
    return web.post(
        "/h5/track/rate", data={"csrf_token": token(web, "/h5/track"), "t": t, "rating": rating, "comment": comment}
    )


def test_unsatisfied_rating_reopens_and_satisfied_is_surveyed(web: TestClient) -> None:
    number = _case_number(web)
    _move(number, Action.ACCEPT, Action.HANDLE, Action.VERIFY)
    page = track(web, number, "13800138000")
    assert "rate-form" in page.text and "基本满意" in page.text
    t = _track_token(web, number)
    r = _rate(web, t, "unsatisfied", "垃圾还在")
    assert r.status_code == 200 and "案件已重新办理" in r.text
    with session_scope() as s:
        case = get_case_by_number(s, number)
        # reopened, and (the job after the commit) back with its department one grade up
        assert case is not None and (case.status, case.reopen_count) == ("dispatched", 1)
        ev = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "reopen")).one()
        assert ev.actor == "resident:web" and ev.data["rating"] == "不满意" and ev.data["comment"] == "垃圾还在"
    assert _rate(web, t, "satisfied").status_code == 409  # rated already for this round
    _move(number, Action.HANDLE, Action.VERIFY)
    r = _rate(web, t, "satisfied")
    assert r.status_code == 200 and "谢谢您的评价" in r.text
    with session_scope() as s:
        case = get_case_by_number(s, number)
        assert case is not None and case.status == "surveyed"
    assert "您已评价" in track(web, number, "13800138000").text


def test_rating_refused_before_handling(web: TestClient) -> None:
    number = _case_number(web)
    m = re.search(r'name="t" value="([^"]+)"', track(web, number, "13800138000").text)
    assert m is None  # no rate form before handling
    with session_scope() as s:
        report_id = s.exec(select(Report)).one().id
        assert report_id is not None
        t = issue_token(s, report_id)
        s.commit()
    assert _rate(web, t, "satisfied").status_code == 409
    with session_scope() as s:
        case = s.exec(select(Case)).one()
        assert case.status == "dispatched"


def test_submitted_page_waits_for_the_case(web: TestClient) -> None:
    """With the pipeline not yet run, the page says so and polls; the fragment shows the number later."""
    from cases import jobs
    from routing.pipeline import process_report

    class Later:
        def __init__(self) -> None:
            self.pending: list[tuple[str, tuple[Any, ...]]] = []

        def enqueue(self, func_path: str, *args: Any) -> None:
            self.pending.append((func_path, args))

    later = Later()
    jobs.set_queue(later)
    r = submit(web)
    page = web.get(r.headers["location"])
    assert "正在生成案件编号" in page.text and "data-poll" in page.text
    status_url = re.search(r'data-poll="([^"]+)"', page.text)
    assert status_url
    assert "case-number" not in web.get(status_url.group(1)).text
    ((func, args),) = later.pending
    assert func == JobName.PROCESS_REPORT
    number = process_report(*args)
    fragment = web.get(status_url.group(1)).text
    assert f'id="case-number">{number}<' in fragment and "data-poll" not in fragment
    assert web.get("/h5/submitted/1.forged").status_code == 404


def test_one_bad_photo_stores_none_of_them(web: TestClient) -> None:
    from pathlib import Path

    files = [("photos", ("ok.jpg", jpeg_with_gps(), "image/jpeg")), ("photos", ("bad.jpg", b"nope", "image/jpeg"))]
    r = submit(web, files=files)
    assert r.status_code == 422 and "bad.jpg" in r.text and "照片需要重新选择" in r.text
    assert not (Path(kernel_settings().var_dir) / "attachments").exists()
