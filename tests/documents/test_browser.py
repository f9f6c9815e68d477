"""A clerk drafts a meeting's giấy mời in Chromium: the basis document from an .edxml, the draft's fields, the DOCX."""

import re
from pathlib import Path

import pytest
from docx import Document
from playwright.sync_api import expect

from tests.conftest import browser_sign_in, sideways_overflow

pytestmark = pytest.mark.browser

EDXML = Path(__file__).parent / "sample.edxml"


def test_a_clerk_reads_the_basis_document_fills_the_draft_and_downloads_it(page, make_user, meeting, tmp_path):
    browser_sign_in(page, make_user("scheduler", username="vanphong"))
    page.goto(f"/meetings/{meeting.id}")
    page.get_by_test_id("giay-moi-link").click()
    page.wait_for_url(re.compile(r".*/giay-moi$"))

    page.get_by_label("Hoặc đọc từ tệp .edxml (QCVN 102:2016/BTTTT)").set_input_files(str(EDXML))
    page.get_by_role("button", name="Lưu văn bản căn cứ").click()
    expect(page.get_by_test_id("basis")).to_contain_text("125/UBND-KGVX")
    expect(page.get_by_test_id("basis")).to_contain_text("Ủy ban nhân dân tỉnh Lạng Sơn")

    page.get_by_label("Cơ quan ban hành giấy mời").fill("Văn phòng Ủy ban nhân dân tỉnh")
    page.get_by_label("Ký hiệu cơ quan (sau GM-)").fill("VP")
    page.get_by_label("Họ tên người ký").fill("Hoàng Văn Bình")
    page.get_by_role("button", name="Lưu nội dung").click()
    expect(page.get_by_text("Đã lưu nội dung giấy mời.")).to_be_visible()
    assert page.get_by_label("Họ tên người ký").input_value() == "Hoàng Văn Bình"

    with page.expect_download() as download:
        page.get_by_test_id("giay-moi-docx").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    text = "\n".join(p.text for p in Document(str(saved)).paragraphs)
    assert "Thực hiện văn bản số 125/UBND-KGVX ngày 20/01/2027 của Ủy ban nhân dân tỉnh Lạng Sơn" in text
    assert "Văn phòng Ủy ban nhân dân tỉnh trân trọng kính mời:" in text

    page.set_viewport_size({"width": 390, "height": 844})  # the same page at a phone's size
    page.reload()
    assert sideways_overflow(page) == 0
