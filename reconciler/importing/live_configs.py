"""A stack's live configs to managed ``Config`` manifests with their content inline, where that takes
them over under their names.

A config ``docker stack deploy`` made (``<stack>_<name>``, labelled ``com.docker.stack.namespace``)
is kept under that name by a ``Config`` in the stack's namespace whose data equals the live data
(``state.content_names``: nothing is rewritten, so no service is rolled). So such a config becomes
``metadata: {name, namespace}`` and ``spec.data`` (its content, which the Engine returns for configs,
unlike secrets), and the services of that stack refer to it by its manifest name. Every other config
stays ``external: true`` (``live_objects``): one of no stack, one whose name or content a manifest
cannot hold (binary data, a name with ``.``), one with labels of its own, one another namespace's
service uses too.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Any

from reconciler import API_VERSION, LABEL_PREFIX
from reconciler.core.labels import STACK_NAMESPACE
from reconciler.manifests.types import NAME_PATTERN
from reconciler.state.snapshot import Snapshot

__all__ = ["stack_configs"]

_NAME = re.compile(NAME_PATTERN)
_TEXT = re.compile(r"[^\x00-\x08\x0b-\x1f\x7f]*")  # printable text, newlines and tabs


def stack_configs(snapshot: Snapshot, names: Iterable[str], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Config documents for the configs of ``names`` that a namespaced manifest can take over; the
    Service documents' references to them are rewritten to the manifest names (in place)."""
    live = {c["Spec"]["Name"]: c["Spec"] for c in snapshot.configs}
    users: dict[str, set[str | None]] = {}
    for document in documents:
        if document["kind"] == "Service":
            for ref in document["spec"].get("configs", []):
                users.setdefault(ref["name"], set()).add(document["metadata"].get("namespace"))
    made = []
    for name in sorted(names):
        spec = live.get(name)
        content = _managed_form(name, spec, users.get(name, set())) if spec is not None else None
        if content is None:
            continue
        short, namespace, body = content
        made.append({"apiVersion": API_VERSION, "kind": "Config",
                     "metadata": {"name": short, "namespace": namespace}, "spec": body})  # fmt: skip
        _rename(documents, name, short, namespace)
    return made


def _managed_form(name: str, spec: dict[str, Any], users: set[str | None]) -> tuple[str, str, dict[str, Any]] | None:
    labels = dict(spec.get("Labels") or {})
    namespace = labels.pop(STACK_NAMESPACE, None)
    if not namespace or not name.startswith(namespace + "_") or users - {namespace}:
        return None
    short = name[len(namespace) + 1 :]
    own = {k: v for k, v in labels.items() if not k.startswith(LABEL_PREFIX)}
    templating = (spec.get("Templating") or {}).get("Name")
    if not _NAME.fullmatch(short) or own or templating not in (None, "", "golang"):
        return None
    try:
        text = base64.b64decode(spec.get("Data") or "", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not text or not _TEXT.fullmatch(text):
        return None
    body: dict[str, Any] = {"data": text}
    if templating == "golang":
        body["template"] = "golang"
    return short, namespace, body


def _rename(documents: list[dict[str, Any]], name: str, short: str, namespace: str) -> None:
    """The stack's services name the config by its manifest name; the file keeps its path (the
    default target was ``/<swarm name>``)."""
    for document in documents:
        if document["kind"] != "Service" or document["metadata"].get("namespace") != namespace:
            continue
        for ref in document["spec"].get("configs", []):
            if ref["name"] == name:
                ref.setdefault("target", f"/{name}")
                ref["name"] = short
