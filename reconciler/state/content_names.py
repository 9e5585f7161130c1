"""Config and secret names, resolved once the swarm is seen: keyed secret names, and live objects
that keep their names while they hold the desired content.

``compile_desired`` names a config or secret ``<base>-<hash8>`` (``render.objects.config_name``), a
plain hash of what it holds. For a secret that hash let anyone who can list services test guesses of
the value offline (issue 14), so a secret's name is ``<base>-<HMAC8>`` under a key the instance keeps
in the swarm: the config ``reconciler-name-key-<instance>`` (32 random bytes, made once, never
pruned, read back at every observation, so every pass and every controller replica names the same
value the same way). Configs stay plainly hashed: their content is readable through the API anyway.

A live object keeps its name instead, so nothing that uses it is updated (no task restarts), while
it provably or declaredly holds the desired content (``Kept``):

- ``UNKEYED``: a secret under the plain-hash name of before: the name is the hash of the content,
  labels and templating, so it holds exactly that;
- ``STACK_CONFIG``: a config under the name ``docker stack deploy`` gives it (``wp_conf``, no hash),
  whose ``Data`` equals the desired content (configs are readable);
- ``STACK_SECRET``: a secret under its stack name, which an adoption takes over on the operator's
  word (a secret cannot be read back); the engine compares the value when the adoption writes the
  labels (swarmkit ``controlapi/secret.go`` ``UpdateSecret`` refuses other ``Data``), and the label
  ``reconciler.swarm/content`` then records the keyed digest of the content, which later passes
  compare;
- the object of the current name exists: nothing to keep.

Only objects this instance manages, or ones being adopted (``--adopt`` or the annotation), are kept.
After any content change the name no longer matches, and the usual create, update and rotation
follow. Pure: the engine passes a fresh random key, used only when the swarm holds none yet (the plan
then creates the key object first, and the secrets it names wait for it). Called by ``plan_once``.

The key is read only from a config that carries this instance's labels (managed-by and kind
``NameKey``): a config of that name made by someone else (a known key would make names guessable
again) or left from another swarm is not used; the key to make then conflicts with it, which the plan
shows, and nothing is named under it. When the key is gone while secrets this instance made under it
are in the swarm (the config was removed by hand: ``docker config rm`` takes it, as no service uses
it), a new key renames each of them and restarts the services that use them; the plan says so on
the key's creation (``Kept.NEW_KEY``, ``Notice.NEW_NAME_KEY``) before anything is applied.
Restoring the config (its data and labels, from ``docker config inspect``) keeps the names.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from enum import StrEnum
from typing import Any

from reconciler.core.keys import ResourceKey
from reconciler.core.labels import (
    APPLIED_HASH,
    CONTENT_MARK,
    KIND,
    NAME_KEY_KIND,
    NAME_KEY_PREFIX,
    ownership_labels,
)
from reconciler.core.swarm_names import keyed_digest, keyed_name
from reconciler.state.desired import DesiredObject, DesiredState
from reconciler.state.essence import config_essence, essence_hash, service_essence
from reconciler.state.observed import ObservedObject, ObservedState
from reconciler.state.plan_memo import PlanMemo

__all__ = ["KEY_BYTES", "Kept", "name_key_config", "read_name_key", "resolve_names"]

KEY_BYTES = 32
_MIN_KEY_BYTES = 16


class Kept(StrEnum):
    """Why a live config or secret keeps its name (``DesiredObject.kept``)."""

    UNKEYED = "unkeyed"  # a secret under its plain-hash name of before: the name proves the content
    STACK_CONFIG = "stack-config"  # a stack's config whose readable content equals the manifest's
    STACK_SECRET = "stack-secret"  # a stack's secret, adopted on the operator's word (checked by the engine)
    MARKED = "marked"  # a secret kept before, whose content label matches the manifest's content
    NEW_KEY = "new-key"  # on the key object: it is made anew while secrets named under a lost key exist


def name_key_config(instance: str) -> str:
    return f"{NAME_KEY_PREFIX}{instance}"


def read_name_key(observed: ObservedState, instance: str) -> bytes | None:
    """The instance's key, from the live config's data; None when there is none, it is not labelled
    as this instance's key, or it is unusable."""
    live = observed.find("config", name_key_config(instance))
    if live is None or live.managed_by != instance or live.labels.get(KIND) != NAME_KEY_KIND:
        return None  # someone else's config of that name is no key of ours (the plan shows the conflict)
    try:
        key = base64.b64decode(live.spec.get("Data") or "", validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) >= _MIN_KEY_BYTES else None


