"""Property tests for ``load_manifests``: whatever bytes a manifest folder holds, loading either
returns a ``ManifestSet`` or raises ``ManifestError`` whose problems each point inside the file with
a message, on one line of printable text, at most ``MAX_PROBLEMS`` (and a note) per file. Any other
exception (a crash) or a problem without a place fails the test.
"""

from __future__ import annotations

import copy
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconciler import API_VERSION
from reconciler.manifests.errors import MAX_PROBLEMS, ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.manifests.registry import KINDS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------- the property


def load_or_problems(content: bytes, name: str = "m.yaml") -> ManifestSet | None:
    """Write ``content`` into a fresh folder and load it; check every problem's place and message."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, name)
        path.write_bytes(content)
        text = content.decode("utf-8", "replace")
        # YAML also breaks lines at CR, NEL, LS and PS; libyaml may place end-of-input one line further
        last_line = sum(text.count(c) for c in "\n\r\x85\u2028\u2029") + 2
        try:
            return load_manifests(folder)
        except ManifestError as exc:
            assert exc.problems, "ManifestError without problems"
            for problem in exc.problems:
                where = problem.position
                assert where.file in (str(path), folder), problem
                assert where.line >= 1, problem
                assert where.column >= 1, problem
                assert where.line <= last_line, f"{problem} is past the end of the file"
                assert problem.message.strip(), problem
                assert problem.subject and problem.field_path, problem
            assert exc.problems == sorted(exc.problems)
            assert len(exc.problems) <= MAX_PROBLEMS + 1, "the per-file cap (and its note) was exceeded"
            assert not [p for p in exc.problems[:-1] if p.note], "a note is not the file's last line"
            for line in str(exc).split("\n"):
                # one problem per line, nothing a terminal would act on
                assert not any(unicodedata.category(ch) == "Cc" for ch in line), repr(line)
                assert len(line.splitlines()) == 1, repr(line)
            return None


# ------------------------------------------------------------------------ (a) YAML-ish token soup


TOKENS = [
    ":", ": ", "-", "- ", "[", "]", "{", "}", ",", "? ", "&a ", "*a", "&b ", "*b", "!!", "!!str ",
    "!!python/object:os.system ", "!!binary ", "!local ", "<<: ", "'", '"', "\\", "|\n", ">-\n", "#",
    "\n", "\n  ", "\n    ", "\n- ", "\t", " ", "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2024:\n",
    "apiVersion", API_VERSION, "kind", "metadata", "name", "labels", "spec", "file", "dependsOn",
    *KINDS, "0", "1", "-1", "255", "300", "1.5", "1e309", ".inf", ".nan", "0o777", "0x1F", "null", "~",
    "true", "yes", "2024-01-01", "web", "a.example.org", "/api", "10.0.0.1/24", "eth0", "é", "ü",
    "💥", "\u2028", "\ufeff", "\x85", "`", "\x7f",
]  # fmt: skip

soup = st.lists(st.sampled_from(TOKENS) | st.text(max_size=4), max_size=80).map("".join)


@FUZZ
@given(soup)
@example(f"apiVersion: {API_VERSION}\nkind: Network\nmetadata:\n  name: web\n")
@example("a: &a [*a, *a]\n")
@example("[" * 200)
@example("- " * 200)
@example("? " * 200)
@example("&a a: *a\n")
@example("--- !!python/object:os.system\n")
@example(f"apiVersion: {API_VERSION}\nkind: [Network]\nmetadata: !local {{name: a}}\n")
@example(f'apiVersion: {API_VERSION}\nkind: Network\nmetadata: {{name: "a\\n\\e[31m"}}\nspec: {{"\\x85": 1}}\n')
@example("\ufeff\ufeff: x")
def test_token_soup_loads_or_reports(text: str) -> None:
    load_or_problems(text.encode("utf-8"))


@FUZZ
@given(st.binary(max_size=512))
@example(b"\xff\xfe")
@example(b"a: \xe9\n")
@example(b"\xef\xbb\xbf")
def test_raw_bytes_load_or_report(content: bytes) -> None:
    load_or_problems(content)


# ----------------------------------------------------------------- (b) plausible envelopes, random specs


FIELD_NAMES = [
    "image", "replicas", "mode", "networks", "mounts", "volume", "target", "configs", "secrets", "dependsOn",
    "service", "port", "hosts", "pathPrefix", "middlewares", "tls", "network", "catchAll", "type", "options",
    "addresses", "interface", "routerId", "priorities", "password", "secret", "checks", "command", "nfs",
    "server", "path", "version", "driver", "driverOptions", "file", "data", "external", "ipam", "subnet",
    "gateway", "labels", "env", "ports", "published", "placement", "constraints", "resources", "limits",
    "memory", "cpus", "healthcheck", "test", "name",
]  # fmt: skip

keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=24)
    | st.sampled_from(["web", "eth0", "10.0.0.1/24", "a.example.org", "/srv", "nginx:1.27", "Service/web", "30s"])
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=40,
)
names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?", fullmatch=True) | st.text(max_size=12)
envelopes = st.fixed_dictionaries(
    {
        "apiVersion": st.just(API_VERSION),
        "kind": st.sampled_from(list(KINDS)),
        "metadata": st.fixed_dictionaries({"name": names}),
        "spec": st.dictionaries(keys, values, max_size=8) | values,
    }
)


@FUZZ
@given(st.lists(envelopes, min_size=1, max_size=3))
def test_random_specs_load_or_report(documents: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump_all(documents, allow_unicode=True, sort_keys=False)
    loaded = load_or_problems(text.encode("utf-8"))
    if loaded is not None:
        assert sorted(r.key for r in loaded) == sorted(f"{d['kind']}/{d['metadata']['name']}" for d in documents)


# ----------------------------------------------------- (c) the valid examples with one value replaced


def _example_documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    return docs


EXAMPLE_DOCS = _example_documents()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated_examples(draw: st.DrawFn) -> dict[str, Any]:
    document = copy.deepcopy(draw(st.sampled_from(EXAMPLE_DOCS)))
    path = draw(st.sampled_from(_paths(document)[1:]))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = draw(values)
    return document


@FUZZ
@given(mutated_examples())
def test_examples_with_one_value_replaced_load_or_report(document: dict[str, Any]) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    load_or_problems(text.encode("utf-8"))


def test_example_documents_were_found() -> None:
    assert len(EXAMPLE_DOCS) >= 10
