"""The Engine API client over the standard library: addresses, TLS from the environment, keep-alive
connections shared by threads, error answers, a stream closed from another thread. Against small
HTTP servers of the test's own, on a unix socket in tmp_path or on loopback (the lab's real engine
is used through the adapter by the contract and integration suites)."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import re
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from reconciler.swarm.docker_api import DockerSwarm, connect
from reconciler.swarm.engine_client import EngineAddress, EngineClient, EngineError, UnsupportedAddress
from reconciler.swarm.port import EngineUnavailable, Forbidden, NotFound, VersionConflict
from reconciler.swarm.unreachable import describe_unreachable


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as dockerd answers
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def _answer(self, status: int, body: Any, close: bool = False) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.seen.append(("GET", self.path, self.client_address))
        if self.path == "/version":
            if self.server.forbid_version:
                self._answer(403, {"message": "forbidden"})
            else:
                self._answer(200, {"ApiVersion": "1.47"})
        elif self.path.startswith("/v1.47/events"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for n in range(2):
                line = json.dumps({"Type": "service", "Action": "update", "n": n}).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.server.stream_open.wait(10)  # then hold the stream open, as the engine does
        elif self.path.startswith("/v1.47/services/missing"):
            self._answer(404, {"message": "service missing not found"})
        elif self.path.startswith("/v1.47/close-after"):
            self._answer(200, [], close=True)
        else:
            self._answer(200, [{"path": self.path}])

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.seen.append(("POST", self.path, body))
        if "update" in self.path:
            self._answer(500, {"message": "update out of sequence"})
        else:
            self._answer(201, {"ID": "abc", "got": body})


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str) -> None:
        super().__init__(path, _Handler)
        self.seen: list[tuple[str, str, Any]] = []
        self.connections = 0  # accepted so far
        self.finished = 0  # connections whose client hung up
        self.forbid_version = False
        self.stream_open = threading.Event()

    def get_request(self) -> tuple[Any, Any]:
        request, _ = super().get_request()
        self.connections += 1
        return request, ("unix", self.connections)  # BaseHTTPRequestHandler wants an address tuple

    def shutdown_request(self, request: Any) -> None:  # after the handler, once the client hung up
        self.finished += 1
        super().shutdown_request(request)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    path = str(tmp_path / "engine.sock")
    srv = _Server(path)
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.stream_open.set()
    srv.shutdown()
    srv.server_close()


def _client(server: _Server) -> EngineClient:
    return EngineClient(EngineAddress.parse(f"unix://{server.server_address}"), timeout=5)


class TestAddresses:
    def test_unix_tcp_and_defaults(self) -> None:
        assert EngineAddress.parse("unix:///var/tmp/x.sock", {}).path == "/var/tmp/x.sock"
        assert EngineAddress.parse(None, {}).path == "/var/run/docker.sock"
        assert EngineAddress.parse(None, {"DOCKER_HOST": "unix:///run/other.sock"}).path == "/run/other.sock"
        plain = EngineAddress.parse("tcp://10.0.0.1", {})
        assert (plain.host, plain.port, plain.tls) == ("10.0.0.1", 2375, None)
        assert EngineAddress.parse("tcp://127.0.0.1:2399", {}).port == 2399

    @pytest.mark.parametrize(
        ("text", "said"),
        [
            ("bogus://x", "bogus://x is not an engine address: write unix:///path/to/docker.sock or tcp://host:port"),
            ("ssh://me@host", "ssh:// is not supported: forward the engine's socket"),
            ("tcp://", "tcp:// is not an engine address"),
            ("tcp://host:port", "tcp://host:port is not an engine address"),
            (
                "tcp://h:99999",
                "tcp://h:99999 is not an engine address: Port out of range 0-65535; write tcp://host:port",
            ),
            ("tcp://[::1", "tcp://[::1 is not an engine address: Invalid IPv6 URL; write tcp://[::1]:2375"),
        ],
    )
    def test_refused_with_the_fix(self, text: str, said: str) -> None:
        with pytest.raises(UnsupportedAddress, match=None) as caught:
            EngineAddress.parse(text, {})
        assert said in str(caught.value)

    def test_a_unix_path_too_long_for_a_socket_address_is_refused_with_the_fix(self) -> None:
        longest = "/" + "a" * 106
        assert EngineAddress.parse(f"unix://{longest}", {}).path == longest
        with pytest.raises(UnsupportedAddress) as caught:  # had been "cannot reach ...: OSError"
            EngineAddress.parse(f"unix://{longest}b", {})
        assert "the socket path is 108 bytes, more than the 107 a unix socket address holds; link it" in str(
            caught.value
        )

    def test_tls_from_the_environment_like_the_docker_cli(self, tmp_path: Path) -> None:
        _self_signed(tmp_path)
        verified = EngineAddress.parse("tcp://127.0.0.1", {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})
        assert verified.port == 2376 and verified.tls is not None
        assert verified.tls.verify_mode == ssl.CERT_REQUIRED and verified.tls.check_hostname
        unverified = EngineAddress.parse("tcp://127.0.0.1", {"DOCKER_CERT_PATH": str(tmp_path)})
        assert unverified.tls is not None and unverified.tls.verify_mode == ssl.CERT_NONE
        # DOCKER_TLS_VERIFY set to "" counts as false (docker-py kwargs_from_env)
        assert EngineAddress.parse("tcp://127.0.0.1", {"DOCKER_TLS_VERIFY": ""}).tls is None
        assert EngineAddress.parse("http://127.0.0.1:1", {"DOCKER_TLS_VERIFY": "1"}).tls is None

    def test_tls_files_it_cannot_use_are_named_with_the_fix(self, tmp_path: Path) -> None:
        env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}
        with pytest.raises(UnsupportedAddress) as caught:  # no ca.pem to verify the engine with
            EngineAddress.parse("tcp://127.0.0.1", env)
        assert str(caught.value) == (
            f"TLS for tcp://127.0.0.1 (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH): cannot use {tmp_path}/ca.pem: "
            f"No such file or directory; put the engine's ca.pem and the client's cert.pem and key.pem in "
            f"{tmp_path} or point DOCKER_CERT_PATH at the folder that holds them"
        )
        (tmp_path / "cert.pem").write_text("not a certificate\n")
        (tmp_path / "key.pem").write_text("not a key\n")
        with pytest.raises(
            UnsupportedAddress, match=re.escape(f"cannot use {tmp_path}/cert.pem with {tmp_path}/key.pem: ")
        ):
            EngineAddress.parse("tcp://127.0.0.1", {"DOCKER_CERT_PATH": str(tmp_path)})
        # connect says so as the engine being unavailable, a sentence instead of an internal error
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DOCKER_TLS_VERIFY", "1")
            patch.setenv("DOCKER_CERT_PATH", str(tmp_path / "absent"))
            with pytest.raises(
                EngineUnavailable, match=re.escape(f"cannot use {tmp_path}/absent/ca.pem: No such file")
            ):
                connect("tcp://127.0.0.1:1")

    def test_requests_over_verified_tls(self, tmp_path: Path) -> None:
        """A loopback HTTPS server with a certificate the client checks against DOCKER_CERT_PATH/ca.pem."""
        _self_signed(tmp_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server-key.pem")
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TinyHandler)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        try:
            env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}
            client = EngineClient(EngineAddress.parse(f"tcp://127.0.0.1:{httpd.server_address[1]}", env), timeout=5)
            assert client.api_version == "1.47"
            client.close()
            other_ca = tmp_path / "other"
            other_ca.mkdir()
            _self_signed(other_ca)
            env["DOCKER_CERT_PATH"] = str(other_ca)
            stranger = EngineClient(EngineAddress.parse(f"tcp://127.0.0.1:{httpd.server_address[1]}", env), timeout=5)
            with pytest.raises(ssl.SSLCertVerificationError) as caught:
                stranger.get_json("/version", versioned=False)
            # Its errno is OpenSSL's 1, which had been read as EPERM: "no permission to use the engine socket".
            said = describe_unreachable("tcp://127.0.0.1:2376", caught.value)
            assert said.startswith("TLS with the engine at tcp://127.0.0.1:2376 failed: ")
            assert "signed by $DOCKER_CERT_PATH/ca.pem" in said
        finally:
            httpd.shutdown()
            httpd.server_close()


class _TinyHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def do_GET(self) -> None:
        data = json.dumps({"ApiVersion": "1.47"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _self_signed(folder: Path) -> None:
    """ca.pem = the server's own certificate for 127.0.0.1 (one day), with its key."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "server-key.pem"),
         "-out", str(folder / "server.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    (folder / "ca.pem").write_bytes((folder / "server.pem").read_bytes())


class TestRequests:
    def test_version_is_asked_once_and_prefixes_every_path(self, server: _Server) -> None:
        client = _client(server)
        assert client.get_json("/services", {"filters": '{"a": 1}', "none": None}) == [
            {"path": "/v1.47/services?filters=%7B%22a%22%3A+1%7D"}
        ]
        client.get_json("/networks")
        assert [path for _, path, _ in server.seen] == [
            "/version", "/v1.47/services?filters=%7B%22a%22%3A+1%7D", "/v1.47/networks",
        ]  # fmt: skip
        client.close()

    def test_keep_alive_reuses_one_connection(self, server: _Server) -> None:
        client = _client(server)
        for _ in range(5):
            client.get_json("/services")
        assert server.connections == 1
        client.close()

    def test_a_connection_the_engine_closed_is_not_reused(self, server: _Server) -> None:
        client = _client(server)
        client.get_json("/close-after")  # answered with Connection: close
        client.get_json("/services")
        assert server.connections == 2
        client.close()

    def test_an_idle_connection_dropped_by_the_peer_is_replaced(self, server: _Server) -> None:
        client = _client(server)
        client.get_json("/services")
        idle = client._idle[0]
        assert idle.sock is not None
        idle.sock.shutdown(socket.SHUT_WR)  # the server's handler sees EOF and closes its side
        time.sleep(0.2)
        assert client.get_json("/networks") == [{"path": "/v1.47/networks"}]
        client.close()

    def test_threads_share_the_pool(self, server: _Server) -> None:
        client = _client(server)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda n: client.get_json(f"/services/s{n}"), range(64)))
        assert answers == [[{"path": f"/v1.47/services/s{n}"}] for n in range(64)]
        assert len(client._idle) <= 10
        client.close()

    def test_a_full_listen_backlog_is_waited_out(self, tmp_path: Path) -> None:
        """A unix socket refuses with EAGAIN while its backlog is full; the client tries again until it
        is accepted (a busy engine), and within its timeout only."""
        path = str(tmp_path / "busy.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(0)
        waiting: list[socket.socket] = []
        while True:  # fill the backlog
            extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            extra.setblocking(False)
            try:
                extra.connect(path)
            except BlockingIOError:
                extra.close()
                break
            waiting.append(extra)
        client = EngineClient(EngineAddress.parse(f"unix://{path}"), timeout=0.2)
        with pytest.raises(BlockingIOError):
            client.address.connection(0.2).connect()
        accepted: list[socket.socket] = []
        drain = threading.Timer(0.1, lambda: accepted.extend(listener.accept()[0] for _ in range(len(waiting) + 1)))
        drain.start()
        conn = client.address.connection(5)
        conn.connect()  # refused at first, then accepted once the backlog drains
        drain.join(5)
        assert len(accepted) == len(waiting) + 1
        for sock in [*waiting, *accepted, listener]:
            sock.close()
        conn.close()

    def test_json_body_and_error_messages(self, server: _Server) -> None:
        client = _client(server)
        created = json.loads(client.request("POST", "/services/create", body={"Name": "x"}))
        assert created == {"ID": "abc", "got": {"Name": "x"}}
        with pytest.raises(EngineError) as caught:
            client.get_json("/services/missing")
        assert (caught.value.status, caught.value.message) == (404, "service missing not found")
        client.close()


class TestAdapter:
    def test_errors_become_the_port_types(self, server: _Server) -> None:
        swarm = connect(f"unix://{server.server_address}")
        with pytest.raises(NotFound):
            swarm.get("/services/missing")
        with pytest.raises(VersionConflict):
            swarm.update_service("abc", 3, {"Name": "x"})
        assert ("POST", "/v1.47/services/abc/update?version=3", {"Name": "x"}) in server.seen
        swarm.close()

    def test_version_refused_names_the_proxy_setting(self, server: _Server) -> None:
        server.forbid_version = True
        with pytest.raises(Forbidden, match="the socket proxy needs VERSION=1") as caught:
            connect(f"unix://{server.server_address}")
        # Closed by connect, not left in the pool of a client that the error's traceback still holds.
        deadline = time.monotonic() + 5
        while server.finished < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (server.connections, server.finished) == (1, 1)
        del caught

    @pytest.mark.parametrize(
        ("answer", "said"),
        [
            (b"hello there\r\n\r\n", "BadStatusLine"),  # no HTTP: a TLS port spoken to in plain text, or no engine
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n[1,2]", "TypeError"),  # JSON, no ApiVersion
            (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnope", "JSONDecodeError"),
        ],
    )
    def test_an_answer_that_is_not_the_engine_api_is_named(self, tmp_path: Path, answer: bytes, said: str) -> None:
        path = str(tmp_path / "other.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)

        def serve() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(answer)
            conn.close()

        threading.Thread(target=serve, daemon=True).start()
        with pytest.raises(EngineUnavailable) as caught:  # a TypeError had come out as "internal error"
            connect(f"unix://{path}", timeout=5)
        assert f"GET /version at unix://{path}: the answer is not the Engine API's ({said}" in str(caught.value)
        assert "check that --docker-host (or DOCKER_HOST) is the engine's address" in str(caught.value)
        listener.close()

    def test_a_huge_answer_is_refused_not_allocated(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("reconciler.swarm.engine_client._MAX_BODY", 1000)
        path = str(tmp_path / "huge.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(2)
        chunk = b"x" * 600

        def serve() -> None:
            conn, _ = listener.accept()  # a length past the limit: refused before reading
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n" + chunk)
            conn2, _ = listener.accept()  # chunked, no length: refused once past the limit
            conn2.recv(65536)
            conn2.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            conn2.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) * 3 + b"0\r\n\r\n")
            conn.close()
            conn2.close()

        threading.Thread(target=serve, daemon=True).start()
        client = EngineClient(EngineAddress.parse(f"unix://{path}"), timeout=5, version="1.47")
        with pytest.raises(http.client.HTTPException, match="an answer of 100000000000 bytes, more than 1000"):
            client.request("GET", "/services")
        with pytest.raises(http.client.HTTPException, match="an answer of more than 1000 bytes"):
            client.request("GET", "/services")
        listener.close()

    @pytest.mark.parametrize(("method", "sent_again"), [("GET", True), ("POST", False)])
    def test_a_request_lost_by_a_reused_connection(self, tmp_path: Path, method: str, sent_again: bool) -> None:
        """The engine closes a kept-alive connection as the next request goes out (no answer at all): a
        GET is sent again on a new connection, a write is not (it may have been done)."""
        path = str(tmp_path / "closing.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(2)
        received: list[bytes] = []
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]"

        def serve() -> None:
            first, _ = listener.accept()
            received.append(first.recv(65536))
            first.sendall(answer)  # kept alive: no Connection: close
            received.append(first.recv(65536))
            first.close()  # the second request is read and dropped unanswered
            listener.settimeout(5 if sent_again else 0.2)  # a write sent again connects before its raise
            with contextlib.suppress(OSError):
                second, _ = listener.accept()
                received.append(second.recv(65536))
                second.sendall(answer)
                second.close()

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        client = EngineClient(EngineAddress.parse(f"unix://{path}"), timeout=5, version="1.47")
        client.request("GET", "/services")
        if sent_again:
            assert client.request(method, "/services") == b"[]"
        else:
            with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
                client.request(method, "/services", body={})
        server.join(6)
        assert [r.split(b" ", 1)[0].decode() for r in received] == ["GET", method] + [method] * sent_again
        client.close()
        listener.close()

    def test_no_socket_says_so(self, tmp_path: Path) -> None:
        with pytest.raises(EngineUnavailable, match="no Docker engine socket at"):
            connect(f"unix://{tmp_path / 'absent.sock'}")

    def test_an_answer_that_is_no_json_later_is_named(self, tmp_path: Path) -> None:
        path = str(tmp_path / "odd.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)

        def serve() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnope")
            conn.close()

        threading.Thread(target=serve, daemon=True).start()
        swarm = DockerSwarm(EngineClient(EngineAddress.parse(f"unix://{path}"), timeout=5, version="1.47"))
        with pytest.raises(
            EngineUnavailable
        ) as caught:  # had been "cannot reach ...: JSONDecodeError; start the engine"
            swarm.get("/services")
        assert str(caught.value).startswith(
            f"GET /services at unix://{path}: the answer is not the Engine API's (JSONDecodeError: "
        )
        listener.close()

    def test_a_path_that_is_no_socket_says_so(self, tmp_path: Path) -> None:
        with pytest.raises(EngineUnavailable) as caught:  # had been "nothing answers at ... (connection refused)"
            connect(f"unix://{tmp_path}")
        assert str(caught.value) == (
            f"{tmp_path} is not a socket: point --docker-host (or DOCKER_HOST) at the engine's socket"
        )

    def test_an_event_stream_cut_inside_a_document_raises_incomplete_read(self, tmp_path: Path) -> None:
        path = str(tmp_path / "events.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)

        def serve() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            whole, cut = b'{"Type":"service","n":1}\n', b'{"Type":"serv'
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            conn.sendall(b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(whole), whole, len(cut), cut))
            conn.close()

        threading.Thread(target=serve, daemon=True).start()
        client = EngineClient(EngineAddress.parse(f"unix://{path}"), timeout=5, version="1.47")
        seen: list[Any] = []
        with pytest.raises(http.client.IncompleteRead) as caught:  # had been JSONDecodeError "Unterminated string"
            seen.extend(client.stream("/events"))
        assert seen == [{"Type": "service", "n": 1}]
        assert caught.value.partial == b'{"Type":"serv'
        listener.close()

    def test_an_empty_unix_address_names_the_default_socket(self) -> None:
        assert EngineAddress.parse("unix://", {}).path == "/var/run/docker.sock"
        said = describe_unreachable("unix://", FileNotFoundError(2, "No such file or directory"))
        assert said.startswith("no Docker engine socket at /var/run/docker.sock: ")  # it had said "at : "

    def test_event_stream_yields_documents_and_ends_on_close(self, server: _Server) -> None:
        swarm: DockerSwarm = connect(f"unix://{server.server_address}")
        stream = swarm.events(["service"])
        seen: list[Any] = []
        reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
        reader.start()
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [e["n"] for e in seen] == [0, 1]
        stream.close()  # from this thread, while the reader blocks on the open stream
        reader.join(5)
        assert not reader.is_alive()
        swarm.close()
