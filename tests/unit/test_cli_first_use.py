"""What a person trips over first (issue 16): errors they can cause are one plain sentence naming the
thing and the fix, global options work before or after the command, every option has help, shell
completion works, and an empty manifest folder is an error for diff, apply and run."""

from __future__ import annotations

import errno
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner

from reconciler.cli.app import cli
from reconciler.runtime.listen_errors import listen_error
from reconciler.swarm.unreachable import describe_unreachable

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = str(REPO / "examples")
NO_SOCKET = "unix:///nonexistent/i16/docker.sock"


def invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args))


def plain(text: str) -> None:
    for noise in ("Traceback", "urllib3", "HTTPConnectionPool", "Connection aborted", "Errno", "internal error"):
        assert noise not in text, text


# ------------------------------------------------------------------------------------- global options


@pytest.mark.parametrize("place", ["before", "after"])
def test_global_options_work_before_or_after_the_command(place: str) -> None:
    options = ["-o", "json", "--instance", "someone", "--docker-host", NO_SOCKET]
    argv = [*options, "validate", EXAMPLES] if place == "before" else ["validate", EXAMPLES, *options]
    result = invoke(*argv)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["valid"] is True
    # --docker-host after the command reaches the engine commands too: the error names that socket.
    diff = invoke("diff", EXAMPLES, "--docker-host", NO_SOCKET)
    assert diff.exit_code == 2 and "/nonexistent/i16/docker.sock" in diff.stderr, diff.stderr
    # and the nested importers (`import swarm --docker-host X`: before, "No such option").
    imported = invoke("import", "swarm", "-o", "json", "--docker-host", NO_SOCKET)
    assert imported.exit_code == 2 and "/nonexistent/i16/docker.sock" in json.loads(imported.stdout)["error"]


def test_every_option_of_every_command_has_help_text() -> None:
    ctx = click.Context(cli)
    missing = [f"reconciler {p.opts}" for p in cli.params if isinstance(p, click.Option) and not p.help]
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None and command.help, name
        missing += [f"{name} {p.opts}" for p in command.params if isinstance(p, click.Option) and not p.help]
    assert missing == []


def test_shell_completion_is_click_s_own() -> None:
    env = {**os.environ, "_RECONCILER_COMPLETE": "bash_source"}
    source = subprocess.run([sys.executable, "-m", "reconciler"], env=env, capture_output=True, text=True, timeout=60)
    assert "_reconciler_completion" in source.stdout, source.stderr
    env = {
        **os.environ,
        "_RECONCILER_COMPLETE": "bash_complete",
        "COMP_WORDS": "reconciler apply --dr",
        "COMP_CWORD": "2",
    }
    words = subprocess.run([sys.executable, "-m", "reconciler"], env=env, capture_output=True, text=True, timeout=60)
    assert "--dry-run" in words.stdout


# ---------------------------------------------------------------------------------- errors, in words


def test_a_missing_socket_is_named_with_docker_host_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    for command in (("diff", EXAMPLES), ("apply", "--yes", EXAMPLES), ("status", EXAMPLES)):
        result = invoke("--docker-host", NO_SOCKET, *command)
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            "error: no Docker engine socket at /nonexistent/i16/docker.sock: start the engine, or point "
            "--docker-host (or DOCKER_HOST) at its socket"
        )
    default = describe_unreachable("unix:///var/run/docker.sock", FileNotFoundError(errno.ENOENT, "x"))
    assert "(DOCKER_HOST is not set)" in default and "/var/run/docker.sock" in default


def test_refused_and_forbidden_sockets_say_what_to_do() -> None:
    refused = requests.exceptions.ConnectionError(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))
    said = describe_unreachable("tcp://127.0.0.1:1", refused)
    assert said.startswith("nothing answers at tcp://127.0.0.1:1 (connection refused): start the engine")
    denied = describe_unreachable("unix:///run/docker.sock", PermissionError(errno.EACCES, "Permission denied"))
    assert denied.startswith("no permission to use the engine socket /run/docker.sock: run as root")


