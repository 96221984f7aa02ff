"""kueue_job's pure parts: rendering Jobs and JobSets from the typed options, the checks of the
options (errors name the option and the value), the admission gate kept only while it is there,
and the phases and waits read from a Workload."""
import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import job as jk
from ansible_collections.gpuaas.orchestration.plugins.module_utils.workloads import state as st

BASE = {"name": "train", "namespace": "ml", "kind": "Job", "queue": "team-a", "image": "img:1", "gpus": 4,
        "gpu_resource": "nvidia.com/gpu", "cpu": 8, "memory": "64Gi", "parallelism": 2}


def params(**extra):
    p = dict((k, None) for k in jk.JOB_OPTIONS)
    p.update(BASE)
    p.update(extra)
    return p


def test_job_renders_kueue_labels_resources_and_no_suspend():
    obj = jk.render_job(params(priority_class="training", max_execution_time=3600, env={"A": 1},
                               tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
                               node_selector={"pool": "a100"}, pod_annotations={"x": "y"}))
    assert obj["apiVersion"] == "batch/v1" and obj["kind"] == "Job"
    assert obj["metadata"]["labels"] == {st.QUEUE_LABEL: "team-a", st.PRIORITY_LABEL: "training",
                                         st.MAX_EXEC_LABEL: "3600"}
    spec = obj["spec"]
    assert "suspend" not in spec  # Kueue's
    assert spec["parallelism"] == 2 and spec["completions"] == 2
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["nodeSelector"] == {"pool": "a100"}
    assert pod["tolerations"] == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    c = pod["containers"][0]
    assert c["resources"] == {"requests": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "4"},
                              "limits": {"nvidia.com/gpu": "4"}}
    assert c["env"] == [{"name": "A", "value": "1"}]
    assert spec["template"]["metadata"] == {"annotations": {"x": "y"}}


def test_jobset_renders_replicated_jobs_with_overrides():
    obj = jk.render_job(params(kind="JobSet", parallelism=None, replicated_jobs=[
        {"name": "leader", "replicas": 1, "parallelism": 1, "gpus": 0, "image": None},
        {"name": "workers", "replicas": 2, "parallelism": 2, "gpus": 8, "image": "w:2"}]))
    assert obj["apiVersion"] == "jobset.x-k8s.io/v1alpha2"
    leader, workers = obj["spec"]["replicatedJobs"]
    assert leader["replicas"] == 1 and workers["replicas"] == 2
    lc = leader["template"]["spec"]["template"]["spec"]["containers"][0]
    wc = workers["template"]["spec"]["template"]["spec"]["containers"][0]
    assert lc["image"] == "img:1" and "nvidia.com/gpu" not in lc["resources"].get("limits", {})
    assert wc["image"] == "w:2" and wc["resources"]["limits"] == {"nvidia.com/gpu": "8"}
    assert workers["template"]["spec"]["parallelism"] == 2 and workers["template"]["spec"]["completions"] == 2


def test_gate_is_rendered_and_kept_only_while_live_has_it():
    obj = jk.render_job(params(), gate="gpuaas.io/capacity")
    assert obj["metadata"]["annotations"] == {st.GATE_ANNOTATION: "gpuaas.io/capacity"}
    live_gated = {"metadata": {"annotations": {st.GATE_ANNOTATION: "other.io/x,gpuaas.io/capacity"}}}
    assert jk.keep_gate_adapt(obj, live_gated)[0] is obj
    sent, notes = jk.keep_gate_adapt(obj, {"metadata": {}})
    assert "annotations" not in sent["metadata"] and notes == []
    assert obj["metadata"]["annotations"]  # the intent is not modified
    assert st.without_gate("a.io/x,gpuaas.io/capacity", "gpuaas.io/capacity") == "a.io/x"
    assert st.without_gate("gpuaas.io/capacity", "gpuaas.io/capacity") is None


@pytest.mark.parametrize("extra, field, value", [
    ({"gpus": "eight"}, "gpus", "eight"),
    ({"gpus": -1}, "gpus", "-1"),
    ({"image": ""}, "image", "''"),
    ({"parallelism": 0}, "parallelism", "0"),
    ({"cpu": "lots"}, "cpu", "lots"),
    ({"replicated_jobs": [{"name": "w"}]}, "replicated_jobs", "w"),
    ({"name": "Bad_Name"}, "name", "Bad_Name"),
])
def test_bad_options_name_field_and_value(extra, field, value):
    errors = jk.check_params(params(**extra))
    assert errors, extra
    text = " ".join(e.format() for e in errors)
    assert text.startswith(field) and value in text, text


