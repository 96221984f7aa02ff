"""karpenter_disruption against the live Karpenter: a paused pool keeps an empty node that an
unpaused twin pool has consolidated meanwhile, resume restores the exact budgets and Karpenter removes the node; nodes are
marked and unmarked do-not-disrupt."""
import json
import time

from kt_support import wait_until

MOD = "karpenter_disruption"
SAVED = "gpuaas.io/paused-disruption-budgets"


def test_pause_blocks_consolidation_resume_restores(kenv, ansible, namespace):
    before = [{"nodes": "50%"}, {"nodes": "1", "reasons": ["Drifted"]}]
    pool_args = kenv.new_pool_args(
        requirements=[{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["gpu-1x-l4"]}],
        disruption={"consolidation_policy": "WhenEmpty", "consolidate_after": "5s", "budgets": before})
    pool = pool_args["name"]
    ansible.module("karpenter_nodepool", dict(pool_args, wait=True, wait_timeout=60))
    assert kenv.pool(pool)["spec"]["disruption"]["budgets"] == before
    marker = kenv.write_marker(pool)

    # check mode: nothing written
    res = ansible.module(MOD, {"action": "pause", "nodepool": pool}, check=True, diff=True)
    assert res["changed"] is True and res["diff"]["before"]["budgets"] == before
    assert res["diff"]["after"]["budgets"] == [{"nodes": "0"}]
    assert kenv.write_marker(pool) == marker

    res = ansible.module(MOD, {"action": "pause", "nodepool": pool, "reason": "integration test"})
    assert res["changed"] is True and res["paused"] is True and res["saved_budgets"] == before
    live = kenv.pool(pool)
    assert live["spec"]["disruption"]["budgets"] == [{"nodes": "0"}]
    assert json.loads(live["metadata"]["annotations"][SAVED]) == before
    assert live["metadata"]["annotations"]["gpuaas.io/pause-reason"] == "integration test"

    # same pause again: no change; another pause: budgets change, the saved ones do not
    res = ansible.module(MOD, {"action": "pause", "nodepool": pool})
    assert res["changed"] is False
    other = [{"nodes": "0", "reasons": ["Empty", "Underutilized"]}, {"nodes": "0", "reasons": ["Drifted"]}]
    res = ansible.module(MOD, {"action": "pause", "nodepool": pool, "budgets": other})
    assert res["changed"] is True
    live = kenv.pool(pool)
    assert live["spec"]["disruption"]["budgets"] == other
    assert json.loads(live["metadata"]["annotations"][SAVED]) == before

    # re-running karpenter_nodepool with its budgets does not end the pause
    res = ansible.module("karpenter_nodepool", pool_args)
    assert kenv.pool(pool)["spec"]["disruption"]["budgets"] == other
    assert res["paused"] is True and res["saved_budgets"] == before and res["changed"] is False
    assert not res.get("warnings"), "same budgets as saved: nothing to warn about"
    # new budgets given while paused are saved for resume, and stay saved on an identical rerun
    # (server-side apply must not drop the annotation it applied the time before)
    newer = [{"nodes": "25%"}]
    newer_args = dict(pool_args, disruption=dict(pool_args["disruption"], budgets=newer))
    for attempt in range(2):
        res = ansible.module("karpenter_nodepool", newer_args)
        assert res["changed"] is (attempt == 0), (attempt, res)
        assert bool(res.get("warnings")) is (attempt == 0)   # the first run changes what resume restores
        live = kenv.pool(pool)
        assert live["spec"]["disruption"]["budgets"] == other
        assert json.loads(live["metadata"]["annotations"][SAVED]) == newer, attempt
    for attempt in range(2):
        ansible.module("karpenter_nodepool", pool_args)
        live = kenv.pool(pool)
        assert live["spec"]["disruption"]["budgets"] == other
        assert json.loads(live["metadata"]["annotations"][SAVED]) == before, attempt

    # a control pool, the same but not paused, shows that Karpenter does consolidate such a node
    control_args = kenv.new_pool_args(
        requirements=pool_args["requirements"],
        disruption={"consolidation_policy": "WhenEmpty", "consolidate_after": "5s", "budgets": before})
    control = control_args["name"]
    ansible.module("karpenter_nodepool", dict(control_args, wait=True, wait_timeout=60))

    # a node for a pod in each pool, then the pods go: the nodes are empty, consolidatable after 5s
    kenv.gpu_pod(namespace, pool_args, "short")
    kenv.gpu_pod(namespace, control_args, "control")
    wait_until(lambda: len([p for p in kenv.core_v1.list_namespaced_pod(namespace).items if p.spec.node_name]) == 2,
               90, "both pods scheduled on new nodes")

    def initialized(name):
        return [c for c in kenv.claims(name)
                if any(x["type"] == "Initialized" and x["status"] == "True"
                       for x in (c.get("status") or {}).get("conditions") or [])]
    claim = wait_until(lambda: initialized(pool), 60, "an Initialized NodeClaim")[0]
    wait_until(lambda: initialized(control), 60, "an Initialized NodeClaim in the control pool")
    node_name = claim["status"]["nodeName"]

    # mark / unmark the node (check mode first)
    res = ansible.module(MOD, {"action": "mark", "nodes": [node_name]}, check=True)
    assert res["changed"] is True
    assert not (kenv.core_v1.read_node(node_name).metadata.annotations or {}).get("karpenter.sh/do-not-disrupt")
    res = ansible.module(MOD, {"action": "mark", "nodes": [node_name]})
    assert res["changed"] is True and res["changed_nodes"] == [node_name]
    assert kenv.core_v1.read_node(node_name).metadata.annotations["karpenter.sh/do-not-disrupt"] == "true"
    assert ansible.module(MOD, {"action": "mark", "nodes": [node_name]})["changed"] is False
    res = ansible.module(MOD, {"action": "unmark", "nodes": [node_name]}, diff=True)
    assert res["changed"] is True and res["diff"]["before"]["do_not_disrupt"] == {node_name: "true"}
    assert "karpenter.sh/do-not-disrupt" not in (kenv.core_v1.read_node(node_name).metadata.annotations or {})

    kenv.core_v1.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
    wait_until(lambda: not kenv.core_v1.list_namespaced_pod(namespace).items, 30, "pods gone")
    # the unpaused control pool's empty node is consolidated; the paused pool's one stays
    wait_until(lambda: not kenv.claims(control, include_deleting=True), 120,
               "Karpenter to consolidate the control pool's empty node")
    time.sleep(5)
    claims = kenv.claims(pool, include_deleting=True)
    assert [c["metadata"]["name"] for c in claims] == [claim["metadata"]["name"]]
    assert not claims[0]["metadata"].get("deletionTimestamp")

    # resume: exactly the budgets from before; Karpenter then removes the empty node
    res = ansible.module(MOD, {"action": "resume", "nodepool": pool}, diff=True)
    assert res["changed"] is True and res["restored_budgets"] == before and res["paused"] is False
    live = kenv.pool(pool)
    assert live["spec"]["disruption"]["budgets"] == before
    assert SAVED not in (live["metadata"].get("annotations") or {})
    assert "gpuaas.io/pause-reason" not in (live["metadata"].get("annotations") or {})
    assert ansible.module(MOD, {"action": "resume", "nodepool": pool})["changed"] is False
    wait_until(lambda: not kenv.claims(pool, include_deleting=True), 120,
               "Karpenter to consolidate the empty node after resume")
    wait_until(lambda: not [n for n in kenv.nodes(pool) if n.metadata.name == node_name], 60, "node gone")
