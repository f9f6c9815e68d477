"""Every operation of the OpenAPI document fuzzed by Schemathesis against the app, on SQLite and PostgreSQL.

The answers must never be a 5xx and must match the document (status, content type, body schema,
headers). Bounded here (a few derandomized examples per operation); `make fuzz` runs the long
version (FUZZ_EXAMPLES). Each operation is its own test, so a failure names it.
"""

import os
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from config import TestingConfig
from tests.booking.conftest import book, sites  # noqa: F401 (fixtures used here)
from vmeeting import create_app
from vmeeting.apidoc.document import routed_operations
from vmeeting.core.extensions import db

VN = ZoneInfo("Asia/Ho_Chi_Minh")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
#: `make fuzz` shrinks each failure to its smallest case; the suite's bounded run reports it as found
PHASES = [Phase.explicit, Phase.generate, Phase.shrink] if os.environ.get("FUZZ_SHRINK") == "1" \
    else [Phase.explicit, Phase.generate]
#: the operations the app routes today (the document describes these and no others; test_document holds that)
OPERATIONS = sorted(routed_operations(create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})))


def _next_weekday(hour):
    day = datetime.now(VN).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN)


@pytest.fixture
def api_world(app, sites, book, make_user, api_headers):
    """A district, five sites on a bridge, a one-off and a weekly meeting; an admin's real API token."""
    admin = make_user("admin")
    one_off = book([sites["hall"], *sites["communes"][:2]], _next_weekday(9), actor=admin, title="Giao ban")
    weekly = book(sites["communes"][2:], _next_weekday(14), actor=admin, title="Họp tuần",
                  recurrence="FREQ=WEEKLY;COUNT=4")
    db.session.commit()
    return SimpleNamespace(headers=api_headers(user=admin), meetings=[one_off, weekly], **sites)


@pytest.mark.parametrize(("path", "method"), [pytest.param(p, m, id=f"{m.upper()} {p}") for p, m in OPERATIONS])
def test_every_operation_answers_within_its_schema_and_never_5xx(app, api_world, path, method):
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method.upper()]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, phases=PHASES,
              report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    def fuzz(case):
        # Not positive_data_acceptance: a schema cannot say "a unit that exists" or "a start in the
        # future", and the contract answers those with 400 naming the field. Not negative_data_rejection:
        # its invalid requests include unknown query parameters, which the API ignores, as HTTP APIs do.
        try:
            case.call_and_validate(headers=api_world.headers,
                                   excluded_checks=[positive_data_acceptance, negative_data_rejection])
        finally:
            # The test's app context outlives each request, and with it the session: after an exception
            # that escaped a request (TESTING propagates it) the next example must not inherit the mess.
            db.session.rollback()

    fuzz()
