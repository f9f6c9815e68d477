"""Who a meeting invites: its sites' contacts and technicians, and its extra attendees.

Read as ORM objects, with each site's technician and unit loaded, for the
pages, the answers' rules and the messages the worker builds. (What one
booking change writes to, read as columns inside the booking's transaction,
is invites.queue's.)
"""

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from vmeeting.booking.models import meeting_endpoints
from vmeeting.core.extensions import db
from vmeeting.invites.notice import Person
from vmeeting.registry.models import Endpoint


def sites_select(endpoint_ids=None, meeting=None):
    """Select the meeting's sites (or those with endpoint_ids), technicians and units loaded, in the sites' order."""
    query = sa.select(Endpoint).options(selectinload(Endpoint.technician), selectinload(Endpoint.unit))
    if meeting is not None:
        query = query.join(meeting_endpoints, meeting_endpoints.c.endpoint_id == Endpoint.id).where(
            meeting_endpoints.c.meeting_id == meeting.id)
    else:
        query = query.where(Endpoint.id.in_(endpoint_ids))
    return query.order_by(Endpoint.name_sort_key, Endpoint.code)


def people_of_sites(endpoints):
    """Return {email: Person} for the contacts and technicians of the sites, one entry per address."""
    people = {}

    def add(email, name, endpoint, is_technician):
        email = (email or "").strip().lower()
        if not email:
            return
        person = people.setdefault(email, Person(email=email, name=name or ""))
        person.name = person.name or name or ""
        person.is_technician = person.is_technician or is_technician
        if endpoint not in person.sites:
            person.sites.append(endpoint)

    for endpoint in endpoints:
        for email in endpoint.contact_emails or []:
            add(email, endpoint.contact_name, endpoint, False)
        if endpoint.technician is not None and endpoint.technician.is_enabled:
            add(endpoint.technician.email, endpoint.technician.display_name, endpoint, True)
    return people


def invitees(meeting, endpoints=None):
    """Return ({email: Person} of everyone the meeting invites, its sites with technicians and units loaded)."""
    endpoints = endpoints if endpoints is not None else db.session.scalars(sites_select(meeting=meeting)).all()
    people = people_of_sites(endpoints)
    for email in meeting.attendees or []:
        people.setdefault(email.strip().lower(), Person(email=email.strip().lower()))
    return people, endpoints


def province_name(meeting):
    """The place written before the date of the invite: the chair's province, without 'Tỉnh'."""
    unit = meeting.chair.unit
    seen = 0
    while unit.parent is not None and seen < 5:
        unit, seen = unit.parent, seen + 1
    for prefix in ("Tỉnh ", "Thành phố "):
        if unit.name.startswith(prefix):
            return unit.name[len(prefix):]
    return unit.name
