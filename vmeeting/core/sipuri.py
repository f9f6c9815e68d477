"""A SIP address, read one way by the registry that stores it and the probes that dial it.

`sip:user@host[:port][;params]` or `sips:…` (RFC 3261 §19.1), in ASCII: the
probe sends the URI as it stands, and the host goes to the resolver, which
takes a name label by label (1 to 63 letters, digits or hyphens, not starting
or ending with a hyphen; at most 253 in all).
"""

import re
from dataclasses import dataclass

from vmeeting.core.text import N_, say

HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
URI_RE = re.compile(
    r"(?P<scheme>sips?):(?:(?P<user>[!-?A-~]+)@)?"
    rf"(?P<host>\[[0-9A-Fa-f:.]+\]|(?:{HOST_LABEL}\.)*{HOST_LABEL}\.?)"
    r"(?::(?P<port>\d{1,5}))?(?P<params>;[!-~]*)?"
)
#: where the host would be in a URI that does not parse, to name it in the error
LOOSE_HOST_RE = re.compile(r"sips?:(?:[^@]*@)?(?P<host>\[[^\]]*\]|[^:;?]*)")
HOST_MAX = 253
TRANSPORTS = ("udp", "tcp", "tls")
#: the reasons are Vietnamese, N_ literals or `say` sentences (vmeeting.core.text): a page shows them in its language
_FORM = N_("Địa chỉ SIP phải có dạng sip:phong-hop@may-chu[:cổng][;transport=tcp].")


@dataclass(frozen=True)
class SipAddress:
    """Where a SIP URI says to send: transport, host, port, and the URI itself for the request line."""

    transport: str
    host: str
    port: int
    uri: str


def parse_sip_uri(uri):
    """Return the SipAddress of a sip: or sips: URI; raise ValueError, in Vietnamese, for anything else."""
    if uri is not None and not isinstance(uri, str):
        raise ValueError(_FORM)
    uri = (uri or "").strip()
    if not uri.isascii():
        raise ValueError(N_("Địa chỉ SIP chỉ được gồm chữ không dấu, số và ký hiệu."))
    match = URI_RE.fullmatch(uri)
    if not match:
        host = LOOSE_HOST_RE.match(uri)
        if host and host["host"]:
            raise ValueError(say("Tên máy «%(host)s» trong địa chỉ SIP không hợp lệ: mỗi phần tên máy giữa hai"
                                 " dấu chấm dài 1–63 ký tự, gồm chữ không dấu, số và dấu -.", host=host["host"]))
        raise ValueError(_FORM)
    host = match["host"]
    if len(host.rstrip(".")) > HOST_MAX:
        raise ValueError(say("Tên máy trong địa chỉ SIP dài tối đa %(limit)s ký tự.", limit=HOST_MAX))
    params = {}
    for part in (match["params"] or "").split(";"):
        name, _, value = part.partition("=")
        if name:
            params[name.lower()] = value.lower()
    transport = "tls" if match["scheme"] == "sips" else params.get("transport", "udp")
    if transport not in TRANSPORTS:
        raise ValueError(say("Không hỗ trợ giao thức truyền «%(transport)s»; dùng udp, tcp hoặc tls.",
                             transport=transport))
    port = int(match["port"]) if match["port"] else (5061 if transport == "tls" else 5060)
    if not 0 < port < 65536:
        raise ValueError(N_("Cổng trong địa chỉ SIP phải từ 1 đến 65535."))
    return SipAddress(transport, host.strip("[]"), port, uri)
