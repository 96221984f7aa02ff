"""node_drain against the live cluster (real API server enforcing PodDisruptionBudgets, KWOK
running the pods), on fake KWOK nodes of this test only."""
import threading

from kubernetes import watch

from nodehelpers import bare_pod, deployment, is_ready, pods_of, wait_until

EMPTYDIR = [{"name": "scratch", "emptyDir": {}}]


def create_deployment(dyn, namespace, body):
    dyn.resources.get(api_version="apps/v1", kind="Deployment").create(body=body, namespace=namespace)


def ready_pods(core_v1, namespace, selector, count, nodes=None, timeout=60):
    def check():
        pods = [p for p in pods_of(core_v1, namespace, selector) if is_ready(p)]
        if nodes is not None:
            pods = [p for p in pods if p.spec.node_name in nodes]
        return pods if len(pods) == count else None
    return wait_until(check, timeout, what="%d ready pods %s on %s" % (count, selector, nodes))


def names(entries):
    return sorted(e["name"] for e in entries)


def test_cordon_and_uncordon(ansible, core_v1, fake_nodes):
    (a,) = fake_nodes.create(1)
    r = ansible.module("node_drain", {"name": a, "state": "cordon"}, check=True)
    assert r["changed"] is True and not fake_nodes.node(a).spec.unschedulable
    r = ansible.module("node_drain", {"name": a, "state": "cordon"}, diff=True)
    assert r["changed"] is True and r["unschedulable"] == {a: True}
    assert r["diff"][0]["after"] == {"unschedulable": True}
    assert fake_nodes.node(a).spec.unschedulable is True
    assert ansible.module("node_drain", {"name": a, "state": "cordon"})["changed"] is False
    r = ansible.module("node_drain", {"label_selector": fake_nodes.selector, "state": "uncordon"})
    assert r["changed"] is True and r["unschedulable"] == {a: False}
    assert not fake_nodes.node(a).spec.unschedulable


def test_drain_moves_deployment_keeps_daemonset(ansible, core_v1, dyn, namespace, fake_nodes):
    a = fake_nodes.create(1)[0]
    b, c = fake_nodes.create(2, unschedulable=True)  # receive the pods only after they start on a
    create_deployment(dyn, namespace, deployment("web", 3, fake_nodes.placement()))
    ds_spec = {"containers": [{"name": "c", "image": "registry.invalid/agent:1"}]}
    ds_spec.update(fake_nodes.placement())
    dyn.resources.get(api_version="apps/v1", kind="DaemonSet").create(namespace=namespace, body={
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}}, "spec": ds_spec}}})
    before = ready_pods(core_v1, namespace, "app=web", 3, nodes=[a])
    ds_pods = ready_pods(core_v1, namespace, "app=agent", 3)
    ds_on_a = [p for p in ds_pods if p.spec.node_name == a][0]
    fake_nodes.set_unschedulable(b, False)
    fake_nodes.set_unschedulable(c, False)

    # check mode: exact lists, nothing changes
    r = ansible.module("node_drain", {"name": a}, check=True)
    assert r["changed"] is True
    assert names(r["would_evict"]) == sorted(p.metadata.name for p in before)
    assert [(s["name"], s["reason"]) for s in r["skipped_pods"]] == [(ds_on_a.metadata.name, "DaemonSet-managed pod (ignore_daemonsets)")]
    assert r["blocked"] == [] and r["evicted"] == []
    assert not fake_nodes.node(a).spec.unschedulable
    assert len(ready_pods(core_v1, namespace, "app=web", 3, nodes=[a])) == 3

    r = ansible.module("node_drain", {"name": a})
    assert r["changed"] is True
    assert names(r["evicted"]) == sorted(p.metadata.name for p in before)
    assert names(r["skipped_pods"]) == [ds_on_a.metadata.name]
    assert r["unschedulable"] == {a: True} and r["nodes"][0]["cordoned"] is True
    assert r["waiting_for"] == []
    assert fake_nodes.node(a).spec.unschedulable is True
    # the evicted pods are gone (by UID) and the Deployment is back, on the other nodes
    old_uids = {p.metadata.uid for p in before}
    assert not old_uids & {p.metadata.uid for p in core_v1.list_namespaced_pod(namespace).items}
    ready_pods(core_v1, namespace, "app=web", 3, nodes=[b, c])
    # the DaemonSet pod stayed where it was
    assert core_v1.read_namespaced_pod(ds_on_a.metadata.name, namespace).metadata.uid == ds_on_a.metadata.uid

    # a second drain has nothing left to do but reports the DaemonSet pod again
    r = ansible.module("node_drain", {"name": a})
    assert r["changed"] is False and r["evicted"] == [] and names(r["skipped_pods"]) == [ds_on_a.metadata.name]


