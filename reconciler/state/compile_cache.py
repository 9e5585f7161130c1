"""Incremental compiling: a manifest whose compile would read the same things is not compiled again.

Each manifest's desired object (``state.desired``: its spec, essence and hash) is cached with what
its compile read from the ``ManifestSet``: the manifest itself, the instance, and every read the
renderers made (a name resolved to a manifest, a Route list by service, a Middleware by name, a
Config's content, a ``dependsOn`` entry ...), each with a fingerprint of its answer (a manifest's
sha256 over its JSON form, a content's sha256, a name, a flag). Reads are not listed by hand:
the compile gets a view of the set that records them (``_Reads``), so a renderer that starts to read
something new is tracked without a change here; a read the view does not know (any other attribute
of the set, or walking a whole mapping) marks the object untracked, and it is compiled again every
revision. On the next revision an entry is reused only when the manifest's fingerprint is the same
and every recorded read, made again on the new set, gives an answer with the same fingerprint; so
a changed Route, Middleware, Volume, Config content or a rename anywhere a compile looked reaches
exactly the objects that read it. A read many objects make (a network, a config by name) is made
again once a revision, not once per object.

Bounded: after each revision only that revision's entries are kept (as ``manifests.parse_cache``).
Compiled objects are shared between revisions as the desired state is already shared between passes:
nothing downstream changes a compiled spec in place (the applier copies before it adds IDs).

``compile_desired`` (whole set, no cache) stays the reference; the controller's ``ManifestSource``
passes a cache. ``tests/unit/test_compile_cache.py`` checks both give the same desired state, hashes
and cross-check problems over random edits.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, cast

from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.manifest_set import ManifestSet

__all__ = ["CompileCache"]

T = TypeVar("T")
V = TypeVar("V")

_UNKNOWN = object()

# A read made again on a new set: (what to call on the set, its arguments), and its answer's fingerprint.
Read = tuple[Callable[..., Any], tuple[Any, ...], object]


class _Fingerprints:
    """Answers to comparable values; a manifest's digest is computed once per object (the parse cache
    hands an unchanged file's manifests back as the same objects), and kept for one revision."""

    def __init__(self) -> None:
        self._digests: dict[int, tuple[Resource, str]] = {}
        self._used: dict[int, tuple[Resource, str]] = {}

    def resource(self, resource: Resource) -> str:
        found = self._digests.get(id(resource)) or self._used.get(id(resource))
        if found is None or found[0] is not resource:
            found = (resource, hashlib.sha256(resource.model_dump_json(by_alias=True).encode()).hexdigest())
        self._used[id(resource)] = found
        return found[1]

    def of(self, answer: object) -> object:
        if isinstance(answer, Resource):
            return ("resource", self.resource(answer))
        if isinstance(answer, bytes):
            return ("bytes", hashlib.sha256(answer).hexdigest())
        if isinstance(answer, list | tuple):
            return tuple(self.of(item) for item in answer)
        if answer is None or isinstance(answer, str | bool | int):
            return answer
        return object()  # an answer of a kind not known here: equal to nothing, so never reused

    def end_revision(self) -> None:
        self._digests, self._used = self._used, {}


class _Reads:
    """The ``ManifestSet`` a compile sees: each read is answered by the real set and written down."""

    def __init__(self, manifests: ManifestSet, fingerprints: _Fingerprints) -> None:
        self._set = manifests
        self._fp = fingerprints
        self.log: list[Read] = []
        self.untracked = False

    def _read(self, call: Callable[..., Any], *args: Any) -> Any:
        answer = call(self._set, *args)
        self.log.append((call, args, self._fp.of(answer)))
        return answer

    def resolve(self, kind: str, name: str, namespace: str | None) -> Resource | None:
        return cast("Resource | None", self._read(ManifestSet.resolve, kind, name, namespace))

    def target_name(self, kind: str, name: str, namespace: str | None) -> str:
        return cast(str, self._read(ManifestSet.target_name, kind, name, namespace))

    def network_name(self, name: str, namespace: str | None) -> str:
        return cast(str, self._read(ManifestSet.network_name, name, namespace))

    @property
    def routes_by_service(self) -> Mapping[str, Any]:
        return _ReadMapping(self, _routes_by_service)

    @property
    def middlewares_by_name(self) -> Mapping[str, Any]:
        return _ReadMapping(self, _middlewares_by_name)

    @property
    def contents(self) -> Mapping[str, bytes]:
        return _ReadMapping(self, _contents)

    @property
    def resolver(self) -> _ReadResolver:
        return _ReadResolver(self)

    def __getattr__(self, name: str) -> Any:
        self.untracked = True  # a read this view does not know: never reuse what it compiled
        return getattr(self._set, name)


