"""A small province with one of everything a route can name, and a signed-in client per role."""

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.conftest import signed_in_client
from vmeeting.auth import service as auth
from vmeeting.booking import service as booking
from vmeeting.core.extensions import db
from vmeeting.invites import feeds
from vmeeting.outbox.models import OutboxMail
from vmeeting.network import service as network
from vmeeting.registry import service as registry

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ROLES = ("admin", "scheduler", "technician", "viewer")
SIGNED_OUT = "signed out"


def _next_weekday(hour):
    day = datetime.now(VN).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN)


def build_world(make_user, make_unit, province, make_bridge, make_endpoint):
    """Users of every role (the technician looks after the sites), a meeting with mail queued, a feed, a group."""
    users = {role: make_user(role, email=f"{role}@langson.gov.vn") for role in ROLES}
    district = make_unit("Huyện Chi Lăng", "huyện", parent=province, code="185")
    bridge = make_bridge(ports=10)
    sites = [make_endpoint(f"UBND xã {name}", unit=make_unit(f"Xã {name}", "xã", parent=district),
                           bridge_id=bridge.id, technician_id=users["technician"].id,
                           contact_emails=[f"xa{n}@langson.gov.vn"])
             for n, name in enumerate(("Hòa Bình", "Quang Lang"))]
    group = registry.save_group(None, "Nhóm xã", "", [site.id for site in sites])
    starts_at = _next_weekday(9)
    meeting = booking.book_meeting({"title": "Giao ban", "starts_at": starts_at,
                                    "ends_at": starts_at + timedelta(hours=1), "chair_endpoint_id": sites[0].id},
                                   booking.resolve_sites(endpoint_ids=[s.id for s in sites]),
                                   actor=users["scheduler"],
                                   choices=booking.BookingChoices(allow_non_working_time=True))
    feed, _token = feeds.create_feed("endpoint", sites[0].id, users["admin"])
    incident = network.open_incident(users["scheduler"], {"endpoint_id": sites[0].id, "title": "Mất tiếng",
                                                          "severity": "minor", "note": ""})
    api_token = auth.issue_token(users["admin"])
    db.session.commit()
    mail = db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).first()
    token_row = users["admin"].tokens[0]
    ids = {
        "meeting_id": meeting.id, "occurrence_id": meeting.occurrences[0].id, "endpoint_id": sites[0].id,
        "bridge_id": bridge.id, "unit_id": district.id, "group_id": group.id, "user_id": users["viewer"].id,
        "token_id": token_row.id, "feed_id": feed.id, "mail_id": mail.id,
        "code": "en", "token": "khong-co-ma-nay", "fmt": "csv", "day": "2030-01-07",
        "incident_id": incident.id, "district_id": district.id,
    }
    return SimpleNamespace(users=users, ids=ids, meeting=meeting, sites=sites, api_token=api_token)


#: a file each static route serves
STATIC_FILES = {"static": "app.css", "bootstrap.static": "css/bootstrap.min.css"}


def url_for_rule(rule, ids, *, missing=False):
    """Fill a rule's parameters from the world (or with ids no row has, when missing)."""
    values = {}
    for name in rule.arguments:
        value = STATIC_FILES[rule.endpoint] if name == "filename" else ids[name]
        values[name] = 2_000_000_000 if missing and isinstance(value, int) else value
    return rule.build(values, append_unknown=False)[1]


def signed_in_clients(app, users):
    """Return {role: test client signed in through the login form}, plus a signed-out one."""
    clients = {role: signed_in_client(app, user) for role, user in users.items()}
    clients[SIGNED_OUT] = app.test_client()
    return clients


def snapshot():
    """Every row of every table, to show a refused request changed nothing."""
    rows = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows[table.name] = sorted(map(repr, conn.execute(sa.select(table)).all()))
    return rows