def test_unmanaged_emptydir_do_not_disrupt_stop_drain_unless_allowed(ansible, core_v1, dyn, namespace, fake_nodes):
    (a,) = fake_nodes.create(1)
    core_v1.create_namespaced_pod(namespace, bare_pod("bare", a, fake_nodes.placement()))
    create_deployment(dyn, namespace, deployment("scratch", 1, fake_nodes.placement(), volumes=EMPTYDIR))
    create_deployment(dyn, namespace, deployment(
        "train", 1, fake_nodes.placement(), annotations={"karpenter.sh/do-not-disrupt": "true"}))
    for sel in ("app=bare", "app=scratch", "app=train"):
        ready_pods(core_v1, namespace, sel, 1)
    uids = {p.metadata.uid for p in core_v1.list_namespaced_pod(namespace).items}

    # without force/delete_emptydir_data: stopped before any eviction; on_failure=uncordon
    r = ansible.module("node_drain", {"name": a, "on_failure": "uncordon"}, fail_ok=True)
    assert r.get("failed"), r
    assert "before any eviction" in r["msg"]
    reasons = dict((e["name"].split("-")[0], e["reason"]) for e in r["errors"])
    assert set(reasons) == {"bare", "scratch", "train"}
    assert "force" in reasons["bare"] and "delete_emptydir_data" in reasons["scratch"]
    assert "do-not-disrupt" in reasons["train"]
    assert r["evicted"] == []
    assert r["failed_nodes_state"] == "uncordoned" and r["unschedulable"] == {a: False}
    assert r["nodes"][0]["uncordoned_after_failure"] is True
    assert not fake_nodes.node(a).spec.unschedulable
    assert {p.metadata.uid for p in core_v1.list_namespaced_pod(namespace).items} == uids

    # default on_failure keeps the node cordoned, and says so
    r = ansible.module("node_drain", {"name": a, "force": True}, fail_ok=True)
    assert r.get("failed") and names(r["errors"])[0].startswith("scratch")
    assert r["failed_nodes_state"] == "cordoned" and fake_nodes.node(a).spec.unschedulable is True
    assert {p.metadata.uid for p in core_v1.list_namespaced_pod(namespace).items} == uids

    # allowed: everything goes
    r = ansible.module("node_drain", {"name": a, "force": True, "delete_emptydir_data": True})
    assert len(r["evicted"]) == 3
    assert sorted(w["name"].split("-")[0] for w in r["warnings_pods"]) == ["bare", "scratch", "train"]
    wait_until(lambda: not [p for p in core_v1.list_namespaced_pod(namespace).items if p.spec.node_name == a],
               30, what="node %s empty" % a)


def test_pdb_min_available_blocks_and_check_mode_shows_it(ansible, core_v1, dyn, namespace, fake_nodes):
    a = fake_nodes.create(1)[0]
    (b,) = fake_nodes.create(1, unschedulable=True)
    create_deployment(dyn, namespace, deployment("llm", 2, fake_nodes.placement()))
    dyn.resources.get(api_version="policy/v1", kind="PodDisruptionBudget").create(namespace=namespace, body={
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "llm-pdb"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "llm"}}}})
    pods = ready_pods(core_v1, namespace, "app=llm", 2, nodes=[a])
    fake_nodes.set_unschedulable(b, False)
    pdb_api = dyn.resources.get(api_version="policy/v1", kind="PodDisruptionBudget")
    wait_until(lambda: (pdb_api.get(name="llm-pdb", namespace=namespace).status or {}).get("currentHealthy") == 2,
               30, what="PDB observed")
    uids = sorted(p.metadata.uid for p in pods)

    r = ansible.module("node_drain", {"name": a}, check=True)
    assert names(r["blocked"]) == sorted(p.metadata.name for p in pods)
    assert all(x["budgets"] == ["llm-pdb"] for x in r["blocked"])
    assert r["would_evict"] == []
    assert not fake_nodes.node(a).spec.unschedulable

    r = ansible.module("node_drain", {"name": a, "eviction_timeout": 6, "eviction_retry_delay": 1}, fail_ok=True)
    assert r.get("failed"), r
    assert "llm-pdb" in r["msg"]
    for p in pods:
        assert p.metadata.name in r["msg"]
    assert names(r["blocked"]) == sorted(p.metadata.name for p in pods)
    assert r["eviction_requests"] >= 8  # retried, not given up at the first 429
    assert r["evicted"] == []
    assert r["failed_nodes_state"] == "cordoned" and r["unschedulable"] == {a: True}
    # nothing was deleted
    assert sorted(p.metadata.uid for p in pods_of(core_v1, namespace, "app=llm")) == uids


