"""One isolated, single-node Docker Swarm ("the lab") for integration tests.

The lab is a private ``dockerd`` whose whole state lives in one folder (default ``/var/tmp/srlab``,
overridable with ``RECONCILER_LAB_DIR``)::

    data/         --data-root (images, volumes, swarm raft, the managed containerd's root): a tmpfs
                  (``host.mount_data_tmpfs``) unless ``RECONCILER_LAB_TMPFS=0``
    exec/         --exec-root (netns mounts, the managed containerd's state and socket)
    docker.sock   --host unix://...
    docker.pid    --pidfile
    dockerd.log   the daemon's (and its containerd's) output
    lab.json      pid, socket, token, created time, and what the host looked like before the lab

It never talks to ``/var/run/docker.sock`` and refuses to start while a dockerd it did not start is
running (two engines would fight over docker0 and the iptables chains).

Host-level side effects that a dockerd cannot keep inside its folder, and that ``down()`` undoes only
when ``lab.json`` records that they did not exist before the lab started them: the docker0 and
docker_gwbridge bridges, the DOCKER* iptables chains and rules (plus the FORWARD policy and
net.ipv4.ip_forward that dockerd flips), the empty ``/run/docker`` and ``/run/containerd`` folders
(containerd 1.6 puts its shim sockets in ``/run/containerd/s`` whatever its state dir),
``/etc/docker/key.json`` (dockerd 20.10 writes its engine key there whatever its data root), the ``srlab``
cgroups and, only if loopback were refused as advertise address, the ``srlab0`` dummy interface.

Only the standard library is used here; ``docker`` (the SDK) is imported by ``Lab.client()`` alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.lab.engines import engine_install, requested_engine
from tests.lab.folder import check_socket_paths, lab_folder, read_state, update_state, write_state
from tests.lab.host import (
    IP_FORWARD,
    LAB_NAME,
    RUN_DIRS,
    TRUST_KEY,
    LabError,
    _alive,
    _argv,
    _cgroup_pids,
    _children_map,
    _comm,
    _descendants,
    _forward_policy,
    _host_snapshot,
    _iptables_rules,
    _lab_cgroups,
    _links,
    _mounts_under,
    _netns_inode,
    _pids,
    _read,
    _run,
    _search_path,
    _signal,
    _stop,
    _umount,
    _wait_gone,
    _which,
    mount_data_tmpfs,
    unix_request,
)

if TYPE_CHECKING:
    import docker

LAB_DIR_ENV = "RECONCILER_LAB_DIR"
DEFAULT_LAB_DIR = "/var/tmp/srlab"

#: Dummy interface (a port-less bridge where the kernel has no dummy driver, as here) created only if
#: swarm refuses a loopback advertise address.
DUMMY_IFACE = "srlab0"
#: Link-local, never routed off this machine.
DUMMY_ADDR = "169.254.213.1"
LOOPBACK_ADDR = "127.0.0.1"
SWARM_PORT = 2377

START_TIMEOUT = 60.0
SWARM_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
#: Seconds dockerd gives running containers when it shuts down (its default of 15 makes down() slow).
SHUTDOWN_TIMEOUT = 3

#: Any registry access by the lab dockerd goes to this dead loopback port and fails at once, instead of
#: leaving the machine (``docker pull``; ``docker service create`` without ``--no-resolve-image`` asks the
#: registry for a digest). Go never proxies loopback hosts, so a registry on 127.0.0.1 still works.
DEAD_PROXY = "http://127.0.0.1:9"

MARKER = ".srlab-lab"
BRIDGES = ("docker0", "docker_gwbridge")
#: Links dockerd makes in the host namespace for networks and containers (removed by down() when new).
LAB_LINK_PREFIXES = ("br-", "vx-", "veth")
SYSTEM_CONTAINERD_SOCK = "/run/containerd/containerd.sock"


class Lab:
    """One isolated single-node lab dockerd with an active swarm. ``up()`` starts or reuses it."""

    def __init__(self, root: str | os.PathLike[str] | None = None, engine: str | None = None) -> None:
        path = lab_folder(root, LAB_DIR_ENV, DEFAULT_LAB_DIR, "lab folder")
        self.root = path
        self.data_dir = path / "data"
        self.exec_dir = path / "exec"
        self.socket_path = path / "docker.sock"
        self.pid_file = path / "docker.pid"
        self.log_file = path / "dockerd.log"
        self.state_file = path / "lab.json"
        self.containerd_sock = self.exec_dir / "containerd" / "containerd.sock"
        #: True once this object started the daemon itself; False when ``up()`` reused a running lab.
        self.started = False
        #: The engine it runs ("28" or "20.10"; ``RECONCILER_LAB_ENGINE``, see ``tests/lab/engines.py``).
        self.engine = engine or requested_engine()
        self._proc: subprocess.Popen[bytes] | None = None
        check_socket_paths((self.socket_path, self.containerd_sock))

    def __repr__(self) -> str:
        return f"Lab(root={str(self.root)!r})"

    # ------------------------------------------------------------------------------------------ access

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket_path}"

    def client(self, timeout: int = 60) -> docker.DockerClient:
        """A docker SDK client for the lab socket (API version negotiated with the daemon)."""
        import docker

        return docker.DockerClient(base_url=self.base_url, version="auto", timeout=timeout)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment for the docker CLI that targets the lab, and nothing else."""
        env = dict(os.environ if base is None else base)
        for var in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS"):
            env.pop(var, None)
        env["DOCKER_HOST"] = self.base_url
        return env

    def state(self) -> dict[str, Any] | None:
        """The content of lab.json, or None if there is none (or it is unreadable)."""
        return read_state(self.state_file)

    @property
    def pid(self) -> int | None:
        state = self.state()
        pid = state.get("pid") if state else None
        return pid if isinstance(pid, int) else None

    # ---------------------------------------------------------------------------------------- the API

    def _request(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
        return unix_request(str(self.socket_path), method, path, body, timeout)

    def ping(self) -> bool:
        try:
            status, body = self._request("GET", "/_ping", timeout=2.0)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200 and body == "OK"

    def info(self) -> dict[str, Any]:
        status, body = self._request("GET", "/info")
        if status != 200 or not isinstance(body, dict):
            raise LabError(f"GET /info answered {status}: {body}")
        return body

    def _swarm_ready(self) -> bool:
        try:
            swarm = self.info().get("Swarm") or {}
            if swarm.get("LocalNodeState") != "active" or swarm.get("ControlAvailable") is not True:
                return False
            status, nodes = self._request("GET", "/nodes")
        except (OSError, http.client.HTTPException, LabError):
            return False
        return status == 200 and any((n.get("Status") or {}).get("State") == "ready" for n in nodes or [])

    # -------------------------------------------------------------------------------------- processes

    def _lab_dockerds(self) -> list[int]:
        return [pid for pid in _pids() if _comm(pid) == "dockerd" and str(self.exec_dir) in _argv(pid) and _alive(pid)]

    def _foreign_dockerds(self) -> list[int]:
        # Coexistence with the multi-node lab (tests/lab/multinode/): a dockerd in another network namespace
        # (each multi-lab node has its own) has its own docker0 and iptables chains and cannot clash: not foreign.
        here = _netns_inode("self")
        return [
            pid
            for pid in _pids()
            if _comm(pid) == "dockerd"
            and str(self.exec_dir) not in _argv(pid)
            and _alive(pid)
            and _netns_inode(pid) in (None, here)
        ]

    def _lab_containerds(self) -> list[int]:
        config = str(self.exec_dir / "containerd" / "containerd.toml")
        return [pid for pid in _pids() if config in _argv(pid) and _alive(pid)]

    def _lab_shims(self) -> list[int]:
        addr = str(self.containerd_sock)
        return [
            pid for pid in _pids() if _comm(pid).startswith("containerd-shim") and addr in _argv(pid) and _alive(pid)
        ]

    def is_running(self) -> bool:
        """True if lab.json describes a live lab dockerd of ours that answers on its socket."""
        state = self.state()
        if not state or not (self.root / MARKER).exists():
            return False
        pid = state.get("pid")
        if not isinstance(pid, int) or not _alive(pid) or _comm(pid) != "dockerd":
            return False
        if str(self.exec_dir) not in _argv(pid) or not self.ping():
            return False
        try:
            labels = self.info().get("Labels") or []
        except (OSError, http.client.HTTPException, LabError):
            return False
        return f"{LAB_NAME}.token={state.get('token')}" in labels

    # ------------------------------------------------------------------------------------------- setup

    def ensure_installed(self) -> None:
        """Install Debian's docker.io and iproute2 if dockerd or ip is missing."""
        missing = [b for b in ("dockerd", "containerd", "runc", "ip", "iptables") if _which(b) is None]
        if not missing:
            return
        if os.geteuid() != 0:
            raise LabError(f"missing {', '.join(missing)}, and only root can apt-get install docker.io iproute2")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", PATH=_search_path())
        for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "docker.io", "iproute2"]):
            try:
                proc = subprocess.run(
                    argv, capture_output=True, text=True, env=env, timeout=900, stdin=subprocess.DEVNULL
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise LabError(f"`{shlex.join(argv)}` could not run: {exc}") from exc
            if proc.returncode != 0:
                tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
                raise LabError(f"`{shlex.join(argv)}` failed (exit {proc.returncode}):\n{tail}")
        still = [b for b in ("dockerd", "ip") if _which(b) is None]
        if still:
            raise LabError(f"apt-get install docker.io iproute2 succeeded, yet {', '.join(still)} is missing")

    def dockerd_args(self, token: str) -> list[str]:
        return [
            engine_install(self.engine).dockerd,
            "--storage-driver=vfs",
            "--data-root", str(self.data_dir),
            "--exec-root", str(self.exec_dir),
            "--host", self.base_url,
            "--pidfile", str(self.pid_file),
            "--containerd-namespace", LAB_NAME,
            "--containerd-plugins-namespace", f"{LAB_NAME}-plugins",
            "--cgroup-parent", f"/{LAB_NAME}",
            "--iptables=true",
            f"--shutdown-timeout={SHUTDOWN_TIMEOUT}",
            "--label", f"{LAB_NAME}.token={token}",
        ]  # fmt: skip

    def up(self) -> Lab:
        """Start the lab (or reuse the running one) and wait until its swarm is active. Returns self."""
        if os.geteuid() != 0:
            raise LabError("the lab dockerd needs root")
        self.ensure_installed()
        if self.is_running() and (self.state() or {}).get("engine", "20.10") != self.engine:
            self.down()  # one engine at a time: the lab is started again with the one asked for
        if self.is_running():
            self._ensure_swarm()
            self.started = False
            return self
        # A stale lab.json (dead pid), an orphaned lab dockerd or a half-deleted folder: clear it first.
        if self.root.exists() or self._lab_dockerds():
            self.down()
        foreign = self._foreign_dockerds()
        if foreign:
            described = "; ".join(f"pid {p}: {shlex.join(_argv(p))}" for p in foreign)
            raise LabError(
                f"refusing to start the lab: a dockerd that the lab did not start is running ({described}). "
                "It would share docker0 and the iptables chains; stop it first."
            )
        if os.path.lexists(SYSTEM_CONTAINERD_SOCK):
            raise LabError(
                f"refusing to start the lab: {SYSTEM_CONTAINERD_SOCK} exists; dockerd 20.10 would use that "
                "system containerd instead of its own; stop it (or remove the stale socket) first."
            )
        self._start()
        return self

    def _start(self) -> None:
        host_before = _host_snapshot()
        token = secrets.token_hex(16)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)
        (self.root / MARKER).write_text("swarm-reconciler test lab: `python -m tests.lab down` deletes this\n")
        self.data_dir.mkdir(exist_ok=True)
        mount_data_tmpfs(self.data_dir)
        self.exec_dir.mkdir(exist_ok=True)
        self._proc = self._spawn(token)
        self.started = True
        self._write_state(
            {
                "pid": self._proc.pid,
                "socket": str(self.socket_path),
                "token": token,
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "root": str(self.root),
                "engine": self.engine,
                "advertise_addr": None,
                "dummy_iface": None,
                "host_before": host_before,
            }
        )
        try:
            self._wait_ping(START_TIMEOUT)
            self._ensure_swarm()
        except BaseException as exc:
            detail = self.log_tail()
            with contextlib.suppress(Exception):
                self.down()
            if isinstance(exc, LabError):
                raise LabError(f"{exc}\n--- last lines of dockerd.log ---\n{detail}") from exc
            raise

    def _spawn(self, token: str) -> subprocess.Popen[bytes]:
        env = {
            "PATH": engine_install(self.engine).path,  # dockerd finds its own docker-proxy and containerd
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "HTTP_PROXY": DEAD_PROXY,
            "HTTPS_PROXY": DEAD_PROXY,
            "NO_PROXY": "localhost,127.0.0.0/8,::1",
            # Swarm tasks use the local image instead of trying a registry pull first (moby's own test
            # daemons set this too); a missing image then fails the task instead of being pulled.
            "DOCKER_SERVICE_PREFER_OFFLINE_IMAGE": "1",
        }
        with self.log_file.open("ab") as log:
            return subprocess.Popen(
                self.dockerd_args(token),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root,
                start_new_session=True,  # survives the test session's Ctrl-C; reused with RECONCILER_LAB_KEEP
                close_fds=True,
            )

    def restart_daemon(self, down_s: float = 0.0) -> float:
        """Stop the lab's dockerd (SIGTERM) and start it again on the same folder, as when an engine is
        restarted; the swarm comes back from its data root. Returns the seconds it was unreachable."""
        state = self.state()
        if state is None or not self.is_running():
            raise LabError("the lab is not running")
        began = time.monotonic()
        pid = int(state["pid"])
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        time.sleep(down_s)
        self._proc = self._spawn(str(state["token"]))
        self._update_state(pid=self._proc.pid)
        self._wait_ping(START_TIMEOUT)
        self._ensure_swarm()
        return time.monotonic() - began

    def _write_state(self, state: dict[str, Any]) -> None:
        write_state(self.state_file, state)

    def _update_state(self, **changes: Any) -> None:
        update_state(self.state_file, **changes)

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join((_read(self.log_file) or "").splitlines()[-lines:])

    def _wait_ping(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise LabError(f"dockerd exited with status {self._proc.returncode} while starting")
            if self.ping():
                return
            time.sleep(0.1)
        raise LabError(f"dockerd did not answer /_ping on {self.socket_path} within {timeout:.0f} s")

    def _ensure_swarm(self) -> None:
        swarm = self.info().get("Swarm") or {}
        # Only an inactive node joins a new swarm: right after a restart the node is "pending" while it
        # reloads its own swarm from the data root, and a swarm init then fails with "This node is
        # already part of a swarm" (seen once in test_controller_loop).
        if swarm.get("LocalNodeState", "inactive") == "inactive":
            self._swarm_init()
        deadline = time.monotonic() + SWARM_TIMEOUT
        while not self._swarm_ready():
            if time.monotonic() > deadline:
                raise LabError(f"swarm not active with a ready manager within {SWARM_TIMEOUT:.0f} s")
            time.sleep(0.2)

    def _swarm_init(self) -> None:
        errors: list[str] = []
        for addr in (LOOPBACK_ADDR, DUMMY_ADDR):
            if addr == DUMMY_ADDR:
                self._add_dummy()
            body = {"ListenAddr": f"{addr}:{SWARM_PORT}", "AdvertiseAddr": addr, "ForceNewCluster": False}
            status, answer = self._request("POST", "/swarm/init", body, timeout=60.0)
            if status == 200:
                self._update_state(advertise_addr=addr)
                return
            errors.append(f"{addr}: {status} {answer}")
        raise LabError("docker swarm init failed: " + "; ".join(errors))

    def _add_dummy(self) -> None:
        if DUMMY_IFACE not in _links():
            # Kernels without the dummy driver ("Unknown device type") get a port-less bridge instead.
            if _run(["ip", "link", "add", DUMMY_IFACE, "type", "dummy"]).returncode != 0:
                _run(["ip", "link", "add", DUMMY_IFACE, "type", "bridge"], check=True)
            self._update_state(dummy_iface=DUMMY_IFACE)
        _run(["ip", "addr", "replace", f"{DUMMY_ADDR}/32", "dev", DUMMY_IFACE], check=True)
        _run(["ip", "link", "set", DUMMY_IFACE, "up"], check=True)

    # ------------------------------------------------------------------------------------------- down

    def down(self) -> None:
        """Stop the lab dockerd, its containerd, shims and containers, undo its host changes, delete the
        folder. Idempotent; only touches processes and mounts that belong to this lab folder."""
        state = self.state() or {}
        if self.root.exists() and not (self.root / MARKER).exists() and any(self.root.iterdir()):
            raise LabError(f"{self.root} exists but is not a lab folder (no {MARKER}); refusing to delete it")
        if os.geteuid() != 0:
            if not self.root.exists():
                return
            raise LabError("only root can tear the lab down")

        dockerds = set(self._lab_dockerds())
        for candidate in (state.get("pid"), self._pidfile_pid()):
            if (
                isinstance(candidate, int)
                and _alive(candidate)
                and _comm(candidate) == "dockerd"
                and str(self.exec_dir) in _argv(candidate)
            ):
                dockerds.add(candidate)
        # Kill the lab's containers first: swarm tasks carry their own 10 s stop grace period, which
        # dockerd would otherwise wait out on shutdown. Everything in the /srlab cgroup is a lab container.
        payload = _cgroup_pids()
        _signal(payload, signal.SIGKILL)
        _wait_gone(payload, 10.0)
        _stop(sorted(dockerds), STOP_TIMEOUT)
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._proc.wait(timeout=1)
            self._proc = None

        # Whatever dockerd left behind (it was killed, or crashed): containers, shims, containerd.
        children = _children_map()
        shims = self._lab_shims()
        payload = sorted({d for s in shims for d in _descendants(s, children)} | set(_cgroup_pids()))
        _signal(payload, signal.SIGKILL)
        _wait_gone(payload, 10.0)
        _stop(shims, 5.0)
        _stop(self._lab_containerds(), 10.0)

        for _ in range(5):
            mounts = _mounts_under(self.root)
            if not mounts:
                break
            for mnt in sorted(mounts, key=len, reverse=True):
                _umount(mnt)
        left = _mounts_under(self.root)
        if left:
            raise LabError(f"still mounted under {self.root}: {left}")

        self._undo_host_changes(state)
        if self.root.exists():
            shutil.rmtree(self.root)
        self.started = False

    def _pidfile_pid(self) -> int | None:
        text = (_read(self.pid_file) or "").strip()
        return int(text) if text.isdigit() else None

    def _undo_host_changes(self, state: dict[str, Any]) -> None:
        """Remove what lab.json says this lab created on the host, and nothing else."""
        for cg in _lab_cgroups():
            with contextlib.suppress(OSError):
                cg.rmdir()
        dummy = state.get("dummy_iface")
        if dummy == DUMMY_IFACE and DUMMY_IFACE in _links():
            _run(["ip", "link", "del", DUMMY_IFACE])
        before = state.get("host_before")
        if not isinstance(before, dict):
            return  # no record of the host before the lab: leave shared things alone
        links_before = set(before.get("links") or [])
        # The lab's own links, named before they go: the rules that name them are the lab's even where
        # the DOCKER chains were there before it (a host where an engine ran once, CI of stop 21).
        lab_links = {
            link for link in _links() if link not in links_before and link.startswith((*BRIDGES, *LAB_LINK_PREFIXES))
        }
        for link in BRIDGES:
            if link not in links_before and link in _links():
                _run(["ip", "link", "del", link])
        # A bridge network's br-<id>, an overlay's vx-<id> (left in this namespace when dockerd dies
        # before it moved it into the overlay's sandbox) and a container's veth end: new since the lab
        # started, so the lab's. A stale vxlan device blocks later overlay networks with its VNI.
        for link in _links():
            if link not in links_before and link.startswith(LAB_LINK_PREFIXES):
                _run(["ip", "link", "del", link])
        if not before.get("docker_chains"):
            self._remove_docker_iptables()
            policy = before.get("forward_policy")
            if policy in ("ACCEPT", "DROP") and _forward_policy() not in (None, policy):
                _run(["iptables", "-w", "-P", "FORWARD", policy])
        else:
            self._remove_new_rules(lab_links, before)
        if before.get("docker_chains6") == []:  # recorded, and none: Engine 28's ip6tables chains are the lab's
            self._remove_docker_iptables("ip6tables")
        elif before.get("docker_chains6"):
            self._remove_new_rules(lab_links, before, "ip6tables")
        if before.get("ip_forward") == "0" and (_read(IP_FORWARD) or "").strip() == "1":
            with contextlib.suppress(OSError):
                IP_FORWARD.write_text("0\n")
        for run_dir in RUN_DIRS:
            if run_dir not in (before.get("run_dirs") or []):
                _remove_empty_tree(Path(run_dir))
        if before.get("trust_key") is False:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(TRUST_KEY)

    @staticmethod
    def _remove_new_rules(links: set[str], before: dict[str, Any], tool: str = "iptables") -> None:
        """Where DOCKER chains were on the host before the lab, they stay with the rules they had (``before``:
        the snapshot's ``rules`` and chains); the lab's go: each rule added since that names a DOCKER chain,
        a ``br-`` bridge or one of ``links`` (the bridges the lab made), and each DOCKER chain it made."""
        rules_before = set((before.get("rules") or {}).get(tool) or [])
        chains_before = set(before.get("docker_chains6" if tool == "ip6tables" else "docker_chains") or [])
        for table in ("filter", "nat", "raw"):
            rules = _iptables_rules(table, tool)
            new_chains = [
                ln.split()[1]
                for ln in rules
                if ln.startswith("-N DOCKER") and f"{table}:{ln.split()[1]}" not in chains_before
            ]
            for line in rules:
                args = shlex.split(line)
                if len(args) < 3 or args[0] != "-A" or args[1] in new_chains or f"{table}: {line}" in rules_before:
                    continue
                if any(a.startswith(("DOCKER", "br-")) or a in BRIDGES or a in links for a in args[1:]):
                    _run([tool, "-w", "-t", table, "-D", *args[1:]])
            for chain in new_chains:
                _run([tool, "-w", "-t", table, "-F", chain])
            for chain in new_chains:
                _run([tool, "-w", "-t", table, "-X", chain])

    @staticmethod
    def _remove_docker_iptables(tool: str = "iptables") -> None:
        # raw: Engine 28's rules that drop traffic to a container from outside its bridge.
        for table in ("filter", "nat", "raw"):
            rules = _iptables_rules(table, tool)
            for line in rules:
                args = shlex.split(line)
                if len(args) < 3 or args[0] != "-A" or args[1].startswith("DOCKER"):
                    continue
                if any(a.startswith(("DOCKER", "br-")) or a in BRIDGES for a in args[2:]):
                    _run([tool, "-w", "-t", table, "-D", *args[1:]])
            chains = [ln.split()[1] for ln in rules if ln.startswith("-N DOCKER")]
            for chain in chains:
                _run([tool, "-w", "-t", table, "-F", chain])
            for chain in chains:
                _run([tool, "-w", "-t", table, "-X", chain])

    # ------------------------------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        """A summary for humans: whether the lab runs, its pid, socket and swarm state."""
        state = self.state() or {}
        running = self.is_running()
        out: dict[str, Any] = {
            "root": str(self.root),
            "running": running,
            "pid": state.get("pid"),
            "socket": str(self.socket_path),
            "created": state.get("created"),
            "advertise_addr": state.get("advertise_addr"),
        }
        if running:
            swarm = self.info().get("Swarm") or {}
            out["swarm"] = swarm.get("LocalNodeState")
            out["control_available"] = swarm.get("ControlAvailable")
        elif state:
            out["problem"] = "lab.json is stale (its dockerd is gone or does not answer)"
        return out


def _remove_empty_tree(path: Path) -> None:
    """rmdir path and its sub-folders, bottom-up, as long as they are empty; never deletes a file."""
    if not path.is_dir() or path.is_symlink():
        return
    for dirpath, _, _ in sorted(os.walk(path), key=lambda t: len(t[0]), reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)
