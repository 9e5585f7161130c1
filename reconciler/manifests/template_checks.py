"""Every value Swarm expands as a template, checked with ``swarm_templates``: a Service's
``hostname`` (also against the hostname length), ``env`` values and ``bind`` mount sources, and the
``labels`` and ``driverOptions`` of the Volumes it mounts (Swarm expands a volume mount's labels and
driver options too, swarmkit ``template/expand.go`` ``expandMounts``).

Pure: loaded manifests in, positioned problems out. Called by ``cross_checks.check_set``.
"""

from __future__ import annotations

from reconciler.manifests.errors import ManifestProblem, dotted
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.kinds.volume import Volume
from reconciler.manifests.manifest_set import LoadedManifest
from reconciler.manifests.swarm_templates import ID_LENGTH, TemplateFacts, hostname_problem, template_problem
from reconciler.manifests.yaml_source import FieldPath

__all__ = ["item_template_problems", "template_problems"]


def template_problems(by_key: dict[str, LoadedManifest]) -> list[ManifestProblem]:
    problems: list[ManifestProblem] = []
    for item in by_key.values():
        problems += item_template_problems(item)
    return problems


def item_template_problems(item: LoadedManifest) -> list[ManifestProblem]:
    """One manifest's template problems: they read nothing else of the set."""
    found = _service(item.resource) + _volume(item.resource)
    return [
        ManifestProblem(item.source.position(path), item.resource.key, dotted(path), message) for path, message in found
    ]


def _service(resource: object) -> list[tuple[FieldPath, str]]:
    if not isinstance(resource, Service):
        return []
    spec = resource.spec
    slot = ID_LENGTH if spec.mode == "global" else len(str(max(spec.replicas or 1, 1)))
    facts = TemplateFacts(service_name=resource.name, slot_length=slot)
    found: list[tuple[FieldPath, str]] = []
    if spec.hostname is not None and (problem := hostname_problem(spec.hostname, facts)) is not None:
        found.append((("spec", "hostname"), problem))
    for key, value in spec.env.items():
        if (problem := template_problem(value)) is not None:
            found.append((("spec", "env", key), problem))
    for index, mount in enumerate(spec.mounts):
        if mount.bind is not None and (problem := template_problem(mount.bind)) is not None:
            found.append((("spec", "mounts", index, "bind"), problem))
    return found


def _volume(resource: object) -> list[tuple[FieldPath, str]]:
    if not isinstance(resource, Volume):
        return []
    found: list[tuple[FieldPath, str]] = []
    for field, values in (("labels", resource.spec.labels), ("driverOptions", resource.spec.driver_options)):
        for key, value in values.items():
            if (problem := template_problem(value)) is not None:
                found.append((("spec", field, key), problem))
    return found
