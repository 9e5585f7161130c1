"""``state.content_names`` alone, on observed states built by hand: which names are kept, what the
key being made holds back, and that a live key names a value the same way every time."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.keys import ResourceKey
from reconciler.core.labels import MANAGED_BY, NAME_KEY_KIND, ownership_labels
from reconciler.manifests.loading import load_manifests
from reconciler.state.content_names import KEY_BYTES, Kept, name_key_config, read_name_key, resolve_names
from reconciler.state.desired import DesiredState, compile_desired
from reconciler.state.observed import ObservedState, observe_snapshot
from reconciler.state.snapshot import Snapshot

API = "reconciler.swarm/v1alpha1"


def desired(tmp_path: Path, namespace: str | None = None) -> DesiredState:
    metadata: dict[str, Any] = {"name": "pw", **({"namespace": namespace} if namespace else {})}
    (tmp_path / "pw.txt").write_text("hunter2\n")
    document = {"apiVersion": API, "kind": "Secret", "metadata": metadata, "spec": {"file": "pw.txt"}}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(document))
    return compile_desired(load_manifests(tmp_path), "lab")


def observed(
    *secrets: tuple[str, dict[str, str]], key: bytes | None = None, key_labels: dict[str, str] | None = None
) -> ObservedState:
    items = [
        {"ID": name, "Version": {"Index": 1}, "Spec": {"Name": name, "Labels": labels}} for name, labels in secrets
    ]
    configs = []
    if key is not None:
        labels = ownership_labels(NAME_KEY_KIND, "lab", "lab") if key_labels is None else key_labels
        spec = {"Name": name_key_config("lab"), "Labels": labels, "Data": base64.b64encode(key).decode()}
        configs.append({"ID": "key", "Version": {"Index": 1}, "Spec": spec})
    return observe_snapshot(Snapshot(secrets=items, configs=configs))


def test_a_live_key_names_a_value_alike_whatever_fresh_key_is_drawn(tmp_path: Path) -> None:
    state = desired(tmp_path)
    live = observed(key=b"k" * KEY_BYTES)
    resolved = [resolve_names(state, live, False, fresh).objects for fresh in (b"a" * 32, b"b" * 32)]
    assert [[o.swarm_kind for o in objects] for objects in resolved] == [["secret"], ["secret"]]  # no key to make
    names = {objects[0].swarm_name for objects in resolved}
    assert len(names) == 1
    assert names != {state.objects[0].swarm_name}  # not the plain hash


def test_a_key_config_without_the_instance_labels_is_no_key() -> None:
    key = b"k" * KEY_BYTES
    assert read_name_key(observed(key=key), "lab") == key
    foreign = ({}, {MANAGED_BY: "other", "reconciler.swarm/kind": NAME_KEY_KIND}, {MANAGED_BY: "lab"})
    assert [read_name_key(observed(key=key, key_labels=labels), "lab") for labels in foreign] == [None] * 3


def test_without_a_key_one_is_made_first_and_the_secret_waits_for_it(tmp_path: Path) -> None:
    resolved = resolve_names(desired(tmp_path), observed(), False, b"f" * KEY_BYTES)
    key, secret = resolved.objects
    assert key.key == ResourceKey.of("NameKey", "lab") and key.swarm_name == name_key_config("lab")
    assert base64.b64decode(key.spec["Data"]) == b"f" * KEY_BYTES
    assert key.key in secret.depends_on


def test_an_unkeyed_secret_is_kept_and_waits_for_nothing(tmp_path: Path) -> None:
    state = desired(tmp_path)
    unkeyed = state.objects[0].swarm_name
    resolved = resolve_names(state, observed((unkeyed, {MANAGED_BY: "lab"})), False, b"f" * KEY_BYTES)
    _, secret = resolved.objects
    assert (secret.swarm_name, secret.kept) == (unkeyed, Kept.UNKEYED)
    assert not secret.depends_on
    # Not this instance's, and no adoption: not kept.
    other = resolve_names(state, observed((unkeyed, {MANAGED_BY: "other"})), False, b"f" * KEY_BYTES)
    assert other.objects[1].swarm_name != unkeyed


def test_an_adopted_stack_secret_is_kept_on_trust_and_waits_for_a_new_key(tmp_path: Path) -> None:
    state = desired(tmp_path, "wp")
    resolved = resolve_names(state, observed(("wp_pw", {"com.docker.stack.namespace": "wp"})), True, b"f" * 32)
    key, secret = resolved.objects
    assert (secret.swarm_name, secret.kept) == ("wp_pw", Kept.STACK_SECRET)
    assert key.key in secret.depends_on  # its content label is keyed by the key being made
    # Without --adopt it is left alone: the keyed name is made instead.
    assert resolve_names(state, observed(("wp_pw", {})), False, b"f" * 32).objects[1].swarm_name != "wp_pw"