def test_pdb_one_at_a_time_never_below_budget(ansible, core_v1, dyn, namespace, fake_nodes):
    a = fake_nodes.create(1)[0]
    b, c = fake_nodes.create(2, unschedulable=True)
    # replacements take 2s to become Ready, so the budget really holds the next eviction back
    create_deployment(dyn, namespace, deployment("api", 4, fake_nodes.placement(),
                                                 annotations={"gpuaas.io/ready-delay": "2s"}))
    pdb_api = dyn.resources.get(api_version="policy/v1", kind="PodDisruptionBudget")
    pdb_api.create(namespace=namespace, body={
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "api-pdb"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "api"}}}})
    before = ready_pods(core_v1, namespace, "app=api", 4, nodes=[a])
    fake_nodes.set_unschedulable(b, False)
    fake_nodes.set_unschedulable(c, False)
    wait_until(lambda: (pdb_api.get(name="api-pdb", namespace=namespace).status or {}).get("disruptionsAllowed") == 1,
               30, what="PDB allows one disruption")

    # watch the pods while draining: the number of ready, non-terminating pods must never drop below 3
    ready = {}
    samples = []
    stop = threading.Event()
    started = threading.Event()

    def watcher():
        w = watch.Watch()
        rv = core_v1.list_namespaced_pod(namespace, label_selector="app=api").metadata.resource_version
        for p in core_v1.list_namespaced_pod(namespace, label_selector="app=api").items:
            ready[p.metadata.uid] = is_ready(p) and p.metadata.deletion_timestamp is None
        started.set()
        for ev in w.stream(core_v1.list_namespaced_pod, namespace, label_selector="app=api",
                           resource_version=rv, timeout_seconds=120):
            p = ev["object"]
            if ev["type"] == "DELETED":
                ready.pop(p.metadata.uid, None)
            else:
                ready[p.metadata.uid] = is_ready(p) and p.metadata.deletion_timestamp is None
            samples.append(sum(1 for v in ready.values() if v))
            if stop.is_set():
                w.stop()

    t = threading.Thread(target=watcher, daemon=True)
    t.start()
    started.wait(10)
    r = ansible.module("node_drain", {"name": a, "eviction_retry_delay": 0.5, "eviction_timeout": 90})
    ready_pods(core_v1, namespace, "app=api", 4, nodes=[b, c])
    stop.set()
    t.join(5)
    assert names(r["evicted"]) == sorted(p.metadata.name for p in before)
    assert r["eviction_requests"] > 4  # some evictions were refused (429) and retried
    assert samples, "the watch saw no pod event"
    assert min(samples) >= 3, samples


def test_drain_by_label_selector_over_two_nodes(ansible, core_v1, dyn, namespace, fake_nodes):
    a, b = fake_nodes.create(2, extra_labels={"gpuaas.io/drain-group": "g1"})
    (c,) = fake_nodes.create(1, unschedulable=True)
    create_deployment(dyn, namespace, deployment("batch", 4, fake_nodes.placement()))
    before = ready_pods(core_v1, namespace, "app=batch", 4, nodes=[a, b])
    fake_nodes.set_unschedulable(c, False)
    sel = "%s,gpuaas.io/drain-group=g1" % fake_nodes.selector
    r = ansible.module("node_drain", {"label_selector": sel, "concurrency": 2}, diff=True)
    assert names(r["evicted"]) == sorted(p.metadata.name for p in before)
    assert r["unschedulable"] == {a: True, b: True}
    assert sorted(d["before_header"] for d in r["diff"]) == ["node/%s" % a, "node/%s" % b]
    ready_pods(core_v1, namespace, "app=batch", 4, nodes=[c])
    r = ansible.module("node_drain", {"label_selector": sel, "state": "uncordon"})
    assert r["changed"] is True and r["unschedulable"] == {a: False, b: False}


