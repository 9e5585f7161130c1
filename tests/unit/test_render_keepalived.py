"""VirtualIP → keepalived.conf: the Swarm config template, one node's file, and the ``vip-check`` helper.

The files are checked by the real parser: ``keepalived -t`` (Debian's keepalived 2.2.x). It needs
root (the check scripts must be root-owned under ``enable_script_security``); it verifies that the
VRRP interface exists on the machine that runs the test, so specs use an interface of this host
(``IFACE``); and it verifies that every check script exists and is secure, so the tests install
``deploy/keepalived/vip-check`` into a private temporary folder and render with
``check_program=`` pointing there instead of the image's ``/usr/local/bin/vip-check``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, IPv6Address, IPv6Interface
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifests.kinds.virtual_ip import SecretRef, VipCheck, VirtualIP
from reconciler.manifests.loading import load_manifests
from reconciler.render.keepalived import MAX_LINE, VIP_CHECK_PATH, keepalived_conf, keepalived_template

API = "reconciler.swarm/v1alpha1"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
VIP_CHECK = ROOT / "deploy" / "keepalived" / "vip-check"
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"


def _host_interface() -> str:
    """An interface keepalived accepts on this host (not loopback): eth0 when there is one."""
    names = [name for _, name in socket.if_nameindex() if name != "lo"]
    return "eth0" if "eth0" in names else (sorted(names) or ["eth0"])[0]


IFACE = _host_interface()
# Programs for `script` checks that exist, root-owned, on any Debian-like host.
SCRIPT_PROGRAMS = [p for p in ("/usr/bin/true", "/bin/true", "/usr/bin/test", "/usr/bin/env") if os.path.exists(p)]

needs_keepalived = pytest.mark.skipif(
    not os.path.exists(KEEPALIVED) or os.geteuid() != 0,
    reason="`keepalived -t` needs keepalived installed (apt-get install keepalived) and root "
    "(check scripts must be root-owned under enable_script_security)",
)


def vip(name: str = "cluster-ip", **spec: Any) -> VirtualIP:
    body = {"addresses": ["192.168.1.250/24"], "interface": IFACE, "routerId": 51, **spec}
    return VirtualIP.model_validate({"apiVersion": API, "kind": "VirtualIP", "metadata": {"name": name}, "spec": body})


def unchecked_vip(**updates: Any) -> VirtualIP:
    """A VIP whose spec bypassed the model's own checks: the renderer must still refuse bad values
    (defence in depth; the model refuses them first, see test_virtual_ip_model.py)."""
    base = vip()
    return base.model_copy(update={"spec": base.spec.model_copy(update=updates)})


def unchecked_check(**updates: Any) -> VipCheck:
    return VipCheck.model_validate({"name": "c", "type": "tcp", "port": 80}).model_copy(update=updates)


def example_vip() -> VirtualIP:
    (found,) = load_manifests(EXAMPLES).of_kind(VirtualIP)
    return found


NODE_IDS = {
    "node1": "n1aaaaaaaaaaaaaaaaaaaaaaa",
    "node2": "n2bbbbbbbbbbbbbbbbbbbbbbb",
    "node3": "n3ccccccccccccccccccccccc",
}


def line_of(text: str, keyword: str) -> str:
    """The one line of ``text`` that starts (after indentation) with ``keyword``."""
    found = [line.strip() for line in text.splitlines() if line.strip().split(" ")[0] == keyword]
    assert len(found) == 1, f"{keyword}: {found}"
    return found[0]


def block(text: str, opening: str) -> list[str]:
    """The inner lines of the block that opens with ``opening {``."""
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index(f"{opening} {{")
    end = lines.index("}", start)
    return lines[start + 1 : end]


# -- a tiny evaluator for exactly the template constructs the renderer emits ---------------------

_ACTION = re.compile(r"\{\{(.*?)\}\}")
_IF = re.compile(r'(else )?if eq \.Node\.ID "([A-Za-z0-9]+)"')
_SECRET = re.compile(r' secret "([A-Za-z0-9._-]+)" ')


def evaluate(template: str, node_id: str | None, secrets: dict[str, str]) -> str:
    """What the engine's golang driver makes of the template for ``.Node.ID == node_id``.

    Supports ``{{if eq .Node.ID "x"}}…{{else if eq .Node.ID "y"}}…{{else}}…{{end}}`` (not nested)
    and ``{{ secret "target" }}``; anything else is an error, so a new construct must be added here.
    """
    out: list[str] = []
    in_chain = taking = taken = False
    pos = 0
    for match in _ACTION.finditer(template):
        if taking or not in_chain:
            out.append(template[pos : match.start()])
        pos = match.end()
        action = match.group(1)
        if branch := _IF.fullmatch(action):
            is_else = branch.group(1) is not None
            assert in_chain == is_else, f"misplaced {action!r}"
            in_chain = True
            taken = taken or taking if is_else else False
            taking = not taken and branch.group(2) == node_id
        elif action == "else":
            assert in_chain
            taken = taken or taking
            taking = not taken
        elif action == "end":
            assert in_chain
            in_chain = taking = taken = False
        elif secret := _SECRET.fullmatch(action):
            if taking or not in_chain:
                out.append(secrets[secret.group(1)])
        else:
            raise AssertionError(f"the evaluator does not know {{{{{action}}}}}")
    assert not in_chain, "unterminated {{if}}"
    out.append(template[pos:])
    return "".join(out)


def test_the_evaluator_follows_go_semantics() -> None:
    chain = 'p {{if eq .Node.ID "a"}}1{{else if eq .Node.ID "b"}}2{{else}}3{{end}} s {{ secret "x" }}'
    assert evaluate(chain, "a", {"x": "pw"}) == "p 1 s pw"
    assert evaluate(chain, "b", {"x": "pw"}) == "p 2 s pw"
    assert evaluate(chain, "c", {"x": "pw"}) == "p 3 s pw"
    assert evaluate(chain, None, {"x": "pw"}) == "p 3 s pw"
    with pytest.raises(AssertionError):
        evaluate("{{.Node.Hostname}}", "a", {})


# -- keepalived -t -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def check_program(tmp_path_factory: pytest.TempPathFactory) -> str:
    """vip-check installed where keepalived's script security accepts it (root-owned, 0755, in a
    folder only root can write), standing in for /usr/local/bin/vip-check of the image."""
    folder = tmp_path_factory.mktemp("bin")
    folder.chmod(0o755)
    target = folder / "vip-check"
    shutil.copyfile(VIP_CHECK, target)
    target.chmod(0o755)
    return str(target)


def keepalived_t(conf: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "keepalived.conf"
        path.write_text(conf)
        # -l: log to the console, so that a failure shows keepalived's own reasons.
        return subprocess.run(
            [KEEPALIVED, "-t", "-l", "-f", str(path)], capture_output=True, text=True, timeout=30, check=False
        )


def assert_keepalived_accepts(conf: str) -> None:
    result = keepalived_t(conf)
    numbered = "\n".join(f"{n:3} {line}" for n, line in enumerate(conf.splitlines(), 1))
    assert result.returncode == 0, (
        f"keepalived -t exited {result.returncode}\n{result.stdout}{result.stderr}\n--- the file:\n{numbered}"
    )


@needs_keepalived
def test_every_node_of_the_example_gets_a_file_keepalived_accepts(check_program: str) -> None:
    example = example_vip()
    if example.spec.interface != IFACE:  # keepalived -t wants an interface of this host
        example = example.model_copy(update={"spec": example.spec.model_copy(update={"interface": IFACE})})
    secret = (EXAMPLES / "secrets" / "vrrp-password").read_text().strip()
    for node_id in [*NODE_IDS.values(), None]:
        conf = keepalived_conf(example, node_id, NODE_IDS, password=secret, check_program=check_program)
        assert_keepalived_accepts(conf)


@needs_keepalived
@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({}, id="minimal"),
        pytest.param({"preempt": False, "advertInterval": 255}, id="nopreempt"),
        pytest.param({"addresses": ["192.168.1.250/24", "fd00::250/64", "10.0.0.5/32"]}, id="mixed-families"),
        pytest.param({"addresses": ["fd00::250/64", "fd00::251/64"], "advertInterval": 40}, id="ipv6-only"),
        pytest.param({"addresses": ["fd00::250/64", "10.1.1.1/24"], "unicastPeers": ["fd00::1"]}, id="ipv6-peers"),
        pytest.param({"unicastPeers": ["192.168.1.11", "192.168.1.12"]}, id="unicast"),
        pytest.param({"checks": [{"name": "s", "type": "script", "command": ["/usr/bin/true", "a=1"]}]}, id="script"),
    ],
)
def test_variants_pass_keepalived(check_program: str, spec: dict[str, Any]) -> None:
    conf = keepalived_conf(vip(**spec), None, {}, check_program=check_program)
    assert_keepalived_accepts(conf)


@needs_keepalived
def test_keepalived_t_really_checks_the_scripts(tmp_path: Path) -> None:
    """Without the helper installed, keepalived -t disables the check and fails: the tests above
    are meaningful only because they install vip-check."""
    missing = str(tmp_path / "nowhere" / "vip-check")
    conf = keepalived_conf(vip(checks=[{"name": "web", "type": "tcp", "port": 80}]), None, {}, check_program=missing)
    result = keepalived_t(conf)
    assert result.returncode != 0
    assert "Disabling track script web since not found/accessible" in result.stdout + result.stderr


# -- hypothesis: valid specs of every shape, each through keepalived -t -----------------------

_HOSTNAME = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_NAME = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,12}[a-z0-9])?", fullmatch=True)
_NODE_ID = st.from_regex(r"[a-z0-9]{25}", fullmatch=True)
_PASSWORD = st.text(st.sampled_from("abcXYZ0189-_.,:;<>@%+=/^*~&|?()[]`"), min_size=1, max_size=8)


def _v4(prefix: str) -> st.SearchStrategy[str]:
    return st.builds(lambda a, b: f"{prefix}.{a}.{b}", st.integers(0, 255), st.integers(1, 254))


def _v6() -> st.SearchStrategy[str]:
    return st.builds(lambda a, b: f"fd00:{a:x}::{b:x}", st.integers(0, 0xFFFF), st.integers(1, 0xFFFF))


@st.composite
def _check(draw: st.DrawFn, name: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["tcp", "http", "script"]))
    check: dict[str, Any] = {
        "name": name,
        "type": kind,
        "interval": draw(st.integers(1, 3600)),
        "timeout": draw(st.integers(1, 3600)),
        "weight": draw(st.integers(-253, 253)),
        "fall": draw(st.integers(1, 255)),
        "rise": draw(st.integers(1, 255)),
    }
    if kind == "script":
        program = draw(st.sampled_from(SCRIPT_PROGRAMS))
        args = draw(st.lists(st.from_regex(r"[A-Za-z0-9_./:=@%+,-]{1,12}", fullmatch=True), max_size=3))
        check["command"] = [program, *args]
    else:
        check["host"] = draw(st.sampled_from(["127.0.0.1", "::1", "traefik.local", "10.0.0.7"]))
        check["port"] = draw(st.integers(1, 65535))
    if kind == "http":
        check["path"] = draw(st.from_regex(r"/[A-Za-z0-9._~%/?&=+-]{0,30}", fullmatch=True))
        check["expectStatus"] = draw(st.integers(100, 599))
    return check


@st.composite
def _case(draw: st.DrawFn) -> tuple[VirtualIP, dict[str, str], str | None, str | None]:
    """A valid VirtualIP, the swarm's hostname → node ID map, the node to render for, the password."""
    families = draw(st.sampled_from(["4", "6", "46"]))
    addresses: list[str] = []
    if "4" in families:
        addresses += [f"{a}/{draw(st.integers(8, 32))}" for a in draw(st.lists(_v4("10.1"), min_size=1, max_size=3))]
    if "6" in families:
        addresses += [f"{a}/{draw(st.integers(48, 128))}" for a in draw(st.lists(_v6(), min_size=1, max_size=2))]
    addresses = list(dict.fromkeys(addresses))  # an address twice is invalid; prefixes may differ
    addresses = list({a.split("/")[0]: a for a in addresses}.values())
    draw(st.randoms()).shuffle(addresses)
    ipv6_instance = families == "6"
    peer = _v6() if ipv6_instance else _v4("192.168")
    hosts = draw(st.lists(_HOSTNAME, max_size=4, unique=True))
    priorities = {h: draw(st.integers(1, 254)) for h in hosts}
    resolved = draw(st.lists(st.sampled_from(hosts), unique=True)) if hosts else []
    ids = draw(st.lists(_NODE_ID, min_size=len(resolved), max_size=len(resolved), unique=True))
    node_ids = dict(zip(resolved, ids, strict=True))
    extra_host, extra_id = draw(_HOSTNAME), draw(_NODE_ID)  # a node without a priority entry
    if extra_host not in node_ids and extra_id not in node_ids.values():
        node_ids[extra_host] = extra_id
    names = draw(st.lists(_NAME, max_size=3, unique=True))
    password = None if ipv6_instance else draw(st.none() | _PASSWORD)
    spec: dict[str, Any] = {
        "addresses": addresses,
        "routerId": draw(st.integers(1, 255)),
        "advertInterval": draw(st.integers(1, 40 if ipv6_instance else 255)),
        "priorities": priorities,
        "defaultPriority": draw(st.integers(1, 254)),
        "preempt": draw(st.booleans()),
        "unicastPeers": draw(st.lists(peer, max_size=3)),
        "checks": [draw(_check(name)) for name in names],
    }
    if password is not None:
        spec["password"] = {"secret": draw(_NAME)}
    node_id = draw(st.none() | st.sampled_from(sorted(node_ids.values())) | _NODE_ID) if node_ids else None
    return vip(draw(_NAME), **spec), node_ids, node_id, password


