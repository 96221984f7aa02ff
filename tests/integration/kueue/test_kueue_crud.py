"""Create / update / delete of every Kueue kind through the modules, against the live Kueue.

For every kind: check mode writes nothing (no object appears; resourceVersion unchanged), diff has
before/after for create, update and delete, a second identical run reports no change, the live
object carries what the module said. The calls of all kinds run in four ansible-playbook processes
(one per phase) to keep the suite fast; assertions are made on each call's result and on the live
objects between phases.
"""
MANAGED = ("app.kubernetes.io/managed-by", "gpuaas-orchestration")
CHECK_DIFF = {"check": True, "diff": True}
DIFF = {"diff": True}


def specs(sfx, namespace):
    flavor, cq_for_lq, parent = "f-" + sfx, "lqcq-" + sfx, "parent-" + sfx
    prereq = [
        ("kueue_resource_flavor", {"name": flavor}),
        ("kueue_cohort", {"name": parent}),
        ("kueue_cluster_queue", {"name": cq_for_lq, "resource_groups": [
            {"flavors": [{"name": flavor, "resources": [{"name": "cpu", "nominal_quota": 2}]}]}]}),
    ]
    tracked = [("ResourceFlavor", flavor), ("Cohort", parent), ("ClusterQueue", cq_for_lq)]
    kinds = [
        dict(kind="ResourceFlavor", module="kueue_resource_flavor", args={
            "name": "rf-" + sfx,
            "node_labels": {"gpuaas.io/pool": "train-a100", "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"},
            "node_taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
            # the update drops a node label (a field this manager applied before) and changes a toleration
            update={"node_labels": {"gpuaas.io/pool": "train-a100"},
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true",
                                     "effect": "NoSchedule"}]},
            check=lambda live: (live["spec"]["nodeLabels"] == {"gpuaas.io/pool": "train-a100"}
                                and live["spec"]["tolerations"][0]["operator"] == "Equal")),
        dict(kind="ClusterQueue", module="kueue_cluster_queue", wait_active=True, args={
            "name": "cq-" + sfx, "cohort": "co-" + sfx,
            "resource_groups": [{"flavors": [{"name": flavor, "resources": [
                {"name": "cpu", "nominal_quota": 4, "borrowing_limit": "2", "lending_limit": "1"},
                {"name": "memory", "nominal_quota": "16Gi"},
                {"name": "nvidia.com/gpu", "nominal_quota": 8}]}]}],
            "preemption": {"reclaim_within_cohort": "Any", "within_cluster_queue": "LowerPriority"},
            "queueing_strategy": "BestEffortFIFO"},
            update={"resource_groups": [{"flavors": [{"name": flavor, "resources": [
                {"name": "cpu", "nominal_quota": 8, "borrowing_limit": "2", "lending_limit": "1"},
                {"name": "memory", "nominal_quota": "32Gi"},
                {"name": "nvidia.com/gpu", "nominal_quota": 16}]}]}]},
            check=lambda live: (live["spec"]["resourceGroups"][0]["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
                                and live["spec"]["resourceGroups"][0]["flavors"][0]["resources"][2]["nominalQuota"] == "16"
                                and live["spec"]["namespaceSelector"] == {} and live["spec"]["cohortName"] == "co-" + sfx)),
        dict(kind="LocalQueue", module="kueue_local_queue", namespace=namespace, wait_active=True,
             args={"name": "lq", "namespace": namespace, "cluster_queue": cq_for_lq},
             update={"fair_sharing": {"weight": 2}, "labels": {"team": "a"}},
             check=lambda live: live["spec"]["fairSharing"]["weight"] == "2" and live["metadata"]["labels"]["team"] == "a"),
        dict(kind="Cohort", module="kueue_cohort",
             args={"name": "co-" + sfx, "parent": parent,
                   "resource_groups": [{"flavors": [{"name": flavor, "resources": [
                       {"name": "nvidia.com/gpu", "nominal_quota": 4, "lending_limit": 2}]}]}]},
             update={"fair_sharing": {"weight": "2"}},
             check=lambda live: live["spec"]["parentName"] == parent and live["spec"]["fairSharing"]["weight"] == "2"),
        dict(kind="WorkloadPriorityClass", module="kueue_workload_priority_class",
             args={"name": "wpc-" + sfx, "value": 1000, "description": "prod"}, update={"value": 2000},
             check=lambda live: live["value"] == 2000 and live["description"] == "prod"),
        dict(kind="AdmissionCheck", module="kueue_admission_check",
             args={"name": "ac-" + sfx, "controller_name": "example.com/gate"},
             update={"parameters": {"api_group": "kueue.x-k8s.io", "kind": "ProvisioningRequestConfig", "name": "cfg"}},
             check=lambda live: live["spec"]["parameters"]["name"] == "cfg"),
        dict(kind="Topology", module="kueue_topology",
             args={"name": "topo-" + sfx, "levels": ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]},
             update={"labels": {"dc": "one"}},
             check=lambda live: [lv["nodeLabel"] for lv in live["spec"]["levels"]] == [
                 "topology.kubernetes.io/zone", "kubernetes.io/hostname"] and live["metadata"]["labels"]["dc"] == "one"),
    ]
    return prereq, tracked, kinds


