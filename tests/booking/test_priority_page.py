"""The booking page and priority classes (issue 27): the classes offered, and a displacement confirmed by name."""

from datetime import timedelta

import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.booking.test_views import form_data
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db


def _offered(client):
    text = client.get("/meetings/new").get_data(as_text=True)
    select = text[text.index('name="priority"'):]
    select = select[:select.index("</select>")]
    return [value for value in ("central", "province", "local", "internal") if f'value="{value}"' in select]


def test_the_page_offers_the_classes_the_person_may_set(client, login, make_user, district):
    clerk = make_user("scheduler")
    clerk.home_unit_id = district.id
    db.session.commit()
    login(clerk)
    assert _offered(client) == ["local", "internal"]
    login(make_user("scheduler"))
    assert _offered(client) == ["province", "local", "internal"]
    login(make_user("admin"))
    assert _offered(client) == ["central", "province", "local", "internal"]


def test_a_class_not_offered_is_refused_on_its_field(client, login, make_user, district, sites, get_csrf):
    clerk = make_user("scheduler")
    clerk.home_unit_id = district.id
    db.session.commit()
    login(clerk)
    response = client.post("/meetings/new", data=form_data(sites, next_monday(8), get_csrf("/meetings/new"),
                                                           priority="central"))
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0


def test_the_confirmation_names_what_gives_way_before_anything_is_written(client, login, make_user, sites, book,
                                                                           get_csrf):
    c = sites["communes"]
    start = next_monday(8)
    low = book(c[:3], start, title="Giao ban huyện")
    chaired = book([c[3]], start, title="Họp xã Vân An")
    login(make_user("scheduler"))  # the province office: up to «Tỉnh»
    token = get_csrf("/meetings/new")
    data = form_data(sites, start, token, title="Hội nghị tỉnh", priority="province",
                     endpoint_ids=[str(c[1].id), str(c[2].id), str(c[3].id)])
    asked = client.post("/meetings/new", data=data)
    assert asked.status_code == 409
    page = asked.get_data(as_text=True)
    confirm = page[page.index('data-testid="displace-confirm"'):]
    confirm = confirm[:confirm.index("</div>")]
    assert "«Giao ban huyện» (hạng Huyện, xã)" in confirm and "mất 2 điểm cầu" in confirm
    assert c[1].name in confirm and c[2].name in confirm
    assert "«Họp xã Vân An» (hạng Huyện, xã)" in confirm and "bị hủy: điểm cầu chủ tọa của nó bị lấy" in confirm
    assert 'value="displace"' in confirm
    assert f'name="displace_meeting_ids" type="hidden" value="{low.id},{chaired.id}"' in page \
        or f'value="{low.id},{chaired.id}"' in page
    db.session.expire_all()
    assert db.session.get(Meeting, low.id).sequence == 0  # nothing written yet
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 2

    done = client.post("/meetings/new", data={**data, "action": "displace",
                                              "displace_meeting_ids": f"{low.id},{chaired.id}"})
    assert done.status_code == 302, done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Meeting, low.id).endpoint_count == 1
    assert db.session.get(Meeting, chaired.id).status == "cancelled"


def test_a_busy_meeting_the_confirmation_did_not_name_is_not_displaced(client, login, make_user, sites, book,
                                                                       get_csrf):
    c = sites["communes"]
    start = next_monday(8)
    low = book(c[:2], start, title="Giao ban huyện")
    later = book([c[2]], start + timedelta(minutes=30), title="Đặt sau khi xác nhận")
    login(make_user("scheduler"))
    data = form_data(sites, start, get_csrf("/meetings/new"), priority="province", action="displace",
                     endpoint_ids=[str(c[1].id), str(c[2].id)], displace_meeting_ids=str(low.id))
    response = client.post("/meetings/new", data=data)
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Meeting, low.id).sequence == 0 and db.session.get(Meeting, later.id).sequence == 0


def test_an_equal_class_offers_no_displacement(client, login, make_user, sites, book, get_csrf):
    c = sites["communes"]
    start = next_monday(8)
    book(c[:2], start, title="Giao ban huyện")
    login(make_user("scheduler"))
    response = client.post("/meetings/new", data=form_data(sites, start, get_csrf("/meetings/new"),
                                                           endpoint_ids=[str(c[1].id)]))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'data-testid="displace-confirm"' not in page and 'data-testid="busy-priority"' in page
