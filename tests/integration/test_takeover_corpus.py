"""Issue 15's "done when", in the lab, for every entry of the compose corpus (``tests/data/compose``):
deployed with the real ``docker stack deploy``, then taken over by ``apply --adopt --yes`` of what
``import compose --stack`` made of its files, and of what ``import swarm --stack`` made of the live
stack. A take-over is label-only: no service, network or task is replaced, each service's spec but its
labels is as ``docker stack deploy`` left it, the labels that are neither Traefik's nor the
reconciler's are kept, ``diff`` then exits 0, and ``docker stack ls``/``ps`` still list the stack
and its tasks.

Flows (``FLOWS``): ``compose`` imports the files as written (with ``--stack`` the stack's networks
are ``external: true`` under their Swarm names, as ``import swarm`` writes them: a network cannot be
relabelled, so a managed one is not adopted while tasks use it); ``swarm`` imports a deployment of
its own. All are
deployed at once, except the import-swarm deployments of ``ONE_AT_A_TIME``, which wait until the
compose one of their entry is removed. ``apply --no-wait``: whether a take-over restarts anything is
read from the task IDs; 07's collector is Degraded in the one-node lab by design (one replica per
node), before and after.

A job service (``JOBS``: 12's batch, ``deploy.mode: replicated-job``) is taken over as any other
but for one thing swarmkit does by design: any update of a job, the adoption's labels alone too, runs
it again (manager/controlapi/service.go UpdateService increments ``JobIteration``). So for a job the
plan must announce it (``Notice.JOB_RERUN``), its spec but its labels must stay, and its tasks must be
those it had plus the new run's; every other service is checked as above.

Last, 14's Traefik v2 label set through the lab's real Traefik 3 (see that test's docstring).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import docker
import pytest
from click.testing import CliRunner

from reconciler.cli.app import cli
from reconciler.state.plan import Notice
from tests.integration.conftest import cleanup_instance
from tests.integration.corpus_stacks import ENTRIES, Stacks, StackState, differences, entry_files
from tests.lab import Lab
from tests.lab.images import ensure_busybox_image, ensure_standin_image
from tests.lab.traefik import (
    Response,
    TraefikHandle,
    deploy_traefik,
    ensure_traefik_image,
    traefik_socket_proxy,
    wait_for_provider,
)

TOKEN = secrets.token_hex(2)
FLOWS = ("compose", "swarm")
#: Their two deployments cannot run side by side: ports both publish (04, 09, 12), an explicit subnet (10).
ONE_AT_A_TIME = frozenset({"04-multi-file-merge", "09-ports", "10-networks", "12-not-expressible"})
#: ``import compose`` exits 1 for these: something in them has no manifest form (and is named).
NOT_EXPRESSIBLE = frozenset({"12-not-expressible"})
#: Job services (short names) per entry: adopting one runs it again, by swarmkit's design (see the
#: module docstring); the plan must say so, and nothing else of the stack may restart.
JOBS: dict[str, frozenset[str]] = {"12-not-expressible": frozenset({"batch"})}
TRAEFIK_ENTRY = "14-traefik2-backend"


def stack_name(flow: str, entry: str) -> str:
    return f"{flow[0]}{TOKEN}{entry[:2]}"


def instance(stack: str) -> str:
    return f"k{stack}"


@dataclass
class Corpus:
    """The module's stacks: deployed on first use, the import-swarm ones of ``ONE_AT_A_TIME`` in a second round."""

    lab: Lab
    stacks: Stacks
    wanted: set[tuple[str, str]]
    before: dict[str, StackState] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def stack(self, flow: str, entry: str) -> tuple[str, StackState]:
        name = stack_name(flow, entry)
        if name not in self.before:
            later = flow == "swarm" and entry in ONE_AT_A_TIME
            if later:  # the second round: the compose deployments of these go first
                first = [stack_name("compose", e) for e in ONE_AT_A_TIME]
                self.stacks.remove(first)
                self.removed += first
            batch = {
                stack_name(f, e): e
                for f, e in self.wanted
                if (f == "swarm" and e in ONE_AT_A_TIME) == later and stack_name(f, e) not in self.before
            }
            self.stacks.deploy(batch)
            self.before.update(self.stacks.settled(batch))
        return name, self.before[name]

    def run(self, stack: str, *args: str) -> tuple[int, str]:
        """A reconciler command as the stack's own instance (in process, as the other lab tests run it)."""
        argv = ["--docker-host", self.lab.base_url, "--instance", instance(stack), *args]
        result = CliRunner().invoke(cli, argv)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout + result.stderr

    def docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], env=self.lab.env(), capture_output=True, text=True, timeout=60)


