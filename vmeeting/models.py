"""Every capability's tables, imported in one place for Alembic and the factory."""

from vmeeting.audit.models import AuditEvent  # noqa: F401
from vmeeting.auth.models import ApiToken, LoginAttempt, User  # noqa: F401
from vmeeting.registry.models import AdminUnit, Bridge, Endpoint, EndpointGroup, UnitSuccession  # noqa: F401
