"""Redirect targets that stay on this site."""

from urllib.parse import urlsplit


def safe_next_url(target):
    """Return target if it is a path on this site, else None.

    Only a plain absolute path is accepted: no scheme, no host, no
    protocol-relative `//host` and no backslash tricks browsers normalise to it.
    """
    if not target or not isinstance(target, str):
        return None
    target = target.strip()
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
