#!/usr/bin/env python3
"""Fault scenarios against ringserve (issue 20, "Soak and faults"): the server keeps serving, loses no
request it accepted, and holds no sequence, KV block or connection for a client that left.

    perf/faults.py all                       # every scenario at full size (make faults)
    perf/faults.py all --quick               # small sizes, under a minute (ctest -R Faults)
    perf/faults.py vanish burst --binary build-x/ringserve --model model.gguf
    perf/faults.py absurd --url http://127.0.0.1:8080 --pid 1234

Scenarios (each starts its own `ringserve serve` on a free loopback port, the demo model unless
--model, and stops it):
  vanish   clients that vanish mid-request (close, RST, half-close; after the request, after the
           response head, or after some chunks) mixed with normal streamed and whole requests,
           whose answers are checked complete.
  slow     clients that ask for long streams and never read: each is cancelled past
           --max-output-bytes, server memory stays bounded, normal requests keep being served.
  burst    10x --max-concurrency requests at once, on connections the server has already accepted:
           the excess is refused (429/503 with Retry-After) within --refusal-ms (10) p99, from the
           request's send to its status line on the client (the shard's time on a CPU and waiting
           for one, from /proc, is printed beside it), and the accepted complete.
  sigterm  SIGTERM under full load: every accepted request finishes, or at --drain-timeout a
           stream ends with finish_reason "abort" and [DONE] (a whole response with a 503); new
           connections are refused; the exit status is 0.
  absurd   absurd parameters, deep nesting, huge fields, invalid UTF-8 and traversal strings in
           every string field: each a 4xx with an OpenAI error body, the server unaffected.
Every scenario ends by polling /metrics until no sequence, request, KV block, unsent byte or
connection (besides the scrape's own) is left, for up to --settle seconds.

Output: one line per check, "PASS scenario: check: figures" or "FAIL ...", lines of figures
indented under them, and a last line with the totals; the exit status is 1 when a check failed or a
server did not start, 2 for a usage error. Server logs are left in --out (default: a new directory
under /tmp), one per scenario.

Knobs: --binary (build/ringserve), --model (the demo model), --serve-args (more serve flags, e.g.
"--io-backend epoll"), --quick, --settle (seconds, 15), --out, --refusal-ms (10); sizes (full /
quick) are in SIZES below, and --max-concurrency (burst), --max-output-bytes (slow, 256 KiB) and
--drain-timeout (sigterm) override theirs. --url and --pid use a running server instead, whose
flags must then match those (sigterm cannot: it ends its server).
"""
import argparse
import asyncio
import atexit
import json
import os
import random
import re
import select
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SIZES = {
    # vanishing clients, normal requests beside them, requests in flight at once
    "vanish": {"full": dict(vanishers=1000, normal=300, concurrency=64),
               "quick": dict(vanishers=120, normal=30, concurrency=32)},
    # readers that never read (SLOW_CHOICES sequences each), normal requests beside them
    "slow": {"full": dict(readers=24, normal=100, concurrency=8),
             "quick": dict(readers=4, normal=16, concurrency=4)},
    # the server's --max-concurrency; the burst is 10x that
    "burst": {"full": dict(max_concurrency=64), "quick": dict(max_concurrency=8)},
    # the server's --max-concurrency (requests sent: it plus its queue) and --drain-timeout
    "sigterm": {"full": dict(max_concurrency=32, drain_timeout=8.0),
                "quick": dict(max_concurrency=8, drain_timeout=1.0)},
    "absurd": {"full": {}, "quick": {}},
}
MAX_OUTPUT_BYTES = 256 * 1024  # slow: the server's --max-output-bytes (its default, 4 MiB, takes long streams)
REQUEST_TIMEOUT = 120.0  # any one exchange; longer is a hang
LONG_TOKENS = 1500  # a stream that outlasts its client (the demo model's context is 2048)
MiB = 1 << 20
SLOW_CHOICES = 4  # n of a slow reader's request


# ---------------------------------------------------------------------------------------------- report

class Report:
    def __init__(self):
        self.checks = 0
        self.failed = []

    def check(self, scenario, name, ok, detail=""):
        self.checks += 1
        if not ok:
            self.failed.append(f"{scenario}: {name}")
        print(f"{'PASS' if ok else 'FAIL'} {scenario}: {name}{': ' + detail if detail else ''}", flush=True)

    def info(self, scenario, text):
        print(f"     {scenario}: {text}", flush=True)


