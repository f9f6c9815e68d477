"""Invite fixtures: a real SMTP server (aiosmtpd) that can be stopped and started, and invited sites."""

import email
import socket
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from tests.booking.conftest import book, district, sites  # noqa: F401 (fixtures reused here)
from vmeeting.extensions import db


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    """An aiosmtpd handler that keeps every accepted message (parsed, and as the bytes received) and the
    client connections it came over; refuses addresses in `refuse` with 550, and in `defer` with 451."""

    def __init__(self):
        self.messages = []
        self.raw = []
        self.peers = set()
        self.refuse = set()
        self.defer = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 Không có hộp thư này"
        if address.lower() in self.defer:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.peers.add(session.peer)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt.lower(), email.message_from_bytes(envelope.content, policy=default_policy)))
            self.raw.append((rcpt.lower(), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on a fixed loopback port, to stop and start again like an outage."""

    def __init__(self):
        self.port = _free_port()
        self.handler = Collector()
        self.controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self):
        return self.handler.messages

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address):
        """Return the messages received for an address."""
        return [m for rcpt, m in self.messages if rcpt == address.lower()]


@pytest.fixture
def smtp(app):
    """A running SMTP server the app sends to (SMTP_URL points at it)."""
    server = SmtpServer()
    server.start()
    app.config["SMTP_URL"] = server.url
    yield server
    server.stop()


@pytest.fixture
def invited(sites, make_user):
    """Give the sites contacts and technicians: the hall has two contacts and a technician."""
    technician = make_user("technician", username="ktv-chilang", email="ktv.chilang@example.vn",
                           full_name="Hoàng Văn Kỹ")
    technician.phone = "0912 345 678"
    hall = sites["hall"]
    hall.contact_emails = ["vanphong@langson.gov.vn", "lanhdao@langson.gov.vn"]
    hall.contact_name = "Văn phòng UBND tỉnh"
    hall.address = "Số 2 Hùng Vương, TP Lạng Sơn"
    hall.technician_id = technician.id
    for n, commune in enumerate(sites["communes"]):
        commune.contact_emails = [f"xa{n}@langson.gov.vn"]
        commune.contact_name = f"Văn phòng xã {n}"
        commune.address = f"Trụ sở UBND xã, thôn {n}"
        commune.technician_id = technician.id if n == 0 else None
    db.session.commit()
    return {**sites, "technician": technician}


def calendar_part(message):
    """Return the text/calendar part of a received message as text."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_content()
    raise AssertionError("no text/calendar part")
