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


def cleanup(dyn):
    kueue = "kueue.x-k8s.io/v1beta2"
    jobs = dyn.resources.get(api_version="batch/v1", kind="Job")
    try:
        jobs.delete(name="llm-finetune", namespace=NS, propagation_policy="Foreground")
    except Exception:  # noqa: BLE001
        pass
    _delete(dyn.resources.get(api_version=kueue, kind="LocalQueue"), "team-a", NS)
    _delete(dyn.resources.get(api_version=kueue, kind="ClusterQueue"), "training")
    _delete(dyn.resources.get(api_version=kueue, kind="ResourceFlavor"), "training-a100")
    claims = dyn.resources.get(api_version="karpenter.sh/v1", kind="NodeClaim")
    for c in claims.get().to_dict()["items"]:
        if c["metadata"].get("labels", {}).get("karpenter.sh/nodepool") == "training-a100":
            _delete(claims, c["metadata"]["name"])
    _delete(dyn.resources.get(api_version="karpenter.sh/v1", kind="NodePool"), "training-a100")
    # the namespace too, so that every run starts from a cluster that has none of the plan
    _delete(dyn.resources.get(api_version="v1", kind="Namespace"), NS)
    wait_until("namespace %s gone" % NS, lambda: not _exists(dyn, "v1", "Namespace", NS), 90, 1)

    def gone():
        return not [c for c in claims.get().to_dict()["items"]
                    if c["metadata"].get("labels", {}).get("karpenter.sh/nodepool") == "training-a100"]

    wait_until("the demo's NodeClaims gone", gone, 90, 1)


@pytest.fixture
def clean_demo(dyn):
    cleanup(dyn)
    yield
    cleanup(dyn)


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
    return [t["task"]["name"] for p in doc["plays"] for t in p["tasks"]
            for h in t["hosts"].values() if h.get("changed")]


def test_site_plan_provisions_admits_and_reruns_with_zero_changes(ansible, dyn, clean_demo):
    # check mode on a cluster without the plan: the whole job runs (later tasks see that the pool
    # and the namespace are not there yet) and says what it would do; nothing is created
    rc, dry = ansible.playbook(PLAYBOOK, check=True, diff=True)
    assert rc == 0
    assert len(changed_tasks(dry)) >= 4, changed_tasks(dry)
    assert not _exists(dyn, "karpenter.sh/v1", "NodePool", "training-a100")
    assert not _exists(dyn, "kueue.x-k8s.io/v1beta2", "ClusterQueue", "training")
    assert not _exists(dyn, "kueue.x-k8s.io/v1beta2", "ResourceFlavor", "training-a100")
    assert not _exists(dyn, "batch/v1", "Job", "llm-finetune", NS)
    assert not _exists(dyn, "v1", "Namespace", NS)
    assert any(t.startswith("Would submit the training job") for t in changed_tasks(dry)), changed_tasks(dry)

    rc, first = ansible.playbook(PLAYBOOK)
    assert rc == 0
    assert changed_tasks(first), "the first run must create the plan's objects"

    # Live state: an Initialized 8-GPU node in the pool, the Job admitted and running on it.
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
    pods = dyn.resources.get(api_version="v1", kind="Pod")

    def running_pod():
        items = pods.get(namespace=NS, label_selector="job-name=llm-finetune").to_dict()["items"]
        return [p for p in items if p["status"].get("phase") == "Running"]

    pod = wait_until("the training pod Running", running_pod, 60)[0]
    assert pod["spec"]["nodeName"] == claims[0]["status"]["nodeName"]

    before = managed_versions(dyn)
    rc, second = ansible.playbook(PLAYBOOK)
    assert changed_tasks(second) == []
    rc, check = ansible.playbook(PLAYBOOK, check=True, diff=True)
    assert changed_tasks(check) == []
    time.sleep(1)
    assert managed_versions(dyn) == before