@needs_keepalived
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_case())
def test_generated_specs_pass_keepalived_and_match_their_template(
    check_program: str, case: tuple[VirtualIP, dict[str, str], str | None, str | None]
) -> None:
    spec, node_ids, node_id, password = case
    conf = keepalived_conf(spec, node_id, node_ids, password=password, check_program=check_program)
    template = keepalived_template(spec, node_ids, check_program=check_program)
    secrets = {} if spec.spec.password is None or password is None else {spec.spec.password.secret: password}
    assert evaluate(template, node_id, secrets) == conf
    assert all(len(line) <= MAX_LINE for line in conf.splitlines())
    assert_keepalived_accepts(conf)


# -- the example and the template --------------------------------------------------------------


def test_the_example_renders_to_the_expected_instance() -> None:
    template = keepalived_template(example_vip(), NODE_IDS)
    assert block(template, "vrrp_instance cluster-ip")[:6] == [
        "# every node starts as BACKUP; the election by priority picks the master",
        "state BACKUP",
        "interface eth0",
        "virtual_router_id 51",
        'priority {{if eq .Node.ID "n1aaaaaaaaaaaaaaaaaaaaaaa"}}150'
        '{{else if eq .Node.ID "n2bbbbbbbbbbbbbbbbbbbbbbb"}}100'
        '{{else if eq .Node.ID "n3ccccccccccccccccccccccc"}}50{{else}}100{{end}}',
        "advert_int 1",
    ]
    assert block(template, "authentication") == ["auth_type PASS", 'auth_pass {{ secret "vrrp-password" }}']
    assert block(template, "virtual_ipaddress") == ["192.168.1.250/24 dev eth0"]
    assert block(template, "track_script") == ["traefik-https", "traefik-ping"]
    assert block(template, "global_defs")[:4] == [
        "router_id cluster-ip",
        "# scripts run as root: keepalived refuses any script a non-root user could change",
        "enable_script_security",
        "script_user root",
    ]
    assert template.endswith("}\n")


