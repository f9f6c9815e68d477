"""Scopes and approvals (issue 27): a booking across scopes is pending, holds its sites, mails no invite until
every owning unit approves; a refusal takes its sites off; 50 racing approvers give one decision."""

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.invites.conftest import smtp  # noqa: F401 (fixture: the invites' real SMTP server)
from vmeeting.approvals import jobs as approval_jobs
from vmeeting.auth import service as auth
from vmeeting.booking import approvals
from vmeeting.booking.approval_models import Approval
from vmeeting.booking.models import Meeting, Reservation
from vmeeting.core.extensions import db
from vmeeting.outbox.delivery import deliver_outbox
from vmeeting.outbox.models import OutboxMail


@pytest.fixture
def net(make_unit, make_endpoint, make_user, province, district):
    """Two districts, a commune site in each, the province's hall; a clerk of Chi Lăng; approvers of Hữu Lũng
    and of the province office; each site with a contact."""
    huu_lung = make_unit("Huyện Hữu Lũng", "huyện", parent=province, code="186")
    chi_lang_commune = make_unit("Xã Quang Lang", "xã", parent=district)
    huu_lung_commune = make_unit("Xã Minh Sơn", "xã", parent=huu_lung)
    own = make_endpoint("UBND xã Quang Lang", unit=chi_lang_commune, contact_emails=["quanglang@langson.gov.vn"])
    own_hall = make_endpoint("UBND huyện Chi Lăng", unit=district, contact_emails=["chilang@langson.gov.vn"])
    other = make_endpoint("UBND xã Minh Sơn", unit=huu_lung_commune, contact_emails=["minhson@langson.gov.vn"])
    hall = make_endpoint("UBND tỉnh Lạng Sơn", unit=province, contact_emails=["vanphong@langson.gov.vn"])
    clerk = make_user("scheduler", username="clerk-chi-lang", email="clerk@chilang.example.vn")
    clerk.home_unit_id = district.id
    approver = make_user("viewer", username="duyet-huu-lung", email="duyet@huulung.example.vn")
    approver.home_unit_id, approver.approves = huu_lung.id, True
    office = make_user("scheduler", username="duyet-tinh", email="duyet@langson.example.vn")
    office.home_unit_id, office.approves = province.id, True
    db.session.commit()
    return {"own": own, "own_hall": own_hall, "other": other, "hall": hall, "clerk": clerk, "approver": approver,
            "office": office, "huu_lung": huu_lung, "province": province, "district": district}


def _token(user):
    token = auth.issue_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _body(sites, start, chair=None, title="Giao ban"):
    return {"title": title, "description": "Bàn kế hoạch phòng chống lũ", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(), "chair_endpoint_id": (chair or sites[0]).id,
            "endpoint_ids": [s.id for s in sites]}


def _mails(kind=None):
    rows = db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).all()
    if kind == "invite":
        return [r for r in rows if r.method is not None]
    if kind is not None:
        return [r for r in rows if r.key.startswith(kind)]
    return rows


def test_a_booking_within_the_clerks_scope_is_scheduled(client, net):
    response = client.post("/api/v1/meetings", headers=_token(net["clerk"]),
                           json=_body([net["own_hall"], net["own"]], next_monday(8)))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "scheduled" and body["approvals"] == []
    assert {m.recipient for m in _mails("invite")} == {"quanglang@langson.gov.vn", "chilang@langson.gov.vn"}