def test_an_address_docker_cannot_speak_is_named_with_the_form_to_use() -> None:
    result = invoke("--docker-host", "bogus://x", "diff", EXAMPLES)
    assert result.exit_code == 2
    assert "bogus://x is not an engine address: write unix:///path/to/docker.sock or tcp://host:port" in result.stderr
    assert "DockerException" not in result.stderr and "start the engine" not in result.stderr
    plain(result.stderr)


def test_a_busy_listen_port_is_one_sentence_with_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            socket.create_server(("127.0.0.1", port))
        except OSError as exc:
            said = listen_error(f"127.0.0.1:{port}", exc)
    assert said == (f"cannot listen on 127.0.0.1:{port}: the port is in use by another process (another "
                    "controller?); stop it, or choose another address with --listen")  # fmt: skip


def test_a_bad_flag_is_click_s_usage_error_without_a_traceback() -> None:
    result = invoke("diff", "--no-such-flag", EXAMPLES)
    assert result.exit_code == 2 and "No such option '--no-such-flag'" in result.stderr
    plain(result.stderr)


def test_the_command_says_a_bad_flag_in_one_line() -> None:
    for argv, said in (
        (["diff", "--no-such-flag", EXAMPLES], "reconciler: No such option '--no-such-flag': see 'reconciler diff --help'"),
        (["-o", "yaml", "validate"], "reconciler: Invalid value for '-o' / '--output': 'yaml' is not one of 'text', 'json': see 'reconciler --help'"),
        (["nosuch"], "reconciler: No such command 'nosuch': see 'reconciler --help'"),
    ):  # fmt: skip
        run = subprocess.run([sys.executable, "-m", "reconciler", *argv], capture_output=True, text=True, timeout=60)
        assert (run.returncode, run.stderr.strip(), run.stdout) == (2, said, "")


def test_status_of_an_unreachable_controller_is_plain() -> None:
    result = invoke("status", "--controller", "http://127.0.0.1:1")
    assert result.exit_code == 2
    assert "cannot read http://127.0.0.1:1/status (Connection refused): check the URL" in result.stderr
    plain(result.stderr)


# ------------------------------------------------------------------------------ an empty manifest folder


@pytest.mark.parametrize("command", [("diff",), ("apply", "--yes"), ("apply", "--dry-run")])
def test_an_empty_folder_is_an_error_before_the_engine_is_asked(command: tuple[str, ...], tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("no manifests here\n")
    result = invoke("--docker-host", NO_SOCKET, *command, str(tmp_path))
    assert result.exit_code == 2
    assert f"no manifests (*.yaml, *.yml) found under {tmp_path}" in result.stderr and "--allow-empty" in result.stderr
    # With --allow-empty it goes on (and here finds no engine).
    allowed = invoke("--docker-host", NO_SOCKET, *command, "--allow-empty", str(tmp_path))
    assert allowed.exit_code == 2 and "no Docker engine socket" in allowed.stderr


def test_run_refuses_an_empty_folder_unless_allowed(tmp_path: Path) -> None:
    for extra in ((), ("--git-url", "")):  # deploy/stack.yml passes an empty --git-url for a plain folder
        argv = ("run", "--manifests", str(tmp_path), "--listen", "127.0.0.1:0", *extra)
        result = invoke("--docker-host", NO_SOCKET, *argv)
        assert result.exit_code == 2 and "no manifests" in result.stderr and "--allow-empty" in result.stderr


def test_status_from_a_controller_says_leader_yes_or_no() -> None:
    report = {"revision": "sha256:abc", "leader": True, "instance": "i", "last_error": None, "objects": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(report).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert "leader yes" in invoke("status", "--controller", url).stdout
        report["leader"] = False
        shown = invoke("status", "--controller", url).stdout
        assert "leader no" in shown and "True" not in shown and "False" not in shown
    finally:
        server.shutdown()
        server.server_close()


def test_render_without_an_engine_does_not_say_nodes_are_missing_from_the_swarm() -> None:
    result = invoke("render", "VirtualIP/cluster-ip", EXAMPLES)
    assert result.exit_code == 0, result.output
    assert "not in the swarm" not in result.stdout.replace("not in the swarm, or rendered without --node", "")
    assert "rendered without --node" in result.stdout