def test_conf_is_the_template_evaluated_for_each_node() -> None:
    example = example_vip()
    for node_ids in (NODE_IDS, {"node2": NODE_IDS["node2"]}, {}):
        template = keepalived_template(example, node_ids)
        for node_id in [*NODE_IDS.values(), None, "unknown0000000000000000000"]:
            conf = keepalived_conf(example, node_id, node_ids, password="pw-1234")
            assert evaluate(template, node_id, {"vrrp-password": "pw-1234"}) == conf
            assert "{{" not in conf and "}}" not in conf


# -- priorities ---------------------------------------------------------------------------------


def test_each_resolved_node_gets_its_priority() -> None:
    example = example_vip()
    got = {
        host: line_of(keepalived_conf(example, node_id, NODE_IDS, password="x"), "priority")
        for host, node_id in NODE_IDS.items()
    }
    assert got == {"node1": "priority 150", "node2": "priority 100", "node3": "priority 50"}


def test_unknown_and_unresolved_nodes_get_the_default_priority() -> None:
    spec = vip(priorities={"node1": 150, "node9": 200}, defaultPriority=77)
    node_ids = {"node1": "id1"}
    assert line_of(keepalived_conf(spec, None, node_ids), "priority") == "priority 77"
    assert line_of(keepalived_conf(spec, "other", node_ids), "priority") == "priority 77"
    assert line_of(keepalived_conf(spec, "id1", node_ids), "priority") == "priority 150"
    template = keepalived_template(spec, node_ids)
    assert line_of(template, "priority") == 'priority {{if eq .Node.ID "id1"}}150{{else}}77{{end}}'
    # node9 has no node ID: no branch, but the file says so.
    assert "node9" not in line_of(template, "priority")
    comments = [line for line in template.splitlines() if line.startswith("#")]
    assert comments[-2:] == [
        "# In `priorities` with no node ID known (not in the swarm, or rendered without --node), so the default 77 applies:",
        "#   node9",
    ]
    assert "#   node1 id1 150" in comments


