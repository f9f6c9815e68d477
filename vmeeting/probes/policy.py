"""Where a probe may dial: never link-local, multicast, broadcast or unspecified; loopback only when allowed.

The rule is judged twice from the same table (`address_kind`): at dial time on
every address a name resolved to (`dial_refusal`, the probes), and when a SIP
address is saved (`saved_host_refusal`, the registry: form, API and import), so
an address the probes will never dial is refused while the person who typed it
is still there, with the reason.
"""

import ipaddress
import socket

from vmeeting.core.text import N_, say


class DialRefused(Exception):
    """Every address of the target is one the probes never dial; the message says why, in Vietnamese."""


#: the kinds of address never dialled, and "loopback", dialled only when allowed
NEVER, LOOPBACK = ("unspecified", "link-local", "multicast"), "loopback"

_DIAL_REASONS = {
    "unspecified": "Không kiểm tra địa chỉ không xác định {ip}.",
    "link-local": "Không kiểm tra địa chỉ liên kết cục bộ {ip} (169.254.0.0/16, fe80::/10).",
    "multicast": "Không kiểm tra địa chỉ multicast hay broadcast {ip}.",
    "loopback": "Không kiểm tra địa chỉ của chính máy chủ {ip} (loopback).",
}
#: why a saved address is refused: `say` sentences, which a page shows in its reader's language
_SAVE_REASONS = {
    "unspecified": N_("Máy %(host)s là địa chỉ không xác định (0.0.0.0, ::): kiểm tra tự động không bao giờ gọi"
                      " tới địa chỉ này. Hãy ghi địa chỉ thật của thiết bị."),
    "link-local": N_("Máy %(host)s là địa chỉ liên kết cục bộ (169.254.0.0/16, fe80::/10): kiểm tra tự động không"
                     " bao giờ gọi tới địa chỉ này. Hãy ghi địa chỉ thiết bị có trên mạng truyền dẫn."),
    "multicast": N_("Máy %(host)s là địa chỉ multicast hay broadcast: kiểm tra tự động không bao giờ gọi tới"
                    " địa chỉ này. Hãy ghi địa chỉ của một thiết bị."),
    "loopback": N_("Máy %(host)s là chính máy chủ (loopback): máy chủ này không cho kiểm tra tự động gọi tới"
                   " (PROBE_ALLOW_LOOPBACK tắt, như khi chạy thật). Hãy ghi địa chỉ của thiết bị."),
}


def address_kind(ip):
    """Return the kind of an IP address the probes treat apart ("unspecified", "link-local", "multicast",
    "loopback"), "" for an ordinary one, or None when ip is no IP address.

    Link-local is 169.254.0.0/16 and fe80::/10 (RFC 3927, RFC 4291 §2.5.6:
    cloud metadata services, the neighbours' devices); multicast includes the
    broadcast 255.255.255.255; loopback is 127.0.0.0/8 and ::1. IPv4 written
    inside IPv6 (::ffff:127.0.0.1) is judged as IPv4.
    """
    try:  # the common case, an IPv4 address, without ipaddress's cost (10,000 of them a sweep)
        first, second, *_rest = socket.inet_pton(socket.AF_INET, ip)
    except (OSError, TypeError, ValueError):
        pass
    else:
        if ip == "0.0.0.0":
            return "unspecified"
        if (first, second) == (169, 254):
            return "link-local"
        if 224 <= first <= 239 or ip == "255.255.255.255":
            return "multicast"
        return "loopback" if first == 127 else ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "unspecified"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        return "multicast"
    return "loopback" if address.is_loopback else ""


def _refused(kind, allow_loopback):
    return kind in NEVER or (kind == LOOPBACK and not allow_loopback)


def dial_refusal(ip, allow_loopback):
    """Return why the probes must not dial ip (text, in Vietnamese), or None when they may.

    Link-local, multicast, broadcast and unspecified addresses are never
    dialled; loopback (the server's own services) only under allow_loopback
    (`address_kind` gives the ranges).
    """
    kind = address_kind(ip)
    if kind is None:
        return f"«{ip}» không phải địa chỉ IP."
    return _DIAL_REASONS[kind].format(ip=ip) if _refused(kind, allow_loopback) else None


def saved_host_refusal(host, allow_loopback):
    """Return why a SIP address whose host is `host` must not be saved (a `say` sentence), or None.

    `host` is as `core.sipuri.parse_sip_uri` gives it (an IPv6 literal without
    its brackets). An IP address is judged as at dial time; of names, only
    "localhost" and the names under it, which always resolve to loopback
    (RFC 6761 §6.3), are judged here: any other name is judged when it is
    resolved, before each dial. `allow_loopback` is PROBE_ALLOW_LOOPBACK, off
    in production unless set.
    """
    name = host.rstrip(".").lower()
    kind = LOOPBACK if name == "localhost" or name.endswith(".localhost") else address_kind(host)
    if kind is None or not _refused(kind, allow_loopback):
        return None
    return say(_SAVE_REASONS[kind], host=host)
