"""Meetings, their occurrences and the reservations that keep sites from double-booking."""
