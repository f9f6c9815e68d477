"""An app for rules that read only the configuration (the zone, the hours, the mail sender, the language).

One per test module and no database, so the mutation run (make mutation) does not pay for an app
and an emptied database per test where a rule never reads one.
"""

import pytest

from config import TestingConfig
from vmeeting import create_app


@pytest.fixture(scope="module")
def config_app():
    """An app context with a request (for the translations), bound to a database nobody opens."""
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_request_context("/"):
        yield app
