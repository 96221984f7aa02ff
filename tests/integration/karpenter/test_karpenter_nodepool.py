"""karpenter_nodepool against the live Karpenter: create/update/delete, check, diff, idempotence,
and bad inputs rejected before any write."""
import copy

MOD = "karpenter_nodepool"


def full_args(kenv):
    return kenv.new_pool_args(
        annotations={"gpuaas.io/owner": "tests"},
        startup_taints=[{"key": "gpuaas.io/starting", "effect": "NoSchedule"}],
        expire_after="720h",
        termination_grace_period="1h",
        requirements=[
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["gpu-1x-l4", "gpu-4x-l4"],
             "min_values": 1},
            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
            {"key": "kubernetes.io/arch", "operator": "NotIn", "values": ["arm64"]},
            {"key": "kubernetes.io/os", "operator": "Exists"},
            {"key": "gpuaas.io/legacy", "operator": "DoesNotExist"},
            {"key": "nvidia.com/gpu.count", "operator": "Gt", "values": ["0"]},
            {"key": "nvidia.com/gpu.count", "operator": "Lt", "values": ["9"]},
        ],
        disruption={"consolidation_policy": "WhenEmpty", "consolidate_after": "30s",
                    "budgets": [{"nodes": "10%"},
                                {"nodes": "0", "schedule": "0 9 * * 1-5", "duration": "8h",
                                 "reasons": ["Underutilized", "Empty"]},
                                {"nodes": "2", "reasons": ["Drifted"]}]},
        limits={"nvidia.com/gpu": "8", "cpu": "1000"},
        weight=10,
    )


def test_create_check_diff_idempotent_update_delete(kenv, ansible):
    args = full_args(kenv)
    name = args["name"]

    # check mode: validated and dry-run applied, nothing written
    res = ansible.module(MOD, args, check=True, diff=True)
    assert res["changed"] is True and res["results"][0]["action"] == "created"
    assert res["diff"]["before"] == {} and res["diff"]["after"]["spec"]["weight"] == 10
    assert kenv.pool(name) is None

    res = ansible.module(MOD, args, diff=True)
    assert res["changed"] is True and res["results"][0]["action"] == "created"
    live = kenv.pool(name)
    spec = live["spec"]
    tmpl = spec["template"]["spec"]
    assert live["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gpuaas-orchestration"
    assert spec["template"]["metadata"]["labels"]["gpuaas.io/kt"] == args["labels"]["gpuaas.io/kt"]
    assert spec["template"]["metadata"]["annotations"] == {"gpuaas.io/owner": "tests"}
    assert tmpl["taints"] == [dict(args["taints"][0])]
    assert tmpl["startupTaints"] == [{"key": "gpuaas.io/starting", "effect": "NoSchedule"}]
    assert tmpl["nodeClassRef"] == {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"}
    assert tmpl["expireAfter"] == "720h" and tmpl["terminationGracePeriod"] == "1h"
    assert tmpl["requirements"][0]["minValues"] == 1
    assert [r["operator"] for r in tmpl["requirements"]] == ["In", "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    assert spec["disruption"]["consolidationPolicy"] == "WhenEmpty"
    assert spec["disruption"]["consolidateAfter"] == "30s"
    assert spec["disruption"]["budgets"][1] == {"nodes": "0", "schedule": "0 9 * * 1-5", "duration": "8h",
                                                "reasons": ["Underutilized", "Empty"]}
    assert spec["limits"] == {"nvidia.com/gpu": "8", "cpu": "1000"}
    assert spec["weight"] == 10
    marker = kenv.write_marker(name)

    # second identical run: no change, no write
    res = ansible.module(MOD, args)
    assert res["changed"] is False and res["results"][0]["action"] == "unchanged"
    assert kenv.write_marker(name) == marker

    # update in check mode: reported, not written
    changed = copy.deepcopy(args)
    changed["weight"] = 20
    changed["limits"] = {"nvidia.com/gpu": "16", "cpu": "1000"}
    res = ansible.module(MOD, changed, check=True, diff=True)
    assert res["changed"] is True and res["results"][0]["action"] == "updated"
    assert res["diff"]["before"]["spec"]["weight"] == 10 and res["diff"]["after"]["spec"]["weight"] == 20
    assert kenv.write_marker(name) == marker

    res = ansible.module(MOD, changed, diff=True)
    assert res["changed"] is True and res["results"][0]["action"] == "updated"
    live = kenv.pool(name)
    assert live["spec"]["weight"] == 20 and live["spec"]["limits"]["nvidia.com/gpu"] == "16"

    # wait for Ready works against Karpenter's own status
    res = ansible.module(MOD, dict(changed, wait=True, wait_timeout=60))
    assert res["changed"] is False
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in res["resource"]["status"]["conditions"])

    # delete: check mode first, then for real, with diff
    res = ansible.module(MOD, {"name": name, "state": "absent"}, check=True, diff=True)
    assert res["changed"] is True and res["results"][0]["action"] == "deleted" and res["diff"]["after"] == {}
    assert kenv.pool(name) is not None
    res = ansible.module(MOD, {"name": name, "state": "absent", "wait": True, "wait_timeout": 60}, diff=True)
    assert res["changed"] is True and res["diff"]["before"]["metadata"]["name"] == name
    assert kenv.pool(name) is None
    res = ansible.module(MOD, {"name": name, "state": "absent"})
    assert res["changed"] is False and res["results"][0]["action"] == "absent"
