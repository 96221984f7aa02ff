"""The main job (playbooks/site.yml, what `make demo` runs) end to end against the live cluster.

Provision 8-GPU capacity through Karpenter, configure Kueue admission, submit the training Job,
wait for admission; then a second run changes nothing and check mode writes nothing.
"""
import time

import pytest

from gpuaas_testlib import has_condition, wait_until

PLAYBOOK = "playbooks/site.yml"
NS = "ml-team"


def _delete(res, name, namespace=None):
    try:
        if namespace:
            res.delete(name=name, namespace=namespace)
        else:
            res.delete(name=name)
    except Exception:  # noqa: BLE001 - absent is fine
        pass


def _exists(dyn, api, kind, name, namespace=None):
    try:
        res = dyn.resources.get(api_version=api, kind=kind)
        (res.get(name=name, namespace=namespace) if namespace else res.get(name=name))
        return True
    except Exception:  # noqa: BLE001 - NotFound
        return False


def cleanup(ansible, dyn):
    """Both plans deleted (train first), so that every run starts from a cluster without them."""
    ansible.playbook("playbooks/train.yml", extra_vars={"gpu_job_state": "absent", "gpu_job_force": True},
                     fail_ok=True)
    ansible.playbook("playbooks/site.yml", extra_vars={"cluster_plan_state": "absent", "cluster_plan_force": True},
                     fail_ok=True)
    claims = dyn.resources.get(api_version="karpenter.sh/v1", kind="NodeClaim")
    wait_until("namespace %s gone" % NS, lambda: not _exists(dyn, "v1", "Namespace", NS), 90, 1)

    def gone():
        return not [c for c in claims.get().to_dict()["items"]
                    if c["metadata"].get("labels", {}).get("karpenter.sh/nodepool") == "training-a100"]

    wait_until("the demo's NodeClaims gone", gone, 120, 1)


@pytest.fixture
def clean_demo(ansible, dyn):
    cleanup(ansible, dyn)
    yield
    cleanup(ansible, dyn)


def managed_versions(dyn):
    kueue = "kueue.x-k8s.io/v1beta2"
    refs = [("batch/v1", "Job", "llm-finetune", NS), (kueue, "LocalQueue", "team-a", NS),
            (kueue, "ClusterQueue", "training", None), (kueue, "ResourceFlavor", "training-a100", None),
            ("karpenter.sh/v1", "NodePool", "training-a100", None)]
    out = {}
    for api, kind, name, ns in refs:
        res = dyn.resources.get(api_version=api, kind=kind)
        obj = res.get(name=name, namespace=ns) if ns else res.get(name=name)
        out[(kind, name)] = obj.metadata.resourceVersion
    return out


def changed_tasks(doc):
    # without the "role : " prefix that roles' task names carry
    return [t["task"]["name"].split(" : ", 1)[-1] for p in doc["plays"] for t in p["tasks"]
            for h in t["hosts"].values() if h.get("changed")]


def plan_result(doc):
    """The cluster_plan task's result of a json-callback run."""
    for p in doc["plays"]:
        for t in p["tasks"]:
            if t["task"]["name"].endswith("Apply the plan of the cluster"):
                return list(t["hosts"].values())[0]
    raise AssertionError("no cluster_plan task ran")


def done(result):
    return sorted((r["ref"], r["action"]) for r in result["results"])


def debug_lines(doc, task_prefix):
    out = []
    for p in doc["plays"]:
        for t in p["tasks"]:
            if t["task"]["name"].split(" : ", 1)[-1].startswith(task_prefix):
                for h in t["hosts"].values():
                    msg = h.get("msg")
                    out.extend(msg if isinstance(msg, list) else [msg])
    return out