def test_without_resolved_nodes_the_priority_is_plain() -> None:
    template = keepalived_template(vip(priorities={"node1": 150}), {})
    assert line_of(template, "priority") == "priority 100"
    assert "{{" not in template


def test_node_ids_that_could_break_the_template_are_refused() -> None:
    spec = vip(priorities={"node1": 150})
    for bad in ['id"}}{{.Node.Hostname', "id with space", "", "x" * 65]:
        with pytest.raises(ValueError, match="not a Swarm node ID"):
            keepalived_template(spec, {"node1": bad})
    with pytest.raises(ValueError, match="not a Swarm node ID"):
        keepalived_conf(spec, 'x"', {})
    with pytest.raises(ValueError, match="same node ID"):
        keepalived_template(vip(priorities={"a": 1, "b": 2}), {"a": "id1", "b": "id1"})


# -- preempt, password, peers -------------------------------------------------------------------


def test_nopreempt_only_when_preempt_is_false() -> None:
    assert "nopreempt" in block(keepalived_conf(vip(preempt=False), None, {}), "vrrp_instance cluster-ip")
    assert "nopreempt" not in keepalived_conf(vip(), None, {})


def test_the_password_comes_from_the_secret_and_never_sits_in_the_template() -> None:
    example = example_vip()
    secret = (EXAMPLES / "secrets" / "vrrp-password").read_text().strip()
    template = keepalived_template(example, NODE_IDS)
    assert line_of(template, "auth_pass") == 'auth_pass {{ secret "vrrp-password" }}'
    assert secret not in template
    other = keepalived_template(example, NODE_IDS, password_target="vrrp.pass")
    assert line_of(other, "auth_pass") == 'auth_pass {{ secret "vrrp.pass" }}'
    assert line_of(keepalived_conf(example, None, NODE_IDS, password=secret), "auth_pass") == f"auth_pass {secret}"