def percentile(values, p):
    """Linear interpolation between closest ranks (numpy's default), as ringperf reports."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


# ---------------------------------------------------------------------------------------------- server

class Server:
    """A ringserve started here (process set) or one at --url (process None: never signalled)."""

    def __init__(self, host, port, pid=None, process=None, log_path=None):
        self.host, self.port, self.pid, self.process, self.log_path = host, port, pid, process, log_path

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @classmethod
    async def start(cls, opts, name, flags=()):
        if opts.url:
            m = re.fullmatch(r"http://([^:/]+):(\d+)/?", opts.url)
            if not m:
                sys.exit(f"faults: --url must be http://HOST:PORT, got {opts.url}")
            server = cls(m.group(1), int(m.group(2)), pid=opts.pid)
        else:
            log_path = Path(opts.out) / f"{name}.log"
            command = [opts.binary, "serve", "--host", "127.0.0.1", "--port", "0", "--no-pin", *flags]
            if opts.model:
                command += ["--model", opts.model]
            command += shlex.split(opts.serve_args)
            log = open(log_path, "wb")
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            atexit.register(kill_if_running, process)  # however this script ends, it leaves no server behind
            log.close()
            port = None
            deadline = time.monotonic() + 30
            while port is None:  # --port 0: the log names the port
                m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", log_path.read_bytes())
                if m:
                    port = int(m.group(1))
                elif process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    sys.exit(f"faults: ringserve did not start (log: {log_path}):\n{log_path.read_text()[-2000:]}")
                else:
                    await asyncio.sleep(0.05)
            server = cls("127.0.0.1", port, pid=process.pid, process=process, log_path=log_path)
        deadline = time.monotonic() + opts.ready_timeout
        while True:
            if (await exchange(server, "GET", "/ready", timeout=5)).status == 200:
                return server
            if server.process and server.process.poll() is not None:
                sys.exit(f"faults: ringserve exited while loading (log: {server.log_path})")
            if time.monotonic() > deadline:
                sys.exit(f"faults: ringserve not ready after {opts.ready_timeout} s")
            await asyncio.sleep(0.1)

    def rss(self):
        """Resident bytes of the server process, or None without a pid."""
        if not self.pid:
            return None
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def shard_schedstat(self):
        """(ns on a CPU, ns runnable but waiting for one) of the HTTP shard threads together, or None."""
        if not self.pid:
            return None
        ran = waited = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                if (task / "comm").read_text().startswith("shard-"):
                    fields = (task / "schedstat").read_text().split()
                    ran, waited = ran + int(fields[0]), waited + int(fields[1])
            except OSError:
                continue
        return ran, waited

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    async def stop(self):
        """SIGTERM, then SIGKILL 15 s later; the exit status, or None for a server not started here."""
        if not self.process:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        for _ in range(150):
            if self.process.poll() is not None:
                return self.process.returncode
            await asyncio.sleep(0.1)
        self.process.kill()
        return self.process.wait()


def kill_if_running(process):
    if process.poll() is None:
        process.kill()
        process.wait()


# ---------------------------------------------------------------------------------------------- HTTP

@dataclass
class Response:
    status: int = 0
    headers: dict = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    seconds: float = 0.0
    error: str = ""  # how the exchange failed at the transport level, if it did


def request_bytes(method, path, body=b"", headers=()):
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if body or method == "POST":
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    head += list(headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def read_head(reader):
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def read_chunk(reader):
    """One chunk of a chunked body; b"" for the last (its trailer read too)."""
    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
    if size == 0:
        await reader.readuntil(b"\r\n")
        return b""
    data = await reader.readexactly(size)
    await reader.readexactly(2)
    return data


async def read_body(reader, headers):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while chunk := await read_chunk(reader):
            parts.append(chunk)
        return b"".join(parts)
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return await reader.read()


async def open_connection(server):
    return await asyncio.open_connection(server.host, server.port, limit=1 << 20)


async def exchange(server, method, path, body=b"", headers=(), timeout=REQUEST_TIMEOUT):
    """One request on its own connection; transport failures come back in Response.error."""
    start = time.monotonic()
    response = Response()
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await open_connection(server)
            writer.write(request_bytes(method, path, body, headers))  # not drained: an early answer (413) is read
            response.status, response.headers = await read_head(reader)
            response.body = await read_body(reader, response.headers)
    except asyncio.TimeoutError:
        response.error = f"no complete answer in {timeout:.0f} s"
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
        response.error = f"{type(e).__name__}: {e}"
    finally:
        if writer:
            writer.close()
    response.seconds = time.monotonic() - start
    return response


def chat_body(max_tokens, stream=False, content="Tell me a story.", **fields):
    body = {"messages": [{"role": "user", "content": content}], "max_tokens": max_tokens, "ignore_eos": True}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    body.update(fields)
    return json.dumps(body).encode()


def check_stream(body):
    """(problem or None, finish reasons) of an SSE body: JSON events, every choice finished, [DONE] last."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8", []
    events = [e for e in text.split("\n\n") if e]
    if not events or events[-1] != "data: [DONE]":
        return "does not end with data: [DONE]", []
    finish = {}
    for event in events[:-1]:
        if not event.startswith("data: "):
            return f"not an SSE data event: {event[:60]!r}", []
        try:
            chunk = json.loads(event[6:])
        except ValueError:
            return f"an event is not JSON: {event[:60]!r}", []
        if "error" in chunk:
            return f"an error in the stream: {chunk['error']}", []
        for choice in chunk.get("choices", []):
            finish.setdefault(choice["index"], None)
            if choice.get("finish_reason"):
                finish[choice["index"]] = choice["finish_reason"]
    if not finish or None in finish.values():
        return "a choice has no finish_reason", []
    return None, list(finish.values())


def check_whole(body):
    """(problem or None, finish reasons) of a non-streamed completion."""
    try:
        answer = json.loads(body)
        reasons = [c["finish_reason"] for c in answer["choices"]]
        int(answer["usage"]["completion_tokens"])  # usage is there
    except (ValueError, KeyError, TypeError) as e:
        return f"not a completion body ({type(e).__name__}: {e}): {body[:80]!r}", []
    if not reasons or not all(r in ("stop", "length") for r in reasons):
        return f"finish reasons {reasons}", []
    return None, reasons


def check_answer(response, stream):
    """None when a 200 answer is complete and well-formed, else what is wrong."""
    if response.error:
        return response.error
    if response.status != 200:
        return f"status {response.status}: {response.body[:120]!r}"
    return (check_stream if stream else check_whole)(response.body)[0]


def openai_error(body):
    """None when the body is {"error": {"message": str, "type": str, "param": ..., "code": ...}}."""
    try:
        error = json.loads(body)["error"]
        if isinstance(error["message"], str) and error["message"] and isinstance(error["type"], str) \
                and "param" in error and "code" in error:
            return None
    except (ValueError, KeyError, TypeError):
        pass
    return f"not an OpenAI error body: {body[:120]!r}"


# ---------------------------------------------------------------------------------------------- metrics