def _wanted(request: pytest.FixtureRequest) -> set[tuple[str, str]]:
    """(flow, entry) of the selected tests of this module (all of them, or those -k kept)."""
    found = set()
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if getattr(item, "module", None) is request.module and "entry" in params:
            flow = params.get("flow", "traefik")
            found.add((flow, params["entry"]))
    return found


@pytest.fixture(scope="module")
def corpus(lab: Lab, docker_client: docker.DockerClient, request: pytest.FixtureRequest) -> Iterator[Corpus]:
    began = time.monotonic()
    # The images the corpus runs (lab/standin:1 and lab/busybox:1; 02's traefik and socket proxy place
    # no task): built here, so that the module passes alone on a fresh lab, not only after others.
    ensure_busybox_image(lab.env())
    ensure_standin_image(lab.env())
    stacks = Stacks(docker_client, lab.env())
    stacks.make_externals()
    corpus = Corpus(lab, stacks, _wanted(request))
    try:
        yield corpus
    finally:
        names = [*stacks.deployed, *corpus.removed]
        try:
            stacks.close(corpus.removed)
        finally:
            for stack in names:  # what the take-overs made beside the stacks (a name key, configs)
                cleanup_instance(docker_client, instance(stack))
            print(f"\ncorpus take-over module: {len(names)} stacks, {time.monotonic() - began:.1f} s")


def import_stack(corpus: Corpus, flow: str, entry: str, stack: str, out: Path) -> None:
    if flow == "swarm":
        code, shown = corpus.run(stack, "import", "swarm", "--stack", stack, "--out", str(out))
        assert code == 0, shown
        return
    files = [str(p) for p in entry_files(entry)]
    code, shown = corpus.run(stack, "import", "compose", *files, "--stack", stack, "--out", str(out))
    assert code == (1 if entry in NOT_EXPRESSIBLE else 0), shown


def assert_label_only(before: StackState, after: StackState, stack: str, jobs: frozenset[str]) -> None:
    """``jobs``: job services (short names); each keeps its spec but its labels, and its tasks are
    those it had plus a new run's (an update runs a job again)."""
    reruns = {f"{stack}_{name}" for name in jobs}
    assert reruns <= set(before.specs), f"not services of {stack}: {sorted(reruns - set(before.specs))}"
    for name in sorted(reruns):
        assert before.tasks[name] < after.tasks[name], f"{name}: the adoption did not run the job again"
    assert after.services == before.services, "a service was replaced or removed"
    assert after.networks == before.networks, "a network was replaced or removed"
    for name, spec in before.specs.items():
        assert after.specs[name] == spec, (
            f"{name}: its spec (labels aside) changed: {differences(spec, after.specs[name])}"
        )
        assert after.labels[name] == before.labels[name], f"{name}: labels other than Traefik's changed"
    assert _without(after, reruns).tasks == _without(before, reruns).tasks, "a task was replaced"


def _without(state: StackState, names: set[str]) -> StackState:
    def keep(mapping: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in mapping.items() if k not in names}

    return replace(
        state,
        services=keep(state.services),
        specs=keep(state.specs),
        labels=keep(state.labels),
        tasks=keep(state.tasks),
    )


def take_over(corpus: Corpus, flow: str, entry: str, out: Path) -> tuple[str, StackState]:
    """Import, ``apply --adopt``, and check that it was label-only; the stack's name and state before."""
    stack, before = corpus.stack(flow, entry)
    import_stack(corpus, flow, entry, stack, out)
    jobs = JOBS.get(entry, frozenset())
    code, shown = corpus.run(stack, "-o", "json", "apply", str(out), "--adopt", "--dry-run")
    announced = {
        change["swarm_name"]
        for change in json.JSONDecoder().raw_decode(shown)[0]["changes"]
        if Notice.JOB_RERUN.value in [n["notice"] for n in change["notices"]]
    }
    assert announced == {f"{stack}_{name}" for name in jobs}, shown  # the plan says which jobs run again
    code, shown = corpus.run(stack, "apply", str(out), "--adopt", "--yes", "--no-wait")
    assert code == 0, shown
    assert_label_only(before, corpus.stacks.state(stack), stack, jobs)
    return stack, before