def test_password_rules() -> None:
    example = example_vip()
    with pytest.raises(ValueError, match="needs a VRRP password"):
        keepalived_conf(example, None, NODE_IDS)
    # No password in the spec: nothing to fill in, the placeholder of `reconciler render` is ignored.
    assert keepalived_conf(vip(), None, {}, password="<secret>") == keepalived_conf(vip(), None, {})
    for bad in ["123456789", "a b", "a#b", "a!b", 'a"b', "a'b", "a{b", "a}b", "a$b", "a\\b", "é", "", "a\nb"]:
        with pytest.raises(ValueError, match="VRRP password"):
            keepalived_conf(example, None, NODE_IDS, password=bad)
    assert "auth_pass <secret>" in keepalived_conf(example, None, NODE_IDS, password="<secret>")
    with pytest.raises(ValueError, match="secret target"):
        keepalived_template(example, NODE_IDS, password_target='x" }}{{ .Node.ID')
    assert "authentication" not in keepalived_template(vip(), {})


def test_unicast_peers_are_listed_sorted() -> None:
    conf = keepalived_conf(vip(unicastPeers=["192.168.1.12", "192.168.1.2", "192.168.1.11"]), None, {})
    assert block(conf, "unicast_peer") == ["192.168.1.2", "192.168.1.11", "192.168.1.12"]
    assert "unicast_peer" not in keepalived_conf(vip(), None, {})