def test_site_and_train_provision_admit_and_rerun_with_zero_changes(ansible, dyn, clean_demo):
    # check mode on a cluster without the plans: both playbooks run through and say what they
    # would do (the training run's pool does not exist yet: a warning); nothing is created
    rc, dry = ansible.playbook("playbooks/site.yml", check=True, diff=True)
    assert changed_tasks(dry) == ["Apply the plan of the cluster"], changed_tasks(dry)
    rc, dry_train = ansible.playbook("playbooks/train.yml", check=True, diff=True)
    assert changed_tasks(dry_train) == ["Submit the job gated (gpuaas.io/capacity)", "Capacity groups"], \
        changed_tasks(dry_train)
    for api, kind, name, ns in [("karpenter.sh/v1", "NodePool", "training-a100", None),
                                ("kueue.x-k8s.io/v1beta2", "ClusterQueue", "training", None),
                                ("kueue.x-k8s.io/v1beta2", "ResourceFlavor", "training-a100", None),
                                ("v1", "Namespace", NS, None), ("batch/v1", "Job", "llm-finetune", NS),
                                ("v1", "ConfigMap", "gpuaas-plan-local-gpu-cluster", "kube-system")]:
        assert not _exists(dyn, api, kind, name, ns), "check mode created %s %s" % (kind, name)

    rc, site = ansible.playbook("playbooks/site.yml")
    assert changed_tasks(site) == ["Apply the plan of the cluster"]
    # what check mode said is exactly what the real run did, object by object
    assert done(plan_result(dry)) == done(plan_result(site))
    assert plan_result(dry)["drift"]["counts"] == plan_result(site)["drift"]["counts"]
    rc, train = ansible.playbook("playbooks/train.yml")
    # capacity first: submitted gated, the node provisioned, then the gate lifted
    assert changed_tasks(train) == ["Submit the job gated (gpuaas.io/capacity)", "Capacity groups",
                                    "Lift the gate and wait until the job is Running"], changed_tasks(train)

    # Live state: an Initialized 8-GPU node in the pool, the Job admitted and both pods running on it.
    claims = [c for c in dyn.resources.get(api_version="karpenter.sh/v1", kind="NodeClaim")
              .get().to_dict()["items"]
              if c["metadata"].get("labels", {}).get("karpenter.sh/nodepool") == "training-a100"]
    assert len(claims) == 1 and has_condition(claims[0], "Initialized")
    assert claims[0]["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    wls = dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="Workload").get(
        namespace=NS).to_dict()["items"]
    wl = [w for w in wls if w["metadata"]["ownerReferences"][0]["name"] == "llm-finetune"][0]
    assert has_condition(wl, "Admitted")
    assert wl["status"]["admission"]["clusterQueue"] == "training"
    items = dyn.resources.get(api_version="v1", kind="Pod").get(
        namespace=NS, label_selector="job-name=llm-finetune").to_dict()["items"]
    running = [p for p in items if p["status"].get("phase") == "Running"]
    assert len(running) == 2, "the plan waits until every pod runs"
    assert {p["spec"]["nodeName"] for p in running} == {claims[0]["status"]["nodeName"]}

    # the summary a platform engineer wants to see
    queues = debug_lines(train, "Queues")
    assert any(line.startswith("ClusterQueue training flavor training-a100: ") and "nvidia.com/gpu 8/8" in line
               for line in queues), queues
    jobs = debug_lines(train, "Jobs")
    assert jobs == ["Job ml-team/llm-finetune: admitted by ClusterQueue training (flavor main: training-a100), "
                    "2/2 pods running on %s" % claims[0]["status"]["nodeName"]], jobs

    before = managed_versions(dyn)
    for playbook in ("playbooks/site.yml", "playbooks/train.yml"):
        rc, second = ansible.playbook(playbook)
        assert changed_tasks(second) == [], (playbook, changed_tasks(second))
        rc, check = ansible.playbook(playbook, check=True, diff=True)
        assert changed_tasks(check) == [], (playbook, changed_tasks(check))
    time.sleep(1)
    assert managed_versions(dyn) == before


def test_drift_playbook_fails_on_a_hand_edit_and_corrects_it(ansible, dyn, clean_demo):
    ansible.playbook("playbooks/site.yml")
    rc, clean = ansible.playbook("playbooks/drift.yml")
    assert rc == 0 and changed_tasks(clean) == []
    cqs = dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="ClusterQueue")
    cqs.patch(name="training", content_type="application/json-patch+json", body=[
        {"op": "replace", "path": "/spec/resourceGroups/0/flavors/0/resources/2/nominalQuota", "value": "6"}])
    rc, drifted = ansible.playbook("playbooks/drift.yml", fail_ok=True)
    assert rc != 0
    report = debug_lines(drifted, "Drift report")
    assert "updated ClusterQueue/training (changed in the cluster)" in report, report
    assert '    spec.resourceGroups[0].flavors[0].resources[2].nominalQuota: "6" -> "8"' in report, report
    quota = cqs.get(name="training").to_dict()["spec"]["resourceGroups"][0]["flavors"][0]["resources"][2]
    assert quota["nominalQuota"] == "6", "the report must not write"
    rc, corrected = ansible.playbook("playbooks/drift.yml", extra_vars={"drift_correct": True}, fail_ok=True)
    assert rc != 0, "the drift job still fails after correcting, so that the drift is seen"
    quota = cqs.get(name="training").to_dict()["spec"]["resourceGroups"][0]["flavors"][0]["resources"][2]
    assert quota["nominalQuota"] == "8"
    rc, after = ansible.playbook("playbooks/drift.yml")
    assert rc == 0