def _cases() -> list[Any]:
    return [pytest.param(flow, entry, id=f"{flow}-{entry}") for flow in FLOWS for entry in ENTRIES]


@pytest.mark.parametrize(("flow", "entry"), _cases())
def test_a_deployed_stack_is_taken_over_label_only(corpus: Corpus, flow: str, entry: str, tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    stack, before = take_over(corpus, flow, entry, out)
    code, shown = corpus.run(stack, "diff", str(out))
    assert code == 0, shown
    assert stack in corpus.docker("stack", "ls", "--format", "{{.Name}}").stdout.split()
    listed = corpus.docker("stack", "ps", "--no-trunc", "-q", stack)
    assert before.task_ids() <= set(listed.stdout.split()), listed.stderr


@pytest.mark.parametrize("entry", [TRAEFIK_ENTRY])
def test_traefik2_labels_imported_to_routes_serve_through_traefik3(
    corpus: Corpus, docker_client: docker.DockerClient, entry: str, tmp_path: Path
) -> None:
    """14's v2 labels, read by the lab's Traefik 3 (3.7, swarm provider) before the take-over: it reads
    ``traefik.docker.network`` (with a deprecation warning: ``extractSwarmLabels`` in
    ``pkg/provider/docker/shared_labels.go``) and serves the router whose rule v3 parses, but refuses
    v2's ``Host(`a`, `b`)`` (v3 is the default rule syntax), so ``whoami.example.org`` is not served.
    After ``apply --adopt`` of the Routes imported from those labels (v3 grammar, the stack's router
    names, ``traefik.swarm.network``) every host of the label set is served, by the same tasks.
    Traefik sees only this stack (a provider constraint on its namespace label)."""
    stack, before = corpus.stack("traefik", entry)
    lab = corpus.lab
    image = ensure_traefik_image(lab.env())
    folder = lab.root / f"proxy-{stack}"  # not the session's Traefik proxy folder (proxy-traefik-<pid>)
    with traefik_socket_proxy(lab, docker_client, folder=folder) as proxy:
        since = proxy.log_path.stat().st_size
        only = f"--providers.swarm.constraints=Label(`com.docker.stack.namespace`,`{stack}`)"
        traefik = deploy_traefik(
            docker_client, image, "web-servers", proxy.url, name=f"traefik-{stack}", extra_args=[only]
        )
        try:
            wait_for_provider(proxy, handle=traefik, since=since)
            traefik.wait_for_router("whoami-app")
            answer = traefik.get("apps.example.org", "/app/")
            assert (answer.status, answer.body) == (200, b"whoami\n")
            refused = traefik.wait_until(lambda: traefik.router("whoami"), what="router whoami listed")
            # "error while adding rule Host: unexpected number of parameters; got 2, expected one of [1]"
            assert refused["status"] == "disabled" and "unexpected number of parameters" in str(refused["error"])
            assert traefik.get("whoami.example.org").status == 404
            assert "Labels traefik.docker.* for Swarm provider are deprecated" in traefik.logs(200)

            out = tmp_path / "manifests"
            import_stack(corpus, "compose", entry, stack, out)
            code, shown = corpus.run(stack, "apply", str(out), "--adopt", "--yes", "--no-wait")
            assert code == 0, shown
            assert_label_only(before, corpus.stacks.state(stack), stack, {})

            traefik.wait_for_router(f"{stack}_whoami")
            traefik.wait_for_router(f"{stack}_whoami-app")
            for host, path in (
                ("whoami.example.org", "/"),
                ("www.whoami.example.org", "/"),
                ("apps.example.org", "/app/"),
            ):
                answer = traefik.wait_until(partial(_served, traefik, host, path), what=f"{host}{path} served")
                assert answer.body == b"whoami\n", answer
        finally:
            traefik.remove()
    shutil.rmtree(folder, ignore_errors=True)


def _served(traefik: TraefikHandle, host: str, path: str) -> Response | None:
    answer = traefik.get(host, path)
    return answer if answer.status == 200 else None