def test_unicast_peers_must_share_one_family_with_an_address() -> None:
    with pytest.raises(ValueError, match="all be IPv4 or all be IPv6"):
        keepalived_conf(unchecked_vip(unicast_peers=[IPv4Address("192.168.1.2"), IPv6Address("fd00::2")]), None, {})
    with pytest.raises(ValueError, match="IPv6, so at least one address"):
        keepalived_conf(unchecked_vip(unicast_peers=[IPv6Address("fd00::2")]), None, {})


# -- address families -----------------------------------------------------------------------------


def test_mixed_families_share_one_instance() -> None:
    conf = keepalived_conf(vip(addresses=["fd00::250/64", "192.168.1.250/24", "10.0.0.1/8"]), None, {})
    assert block(conf, "virtual_ipaddress") == [f"10.0.0.1/8 dev {IFACE}", f"192.168.1.250/24 dev {IFACE}"]
    assert block(conf, "virtual_ipaddress_excluded") == [f"fd00::250/64 dev {IFACE}"]
    assert conf.count("vrrp_instance ") == 1


def test_ipv6_peers_make_an_ipv6_instance() -> None:
    conf = keepalived_conf(vip(addresses=["192.168.1.250/24", "fd00::250/64"], unicastPeers=["fd00::2"]), None, {})
    assert block(conf, "virtual_ipaddress") == [f"fd00::250/64 dev {IFACE}"]
    assert block(conf, "virtual_ipaddress_excluded") == [f"192.168.1.250/24 dev {IFACE}"]


def test_ipv6_instances_refuse_what_vrrpv3_cannot_do() -> None:
    ipv6: dict[str, Any] = {"addresses": ["fd00::250/64"]}
    assert block(keepalived_conf(vip(**ipv6), None, {}), "virtual_ipaddress") == [f"fd00::250/64 dev {IFACE}"]
    v6 = [IPv6Interface("fd00::250/64")]
    with pytest.raises(ValueError, match="no authentication"):
        keepalived_template(unchecked_vip(addresses=v6, password=SecretRef(secret="pw")), {})
    with pytest.raises(ValueError, match="at most 40"):
        keepalived_template(unchecked_vip(addresses=v6, advert_interval=41), {})


