"""Every route of the url_map × every role gets exactly the status this table says.

The table is the permission matrix written down a second time, by hand: a route added without a
line here fails, and so does a guard that lets in one role too many or too few.

How each request is sent, so that nothing changes while walking:
- pages are requested GET; a form POST carries a valid CSRF token for the roles refused (they
  must get 403, or the sign-in page when signed out) and none for the roles let in (they get the
  CSRF refusal, 400: the view never runs; tests/walks/test_csrf_walk.py proves it changes nothing);
- the API is called with each role's bearer token; reads name rows that exist, writes name ids
  no row has, so a role let in gets 404 and a role refused gets 403 (401 without a token).
"""

import os

import pytest

from tests.conftest import csrf_token
from tests.walks.world import ROLES, SIGNED_OUT, build_world, signed_in_clients, url_for_rule
from vmeeting.auth import service as auth
from vmeeting.core.extensions import db

EVERYONE = {*ROLES, SIGNED_OUT}
SIGNED_IN = set(ROLES)
STAFF = {"admin", "scheduler"}
CONFIRMERS = {"admin", "scheduler", "technician"}
ADMIN = {"admin"}

#: (method, rule) → (the roles let in, the status they get). Refused: 403 signed in; signed out,
#: 302 to the sign-in page (a page) or 401 (the API).
TABLE = {
    # the sign-in and the shared pieces
    ("GET", "/"): (SIGNED_IN, 200),  # the today board; signed out, to the sign-in page
    ("GET", "/favicon.ico"): (EVERYONE, 301),  # to the static icon
    ("GET", "/login"): (EVERYONE, None),  # 200 signed out; 302 onward when signed in (see SPECIAL)
    ("POST", "/login"): (EVERYONE, 400),
    ("POST", "/logout"): (EVERYONE, 400),
    ("POST", "/lang/<code>"): (EVERYONE, 400),
    ("GET", "/healthz"): (EVERYONE, 200),
    ("GET", "/readyz"): (EVERYONE, 200),
    ("GET", "/metrics"): (EVERYONE, 404),  # METRICS_TOKEN unset (tests/ops/test_metrics.py reads it with one)
    ("GET", "/static/<path:filename>"): (EVERYONE, 200),
    ("GET", "/bootstrap/static/<path:filename>"): (EVERYONE, 200),
    ("GET", "/api/docs"): (EVERYONE, 200),
    ("GET", "/api/v1/openapi.json"): (EVERYONE, 200),
    ("GET", "/calendar/<token>.ics"): (EVERYONE, 404),  # no sign-in: the token is the key, and this one is wrong
    ("GET", "/rsvp/<token>"): (EVERYONE, 404),
    ("POST", "/rsvp/<token>"): (EVERYONE, 400),
    # one's own account
    ("GET", "/account"): (SIGNED_IN, 200),
    ("POST", "/account/password"): (SIGNED_IN, 400),
    ("POST", "/account/tokens"): (SIGNED_IN, 400),
    ("POST", "/account/tokens/<int:token_id>/revoke"): (SIGNED_IN, 400),
    ("POST", "/account/sessions/end"): (SIGNED_IN, 400),
    # the working calendar: everyone signed in reads it, admins declare days
    ("GET", "/working-calendar"): (SIGNED_IN, 200),
    ("POST", "/working-calendar"): (ADMIN, 400),
    ("POST", "/working-calendar/<day>/delete"): (ADMIN, 400),
    ("GET", "/api/v1/holidays"): (SIGNED_IN, 200),
    ("POST", "/api/v1/holidays"): (ADMIN, 400),
    ("DELETE", "/api/v1/holidays/<day>"): (ADMIN, 404),
    # users
    ("GET", "/users"): (ADMIN, 200),
    ("GET", "/users/new"): (ADMIN, 200),
    ("POST", "/users/new"): (ADMIN, 400),
    ("GET", "/users/<int:user_id>"): (ADMIN, 200),
    ("POST", "/users/<int:user_id>"): (ADMIN, 400),
    ("POST", "/users/<int:user_id>/tokens"): (ADMIN, 400),
    ("POST", "/users/<int:user_id>/tokens/<int:token_id>/revoke"): (ADMIN, 400),
    # registry pages
    ("GET", "/units"): (SIGNED_IN, 200),
    ("GET", "/units/<int:unit_id>"): (SIGNED_IN, 200),
    ("GET", "/units/new"): (ADMIN, 200),
    ("POST", "/units/new"): (ADMIN, 400),
    ("GET", "/units/<int:unit_id>/edit"): (ADMIN, 200),
    ("POST", "/units/<int:unit_id>/edit"): (ADMIN, 400),
    ("GET", "/bridges"): (SIGNED_IN, 200),
    ("GET", "/bridges/new"): (ADMIN, 200),
    ("POST", "/bridges/new"): (ADMIN, 400),
    ("GET", "/bridges/<int:bridge_id>/edit"): (ADMIN, 200),
    ("POST", "/bridges/<int:bridge_id>/edit"): (ADMIN, 400),
    ("GET", "/endpoints"): (SIGNED_IN, 200),
    ("GET", "/endpoints/<int:endpoint_id>"): (SIGNED_IN, 200),
    ("GET", "/endpoints/export.<any(csv, xlsx):fmt>"): (SIGNED_IN, 200),
    ("GET", "/endpoints/new"): (STAFF, 200),
    ("POST", "/endpoints/new"): (STAFF, 400),
    ("GET", "/endpoints/<int:endpoint_id>/edit"): (STAFF, 200),
    ("POST", "/endpoints/<int:endpoint_id>/edit"): (STAFF, 400),
    ("GET", "/endpoints/<int:endpoint_id>/retire"): (STAFF, 200),
    ("POST", "/endpoints/<int:endpoint_id>/retire"): (STAFF, 400),
    ("GET", "/endpoints/import/template.xlsx"): (STAFF, 200),
    ("GET", "/endpoints/import"): (STAFF, 200),
    ("POST", "/endpoints/import"): (STAFF, 400),
    ("POST", "/endpoints/import/confirm"): (STAFF, 400),
    ("GET", "/groups"): (SIGNED_IN, 200),
    ("GET", "/groups/<int:group_id>"): (SIGNED_IN, 200),
    ("GET", "/groups/new"): (STAFF, 200),
    ("POST", "/groups/new"): (STAFF, 400),
    ("GET", "/groups/<int:group_id>/edit"): (STAFF, 200),
    ("POST", "/groups/<int:group_id>/edit"): (STAFF, 400),
    # booking pages
    ("GET", "/calendar"): (SIGNED_IN, 200),
    ("GET", "/meetings"): (SIGNED_IN, 200),
    ("GET", "/meetings.xlsx"): (SIGNED_IN, 200),
    ("GET", "/meetings/<int:meeting_id>"): (SIGNED_IN, 200),
    ("GET", "/meetings/<int:meeting_id>/invite.ics"): (SIGNED_IN, 200),
    ("GET", "/meetings/<int:meeting_id>/sites"): (SIGNED_IN, 200),
    ("GET", "/meetings/<int:meeting_id>/invites-panel"): (SIGNED_IN, 200),
    ("GET", "/meetings/<int:meeting_id>/summary"): (SIGNED_IN, 200),
    ("GET", "/meetings/new"): (STAFF, 200),
    # the approvers' inbox (issue 27): the walk's admin approves; the other roles' users do not
    ("GET", "/approvals"): (ADMIN, 200),
    ("POST", "/approvals/<int:meeting_id>/<int:unit_id>"): (SIGNED_IN, 400),
    ("GET", "/api/v1/approvals"): (SIGNED_IN, 200),
    ("POST", "/api/v1/meetings/<int:meeting_id>/approvals/<int:unit_id>"): (SIGNED_IN, 404),
    ("POST", "/meetings/new"): (STAFF, 400),
    ("GET", "/calendar/events"): (SIGNED_IN, 400),  # no window named: the guard let it through to the check
    ("GET", "/calendar/resources"): (SIGNED_IN, 200),
    ("POST", "/calendar/move"): (STAFF, 400),
    ("GET", "/meetings/sites"): (STAFF, 200),  # no q: no site
    ("GET", "/meetings/units"): (STAFF, 400),  # no parent_id
    ("GET", "/meetings/<int:meeting_id>/print"): (SIGNED_IN, 200),
    # the giấy mời (documents): everyone signed in reads the draft; office staff write; admins keep the template
    ("GET", "/meetings/<int:meeting_id>/giay-moi"): (SIGNED_IN, 200),
    ("POST", "/meetings/<int:meeting_id>/giay-moi/basis"): (STAFF, 400),
    ("POST", "/meetings/<int:meeting_id>/giay-moi/draft"): (STAFF, 400),
    ("POST", "/meetings/<int:meeting_id>/giay-moi/issue"): (STAFF, 400),
    ("GET", "/meetings/<int:meeting_id>/giay-moi.docx"): (SIGNED_IN, 200),
    ("GET", "/meetings/<int:meeting_id>/giay-moi.pdf"): (SIGNED_IN, 200),  # LibreOffice installed (CI)
    ("GET", "/meetings/<int:meeting_id>/giay-moi/basis.pdf"): (SIGNED_IN, 404),  # none kept
    ("GET", "/meetings/<int:meeting_id>/giay-moi/signed.pdf"): (SIGNED_IN, 404),
    ("GET", "/documents/template"): (ADMIN, 200),
    ("POST", "/documents/template"): (ADMIN, 400),
    ("GET", "/documents/template.docx"): (ADMIN, 200),
    ("GET", "/meetings/<int:meeting_id>/edit"): (STAFF, 200),
    ("POST", "/meetings/<int:meeting_id>/edit"): (STAFF, 400),
    ("GET", "/meetings/<int:meeting_id>/cancel"): (STAFF, 200),
    ("POST", "/meetings/<int:meeting_id>/cancel"): (STAFF, 400),
    ("GET", "/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/cancel"): (STAFF, 200),
    ("GET", "/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/move"): (STAFF, 200),
    ("POST", "/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/move"): (STAFF, 400),
    ("POST", "/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/cancel"): (STAFF, 400),
    # invites pages: the outbox is the bookers'; feeds for whoever may hold one (not viewers)
    ("GET", "/outbox"): (STAFF, 200),
    ("GET", "/invites/refused-replies"): (ADMIN, 200),
    ("GET", "/outbox/<int:mail_id>"): (STAFF, 200),
    ("GET", "/outbox/<int:mail_id>/html"): (STAFF, 200),
    ("POST", "/outbox/<int:mail_id>/retry"): (STAFF, 400),
    ("GET", "/calendar-feeds"): (CONFIRMERS, 200),
    ("POST", "/calendar-feeds"): (CONFIRMERS, 400),
    ("POST", "/calendar-feeds/<int:feed_id>/revoke"): (CONFIRMERS, 400),
    ("POST", "/calendar-feeds/<int:feed_id>/follow"): (STAFF, 400),
    # readiness pages (the technician looks after the world's sites)
    ("GET", "/readiness"): (CONFIRMERS, 200),
    ("GET", "/readiness/<int:occurrence_id>/<int:endpoint_id>"): (CONFIRMERS, 200),
    ("POST", "/readiness/<int:occurrence_id>/<int:endpoint_id>"): (CONFIRMERS, 400),
    ("GET", "/readiness/report"): (SIGNED_IN, 200),
    ("GET", "/readiness/report.csv"): (SIGNED_IN, 200),
    ("GET", "/meetings/<int:meeting_id>/readiness"): (SIGNED_IN, 200),
    ("GET", "/meetings/<int:meeting_id>/readiness.json"): (SIGNED_IN, 200),
    ("GET", "/meetings/<int:meeting_id>/sites.xlsx"): (SIGNED_IN, 200),
    ("POST", "/meetings/<int:meeting_id>/readiness/probe"): (CONFIRMERS, 400),
    # network operations: everyone signed in reads; technicians (own sites), schedulers, admins act
    ("GET", "/network"): (SIGNED_IN, 200),
    ("GET", "/network/board.json"): (SIGNED_IN, 200),
    ("GET", "/network/endpoints/<int:endpoint_id>"): (SIGNED_IN, 200),
    ("GET", "/incidents"): (SIGNED_IN, 200),
    ("GET", "/incidents/new"): (CONFIRMERS, 200),
    ("POST", "/incidents/new"): (CONFIRMERS, 400),
    ("GET", "/incidents/report"): (SIGNED_IN, 200),
    ("GET", "/incidents/<int:incident_id>"): (SIGNED_IN, 200),
    ("POST", "/incidents/<int:incident_id>"): (CONFIRMERS, 400),
    # the roll-call: the world's technician looks after the chair site
    ("GET", "/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance"): (SIGNED_IN, 200),
    ("POST", "/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance/<int:endpoint_id>"):
        (CONFIRMERS, 400),
    ("POST", "/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance"): (CONFIRMERS, 400),
    ("GET", "/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance/districts/<int:district_id>"):
        (SIGNED_IN, 200),
    ("GET", "/reports/attendance"): (SIGNED_IN, 200),
    ("GET", "/reports/attendance.xlsx"): (SIGNED_IN, 200),
    # the JSON API: reads of rows that exist, writes to ids no row has
    ("GET", "/api/v1/network"): (SIGNED_IN, 200),
    ("GET", "/api/v1/incidents"): (SIGNED_IN, 200),
    ("POST", "/api/v1/incidents"): (CONFIRMERS, 400),
    ("POST", "/api/v1/incidents/<int:incident_id>/resolve"): (CONFIRMERS, 404),
    ("GET", "/api/v1/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance"): (SIGNED_IN, 200),
    ("PUT", "/api/v1/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/attendance/<int:endpoint_id>"):
        (CONFIRMERS, 404),
    ("GET", "/api/v1/reports/attendance"): (SIGNED_IN, 200),
    ("GET", "/api/v1/units"): (SIGNED_IN, 200),
    ("GET", "/api/v1/units/<int:unit_id>"): (SIGNED_IN, 200),
    ("GET", "/api/v1/bridges"): (SIGNED_IN, 200),
    ("GET", "/api/v1/bridges/<int:bridge_id>"): (SIGNED_IN, 200),
    ("GET", "/api/v1/endpoints"): (SIGNED_IN, 200),
    ("GET", "/api/v1/endpoints/<int:endpoint_id>"): (SIGNED_IN, 200),
    ("POST", "/api/v1/endpoints"): (STAFF, 400),  # {}: every required field named
    ("PATCH", "/api/v1/endpoints/<int:endpoint_id>"): (STAFF, 404),
    ("DELETE", "/api/v1/endpoints/<int:endpoint_id>"): (STAFF, 404),
    ("GET", "/api/v1/meetings"): (SIGNED_IN, 200),
    ("POST", "/api/v1/meetings"): (STAFF, 400),
    ("GET", "/api/v1/meetings/<int:meeting_id>"): (SIGNED_IN, 200),
    ("PATCH", "/api/v1/meetings/<int:meeting_id>"): (STAFF, 404),
    ("POST", "/api/v1/meetings/<int:meeting_id>/cancel"): (STAFF, 404),
    ("PATCH", "/api/v1/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>"): (STAFF, 404),
    ("POST", "/api/v1/meetings/<int:meeting_id>/occurrences/<int:occurrence_id>/cancel"): (STAFF, 404),
    ("GET", "/api/v1/meetings/<int:meeting_id>/invite.ics"): (SIGNED_IN, 200),
    ("GET", "/api/v1/meetings/<int:meeting_id>/giay-moi.docx"): (SIGNED_IN, 200),
    ("GET", "/api/v1/meetings/<int:meeting_id>/giay-moi.pdf"): (SIGNED_IN, 200),
    ("PUT", "/api/v1/meetings/<int:meeting_id>/basis-document"): (STAFF, 404),
    ("PUT", "/api/v1/meetings/<int:meeting_id>/giay-moi"): (STAFF, 404),
    ("GET", "/api/v1/meetings/<int:meeting_id>/answers"): (SIGNED_IN, 200),
    ("GET", "/api/v1/meetings/<int:meeting_id>/readiness"): (SIGNED_IN, 200),
    ("PUT", "/api/v1/meetings/<int:meeting_id>/readiness/<int:endpoint_id>"): (CONFIRMERS, 404),
    ("POST", "/api/v1/meetings/<int:meeting_id>/probe"): (CONFIRMERS, 404),
    ("GET", "/api/v1/slots"): (SIGNED_IN, 400),  # no site named: the guard let it through to the check
}

