"""SIP OPTIONS on the wire (RFC 3261 section 11): the request a probe sends, and the status of an answer."""

import re
import secrets

#: RFC 3261 timers: UDP retransmits at T1, doubling up to T2, until the timeout
T1_SECONDS = 0.5
T2_SECONDS = 4.0
MAX_RESPONSE_BYTES = 65536

STATUS_RE = re.compile(rb"^SIP/2\.0 (\d{3})[^\r\n]*\r?\n")
CALL_ID_RE = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


def options_request(uri, transport, local_host, local_port, *, call_id, branch, tag):
    """Return the bytes of a SIP OPTIONS request (RFC 3261 §11) for uri, sent from local_host:local_port.

    Call-ID comes right after Via, so that the part of the request an ICMP
    error carries back (about 500 bytes) still names the call.
    """
    via_host = f"[{local_host}]" if ":" in local_host else local_host
    lines = [
        f"OPTIONS {uri} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {via_host}:{local_port};branch={branch};rport",
        f"Call-ID: {call_id}",
        "Max-Forwards: 70",
        f"From: <sip:vmeeting@{via_host}>;tag={tag}",
        f"To: <{uri}>",
        "CSeq: 1 OPTIONS",
        f"Contact: <sip:vmeeting@{via_host}:{local_port};transport={transport}>",
        "Accept: application/sdp",
        "User-Agent: vmeeting-readiness",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def response_status(data, call_id):
    """Return the status code of a SIP response to our call, or None if data is not one."""
    match = STATUS_RE.match(data)
    if not match:
        return None
    found = CALL_ID_RE.search(data)
    if found and found.group(1).decode("ascii", "replace") != call_id:
        return None
    return int(match.group(1))


def request_ids():
    """Fresh Call-ID, Via branch and From tag for one request ({call_id, branch, tag}: str)."""
    # One read of the system's randomness for all three. The magic cookie z9hG4bK marks an RFC 3261 branch;
    # the rest must be unique per request.
    token = secrets.token_hex(28)
    return {"call_id": f"{token[:24]}@vmeeting", "branch": f"z9hG4bK{token[24:44]}", "tag": token[44:]}

