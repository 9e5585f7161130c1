"""``ControllerHTTP`` over real loopback sockets: each route and status code, the webhook's body and
header handling (cap, timeouts, Expect: 100-continue), failing callbacks, two servers in one process,
and a fast ``stop()``.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from reconciler.runtime.http_endpoints import Webhook
from reconciler.runtime.http_handler import MAX_WEBHOOK_BODY
from reconciler.runtime.http_server import ControllerHTTP, parse_listen
from reconciler.runtime.metrics import Metrics


@dataclass
class Callbacks:
    """Mutable answers for the server's callbacks, plus a record of webhook calls."""

    healthy: bool = True
    ready: bool = True
    status: dict[str, Any] = field(default_factory=dict)
    hook_answer: tuple[int, str] = (202, "sync queued\n")
    hook_calls: list[tuple[bytes, Mapping[str, str]]] = field(default_factory=list)

    def webhook(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        self.hook_calls.append((body, headers))
        return self.hook_answer


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


Start = Callable[..., tuple[ControllerHTTP, Callbacks, Metrics]]


@pytest.fixture
def start() -> Iterator[Start]:
    """Start a server on 127.0.0.1:0 with fresh ``Callbacks``; every server is stopped at teardown."""
    servers: list[ControllerHTTP] = []

    def _start(
        *,
        webhook: bool = True,
        listen: str = "127.0.0.1:0",
        status: Callable[[], dict[str, Any]] | None = None,
        hook: Webhook | None = None,
        **kwargs: Any,
    ) -> tuple[ControllerHTTP, Callbacks, Metrics]:
        cb = Callbacks()
        metrics = Metrics()
        server = ControllerHTTP(
            listen,
            metrics,
            status=status or (lambda: cb.status),
            ready=lambda: cb.ready,
            healthy=lambda: cb.healthy,
            webhook=(hook or cb.webhook) if webhook else None,
            **kwargs,
        )
        server.start()
        servers.append(server)
        return server, cb, metrics

    yield _start
    for server in servers:
        server.stop()


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def raw_exchange(port: int, data: bytes, wait_s: float = 5.0) -> bytes:
    """Send ``data`` as is and return everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


# --- probes and status -----------------------------------------------------------------------------


def test_healthz_follows_the_callback(start: Start) -> None:
    server, cb, _ = start()
    ok = request(server.port, "GET", "/healthz")
    assert (ok.status, ok.body) == (200, b"ok\n")
    assert ok.headers["content-type"].startswith("text/plain")
    cb.healthy = False
    assert request(server.port, "GET", "/healthz").status == 503


def test_readyz_follows_the_callback(start: Start) -> None:
    server, cb, _ = start()
    cb.ready = False
    not_ready = request(server.port, "GET", "/readyz")
    assert (not_ready.status, not_ready.body) == (503, b"not ready\n")
    cb.ready = True
    assert request(server.port, "GET", "/readyz?verbose=1").status == 200


def test_head_answers_like_get_without_a_body(start: Start) -> None:
    server, _, _ = start()
    resp = request(server.port, "HEAD", "/healthz")
    assert (resp.status, resp.body, resp.headers["content-length"]) == (200, b"", "3")


def test_status_is_the_callbacks_dict_as_json(start: Start) -> None:
    server, cb, _ = start()
    cb.status = {
        "revision": "3f2a9c1",
        "leader": True,
        "last_result": {"ok": True, "applied": 2, "duration_s": 0.25},
        "resources": [{"kind": "Service", "name": "web", "state": "in_sync"}],
        "note": "ünïcode ✓",
    }
    resp = request(server.port, "GET", "/status")
    assert resp.status == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["cache-control"] == "no-store"
    assert json.loads(resp.body) == cb.status


# --- metrics ---------------------------------------------------------------------------------------

EXPECTED_TYPES = {
    "reconciler_reconcile_duration_seconds": "histogram",
    "reconciler_changes_applied_total": "counter",
    "reconciler_drift_detected_total": "counter",
    "reconciler_errors_total": "counter",
    "reconciler_leader": "gauge",
    "reconciler_last_success_timestamp_seconds": "gauge",
    "reconciler_revision_info": "gauge",
    "reconciler_objects": "gauge",
    "reconciler_api_requests_total": "counter",
}


def test_metrics_exposes_every_series_with_its_type(start: Start) -> None:
    server, _, metrics = start()
    metrics.observe_pass(0.4, [("Service", "create"), ("Network", "update")], ["Config"], True, 1_700_000_000.0)
    metrics.set_leader(True)
    metrics.set_revision("aaaa111")
    metrics.set_revision("bbbb222")
    metrics.set_objects({"in_sync": 7})
    metrics.count_error("git")
    metrics.count_api_requests(5)

    resp = request(server.port, "GET", "/metrics")
    assert resp.status == 200
    assert resp.headers["content-type"] == metrics.content_type
    text = resp.body.decode()
    types = {line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE reconciler_")}
    for name, kind in EXPECTED_TYPES.items():
        assert types.get(name) == kind, name
    lines = set(text.splitlines())
    assert "reconciler_leader 1.0" in lines
    assert 'reconciler_revision_info{revision="bbbb222"} 1.0' in lines
    assert "aaaa111" not in text
    assert 'reconciler_changes_applied_total{action="create",kind="Service"} 1.0' in lines
    assert 'reconciler_drift_detected_total{kind="Config"} 1.0' in lines
    assert 'reconciler_errors_total{stage="git"} 1.0' in lines
    assert 'reconciler_objects{state="in_sync"} 7.0' in lines
    assert "reconciler_api_requests_total 5.0" in lines
    assert "reconciler_last_success_timestamp_seconds 1.7e+09" in lines
    assert "reconciler_reconcile_duration_seconds_count 1.0" in lines


# --- webhook ---------------------------------------------------------------------------------------


def test_webhook_absent_is_404(start: Start) -> None:
    server, cb, _ = start(webhook=False)
    resp = request(server.port, "POST", "/hooks/git", body=b"{}")
    assert resp.status == 404
    assert cb.hook_calls == []


def test_webhook_gets_the_exact_body_and_headers_and_its_answer_is_returned(start: Start) -> None:
    server, cb, _ = start()
    body = b'{"ref": "refs/heads/main", "after": "3f2a9c1"}\x00\xff'
    cb.hook_answer = (202, "sync queued\n")
    resp = request(
        server.port,
        "POST",
        "/hooks/git",
        body=body,
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=abc", "Content-Type": "application/json"},
    )
    assert (resp.status, resp.body) == (202, b"sync queued\n")
    [(got_body, got_headers)] = cb.hook_calls
    assert got_body == body
    assert got_headers["X-GitHub-Event"] == "push"
    assert got_headers["x-hub-signature-256"] == "sha256=abc"
    assert got_headers["Content-Length"] == str(len(body))
    assert "X-GitHub-Event" in set(got_headers)


def test_webhook_status_is_passed_through(start: Start) -> None:
    server, cb, _ = start()
    cb.hook_answer = (401, "bad signature\n")
    resp = request(server.port, "POST", "/hooks/git", body=b"x")
    assert (resp.status, resp.body) == (401, b"bad signature\n")


def test_webhook_body_of_exactly_the_cap_is_accepted_and_one_more_byte_is_413(start: Start) -> None:
    server, cb, _ = start()
    assert request(server.port, "POST", "/hooks/git", body=b"a" * MAX_WEBHOOK_BODY).status == 202
    assert len(cb.hook_calls[0][0]) == MAX_WEBHOOK_BODY
    resp = request(server.port, "POST", "/hooks/git", body=b"a" * (MAX_WEBHOOK_BODY + 1))
    assert resp.status == 413
    assert len(cb.hook_calls) == 1
    # The connection was drained, not reset: the server keeps serving.
    assert request(server.port, "GET", "/healthz").status == 200


def test_oversized_body_with_expect_100_is_refused_before_it_is_sent(start: Start) -> None:
    server, cb, _ = start()
    answer = raw_exchange(
        server.port,
        b"POST /hooks/git HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        + f"Content-Length: {MAX_WEBHOOK_BODY * 10}\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert cb.hook_calls == []


def test_expect_100_continue_within_the_cap_works(start: Start) -> None:
    server, cb, _ = start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /hooks/git HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 ")
        sock.sendall(b"hello")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 202 ")
    assert cb.hook_calls[0][0] == b"hello"


def test_a_slow_body_times_out_with_408(start: Start) -> None:
    server, cb, _ = start(request_timeout=0.3)
    began = time.monotonic()
    answer = raw_exchange(server.port, b"POST /hooks/git HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - began < 2
    assert cb.hook_calls == []


def test_bad_content_length_is_400_and_chunked_is_411(start: Start) -> None:
    server, cb, _ = start()
    bad = raw_exchange(server.port, b"POST /hooks/git HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
    assert bad.startswith(b"HTTP/1.1 400 ")
    chunked = raw_exchange(
        server.port, b"POST /hooks/git HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    assert chunked.startswith(b"HTTP/1.1 411 ")
    assert cb.hook_calls == []


def test_a_body_cut_short_by_the_client_is_400(start: Start) -> None:
    server, cb, _ = start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /hooks/git HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert cb.hook_calls == []


# --- errors ----------------------------------------------------------------------------------------


def test_unknown_path_is_404_and_wrong_method_is_405(start: Start) -> None:
    server, _, _ = start()
    assert request(server.port, "GET", "/nope").status == 404
    assert request(server.port, "GET", "/healthz/").status == 404
    assert request(server.port, "DELETE", "/nope").status == 404
    post = request(server.port, "POST", "/healthz", body=b"x" * 100_000)
    assert (post.status, post.headers["allow"]) == (405, "GET, HEAD")
    get_hook = request(server.port, "GET", "/hooks/git")
    assert (get_hook.status, get_hook.headers["allow"]) == (405, "POST")
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        assert request(server.port, method, "/metrics").status == 405, method


def test_a_failing_callback_is_a_500_with_a_log_line_and_the_server_keeps_serving(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> dict[str, Any]:
        raise RuntimeError("status exploded")

    def bad_hook(body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        raise ValueError("hook exploded")

    server, _, _ = start(status=boom, hook=bad_hook)
    caplog.set_level(logging.ERROR, logger="reconciler.runtime.http_server")
    for method, path in (("GET", "/status"), ("POST", "/hooks/git")):
        resp = request(server.port, method, path, body=b"{}" if method == "POST" else None)
        assert (resp.status, resp.body) == (500, b"internal error\n")
        assert b"exploded" not in resp.body
    messages = [r.getMessage() for r in caplog.records]
    assert any("GET /status failed" in m for m in messages)
    assert any("POST /hooks/git failed" in m for m in messages)
    assert any(r.exc_info and "status exploded" in str(r.exc_info[1]) for r in caplog.records)
    assert request(server.port, "GET", "/healthz").status == 200


def test_a_webhook_answer_of_the_wrong_shape_is_a_500(start: Start) -> None:
    server, cb, _ = start()
    cb.hook_answer = (99, "weird")
    assert request(server.port, "POST", "/hooks/git", body=b"").status == 500


def test_a_status_that_is_not_json_is_a_500(start: Start) -> None:
    server, cb, _ = start()
    cb.status = {"when": object()}
    assert request(server.port, "GET", "/status").status == 500
    cb.status = {"nan": float("nan")}
    assert request(server.port, "GET", "/status").status == 500


def test_requests_write_nothing_to_stderr(start: Start, capfd: pytest.CaptureFixture[str]) -> None:
    server, _, _ = start()
    for path in ("/healthz", "/nope", "/metrics"):
        request(server.port, "GET", path)
    raw_exchange(server.port, b"garbage\r\n\r\n")
    assert capfd.readouterr().err == ""


# --- lifecycle -------------------------------------------------------------------------------------


def test_two_servers_in_one_process_do_not_clash(start: Start) -> None:
    a, _, metrics_a = start()
    b, cb_b, _ = start()
    assert a.port != b.port
    metrics_a.set_leader(True)
    cb_b.healthy = False
    assert "reconciler_leader 1.0" in request(a.port, "GET", "/metrics").body.decode().splitlines()
    assert "reconciler_leader 0.0" in request(b.port, "GET", "/metrics").body.decode().splitlines()
    assert request(a.port, "GET", "/healthz").status == 200
    assert request(b.port, "GET", "/healthz").status == 503


def test_stop_is_fast_even_with_a_stuck_client_and_frees_the_port(start: Start) -> None:
    server, _, _ = start()
    port = server.port
    assert request(port, "GET", "/healthz").status == 200
    with socket.create_connection(("127.0.0.1", port), timeout=5) as stuck:
        stuck.sendall(b"GET /healthz HTTP/1.1\r\n")  # and never finishes the request
        time.sleep(0.05)
        began = time.monotonic()
        server.stop()
        assert time.monotonic() - began < 1.0
    with pytest.raises(OSError):
        request(port, "GET", "/healthz")
    server.stop()  # idempotent


def test_start_is_single_use_and_port_needs_start() -> None:
    server = ControllerHTTP("127.0.0.1:0", Metrics(), status=dict, ready=lambda: True, healthy=lambda: True)
    with pytest.raises(RuntimeError):
        _ = server.port
    with server:
        assert server.port > 0
        with pytest.raises(RuntimeError):
            server.start()


def test_a_port_in_use_is_an_oserror_at_start(start: Start) -> None:
    first, _, _ = start()
    second = ControllerHTTP(f"127.0.0.1:{first.port}", Metrics(), status=dict, ready=lambda: True, healthy=lambda: True)
    with pytest.raises(OSError):
        second.start()
    second.stop()


def test_all_interfaces_listen_answers_on_ipv4_loopback(start: Start) -> None:
    server, _, _ = start(listen=":0")
    assert request(server.port, "GET", "/healthz").status == 200


def test_ipv6_loopback_listen(start: Start) -> None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    server, _, _ = start(listen="[::1]:0")
    conn = http.client.HTTPConnection("::1", server.port, timeout=5)
    try:
        conn.request("GET", "/readyz")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        (":9100", ("", 9100)),
        (":0", ("", 0)),
        ("9100", ("", 9100)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("0.0.0.0:9100", ("0.0.0.0", 9100)),
        ("[::]:9100", ("::", 9100)),
        ("[::1]:0", ("::1", 0)),
        ("localhost:8080", ("localhost", 8080)),
    ],
)
def test_parse_listen(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize(
    "listen", ["", ":", "::1:9100", "[::1]", "[::1]9100", "[nope]:1", ":65536", ":-1", ":9l00", ":٣"]
)
def test_parse_listen_rejects(listen: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(listen)