class Metrics(dict):
    """/metrics as {name: value summed over its label sets}, plus labelled values under "name{labels}"."""

    @classmethod
    def parse(cls, text):
        m = cls()
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            key, value = line.rsplit(" ", 1)
            name = key.split("{", 1)[0]
            m[name] = m.get(name, 0.0) + float(value)
            if "{" in key:
                m[key] = float(value)
        return m

    def status_count(self, prefix):
        """Responses whose status starts with `prefix` ("5"), over every shard."""
        return sum(v for k, v in self.items() if k.startswith("ringserve_http_requests_total{")
                   and f'code="{prefix}' in k)

    def cancelled(self):
        return self.get('ringserve_sequences_finished_total{outcome="cancelled"}', 0.0)


async def scrape(server):
    response = await exchange(server, "GET", "/metrics", timeout=30)
    if response.status != 200:
        raise RuntimeError(f"/metrics answered {response.status} {response.error}")
    return Metrics.parse(response.body.decode())


IDLE = [  # (metric, what it must be once every client is gone, what it counts)
    ("ringserve_num_sequences_running", 0, "sequences running"),
    ("ringserve_num_sequences_waiting", 0, "sequences waiting"),
    ("ringserve_num_requests_running", 0, "requests running"),
    ("ringserve_num_requests_waiting", 0, "requests waiting"),
    ("ringserve_kv_cache_usage_ratio", 0, "KV cache usage (held blocks)"),
    ("ringserve_http_unsent_bytes", 0, "unsent response bytes"),
    ("ringserve_http_connections_open", 1, "open connections (the scrape's own)"),
]


async def check_idle(server, report, scenario, settle):
    """Polls /metrics until nothing is held, then reports each gauge; returns the last scrape."""
    start = time.monotonic()
    while True:
        m = await scrape(server)
        held = [(name, m.get(name)) for name, want, _ in IDLE if m.get(name) != want]
        if not held or time.monotonic() - start > settle:
            break
        await asyncio.sleep(0.2)
    waited = time.monotonic() - start
    for name, want, what in IDLE:
        report.check(scenario, f"{what} back to {want}", m.get(name) == want,
                     f"{name} {m.get(name):g}" + (f" after {waited:.1f} s" if m.get(name) == want else
                                                  f" still, {settle:.0f} s after the last client"))
    return m


async def check_served(server, report, scenario):
    """The server still answers a normal request, streamed and whole."""
    for stream in (False, True):
        r = await exchange(server, "POST", "/v1/chat/completions", chat_body(8, stream))
        problem = check_answer(r, stream)
        report.check(scenario, f"a normal {'streamed' if stream else 'whole'} request afterwards", problem is None,
                     problem or f"200 in {r.seconds * 1000:.0f} ms")


async def finish(server, report, scenario, opts, m_before, rss_before):
    """Common end: idle gauges, no 5xx answered, still serving, RSS, a clean stop."""
    m = await check_idle(server, report, scenario, opts.settle)
    errors = m.status_count("5") - m_before.status_count("5")
    report.check(scenario, "no 5xx answered", errors == 0, f"{errors:g} responses with a 5xx status")
    await check_served(server, report, scenario)
    if rss_before:
        report.info(scenario, f"RSS {rss_before / MiB:.0f} MiB at the start, {server.rss() / MiB:.0f} MiB at the end")
    if server.process:
        status = await server.stop()
        report.check(scenario, "server exits 0 on SIGTERM", status == 0, f"exit status {status}")


class RssSampler:
    """The server's RSS every 100 ms while running: its peak."""

    def __init__(self, server):
        self.server = server
        self.peak = server.rss() or 0
        self.task = asyncio.create_task(self.run())

    async def run(self):
        while True:
            self.peak = max(self.peak, self.server.rss() or 0)
            await asyncio.sleep(0.1)

    def stop(self):
        self.task.cancel()
        return self.peak


# ---------------------------------------------------------------------------------------------- vanish

