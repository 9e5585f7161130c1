"""The project's images, built in the lab from the Dockerfiles users build, and checked by running them.

``lab/debian:bookworm-slim`` (debootstrap, ``tests/lab/debian_base.py``) is the base of the keepalived
image, the socket-proxy stand-in and ``lab/python:3.11-slim``, on which the controller's root
``Dockerfile`` is built offline (``tests/lab/deploy_images.py``). Each image is built once per lab (and
again only when its inputs change): on a warm lab this module only runs containers.

Cold, on the 2-core machine with the lab's vfs storage driver: the Debian base about 40 s (debootstrap),
keepalived and the socket proxy about 50 s each, the Python base about 45 s, the controller about 3
minutes (every Dockerfile step copies the whole root file system on vfs).
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from reconciler import __version__
from reconciler.manifests.kinds.virtual_ip import DEFAULT_KEEPALIVED_IMAGE, VirtualIP
from reconciler.manifests.loading import load_manifests
from reconciler.render.keepalived import VIP_CHECK_PATH, keepalived_conf
from tests.lab import Lab
from tests.lab.debian_base import BASE_REVISION, DEBIAN_IMAGE, base_record, ensure_debian_base
from tests.lab.deploy_images import (
    KEEPALIVED_IMAGE,
    PYTHON_IMAGE,
    RECONCILER_IMAGE,
    REPO_ROOT,
    SOCKET_PROXY_IMAGE,
    ensure_keepalived_image,
    ensure_python_base,
    ensure_reconciler_image,
    ensure_socket_proxy_image,
    image_size,
)
from tests.lab.socket_proxy import RECONCILER_PROXY_SETTINGS, render_haproxy_cfg

EXAMPLES = REPO_ROOT / "examples"
PROXY_TEMPLATE = REPO_ROOT / "deploy" / "socket-proxy" / "haproxy.cfg.template"
FORBIDDEN_PAGE = "Request forbidden by administrative rules"
NODE_IDS = {
    "node1": "n1aaaaaaaaaaaaaaaaaaaaaaa",
    "node2": "n2bbbbbbbbbbbbbbbbbbbbbbb",
    "node3": "n3ccccccccccccccccccccccc",
}


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def lab_env(lab: Lab) -> dict[str, str]:
    return lab.env()


@pytest.fixture(scope="session")
def debian_base(lab_env: dict[str, str]) -> str:
    return ensure_debian_base(lab_env)


@pytest.fixture(scope="session")
def keepalived_image(lab_env: dict[str, str], debian_base: str) -> str:
    return ensure_keepalived_image(lab_env)


@pytest.fixture(scope="session")
def socket_proxy_image(lab_env: dict[str, str], debian_base: str) -> str:
    return ensure_socket_proxy_image(lab_env)


@pytest.fixture(scope="session")
def python_base(lab_env: dict[str, str], debian_base: str) -> str:
    return ensure_python_base(lab_env)


@pytest.fixture(scope="session")
def reconciler_image(lab_env: dict[str, str], python_base: str) -> str:
    return ensure_reconciler_image(lab_env)


def docker(env: Mapping[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The docker CLI against the lab; never raises on a non-zero exit."""
    return subprocess.run(
        ["docker", *args], env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )


def inspect(env: Mapping[str, str], obj: str) -> dict[str, object]:
    done = docker(env, "inspect", obj)
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout)[0]
    return found


