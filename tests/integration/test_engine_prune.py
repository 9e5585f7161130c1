"""Pruning: off unless asked; only this instance's objects; never on an empty manifest set without
``--allow-empty``; at most ``--max-prune`` per run; and data volumes are never deleted."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import docker
from click.testing import CliRunner

from reconciler.cli.app import cli
from reconciler.core.labels import MANAGED_BY
from tests.integration.conftest import Workspace


def exists(ws: Workspace, swarm_kind: str, name: str) -> bool:
    """Is there a swarm object of that exact name (configs/secrets: the Swarm name, or its manifest-name prefix)?"""
    api = ws.client.api
    if swarm_kind == "network":
        return any(n["Name"] == name for n in api.networks(names=[name]) if n.get("Scope") == "swarm")
    items = {"service": api.services, "config": api.configs, "secret": api.secrets}[swarm_kind]()
    names = [i["Spec"]["Name"] for i in items]
    if swarm_kind == "service":
        return name in names
    return any(n == name or n.startswith(name + "-") for n in names)


def stack(ws: Workspace, busybox: str) -> list[dict[str, Any]]:
    """A network, a config, a secret and a service that uses all three."""
    (ws.folder / "pw.txt").write_text("pw\n")
    return [
        ws.doc("Network", "net", {}),
        ws.doc("Config", "conf", {"data": "a = 1\n"}),
        ws.doc("Secret", "pw", {"file": "pw.txt"}),
        ws.doc(
            "Service",
            "web",
            {
                "image": busybox,
                "args": ["sleep", "3600"],
                "replicas": 0,
                "networks": [ws.name("net")],
                "configs": [{"name": ws.name("conf"), "target": "/etc/a.conf"}],
                "secrets": [{"name": ws.name("pw")}],
            },
        ),
    ]


def keeper(ws: Workspace) -> dict[str, Any]:
    return ws.doc("Network", "keep", {})


STACK = (("service", "web"), ("secret", "pw"), ("config", "conf"), ("network", "net"))


def apply_json(ws: Workspace, *args: str, folder: Path | None = None) -> tuple[int, dict[str, Any]]:
    out = ws.cli("-o", "json", "apply", "--yes", *args, str(folder or ws.folder))
    assert out.exit_code in (0, 1), (out.stdout, out.stderr)
    return out.exit_code, json.loads(out.stdout)


def deployed(ws: Workspace, busybox: str) -> None:
    ws.write(keeper(ws), *stack(ws, busybox))
    out = ws.cli("apply", "--yes", str(ws.folder))
    assert out.exit_code == 0, out.stdout + out.stderr
    assert all(exists(ws, kind, ws.name(base)) for kind, base in STACK)


# ------------------------------------------------------------------------------------- off by default


def test_without_prune_a_removed_object_is_kept_and_shown(ws: Workspace, busybox: str) -> None:
    deployed(ws, busybox)
    ws.write(keeper(ws))
    diff = ws.cli("diff", str(ws.folder))
    assert diff.exit_code == 0, diff.stdout  # kept objects are not a difference...
    for kind, base in STACK:  # ...but they are listed, with the way to prune them
        assert f"{kind.capitalize()}/{ws.name(base)}" in diff.stdout
    assert diff.stdout.count("not in the manifests; kept (prune with --prune)") == 4

    plan = json.loads(ws.cli("-o", "json", "diff", str(ws.folder)).stdout)
    kept = [c for c in plan["changes"] if "--prune" in c["reason"]]
    assert plan["in_sync"] is True and len(kept) == 4 and {c["action"] for c in kept} == {"noop"}

    applied = ws.cli("apply", "--yes", str(ws.folder))
    assert applied.exit_code == 0, applied.stdout
    assert all(exists(ws, kind, ws.name(base)) for kind, base in STACK)

    status = ws.cli("status", str(ws.folder))
    assert status.exit_code == 1 and "not in manifests" in status.stdout

    shown = ws.cli("-o", "json", "diff", "--prune", str(ws.folder))
    assert shown.exit_code == 1
    deletes = [c for c in json.loads(shown.stdout)["changes"] if c["action"] == "delete"]
    assert len(deletes) == 4
    assert all(exists(ws, kind, ws.name(base)) for kind, base in STACK)  # diff --prune only shows


def test_prune_deletes_service_then_secret_and_config_then_network(ws: Workspace, busybox: str) -> None:
    deployed(ws, busybox)
    ws.write(keeper(ws))
    code, result = apply_json(ws, "--prune")
    assert code == 0, result["outcomes"]
    deletes = [c for c in result["changes"] if c["action"] == "delete"]
    kinds = [c["key"].split("/")[0] for c in deletes]
    assert kinds == ["Service", "Secret", "Config", "Network"]
    assert all(c["reason"] == "managed, and no longer in the manifests" for c in deletes)
    assert {o["status"] for o in result["outcomes"] if o["action"] == "delete"} == {"done"}
    assert not any(exists(ws, kind, ws.name(base)) for kind, base in STACK)
    assert exists(ws, "network", ws.name("keep"))
    assert ws.cli("diff", "--prune", str(ws.folder)).exit_code == 0


def running_on(ws: Workspace, busybox: str, grace: str) -> None:
    """A network and a service with one running task on it (busybox ``sleep`` ignores SIGTERM, so a task
    takes the whole stop grace period to end)."""
    service = {"image": busybox, "args": ["sleep", "3600"], "replicas": 1, "networks": [ws.name("net")],
               "stopGracePeriod": grace}  # fmt: skip
    ws.write(keeper(ws), ws.doc("Network", "net", {}), ws.doc("Service", "run", service))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    assert len(ws.task_ids("run")) == 1


def wait_gone(ws: Workspace, swarm_kind: str, name: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while exists(ws, swarm_kind, name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_prune_of_a_network_whose_tasks_are_still_stopping(ws: Workspace, busybox: str) -> None:
    running_on(ws, busybox, grace="1s")
    ws.write(keeper(ws))
    code, result = apply_json(ws, "--prune")
    assert code == 0, result["outcomes"]
    assert [c["key"].split("/")[0] for c in result["changes"] if c["action"] == "delete"] == ["Service", "Network"]
    assert not exists(ws, "service", ws.name("run"))
    # The engine accepts the removal at once but drops the network only once the task is gone.
    assert wait_gone(ws, "network", ws.name("net"))
    assert ws.cli("diff", "--prune", str(ws.folder)).exit_code == 0


def test_a_second_prune_while_the_network_is_still_going_away_succeeds(ws: Workspace, busybox: str) -> None:
    running_on(ws, busybox, grace="10s")
    ws.write(keeper(ws))
    code, result = apply_json(ws, "--prune")
    assert code == 0, result["outcomes"]
    code, again = apply_json(ws, "--prune")  # e.g. the controller's next pass, or a re-run
    assert code == 0, again.get("outcomes")


# ---------------------------------------------------------------------------------- whose objects


def test_prune_never_touches_another_instance_or_unmanaged_objects(ws: Workspace, busybox: str) -> None:
    api = ws.client.api
    other = f"{ws.instance}-other"
    other_folder = ws.folder.parent / "other"
    other_folder.mkdir()
    (other_folder / "m.yaml").write_text(
        "\n---\n".join(
            json.dumps(d)
            for d in (
                ws.doc("Network", "theirs", {}),
                ws.doc("Service", "theirs", {"image": busybox, "replicas": 0, "networks": [ws.name("theirs")]}),
            )
        )
    )
    argv = ["--docker-host", ws.lab.base_url, "--instance", other, "apply", "--yes", str(other_folder)]
    theirs = CliRunner().invoke(cli, argv)
    assert theirs.exit_code == 0, (theirs.stdout, theirs.stderr)
    api.create_network(ws.name("manual"), driver="overlay", labels={"owner": "ops"})
    api.create_service(
        docker.types.TaskTemplate(docker.types.ContainerSpec(busybox, ["sleep", "3600"])),
        name=ws.name("manual"),
        mode=docker.types.ServiceMode("replicated", replicas=0),
    )
    deployed(ws, busybox)

    ws.write(keeper(ws))
    code, result = apply_json(ws, "--prune")
    assert code == 0, result["outcomes"]
    pruned = {c["key"] for c in result["changes"] if c["action"] == "delete"}
    assert pruned == {f"{kind.capitalize()}/{ws.name(base)}" for kind, base in STACK}
    assert not any(exists(ws, kind, ws.name(base)) for kind, base in STACK)
    for kind in ("network", "service"):
        assert exists(ws, kind, ws.name("theirs")), kind
        assert exists(ws, kind, ws.name("manual")), kind
    assert api.inspect_service(ws.name("theirs"))["Spec"]["Labels"][MANAGED_BY] == other

    # The other instance still sees its objects in sync.
    again = CliRunner().invoke(cli, [*argv[:4], "diff", str(other_folder)])
    assert again.exit_code == 0, again.stdout


# --------------------------------------------------------------------------------- safety limits


def empty_sets(ws: Workspace) -> list[Path]:
    """Folders that hold no manifest: nothing at all, no YAML file, a YAML file with only a comment."""
    folders = [ws.folder.parent / name for name in ("empty", "readme-only", "comments-only")]
    for folder in folders:
        folder.mkdir()
    (folders[1] / "README.txt").write_text("not a manifest\n")
    (folders[2] / "nothing.yaml").write_text("# nothing here\n---\n")
    return folders


def test_an_empty_manifest_set_never_prunes_without_allow_empty(ws: Workspace, busybox: str) -> None:
    everything = (*STACK, ("network", "keep"))
    deployed(ws, busybox)
    for empty in empty_sets(ws):
        # A folder without manifests is an error (exit 2) for diff and apply, before anything is planned:
        # a mistyped path must read neither as "in sync" nor as "delete everything" (issue 16).
        for argv in (("apply", "--yes"), ("apply", "--yes", "--prune"), ("diff",), ("diff", "--prune"),
                     ("-o", "json", "apply", "--yes", "--prune")):  # fmt: skip
            out = ws.cli(*argv, str(empty))
            assert out.exit_code == 2, (argv, out.stdout)
            assert "no manifests" in out.stderr and "--allow-empty" in out.stderr, out.stderr
        kept = ws.cli("apply", "--yes", "--allow-empty", str(empty))
        assert kept.exit_code == 0, kept.stdout  # without --prune: everything kept, nothing to do
        assert all(exists(ws, kind, ws.name(base)) for kind, base in everything)

    code, pruned = apply_json(ws, "--prune", "--allow-empty", folder=empty)
    assert code == 0, pruned["outcomes"]
    assert {c["action"] for c in pruned["changes"]} == {"delete"}
    assert not any(exists(ws, kind, ws.name(base)) for kind, base in everything)


def test_max_prune_blocks_the_whole_prune(ws: Workspace, busybox: str) -> None:
    ws.write(keeper(ws), ws.doc("Network", "a", {}), ws.doc("Network", "b", {}))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    ws.write(keeper(ws))

    code, result = apply_json(ws, "--prune", "--max-prune", "1")
    assert code == 1
    blocked = [c for c in result["changes"] if c["action"] == "blocked"]
    assert {c["key"] for c in blocked} == {f"Network/{ws.name('a')}", f"Network/{ws.name('b')}"}
    assert all("would prune 2 objects, more than --max-prune 1: nothing pruned" in c["reason"] for c in blocked)
    assert exists(ws, "network", ws.name("a")) and exists(ws, "network", ws.name("b"))

    code, result = apply_json(ws, "--prune", "--max-prune", "2")
    assert code == 0, result["outcomes"]
    assert not exists(ws, "network", ws.name("a")) and not exists(ws, "network", ws.name("b"))


# -------------------------------------------------------------------------------------- volumes


def test_prune_never_deletes_a_data_volume(ws: Workspace, busybox: str) -> None:
    api = ws.client.api
    ws.write(
        keeper(ws),
        ws.doc("Volume", "data", {"driver": "local"}),
        ws.doc(
            "Service",
            "db",
            {
                "image": busybox,
                "args": ["sleep", "3600"],
                "replicas": 1,
                "stopGracePeriod": "1s",
                "mounts": [{"volume": ws.name("data"), "target": "/data"}],
            },
        ),
    )
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    assert len(ws.task_ids("db")) == 1
    volume = ws.service("db")["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"][0]["Source"]
    assert volume.startswith(ws.name("data") + "-")
    try:
        assert volume in {v["Name"] for v in api.volumes()["Volumes"] or []}

        ws.write(keeper(ws))
        code, result = apply_json(ws, "--prune")
        assert code == 0, result["outcomes"]
        assert [c["key"] for c in result["changes"] if c["action"] == "delete"] == [f"Service/{ws.name('db')}"]
        assert not exists(ws, "service", ws.name("db"))
        label = {"label": f"com.docker.swarm.service.name={ws.name('db')}"}
        deadline = time.monotonic() + 30
        while api.containers(all=True, filters=label) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not api.containers(all=True, filters=label)
        assert volume in {v["Name"] for v in api.volumes()["Volumes"] or []}  # the data outlives its service
    finally:
        for _ in range(100):
            try:
                api.remove_volume(volume)
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError:
                time.sleep(0.3)