#: where one role let in gets another status than the others: (method, rule, role) → status
SPECIAL = {
    ("GET", "/login", "admin"): 302, ("GET", "/login", "scheduler"): 302,
    ("GET", "/login", "technician"): 302, ("GET", "/login", "viewer"): 302,
    ("GET", "/login", SIGNED_OUT): 200,
}

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def world(app, make_user, make_unit, province, make_bridge, make_endpoint):
    return build_world(make_user, make_unit, province, make_bridge, make_endpoint)


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def _send(app, clients, tokens, world, method, rule, role, allowed):
    is_api = rule.rule.startswith("/api/v1/")
    if is_api:
        path = url_for_rule(rule, world.ids, missing=method in WRITES)
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role in tokens else {}
        return app.test_client().open(path, method=method, headers=headers, json={} if method in WRITES else None)
    path = url_for_rule(rule, world.ids)
    client = clients[role]
    if method == "GET":
        return client.get(path)
    data = {} if allowed else {"csrf_token": csrf_token(client, "/account" if role != SIGNED_OUT else "/login")}
    return client.open(path, method=method, data=data)


def _guess(app, rule):
    """For a route not in the table yet (only to walk it without side effects): who its guard lets in."""
    from vmeeting.auth.models import PERMISSIONS

    permission = getattr(app.view_functions[rule.endpoint], "permission", None)
    return set(PERMISSIONS[permission]) if permission else EVERYONE


