"""TCP and TLS probes: a socket and a coroutine each, SIP OPTIONS over the stream or a plain connect."""

import asyncio
import ssl
import time

from vmeeting.probes.sip import (
    MAX_RESPONSE_BYTES,
    options_request,
    request_ids,
    response_status,
)


async def sip_stream(address, ip, secure):
    context = None
    if secure:
        # Room systems present self-signed certificates; the probe asks "does it answer", not "who is it".
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    started = time.perf_counter()
    # SNI names the host of the URI, not the address it resolved to
    reader, writer = await asyncio.open_connection(ip, address.port, ssl=context,
                                                   server_hostname=address.host if secure else None)
    try:
        local_host, local_port = writer.get_extra_info("sockname")[:2]
        ids = request_ids()
        writer.write(options_request(address.uri, "tls" if secure else "tcp", local_host, local_port, **ids))
        await writer.drain()
        data = b""
        while b"\r\n\r\n" not in data and len(data) < MAX_RESPONSE_BYTES:
            chunk = await reader.read(4096)
            if not chunk:
                break
            data += chunk
            status = response_status(data, ids["call_id"]) if b"\r\n\r\n" in data else None
            if status is not None:
                return status, (time.perf_counter() - started) * 1000
        raise ConnectionError("no SIP response")
    finally:
        writer.close()


async def tcp_connect(address, ip):
    started = time.perf_counter()
    _reader, writer = await asyncio.open_connection(ip, address.port)
    rtt_ms = (time.perf_counter() - started) * 1000
    writer.close()
    return None, rtt_ms

