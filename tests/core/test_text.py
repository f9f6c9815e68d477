"""Vietnamese text: accent folding for search, collation for sorting, exact-accent ranking."""

import unicodedata

import pytest
import sqlalchemy as sa

from vmeeting.core.extensions import db
from vmeeting.registry import service
from vmeeting.core.text import clean, fold, sort_key, vi_sorted

DISTRICTS = ["Bắc Sơn", "Bình Gia", "Cao Lộc", "Chi Lăng", "Đình Lập", "Hữu Lũng"]


@pytest.mark.parametrize("text, key", [
    ("Đình Lập", "dinh lap"),
    ("Lạng Sơn", "lang son"),
    ("ĐỒNG ĐĂNG", "dong dang"),
    ("Hữu Lũng", "huu lung"),
    ("Tràng Định", "trang dinh"),
    ("Ðình Lập", "dinh lap"),  # U+00D0, the look-alike of Đ
    ("  Lạng \t Sơn\n", "lang son"),
    ("LS-TINH-01", "ls-tinh-01"),
    ("", ""),
    (None, ""),
])
def test_fold(text, key):
    assert fold(text) == key


def test_fold_treats_nfd_and_nfc_alike():
    nfc = "Xã Quốc Khánh, huyện Tràng Định"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert fold(nfd) == fold(nfc) == "xa quoc khanh, huyen trang dinh"


def test_clean_stores_nfc_with_single_spaces():
    nfd = unicodedata.normalize("NFD", "  Thị trấn   Na Sầm ")
    assert clean(nfd) == "Thị trấn Na Sầm"
    assert unicodedata.is_normalized("NFC", clean(nfd))
    assert clean(None) == ""


def test_the_vietnamese_alphabet_orders_letters():
    alphabet = "a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y".split()
    assert vi_sorted(reversed(alphabet)) == alphabet


def test_tones_come_after_letters():
    assert vi_sorted(["bắc", "bạc", "bac", "bà", "ba"]) == ["ba", "bà", "bac", "bạc", "bắc"]


def test_district_names_sort_in_vietnamese_order():
    shuffled = ["Hữu Lũng", "Đình Lập", "Chi Lăng", "Bình Gia", "Cao Lộc", "Bắc Sơn"]
    assert vi_sorted(shuffled) == DISTRICTS
    # A code-point sort puts Đ after every unaccented letter and ắ after i: the wrong order.
    assert sorted(shuffled) != DISTRICTS
    assert sort_key("Bắc Sơn") < sort_key("Bình Gia") < sort_key("Cao Lộc") < sort_key("Chi Lăng")
    assert sort_key("Chi Lăng") < sort_key("Đình Lập") < sort_key("Hữu Lũng")


def test_sort_ignores_normal_form():
    assert sort_key(unicodedata.normalize("NFD", "Đình Lập")) == sort_key("Đình Lập")


def test_vi_sorted_takes_a_key():
    rows = [{"name": n} for n in ("Đình Lập", "Bắc Sơn", "Cao Lộc")]
    assert [r["name"] for r in vi_sorted(rows, key=lambda r: r["name"])] == ["Bắc Sơn", "Cao Lộc", "Đình Lập"]


# -- through the registry service ------------------------------------------------------


def search(q, **filters):
    return [e.name for e in db.session.scalars(service.search_endpoints(q, **filters))]


@pytest.fixture
def namesakes(make_endpoint):
    """Names that folding joins: Tân Thanh / Tân Thành / Tân Thạnh, Vạn Thủy / Vân Thủy."""
    for name in ("UBND xã Tân Thạnh", "UBND xã Tân Thành", "UBND xã Tân Thanh", "UBND xã Vân Thủy",
                 "UBND xã Vạn Thủy", "UBND xã Hòa Bình"):
        make_endpoint(name)


def test_search_ranks_exact_accent_matches_first(namesakes):
    assert search("Tân Thành") == ["UBND xã Tân Thành", "UBND xã Tân Thanh", "UBND xã Tân Thạnh"]
    assert search("Tân Thanh") == ["UBND xã Tân Thanh", "UBND xã Tân Thành", "UBND xã Tân Thạnh"]
    assert search("Vạn Thủy") == ["UBND xã Vạn Thủy", "UBND xã Vân Thủy"]
    # Without accents nothing is exact: Vietnamese order decides.
    assert search("tan thanh") == ["UBND xã Tân Thanh", "UBND xã Tân Thành", "UBND xã Tân Thạnh"]


def test_search_exact_ranking_ignores_case_and_normal_form(namesakes):
    assert search(unicodedata.normalize("NFD", "TÂN  THÀNH"))[0] == "UBND xã Tân Thành"


def test_search_needs_every_word(namesakes):
    # Each word may stand anywhere; a comes before â, so Vạn before Vân.
    assert search("thuy van") == ["UBND xã Vạn Thủy", "UBND xã Vân Thủy"]
    assert search("van thuy") == ["UBND xã Vạn Thủy", "UBND xã Vân Thủy"]
    assert search("hoa binh") == ["UBND xã Hòa Bình"]
    assert search("hoa thanh") == []


def test_search_keys_are_stored_folded(make_endpoint):
    endpoint = make_endpoint(unicodedata.normalize("NFD", "UBND  xã Đồng Đăng"), code="CL-DONGDANG")
    stored = db.session.execute(sa.select(service.Endpoint.name, service.Endpoint.search_key)
                                .where(service.Endpoint.id == endpoint.id)).one()
    assert stored == ("UBND xã Đồng Đăng", "ubnd xa dong dang cl-dongdang")