def test_lifecycle_of_every_kind(batch, namespace, kq, sfx):
    prereq, tracked, kinds = specs(sfx, namespace)
    for kind, name in tracked:
        kq.track(kind, name)
    for s in kinds:
        if not s.get("namespace"):
            kq.track(s["kind"], s["args"]["name"])
        s["ns"] = s.get("namespace")
        s["name"] = s["args"]["name"]
        s["new"] = dict(s["args"], **s["update"])
        s["absent"] = dict({"name": s["name"], "state": "absent"}, **({"namespace": s["ns"]} if s["ns"] else {}))
    for r in batch(prereq):
        assert not r.get("failed"), r

    # phase 1: check-mode create -> predicted, admission ran (dry-run result), nothing written
    results = batch([(s["module"], s["args"], CHECK_DIFF) for s in kinds])
    for s, r in zip(kinds, results):
        assert not r.get("failed"), (s["kind"], r.get("msg"))
        assert r["changed"] and r["operation"] == "created", s["kind"]
        assert r["diff"]["before"] == {} and r["diff"]["after"]["metadata"]["name"] == s["name"], s["kind"]
        assert r["resource"]["metadata"]["labels"][MANAGED[0]] == MANAGED[1]
        assert kq.get(s["kind"], s["name"], s["ns"]) is None, s["kind"]

    # phase 2: create (waiting for Active where the kind has it), rerun, check-mode update
    tasks = []
    for s in kinds:
        create = dict(s["args"], wait=True, wait_timeout=30) if s.get("wait_active") else s["args"]
        tasks += [(s["module"], create, DIFF), (s["module"], s["args"]), (s["module"], s["new"], CHECK_DIFF)]
    results = batch(tasks)
    for i, s in enumerate(kinds):
        created, rerun, check_update = results[3 * i:3 * i + 3]
        for r in (created, rerun, check_update):
            assert not r.get("failed"), (s["kind"], r.get("msg"))
        assert created["changed"] and created["operation"] == "created", s["kind"]
        assert created["diff"]["before"] == {} and created["diff"]["after"]["metadata"]["name"] == s["name"]
        assert not rerun["changed"] and rerun["operation"] == "unchanged", (s["kind"], rerun)
        assert check_update["changed"] and check_update["operation"] == "updated", s["kind"]
        assert check_update["diff"]["before"] != check_update["diff"]["after"]
        live = kq.get(s["kind"], s["name"], s["ns"])
        assert live["metadata"]["labels"][MANAGED[0]] == MANAGED[1]
        if s.get("wait_active"):
            assert kq.cond(live, "Active") and kq.cond(created["resource"], "Active"), (s["kind"], live.get("status"))
        # neither the rerun nor the check-mode update wrote anything
        assert live["metadata"]["resourceVersion"] == rerun["resource"]["metadata"]["resourceVersion"], s["kind"]
        assert live["metadata"]["generation"] == created["resource"]["metadata"].get("generation", 1)
        s["rv"] = live["metadata"]["resourceVersion"]

    # phase 3: update, check-mode delete
    tasks = []
    for s in kinds:
        tasks += [(s["module"], s["new"], DIFF), (s["module"], s["absent"], CHECK_DIFF)]
    results = batch(tasks)
    for i, s in enumerate(kinds):
        updated, check_delete = results[2 * i:2 * i + 2]
        for r in (updated, check_delete):
            assert not r.get("failed"), (s["kind"], r.get("msg"))
        assert updated["changed"] and updated["operation"] == "updated", s["kind"]
        assert updated["diff"]["before"]["metadata"]["name"] == s["name"]
        assert updated["diff"]["before"] != updated["diff"]["after"]
        assert check_delete["changed"] and check_delete["operation"] == "deleted", s["kind"]
        assert check_delete["diff"]["after"] == {} and check_delete["diff"]["before"]["metadata"]["name"] == s["name"]
        live = kq.get(s["kind"], s["name"], s["ns"])
        assert live is not None and live["metadata"]["resourceVersion"] != s["rv"], s["kind"]
        # the check-mode delete wrote nothing after the update
        assert live["metadata"]["generation"] == updated["resource"]["metadata"].get("generation", 1), s["kind"]
        assert not live["metadata"].get("deletionTimestamp"), s["kind"]
        assert s["check"](live), (s["kind"], live)

    # phase 4: delete (waiting until gone); a second delete of some kinds reports nothing to do;
    # an unchanged rerun of the update comes first
    tasks = [(kinds[0]["module"], kinds[0]["new"])]
    for s in reversed(kinds):
        tasks.append((s["module"], dict(s["absent"], wait=True, wait_timeout=30), DIFF))
    again = kinds[:3]
    tasks += [(s["module"], s["absent"]) for s in again]
    results = batch(tasks)
    assert not results[0]["changed"] and results[0]["operation"] == "unchanged", results[0]
    for s, deleted in zip(reversed(kinds), results[1:1 + len(kinds)]):
        assert not deleted.get("failed"), (s["kind"], deleted.get("msg"))
        assert deleted["changed"] and deleted["operation"] == "deleted", s["kind"]
        assert deleted["diff"]["before"]["metadata"]["name"] == s["name"] and deleted["diff"]["after"] == {}
        assert kq.get(s["kind"], s["name"], s["ns"]) is None, s["kind"]
    for s, r in zip(again, results[1 + len(kinds):]):
        assert not r["changed"] and r["operation"] == "absent", s["kind"]