async def vanishing_client(server, i, rng, outcomes):
    """Asks for a long stream, then goes away in one of three ways at one of three moments."""
    how = ("close", "reset", "half-close")[i % 3]
    when = ("after the request", "after the head", "mid-stream")[(i // 3) % 3]
    reader, writer = await open_connection(server)
    try:
        writer.write(request_bytes("POST", "/v1/chat/completions", chat_body(LONG_TOKENS, True, f"Story {i}.")))
        await writer.drain()
        if when != "after the request":
            status, _ = await read_head(reader)
            if status != 200:
                outcomes["refused"] += 1
                return
            for _ in range(rng.randint(1, 20) if when == "mid-stream" else 0):
                if not await read_chunk(reader):
                    outcomes["ended before vanishing"] += 1
                    return
        outcomes[how] += 1
        outcomes[when] += 1
        if how == "reset":  # SO_LINGER 0: close() sends RST instead of FIN
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif how == "half-close":  # the server reads EOF, cancels, and closes its side too
            writer.write_eof()
            try:
                async with asyncio.timeout(30):
                    while await reader.read(65536):
                        pass
                outcomes["half-closed, then closed by the server"] += 1
            except (asyncio.TimeoutError, OSError):
                pass
    except (OSError, asyncio.IncompleteReadError) as e:
        outcomes[f"transport error before vanishing: {type(e).__name__}"] += 1
    finally:
        writer.close()


async def scenario_vanish(opts, report, size):
    name = "vanish"
    server = await Server.start(opts, name)
    m_before = await scrape(server)
    rss_before = server.rss()
    rng = random.Random(20)
    outcomes = Counter()
    problems = []
    gate = asyncio.Semaphore(size["concurrency"])

    async def normal(i):
        stream = i % 2 == 0
        r = await exchange(server, "POST", "/v1/chat/completions", chat_body(16 + i % 48, stream, f"Question {i}."))
        if problem := check_answer(r, stream):
            problems.append(f"request {i} ({'streamed' if stream else 'whole'}): {problem}")

    async def gated(job):
        async with gate:
            await job

    jobs = [vanishing_client(server, i, rng, outcomes) for i in range(size["vanishers"])]
    jobs += [normal(i) for i in range(size["normal"])]
    rng.shuffle(jobs)
    report.info(name, f"{size['vanishers']} vanishing clients and {size['normal']} normal requests, "
                      f"{size['concurrency']} at a time, against {server.url}")
    start = time.monotonic()
    await asyncio.gather(*(gated(j) for j in jobs))
    report.info(name, f"all clients done in {time.monotonic() - start:.1f} s")

    report.check(name, "normal requests answered completely", not problems,
                 f"{size['normal'] - len(problems)}/{size['normal']} (streams end with [DONE], bodies parse)"
                 + (f"; first failure: {problems[0]}" if problems else ""))
    vanished = outcomes["close"] + outcomes["reset"] + outcomes["half-close"]
    planned = ("close", "reset", "half-close", "after the request", "after the head", "mid-stream",
               "half-closed, then closed by the server")
    unplanned = [f"{k}: {v}" for k, v in outcomes.items() if k not in planned]
    report.check(name, "clients vanished as planned", vanished == size["vanishers"],
                 f"{vanished}/{size['vanishers']}: {outcomes['close']} closed, {outcomes['reset']} reset, "
                 f"{outcomes['half-close']} half-closed; {outcomes['after the request']} after the request, "
                 f"{outcomes['after the head']} after the head, {outcomes['mid-stream']} mid-stream"
                 + "".join(f"; {u}" for u in unplanned))
    report.check(name, "the server closed every half-closed connection",
                 outcomes["half-closed, then closed by the server"] == outcomes["half-close"],
                 f"{outcomes['half-closed, then closed by the server']}/{outcomes['half-close']} within 30 s")
    m = await scrape(server)
    cancelled = m.cancelled() - m_before.cancelled()
    started = outcomes["after the head"] + outcomes["mid-stream"]  # these had sequences running for certain
    report.check(name, "their sequences cancelled", started <= cancelled <= vanished,
                 f"{cancelled:g} sequences finished as cancelled, for {started} clients gone after the head "
                 f"and {outcomes['after the request']} gone right after the request")
    await finish(server, report, name, opts, m_before, rss_before)


# ---------------------------------------------------------------------------------------------- slow

async def slow_reader(server, i):
    """A streamed request for a long answer with big chunks, on a socket that is never read: 4 choices of
    1500 tokens with 20 alternatives each, about 8 MB, more than the socket buffers between hold (the
    server's may grow to net.ipv4.tcp_wmem's 4 MiB)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window, so bytes pile up
    s.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(s, (server.host, server.port))
    body = chat_body(LONG_TOKENS, True, f"Tale {i}.", n=SLOW_CHOICES, logprobs=True, top_logprobs=20)
    await loop.sock_sendall(s, request_bytes("POST", "/v1/chat/completions", body))
    return s


async def scenario_slow(opts, report, size):
    name = "slow"
    cap = opts.max_output_bytes
    server = await Server.start(opts, name, ["--max-output-bytes", str(cap)])
    m_before = await scrape(server)
    rss_before = server.rss()
    sampler = RssSampler(server)
    report.info(name, f"{size['readers']} readers that never read (--max-output-bytes {cap}) and "
                      f"{size['normal']} normal requests, {size['concurrency']} at a time, against {server.url}")
    start = time.monotonic()
    readers = [await slow_reader(server, i) for i in range(size["readers"])]

    problems, e2e = [], []
    gate = asyncio.Semaphore(size["concurrency"])

    async def normal(i):
        async with gate:
            stream = i % 2 == 0
            r = await exchange(server, "POST", "/v1/chat/completions", chat_body(32, stream, f"Question {i}."))
            e2e.append(r.seconds)
            if problem := check_answer(r, stream):
                problems.append(f"request {i}: {problem}")

    normal_task = asyncio.gather(*(normal(i) for i in range(size["normal"])))
    # Each reader is cancelled once its unsent bytes pass the cap: the server counts it and logs it.
    cancelled = 0
    while time.monotonic() - start < opts.settle + 60:
        cancelled = (await scrape(server)).cancelled() - m_before.cancelled()
        if cancelled >= SLOW_CHOICES * size["readers"]:
            break
        await asyncio.sleep(0.2)
    took = time.monotonic() - start
    await normal_task
    peak = sampler.stop()
    for s in readers:
        s.close()

    report.check(name, "every slow reader cancelled", cancelled >= SLOW_CHOICES * size["readers"],
                 f"{cancelled:g}/{SLOW_CHOICES * size['readers']} sequences cancelled, {took:.1f} s after they started")
    if server.log_path:
        logged = server.log().count("reads too slowly")
        report.check(name, "the log says why", logged == size["readers"],
                     f"{logged} \"reads too slowly ... --max-output-bytes\" warnings")
    report.check(name, "normal requests answered meanwhile", not problems,
                 f"{size['normal'] - len(problems)}/{size['normal']}, e2e p50 {percentile(e2e, 50) * 1000:.0f} ms, "
                 f"max {max(e2e) * 1000:.0f} ms" + (f"; first failure: {problems[0]}" if problems else ""))
    if rss_before:
        # Each reader may hold up to the cap in unsent bytes; the rest is slack for the allocator.
        bound = size["readers"] * cap + 64 * MiB
        report.check(name, "server memory bounded", peak - rss_before <= bound,
                     f"RSS {rss_before / MiB:.0f} MiB before, peak {peak / MiB:.0f} MiB "
                     f"(+{(peak - rss_before) / MiB:.0f}, bound +{bound / MiB:.0f} = readers x cap + 64)")
    await finish(server, report, name, opts, m_before, rss_before)


# ---------------------------------------------------------------------------------------------- burst

def connect_all(host, port, count):
    socks = []
    for _ in range(count):
        s = socket.create_connection((host, port))
        s.setblocking(False)
        socks.append(s)
    return socks


def burst_exchanges(socks, bodies, timeout):
    """Sends every request at once, one per connection, and reads every answer to its end.
    Returns [(seconds from the send to the first answer byte, raw response bytes)]. Synchronous and
    epoll-driven, so that an answer is timestamped as soon as this thread can see it: a request goes
    out, then whatever has arrived is read before the next."""
    poller = select.epoll()
    index = {}
    for i, s in enumerate(socks):
        poller.register(s.fileno(), select.EPOLLIN)
        index[s.fileno()] = i
    sent = [0] * len(socks)
    first = [None] * len(socks)
    data = [bytearray() for _ in socks]
    open_count = len(socks)

    def drain(wait):
        nonlocal open_count
        for fd, _ in poller.poll(wait):
            i = index[fd]
            try:
                chunk = socks[i].recv(1 << 16)
            except BlockingIOError:
                continue
            except ConnectionError:
                chunk = b""
            if chunk and first[i] is None:
                first[i] = time.time_ns()
            data[i] += chunk
            if not chunk:
                poller.unregister(fd)
                socks[i].close()
                open_count -= 1

    for i, (s, body) in enumerate(zip(socks, bodies)):
        sent[i] = time.time_ns()
        s.sendall(request_bytes("POST", "/v1/chat/completions", body))
        drain(0)
    deadline = time.monotonic() + timeout
    while open_count and time.monotonic() < deadline:
        drain(0.5)
    for s in socks:
        if s.fileno() >= 0:
            s.close()
    poller.close()
    return [((f - t) / 1e9 if f else None, bytes(d)) for t, f, d in zip(sent, first, data)]


def parse_response(raw):
    """A whole response read to EOF: Response(status, headers, body with chunked framing removed)."""
    r = Response()
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        r.error = f"no complete head: {raw[:80]!r}"
        return r
    lines = head.decode("latin-1").split("\r\n")
    r.status = int(lines[0].split()[1])
    for line in lines[1:]:
        k, _, v = line.partition(":")
        r.headers[k.strip().lower()] = v.strip()
    if r.headers.get("transfer-encoding", "").lower() != "chunked":
        r.body = rest
        return r
    body = bytearray()
    while True:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            r.error = "the chunked body is cut short"
            break
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body += rest[:size]
        rest = rest[size + 2:]
    r.body = bytes(body)
    return r


async def scenario_burst(opts, report, size):
    name = "burst"
    limit = opts.max_concurrency or size["max_concurrency"]
    server = await Server.start(opts, name, ["--max-concurrency", str(limit), "--access-log"])
    m_before = await scrape(server)
    rss_before = server.rss()
    count = 10 * limit
    bodies = [chat_body(32, i % 2 == 0, f"Burst {i}.") for i in range(count)]
    report.info(name, f"{count} requests at once against --max-concurrency {limit} "
                      f"(and a queue as long, the default) at {server.url}")
    socks = await asyncio.to_thread(connect_all, server.host, server.port, count)
    # The server has accepted every connection before the burst: what is timed is the answer, not the accept.
    deadline = time.monotonic() + 30
    while (await scrape(server))["ringserve_http_connections_open"] < count + 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    sched_before = server.shard_schedstat()
    results = await asyncio.to_thread(burst_exchanges, socks, bodies, REQUEST_TIMEOUT)
    sched_after = server.shard_schedstat()

    accepted, refused, other, bad_refusals, problems = 0, [], [], [], []
    for i, (seconds, raw) in enumerate(results):
        r = parse_response(raw)
        if r.status == 200:
            accepted += 1
            if problem := check_answer(r, i % 2 == 0):
                problems.append(f"request {i}: {problem}")
        elif r.status in (429, 503):
            refused.append(seconds * 1000)
            if "retry-after" not in r.headers or openai_error(r.body):
                bad_refusals.append(f"request {i}: {r.status} {r.headers.get('retry-after')} {r.body[:80]!r}")
        else:
            other.append(f"request {i}: {r.status or r.error}")
    report.check(name, "every request answered 200, 429 or 503", not other,
                 f"{accepted} accepted, {len(refused)} refused" + (f"; others: {other[:3]}" if other else ""))
    report.check(name, "refusals carry Retry-After and an OpenAI error body", bool(refused) and not bad_refusals,
                 f"{len(refused) - len(bad_refusals)}/{len(refused)}" + (f"; {bad_refusals[0]}" if bad_refusals else ""))
    p99 = percentile(refused, 99)
    report.check(name, f"refused within {opts.refusal_ms:g} ms p99", p99 <= opts.refusal_ms,
                 f"request sent -> status line received: p50 {percentile(refused, 50):.2f} ms, p99 {p99:.2f} ms, "
                 f"max {max(refused, default=0):.2f} ms")
    # What the shard did meanwhile tells its work apart from the wait for a CPU a busy machine adds: its
    # threads' time on a CPU and runnable but off one (/proc schedstat), and the access log's time from each
    # refused request's receipt to its answer (the shard's clock, read once per batch of completions).
    served = [float(ms) for ms in re.findall(r'" (?:429|503) \d+ ([\d.]+)ms', server.log())]
    if sched_before and sched_after:
        report.info(name, f"shard threads over the burst: {(sched_after[0] - sched_before[0]) / 1e6:.1f} ms on a "
                          f"CPU, {(sched_after[1] - sched_before[1]) / 1e6:.1f} ms runnable waiting for one"
                          + (f"; access log, receipt to refusal: max {max(served):.3f} ms" if served else ""))
    report.check(name, "accepted requests complete", not problems and accepted >= limit,
                 f"{accepted - len(problems)}/{accepted} (at least --max-concurrency {limit} accepted)"
                 + (f"; first failure: {problems[0]}" if problems else ""))
    await finish(server, report, name, opts, m_before, rss_before)


# ---------------------------------------------------------------------------------------------- sigterm

async def scenario_sigterm(opts, report, size):
    name = "sigterm"
    if opts.url:
        report.check(name, "needs a server it starts (it ends it)", False, "run without --url")
        return
    limit = size["max_concurrency"]
    drain = opts.drain_timeout or size["drain_timeout"]
    # A running batch an eighth of the admitted load keeps requests queued, so that a short drain (--quick's 1 s)
    # or a slower model cuts the longest; the demo model may finish them all inside 8 s, also a pass.
    seqs = max(1, limit // 8)
    server = await Server.start(opts, name, ["--max-concurrency", str(limit), "--max-seqs", str(seqs),
                                             "--drain-timeout", f"{drain:g}"])
    total = 2 * limit  # the running limit plus the queue, as long by default: full
    # Answers of every length, streamed and whole: the short end inside the drain, the longest are cut.
    kinds = [("whole", 32), ("stream", 32), ("stream", 300), ("stream", LONG_TOKENS), ("whole", LONG_TOKENS)]
    results = [None] * total
    term_at = None

    async def client(i):
        kind, tokens = kinds[i % len(kinds)]
        stream = kind == "stream"
        r = Response()
        writer = None
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                reader, writer = await open_connection(server)
                writer.write(request_bytes("POST", "/v1/chat/completions", chat_body(tokens, stream, f"Job {i}.")))
                await writer.drain()
                r.status, r.headers = await read_head(reader)
                r.body = await read_body(reader, r.headers)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
            r.error = f"{type(e).__name__}: {e}"
        finally:
            if writer:
                writer.close()
        r.seconds = time.monotonic() - term_at if term_at else -1.0  # when it ended, from SIGTERM
        results[i] = (kind, tokens, r)

    report.info(name, f"{total} requests (--max-concurrency {limit}, as many queued, --max-seqs {seqs}), "
                      f"--drain-timeout {drain:g} s, against {server.url}")
    tasks = [asyncio.create_task(client(i)) for i in range(total)]
    # SIGTERM once every request is accepted: in flight at the server, or already answered.
    deadline = time.monotonic() + 60
    while True:
        m = await scrape(server)
        in_flight = m["ringserve_num_requests_running"] + m["ringserve_num_requests_waiting"]
        if in_flight + sum(t.done() for t in tasks) >= total or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    term_at = time.monotonic()
    server.process.send_signal(signal.SIGTERM)

    refused_probes = accepted_probes = 0
    await asyncio.sleep(0.3)
    while server.process.poll() is None and time.monotonic() - term_at < drain + 15:
        try:
            probe = socket.create_connection((server.host, server.port), timeout=1)
            probe.close()
            accepted_probes += 1
        except ConnectionRefusedError:
            refused_probes += 1
        except OSError:
            pass
        await asyncio.sleep(0.1)
    await asyncio.gather(*tasks)
    try:
        status = await asyncio.to_thread(server.process.wait, 15)
    except subprocess.TimeoutExpired:
        status = await server.stop()
    exited = time.monotonic() - term_at

    finished, cut, cut_whole, problems = 0, 0, 0, []
    for i, (kind, tokens, r) in enumerate(results):
        if r.error:
            problems.append(f"{kind} {i} ({tokens} tokens): {r.error}")
        elif kind == "stream":
            problem, reasons = check_stream(r.body) if r.status == 200 else (f"status {r.status}", [])
            if problem:
                problems.append(f"stream {i}: {problem}")
            elif "abort" in reasons:
                cut += 1
                if r.seconds < drain - 0.5:
                    problems.append(f"stream {i} cut {r.seconds:.1f} s after SIGTERM, before --drain-timeout")
            else:
                finished += 1
        elif r.status == 503:  # a whole answer not sent by the deadline
            cut += 1
            cut_whole += 1
            if "retry-after" not in r.headers or r.seconds < drain - 0.5:
                problems.append(f"whole {i}: 503 after {r.seconds:.1f} s, Retry-After {r.headers.get('retry-after')}")
        elif problem := check_answer(r, False):
            problems.append(f"whole {i}: {problem}")
        else:
            finished += 1
    report.check(name, "every accepted request finished or was cut cleanly at the drain timeout", not problems,
                 f"{in_flight:g} in flight at SIGTERM; {finished} finished, {cut} cut ({cut - cut_whole} streams with "
                 f"finish_reason \"abort\" then [DONE], {cut_whole} whole answers 503 with Retry-After)"
                 + (f"; first: {problems[0]}" if problems else ""))
    logged = sum(int(n) for n in re.findall(r"reached; cut (\d+) request", server.log()))
    report.check(name, "the log counts the cut requests", logged == cut, f"log says {logged}, clients saw {cut}")
    report.check(name, "new connections refused after SIGTERM", accepted_probes == 0 and refused_probes > 0,
                 f"{refused_probes} refused, {accepted_probes} accepted (probed every 0.1 s from 0.3 s)")
    report.check(name, "exit status 0 after the drain", status == 0 and exited <= drain + 5,
                 f"exit status {status}, {exited:.1f} s after SIGTERM (--drain-timeout {drain:g})")


# ---------------------------------------------------------------------------------------------- absurd

BAD_UTF8 = b"\xff\xfe"  # never valid in UTF-8

def chat_fields(**fields):
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    body.update(fields)
    return body


def with_raw(body, marker, raw):
    """The JSON of `body` with the string `marker` replaced by raw bytes (what json cannot write)."""
    return json.dumps(body).encode().replace(marker.encode(), raw)


def absurd_cases():
    """(name, path, body, expected): expected is a status, "4xx", or "text" for a string that is only
    text to the server (200 or a 4xx, never a 5xx or a file's contents)."""
    C, P = "/v1/chat/completions", "/v1/completions"
    cases = [
        ("n = 1000", C, chat_fields(n=1000), 400),
        ("n = 16 x 64 prompts", P, {"prompt": ["a"] * 64, "n": 16, "max_tokens": 1}, 400),
        ("max_tokens = 10^9", C, chat_fields(max_tokens=10**9), 400),
        ("max_tokens = 10^30", C, chat_fields(max_tokens=10**30), 400),
        ("max_tokens = -1", C, chat_fields(max_tokens=-1), 400),
        ("max_tokens as a string", C, chat_fields(max_tokens="1000000000"), 400),
        ("completions logprobs = 10^6", P, {"prompt": "hi", "logprobs": 10**6, "max_tokens": 1}, 400),
        ("chat logprobs = 10^6", C, chat_fields(logprobs=10**6), 400),
        ("top_logprobs = 10^6", C, chat_fields(logprobs=True, top_logprobs=10**6), 400),
        ("logit_bias of 10^6 entries", C,
         b'{"messages":[{"role":"user","content":"hi"}],"logit_bias":{' +
         b",".join(b'"%d":1' % i for i in range(10**6)) + b"}}", 400),
        ("logit_bias token 2^31 - 1", C, chat_fields(logit_bias={"2147483647": 1}), 400),
        ("logit_bias value 1e300", C, chat_fields(logit_bias={"5": 1e300}), 400),
        ("temperature 1e308", C, chat_fields(temperature=1e308), 400),
        ("seed 2^64 + 5", C, chat_fields(seed=2**64 + 5), 400),
        ("100k [ unclosed", C, b"[" * 100_000, 400),
        ("100k [ ] balanced", C, b"[" * 100_000 + b"]" * 100_000, 400),
        ("100k nested objects", C, b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400),
        ("messages nested 5000 deep", C, b'{"messages":' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
        ("JSON schema nested 500 deep", C, b'{"messages":[{"role":"user","content":"hi"}],"response_format":'
         b'{"type":"json_schema","json_schema":{"name":"x","schema":' +
         b'{"type":"object","properties":{"a":' * 500 + b'{"type":"string"}' + b"}}" * 500 + b"}}}", 400),
        ("regex nested 20000 deep", C, chat_fields(guided_regex="(" * 20000 + "a" + ")" * 20000), 400),
        ("GBNF nested 20000 deep", C, chat_fields(grammar="root ::= " + "(" * 20000 + '"a"' + ")" * 20000), 400),
        ("1 MB stop string", C, chat_fields(stop="x" * 1_000_000), 400),
        ("16 stop strings of 0.99 MB, n = 16", C,
         chat_fields(n=16, stop=[chr(97 + i) * 990_000 for i in range(16)]), 400),
        ("17 stop strings", C, chat_fields(stop=["s"] * 17), 400),
        ("10k guided choices", C, chat_fields(guided_choice=["x" * 100] * 10_000), 400),
        ("1000 tools", C, chat_fields(tools=[{"type": "function", "function": {"name": f"f{i}"}}
                                             for i in range(1000)]), 400),
        ("100k messages", C, {"messages": [{"role": "user", "content": "hi"}] * 100_000}, 400),
        ("a prompt of 10^6 token ids", P, {"prompt": [5] * 10**6, "max_tokens": 1}, 400),
        ("token id 2^31 in a prompt", P, {"prompt": [2**31], "max_tokens": 1}, 400),
        ("a body past --max-body-bytes", C, b'{"messages":"' + b"x" * (17 << 20) + b'"}', 413),
        ("lone surrogate escape", C, b'{"messages":[{"role":"user","content":"a\\ud800b"}]}', 400),
    ]
    # Invalid UTF-8 in every string field a request has: the body is refused whole.
    string_fields = {
        "model": chat_fields(model="@@"), "messages[0].role": chat_fields(messages=[{"role": "@@", "content": "x"}]),
        "messages[0].content": chat_fields(messages=[{"role": "user", "content": "@@"}]),
        "messages[0].content[0].text": chat_fields(messages=[{"role": "user", "content": [{"type": "text",
                                                                                             "text": "@@"}]}]),
        "messages[0].name": chat_fields(messages=[{"role": "user", "content": "x", "name": "@@"}]),
        "stop": chat_fields(stop=["@@"]), "user": chat_fields(user="@@"), "cache_salt": chat_fields(cache_salt="@@"),
        "tools[0].function.name": chat_fields(tools=[{"type": "function", "function": {"name": "@@"}}]),
        "tools[0].function.description": chat_fields(tools=[{"type": "function",
                                                              "function": {"name": "f", "description": "@@"}}]),
        "tool_choice": chat_fields(tool_choice="@@"), "response_format.type": chat_fields(response_format={"type": "@@"}),
        "guided_regex": chat_fields(guided_regex="@@"), "grammar": chat_fields(grammar="@@"),
        "a field name": chat_fields(**{"@@": 1}),
        "completions prompt": {"prompt": "@@", "max_tokens": 1}, "completions model": {"prompt": "a", "model": "@@"},
    }
    for where, body in string_fields.items():
        path = P if where.startswith("completions") else C
        cases.append((f"invalid UTF-8 in {where}", path, with_raw(body, "@@", b"a" + BAD_UTF8 + b"z"), 400))
    # Traversal strings: the model names nothing on disk (404); elsewhere they are only text.
    t = "../../../../etc/passwd"
    cases += [
        ("traversal in model", C, chat_fields(model=t), 404),
        ("absolute path as model", P, {"prompt": "a", "model": "/etc/passwd", "max_tokens": 1}, 404),
        ("traversal in a $ref", C, chat_fields(response_format={"type": "json_schema", "json_schema": {
            "name": "x", "schema": {"$ref": t}}}), "4xx"),
        ("file URL in a $ref", C, chat_fields(response_format={"type": "json_schema", "json_schema": {
            "name": "x", "schema": {"$ref": "file:///etc/passwd"}}}), "4xx"),
        ("traversal as a tool name", C, chat_fields(tools=[{"type": "function", "function": {"name": t}}]), 400),
        ("traversal in a message", C, chat_fields(messages=[{"role": "user", "content": t}]), "text"),
        ("traversal in user, cache_salt, stop", C, chat_fields(user=t, cache_salt=t, stop=[t]), "text"),
        ("traversal in a tool description", C, chat_fields(tools=[{"type": "function", "function": {
            "name": "f", "description": t}}]), "text"),
    ]
    return [(n, p, b if isinstance(b, bytes) else json.dumps(b).encode(), e) for n, p, b, e in cases]


async def scenario_absurd(opts, report, size):
    name = "absurd"
    server = await Server.start(opts, name)
    m_before = await scrape(server)
    rss_before = server.rss()
    sampler = RssSampler(server)
    report.info(name, f"each case, then a normal request, against {server.url}")
    for case, path, body, expected in absurd_cases():
        r = await exchange(server, "POST", path, body)
        if r.error:
            ok, detail = False, r.error
        elif expected == "text":
            ok = r.status == 200 or 400 <= r.status < 500
            ok = ok and b"root:" not in r.body
            detail = f"{r.status}, no file contents"
        else:
            ok = (400 <= r.status < 500) if expected == "4xx" else r.status == expected
            problem = openai_error(r.body)
            ok = ok and problem is None
            detail = f"{r.status}" + (f" {problem}" if problem else
                                      f" {json.loads(r.body)['error']['message'][:90]!r}")
        after = await exchange(server, "POST", "/v1/chat/completions", chat_body(4))
        if problem := check_answer(after, False):
            ok, detail = False, f"{detail}; the next normal request: {problem}"
        report.check(name, case, ok, f"{detail} in {r.seconds * 1000:.0f} ms ({len(body):,} bytes)")
    # max_tokens within the context but past what fits beside the prompt is clamped, as README documents: a
    # prompt 8 tokens short of the context gets exactly 8 with finish_reason "length".
    context = json.loads((await exchange(server, "POST", "/tokenize", b'{"prompt":"a"}')).body)["max_model_len"]
    body = json.dumps({"prompt": [5] * (context - 8), "max_tokens": context, "ignore_eos": True}).encode()
    r = await exchange(server, "POST", "/v1/completions", body)
    problem = check_answer(r, False)
    if not problem:
        answer = json.loads(r.body)
        got = (answer["choices"][0]["finish_reason"], answer["usage"]["completion_tokens"])
        problem = None if got == ("length", 8) else f"finish_reason {got[0]}, {got[1]} tokens"
    report.check(name, "max_tokens = the context, beside a prompt, clamped to what fits", problem is None,
                 problem or f"200, finish_reason length, 8 tokens after {context - 8} of a {context}-token context "
                            f"(README: clamped, not refused)")
    peak = sampler.stop()
    if rss_before:
        now = server.rss()
        report.check(name, "server memory bounded", peak - rss_before <= 512 * MiB and now - rss_before <= 256 * MiB,
                     f"RSS {rss_before / MiB:.0f} MiB before, peak {peak / MiB:.0f}, after {now / MiB:.0f} MiB "
                     f"(bounds: peak +512, after +256; bodies up to 17 MB were read)")
    await finish(server, report, name, opts, m_before, rss_before)


# ---------------------------------------------------------------------------------------------- main

SCENARIOS = {"vanish": scenario_vanish, "slow": scenario_slow, "burst": scenario_burst,
             "sigterm": scenario_sigterm, "absurd": scenario_absurd}


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="+", choices=[*SCENARIOS, "all"], metavar="SCENARIO",
                        help=f"one or more of {', '.join(SCENARIOS)}, or all")
    parser.add_argument("--quick", action="store_true", help="small sizes (the ctest entry)")
    parser.add_argument("--binary", default=str(REPO / "build" / "ringserve"))
    parser.add_argument("--model", default="", help="default: the built-in demo model")
    parser.add_argument("--serve-args", default="", help="more `ringserve serve` flags")
    parser.add_argument("--url", default="", help="a running server instead (http://HOST:PORT)")
    parser.add_argument("--pid", type=int, default=0, help="with --url: its pid, for RSS and the shard's schedstat")
    parser.add_argument("--out", default="", help="server logs (default: a new directory under /tmp)")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds for gauges to return to idle")
    parser.add_argument("--ready-timeout", type=float, default=300.0)
    parser.add_argument("--max-concurrency", type=int, default=0, help="burst: the server's (default: SIZES)")
    parser.add_argument("--max-output-bytes", type=int, default=MAX_OUTPUT_BYTES, help="slow: the server's")
    parser.add_argument("--drain-timeout", type=float, default=0.0, help="sigterm (default: SIZES)")
    parser.add_argument("--refusal-ms", type=float, default=10.0, help="burst: the p99 a refusal must meet")
    opts = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # exit through atexit, which stops the servers
    if not opts.url and not os.access(opts.binary, os.X_OK):
        parser.error(f"no ringserve at {opts.binary} (--binary)")
    opts.out = opts.out or tempfile.mkdtemp(prefix="ringserve-faults-")
    Path(opts.out).mkdir(parents=True, exist_ok=True)
    names = list(SCENARIOS) if "all" in opts.scenarios else list(dict.fromkeys(opts.scenarios))
    report = Report()
    print(f"faults: {', '.join(names)} ({'quick' if opts.quick else 'full'} size); server logs in {opts.out}",
          flush=True)
    start = time.monotonic()
    for scenario in names:
        t = time.monotonic()
        await SCENARIOS[scenario](opts, report, SIZES[scenario]["quick" if opts.quick else "full"])
        report.info(scenario, f"done in {time.monotonic() - t:.1f} s")
    print(f"faults: {report.checks} checks, {len(report.failed)} failed, {time.monotonic() - start:.0f} s"
          + (": " + "; ".join(report.failed) if report.failed else ""), flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
