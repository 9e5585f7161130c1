"""The label vocabulary: the keys the reconciler writes on Swarm objects (ownership, the applied
essence hash, the requested image, route-label ownership) and the lease's names.

SPEC's "Labels" section is the source. Used by the renderers, the observed state, the planner and
the controller.
"""

from __future__ import annotations

from reconciler import LABEL_PREFIX

__all__ = [
    "APPLIED_HASH",
    "CONTENT_MARK",
    "DEFAULT_INSTANCE",
    "KIND",
    "LEASE_CONFIG_PREFIX",
    "LEASE_KIND",
    "MANAGED_BY",
    "NAME",
    "NAME_KEY_KIND",
    "NAME_KEY_PREFIX",
    "REQUESTED_IMAGE",
    "ROUTES_MANAGED_BY",
    "ROUTE_LABEL_KEYS",
    "STACK_IMAGE",
    "STACK_NAMESPACE",
    "ownership_labels",
]

MANAGED_BY = f"{LABEL_PREFIX}managed-by"
KIND = f"{LABEL_PREFIX}kind"
NAME = f"{LABEL_PREFIX}name"
APPLIED_HASH = f"{LABEL_PREFIX}applied-hash"
REQUESTED_IMAGE = f"{LABEL_PREFIX}image"  # the tag asked for, so a digest-pinned image is not drift
# On a service the reconciler does not manage, routes own only some label keys: which, and for whom.
ROUTES_MANAGED_BY = f"{LABEL_PREFIX}routes-managed-by"
ROUTE_LABEL_KEYS = f"{LABEL_PREFIX}route-label-keys"
# docker-cli cli/compose/convert: LabelNamespace on every object of a stack (what `docker stack ls/ps/rm`
# select by), LabelImage on a stack's services (the image as the compose file wrote it).
STACK_NAMESPACE = "com.docker.stack.namespace"
STACK_IMAGE = "com.docker.stack.image"
DEFAULT_INSTANCE = "reconciler"
LEASE_KIND = "Lease"  # the kind label of the leader-election lease config: never pruned
LEASE_CONFIG_PREFIX = "reconciler-lease-"
# The instance's key for secret names (``state.content_names``): a config, never pruned or listed.
NAME_KEY_KIND = "NameKey"
NAME_KEY_PREFIX = "reconciler-name-key-"
# On a secret kept under a name without the content in it (a stack's ``wp_pw``): the keyed digest of
# the content it holds, so that later passes know whether it still holds the manifest's content.
CONTENT_MARK = f"{LABEL_PREFIX}content"


def ownership_labels(
    kind: str, name: str, instance: str = DEFAULT_INSTANCE, namespace: str | None = None
) -> dict[str, str]:
    """The reconciler's labels; an object in a stack namespace also carries docker's stack label,
    which with ``kind`` and ``name`` makes its key ``Kind/namespace/name``."""
    labels = {MANAGED_BY: instance, KIND: kind, NAME: name}
    if namespace:
        labels[STACK_NAMESPACE] = namespace
    return labels