def test_across_scopes_pending_no_invite_then_both_owners_approve_and_invites_go_once(client, net, smtp):
    response = client.post("/api/v1/meetings", headers=_token(net["clerk"]),
                           json=_body([net["own_hall"], net["other"], net["hall"]], next_monday(8)))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending"
    asked = {a["unit_id"]: a for a in body["approvals"]}
    assert set(asked) == {net["huu_lung"].id, net["province"].id}
    assert asked[net["huu_lung"].id]["endpoint_ids"] == [net["other"].id]
    assert all(a["status"] == "pending" and a["decided_by"] is None for a in asked.values())
    assert _mails("invite") == []
    deliver_outbox()
    assert {rcpt for rcpt, _m in smtp.messages} == {"duyet@huulung.example.vn", "duyet@langson.example.vn"}
    smtp.messages.clear()
    meeting_id = body["id"]

    # the approver's inbox lists it with their own site; the booker may not approve it (403)
    inbox = client.get("/api/v1/approvals", headers=_token(net["approver"])).get_json()
    assert [(i["meeting"]["id"], i["endpoint_ids"]) for i in inbox["items"]] == [(meeting_id, [net["other"].id])]
    assert inbox["items"][0]["meeting"]["organizer"]["name"] == "clerk-chi-lang"
    refused = client.post(f"/api/v1/meetings/{meeting_id}/approvals/{net['huu_lung'].id}",
                          headers=_token(net["clerk"]), json={"decision": "approve"})
    assert refused.status_code == 403
    assert client.post(f"/api/v1/meetings/{meeting_id}/approvals/{net['province'].id}",
                       headers=_token(net["approver"]), json={"decision": "approve"}).status_code == 403

    first = client.post(f"/api/v1/meetings/{meeting_id}/approvals/{net['huu_lung'].id}",
                        headers=_token(net["approver"]), json={"decision": "approve"})
    assert first.status_code == 200 and first.get_json()["meeting_status"] == "pending"
    assert _mails("invite") == []
    again = client.post(f"/api/v1/meetings/{meeting_id}/approvals/{net['huu_lung'].id}",
                        headers=_token(net["approver"]), json={"decision": "refuse", "reason": "Bận"})
    assert again.status_code == 409
    assert again.get_json()["error"]["approval"]["status"] == "approved"
    second = client.post(f"/api/v1/meetings/{meeting_id}/approvals/{net['province'].id}",
                         headers=_token(net["office"]), json={"decision": "approve"})
    assert second.get_json()["meeting_status"] == "scheduled"
    deliver_outbox()
    deliver_outbox()
    invited = sorted(rcpt for rcpt, m in smtp.messages if "Mời họp" in m["Subject"])
    assert invited == sorted(["chilang@langson.gov.vn", "minhson@langson.gov.vn", "vanphong@langson.gov.vn"])
    decisions = [rcpt for rcpt, m in smtp.messages if m["Subject"].startswith("Đã duyệt")]
    assert decisions == ["clerk@chilang.example.vn"] * 2
    told = [m.get_content() for rcpt, m in smtp.messages if m["Subject"].startswith("Đã duyệt")]
    assert sum("giấy mời được gửi đi" in text for text in told) == 1  # the last decision's mail says so


def test_a_refusal_takes_the_units_sites_off_and_tells_the_booker(client, net, smtp):
    body = client.post("/api/v1/meetings", headers=_token(net["clerk"]),
                       json=_body([net["own_hall"], net["other"]], next_monday(8))).get_json()
    no_reason = client.post(f"/api/v1/meetings/{body['id']}/approvals/{net['huu_lung'].id}",
                            headers=_token(net["approver"]), json={"decision": "refuse"})
    assert no_reason.status_code == 400 and "reason" in no_reason.get_json()["error"]["fields"]
    answer = client.post(f"/api/v1/meetings/{body['id']}/approvals/{net['huu_lung'].id}",
                         headers=_token(net["approver"]), json={"decision": "refuse", "reason": "Hội trường sửa chữa"})
    assert answer.status_code == 200, answer.get_json()
    meeting = client.get(f"/api/v1/meetings/{body['id']}", headers=_token(net["clerk"])).get_json()
    assert meeting["status"] == "scheduled" and meeting["endpoint_ids"] == [net["own_hall"].id]
    assert meeting["approvals"][0]["status"] == "refused"
    assert meeting["approvals"][0]["reason"] == "Hội trường sửa chữa"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reservation)
                             .where(Reservation.endpoint_id == net["other"].id)) == 0
    deliver_outbox()
    told = smtp.to("clerk@chilang.example.vn")
    assert len(told) == 1 and "Hội trường sửa chữa" in told[0].get_content()
    assert [rcpt for rcpt, m in smtp.messages if "Mời họp" in m["Subject"]] == ["chilang@langson.gov.vn"]


def test_a_refused_chair_cancels_the_meeting_without_any_invite(client, net):
    body = client.post("/api/v1/meetings", headers=_token(net["clerk"]),
                       json=_body([net["other"], net["own_hall"]], next_monday(8), chair=net["other"])).get_json()
    client.post(f"/api/v1/meetings/{body['id']}/approvals/{net['huu_lung'].id}",
                headers=_token(net["approver"]), json={"decision": "refuse", "reason": "Không có người chủ trì"})
    meeting = db.session.get(Meeting, body["id"])
    assert meeting.status == "cancelled" and "Không có người chủ trì" in meeting.cancel_reason
    assert _mails("invite") == []
    assert [m.recipient for m in _mails("approval-decision:")] == ["clerk@chilang.example.vn"]