def test_addresses_keepalived_cannot_take_are_refused() -> None:
    for spec in (
        {"addresses": ["fe80::5%eth0 }/64"]},
        {"addresses": ["fd00::5/64"], "unicastPeers": ["fe80::1%eth0 }\n vrrp_instance x {"]},
        {"addresses": ["127.0.0.5/8"]},
        {"addresses": ["224.0.0.5/24"]},
        {"addresses": ["0.0.0.0/0"]},
        {"unicastPeers": ["0.0.0.0"]},
        {"checks": [{"name": "c", "type": "tcp", "port": 1, "host": 'fe80::1%a b"'}]},
    ):
        with pytest.raises(ValueError, match=r"scope IDs|multicast, unspecified or loopback"):
            keepalived_template(vip(**spec), {})
    with pytest.raises(ValueError, match="listed twice"):
        keepalived_template(vip(addresses=["10.0.0.1/24", "10.0.0.1/16"]), {})


# -- checks ---------------------------------------------------------------------------------------


def test_each_check_type_becomes_a_vrrp_script() -> None:
    checks = [
        {"name": "web", "type": "http", "host": "::1", "port": 8082, "path": "/ping?x=1", "expectStatus": 204},
        {"name": "tls", "type": "tcp", "port": 443, "interval": 5, "timeout": 3, "weight": 20, "fall": 4, "rise": 6},
        {"name": "proc", "type": "script", "command": ["/usr/bin/pgrep", "-x", "traefik"], "weight": 0},
    ]
    conf = keepalived_conf(vip(checks=checks), None, {})
    assert block(conf, "vrrp_script web") == [
        f'script "{VIP_CHECK_PATH} http ::1 8082 /ping?x=1 204 1"',
        "interval 2",
        "timeout 1",
        "weight -50",
        "fall 2",
        "rise 2",
    ]
    assert block(conf, "vrrp_script tls") == [
        f'script "{VIP_CHECK_PATH} tcp 127.0.0.1 443 3"',
        "interval 5",
        "timeout 3",
        "weight 20",
        "fall 4",
        "rise 6",
    ]
    assert block(conf, "vrrp_script proc")[:2] == ['script "/usr/bin/pgrep -x traefik"', "interval 2"]
    assert block(conf, "track_script") == ["proc", "tls", "web"]


def test_no_checks_no_scripts() -> None:
    conf = keepalived_conf(vip(), None, {})
    assert "vrrp_script" not in conf and "track_script" not in conf


def test_the_check_program_is_configurable_but_must_be_absolute() -> None:
    conf = keepalived_conf(vip(checks=[{"name": "t", "type": "tcp", "port": 1}]), None, {}, check_program="/opt/x")
    assert line_of(conf, "script") == 'script "/opt/x tcp 127.0.0.1 1 1"'
    with pytest.raises(ValueError, match="absolute program path"):
        keepalived_conf(vip(), None, {}, check_program="vip-check")


def test_lines_keepalived_would_split_are_refused() -> None:
    # keepalived reads 1024-byte lines and parses the rest of a longer one as a new line.
    long_path = "/" + "a" * 1000 + "init_fail"
    with pytest.raises(ValueError, match="keepalived reads at most"):
        keepalived_template(unchecked_vip(checks=[unchecked_check(type="http", path=long_path)]), {})
    many = ["/usr/bin/true", *(["x" * 50] * 30)]
    with pytest.raises(ValueError, match="keepalived reads at most"):
        keepalived_conf(unchecked_vip(checks=[unchecked_check(type="script", port=None, command=many)]), None, {})


