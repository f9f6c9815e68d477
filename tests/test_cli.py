"""The flask commands of CONTRACT.md: users, tokens, endpoint import and export."""

import hashlib
import io

import openpyxl
import pytest
import sqlalchemy as sa

from tests.conftest import count
from vmeeting.auth.models import ApiToken, User
from vmeeting.core.extensions import db
from vmeeting.registry.models import Endpoint


def test_users_create(runner):
    result = runner.invoke(args=["users", "create", "Hoa.NT", "--role", "scheduler", "--email", "hoa@example.vn",
                                 "--full-name", "Nguyễn Thị Hoa", "--password", "mat-khau-dai"])
    assert result.exit_code == 0, result.output
    assert "hoa.nt" in result.output
    user = db.session.scalar(sa.select(User).where(User.username == "hoa.nt"))
    assert (user.role, user.email, user.full_name) == ("scheduler", "hoa@example.vn", "Nguyễn Thị Hoa")
    assert user.password_hash and "mat-khau-dai" not in user.password_hash


def test_users_create_with_an_agency(runner):
    result = runner.invoke(args=["users", "create", "vp-tinh", "--role", "scheduler", "--password", "mat-khau-dai",
                                 "--agency", "Văn phòng UBND tỉnh Lạng Sơn"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User.agency).where(User.username == "vp-tinh")) == "Văn phòng UBND tỉnh Lạng Sơn"
    result = runner.invoke(args=["users", "create", "dai-qua", "--role", "viewer", "--password", "mat-khau-dai",
                                 "--agency", "x" * 201])
    assert result.exit_code == 1 and "agency: Tên cơ quan tối đa 200 ký tự." in result.output
    assert count(User) == 1


def test_users_create_refuses_a_short_password_and_a_taken_name(runner, make_user):
    make_user("viewer", username="da-co")
    result = runner.invoke(args=["users", "create", "da-co", "--role", "viewer", "--password", "ngan"])
    assert result.exit_code == 1
    assert "đã có" in result.output and "ít nhất 8" in result.output
    assert count(User) == 1


def test_users_create_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["users", "create", "ai-do", "--role", "boss", "--password", "mat-khau-dai"])
    assert result.exit_code != 0
    assert count(User) == 0


def test_users_token_works_against_the_api_and_only_its_hash_is_stored(runner, client, make_user):
    make_user("viewer", username="xem")
    result = runner.invoke(args=["users", "token", "xem"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    stored = db.session.scalars(sa.select(ApiToken)).all()
    assert len(stored) == 1
    assert stored[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (stored[0].token_hash, stored[0].prefix)
    response = client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["total"] == 0
    assert client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}x"}).status_code == 401


def test_users_token_for_an_unknown_user_fails(runner):
    result = runner.invoke(args=["users", "token", "khong-co"])
    assert result.exit_code != 0
    assert count(ApiToken) == 0


def write_csv(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_endpoints_import_reports_every_bad_row_and_stores_nothing(runner, tmp_path, make_endpoint, district):
    make_endpoint(code="LS-189")
    before = count(Endpoint)
    path = write_csv(tmp_path / "loi.csv", [
        "code;name;unit_code;contact_emails;probe",
        "LS-189-01;UBND thị trấn Đình Lập;185;vp@example.vn;none",
        "LS-189-02;UBND xã Bắc Xa;185;khong hop le;none",
        "LS-189-03;;185;;none",
        "LS-189-01;UBND xã Trùng;185;;none",
        "LS-189-04;UBND xã Lạ;999;;none",
    ])
    result = runner.invoke(args=["endpoints", "import", path])
    assert result.exit_code == 1
    assert "Dòng 3, cột contact_emails: Địa chỉ thư «khong» không hợp lệ." in result.output
    assert "Dòng 4, cột name: Nhập tên điểm cầu." in result.output
    assert "Dòng 5, cột code: Mã «LS-189-01» trùng với dòng 2." in result.output
    assert "Dòng 6, cột unit_code: Không có đơn vị mã «999» đang có hiệu lực." in result.output
    assert "Dòng 2" not in result.output
    assert count(Endpoint) == before


def test_endpoints_import_refuses_an_unusable_file(runner, tmp_path, app):
    path = tmp_path / "diem-cau.txt"
    path.write_text("code,name\n")
    result = runner.invoke(args=["endpoints", "import", str(path)])
    assert result.exit_code == 1
    assert ".csv hoặc .xlsx" in result.output


def test_endpoints_import_creates_and_updates(runner, tmp_path, make_endpoint, district):
    existing = make_endpoint(code="LS-189", name="UBND huyện Đình Lập", unit=district)
    path = write_csv(tmp_path / "tot.csv", [
        "code,name,unit_id,sip_uri,contact_emails",
        f"LS-189,UBND huyện Đình Lập,{district.id},sip:ls-189@vc.langson.example.vn,vp@example.vn",
        f"LS-189-01,UBND thị trấn Đình Lập,{district.id},sip:ls-189-01@vc.langson.example.vn,",
    ])
    result = runner.invoke(args=["endpoints", "import", path])
    assert result.exit_code == 0, result.output
    assert "1 tạo mới, 1 cập nhật, 0 không đổi" in result.output
    db.session.expire_all()
    assert db.session.get(Endpoint, existing.id).contact_emails == ["vp@example.vn"]
    assert db.session.scalar(sa.select(Endpoint.name).where(Endpoint.code == "LS-189-01")) == "UBND thị trấn Đình Lập"


def test_endpoints_export_csv_and_xlsx_then_import_changes_nothing(runner, tmp_path, make_endpoint, district):
    make_endpoint(code="LS-189", name="UBND huyện Đình Lập", unit=district, contact_emails=["vp@example.vn"])
    make_endpoint(code="LS-20", name="UBND tỉnh Lạng Sơn")
    for name in ("diem-cau.csv", "diem-cau.xlsx"):
        path = tmp_path / name
        result = runner.invoke(args=["endpoints", "export", str(path)])
        assert result.exit_code == 0, result.output
        assert "2 điểm cầu" in result.output
        result = runner.invoke(args=["endpoints", "import", str(path)])
        assert result.exit_code == 0, result.output
        assert "0 tạo mới, 0 cập nhật, 2 không đổi" in result.output
    text = (tmp_path / "diem-cau.csv").read_bytes().decode("utf-8-sig")
    assert text.splitlines()[1].startswith("LS-189,UBND huyện Đình Lập,")
    sheet = openpyxl.load_workbook(io.BytesIO((tmp_path / "diem-cau.xlsx").read_bytes())).worksheets[0]
    assert sheet["A3"].value == "LS-20" and sheet["E2"].value == "Huyện Chi Lăng"


def test_endpoints_export_refuses_an_unknown_extension(runner, tmp_path, app):
    result = runner.invoke(args=["endpoints", "export", str(tmp_path / "diem-cau.ods")])
    assert result.exit_code != 0
    assert not (tmp_path / "diem-cau.ods").exists()