def test_quantities_compare_numerically_and_resources_follow_covered_order(ansible, kq, sfx):
    flavor = kq.track("ResourceFlavor", "qf-" + sfx)
    cq = kq.track("ClusterQueue", "qcq-" + sfx)

    def args(cpu, mem):
        return {"name": cq, "resource_groups": [{"covered_resources": ["cpu", "memory"], "flavors": [
            {"name": flavor, "resources": [{"name": "memory", "nominal_quota": mem},
                                           {"name": "cpu", "nominal_quota": cpu}]}]}]}
    r = ansible.module("kueue_cluster_queue", args("1500m", "1Gi"))
    assert r["changed"]
    live = kq.get("ClusterQueue", cq)
    assert [x["name"] for x in live["spec"]["resourceGroups"][0]["flavors"][0]["resources"]] == ["cpu", "memory"]
    rv = kq.settled_rvs([("ClusterQueue", cq)])[0]
    r = ansible.module("kueue_cluster_queue", args("1.5", "1024Mi"))
    assert not r["changed"] and kq.rv("ClusterQueue", cq) == rv


def test_wait_timeout_says_what_it_saw(ansible, kq, sfx):
    cq = kq.track("ClusterQueue", "wcq-" + sfx)
    r = ansible.module("kueue_cluster_queue", {
        "name": cq, "resource_groups": [{"flavors": [{"name": "missing-" + sfx, "resources": [
            {"name": "cpu", "nominal_quota": 1}]}]}], "wait": True, "wait_timeout": 2}, fail_ok=True)
    assert r.get("failed")
    assert r["msg"].startswith("timed out after 2s waiting for ClusterQueue/%s to be Active; last seen: Active=False" % cq), r["msg"]
    assert "FlavorNotFound" in r["msg"]
    # the queue was created before the wait ran out: the failure says so (handlers fire)
    assert r["changed"] is True and r["results"][0]["action"] == "created", r