def test_a_pending_booking_holds_its_sites_against_a_third_booking(client, net, make_user):
    start = next_monday(8)
    pending = client.post("/api/v1/meetings", headers=_token(net["clerk"]),
                          json=_body([net["own_hall"], net["other"]], start)).get_json()
    assert pending["status"] == "pending"
    admin = make_user("admin")
    third = client.post("/api/v1/meetings", headers=_token(admin), json=_body([net["other"]], start, title="Khác"))
    assert third.status_code == 409
    assert third.get_json()["error"]["conflicts"][0]["meeting_id"] == pending["id"]


def test_a_site_no_unit_answers_for_is_refused_naming_it(client, net, make_unit, make_endpoint):
    from datetime import date

    gone = make_unit("Xã Đã Giải Thể", "xã", parent=net["huu_lung"], valid_to=date(2025, 6, 30))
    orphan = make_endpoint("UBND xã Đã Giải Thể", unit=gone)
    answer = client.post("/api/v1/meetings", headers=_token(net["clerk"]),
                         json=_body([net["own_hall"], orphan], next_monday(8)))
    assert answer.status_code == 400
    assert "UBND xã Đã Giải Thể" in answer.get_json()["error"]["fields"]["endpoint_ids"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0


def test_a_title_change_asks_nobody_a_new_time_asks_again(client, net):
    headers = _token(net["clerk"])
    body = client.post("/api/v1/meetings", headers=headers,
                       json=_body([net["own_hall"], net["other"], net["hall"]], next_monday(8))).get_json()
    for unit in ("huu_lung", "province"):
        approver = net["approver"] if unit == "huu_lung" else net["office"]
        client.post(f"/api/v1/meetings/{body['id']}/approvals/{net[unit].id}", headers=_token(approver),
                    json={"decision": "approve"})
    retitled = client.patch(f"/api/v1/meetings/{body['id']}", headers=headers, json={"title": "Giao ban tuần"})
    assert retitled.get_json()["status"] == "scheduled"
    moved = client.patch(f"/api/v1/meetings/{body['id']}", headers=headers,
                         json={"starts_at": next_monday(14).isoformat(), "ends_at": next_monday(15).isoformat()})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["status"] == "pending"
    assert {a["status"] for a in moved.get_json()["approvals"]} == {"pending"}
    assert {a["round"] for a in moved.get_json()["approvals"]} == {2}


def test_fifty_approvers_racing_give_one_decision(live_server, net, make_user):
    body = _body([net["own_hall"], net["other"]], next_monday(9))
    request = urllib.request.Request(f"{live_server.url}/api/v1/meetings", data=json.dumps(body).encode(),
                                     method="POST", headers={**_token(net["clerk"]), "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        meeting_id = json.loads(response.read())["id"]
    tokens = []
    for n in range(50):
        user = make_user("viewer", username=f"duyet-{n}")
        user.home_unit_id, user.approves = net["huu_lung"].id, True
        tokens.append(_token(user))
    url = f"{live_server.url}/api/v1/meetings/{meeting_id}/approvals/{net['huu_lung'].id}"
    barrier = threading.Barrier(50)
    answers = []

    def attempt(i):
        decision = {"decision": "approve"} if i % 2 else {"decision": "refuse", "reason": f"Lý do {i}"}
        call = urllib.request.Request(url, data=json.dumps(decision).encode(), method="POST",
                                      headers={**tokens[i], "Content-Type": "application/json"})
        barrier.wait()
        try:
            with urllib.request.urlopen(call, timeout=120) as response:
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as error:
            answers.append((error.code, json.loads(error.read())))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [200] + [409] * 49, [a for a in answers if a[0] not in (200, 409)]
    [winner] = [body for status, body in answers if status == 200]
    assert all(body["error"]["approval"]["status"] == winner["status"] for status, body in answers if status == 409)
    db.session.rollback()  # end the test's read transaction: see what the server committed
    row = db.session.scalars(sa.select(Approval)).one()
    assert row.status == winner["status"] and row.decided_by_id == winner["decided_by"]
    assert len(_mails("approval-decision:")) == 1


def test_a_request_still_pending_at_the_start_is_refused_and_the_booker_told(client, net):
    from tests.booking.conftest import move_into_the_past

    body = client.post("/api/v1/meetings", headers=_token(net["clerk"]),
                       json=_body([net["own_hall"], net["other"]], next_monday(8))).get_json()
    meeting = db.session.get(Meeting, body["id"])
    move_into_the_past(meeting, -(meeting.starts_at - approvals.utcnow()) - timedelta(minutes=1))
    assert approvals.refuse_due() == 1
    assert approvals.refuse_due() == 0
    approval_jobs.approvals_tick()  # the worker's tick, run again: nothing more to do, nothing mailed twice
    db.session.expire_all()
    row = db.session.scalars(sa.select(Approval)).one()
    assert row.status == "refused" and row.decided_by_id is None and "tự động" in row.reason
    meeting = db.session.get(Meeting, body["id"])
    assert meeting.status == "scheduled" and [e.id for e in meeting.endpoints] == [net["own_hall"].id]
    assert [m.recipient for m in _mails("approval-decision:")] == ["clerk@chilang.example.vn"]


def test_a_new_time_holds_the_update_until_approved_again_then_sends_it(client, net):
    headers = _token(net["clerk"])
    body = client.post("/api/v1/meetings", headers=headers,
                       json=_body([net["own_hall"], net["other"]], next_monday(8))).get_json()
    path = f"/api/v1/meetings/{body['id']}/approvals/{net['huu_lung'].id}"
    client.post(path, headers=_token(net["approver"]), json={"decision": "approve"})
    first = {(m.recipient, m.sequence) for m in _mails("invite")}
    assert {r for r, _s in first} == {"chilang@langson.gov.vn", "minhson@langson.gov.vn"}
    moved = client.patch(f"/api/v1/meetings/{body['id']}", headers=headers,
                         json={"starts_at": next_monday(14).isoformat(), "ends_at": next_monday(15).isoformat()})
    assert moved.get_json()["status"] == "pending"
    assert {(m.recipient, m.sequence) for m in _mails("invite")} == first  # nothing new while pending
    client.post(path, headers=_token(net["approver"]), json={"decision": "approve"})
    sequence = db.session.get(Meeting, body["id"]).sequence
    updates = [m for m in _mails("invite") if m.sequence == sequence]
    assert {m.recipient for m in updates} == {"chilang@langson.gov.vn", "minhson@langson.gov.vn"}
    assert all("Cập nhật" in m.subject for m in updates)


def test_sites_taken_off_by_a_change_that_asks_again_are_told_at_once(client, net):
    """A scheduled, invited meeting edited to drop one site and add another unit's: it waits for that unit's
    approval, but the dropped site's people are out whatever the answer, so they get their CANCEL now; the
    others' update waits for the approval."""
    headers = _token(net["clerk"])
    body = client.post("/api/v1/meetings", headers=headers,
                       json=_body([net["own_hall"], net["own"]], next_monday(8))).get_json()
    assert body["status"] == "scheduled"
    invited = {m.recipient for m in _mails("invite")}
    assert invited == {"chilang@langson.gov.vn", "quanglang@langson.gov.vn"}
    changed = client.patch(f"/api/v1/meetings/{body['id']}", headers=headers,
                           json={"endpoint_ids": [net["own_hall"].id, net["other"].id]})
    assert changed.status_code == 200 and changed.get_json()["status"] == "pending"
    cancels = [m for m in _mails("invite") if m.method == "CANCEL"]
    assert [m.recipient for m in cancels] == ["quanglang@langson.gov.vn"]
    assert not [m for m in _mails("invite") if m.recipient == "minhson@langson.gov.vn"]  # not before approval
    path = f"/api/v1/meetings/{body['id']}/approvals/{net['huu_lung'].id}"
    assert client.post(path, headers=_token(net["approver"]), json={"decision": "approve"}).status_code == 200
    after = _mails("invite")
    assert [m.recipient for m in after if m.method == "CANCEL"] == ["quanglang@langson.gov.vn"]  # once
    assert "minhson@langson.gov.vn" in {m.recipient for m in after if m.method == "REQUEST"}


def test_a_pending_booking_scheduled_by_an_edit_sends_invites_not_updates(client, net):
    """Pending since its booking, never invited; the clerk takes the other unit's site off: the meeting is within
    scope and scheduled, and its first mails are invitations («Mời họp»), not updates of what nobody received."""
    headers = _token(net["clerk"])
    body = client.post("/api/v1/meetings", headers=headers,
                       json=_body([net["own_hall"], net["other"]], next_monday(8))).get_json()
    assert body["status"] == "pending" and not _mails("invite")
    changed = client.patch(f"/api/v1/meetings/{body['id']}", headers=headers,
                           json={"endpoint_ids": [net["own_hall"].id, net["own"].id]})
    assert changed.get_json()["status"] == "scheduled"
    invites = _mails("invite")
    assert {m.recipient for m in invites} == {"chilang@langson.gov.vn", "quanglang@langson.gov.vn"}
    assert all(m.method == "REQUEST" and m.subject.startswith("Mời họp") for m in invites)