def resolve_names(
    desired: DesiredState, observed: ObservedState, adopt: bool, fresh_key: bytes, memo: PlanMemo | None = None
) -> DesiredState:
    """The desired state with every config's and secret's final name, and the services' references
    to them rewritten. ``fresh_key``: the key to create when the swarm holds none. ``memo``: a service
    whose references are renamed as in the last pass is not rewritten again (``state.plan_memo``)."""
    if desired.names_resolved:
        return desired
    namings = [o for o in desired.objects if o.naming is not None]
    key = read_name_key(observed, desired.instance)
    key_object = None
    if key is None and any(o.swarm_kind == "secret" for o in namings):
        key = fresh_key
        key_object = _key_object(desired.instance, key)
    renames: dict[tuple[str, str], str] = {}
    objects: list[DesiredObject] = []
    for item in desired.objects:
        if item.naming is None:
            objects.append(item)
            continue
        resolved = _resolve(item, observed, desired.instance, adopt or item.adopt, key)
        # A secret whose name or content label comes from the key being made waits for it: made under
        # a key the swarm never got, it would be renamed (its services restarted) by the next pass.
        if key_object is not None and resolved.swarm_kind == "secret" and resolved.kept != Kept.UNKEYED:
            resolved = replace(resolved, depends_on=(*resolved.depends_on, key_object.key))
        if resolved.swarm_name != item.swarm_name:
            renames[(item.swarm_kind, item.swarm_name)] = resolved.swarm_name
        objects.append(resolved)
    if memo is None:
        objects = [_renamed_references(o, renames) if o.swarm_kind == "service" else o for o in objects]
    else:
        with memo.renamed.round():
            objects = [_renamed_by_memo(o, renames, memo) if o.swarm_kind == "service" else o for o in objects]
    if key_object is not None:
        if _renamed_by_new_key(objects, observed, desired.instance):
            key_object = replace(key_object, kept=Kept.NEW_KEY.value)
        objects.insert(0, key_object)
    return replace(desired, objects=tuple(objects), names_resolved=True)


def _resolve(
    item: DesiredObject, observed: ObservedState, instance: str, adopt: bool, key: bytes | None
) -> DesiredObject:
    naming = item.naming
    assert naming is not None
    current = keyed_name(naming.base, naming.source, key) if item.swarm_kind == "secret" and key else item.swarm_name
    if observed.find(item.swarm_kind, current) is not None:
        return _named(item, current)

    def ours(live: ObservedObject | None) -> bool:
        return live is not None and (live.managed_by == instance or (live.managed_by is None and adopt))

    if item.swarm_kind == "secret" and current != item.swarm_name and ours(observed.find("secret", item.swarm_name)):
        return _named(item, item.swarm_name, Kept.UNKEYED)
    stack = observed.find(item.swarm_kind, naming.stack_name) if naming.stack_name else None
    if stack is not None and ours(stack):
        if item.swarm_kind == "config" and _same_config(stack, item):
            return _named(item, stack.swarm_name, Kept.STACK_CONFIG)
        if item.swarm_kind == "secret" and key is not None:
            mark = keyed_digest(key, naming.source, 16)
            if stack.managed_by is None:
                return _named(item, stack.swarm_name, Kept.STACK_SECRET, mark)
            if stack.labels.get(CONTENT_MARK) == mark:
                return _named(item, stack.swarm_name, Kept.MARKED, mark)
    return _named(item, current)


