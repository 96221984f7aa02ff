"""node_taints against the live cluster, on fake KWOK nodes of this test only."""
from nodehelpers import RUN_LABEL

EXTRA = {"key": "gpuaas.io/extra", "value": "x", "effect": "PreferNoSchedule"}
MAINT = {"key": "gpuaas.io/maintenance", "value": "", "effect": "NoExecute"}


def live_taints(core_v1, name):
    node = core_v1.read_node(name)
    return sorted((t.key, t.value or "", t.effect) for t in (node.spec.taints or []))


def rv(core_v1, name):
    return core_v1.read_node(name).metadata.resource_version


def test_taints_add_remove_replace_over_selector(ansible, core_v1, fake_nodes):
    a, b = fake_nodes.create(2)
    run_taint = (RUN_LABEL, fake_nodes.run, "NoSchedule")
    sel = fake_nodes.selector

    # add over a selector: both nodes change, one write each
    r = ansible.module("node_taints", {"label_selector": sel, "taints": [EXTRA]}, diff=True)
    assert r["changed"] is True
    assert r["changed_nodes"] == sorted([a, b])
    for n in (a, b):
        assert live_taints(core_v1, n) == sorted([run_taint, ("gpuaas.io/extra", "x", "PreferNoSchedule")])
    assert len(r["diff"]) == 2
    entry = next(x for x in r["nodes"] if x["name"] == a)
    assert entry["added"] == [EXTRA] and entry["removed"] == []

    # idempotent: no write at all (resourceVersion unchanged)
    before = {n: rv(core_v1, n) for n in (a, b)}
    r = ansible.module("node_taints", {"label_selector": sel, "taints": [EXTRA]})
    assert r["changed"] is False and r["changed_nodes"] == []
    assert {n: rv(core_v1, n) for n in (a, b)} == before

    # value overwrite on one node by name
    r = ansible.module("node_taints", {"name": a, "taints": [dict(EXTRA, value="y")]})
    assert r["changed"] is True
    assert ("gpuaas.io/extra", "y", "PreferNoSchedule") in live_taints(core_v1, a)

    # check mode + diff for replace: reports, writes nothing
    before = {n: rv(core_v1, n) for n in (a, b)}
    wanted = [{"key": RUN_LABEL, "value": fake_nodes.run, "effect": "NoSchedule"}]
    r = ansible.module("node_taints", {"label_selector": sel, "state": "replace", "taints": wanted},
                       check=True, diff=True)
    assert r["changed"] is True and sorted(r["changed_nodes"]) == sorted([a, b])
    assert all(x["after"] == wanted for x in r["nodes"])
    assert {n: rv(core_v1, n) for n in (a, b)} == before
    assert ("gpuaas.io/extra", "y", "PreferNoSchedule") in live_taints(core_v1, a)

    # replace removes extras although every requested taint already exists
    r = ansible.module("node_taints", {"label_selector": sel, "state": "replace", "taints": wanted})
    assert r["changed"] is True
    for n in (a, b):
        assert live_taints(core_v1, n) == [run_taint]
    r = ansible.module("node_taints", {"label_selector": sel, "state": "replace", "taints": wanted})
    assert r["changed"] is False

    # absent by key only removes every effect of that key; absent of a missing taint is no change
    ansible.module("node_taints", {"name": b, "taints": [MAINT, dict(MAINT, effect="NoSchedule")]})
    assert len(live_taints(core_v1, b)) == 3
    r = ansible.module("node_taints", {"name": b, "state": "absent", "taints": [{"key": MAINT["key"]}]})
    assert r["changed"] is True and live_taints(core_v1, b) == [run_taint]
    r = ansible.module("node_taints", {"name": b, "state": "absent", "taints": [{"key": MAINT["key"]}]})
    assert r["changed"] is False


def test_bad_taints_rejected_before_any_write(ansible, core_v1, fake_nodes):
    a, b = fake_nodes.create(2)
    before = {n: rv(core_v1, n) for n in (a, b)}
    bad_inputs = [
        # a bad effect, next to a valid taint: nothing may be written for the valid one either
        [EXTRA, {"key": "gpuaas.io/x", "effect": "NoSchedul"}],
        [EXTRA, {"key": "bad key!", "effect": "NoSchedule"}],
        [EXTRA, {"key": "gpuaas.io/x", "value": "not valid value", "effect": "NoSchedule"}],
        [EXTRA, dict(EXTRA, value="other")],
    ]
    fields = ["effect", "taints[1].key", "taints[1].value", "taints[1]"]
    for taints, field in zip(bad_inputs, fields):
        r = ansible.module("node_taints", {"label_selector": fake_nodes.selector, "taints": taints}, fail_ok=True)
        assert r.get("failed"), r
        assert field in r["msg"], r["msg"]
    assert {n: rv(core_v1, n) for n in (a, b)} == before
    # an unknown node fails cleanly
    r = ansible.module("node_taints", {"name": "t-no-such-node-%s" % fake_nodes.run, "taints": [EXTRA]}, fail_ok=True)
    assert r.get("failed") and "not found" in r["msg"]


def test_concurrent_change_is_not_overwritten(cluster, core_v1, fake_nodes):
    """A node changed by someone else between our read and our write: the resourceVersion
    precondition makes the API refuse our patch (409), we read again and keep their change."""
    from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import get_client
    from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.node_ops import apply_taints, select_nodes
    from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.taints import validate_taints

    (a,) = fake_nodes.create(1)
    client = get_client({"kubeconfig": cluster.kubeconfig, "context": cluster.context})
    stale = select_nodes(client, name=a)
    # someone else adds a taint after our read
    node = core_v1.read_node(a)
    theirs = {"key": "gpuaas.io/theirs", "value": "", "effect": "NoSchedule"}
    core_v1.patch_node(a, {"spec": {"taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in node.spec.taints] + [theirs]}})
    (res,) = apply_taints(client, stale, validate_taints([EXTRA]), "present")
    assert res["changed"] is True and res["conflicts_retried"] == 1
    live = live_taints(core_v1, a)
    assert ("gpuaas.io/theirs", "", "NoSchedule") in live
    assert ("gpuaas.io/extra", "x", "PreferNoSchedule") in live
