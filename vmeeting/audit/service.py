"""Recording changes; every service that changes a record calls `record`."""

import sqlalchemy as sa

from vmeeting.audit.models import AuditEvent
from vmeeting.core.extensions import db


def snapshot(obj, fields):
    """Return the listed attributes of obj as JSON-ready values."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}


def diff(before, after):
    """Return {field: [old, new]} for the fields whose value changed."""
    keys = set(before) | set(after)
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}


def record(actor, action, entity_type, entity_id, changes=None, summary=""):
    """Add an audit event to the session; the caller's commit keeps it with the change."""
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        changes=changes or {},
        summary=summary[:500],
    )
    db.session.add(event)
    return event


def history(entity_type, entity_id, *, parts=None):
    """Select the events of one record, newest first.

    parts: {entity_type: [ids]} of records that belong to it and whose events
    are its history too (a meeting's sittings: moved, cancelled).
    """
    wanted = [sa.and_(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))]
    for part_type, ids in (parts or {}).items():
        if ids:
            wanted.append(sa.and_(AuditEvent.entity_type == part_type,
                                  AuditEvent.entity_id.in_([str(i) for i in ids])))
    return (
        sa.select(AuditEvent)
        .where(sa.or_(*wanted))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )


def _jsonable(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return list(value)
    return value
