"""Where a probe may dial: never link-local, multicast, broadcast or unspecified; loopback only when allowed."""

import ipaddress
import socket


class DialRefused(Exception):
    """Every address of the target is one the probes never dial; the message says why, in Vietnamese."""


def dial_refusal(ip, allow_loopback):
    """Return why the probes must not dial ip (text, in Vietnamese), or None when they may.

    Link-local (169.254.0.0/16, fe80::/10: cloud metadata services, the
    neighbours' devices), multicast, broadcast and unspecified addresses are
    never dialled; loopback (127.0.0.0/8, ::1: the server's own services) only
    under allow_loopback. IPv4 written inside IPv6 (::ffff:127.0.0.1) is judged as IPv4.
    """
    try:  # the common case, an IPv4 address, without ipaddress's cost (10,000 of them a sweep)
        first, second, *_rest = socket.inet_pton(socket.AF_INET, ip)
    except (OSError, TypeError, ValueError):
        pass
    else:
        if ip == "0.0.0.0":
            return f"Không kiểm tra địa chỉ không xác định {ip}."
        if (first, second) == (169, 254):
            return f"Không kiểm tra địa chỉ liên kết cục bộ {ip} (169.254.0.0/16, fe80::/10)."
        if 224 <= first <= 239 or ip == "255.255.255.255":
            return f"Không kiểm tra địa chỉ multicast hay broadcast {ip}."
        if first == 127 and not allow_loopback:
            return f"Không kiểm tra địa chỉ của chính máy chủ {ip} (loopback)."
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return f"«{ip}» không phải địa chỉ IP."
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return f"Không kiểm tra địa chỉ không xác định {ip}."
    if address.is_link_local:
        return f"Không kiểm tra địa chỉ liên kết cục bộ {ip} (169.254.0.0/16, fe80::/10)."
    if address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        return f"Không kiểm tra địa chỉ multicast hay broadcast {ip}."
    if address.is_loopback and not allow_loopback:
        return f"Không kiểm tra địa chỉ của chính máy chủ {ip} (loopback)."
    return None

