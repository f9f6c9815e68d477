"""HTTP for the benchmarks: a keep-alive client with cookies, timings, and a load generator.

Standard library only, so `make bench` needs nothing beyond the test extras;
the load generator is wrk when Debian's `wrk` is installed (it leaves the CPU
to the server), else a pool of Python threads.
"""

import http.client
import json
import re
import shutil
import statistics
import subprocess
import threading
import time
from urllib.parse import urlencode

USER_AGENT = "vmeeting-bench"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


class Response:
    """Status, headers, body and how long the request took (seconds, first byte sent to last byte read)."""

    def __init__(self, status, headers, body, seconds):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def json(self):
        return json.loads(self.body)


class Client:
    """One persistent connection to the server, keeping the cookies it is given."""

    def __init__(self, host, port, token=None, timeout=600):
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies = {}
        self.headers = {"User-Agent": USER_AGENT}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.conn = None

    def request(self, method, path, *, body=None, json_body=None, headers=None):
        """Send a request and read the whole answer; reconnect once if the server closed the connection."""
        headers = {**self.headers, **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                answer = self.conn.getresponse()
                data = answer.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - started
            for cookie in answer.headers.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return Response(answer.status, answer.headers, data, seconds)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def login(self, username, password):
        """Sign in through the real form, as a person would; raise if it fails."""
        page = self.get("/login").body.decode()
        match = CSRF_RE.search(page)
        form = {"username": username, "password": password, "csrf_token": match.group(1) or match.group(2)}
        answer = self.request("POST", "/login", body=urlencode(form).encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        if answer.status != 302:
            raise RuntimeError(f"sign-in failed with {answer.status}")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def expect(response, status, what):
    """Return the response, or raise with its body when the status is not the expected one."""
    if response.status != status:
        raise RuntimeError(f"{what}: HTTP {response.status}, expected {status}: {response.body[:500]!r}")
    return response


def timed(send, repeat, warmup=0):
    """Call send() warmup + repeat times; return the seconds of the last `repeat` calls."""
    for _ in range(warmup):
        send()
    return [send().seconds for _ in range(repeat)]


def median_ms(seconds):
    return round(statistics.median(seconds) * 1000, 2)


def load(host, port, path, *, seconds=10, connections=8, headers=None):
    """Return (requests per second, tool) of GET path under load, every answer a 200."""
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    if shutil.which("wrk"):
        return _wrk(host, port, path, seconds, connections, headers), "wrk"
    return _threads(host, port, path, seconds, connections, headers), "python threads"


def _wrk(host, port, path, seconds, connections, headers):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [f"http://{host}:{port}{path}"], capture_output=True, text=True,
                            check=True).stdout
    if "Non-2xx or 3xx responses" in output:
        raise RuntimeError(f"wrk saw failed answers on {path}:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def _threads(host, port, path, seconds, connections, headers):
    deadline = time.perf_counter() + seconds
    counts, failures = [0] * connections, []

    def worker(index):
        client = Client(host, port)
        client.headers.update(headers)
        while time.perf_counter() < deadline:
            if client.get(path).status != 200:
                failures.append(path)
                return
            counts[index] += 1
        client.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"failed answers under load on {path}")
    return sum(counts) / (time.perf_counter() - started)