# -- determinism ----------------------------------------------------------------------------------


def test_same_input_same_bytes_whatever_the_order() -> None:
    checks = [{"name": "b", "type": "tcp", "port": 2}, {"name": "a", "type": "tcp", "port": 1}]
    one = vip(
        addresses=["192.168.1.251/24", "192.168.1.250/24"],
        priorities={"node2": 100, "node1": 150},
        unicastPeers=["192.168.1.3", "192.168.1.2"],
        checks=checks,
    )
    other = vip(
        addresses=["192.168.1.250/24", "192.168.1.251/24"],
        priorities={"node1": 150, "node2": 100},
        unicastPeers=["192.168.1.2", "192.168.1.3"],
        checks=checks[::-1],
    )
    ids = {"node1": "id1", "node2": "id2"}
    first = keepalived_template(one, ids)
    assert first == keepalived_template(one, dict(reversed(ids.items())))
    assert first == keepalived_template(other, ids)
    assert first.encode() == keepalived_template(one, ids).encode()
    assert keepalived_conf(one, "id2", ids) == keepalived_conf(other, "id2", dict(reversed(ids.items())))


# -- vip-check itself, against loopback servers only ---------------------------------------------


def vip_check(*args: str | int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(VIP_CHECK), *map(str, args)], capture_output=True, text=True, timeout=20, check=False
    )


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP listener on 127.0.0.1 that never answers; yields its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # bound, never listened on, now closed: connections are refused


class _StatusHandler(BaseHTTPRequestHandler):
    """GET /status/NNN answers NNN."""

    def do_GET(self) -> None:
        code = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/status/") else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StatusHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_vip_check_tcp_open_and_closed(listener: int, closed_port: int) -> None:
    assert vip_check("tcp", "127.0.0.1", listener, 2).returncode == 0
    assert vip_check("tcp", "127.0.0.1", closed_port, 2).returncode == 1


def test_vip_check_http_status(http_port: int) -> None:
    assert vip_check("http", "127.0.0.1", http_port, "/status/200", 200, 2).returncode == 0
    failed = vip_check("http", "127.0.0.1", http_port, "/status/500", 200, 2)
    assert failed.returncode == 1
    assert "answered 500, expected 200" in failed.stderr
    assert vip_check("http", "127.0.0.1", http_port, "/status/500", 500, 2).returncode == 0
    assert vip_check("http", "127.0.0.1", http_port, "/status/204", 200, 2).returncode == 1
    assert vip_check("http", "127.0.0.1", http_port, "/status/200", 204, 2).returncode == 1


def test_vip_check_http_against_closed_or_silent_ports(closed_port: int, listener: int) -> None:
    assert vip_check("http", "127.0.0.1", closed_port, "/", 200, 2).returncode == 1
    silent = vip_check("http", "127.0.0.1", listener, "/", 200, 1)
    assert silent.returncode == 124  # coreutils' timeout: the time was up


def test_vip_check_refuses_bad_arguments() -> None:
    for args in (
        (),
        ("ping", "127.0.0.1"),
        ("tcp", "127.0.0.1", 80),
        ("tcp", "a/b", 80, 1),
        ("tcp", "127.0.0.1", 0, 1),
        ("tcp", "127.0.0.1", 80, 0),
        ("tcp", "127.0.0.1", "080", 1),
        ("tcp", "127.0.0.1", 65536, 1),
        ("http", "127.0.0.1", 80, "no-slash", 200, 1),
        ("http", "127.0.0.1", 80, "/ HTTP/1.0\r\nX: y", 200, 1),
        ("http", "127.0.0.1", 80, "/", 20, 1),
    ):
        assert vip_check(*args).returncode == 2, args


def test_vip_check_is_executable_bash() -> None:
    assert VIP_CHECK.read_text().startswith("#!/bin/bash\n")
    assert os.access(VIP_CHECK, os.X_OK)
