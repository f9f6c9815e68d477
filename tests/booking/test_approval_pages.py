"""The approvals' pages, CLI and tick (issue 27): the inbox «Chờ duyệt» with its menu count, a decision from it,
the users page and `flask users create/update`, the reminders and their province escalation."""

from datetime import timedelta

import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.booking.conftest import book  # noqa: F401 (fixture reused here)
from tests.booking.test_approvals import _body, _mails, _token, net  # noqa: F401 (fixtures reused here)
from tests.conftest import csrf_token, page_text
from vmeeting.approvals import jobs as approval_jobs
from vmeeting.auth.models import User
from vmeeting.booking.approval_models import Approval
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db


def _pending(client, net, **extra):
    body = _body([net["own_hall"], net["other"]], next_monday(8))
    body.update(extra)
    answer = client.post("/api/v1/meetings", headers=_token(net["clerk"]), json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_the_inbox_lists_the_request_with_its_own_sites_and_approves_it(app, client, login, net):
    meeting = _pending(client, net)
    login(net["approver"])
    page = page_text(client.get("/approvals"))
    assert 'data-testid="approvals-count">1<' in page
    assert "Giao ban" in page and "UBND xã Minh Sơn" in page and "clerk-chi-lang" in page
    assert "Bàn kế hoạch phòng chống lũ" in page and "UBND huyện Chi Lăng" not in page
    token = csrf_token(client, "/approvals")
    path = f"/approvals/{meeting['id']}/{net['huu_lung'].id}"
    refused = client.post(path, data={"csrf_token": token, "decision": "refuse", "reason": " "},
                          follow_redirects=True)
    assert "Nhập lý do từ chối." in page_text(refused)
    assert db.session.get(Meeting, meeting["id"]).status == "pending"
    done = client.post(path, data={"csrf_token": token, "decision": "approve"}, follow_redirects=True)
    assert "Đã duyệt «Giao ban»." in page_text(done)
    assert 'data-testid="approvals-count"' not in page_text(done)
    db.session.rollback()
    assert db.session.get(Meeting, meeting["id"]).status == "scheduled"
    again = client.post(path, data={"csrf_token": token, "decision": "refuse", "reason": "Muộn"}, follow_redirects=True)
    assert "đã được xử lý" in page_text(again)


def test_the_inbox_is_refused_to_who_approves_nothing_and_the_booker_cannot_decide(client, login, net):
    meeting = _pending(client, net)
    login(net["clerk"])
    assert client.get("/approvals").status_code == 403
    assert 'data-testid="nav-approvals"' not in page_text(client.get("/"))
    token = csrf_token(client, "/meetings/new")
    answer = client.post(f"/approvals/{meeting['id']}/{net['huu_lung'].id}",
                         data={"csrf_token": token, "decision": "approve"})
    assert answer.status_code == 403
    assert db.session.get(Meeting, meeting["id"]).status == "pending"


def test_the_meeting_page_and_list_show_it_pending(client, login, net):
    meeting = _pending(client, net)
    login(net["clerk"])
    page = page_text(client.get(f"/meetings/{meeting['id']}"))
    assert 'data-testid="meeting-status">Chờ duyệt<' in page and "Huyện Hữu Lũng" in page
    listed = page_text(client.get("/meetings?status=pending"))
    assert "Giao ban" in listed and "Chờ duyệt" in listed


def test_the_users_page_sets_unit_and_approves(client, login, make_user, net):
    admin = make_user("admin")
    login(admin)
    user = net["clerk"]
    path = f"/users/{user.id}"
    form = {"csrf_token": csrf_token(client, path), "role": "scheduler", "full_name": "", "agency": "",
            "email": user.email, "is_enabled": "y", "home_unit_id": str(net["huu_lung"].id), "approves": "y"}
    assert client.post(path, data=form).status_code == 302
    db.session.rollback()
    user = db.session.get(User, user.id)
    assert user.approves is True and user.home_unit_id == net["huu_lung"].id
    assert 'data-testid="user-approves"' in page_text(client.get("/users"))


def test_flask_users_create_and_update_set_unit_and_approves(runner, net):
    unit = net["huu_lung"].id
    result = runner.invoke(args=["users", "create", "duyet-moi", "--role", "viewer", "--password", "mat-khau-dai-1",
                                 "--unit", str(unit), "--approves"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.username == "duyet-moi"))
    assert user.home_unit_id == unit and user.approves
    result = runner.invoke(args=["users", "update", "duyet-moi", "--no-unit", "--no-approves"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.username == "duyet-moi"))
    assert user.home_unit_id is None and not user.approves
    bad = runner.invoke(args=["users", "update", "duyet-moi", "--unit", "999999"])
    assert bad.exit_code == 1 and "home_unit_id" in bad.output


def test_unanswered_requests_remind_the_approvers_then_the_province_office_once(app, client, net):
    meeting = _pending(client, net)
    row = db.session.scalars(sa.select(Approval)).one()
    row.requested_at -= timedelta(days=30)
    db.session.commit()
    start = db.session.get(Meeting, meeting["id"]).starts_at
    unit_due, province_due = approval_jobs.reminder_times(start, 2)
    assert unit_due < province_due < start
    assert approval_jobs.queue_reminders(unit_due - timedelta(minutes=1)) == 0
    approval_jobs.queue_reminders(unit_due + timedelta(minutes=1))
    approval_jobs.queue_reminders(unit_due + timedelta(minutes=2))
    db.session.commit()
    assert [m.recipient for m in _mails("approval-remind:")] == ["duyet@huulung.example.vn"]
    approval_jobs.queue_reminders(province_due + timedelta(minutes=1))
    db.session.commit()
    assert sorted(m.recipient for m in _mails("approval-remind:")) == ["duyet@huulung.example.vn",
                                                                       "duyet@langson.example.vn"]


def test_a_request_made_after_its_reminder_time_is_not_reminded(app, client, net):
    _pending(client, net)
    row = db.session.scalars(sa.select(Approval)).one()
    unit_due, _province_due = approval_jobs.reminder_times(row.meeting.starts_at, 2)
    row.requested_at = unit_due + timedelta(minutes=5)
    db.session.commit()
    approval_jobs.queue_reminders(unit_due + timedelta(minutes=10))
    db.session.commit()
    assert _mails("approval-remind:") == []


def test_a_viewer_attached_to_a_unit_sees_its_meetings_only(client, login, make_user, net, book):
    book([net["other"]], next_monday(8), title="Họp riêng Hữu Lũng")
    book([net["own_hall"]], next_monday(10), title="Họp riêng Chi Lăng")
    viewer = make_user("viewer")
    viewer.home_unit_id = net["huu_lung"].id
    db.session.commit()
    login(viewer)
    listed = page_text(client.get("/meetings"))
    assert "Họp riêng Hữu Lũng" in listed and "Họp riêng Chi Lăng" not in listed
    start = next_monday(0).date().isoformat()
    events = client.get(f"/calendar/events?start={start}&end={next_monday(0).date() + timedelta(days=1)}")
    titles = {e["title"] for e in events.get_json() if "title" in e}
    assert "Họp riêng Hữu Lũng" in titles and "Họp riêng Chi Lăng" not in titles
