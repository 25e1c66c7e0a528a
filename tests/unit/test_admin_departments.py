"""The admin's department pages (contacts with their history, the webhook and its secret shown once, failed
notices with retry) and the supervisors' 督办 list."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import col, select

from cases.db import session_scope
from cases.jobnames import JobName
from hotline.queues import SyncQueue
from routing.escalation_sweep import escalate
from routing.models import DepartmentContact, DepartmentNotice, DepartmentWebhook
from tests.console_helpers import DEPARTMENT, OTHER_DEPARTMENT, login, make_user
from tests.escalation_fixtures import at, case_row, case_with_clock

PHONE = "13900139001"
OTHER_PHONE = "13900139002"


def _admin(client: TestClient) -> str:
    make_user("root", "admin")
    return login(client, "root")


def _contacts() -> list[DepartmentContact]:
    with session_scope() as s:
        return list(s.exec(select(DepartmentContact).order_by(col(DepartmentContact.id))))


def test_admin_adds_changes_and_removes_contacts_with_history(client: TestClient) -> None:
    csrf = _admin(client)
    listing = client.get("/admin/departments")
    assert listing.status_code == 200 and "区环境卫生管理处" in listing.text and "未设置" in listing.text
    assert 'href="/admin/departments"' in listing.text and 'href="/admin/notices"' in listing.text  # nav lines

    url = f"/admin/departments/{DEPARTMENT}/contacts"
    bad = client.post(url, data={"csrf_token": csrf, "name": "值班员小王", "phone": "0713-8000101", "role": "duty"})
    assert bad.status_code == 422 and "能接收短信的手机号码" in bad.text and 'value="值班员小王"' in bad.text
    added = client.post(
        url, data={"csrf_token": csrf, "name": "值班员小王", "phone": PHONE, "role": "duty"}, follow_redirects=False
    )
    assert added.status_code == 303 and added.headers["location"].endswith("?done=added")
    page = client.get(added.headers["location"]).text
    assert "联系人已添加" in page and "139****9001" in page and PHONE not in page
    (first,) = _contacts()
    assert first.phone == "+86" + PHONE and first.role == "duty" and first.updated_by == "admin:root"

    changed = client.post(
        url,
        data={
            "csrf_token": csrf,
            "name": "值班员小赵",
            "phone": OTHER_PHONE,
            "role": "duty",
            "replaces": str(first.id),
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    old, new = _contacts()
    assert not old.active and new.active and new.name == "值班员小赵" and new.phone == "+86" + OTHER_PHONE
    stale = client.post(
        url, data={"csrf_token": csrf, "name": "x", "phone": PHONE, "role": "duty", "replaces": str(old.id)}
    )
    assert stale.status_code == 422 and "已被修改" in stale.text

    removed = client.post(f"/admin/departments/{DEPARTMENT}/contacts/{new.id}/remove", data={"csrf_token": csrf})
    assert removed.status_code == 200 and "联系人已删除" in removed.text  # followed the redirect
    history = re.search(r'<table class="grid history" id="contact-history">(.*?)</table>', removed.text, re.S)
    assert history is not None
    rows = re.findall(r"<tr>(.*?)</tr>", history.group(1).split("</thead>")[1], re.S)
    assert len(rows) == 3 and "删除值班联系人 值班员小赵" in rows[0] and "admin:root" in rows[0]
    assert "设置值班联系人 值班员小王（139****9001）" in rows[2] and "已替换或删除" in rows[2]
    assert all(c.active is False for c in _contacts())
    assert "还没有联系人" in removed.text
    assert client.get("/admin/departments/nowhere").status_code == 404


def test_the_webhook_secret_is_shown_once_and_can_be_regenerated(client: TestClient) -> None:
    csrf = _admin(client)
    url = f"/admin/departments/{DEPARTMENT}/webhook"
    bad = client.post(url, data={"csrf_token": csrf, "url": "ftp://dept.example/hook", "active": "on"})
    assert bad.status_code == 422 and "http:// 或 https://" in bad.text and "ftp://dept.example/hook" in bad.text
    made = client.post(url, data={"csrf_token": csrf, "url": "https://dept.example.gov.cn/hook", "active": "on"})
    assert made.status_code == 200 and "只显示这一次" in made.text
    with session_scope() as s:
        hook = s.get(DepartmentWebhook, DEPARTMENT)
        assert hook is not None and hook.active and hook.updated_by == "admin:root"
        secret = hook.secret
    assert secret in made.text and secret.startswith("whsec_")
    later = client.get(f"/admin/departments/{DEPARTMENT}").text
    assert secret not in later and secret[-4:] in later  # only its last four characters, ever again

    turned_off = client.post(
        url, data={"csrf_token": csrf, "url": "https://dept.example.gov.cn/v2"}, follow_redirects=False
    )
    assert turned_off.status_code == 303  # the secret is kept: nothing to show
    regenerated = client.post(f"{url}/secret", data={"csrf_token": csrf})
    with session_scope() as s:
        hook = s.get(DepartmentWebhook, DEPARTMENT)
        assert hook is not None and not hook.active and hook.url.endswith("/v2")
        assert hook.secret != secret and hook.secret in regenerated.text
    none_yet = client.post(f"/admin/departments/{OTHER_DEPARTMENT}/webhook/secret", data={"csrf_token": csrf})
    assert none_yet.status_code == 422 and "还没有配置接口推送" in none_yet.text


def test_failed_notices_are_listed_and_retried(client: TestClient, sync_queue: SyncQueue) -> None:
    csrf = _admin(client)
    with session_scope() as s:
        case_id, _ = case_with_clock(s, at("2026-11-02", "09:00"))
        number = case_row(s, case_id).number
        contact = DepartmentContact(department_code=DEPARTMENT, name="值班员小王", phone="+86" + PHONE)
        s.add(contact)
        s.flush()
        notice = DepartmentNotice(
            key="step:1:sms:1", department_code=DEPARTMENT, case_id=case_id, channel="sms", target=str(contact.id),
            event="urge", payload={"text": "【催办】"}, state="failed", attempts=4, last_error="短信发送失败：HTTP 500",
        )  # fmt: skip
        s.add(notice)
        s.add(
            DepartmentNotice(
                key="ok", department_code=DEPARTMENT, channel="sms", target="1", event="urge", state="sent"
            )
        )
        s.flush()
        notice_id = notice.id
    page = client.get("/admin/notices").text
    assert "短信发送失败：HTTP 500" in page and f'href="/console/cases/{number}"' in page and "催办" in page
    assert page.count("重试</button>") == 1  # the sent one is not listed
    done = client.post(f"/admin/notices/{notice_id}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/notices?done=retried"
    assert (JobName.SEND_DEPARTMENT_NOTICE, (notice_id,)) in sync_queue.ran
    with session_scope() as s:
        row = s.get(DepartmentNotice, notice_id)
        assert row is not None and row.attempts == 1  # tried again at once (and Twilio is not configured here)
        assert row.payload["retried"][0]["by"] == "admin:root"
    assert client.post("/admin/notices/999/retry", data={"csrf_token": csrf}).status_code == 409


def test_supervisors_see_cards_and_overdue_cases(client: TestClient) -> None:
    with session_scope() as s:
        red, _ = case_with_clock(s, at("2026-11-02", "09:00"), title="红牌的那一件")
        yellow, _ = case_with_clock(s, at("2026-11-03", "09:00"), title="黄牌的那一件")
        late, _ = case_with_clock(s, at("2026-11-04", "11:00"), title="刚超时的那一件")
        calm, _ = case_with_clock(s, at("2026-11-04", "13:00"), title="还来得及的那一件")
        numbers = {
            k: case_row(s, v).number for k, v in {"red": red, "yellow": yellow, "late": late, "calm": calm}.items()
        }
    escalate(at("2026-11-04", "14:30"))  # Wednesday: red +2 working days, yellow +4 h, late only 催办
    make_user("boss", "supervisor")
    login(client, "boss")
    page = client.get("/supervisor/supervision").text
    assert 'href="/supervisor/supervision"' in page  # the nav line
    order = [page.index(numbers[k]) for k in ("red", "yellow", "late")]
    assert order == sorted(order) and numbers["calm"] not in page
    assert f'href="/console/cases/{numbers["red"]}"' in page and "红牌" in page and "黄牌" in page
    only_yellow = client.get("/supervisor/supervision?card=yellow").text
    assert numbers["yellow"] in only_yellow and numbers["red"] not in only_yellow
    assert numbers["late"] in client.get("/supervisor/supervision?card=overdue").text
    assert client.get("/supervisor/supervision?card=bogus").status_code == 200
    make_user("li", "agent")
    client.cookies.clear()
    login(client, "li")
    assert client.get("/supervisor/supervision").status_code == 403
