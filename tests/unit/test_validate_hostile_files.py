"""``reconciler validate`` on hostile files: YAML bombs, huge or deeply nested documents, binary and
non-UTF-8 content, and values that would blow up the output. Each fails fast, in bounded memory and with
bounded output, with a problem line that says why.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from pathlib import Path

import pytest

from reconciler.manifests.errors import MAX_PROBLEMS, ManifestError
from reconciler.manifests.loading import load_manifests
from tests.unit.validation_helpers import BILLION_LAUGHS, HEAD, ROUTE, SERVICE_WEB, check, only_problem, run, write


class TestHostileFiles:
    def test_yaml_bomb_fails_quickly(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", BILLION_LAUGHS)
        started = time.monotonic()
        result = run(tmp_path)
        assert time.monotonic() - started < 10  # a no-hang check, not a benchmark
        # where the count went over: a "lol" of `a`, reached through the aliases of f, e, d, ...
        assert (
            only_problem(result)
            == f"{f}:1:14: f[0][3][3][7][2][1]: more than 100000 values (counting alias expansions)"
        )

    def test_too_many_values_without_aliases(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "a: [" + "1," * 100_000 + "1]\n")  # 200 KB: no aliases, no bomb
        assert (
            only_problem(run(tmp_path))
            == f"{f}:1:200001: a[99998]: more than 100000 values (counting alias expansions)"
        )

    def test_self_referencing_alias(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", "a: &a [*a]\n")
        assert only_problem(run(tmp_path)) == f"{f}:1:1: nested deeper than 64 levels"

    def test_huge_sparse_file_is_refused_without_reading_it(self, tmp_path: Path) -> None:
        path = tmp_path / "big.yaml"
        with path.open("wb") as handle:
            handle.truncate(100 * 1024 * 1024)
        tracemalloc.start()
        try:
            started = time.monotonic()
            result = run(tmp_path)
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert only_problem(result) == f"{path}:1:1: file is larger than 1024 KiB: not a manifest"
        assert peak < 16 * 1024 * 1024, f"peak {peak} bytes: the file was read whole"
        assert elapsed < 10

    def test_binary_garbage_with_nul_bytes(self, tmp_path: Path) -> None:
        garbage = random.Random(1234).randbytes(64 * 1024) + b"\x00"
        f = write(tmp_path, "a.yaml", garbage)
        assert only_problem(run(tmp_path)) == f"{f}:1:1: file contains NUL bytes: binary, not YAML"

    def test_binary_garbage_without_nul_bytes(self, tmp_path: Path) -> None:
        garbage = bytes(random.Random(99).randrange(1, 256) for _ in range(16 * 1024))
        f = write(tmp_path, "a.yaml", garbage)
        check(only_problem(run(tmp_path)), f, 1, 1, "-", "-")

    def test_non_utf8_file_points_at_the_bad_byte(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: café\n".encode("latin-1"))
        assert only_problem(run(tmp_path)) == f"{f}:4:12: not valid UTF-8 (byte 0xe9)"

    def test_non_utf8_column_counts_characters(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", HEAD.encode() + b"kind: Network\nmetadata:\n  name: \xc3\xbc\xe9\n")
        assert only_problem(run(tmp_path)) == f"{f}:4:10: not valid UTF-8 (byte 0xe9)"

    @pytest.mark.parametrize(
        ("content", "row", "column"),
        [
            (b"\xef\xbb\xbfa: \xff\n", 1, 4),  # the BOM is not a column
            (b"a: 1\r\nb: \xff\n", 2, 4),  # CRLF is one line break
            (b"a: 1\rb: 2\xc2\x85c: 3\xe2\x80\xa8d: \xff\n", 4, 4),  # CR, NEL and LS break lines, as in libyaml
        ],
        ids=["bom", "crlf", "cr-nel-ls"],
    )
    def test_non_utf8_position_counts_lines_as_yaml_does(
        self, tmp_path: Path, content: bytes, row: int, column: int
    ) -> None:
        f = write(tmp_path, "a.yaml", content)
        assert only_problem(run(tmp_path)) == f"{f}:{row}:{column}: not valid UTF-8 (byte 0xff)"

    @pytest.mark.parametrize("opener", ["[", "{a: ", "- "])
    def test_deeply_nested_document(self, tmp_path: Path, opener: str) -> None:
        f = write(tmp_path, "a.yaml", opener * 100_000 + "\n")
        started = time.monotonic()
        line = only_problem(run(tmp_path))
        assert time.monotonic() - started < 10
        assert line == f"{f}:1:1: nested deeper than 64 levels"

    def test_output_is_bounded_for_many_aliased_bad_values(self, tmp_path: Path) -> None:
        """Guard for the amplification case below: the same trick on a field that does not echo values."""
        big = "x" * 10_000
        write(
            tmp_path,
            "a.yaml",
            f"{ROUTE}  pathPrefix: &a /{big}\n  hosts: [" + ",".join(["*a"] * 2000) + "]\n",
        )
        # `hosts` refuses long values without echoing them: 2000 short lines
        with pytest.raises(ManifestError) as caught:
            load_manifests(tmp_path)
        assert len(str(caught.value)) < 1024 * 1024

    def test_error_output_is_bounded(self, tmp_path: Path) -> None:
        big = "x" * 1_000  # 2 MB after expansion: under the 4 MiB text bound
        f = write(
            tmp_path,
            "a.yaml",
            f"{SERVICE_WEB}  user: &a {big}\n  capAdd: [" + ",".join(["*a"] * 2000) + "]\n",
        )
        with pytest.raises(ManifestError) as caught:
            load_manifests(tmp_path)
        assert len(str(caught.value)) < 16 * 1024
        lines = str(caught.value).splitlines()
        assert len(lines) == MAX_PROBLEMS + 1
        quoted = "'" + "x" * 78 + "…"  # the value's repr, cut to 80 characters
        # an alias's problems point at the alias (line 8), each with its own field path
        assert lines[0] == (
            f"{f}:8:12: Service/web: spec.capAdd[0]: {quoted} is not a capability such as NET_ADMIN or CAP_NET_ADMIN"
        )
        assert all(len(line) < 300 for line in lines)
        assert lines[-1] == f"{f}:8:69: ... and 1980 more problems in this file"

    def test_long_values_are_cut_in_pattern_messages(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{SERVICE_WEB}  user: '{'x' * 10_000}!'\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:7:3: Service/web: spec.user: '{'x' * 78}… does not match the pattern "
            "^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$"
        )