def _renamed_by_new_key(objects: list[DesiredObject], observed: ObservedState, instance: str) -> bool:
    """Whether a secret this instance already holds in the swarm gets a name it does not have: the
    key it was named under is gone (a first key, made when secrets were named unkeyed, renames none)."""
    held = {live.key for live in observed.managed(instance) if live.swarm_kind == "secret" and live.key is not None}
    return any(
        o.swarm_kind == "secret" and o.key in held and observed.find("secret", o.swarm_name) is None for o in objects
    )


def _same_config(live: ObservedObject, item: DesiredObject) -> bool:
    """The live config holds the desired data and templating (the only things an update cannot change)."""
    wanted = item.spec.get("Templating", {}).get("Name")
    return live.spec.get("Data") == item.spec.get("Data") and (live.spec.get("Templating") or {}).get("Name") == wanted


def _named(item: DesiredObject, name: str, kept: Kept | None = None, mark: str | None = None) -> DesiredObject:
    if name == item.swarm_name and kept is None:
        return item
    spec = {**item.spec, "Name": name, "Labels": {k: v for k, v in item.spec["Labels"].items() if k != APPLIED_HASH}}
    if mark is not None:
        spec["Labels"][CONTENT_MARK] = mark
    essence = config_essence(spec)
    digest = essence_hash(essence)
    spec["Labels"][APPLIED_HASH] = digest
    return replace(item, swarm_name=name, spec=spec, essence=essence, hash=digest, kept=kept.value if kept else "")


def _renamed_by_memo(service: DesiredObject, renames: dict[tuple[str, str], str], memo: PlanMemo) -> DesiredObject:
    """``_renamed_references``, or its result of the last pass for this service under the same renames."""
    used = tuple((kind, name, renames[(kind, name)]) for kind, name in _references(service) if (kind, name) in renames)
    if not used:
        return service
    return memo.renamed_service(service, used, lambda: _renamed_references(service, renames))


def _references(service: DesiredObject) -> list[tuple[str, str]]:
    """(swarm kind, name) of each config and secret the service refers to, in spec order."""
    container = service.spec.get("TaskTemplate", {}).get("ContainerSpec", {})
    return [
        (kind.lower(), ref[f"{kind}Name"]) for kind in ("Config", "Secret") for ref in container.get(f"{kind}s") or []
    ]


def _renamed_references(service: DesiredObject, renames: dict[tuple[str, str], str]) -> DesiredObject:
    """A service whose config/secret references follow the renames, with its essence and hash again."""
    if not any(ref in renames for ref in _references(service)):
        return service
    spec: dict[str, Any] = {
        **service.spec,
        "Labels": {k: v for k, v in service.spec["Labels"].items() if k != APPLIED_HASH},
    }
    task = spec["TaskTemplate"] = {**spec["TaskTemplate"]}
    new_container = task["ContainerSpec"] = {**task["ContainerSpec"]}
    for kind in ("Config", "Secret"):
        if new_container.get(f"{kind}s"):
            new_container[f"{kind}s"] = [
                {**ref, f"{kind}Name": renames.get((kind.lower(), ref[f"{kind}Name"]), ref[f"{kind}Name"])}
                for ref in new_container[f"{kind}s"]
            ]
    essence = service_essence(spec, {})
    digest = essence_hash(essence)
    spec["Labels"][APPLIED_HASH] = digest
    return replace(service, spec=spec, essence=essence, hash=digest)


def _key_object(instance: str, key: bytes) -> DesiredObject:
    name = name_key_config(instance)
    spec: dict[str, Any] = {
        "Name": name,
        "Labels": ownership_labels(NAME_KEY_KIND, instance, instance),
        "Data": base64.b64encode(key).decode(),
    }
    essence = config_essence(spec)
    digest = essence_hash(essence)
    spec["Labels"][APPLIED_HASH] = digest
    return DesiredObject(ResourceKey.of(NAME_KEY_KIND, instance), "config", name, spec, essence, digest)