def _routes_by_service(manifests: ManifestSet) -> Mapping[str, Any]:
    return manifests.routes_by_service


def _middlewares_by_name(manifests: ManifestSet) -> Mapping[str, Any]:
    return manifests.middlewares_by_name


def _contents(manifests: ManifestSet) -> Mapping[str, bytes]:
    return manifests.contents


def _get(manifests: ManifestSet, mapping: Callable[[ManifestSet], Mapping[str, Any]], key: str) -> Any:
    return mapping(manifests).get(key)


def _has(manifests: ManifestSet, mapping: Callable[[ManifestSet], Mapping[str, Any]], key: str) -> bool:
    return key in mapping(manifests)


class _ReadMapping(Mapping[str, V], Generic[V]):
    """One of the set's mappings, read key by key; walking it whole is untracked."""

    def __init__(self, reads: _Reads, mapping: Callable[[ManifestSet], Mapping[str, V]]) -> None:
        self._reads = reads
        self._mapping = mapping

    def __getitem__(self, key: str) -> V:
        found = self._reads._read(_get, self._mapping, key)
        if found is None and not self._reads._read(_has, self._mapping, key):
            raise KeyError(key)
        return cast(V, found)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._reads._read(_has, self._mapping, key))

    def __iter__(self) -> Iterator[str]:
        self._reads.untracked = True
        return iter(self._mapping(self._reads._set))

    def __len__(self) -> int:
        self._reads.untracked = True
        return len(self._mapping(self._reads._set))


def _find(manifests: ManifestSet, kind: str, name: str, namespace: str | None) -> Resource | None:
    return manifests.resolver.find(kind, name, namespace)


def _dependency(manifests: ManifestSet, text: str, namespace: str | None) -> Resource | None:
    return manifests.resolver.dependency(text, namespace)


class _ReadResolver:
    """``ManifestSet.resolver``, read through ``_Reads`` (``reference`` is for the cross checks only)."""

    def __init__(self, reads: _Reads) -> None:
        self._reads = reads

    def find(self, kind: str, name: str, namespace: str | None) -> Resource | None:
        return cast("Resource | None", self._reads._read(_find, kind, name, namespace))

    def dependency(self, text: str, namespace: str | None) -> Resource | None:
        return cast("Resource | None", self._reads._read(_dependency, text, namespace))

    def __getattr__(self, name: str) -> Any:
        self._reads.untracked = True
        return getattr(self._reads._set.resolver, name)


class CompileCache(Generic[T]):
    """Compiled objects by manifest, with the reads they depend on; one revision's worth."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[str, str, list[Read], T]] = {}
        self._next: dict[tuple[str, str], tuple[str, str, list[Read], T]] = {}
        self._fp = _Fingerprints()
        self._answers: dict[tuple[Callable[..., Any], tuple[Any, ...]], object] = {}  # read → fingerprint now
        self._answers_of: ManifestSet | None = None  # the set those answers are of
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @contextmanager
    def revision(self) -> Iterator[CompileCache[T]]:
        """One compile: afterwards only the entries it used or made are kept."""
        with self._lock:
            self._next = {}
            yield self
            self._entries, self._next = self._next, {}
            self._answers, self._answers_of = {}, None
            self._fp.end_revision()

    def compiled(
        self, what: str, resource: Resource, manifests: ManifestSet, instance: str, compile: Callable[[ManifestSet], T]
    ) -> T:
        """``compile(view)`` for ``resource``, or its result from the last revision when nothing it read
        changed. ``what`` names the compile (two compiles of one manifest are two entries)."""
        slot = (what, resource.key)
        digest = self._fp.resource(resource)
        entry = self._entries.get(slot)
        if entry is not None and entry[0] == digest and entry[1] == instance and self._same_reads(entry[2], manifests):
            self.hits += 1
            self._next[slot] = entry
            return entry[3]
        self.misses += 1
        reads = _Reads(manifests, self._fp)
        result = compile(cast(ManifestSet, reads))  # the view answers what the renderers read of a set
        if not reads.untracked:
            self._next[slot] = (digest, instance, reads.log, result)
        return result

    def _same_reads(self, reads: list[Read], manifests: ManifestSet) -> bool:
        """Whether each read, made again on ``manifests``, gives an answer of the same fingerprint. Many
        objects make the same read (a network, a config, a middleware by name): each is made once a
        revision (``_answers``, for this set only)."""
        if manifests is not self._answers_of:
            self._answers, self._answers_of = {}, manifests
        for call, args, answer in reads:
            key = (call, args)
            now = self._answers.get(key, _UNKNOWN)
            if now is _UNKNOWN:
                now = self._answers[key] = self._fp.of(call(manifests, *args))
            if now != answer:
                return False
        return True

    def __len__(self) -> int:
        return len(self._entries)
