"""Errors that services raise and every entry point turns into an answer."""


class ValidationError(Exception):
    """Bad input: `fields` maps each bad field to a reason a person can act on."""

    def __init__(self, fields, message="Dữ liệu không hợp lệ."):
        super().__init__(message)
        self.fields = dict(fields)
        self.message = message


class Conflict(Exception):
    """The change would break a rule about other records (busy site, full bridge, in use)."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(Exception):
    """The record asked for does not exist."""
