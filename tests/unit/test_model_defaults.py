"""A list field's default is made by ``types.empty_list``, not by the builtin ``list``: pydantic reads a
default factory's signature when it builds a validator, and a builtin's costs a tokenizer pass
(issue 18). Each model still gets a list of its own."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from reconciler.manifests.registry import KINDS
from reconciler.manifests.types import Spec, empty_list


def models(root: type[BaseModel]) -> Iterator[type[BaseModel]]:
    yield root
    for sub in root.__subclasses__():
        yield from models(sub)


def test_no_field_defaults_to_the_builtin_list() -> None:
    assert KINDS  # every kind is imported, so every Spec subclass is listed
    fields = [(model, name, info) for model in models(Spec) for name, info in model.model_fields.items()]
    assert len(fields) > 200
    assert [f"{model.__name__}.{name}" for model, name, info in fields if info.default_factory is list] == []
    assert any(info.default_factory is empty_list for _, _, info in fields)


def test_each_model_gets_a_list_of_its_own() -> None:
    document = {"apiVersion": "reconciler.swarm/v1alpha1", "kind": "Service", "metadata": {"name": "a"},
                "spec": {"image": "x:1"}}  # fmt: skip
    first, second = (KINDS["Service"].model_validate(document) for _ in range(2))
    assert first.spec.networks == [] == second.spec.networks  # type: ignore[attr-defined]
    assert first.spec.networks is not second.spec.networks  # type: ignore[attr-defined]
