"""The booking form's edit of a large meeting (more sites than booking.sites.PICKER_INLINE_SITES): its sites
are ticked as the units that hold them, not carried one by one into the page; saving books the same sites.

On the demo province as `make run` loads it, the threshold lowered below its 213 sites, as the country's
10,000 would be (`make bench` weighs the real one).
"""

import re
from html.parser import HTMLParser

import sqlalchemy as sa

from tests.conftest import page_text
from vmeeting.booking import forms
from vmeeting.booking.models import Meeting
from vmeeting.booking.sites import covering_units, resolve_sites
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import to_local
from vmeeting.registry.models import AdminUnit


class _Form(HTMLParser):
    """The fields a browser would post from the form whose id is form_id: {name: [values]}."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields, self.select, self.textarea = form_id, False, {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name and (attrs.get("type") not in ("checkbox", "radio", "submit") or "checked" in attrs):
            self.fields.setdefault(name, []).append(attrs.get("value", "on"))
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select and "selected" in attrs:
            self.fields.setdefault(self.select, []).append(attrs.get("value", ""))
        elif tag == "textarea":
            self.textarea = name
            self.fields.setdefault(name, []).append("")

    def handle_data(self, data):
        if self.textarea:
            self.fields[self.textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def _form_fields(body, form_id):
    parser = _Form(form_id)
    parser.feed(body)
    return parser.fields


def _province_meeting():
    meeting = max(db.session.scalars(sa.select(Meeting)), key=lambda m: m.endpoint_count)
    assert meeting.endpoint_count == 213
    return meeting


def test_a_meetings_sites_are_the_units_that_hold_them(app, demo_province):
    meeting = _province_meeting()
    ids = [e.id for e in meeting.endpoints]
    day = to_local(meeting.starts_at).date()
    province = db.session.scalar(sa.select(AdminUnit).where(AdminUnit.level == "province"))
    assert covering_units(ids, day) == ([province.id], [])
    again = resolve_sites(unit_ids=[province.id], on_day=day, meeting=meeting)
    assert sorted(e.id for e in again.endpoints) == sorted(ids)
    # one site fewer: the units left whole, and no site listed one by one but those of a partly chosen unit
    units, rest = covering_units(ids[1:], day)
    assert province.id not in units and units
    assert len(rest) < 30 and ids[0] not in rest
    assert sorted(e.id for e in resolve_sites(unit_ids=units, endpoint_ids=rest, on_day=day).endpoints) == \
        sorted(ids[1:])


def test_the_edit_of_a_large_meeting_carries_units_and_saves_the_same_sites(app, demo_province, client, login_as,
                                                                           monkeypatch):
    monkeypatch.setattr(forms, "PICKER_INLINE_SITES", 100)  # the demo's 213 sites count as the country's
    meeting = _province_meeting()
    before = sorted(e.id for e in meeting.endpoints)
    province = db.session.scalar(sa.select(AdminUnit).where(AdminUnit.level == "province"))
    login_as("scheduler")
    body = page_text(client.get(f"/meetings/{meeting.id}/edit"))
    sites = re.search(r'<select[^>]*id="endpoint_ids".*?</select>', body, re.S).group(0)
    assert sites.count("<option") == 1  # the chair, chosen as the meeting's chair; no other site in the page
    assert re.search(rf'name="unit_ids"[^>]*value="{province.id}"[^>]*checked|'
                     rf'value="{province.id}"[^>]*name="unit_ids"[^>]*checked', body)
    data = _form_fields(body, "meeting-form")
    assert data["unit_ids"] == [str(province.id)] and "endpoint_ids" not in data
    answer = client.post(f"/meetings/{meeting.id}/edit", data={**data, "action": "confirm"})
    assert answer.status_code == 302, page_text(answer)[:3000]
    db.session.expire_all()
    assert sorted(e.id for e in db.session.get(Meeting, meeting.id).endpoints) == before