def shown(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


@pytest.fixture
def names(lab_env: dict[str, str]) -> Iterator[list[str]]:
    """Containers and networks the test names here are removed afterwards (containers first)."""
    made: list[str] = []
    yield made
    for name in reversed(made):
        if docker(lab_env, "rm", "-f", "-v", name).returncode != 0:
            docker(lab_env, "network", "rm", name)


def readable(path: Path) -> Path:
    """``path`` (a pytest temp folder is 0700) made readable for a container's unprivileged user."""
    path.chmod(0o755)
    for child in path.rglob("*"):
        child.chmod(0o755 if child.is_dir() else 0o644)
    return path


# ----------------------------------------------------------------------------------- the Debian base


def test_debian_base_is_a_slim_bookworm(lab_env: dict[str, str], debian_base: str) -> None:
    assert debian_base == DEBIAN_IMAGE
    script = (
        "set -e; cat /etc/debian_version; echo $PATH; "
        "test -z \"$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v '^lock$' | grep -v '^partial$')\"; "
        'test -z "$(ls /var/cache/apt/archives/*.deb 2>/dev/null)"; '
        "test ! -e /usr/share/man/man1; test -f /etc/dpkg/dpkg.cfg.d/docker-slim; "
        "grep -q '^Suites: bookworm bookworm-updates' /etc/apt/sources.list.d/debian.sources; "
        "grep -q '^Suites: bookworm-security' /etc/apt/sources.list.d/debian.sources; "
        "/usr/sbin/policy-rc.d || test $? -eq 101"
    )
    done = docker(lab_env, "run", "--rm", debian_base, "bash", "-c", script)
    assert done.returncode == 0, shown(done)
    version, path = done.stdout.split()[:2]
    assert version.startswith("12."), version
    assert path == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    config = inspect(lab_env, debian_base)["Config"]
    assert isinstance(config, dict) and config["Cmd"] == ["/bin/bash"]
    assert image_size(lab_env, debian_base) < 100_000_000


def test_a_second_debian_base_is_only_an_import(lab_env: dict[str, str], debian_base: str) -> None:
    """The debootstrapped tree is cached: another image from it needs no debootstrap, just ``docker import``."""
    before = base_record(lab_env)
    assert before.get("revision") == BASE_REVISION, before
    other = f"lab/debian-cache-test:{secrets.token_hex(4)}"
    began = time.monotonic()
    try:
        assert ensure_debian_base(lab_env, image=other) == other
        took = time.monotonic() - began
        assert base_record(lab_env) == before, "the tarball was built again"
        assert took < 60, f"importing the cached tarball took {took:.0f} s"
        done = docker(lab_env, "run", "--rm", other, "cat", "/etc/debian_version")
        assert done.returncode == 0 and done.stdout.startswith("12."), shown(done)
    finally:
        docker(lab_env, "rmi", other)


# ------------------------------------------------------------------------------------------ keepalived


def _checked(lab_env: dict[str, str], image: str, conf: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """``keepalived -t`` on ``conf`` inside the image, on the default bridge (so eth0 exists)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "keepalived.conf"
    path.write_text(conf)
    readable(folder)
    return docker(
        lab_env, "run", "--rm", "-v", f"{path}:/etc/keepalived/keepalived.conf:ro",
        "--entrypoint", "keepalived", image, "-t", "-f", "/etc/keepalived/keepalived.conf",
    )  # fmt: skip


def _vip(**spec: object) -> VirtualIP:
    body = {"addresses": ["192.0.2.10/24"], "interface": "eth0", "routerId": 51, **spec}
    return VirtualIP.model_validate(
        {
            "apiVersion": "reconciler.swarm/v1alpha1",
            "kind": "VirtualIP",
            "metadata": {"name": "image-test"},
            "spec": body,
        }
    )


def test_keepalived_image_is_the_virtual_ip_default(lab_env: dict[str, str], keepalived_image: str) -> None:
    assert keepalived_image == KEEPALIVED_IMAGE == DEFAULT_KEEPALIVED_IMAGE
    config = inspect(lab_env, keepalived_image)["Config"]
    assert isinstance(config, dict)
    assert config["Entrypoint"] == [
        "keepalived", "--dont-fork", "--log-console", "--log-detail", "--use-file", "/etc/keepalived/keepalived.conf",
    ]  # fmt: skip
    script = f"stat -c '%U:%G %a' {VIP_CHECK_PATH}; keepalived --version 2>&1"
    done = docker(lab_env, "run", "--rm", "--entrypoint", "sh", keepalived_image, "-c", script)
    assert done.returncode == 0, shown(done)
    # keepalived's script security runs only root-owned helpers that nobody else may change.
    assert done.stdout.splitlines()[0] == "root:root 755", shown(done)
    assert re.search(r"Keepalived v2\.2\.", done.stdout), shown(done)


def test_keepalived_accepts_the_rendered_example(
    lab_env: dict[str, str], keepalived_image: str, tmp_path: Path
) -> None:
    """examples/vip.yaml (eth0, a password, an http and a tcp check) as node1 gets it passes ``keepalived -t``."""
    (example,) = load_manifests(EXAMPLES).of_kind(VirtualIP)
    assert example.spec.interface == "eth0"
    password = (EXAMPLES / "secrets" / "vrrp-password").read_text().strip()
    conf = keepalived_conf(example, NODE_IDS["node1"], NODE_IDS, password=password)
    assert VIP_CHECK_PATH in conf
    done = _checked(lab_env, keepalived_image, conf, tmp_path)
    assert done.returncode == 0, shown(done) + "\n--- the file\n" + conf


def test_keepalived_accepts_a_minimal_vip_and_refuses_a_missing_interface(
    lab_env: dict[str, str], keepalived_image: str, tmp_path: Path
) -> None:
    checks = [{"name": "web", "type": "tcp", "port": 80}, {"name": "api", "type": "http", "port": 8080}]
    good = _checked(lab_env, keepalived_image, keepalived_conf(_vip(checks=checks), None, {}), tmp_path / "good")
    assert good.returncode == 0, shown(good)
    # A VIP on an interface the container lacks: `-t` really checks the file against the host, it does
    # not just parse it (so the passes above mean something).
    bad = _checked(lab_env, keepalived_image, keepalived_conf(_vip(interface="eth9"), None, {}), tmp_path / "bad")
    assert bad.returncode != 0, shown(bad)
    assert "interface eth9" in bad.stdout + bad.stderr, shown(bad)


def test_vip_check_runs_in_the_keepalived_image(lab_env: dict[str, str], keepalived_image: str) -> None:
    """The helper and its bash work in the image: a closed port is unhealthy (1), a bad port a usage error (2)."""
    script = "vip-check tcp 127.0.0.1 1 1; echo closed=$?; vip-check tcp 127.0.0.1 x 1; echo usage=$?"
    done = docker(lab_env, "run", "--rm", "--entrypoint", "bash", keepalived_image, "-c", script)
    assert done.returncode == 0, shown(done)
    assert re.findall(r"^(closed|usage)=(\d+)$", done.stdout, re.M) == [("closed", "1"), ("usage", "2")], shown(done)


# ---------------------------------------------------------------------------------------- socket proxy


def _rules(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(("http-request", "use_backend"))]


def test_socket_proxy_template_has_the_lab_rules() -> None:
    """The image's haproxy.cfg and tests/lab/socket_proxy.py filter the same way, rule for rule."""
    shipped = _rules(PROXY_TEMPLATE.read_text())
    lab = _rules(render_haproxy_cfg(RECONCILER_PROXY_SETTINGS, "/var/run/docker.sock", ":2375"))
    assert shipped == lab
    assert len(shipped) >= 30


def _request(port: int, method: str, path: str, body: str | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def _published_port(lab_env: dict[str, str], container: str, port: str) -> int:
    done = docker(lab_env, "port", container, port)
    assert done.returncode == 0, shown(done)
    return int(done.stdout.splitlines()[0].rsplit(":", 1)[1])


def _wait_answer(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _request(port, "GET", "/_ping")
            return
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_socket_proxy_image_filters_like_upstream(
    lab: Lab, lab_env: dict[str, str], socket_proxy_image: str, names: list[str]
) -> None:
    assert socket_proxy_image == SOCKET_PROXY_IMAGE
    name = f"srt-proxy-{secrets.token_hex(4)}"
    names.append(name)
    done = docker(
        lab_env, "run", "-d", "--name", name, "-v", f"{lab.socket_path}:/var/run/docker.sock",
        "-p", "127.0.0.1::2375", "-e", "SERVICES=1", "-e", "NETWORKS=1", "-e", "POST=0", socket_proxy_image,
    )  # fmt: skip
    assert done.returncode == 0, shown(done)
    port = _published_port(lab_env, name, "2375/tcp")
    _wait_answer(port)

    status, body = _request(port, "GET", "/services")
    assert status == 200, body
    assert isinstance(json.loads(body), list)
    assert _request(port, "GET", "/v1.41/networks")[0] == 200
    assert _request(port, "GET", "/_ping") == (200, "OK")  # an upstream default
    for method, path, payload in (
        ("GET", "/containers/json", None),
        ("GET", "/info", None),  # not granted (upstream default 0)
        ("POST", "/networks/create", json.dumps({"Name": f"srt-denied-{secrets.token_hex(3)}"})),
        ("DELETE", "/networks/none", None),
    ):
        status, body = _request(port, method, path, payload)
        assert status == 403, f"{method} {path}: {status} {body}"
        assert FORBIDDEN_PAGE in body, f"{method} {path}: the 403 did not come from haproxy: {body}"


# ----------------------------------------------------------------------------------------- controller


def test_reconciler_image_runs_the_cli_as_uid_10001(
    lab_env: dict[str, str], reconciler_image: str, python_base: str
) -> None:
    assert reconciler_image == RECONCILER_IMAGE and python_base == PYTHON_IMAGE
    version = docker(lab_env, "run", "--rm", reconciler_image, "--version")
    assert version.returncode == 0 and __version__ in version.stdout, shown(version)

    valid = docker(lab_env, "run", "--rm", "-v", f"{EXAMPLES}:/examples:ro", reconciler_image, "validate", "/examples")
    assert valid.returncode == 0, shown(valid)
    assert "manifests valid" in valid.stdout

    config = inspect(lab_env, reconciler_image)["Config"]
    assert isinstance(config, dict)
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["reconciler"] and config["Cmd"] == ["run", "--manifests", "/manifests"]
    assert "9100/tcp" in (config["ExposedPorts"] or {})
    health = config["Healthcheck"]
    assert isinstance(health, dict) and "/healthz" in " ".join(health["Test"])
    who = docker(lab_env, "run", "--rm", "--entrypoint", "id", reconciler_image, "-u")
    assert who.stdout.strip() == "10001", shown(who)


def test_reconciler_image_turns_healthy_behind_the_socket_proxy_image(
    lab: Lab,
    lab_env: dict[str, str],
    reconciler_image: str,
    socket_proxy_image: str,
    names: list[str],
    tmp_path: Path,
) -> None:
    """The controller (``run``, its default command) talks to the swarm only through the proxy image with
    the reconciler's settings, and the image's own HEALTHCHECK (``/healthz`` with urllib) passes."""
    token = secrets.token_hex(4)
    network, proxy, controller = f"srt-img-{token}", f"srt-img-proxy-{token}", f"srt-img-ctl-{token}"
    names.append(network)
    assert docker(lab_env, "network", "create", network).returncode == 0
    names.append(proxy)
    flags = [arg for flag, value in sorted(RECONCILER_PROXY_SETTINGS.items()) for arg in ("-e", f"{flag}={value}")]
    done = docker(
        lab_env, "run", "-d", "--name", proxy, "--network", network,
        "-v", f"{lab.socket_path}:/var/run/docker.sock", *flags, socket_proxy_image,
    )  # fmt: skip
    assert done.returncode == 0, shown(done)
    manifests = tmp_path / "manifests"  # empty: the controller has nothing to do but stay healthy
    manifests.mkdir()
    readable(manifests)
    names.append(controller)
    done = docker(
        lab_env, "run", "-d", "--name", controller, "--network", network,
        "-e", f"DOCKER_HOST=tcp://{proxy}:2375", "-v", f"{manifests}:/manifests:ro",
        "--health-interval", "1s", "--health-timeout", "5s", "--health-retries", "3",
        reconciler_image, "--instance", f"srt-img-{token}", "run", "--manifests", "/manifests", "--no-leader-election",
        "--allow-empty",
    )  # fmt: skip
    assert done.returncode == 0, shown(done)
    deadline = time.monotonic() + 60
    state: dict[str, object] = {}
    while time.monotonic() < deadline:
        found = inspect(lab_env, controller)["State"]
        assert isinstance(found, dict)
        state = found
        health = state.get("Health")
        if (isinstance(health, dict) and health.get("Status") == "healthy") or not state.get("Running"):
            break
        time.sleep(0.5)
    logs = docker(lab_env, "logs", "--tail", "30", controller)
    detail = f"state {json.dumps(state)[:2000]}\n--- logs\n{logs.stdout}{logs.stderr}"
    assert state.get("Running") is True, detail
    health = state.get("Health")
    assert isinstance(health, dict) and health.get("Status") == "healthy", detail
