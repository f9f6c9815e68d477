"""Invite fixtures: a real SMTP server (aiosmtpd) that can be stopped and started, and invited sites."""

import email
import socket
import ssl
from email.policy import default as default_policy
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.booking.conftest import book, sites  # noqa: F401 (fixtures reused here)
from tests.invites.imap_server import Dovecot, dovecot_path
from tests.readiness.sip_peers import free_ports
from vmeeting.core.extensions import db


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


class Accounts:
    """An aiosmtpd authenticator over {user: password}; remembers every sign-in tried as (user, success)."""

    def __init__(self, users):
        self.users = users
        self.tried = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        user = auth_data.login.decode()
        success = self.users.get(user) == auth_data.password.decode()
        self.tried.append((user, success))
        return AuthResult(success=success, handled=False)  # not handled: aiosmtpd answers 235 or 535


class SmtpServer:
    """A real SMTP server on a fixed loopback port, to stop and start again like an outage.

    scheme: `smtp` (plain), `smtps` (TLS from the first byte) or `smtp+starttls`; a TLS
    scheme needs certificate=(cert.pem, key.pem). users: {user: password} makes the
    server require AUTH (offered only over TLS, as aiosmtpd does by default).
    """

    def __init__(self, scheme="smtp", certificate=None, users=None):
        [self.port] = free_ports(1, socket.SOCK_STREAM)
        self.handler = Collector()
        self.controller = None
        self.scheme = scheme
        self.accounts = Accounts(users) if users else None
        self.context = None
        if scheme != "smtp":
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(*certificate)

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url_for(self, user, password):
        """Return SMTP_URL with a user and password, %-encoded as the URL needs."""
        return f"{self.scheme}://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}"

    @property
    def messages(self):
        return self.handler.messages

    def start(self):
        options = {}
        if self.scheme == "smtps":
            options["ssl_context"] = self.context
        elif self.scheme == "smtp+starttls":
            options.update(tls_context=self.context, require_starttls=True)
        if self.accounts is not None:
            # aiosmtpd knows TLS only by STARTTLS: on smtps the connection is TLS from the first byte
            options.update(authenticator=self.accounts, auth_required=True, auth_require_tls=self.scheme != "smtps")
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
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


#: the system mailbox (MAIL_FROM) of the reply tests: invites go out from it and name it as ORGANIZER
ORGANIZER = "hoptructuyen@langson.example.vn"


@pytest.fixture(scope="session")
def dovecot():
    """One throwaway Dovecot for the run; each test signs in to a mailbox of its own."""
    server = Dovecot(dovecot_path()).start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(app, dovecot):
    """The system mailbox (MAIL_FROM) on Dovecot, which the app reads through IMAP_URL."""
    app.config["MAIL_FROM"] = ORGANIZER
    user, password = dovecot.add_user()
    app.config["IMAP_URL"] = f"imap://{user}:{password}@127.0.0.1:{dovecot.port}/INBOX"
    return SimpleNamespace(
        user=user, password=password, server=dovecot,
        deliver=lambda message: dovecot.append(user, password, message),
        count=lambda folder: dovecot.count(user, password, folder),
    )