def test_name_only_and_definition_checks():
    assert jk.check_params({"name": "train", "namespace": "ml", "kind": "Job"}) == []
    bad = jk.check_params(params(definition={"apiVersion": "batch/v1", "kind": "Job", "spec": {}}))
    assert bad and "exclusive" in bad[0].format()
    obj = jk.render_definition({"name": "t", "namespace": "ml", "queue": None, "priority_class": None,
                                "definition": {"apiVersion": "batch/v1", "kind": "Job",
                                               "metadata": {"name": "other"}, "spec": {}}})
    errors = " ".join(e.format() for e in jk.check_definition({"name": "t", "namespace": "ml"}, obj))
    assert "definition.metadata.name" in errors and "other" in errors and "queue" in errors


def wl(conds=(), active=None, gates=None, assigned=None, pods=2):
    out = {"metadata": {"name": "job-t-1", "namespace": "ml", "annotations": {}},
           "spec": {"queueName": "q", "podSets": [{"name": "main", "count": pods}]},
           "status": {"conditions": [{"type": t, "status": s, "reason": r, "message": m} for t, s, r, m in conds]}}
    if active is not None:
        out["spec"]["active"] = active
    if gates:
        out["metadata"]["annotations"][st.GATE_ANNOTATION] = gates
    if assigned is not None:
        out["status"]["admission"] = {"clusterQueue": "cq", "podSetAssignments": [{"name": "main", "count": assigned}]}
    return out


def pod(phase, deleting=False):
    meta = {"name": "p"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase}}


def test_phases_and_waits():
    assert st.phase(None, job={"metadata": {}}) == "Submitted"
    assert st.phase(wl(gates="gpuaas.io/capacity")) == "Gated"
    assert st.phase(wl(active=False)) == "Inactive"
    assert st.phase(wl([("QuotaReserved", "False", "Pending", "no quota")])) == "Pending"
    reserved = wl([("QuotaReserved", "True", "QuotaReserved", "")])
    assert st.phase(reserved) == "QuotaReserved"
    admitted = wl([("QuotaReserved", "True", "", ""), ("Admitted", "True", "", "")], assigned=2)
    assert st.phase(admitted) == "Admitted"
    assert st.phase(admitted, pods=[pod("Running"), pod("Pending")]) == "Admitted"
    assert st.phase(admitted, pods=[pod("Running"), pod("Running", deleting=True)]) == "Admitted"
    assert st.phase(admitted, pods=[pod("Running"), pod("Succeeded")]) == "Running"
    partial = wl([("Admitted", "True", "", "")], assigned=1, pods=4)  # partial admission: 1 pod admitted
    assert st.phase(partial, pods=[pod("Running")]) == "Running"
    assert st.phase(wl([("Finished", "True", "Succeeded", "")])) == "Succeeded"
    assert st.phase(wl([("Finished", "True", "Failed", "BackoffLimitExceeded")])) == "Failed"
    assert st.reached("Admitted", "Running") and not st.reached("Running", "Admitted")
    assert st.reached("Finished", "Failed") and not st.reached("Finished", "Running")
    assert not st.reached("QuotaReserved", "Pending") and not st.reached("QuotaReserved", "Gated")


def test_preemption_and_position_text():
    preempted = wl([("QuotaReserved", "False", "Pending", ""), ("Evicted", "True", "Preempted", "by high"),
                    ("Preempted", "True", "InClusterQueue", "Preempted to accommodate a workload")])
    gone = st.evicted(preempted)
    assert gone["preempted"] is True
    assert st.evicted(wl([("Admitted", "True", "", ""), ("Preempted", "True", "x", "")])) is None
    where = st.position_text({"cluster_queue": "training", "in_cluster_queue": 2, "in_local_queue": 0,
                              "pending_in_cluster_queue": 7})
    assert where == "position 3 of 7 in ClusterQueue training"
    text = st.describe(preempted, position={"cluster_queue": "training", "in_cluster_queue": 0,
                                            "in_local_queue": 0, "pending_in_cluster_queue": 1})
    assert "phase Pending" in text and "position 1 of 1 in ClusterQueue training" in text and "preempted" in text
