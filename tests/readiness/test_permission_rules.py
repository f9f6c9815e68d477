"""Who may confirm which site, the rule itself: every role against its own, someone else's and nobody's site."""

from types import SimpleNamespace

import pytest
from flask_login import AnonymousUserMixin

from vmeeting.auth.models import User
from vmeeting.readiness import service

ROLES = ("admin", "scheduler", "technician", "viewer")
def make_user(role, user_id):
    """A user as the rule sees one (not stored: the rule reads only the role, the id and is_enabled)."""
    return User(id=user_id, username=f"{role}-{user_id}", role=role, is_enabled=True)


#: the expected answer by role and whose site it is: a technician confirms the sites assigned to them
EXPECTED = {
    "admin": {"own": True, "other": True, "nobody": True},
    "scheduler": {"own": True, "other": True, "nobody": True},
    "technician": {"own": True, "other": False, "nobody": False},
    "viewer": {"own": False, "other": False, "nobody": False},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("whose", ("own", "other", "nobody"))
def test_who_may_confirm_by_role_and_whose_site(role, whose):
    user, someone = make_user(role, 11), make_user("technician", 12)
    technician_id = {"own": user.id, "other": someone.id, "nobody": None}[whose]
    site = SimpleNamespace(technician_id=technician_id)
    expected = EXPECTED[role][whose]
    assert service.may_confirm(user, technician_id) is expected
    assert service.can_confirm(user, site) is expected
    if expected:
        assert service.require_confirm(user, site) is None
    else:
        with pytest.raises(service.NotAllowed) as refused:
            service.require_confirm(user, site)
        assert refused.value.code == 403
        assert refused.value.description == "Bạn chỉ có thể xác nhận điểm cầu được giao cho mình."


@pytest.mark.parametrize("role", ("admin", "technician"))
def test_a_disabled_account_confirms_nothing_not_even_its_own_site(role):
    user = make_user(role, 13)
    user.is_enabled = False
    assert service.may_confirm(user, user.id) is False
    with pytest.raises(service.NotAllowed):
        service.require_confirm(user, SimpleNamespace(technician_id=user.id))


def test_nobody_signed_in_confirms_nothing():
    assert service.may_confirm(None, 1) is False
    assert service.may_confirm(AnonymousUserMixin(), None) is False
    assert service.can_confirm(AnonymousUserMixin(), SimpleNamespace(technician_id=None)) is False