@pytest.mark.long
def test_every_route_and_role_gets_the_status_of_the_table(app, world):
    clients = signed_in_clients(app, world.users)
    tokens = {role: auth.issue_token(user) for role, user in world.users.items()}
    db.session.commit()
    observed, wrong = {}, []
    for method, rule in _routes(app):
        key = (method, rule.rule)
        allowed, status = TABLE.get(key, (_guess(app, rule), None))
        for role in [*ROLES, SIGNED_OUT]:
            response = _send(app, clients, tokens, world, method, rule, role, role in allowed)
            observed[(key, role)] = response.status_code
            if key not in TABLE:
                continue
            if (method, rule.rule, role) in SPECIAL:
                expected = SPECIAL[(method, rule.rule, role)]
            elif role in allowed:
                expected = status
            elif role == SIGNED_OUT:
                expected = 401 if rule.rule.startswith("/api/v1/") else 302
            else:
                expected = 403
            if response.status_code != expected:
                wrong.append(f"{method} {rule.rule} as {role}: {response.status_code}, the table says {expected}")
            if expected == 302 and role == SIGNED_OUT:
                assert response.headers["Location"].startswith("/login"), (key, role)
    if os.environ.get("ROLE_WALK_DUMP"):
        for (key, role), code in sorted(observed.items()):
            print("OBSERVED", key, role, code)
    missing = sorted({f"{m} {r}" for (m, r), _ in observed if (m, r) not in TABLE})
    assert missing == [], "routes without a line in TABLE"
    assert sorted(set(TABLE) - {k for k, _ in observed}) == [], "lines in TABLE for routes that no longer exist"
    assert wrong == []
