"""Outbox fixtures: the invite fixtures (a real SMTP server, invited sites), and many sites at once."""

import pytest
import sqlalchemy as sa

from tests.booking.conftest import book, sites  # noqa: F401 (fixtures reused here)
from tests.invites.conftest import invited, smtp  # noqa: F401 (fixtures reused here)
from vmeeting.core.extensions import db
from vmeeting.registry.models import Endpoint
from vmeeting.core.text import fold, sort_key


@pytest.fixture
def many_sites(app, province):
    """Return the ids of `count` active sites of the province, each with one contact address, inserted in bulk."""

    def make(count):
        rows = [{"code": f"XA{n:05d}", "name": f"UBND xã số {n}", "unit_id": province.id, "category": "commune",
                 "sip_uri": f"sip:xa{n}@127.0.0.1", "contact_name": f"Văn phòng xã {n}",
                 "contact_emails": [f"xa{n:05d}@example.vn"], "search_key": fold(f"UBND xã số {n} XA{n:05d}"),
                 "name_casefold": f"ubnd xã số {n}", "name_sort_key": sort_key(f"UBND xã số {n}")}
                for n in range(count)]
        db.session.execute(sa.insert(Endpoint), rows)
        db.session.commit()
        return db.session.scalars(sa.select(Endpoint.id).where(Endpoint.code.like("XA%")).order_by(Endpoint.id)).all()

    return make
