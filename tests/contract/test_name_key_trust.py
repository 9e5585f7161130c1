"""The instance's name key (``state.content_names``) when someone else touches it, on both backends:
removed by hand (``docker config rm`` takes it, no service uses it), the plan says before anything
changes that every secret will be renamed; restored from a backup (data and labels), every name is
kept; a config of that name that this instance did not make is not used as a key (a known key would
make secret names guessable again) and not taken over, even with ``--adopt``: the secrets wait."""

from __future__ import annotations

import base64
from typing import Any

from reconciler.core.swarm_names import keyed_name
from reconciler.state.content_names import name_key_config
from reconciler.state.plan import Action, Notice
from tests.contract.conftest import ContractSwarm
from tests.contract.test_secret_names import app, live_refs


def _key_config(cs: ContractSwarm) -> dict[str, Any]:
    [found] = [c for c in cs.port.snapshot().configs if c["Spec"]["Name"] == name_key_config(cs.instance)]
    return found


def _key_change(cs: ContractSwarm) -> Any:
    [change] = [c for c in cs.plan().changes if c.key == f"NameKey/{cs.instance}"]
    return change


def test_a_removed_name_key_is_announced_before_the_secrets_are_renamed(cs: ContractSwarm) -> None:
    cs.write(*app(cs, "v1\n"))
    assert _key_change(cs).notices == ()  # the first key renames nothing
    cs.converge()
    _, before = live_refs(cs, cs.name("web"))
    cs.port.remove_config(_key_config(cs)["ID"])
    change = _key_change(cs)
    assert (change.action, change.notices) == (Action.CREATE, (Notice.NEW_NAME_KEY,))
    assert "restore the config" in Notice.NEW_NAME_KEY.text
    cs.converge()
    _, after = live_refs(cs, cs.name("web"))
    assert after != before  # as announced: the value cannot be read back to be named under the new key


def test_a_name_key_restored_from_a_backup_keeps_every_name(cs: ContractSwarm) -> None:
    cs.write(*app(cs, "v1\n"))
    cs.converge()
    refs, tasks = live_refs(cs, cs.name("web")), cs.task_ids("web")
    backup = _key_config(cs)["Spec"]
    cs.port.remove_config(_key_config(cs)["ID"])
    cs.port.create_config({"Name": backup["Name"], "Labels": backup["Labels"], "Data": backup["Data"]})
    assert [c.key for c in cs.plan().changes if c.action != Action.NOOP] == []
    cs.converge()
    assert (live_refs(cs, cs.name("web")), cs.task_ids("web")) == (refs, tasks)


def test_a_name_key_config_the_instance_did_not_make_is_neither_used_nor_adopted(cs: ContractSwarm) -> None:
    known = b"k" * 32  # whoever made it knows the key
    cs.port.create_config(
        {"Name": name_key_config(cs.instance), "Labels": {}, "Data": base64.b64encode(known).decode()}
    )
    cs.write(*app(cs, "v1\n"))
    secret = cs.desired().get(cs.key("Secret", "pw"))
    assert secret is not None and secret.naming is not None
    guessable = keyed_name(secret.naming.base, secret.naming.source, known)
    plan = cs.plan(adopt=True)
    [key] = [c for c in plan.changes if c.key == f"NameKey/{cs.instance}"]
    assert key.action == Action.CONFLICT and "restore this instance's key with the labels" in key.reason, key.reason
    assert guessable not in {c.swarm_name for c in plan.changes}
    result = cs.reconcile(adopt=True)
    assert not result.converged
    assert not [s for s in cs.port.snapshot().secrets if s["Spec"]["Name"].startswith(cs.name("pw"))]
    assert base64.b64decode(_key_config(cs)["Spec"]["Data"]) == known  # left as it was
