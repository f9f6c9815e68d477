"""The Lạng Sơn demo province: its real unit tree, 213 sites, bridges, users and logins."""

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.conftest import count, csrf_token
from vmeeting.audit.models import AuditEvent
from vmeeting.auth.models import User
from vmeeting.core.extensions import db
from vmeeting.registry import service, transfer
from vmeeting.registry.models import AdminUnit, Bridge, Endpoint, EndpointGroup

TABLES = (AdminUnit, Endpoint, Bridge, User, EndpointGroup, AuditEvent)


@pytest.fixture
def demo(demo_province):
    """The demo province as the command loads it; its output."""
    return demo_province


def test_units_are_the_2020_tree_in_official_order(demo):
    units = db.session.scalars(service.units_select(date(2020, 6, 1))).all()
    levels = Counter(u.level for u in units)
    assert levels == {"province": 1, "district": 11, "commune": 200}
    assert Counter(u.kind for u in units if u.level == "commune") == {"xã": 181, "thị trấn": 14, "phường": 5}
    province = units[0]
    assert (province.code, province.name, province.kind) == ("20", "Tỉnh Lạng Sơn", "tỉnh")
    districts = [u for u in units if u.level == "district"]
    assert [d.code for d in districts] == [str(c) for c in range(178, 190) if c != 179]
    assert districts[0].name == "Thành phố Lạng Sơn" and districts[0].kind == "thành phố"
    assert districts[-1].name == "Huyện Đình Lập" and all(d.parent_id == province.id for d in districts)
    that_khe = db.session.scalar(sa.select(AdminUnit).where(AdminUnit.code == "180-01"))
    assert (that_khe.name, that_khe.kind, that_khe.parent.name) == ("Thị trấn Thất Khê", "thị trấn", "Huyện Tràng Định")
    assert all(u.valid_from == date(2020, 1, 1) and u.search_key for u in units)
    assert province.valid_to is None
    assert {u.valid_to for u in units if u.level != "province"} == {date(2024, 11, 30), date(2025, 6, 30)}
    # names repeat inside the province; the unit tree keeps them apart
    assert Counter(u.name for u in units)["Xã Hòa Bình"] >= 2


def test_213_endpoints_each_complete(demo):
    endpoints = db.session.scalars(sa.select(Endpoint)).all()
    assert len(endpoints) == 213
    assert Counter(e.category for e in endpoints) == {"provincial": 2, "district": 11, "commune": 200}
    assert len({e.unit_id for e in endpoints}) == 66  # the province and the 65 units of 2025
    for endpoint in endpoints:
        assert endpoint.sip_uri == f"sip:{endpoint.code.lower()}@vc.langson.example.vn"
        assert endpoint.probe == "sip-options" and endpoint.status == "active"
        assert endpoint.technician_id is not None and endpoint.bridge_id is not None
        assert endpoint.contact_name and endpoint.contact_phone
        assert endpoint.contact_emails and all(m.endswith("@example.vn") for m in endpoint.contact_emails)
    by_code = {e.code: e for e in endpoints}
    assert by_code["LS-TINH"].name == "UBND tỉnh Lạng Sơn"
    assert by_code["LS-187"].name == "UBND huyện Chi Lăng"
    assert by_code["LS-180-01"].name == "UBND thị trấn Thất Khê"
    assert db.session.scalars(service.search_endpoints("dinh lap")).first().code == "LS-189"


def test_each_technician_looks_after_their_district(demo):
    endpoints = db.session.scalars(sa.select(Endpoint)).all()
    technicians = {u.id: u.username for u in db.session.scalars(sa.select(User).where(User.role == "technician"))}
    assert len(technicians) == 11
    for endpoint in endpoints:
        # the technicians keep the sites of their former district, wherever the units moved
        district = endpoint.code.split("-")[1]
        if endpoint.category == "provincial" or district == "178":
            assert technicians[endpoint.technician_id] == "technician"
        else:
            assert technicians[endpoint.technician_id].startswith("kt-")
    trang_dinh = db.session.scalar(sa.select(User).where(User.username == "kt-trang-dinh"))
    assert db.session.scalar(sa.select(sa.func.count()).where(Endpoint.technician_id == trang_dinh.id)) == 23


def test_one_province_wide_meeting_fits_each_bridge_and_two_do_not(demo):
    bridges = db.session.scalars(sa.select(Bridge).order_by(Bridge.code)).all()
    assert [b.code for b in bridges] == ["MCU-LS-01", "MCU-LS-02"]
    for bridge in bridges:
        assigned = db.session.scalar(sa.select(sa.func.count()).where(Endpoint.bridge_id == bridge.id))
        assert assigned < bridge.ports < 2 * assigned


def test_demo_users_and_their_roles(demo):
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    assert {name: users[name].role for name in ("admin", "scheduler", "viewer", "technician")} == {
        "admin": "admin", "scheduler": "scheduler", "viewer": "viewer", "technician": "technician"}
    expected = {"kt-trang-dinh", "kt-binh-gia", "kt-van-lang", "kt-cao-loc", "kt-van-quan", "kt-bac-son",
                "kt-huu-lung", "kt-chi-lang", "kt-loc-binh", "kt-dinh-lap"}
    assert {n for n in users if n.startswith("kt-")} == expected
    assert all(u.full_name and u.email == f"{u.username}@example.vn" for u in users.values())
    for line in ("admin", "vmeeting-admin", "kt-dinh-lap", "vmeeting-technician", "Huyện Đình Lập"):
        assert line in demo


