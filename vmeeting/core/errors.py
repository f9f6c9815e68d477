"""Errors that services raise and every entry point turns into an answer.

Their messages are Vietnamese, as the API, the CLI and the logs give them;
each is an N_-marked literal or a `say` sentence (vmeeting.core.text), so a page
shows it in its reader's language through `shown`.
"""

from vmeeting.core.text import N_


class ValidationError(Exception):
    """Bad input: `fields` maps each bad field to a reason a person can act on."""

    def __init__(self, fields, message=N_("Dữ liệu không hợp lệ.")):
        super().__init__(message)
        self.fields = dict(fields)
        self.message = message


class Conflict(Exception):
    """The change would break a rule about other records (busy site, full bridge, in use)."""

    #: the API's status and error.code for it
    status = 409
    code = "conflict"

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class NonWorkingTime(Conflict):
    """Sittings on a non-working day or outside working hours, not explicitly allowed.

    details: sittings [{starts_at, ends_at, reason}].
    """

    code = "non_working_time"


class StaleEdit(Conflict):
    """The record changed since the client read it (a stale If-Match or form): nothing was changed.

    details: changes [{field, summary, at, by}] made meanwhile, when known.
    """

    status = 412
    code = "precondition_failed"


class NotFound(Exception):
    """The record asked for does not exist."""
