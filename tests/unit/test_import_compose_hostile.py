"""``import compose`` of a compose file from someone else: it may not carry files from outside its
folder into the manifests, nor take all memory, stack or time with YAML or interpolation tricks.

Each test is one way a hostile or careless compose file went wrong before: host files copied into
``--out`` (``../../etc/passwd``, an absolute path, a symlink out of the folder, ``/proc/self/environ``
as an ``env_file``), a billion-laughs file (MemoryError), 5,000 nested brackets and nested defaults
(RecursionError: "internal error"), a FIFO as the compose file (blocked forever)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reconciler.importing.compose_import import ComposeImport, import_compose, write_copies
from reconciler.importing.compose_loading import ComposeError
from reconciler.importing.yaml_emit import write_documents

SERVICE = "services:\n  web:\n    image: nginx\n    networks: [n]\nnetworks:\n  n: {}\n"


def _project(tmp_path: Path, compose: str) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "compose.yml").write_text(compose)
    return folder


def _import(folder: Path, out: Path) -> ComposeImport:
    result = import_compose([str(folder / "compose.yml")], None, out, environ={})
    write_documents(result.documents, out)
    write_copies(result, out)
    return result


def _secret_outside(tmp_path: Path) -> Path:
    secret = tmp_path / "elsewhere" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("PRIVATE KEY\n")
    return secret


@pytest.mark.parametrize("how", ["relative", "absolute", "symlink", "symlinked-folder"])
@pytest.mark.parametrize("section", ["configs", "secrets"])
def test_a_file_outside_the_compose_folder_is_not_copied(tmp_path: Path, how: str, section: str) -> None:
    secret = _secret_outside(tmp_path)
    written = {"relative": "../elsewhere/id_rsa", "absolute": str(secret)}.get(how, "inside/id_rsa")
    folder = _project(tmp_path, f"{SERVICE}{section}:\n  key:\n    file: {written}\n")
    if how == "symlink":
        (folder / "inside").mkdir()
        (folder / "inside" / "id_rsa").symlink_to(secret)
    elif how == "symlinked-folder":
        (folder / "inside").symlink_to(secret.parent)
    out = tmp_path / "out"
    result = _import(folder, out)
    found = [f for f in result.lost if f.subject == f"{section[:-1]} key" and f.key == "file"]
    assert found and "outside the compose folder" in found[0].reason, [f.text() for f in result.findings]
    assert found[0].where.endswith("compose.yml:9:5")
    assert not [d for d in result.documents if d["kind"] in {"Config", "Secret"}]
    copied = [p for p in out.rglob("*") if p.is_file()]
    assert all("PRIVATE KEY" not in p.read_text() for p in copied), copied


def test_a_file_inside_the_folder_is_still_copied(tmp_path: Path) -> None:
    folder = _project(tmp_path, f"{SERVICE}secrets:\n  key:\n    file: ./secrets/key.txt\n")
    (folder / "secrets").mkdir()
    (folder / "secrets" / "key.txt").write_text("s3cret")
    out = tmp_path / "out"
    result = _import(folder, out)
    assert (out / "files" / "secrets" / "key").read_text() == "s3cret"
    assert not result.lost


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_as_a_config_file_is_reported_not_read(tmp_path: Path) -> None:
    folder = _project(tmp_path, f"{SERVICE}configs:\n  conf:\n    file: pipe\n")
    os.mkfifo(folder / "pipe")
    started = time.monotonic()
    result = _import(folder, tmp_path / "out")
    assert time.monotonic() - started < 5
    assert any(f.subject == "config conf" and "not a regular file" in f.reason for f in result.lost)


def test_a_secret_larger_than_the_engine_takes_is_reported_not_copied(tmp_path: Path) -> None:
    folder = _project(tmp_path, f"{SERVICE}secrets:\n  big:\n    file: big.bin\n")
    (folder / "big.bin").write_bytes(b"x" * (600 * 1024))
    out = tmp_path / "out"
    result = _import(folder, out)
    assert any(f.subject == "secret big" and "at most 511999 bytes" in f.reason for f in result.lost)
    assert not (out / "files").exists()


def test_an_env_file_outside_the_folder_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key=AKIAEXAMPLE\n")
    folder = _project(tmp_path, f"services:\n  web:\n    image: nginx\n    env_file: {secret}\n")
    with pytest.raises(ComposeError, match=r"compose.yml:4:5: services.web.env_file.0: .*outside the compose folder"):
        _import(folder, tmp_path / "out")


def test_proc_environ_as_env_file_is_refused(tmp_path: Path) -> None:
    folder = _project(
        tmp_path, "services:\n  web:\n    image: nginx\n    env_file: ../../../../../../proc/self/environ\n"
    )
    with pytest.raises(ComposeError, match="outside the compose folder"):
        _import(folder, tmp_path / "out")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_as_the_compose_file_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "compose.yml")
    with pytest.raises(ComposeError, match="not a regular file"):
        import_compose([str(tmp_path / "compose.yml")], None, None, environ={})


LAUGHS = (
    "x-a: &a ["
    + ",".join(['"lol"'] * 9)
    + "]\n"
    + "".join(f"x-{b}: &{b} [" + ",".join([f"*{a}"] * 9) + "]\n" for a, b in zip("abcdefg", "bcdefgh", strict=True))
)
TEXT = 'x-a: &a "' + "y" * 500_000 + '"\nx-b: [' + ", ".join(["*a"] * 20) + "]\n"


@pytest.mark.parametrize(
    ("compose", "message"),
    [
        (LAUGHS, "more than 100000 values"),
        (TEXT, "more than 4 MiB of text"),
        ("x-deep: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 64 levels"),
        ("x-deep:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)), "nested deeper than 64 levels"),
    ],
    ids=["aliases", "text", "flow-nesting", "block-nesting"],
)
def test_yaml_amplification_and_nesting_are_refused_quickly(tmp_path: Path, compose: str, message: str) -> None:
    folder = _project(tmp_path, SERVICE + compose)
    started = time.monotonic()
    with pytest.raises(ComposeError, match=rf"compose.yml:\d+:\d+: invalid YAML: {message}"):
        import_compose([str(folder / "compose.yml")], None, None, environ={})
    assert time.monotonic() - started < 5  # a refusal takes milliseconds; expanding took all memory


def test_deeply_nested_defaults_cost_nothing(tmp_path: Path) -> None:
    """docker-cli's template does not recurse (a default ends at the first '}'): 3,000 nested
    defaults are one substitution and literal text, as docker stack deploy deploys them."""
    deep = "${A:-" * 3000 + "x" + "}" * 3000
    folder = _project(tmp_path, f"services:\n  web:\n    image: '{deep}'\n    networks: [n]\nnetworks:\n  n: {{}}\n")
    started = time.monotonic()
    result = import_compose([str(folder / "compose.yml")], None, None, environ={})
    assert time.monotonic() - started < 5
    assert not [d for d in result.documents if d["kind"] == "Service"]
    # what docker stack deploy would send: the literal rest of the default, which no image reference is
    assert [f.key for f in result.lost] == ["spec.image", "spec.image"]
    assert "'${A:-${A:-" in result.lost[0].reason and "is not an image reference" in result.lost[0].reason


def test_a_label_key_with_terminal_escapes_is_shown_escaped(tmp_path: Path) -> None:
    labels = '    labels:\n      "a\\e]0;pwned\\a": "1"\n'  # YAML's \e and \a: ESC and BEL
    folder = _project(tmp_path, SERVICE.replace("networks: [n]\n", "networks: [n]\n" + labels))
    result = import_compose([str(folder / "compose.yml")], None, None, environ={})
    texts = [f.text() for f in result.findings]
    assert any("a\\x1b]0;pwned\\x07" in text for text in texts), texts
    assert not any("\x1b" in text or "\x07" in text for text in texts)


def test_out_is_never_written_through_a_symbolic_link(tmp_path: Path) -> None:
    folder = _project(tmp_path, f"{SERVICE}secrets:\n  s:\n    file: s.txt\n")
    (folder / "s.txt").write_text("s3cret")
    victim, elsewhere = tmp_path / "victim", tmp_path / "elsewhere"
    victim.write_text("precious")
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "service-web.yaml").symlink_to(victim)  # an earlier checkout's content, say
    with pytest.raises(OSError, match="a symbolic link: not written through"):
        _import(folder, out)
    assert victim.read_text() == "precious"
    (out / "service-web.yaml").unlink()
    (out / "files").symlink_to(elsewhere)
    with pytest.raises(OSError, match="a symbolic link: not written through"):
        _import(folder, out)
    assert list(elsewhere.iterdir()) == []
    (out / "files").unlink()
    _import(folder, out)
    copied = out / "files" / "secrets" / "s"
    assert copied.read_text() == "s3cret" and copied.stat().st_mode & 0o777 == 0o600


def test_names_that_collide_after_mapping_name_both_sources(tmp_path: Path) -> None:
    folder = _project(tmp_path, "services:\n  web:\n    image: nginx\n    networks: [n]\n  Web:\n    image: nginx\n"
                      "    networks: [n]\nnetworks:\n  n: {}\n  N: {}\n")  # fmt: skip
    result = import_compose([str(folder / "compose.yml")], None, None, environ={})
    said = {f.subject: f.reason for f in result.lost if f.key == "name"}
    assert said == {
        "service Web": "its manifest name 'web' is also that of service 'web' (names are lowercased, other "
        "characters made '-'): rename one",
        "network N": "its manifest name 'n' is also that of network 'n' (names are lowercased, other characters "
        "made '-'): rename one",
    }
    assert sorted((d["kind"], d["metadata"]["name"]) for d in result.documents) == [
        ("Network", "n"),
        ("Service", "web"),
    ]


@pytest.mark.parametrize(
    ("ports", "message"),
    [
        ('["1-9999999999:1-9999999999"]', "is not a port range"),  # built as a list of 10^10 before
        ('["80-70:80-70"]', "is not a port range"),
        ('["1-65535:1-65535"]', "more than 10000 ports"),  # a 3.5 MB manifest in 9 s before
        ('["1-6000", "7000-13000"]', "more than 10000 ports"),
    ],
)
def test_port_ranges_are_bounded_before_they_are_expanded(tmp_path: Path, ports: str, message: str) -> None:
    folder = _project(tmp_path, f"services:\n  web:\n    image: nginx\n    ports: {ports}\n")
    started = time.monotonic()
    with pytest.raises(ComposeError, match=rf"compose.yml:4:5: services.web.ports: .*{message}"):
        import_compose([str(folder / "compose.yml")], None, None, environ={})
    assert time.monotonic() - started < 5


def test_variables_cannot_amplify_the_files_beyond_a_bound(tmp_path: Path) -> None:
    folder = _project(tmp_path, "services:\n  web:\n    image: nginx\nx-many: [" + ", ".join(['"$BIG"'] * 200) + "]\n")
    (folder / ".env").write_text("BIG=" + "x" * 100_000 + "\n")  # 200 uses: 20 MB
    started = time.monotonic()
    with pytest.raises(
        ComposeError, match=r"compose.yml:\d+:\d+: x-many\.\d+: variables' values and env_files add more than 16 MiB"
    ):
        import_compose([str(folder / "compose.yml")], None, None, environ={})
    assert time.monotonic() - started < 5


def test_an_env_file_named_by_many_services_cannot_amplify_the_files(tmp_path: Path) -> None:
    services = "".join(f"  s{i}:\n    image: nginx\n    env_file: big.env\n" for i in range(200))
    folder = _project(tmp_path, "services:\n" + services)
    (folder / "big.env").write_text("BIG=" + "x" * 100_000 + "\n")  # 200 services: 20 MB of env
    with pytest.raises(ComposeError, match=r"services\.s\d+\.env_file\.0: variables' values and env_files add more"):
        import_compose([str(folder / "compose.yml")], None, None, environ={})


@pytest.mark.parametrize(
    ("compose", "message"),
    [
        ("services: &a\n  web: *a\n", r"invalid YAML: nested deeper than 64 levels"),  # RecursionError before
        ("services:\n  web:\n    image: nginx\n    command: \"sh -c 'unclosed\"\n",
         r"compose.yml:4:5: services.web.command: .* cannot be split as a shell would: No closing quotation"),
    ],
    ids=["alias-inside-its-anchor", "unclosed-quote"],
)  # fmt: skip
def test_malformed_files_end_with_their_place_not_an_internal_error(tmp_path: Path, compose: str, message: str) -> None:
    folder = _project(tmp_path, compose)
    with pytest.raises(ComposeError, match=message):
        import_compose([str(folder / "compose.yml")], None, None, environ={})


def test_a_number_compose_would_refuse_is_reported_not_turned_into_null(tmp_path: Path) -> None:
    """Before: ``replicas: two`` became ``replicas: null`` with exit 0 (found by a newcomer; docker
    stack deploy refuses the file: "deploy.replicas must be a integer")."""
    deploy = "    deploy:\n      replicas: two\n      update_config: {max_failure_ratio: half}\n"
    folder = _project(tmp_path, SERVICE.replace("    networks: [n]\n", deploy + "    networks: [n]\n"))
    result = _import(folder, tmp_path / "out")
    lost = {f.key for f in result.lost if f.subject == "Service web"}
    assert {"spec.replicas", "spec.updateConfig.maxFailureRatio"} <= lost, [str(f) for f in result.lost]
    (service,) = [d for d in result.documents if d["kind"] == "Service"]
    assert "replicas" not in service["spec"] and "updateConfig" not in service["spec"]


def test_a_key_written_twice_is_refused_as_go_yaml_refuses_it(tmp_path: Path) -> None:
    """Before: the second ``web`` silently replaced the first (docker stack deploy refuses the file:
    'mapping key "web" already defined at line 2'). A key a merge brings in may still be overridden."""
    folder = _project(tmp_path, "services:\n  web:\n    image: a\n  web:\n    image: b\n")
    with pytest.raises(ComposeError) as caught:
        _import(folder, tmp_path / "out")
    assert 'compose.yml:4:3: invalid YAML: mapping key "web" already defined at line 2' in str(caught.value)
    (tmp_path / "m").mkdir()
    merged = _project(tmp_path / "m", "x-base: &b\n  image: a\nservices:\n  web:\n    <<: *b\n    image: c\n")
    (service,) = [d for d in _import(merged, tmp_path / "out2").documents if d["kind"] == "Service"]
    assert service["spec"]["image"] == "c"