def test_statefulset_pods_recreated_with_same_name_do_not_count(ansible, core_v1, dyn, namespace, fake_nodes):
    a = fake_nodes.create(1)[0]
    (b,) = fake_nodes.create(1, unschedulable=True)
    spec = {"containers": [{"name": "c", "image": "registry.invalid/db:1"}], "terminationGracePeriodSeconds": 0}
    spec.update(fake_nodes.placement())
    dyn.resources.get(api_version="apps/v1", kind="StatefulSet").create(namespace=namespace, body={
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"serviceName": "db", "replicas": 2, "podManagementPolicy": "Parallel",
                 "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}}, "spec": spec}}})
    before = ready_pods(core_v1, namespace, "app=db", 2, nodes=[a])
    fake_nodes.set_unschedulable(b, False)
    r = ansible.module("node_drain", {"name": a})
    assert names(r["evicted"]) == ["db-0", "db-1"] and r["waiting_for"] == []
    after = ready_pods(core_v1, namespace, "app=db", 2, nodes=[b])
    assert sorted(p.metadata.name for p in after) == ["db-0", "db-1"]  # same names, new pods
    assert not {p.metadata.uid for p in before} & {p.metadata.uid for p in after}


KUEUE = "kueue.x-k8s.io/v1beta2"


def _workloads(dyn, namespace):
    return dyn.resources.get(api_version=KUEUE, kind="Workload").get(namespace=namespace).to_dict()["items"]


def _admitted(wl):
    conds = {c["type"]: c["status"] for c in (wl.get("status") or {}).get("conditions") or []}
    return bool((wl.get("status") or {}).get("admission")) and conds.get("Admitted") == "True"


def test_kueue_admitted_job_requeued_as_a_whole(ansible, core_v1, dyn, namespace, fake_nodes):
    a = fake_nodes.create(1, gpus=4)[0]
    (b,) = fake_nodes.create(1, gpus=4, unschedulable=True)
    run = fake_nodes.run
    rf_name, cq_name = "t-rf-%s" % run, "t-cq-%s" % run
    rf_api = dyn.resources.get(api_version=KUEUE, kind="ResourceFlavor")
    cq_api = dyn.resources.get(api_version=KUEUE, kind="ClusterQueue")
    lq_api = dyn.resources.get(api_version=KUEUE, kind="LocalQueue")
    job_api = dyn.resources.get(api_version="batch/v1", kind="Job")
    try:
        rf_api.create(body={"apiVersion": KUEUE, "kind": "ResourceFlavor", "metadata": {"name": rf_name},
                            "spec": {"nodeLabels": {"gpuaas.io/test-run": run}}})
        cq_api.create(body={"apiVersion": KUEUE, "kind": "ClusterQueue", "metadata": {"name": cq_name},
                            "spec": {"namespaceSelector": {}, "resourceGroups": [{
                                "coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
                                "flavors": [{"name": rf_name, "resources": [
                                    {"name": "cpu", "nominalQuota": "16"},
                                    {"name": "memory", "nominalQuota": "64Gi"},
                                    {"name": "nvidia.com/gpu", "nominalQuota": "8"}]}]}]}})
        lq_api.create(namespace=namespace, body={"apiVersion": KUEUE, "kind": "LocalQueue",
                                                 "metadata": {"name": "lq"}, "spec": {"clusterQueue": cq_name}})
        spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "trainer", "image": "registry.invalid/train:1", "resources": {
                    "requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                    "limits": {"nvidia.com/gpu": "1"}}}]}
        spec.update(fake_nodes.placement())
        job_api.create(namespace=namespace, body={
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "train", "labels": {"kueue.x-k8s.io/queue-name": "lq"}},
            "spec": {"suspend": True, "parallelism": 2, "completions": 2, "backoffLimit": 0,
                     "template": {"metadata": {"labels": {"app": "train"}}, "spec": spec}}})
        wl = wait_until(lambda: [w for w in _workloads(dyn, namespace) if _admitted(w)], 60,
                        what="workload admitted")[0]
        first = ready_pods(core_v1, namespace, "app=train", 2, nodes=[a])
        fake_nodes.set_unschedulable(b, False)

        r = ansible.module("node_drain", {"name": a, "kueue_aware": True}, check=True)
        assert [w["name"] for w in r["requeued_workloads"]] == [wl["metadata"]["name"]]
        assert r["would_evict"] == []
        assert _workloads(dyn, namespace)[0]["spec"].get("active", True) is True

        r = ansible.module("node_drain", {"name": a, "kueue_aware": True, "wait_timeout": 90})
        assert r["evicted"] == []  # not one by one
        (req,) = r["requeued_workloads"]
        assert req["name"] == wl["metadata"]["name"] and req["reactivated"] is True
        assert req["cluster_queue"] == cq_name
        assert sorted(p["name"] for p in req["pods"]) == sorted(p.metadata.name for p in first)

        # admitted again, running on the other node; the old pods are gone
        wait_until(lambda: [w for w in _workloads(dyn, namespace) if _admitted(w) and w["spec"].get("active", True)],
                   60, what="workload admitted again")
        again = ready_pods(core_v1, namespace, "app=train", 2, nodes=[b])
        assert not {p.metadata.uid for p in first} & {p.metadata.uid for p in again}
        wl_now = _workloads(dyn, namespace)[0]
        assert wl_now["metadata"]["uid"] == wl["metadata"]["uid"]  # the same workload, requeued
    finally:
        try:
            job_api.delete(name="train", namespace=namespace, body={"propagationPolicy": "Background"})
        except Exception:  # noqa: BLE001
            pass
        for api, name, ns in ((lq_api, "lq", namespace), (cq_api, cq_name, None), (rf_api, rf_name, None)):
            try:
                api.delete(name=name, namespace=ns) if ns else api.delete(name=name)
            except Exception:  # noqa: BLE001
                pass


def test_drain_of_a_node_with_sixty_pods(ansible, core_v1, dyn, namespace, fake_nodes):
    """At least 50 pods: all evicted in one run (bounded concurrency), all gone, none left behind.
    The timing against a sequential loop is in bench/drain_bench.py, not here."""
    a = fake_nodes.create(1, pods=200)[0]
    (b,) = fake_nodes.create(1, unschedulable=True, pods=200)
    for name in ("svc-a", "svc-b", "svc-c"):
        create_deployment(dyn, namespace, deployment(name, 20, fake_nodes.placement(), labels={"app": name, "tier": "bulk"}))
    before = ready_pods(core_v1, namespace, "tier=bulk", 60, nodes=[a], timeout=120)
    fake_nodes.set_unschedulable(b, False)

    r = ansible.module("node_drain", {"name": a, "concurrency": 20, "wait_timeout": 180})
    assert r["changed"] is True and r["waiting_for"] == [] and r["blocked"] == [] and r["errors"] == []
    assert len(r["evicted"]) == 60
    assert names(r["evicted"]) == sorted(p.metadata.name for p in before)
    old = {p.metadata.uid for p in before}
    assert not old & {p.metadata.uid for p in core_v1.list_namespaced_pod(namespace).items}
    ready_pods(core_v1, namespace, "tier=bulk", 60, nodes=[b], timeout=120)


def test_pod_selector_and_disable_eviction(ansible, core_v1, dyn, namespace, fake_nodes):
    """Only pods matching pod_selector are touched; disable_eviction deletes instead of evicting,
    so a PodDisruptionBudget does not hold it back (as kubectl drain --disable-eviction)."""
    (a,) = fake_nodes.create(1)
    (b,) = fake_nodes.create(1, unschedulable=True)
    create_deployment(dyn, namespace, deployment("batch", 2, fake_nodes.placement()))
    create_deployment(dyn, namespace, deployment("keep", 1, fake_nodes.placement()))
    dyn.resources.get(api_version="policy/v1", kind="PodDisruptionBudget").create(namespace=namespace, body={
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "batch-pdb"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "batch"}}}})
    batch_pods = ready_pods(core_v1, namespace, "app=batch", 2, nodes=[a])
    keep = ready_pods(core_v1, namespace, "app=keep", 1, nodes=[a])
    fake_nodes.set_unschedulable(b, False)

    args = {"name": a, "pod_selector": "app=batch", "disable_eviction": True}
    r = ansible.module("node_drain", args, check=True)
    assert names(r["would_delete"]) == sorted(p.metadata.name for p in batch_pods), r
    assert len(pods_of(core_v1, namespace, "app=batch")) == 2 and not fake_nodes.node(a).spec.unschedulable

    r = ansible.module("node_drain", args)
    assert r["changed"] is True and r["evicted"] == [] and r["blocked"] == []
    assert names(r["deleted"]) == sorted(p.metadata.name for p in batch_pods)
    live_uids = {p.metadata.uid for p in core_v1.list_namespaced_pod(namespace).items}
    assert not {p.metadata.uid for p in batch_pods} & live_uids
    # the pod outside the selector stayed on the (now cordoned) node
    assert keep[0].metadata.uid in live_uids
    assert core_v1.read_namespaced_pod(keep[0].metadata.name, namespace).spec.node_name == a
    assert fake_nodes.node(a).spec.unschedulable is True
