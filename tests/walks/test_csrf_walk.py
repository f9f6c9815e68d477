"""Every HTML form POST of the url_map, sent without its CSRF token, gets 400 and changes nothing.

Walks app.url_map, so a new route is in the walk the day it is added; an `@csrf.exempt` on a page
route (the booking form, the outbox retry, ...) fails here. The JSON API under /api/v1 signs in by
bearer token only (no cookie), which is why CSRF does not apply to it.
"""

import pytest

from tests.walks.world import build_world, signed_in_clients, snapshot, url_for_rule


@pytest.fixture
def world(app, make_user, make_unit, province, make_bridge, make_endpoint):
    return build_world(make_user, make_unit, province, make_bridge, make_endpoint)


def _html_post_rules(app):
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "POST" in rule.methods and not rule.rule.startswith("/api/")), key=lambda r: r.rule)


def test_the_walk_covers_the_forms_that_matter(app):
    """A guard on the walk itself: the routes the audit named are in it."""
    walked = {rule.rule for rule in _html_post_rules(app)}
    assert {"/meetings/new", "/outbox/<int:mail_id>/retry", "/login", "/logout", "/users/new",
            "/approvals/<int:meeting_id>/<int:unit_id>"} <= walked


@pytest.mark.parametrize("as_role", ["admin", "signed out"])
@pytest.mark.long
def test_every_html_post_without_a_csrf_token_is_refused_and_changes_nothing(app, world, as_role):
    client = signed_in_clients(app, world.users)[as_role]
    wrong = []
    for rule in _html_post_rules(app):
        path = url_for_rule(rule, world.ids)
        before = snapshot()
        # a body a form would send, less its token: the refusal must not depend on the fields being bad
        response = client.post(path, data={"title": "Giao ban", "name": "Tên", "status": "ready", "answer": "accept"})
        if response.status_code != 400 or "CSRF" not in response.get_data(as_text=True):
            wrong.append(f"POST {rule.rule}: {response.status_code}")
        elif snapshot() != before:
            wrong.append(f"POST {rule.rule}: 400 but the database changed")
    assert wrong == []
