"""How a name written in a manifest finds the manifest it means, with stack namespaces.

A manifest in namespace ``wp`` that writes ``db`` (a network, volume, config, secret, a Route's
``service``, a ``dependsOn`` entry, a middleware) means, in this order:

1. the manifest of that kind named ``db`` in its own namespace ``wp`` (as in a compose file, where
   ``db`` is the stack's own ``wp_db``);
2. the un-namespaced manifest of that kind named ``db``;
3. the manifest of that kind whose Swarm name is ``db``: another namespace's object is written by its
   Swarm name (``blog_db``), an external one (``web-servers``) by its own name.

A ``dependsOn`` entry may also name the namespace itself (``Service/blog/db``), which is looked up
exactly. What none of these finds is, for the fields that accept existing Swarm objects (a Route's
``service``, a Service's ``networks``), that Swarm object itself. Used by the cross checks, the
manifest set and so the renderers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.core.keys import ResourceKey
from reconciler.manifests.kinds.base import Reference, Resource

__all__ = ["Resolver"]


class Resolver:
    """Names to manifests by the rule above, over one set of resources."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self._by_key: Mapping[str, Resource] = {}
        self._by_swarm_name: Mapping[tuple[str, str], Resource] = {}
        by_key: dict[str, Resource] = {}
        by_swarm_name: dict[tuple[str, str], Resource] = {}
        for resource in resources:
            by_key.setdefault(resource.key, resource)
            by_swarm_name.setdefault((resource.KIND, resource.swarm_name), resource)
        self._by_key, self._by_swarm_name = by_key, by_swarm_name

    @classmethod
    def over(cls, by_key: Mapping[str, Resource], by_swarm_name: Mapping[tuple[str, str], Resource]) -> Resolver:
        """The rule over indexes kept elsewhere: the first manifest of each key and of each (kind,
        Swarm name), as ``__init__`` builds them (``cross_index`` passes views that record each lookup)."""
        resolver = cls(())
        resolver._by_key, resolver._by_swarm_name = by_key, by_swarm_name
        return resolver

    def find(self, kind: str, name: str, namespace: str | None) -> Resource | None:
        """The manifest ``name`` means when written in ``namespace``, or None."""
        if namespace:
            found = self._by_key.get(ResourceKey.of(kind, name, namespace))
            if found is not None:
                return found
        return self._by_key.get(ResourceKey.of(kind, name)) or self._by_swarm_name.get((kind, name))

    def reference(self, ref: Reference, namespace: str | None) -> Resource | None:
        """The manifest a reference of a manifest in ``namespace`` means; one that names its
        namespace (``Service/blog/db``) is looked up exactly."""
        if ref.namespace is not None:
            return self._by_key.get(ResourceKey.of(ref.kind, ref.name, ref.namespace))
        return self.find(ref.kind, ref.name, namespace)

    def dependency(self, text: str, namespace: str | None) -> Resource | None:
        """A ``dependsOn`` entry (``Kind/name`` or ``Kind/namespace/name``) to its manifest."""
        key = ResourceKey.parse(text)
        if key.namespace is not None:
            return self._by_key.get(key)
        return self.find(key.kind, key.name, namespace)
