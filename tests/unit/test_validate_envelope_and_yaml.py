"""``reconciler validate`` on documents that are not well-formed manifests: YAML syntax errors, the
envelope (``apiVersion``, ``kind``, a mapping per document) and the YAML features the loader refuses or
tames (duplicate and merge keys, tags, binary values, non-string keys, timestamps). Each gives exit 1 and
one problem line at the offending token.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import API_VERSION
from tests.unit.validation_helpers import HEAD, KIND_LIST, ROUTE, check, only_problem, problem_lines, run, write


class TestSyntaxAndEnvelope:
    def test_yaml_syntax_error(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: web: x\n")
        line = only_problem(run(tmp_path))
        assert line == f"{f}:4:12: invalid YAML: mapping values are not allowed in this context"

    def test_unclosed_flow_mapping(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: web\nspec: {{attachable: true\n")
        check(only_problem(run(tmp_path)), f, 6, 1, "-", "-", "invalid YAML", "did not find expected ',' or '}'")

    def test_unknown_api_version(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "apiVersion: reconciler.swarm/v1\nkind: Network\nmetadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:1:1: Network/web: apiVersion: unknown apiVersion 'reconciler.swarm/v1': use {API_VERSION}"
        )

    def test_missing_api_version(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "kind: Network\nmetadata:\n  name: web\n")
        assert f"{f}:1:1: Network/web: apiVersion: missing: use {API_VERSION}" in problem_lines(run(tmp_path))

    def test_missing_api_version_is_reported_once(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "kind: Network\nmetadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == f"{f}:1:1: Network/web: apiVersion: missing: use {API_VERSION}"

    def test_api_version_that_is_not_a_string_is_reported_once(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "apiVersion: [1]\nkind: Network\nmetadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:1:1: Network/web: apiVersion: unknown apiVersion [1]: use {API_VERSION}"
        )

    def test_missing_kind(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}metadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == f"{f}:1:1: -/web: kind: missing: expected one of {KIND_LIST}"

    def test_unknown_kind(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Netwerk\nmetadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:2:1: Netwerk/web: kind: unknown kind 'Netwerk': expected one of {KIND_LIST}"
        )

    def test_document_that_is_not_a_mapping(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n---\n- 1\n---\n42\n")
        message = "a manifest must be a mapping with apiVersion, kind, metadata and spec"
        assert problem_lines(run(tmp_path)) == [f"{f}:6:1: {message}", f"{f}:8:1: {message}"]

    @pytest.mark.parametrize(
        ("kind", "got"),
        [("[Network]", "a list"), ("{a: 1}", "a mapping"), ("3", "a number (3)"), ("true", "a boolean (true)")],
    )
    def test_kind_that_is_not_a_string(self, tmp_path: Path, kind: str, got: str) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: {kind}\nmetadata:\n  name: web\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:2:1: -/web: kind: kind must be a string, one of {KIND_LIST} (got {got})"
        )


class TestYamlFeatures:
    def test_duplicate_mapping_keys(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n  name: b\n")
        assert only_problem(run(tmp_path)) == f"{f}:5:3: metadata.name: duplicate key 'name'"

    def test_merge_keys(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n  <<: {{attachable: true}}\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:6:3: spec: merge keys (<<) are not supported: write the fields out"
        )

    def test_python_tag_on_a_scalar(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: !!python/name:os.system a\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:4:9: invalid YAML: unsupported YAML value: could not determine a constructor "
            "for the tag 'tag:yaml.org,2002:python/name:os.system'"
        )

    @pytest.mark.parametrize(
        ("document", "expected"),
        [
            (
                f"--- !!python/object:os.system\n{HEAD}kind: Network\nmetadata:\n  name: a\n",
                "1:5: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system': "
                "only plain mappings are allowed",
            ),
            (
                f"{HEAD}kind: Network\nmetadata: !!python/object:os.system\n  name: a\n",
                "3:11: metadata: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system': "
                "only plain mappings are allowed",
            ),
            (
                f"{ROUTE}  hosts: !!python/object/apply:os.system [a.example.org]\n",
                "8:10: spec.hosts: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system': "
                "only plain sequences are allowed",
            ),
            (
                f"{HEAD}kind: Network\nmetadata: !custom\n  name: a\n",
                "3:11: metadata: unsupported YAML tag '!custom': only plain mappings are allowed",
            ),
            (
                f"{HEAD}kind: Network\nmetadata: !!seq\n  name: a\n",
                "3:11: metadata: unsupported YAML tag 'tag:yaml.org,2002:seq': only plain mappings are allowed",
            ),
        ],
        ids=["document", "mapping", "sequence", "local-tag", "seq-tag-on-a-mapping"],
    )
    def test_python_object_tag_on_a_collection(self, tmp_path: Path, document: str, expected: str) -> None:
        f = write(tmp_path, "a.yaml", document)
        assert only_problem(run(tmp_path)) == f"{f}:{expected}"

    def test_explicit_standard_collection_tags_are_fine(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", f"--- !!map\n{ROUTE}  hosts: !!seq [a.example.org]\n")
        assert run(tmp_path).exit_code == 0

    def test_tagged_collection_behind_aliases_is_reported_once(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Network\nmetadata:\n  name: a\n  labels: &l !custom {{a: b}}\n"
            "  annotations: *l\nspec:\n  labels: *l\n",
        )
        assert only_problem(run(tmp_path)) == (
            f"{f}:5:11: metadata.labels: unsupported YAML tag '!custom': only plain mappings are allowed"
        )

    def test_binary_tag(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\nspec: !!binary aGVsbG8=\n")
        assert f"{f}:5:7: spec: binary (!!binary) values are not supported" in problem_lines(run(tmp_path))

    def test_non_string_mapping_key(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n  1: b\n")
        assert only_problem(run(tmp_path)) == f"{f}:5:3: metadata: mapping keys must be plain strings"

    def test_timestamps_stay_strings(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n  labels:\n    since: 2024-01-01\n")
        result = run(tmp_path)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == "1 manifests valid (1 Network).\n"
