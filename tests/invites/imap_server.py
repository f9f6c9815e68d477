"""A real IMAP server for the reply tests: Debian's Dovecot, a throwaway instance on free loopback ports.

Its own configuration, maildirs, password file, TLS certificate (self-signed,
for 127.0.0.1) and run directory live in one temporary folder; nothing of the
machine's Dovecot is used or touched. Each test gets a mailbox of its own.
"""

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.readiness.sip_peers import free_ports

CONFIG = """\
instance_name = vmeeting-test-{instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


PASSWORD = "hop-truc-tuyen"
POOL_SIZE = 200


def dovecot_path():
    """Return Dovecot's path; skip without it, unless REQUIRE_IMAP=1 makes that a failure."""
    path = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
    if path is None:
        if os.environ.get("REQUIRE_IMAP") == "1":
            pytest.fail("REQUIRE_IMAP=1 but Dovecot (Debian package dovecot-imapd) is not installed")
        pytest.skip("the reply tests need Dovecot (Debian package dovecot-imapd)")
    return path


class Dovecot:
    """One throwaway Dovecot: `add_user()` makes a mailbox, `append()` delivers a mail into it."""

    def __init__(self, binary):
        self.binary = binary
        # under /tmp, readable by the unprivileged user the mail processes run as
        self.root = Path(tempfile.mkdtemp(prefix="vmeeting-dovecot-"))
        self.root.chmod(0o755)
        self.port, self.tls_port = free_ports(2, socket.SOCK_STREAM)
        if os.geteuid() == 0:
            # root: Dovecot's own users for its processes, nobody for the mail
            self.internal_user, self.internal_group, self.login_user = "dovecot", "dovecot", "dovenull"
            self.mail_uid = self.mail_gid = pwd.getpwnam("nobody").pw_uid
        else:
            me = pwd.getpwuid(os.geteuid()).pw_name
            self.internal_user, self.internal_group, self.login_user = me, me, me
            self.mail_uid, self.mail_gid = os.geteuid(), os.getegid()
        self.process = None

    @property
    def cert_file(self):
        return self.root / "cert.pem"

    def start(self):
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", self.mail_uid, self.mail_gid)
        # Mailboxes made up front: Dovecot rereads its password file at most once a second, and every
        # failed sign-in meanwhile costs seconds (its penalty per address), so no test waits for a new one.
        self.spare = [f"vmeeting-{n:03d}-{uuid.uuid4().hex[:6]}" for n in range(POOL_SIZE)]
        (self.root / "passwd").write_text("".join(self._passwd_line(name, PASSWORD) for name in self.spare))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(self.root / "key.pem"), "-out", str(self.cert_file)],
                       check=True, capture_output=True)
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, instance=uuid.uuid4().hex[:8], port=self.port,
                                        tls_port=self.tls_port, internal_user=self.internal_user,
                                        internal_group=self.internal_group, login_user=self.login_user))
        self.process = subprocess.Popen([self.binary, "-F", "-c", str(config)], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Dovecot stopped: {self.process.stdout.read().decode()} {self._log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.tls_port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"Dovecot did not listen within 30 s: {self._log()}")

    def _log(self):
        log = self.root / "dovecot.log"
        return log.read_text() if log.exists() else ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def _passwd_line(self, name, password):
        return f"{name}:{{PLAIN}}{password}:{self.mail_uid}:{self.mail_gid}::{self.root}/mail/{name}\n"

    def add_user(self):
        """Return (user name, password) of an empty mailbox of its own."""
        if not self.spare:
            name = f"vmeeting-{uuid.uuid4().hex[:10]}"
            with (self.root / "passwd").open("a") as passwd:
                passwd.write(self._passwd_line(name, PASSWORD))
            time.sleep(1.1)  # Dovecot looks at the file again after a second
            return name, PASSWORD
        return self.spare.pop(), PASSWORD

    def client(self, user, password):
        """Return a signed-in imaplib client on the plain port (the tests' own look into the mailbox)."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        client.login(user, password)
        return client

    def append(self, user, password, message, folder="INBOX"):
        """Deliver a mail (bytes or str) into a folder, as the mail server would."""
        data = message.encode() if isinstance(message, str) else message
        client = self.client(user, password)
        try:
            typ, answer = client.append(folder, None, None, data)
            assert typ == "OK", answer
        finally:
            client.logout()

    def count(self, user, password, folder):
        """Return how many mails a folder holds (0 when it does not exist)."""
        client = self.client(user, password)
        try:
            typ, data = client.select(f'"{folder}"', readonly=True)
            return int(data[0]) if typ == "OK" else 0
        finally:
            client.logout()