def test_demo_users_belong_to_agencies(demo, runner):
    """The invites a demo user books name their agency; a demo loaded before agencies existed gets them."""
    agencies = dict(db.session.execute(sa.select(User.username, User.agency)).all())
    assert agencies["scheduler"] == "Văn phòng UBND tỉnh Lạng Sơn"
    assert agencies["technician"] == agencies["kt-dinh-lap"] == "VNPT Lạng Sơn"
    assert all(agencies.values())
    db.session.execute(sa.update(User).where(User.username == "scheduler").values(agency=""))
    db.session.execute(sa.update(User).where(User.username == "viewer").values(agency="Sở Nội vụ"))
    db.session.commit()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    db.session.expire_all()
    agencies = dict(db.session.execute(sa.select(User.username, User.agency)).all())
    assert (agencies["scheduler"], agencies["viewer"]) == ("Văn phòng UBND tỉnh Lạng Sơn", "Sở Nội vụ")


def test_demo_groups(demo):
    group = db.session.scalar(sa.select(EndpointGroup).where(EndpointGroup.name == "Khối huyện, thành phố"))
    assert sorted(e.code for e in group.endpoints) == sorted(["LS-TINH"] + [f"LS-{c}" for c in range(178, 190) if c != 179])
    assert count(EndpointGroup) >= 2


def test_loading_twice_changes_nothing(demo, runner):
    before = {model.__name__: count(model) for model in TABLES}
    hashes = dict(db.session.execute(sa.select(User.username, User.password_hash)).all())
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output
    assert {model.__name__: count(model) for model in TABLES} == before
    assert dict(db.session.execute(sa.select(User.username, User.password_hash)).all()) == hashes


def test_if_empty_loads_only_into_an_empty_database(runner, make_unit):
    make_unit("Tỉnh Cao Bằng", "tỉnh", code="04")
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert count(AdminUnit) == 1 and count(Endpoint) == 0


def test_if_empty_loads_an_empty_database_once(runner, app):
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert count(Endpoint) == 213 and "vmeeting-admin" in result.output
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "not loaded" in result.output and "vmeeting-admin" in result.output
    assert count(Endpoint) == 213


def test_load_runs_few_queries(runner, app):
    """Rows go in batches: far fewer statements than the 425 units and endpoints.

    The demo meetings' invites are left out of the count: on SQLite the ORM
    inserts outbox rows one by one, since it needs each id back in order.
    """
    statements = []

    def remember(conn, cursor, statement, *args):
        if not statement.startswith("INSERT INTO outbox_mails"):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        result = runner.invoke(args=["demo", "load"])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)
    assert result.exit_code == 0, result.output
    assert len(statements) < 250, len(statements)


def test_export_of_the_demo_is_a_valid_import_that_changes_nothing(demo):
    rows = transfer.export_rows(sa.select(Endpoint).order_by(Endpoint.code))
    report = transfer.check_rows(transfer.read_rows("demo.xlsx", transfer.write_xlsx(rows)))
    assert report.is_valid, report.error_fields()
    assert (report.created, report.updated, report.unchanged) == (0, 0, 213)


@pytest.mark.parametrize("username, password", [
    ("admin", "vmeeting-admin"), ("scheduler", "vmeeting-scheduler"), ("viewer", "vmeeting-viewer"),
    ("technician", "vmeeting-technician"), ("kt-trang-dinh", "vmeeting-technician"),
])
def test_demo_logins_work_through_the_login_page(demo, client, username, password):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200


def test_a_week_of_meetings_booked_like_any_other(demo, runner):
    from vmeeting.booking.models import Meeting, Reservation
    from vmeeting.outbox.models import OutboxMail

    meetings = {m.title: m for m in db.session.scalars(sa.select(Meeting))}
    assert len(meetings) == 4
    province_wide = next(m for t, m in meetings.items() if t.startswith("Hội nghị"))
    assert province_wide.endpoint_count == 213 and province_wide.chair.code == "LS-TINH"
    briefing = next(m for t, m in meetings.items() if t.startswith("Giao ban"))
    assert len(briefing.occurrences) == 8 and briefing.endpoint_count == 12
    assert all(o.starts_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).weekday() == 0 for o in briefing.occurrences)
    assert all(m.organizer.username == "scheduler" for m in meetings.values())
    assert count(Reservation) == 213 + 12 * 8 + 13 + 23
    assert count(OutboxMail) > 0  # the invites wait in the outbox: the demo has no SMTP_URL

    result = runner.invoke(args=["demo", "load"])
    assert "nothing changed" in result.output and count(Meeting) == 4


def test_a_site_kept_in_another_case_is_taken_for_the_demo_site(demo, runner):
    """Codes are one without regard to case: a site renamed to "ls-178" is not loaded again as LS-178."""
    site = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-178"))
    service.update_endpoint(site, {"code": "ls-178"})
    db.session.commit()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert count(Endpoint) == 213
    assert db.session.scalar(sa.select(Endpoint.code).where(Endpoint.id == site.id)) == "ls-178"
