"""Every capability's tables, imported in one place for Alembic and the factory."""

from vmeeting.audit.models import AuditEvent  # noqa: F401
from vmeeting.auth.models import ApiToken, LoginAttempt, User  # noqa: F401
from vmeeting.registry.models import (  # noqa: F401
    AdminUnit, Bridge, Endpoint, EndpointGroup, ImportBatch, UnitSuccession,
)
from vmeeting.working_time.models import DeclaredDay  # noqa: F401
from vmeeting.booking.models import IdempotencyKey, Meeting, Occurrence, Reservation  # noqa: F401
from vmeeting.booking.approval_models import Approval  # noqa: F401
from vmeeting.invites.models import CalendarFeed, InviteResponse, RefusedReply  # noqa: F401
from vmeeting.outbox.models import OutboxMail  # noqa: F401
from vmeeting.jobs import WorkerLease  # noqa: F401
from vmeeting.readiness.models import Readiness, ReadinessEvent, ReadinessJob  # noqa: F401
from vmeeting.network.models import Incident, NetworkEvent, NetworkState  # noqa: F401
from vmeeting.attendance.models import Attendance  # noqa: F401
from vmeeting.documents.models import BasisDocument, InvitationLetter, LetterTemplate  # noqa: F401
