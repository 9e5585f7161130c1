"""Compose files (``-c a.yml -c b.yml`` as ``docker stack deploy`` takes them) to one merged model.

Per file, in order (docker-cli ``loader.Load``): parse (``compose_yaml``), interpolate
(``interpolation``), validate against the compose specification's JSON schema (compose-go
``schema/compose-spec.json``, vendored beside this module; it accepts every 3.x file too), bring
services to their long form; then merge the files in order (``compose_merge``).

Variables come from the process environment and, under it, from a ``.env`` file in the first
file's folder (compose's rule: the shell wins over ``.env``; read with python-dotenv, whose
format is compose's). ``docker stack deploy`` itself does not read ``.env``: people source it or
pipe ``docker compose config``; reading it here gives what those deploy. A service's ``env_file``
entries are read (relative to the first file's folder, the stack's working dir) into its environment, which wins, as
docker-cli ``resolveEnvironment`` does; an ``environment`` entry without a value takes the
variable from the same environment. An ``env_file`` must be a regular file inside that folder
(``project_files``: its values end up in manifests); compose files and ``.env`` are read only when
regular and at most ``MAX_COMPOSE_BYTES``.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from reconciler.importing.compose_merge import ServiceSyntaxError, canonical_service, merge_files
from reconciler.importing.compose_yaml import ComposeFile, ComposeYamlError, parse_compose_yaml
from reconciler.importing.interpolation import InterpolationError, Interpolator
from reconciler.importing.project_files import ProjectFileError, project_file, read_bounded

__all__ = ["ComposeError", "ComposeProject", "load_compose"]

_SCHEMA = Path(__file__).with_name("compose-spec.json")
MAX_COMPOSE_BYTES = 1024 * 1024


class ComposeError(ValueError):
    """A compose file that cannot be read: ``file:line:column: message``."""


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(_SCHEMA.read_text(encoding="utf-8")))


@dataclass
class ComposeProject:
    """The merged compose model with where each key came from."""

    data: dict[str, Any]
    files: list[ComposeFile]
    folder: Path  # the first file's folder: relative paths in the model are resolved against it
    environment: Mapping[str, str]
    unset: set[str] = field(default_factory=set)  # variables used without a value or default

    def where(self, path: Sequence[str | int]) -> str:
        """``file:line:column`` of ``path`` in the last file that sets it (the one that won)."""
        key = tuple(path)
        for end in range(len(key), 0, -1):
            for compose in reversed(self.files):
                if compose.has(key[:end]):
                    line, column = compose.positions[key[:end]]
                    return f"{compose.file}:{line}:{column}"
        return f"{self.files[0].file}:1:1"


def _error(compose: ComposeFile, path: Sequence[str | int], message: str) -> ComposeError:
    found = compose.where(tuple(path)) or (1, 1)
    where = ".".join(str(p) for p in path)
    return ComposeError(f"{compose.file}:{found[0]}:{found[1]}: {where + ': ' if where else ''}{message}")


def _environment(folder: Path, base: Mapping[str, str]) -> dict[str, str]:
    dotenv = folder / ".env"
    values: dict[str, str] = {}
    if dotenv.is_file():
        try:
            text = read_bounded(dotenv, MAX_COMPOSE_BYTES).decode("utf-8-sig", errors="replace")
        except OSError as exc:
            raise ComposeError(f"{dotenv}: cannot read: {exc.strerror or exc}") from None
        values = {k: v or "" for k, v in dotenv_values(stream=io.StringIO(text), interpolate=True).items()}
    return {**values, **base}


def _read_env_files(
    compose: ComposeFile, folder: Path, name: str, service: dict[str, Any], interpolator: Interpolator
) -> None:
    """``env_file`` entries, relative to the first file's folder (docker-cli ``resolveEnvironment``
    with the stack's working dir), into the service's environment, which wins."""
    files = service.get("env_file")
    if files is None:
        return
    merged: dict[str, Any] = {}
    for index, item in enumerate(files if isinstance(files, list) else [files]):
        path_text = item["path"] if isinstance(item, dict) else str(item)
        required = item.get("required", True) if isinstance(item, dict) else True
        path = folder / path_text
        if not path.exists() and required in (False, "false"):
            continue
        try:
            _, raw = project_file(folder, path_text, MAX_COMPOSE_BYTES)
            text = interpolator.put(raw.decode("utf-8-sig", errors="replace"))
        except (ProjectFileError, InterpolationError) as exc:
            raise _error(compose, ("services", name, "env_file", index), str(exc)) from None
        merged.update(
            {
                k: (v if v is not None else interpolator.environment.get(k))
                for k, v in dotenv_values(stream=io.StringIO(text)).items()
            }
        )
    service["environment"] = {**merged, **(service.get("environment") or {})}
    del service["env_file"]


def _one_file(path: str, folder: Path, interpolator: Interpolator) -> tuple[ComposeFile, dict[str, Any]]:
    try:
        raw = read_bounded(Path(path), MAX_COMPOSE_BYTES + 1)
    except OSError as exc:
        raise ComposeError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_COMPOSE_BYTES:
        raise ComposeError(f"{path}: larger than {MAX_COMPOSE_BYTES // 1024} KiB: not a compose file")
    try:
        compose = parse_compose_yaml(raw.decode("utf-8-sig"), path)
    except UnicodeDecodeError as exc:
        raise ComposeError(f"{path}: not valid UTF-8: {exc.reason}") from None
    except ComposeYamlError as exc:
        raise ComposeError(str(exc)) from None
    try:
        data = interpolator.value(compose.data)
    except InterpolationError as exc:
        raise _error(compose, exc.path, str(exc)) from None
    problem = best_match(_validator().iter_errors(data))
    if problem is not None:
        raise _error(compose, tuple(problem.absolute_path), f"not valid compose: {problem.message}")
    services = data.get("services") or {}
    for name in list(services):
        try:
            services[name] = canonical_service(services[name] or {})
        except ServiceSyntaxError as exc:
            raise _error(compose, ("services", name, exc.key), str(exc)) from None
        _read_env_files(compose, folder, name, services[name], interpolator)
        environment = services[name].get("environment")
        if environment:
            services[name]["environment"] = {
                k: (interpolator.environment.get(k) if v is None else v) for k, v in environment.items()
            }
    return compose, data


def load_compose(paths: Sequence[str], environ: Mapping[str, str] | None = None) -> ComposeProject:
    """Read, interpolate, validate and merge ``paths`` in order; ``ComposeError`` on the first problem."""
    if not paths:
        raise ComposeError("no compose file given")
    folder = Path(paths[0]).parent
    environment = _environment(folder, os.environ if environ is None else environ)
    interpolator = Interpolator(environment)
    files: list[ComposeFile] = []
    documents: list[dict[str, Any]] = []
    for path in paths:
        compose, data = _one_file(path, folder, interpolator)
        files.append(compose)
        documents.append(data)
    return ComposeProject(merge_files(documents), files, folder, environment, interpolator.unset)
