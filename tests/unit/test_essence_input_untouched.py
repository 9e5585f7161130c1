"""``service_essence`` edits what ``omit_empty`` built, never the spec it was given: it no longer deep-copies
the spec first (issue 18: the copy was most of a plan's time), so this guards the caller's spec, a
desired spec the applier sends later or a live spec the next plan reads again."""

from __future__ import annotations

import copy
from pathlib import Path

from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired
from reconciler.state.essence import service_essence

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_service_essence_leaves_every_example_spec_as_it_was() -> None:
    desired = compile_desired(load_manifests(EXAMPLES), "essence-test")
    services = [o for o in desired.objects if o.swarm_kind == "service"]
    assert services
    for item in services:
        before = copy.deepcopy(item.spec)
        first = service_essence(item.spec, {"net-id": "web-servers"})
        assert item.spec == before, item.key
        assert service_essence(item.spec, {"net-id": "web-servers"}) == first == item.essence


def test_service_essence_leaves_a_live_spec_with_every_edited_section_as_it_was() -> None:
    live = {
        "Name": "app",
        "Labels": {"b": "2", "a": "1"},
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": "app:1@sha256:" + "0" * 64,
                "StopSignal": "TERM",
                "StopGracePeriod": 10_000_000_000,
                "DNSConfig": {"Nameservers": ["1.1.1.1"], "Options": ["z", "a"]},
                "Configs": [{"ConfigName": "c-1", "ConfigID": "id1", "File": {"Name": "/c"}}],
                "Mounts": [{"Type": "volume", "Source": "v", "Target": "/v"}],
                "Ulimits": [{"Name": "nproc", "Soft": 2, "Hard": 3}, {"Name": "core", "Soft": 0, "Hard": 0}],
                "Init": False,
            },
            "Networks": [{"Target": "net-id", "Aliases": ["y", "x"]}],
        },
        "Mode": {"Replicated": {"Replicas": 1}},
    }
    before = copy.deepcopy(live)
    service_essence(live, {"net-id": "web-servers"})
    assert live == before
