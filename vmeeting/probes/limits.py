"""How many TCP/TLS probes may hold a socket at once: the process's open-file limit, raised once."""

import logging
import os

try:
    import resource
except ImportError:  # not on Windows: the limit is left as it is
    resource = None

log = logging.getLogger(__name__)

#: TCP/TLS probes with a socket open at once, before the open-file limit has its say (a country's sites)
DEFAULT_MAX_STREAMS = 10_000
#: open files kept back from the TCP/TLS probes for the rest of the process: database, logs, name lookups
FILES_KEPT_BACK = 512

_open_file_limit = None


def raise_open_file_limit():
    """Raise this process's soft limit of open files to its hard limit (once); return the soft limit, or None.

    None where the platform has no such limit (Windows) or it is unlimited.
    A hard limit of "unlimited" is not taken literally: the soft limit goes no
    higher than 1,048,576, Linux's default nr_open.
    """
    global _open_file_limit
    if resource is None:
        return None
    if _open_file_limit is None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
        if soft != resource.RLIM_INFINITY and wanted > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
                soft = wanted
            except (ValueError, OSError) as exc:
                log.warning("could not raise the open-file limit from %s to %s: %s", soft, wanted, exc)
        _open_file_limit = soft
    return None if _open_file_limit == resource.RLIM_INFINITY else _open_file_limit


def _open_files():
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc: count nothing, FILES_KEPT_BACK is the margin
        return 0


def stream_limit(wanted=DEFAULT_MAX_STREAMS):
    """Return how many TCP/TLS probes may hold a socket at once: wanted, within the open files left.

    The open-file limit (raised first), less the files open now and
    FILES_KEPT_BACK for the rest of the process; that budget is never taken below 16.
    """
    limit = raise_open_file_limit()
    if limit is None:
        return wanted
    return min(wanted, max(16, limit - _open_files() - FILES_KEPT_BACK))

