"""Endpoint codes are unique without regard to case: in the API, the form, an import, and the database itself."""

import threading

import pytest
import sqlalchemy as sa
from alembic import command

from tests.registry.test_api import count_endpoints  # noqa: F401 (a fixture)
from tests.registry.test_views import endpoint_form_data, field_errors
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import service, transfer
from vmeeting.registry.models import Endpoint


@pytest.fixture
def existing(make_endpoint, district):
    return make_endpoint("UBND huyện Đình Lập", unit=district, code="LS-178")


def test_the_service_refuses_a_code_taken_in_another_case(existing, district):
    with pytest.raises(ValidationError) as caught:
        service.create_endpoint({"code": "ls-178", "name": "Trùng", "unit_id": district.id, "probe": "none"})
    assert caught.value.fields["code"] == ("Mã «ls-178» trùng với mã «LS-178» của điểm cầu «UBND huyện Đình Lập»"
                                           " (mã không phân biệt chữ hoa, chữ thường).")
    assert service.get_endpoint_by_code("ls-178").id == existing.id
    # An endpoint may change the case of its own code.
    service.update_endpoint(existing, {"code": "Ls-178"})
    db.session.commit()
    assert existing.code == "Ls-178" and count_endpoints() == 1


def test_the_api_and_the_form_refuse_it(client, api_headers, login_as, get_csrf, existing, district):
    response = client.post("/api/v1/endpoints", headers=api_headers("admin"),
                           json={"code": "ls-178", "name": "Trùng", "unit_id": district.id, "probe": "none"})
    assert response.status_code == 400 and "«LS-178»" in response.get_json()["error"]["fields"]["code"]
    login_as("scheduler")
    response = client.post("/endpoints/new", data={**endpoint_form_data(district, code="ls-178"),
                                                   "csrf_token": get_csrf("/endpoints/new")})
    assert response.status_code == 400
    assert any("«LS-178»" in reason for reason in field_errors(response, "code"))
    assert count_endpoints() == 1


def test_an_import_updates_the_site_whatever_the_case_and_refuses_a_twin_row(existing, district):
    rows = [{"code": "ls-178", "name": "UBND huyện Đình Lập", "unit_code": "185", "notes": "Sửa", "_row": 2},
            {"code": "LS-9", "name": "Chín", "unit_code": "185", "probe": "none", "_row": 3},
            {"code": "ls-9", "name": "Chín nữa", "unit_code": "185", "probe": "none", "_row": 4}]
    report = transfer.check_rows(rows)
    assert [r.action for r in report.rows] == ["update", "create", "create"]
    assert report.rows[0].is_valid and report.rows[0].changes == {"notes": ["", "Sửa"]}
    assert report.rows[2].errors == {"code": "Mã «ls-9» trùng với dòng 3."}
    transfer.apply_rows(rows[:2])
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Endpoint, existing.id).code == "LS-178"  # the stored spelling stays
    assert count_endpoints() == 2


def test_the_database_enforces_it(existing, district):
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.insert(Endpoint).values(code="ls-178", name="Lách luật", unit_id=district.id))
    db.session.rollback()
    assert count_endpoints() == 1


def test_two_requests_taking_one_code_at_once_get_one_site_and_a_reason(app, database_url, district):
    """The second insert waits on the unique index and is turned into a ValidationError, not a 500."""
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite, requests that write run one at a time (BEGIN IMMEDIATE): no two inserts overlap")
    first_flushed, first_may_commit = threading.Event(), threading.Event()
    outcome, unit_id = {}, district.id

    def create(code, name, before_commit=None):
        with app.app_context():
            try:
                service.create_endpoint({"code": code, "name": name, "unit_id": unit_id, "probe": "none"})
                if before_commit:
                    before_commit()
                db.session.commit()
                outcome[code] = "created"
            except ValidationError as exc:
                db.session.rollback()
                outcome[code] = exc.fields["code"]
            except Exception as exc:  # noqa: BLE001 (the assertion below shows what a thread met)
                outcome[code] = repr(exc)

    def hold():
        first_flushed.set()
        first_may_commit.wait(30)

    first = threading.Thread(target=create, args=("LS-500", "Một", hold))
    first.start()
    assert first_flushed.wait(30)
    second = threading.Thread(target=create, args=("ls-500", "Hai"))
    second.start()
    second.join(1)  # it is blocked on the index until the first commits
    first_may_commit.set()
    first.join(30)
    second.join(30)
    assert outcome["LS-500"] == "created"
    assert "«LS-500»" in outcome["ls-500"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Endpoint)) == 1


def test_the_migration_stops_on_existing_twins_and_lists_them(app, district):
    config = app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
    unit_id = district.id
    db.session.remove()
    command.downgrade(config, "0006")
    try:
        with db.engine.begin() as conn:
            for code in ("LS-178", "ls-178", "LS-179"):
                conn.execute(sa.text("INSERT INTO endpoints (code, name, unit_id, category, address, sip_uri, probe,"
                                     " status, contact_name, contact_phone, contact_emails, transport, protocol,"
                                     " device_model, device_serial, platform_ref, notes, search_key, name_casefold,"
                                     " name_sort_key, created_at, updated_at) VALUES (:code, :code, :unit, 'commune',"
                                     " '', '', 'none', 'active', '', '', '[]', 'tslcd', 'sip', '', '', '', '', '', '',"
                                     " :key, :now, :now)"),
                             {"code": code, "unit": unit_id, "key": b"", "now": "2026-01-01 00:00:00"})
        with pytest.raises(RuntimeError) as caught:
            command.upgrade(config, "head")
        assert "'LS-178'" in str(caught.value) and "'ls-178'" in str(caught.value)
        assert "LS-179" not in str(caught.value)
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE endpoints SET code = 'LS-178-B' WHERE code = 'ls-178'"))
        command.upgrade(config, "head")
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE endpoints SET code = 'ls-179' WHERE code = 'LS-178-B'"))
