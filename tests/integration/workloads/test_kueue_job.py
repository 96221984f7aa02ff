"""kueue_job against the live cluster (real Kueue, the real JobSet controller, KWOK nodes with
A100 GPUs): gating, admission, priority and preemption, JobSets admitted as a whole, waits for
Finished (success and failure), immutable changes and recreate, deactivate/activate, and bad input
that writes nothing. Every answer of the module is compared with the live objects."""

from kueue_helpers import run_tasks  # sys.path: conftest.py

POOL = "train-a100"


def make_gpu_queue(ansible, kq, sfx, namespace, gpus, preemption=None, priorities=()):
    """A flavor on the A100 pool, a ClusterQueue of ``gpus`` GPUs, LocalQueue ``lq``, and
    WorkloadPriorityClasses ``(name, value)``; returns the ClusterQueue's name."""
    flavor = kq.track("ResourceFlavor", "jf-" + sfx)
    cq = kq.track("ClusterQueue", "jq-" + sfx)
    cq_args = {"name": cq, "resource_groups": [{"flavors": [{"name": flavor, "resources": [
        {"name": "cpu", "nominal_quota": 16}, {"name": "memory", "nominal_quota": "64Gi"},
        {"name": "nvidia.com/gpu", "nominal_quota": gpus}]}]}],
        "wait": True, "wait_timeout": 30}
    if preemption:
        cq_args["preemption"] = preemption
    tasks = [("kueue_resource_flavor", {"name": flavor, "node_labels": {"gpuaas.io/pool": POOL}})]
    tasks += [("kueue_workload_priority_class", {"name": kq.track("WorkloadPriorityClass", n), "value": v})
              for n, v in priorities]
    tasks += [("kueue_cluster_queue", cq_args),
              ("kueue_local_queue", {"name": "lq", "namespace": namespace, "cluster_queue": cq, "wait": True,
                                     "wait_timeout": 30})]
    for r in run_tasks(ansible, tasks):
        assert not r.get("failed"), r.get("msg")
    kq.namespaces.append(namespace)
    return cq


def job_args(name, namespace, **extra):
    args = {"name": name, "namespace": namespace, "queue": "lq", "image": "registry.local/train:1.0",
            "command": ["python", "train.py"], "gpus": 1, "cpu": "100m", "memory": "1Gi"}
    args.update(extra)
    return args


def test_gated_job_waits_outside_admission_until_ungated(ansible, write_counter, namespace, kq, sfx):
    make_gpu_queue(ansible, kq, sfx, namespace, gpus=4)
    name = "gated-" + sfx
    submit = job_args(name, namespace, state="gated", parallelism=2, env={"EPOCHS": "3"})
    first, check_again = run_tasks(ansible, [("kueue_job", submit), ("kueue_job", submit, {"check": True})])
    assert first["changed"] is True and first["operation"] == "created", first.get("msg")
    assert check_again["changed"] is False, check_again

    job = kq.job(namespace, name)
    assert job.metadata.annotations["kueue.x-k8s.io/admission-gated-by"] == "gpuaas.io/hold"
    assert job.metadata.labels["kueue.x-k8s.io/queue-name"] == "lq"
    assert job.spec.parallelism == 2 and job.spec.completions == 2
    c = job.spec.template.spec.containers[0]
    assert c.image == "registry.local/train:1.0" and c.command == ["python", "train.py"]
    assert c.resources.limits["nvidia.com/gpu"] == "1" and c.resources.requests["memory"] == "1Gi"
    assert [(e.name, e.value) for e in c.env] == [("EPOCHS", "3")]

    # the quota is free (4 GPUs), but the gate keeps the Workload outside admission
    def gated_workload():
        w = kq.workload_of(namespace, name)
        conditions = ((w or {}).get("status") or {}).get("conditions") or []
        return w if any(c["type"] == "QuotaReserved" and c["reason"] == "AdmissionGated" for c in conditions) else None

    wl = kq.wait("a gated Workload", gated_workload, 20)
    assert wl["metadata"]["annotations"]["kueue.x-k8s.io/admission-gated-by"] == "gpuaas.io/hold"
    assert not kq.cond(wl, "QuotaReserved") and kq.job_suspended(namespace, name)
    gated = ansible.module("kueue_job", {"name": name, "namespace": namespace, "state": "gated"})
    assert gated["changed"] is False and gated["phase"] == "Gated" and gated["gates"] == ["gpuaas.io/hold"]

    # a rerun of the submit writes nothing (counted by the API server)
    rerun, writes = write_counter.during(["jobs", "workloads"], lambda: ansible.module("kueue_job", submit),
                                         mine=namespace, attempts=3)
    assert writes == {"jobs": 0, "workloads": 0} and rerun["changed"] is False and rerun["operation"] == "unchanged"

    ungated = ansible.module("kueue_job", {"name": name, "namespace": namespace, "state": "ungated",
                                           "wait": "Running", "wait_timeout": 60})
    assert ungated["changed"] is True and ungated["operations"] == ["ungated"]
    assert ungated["phase"] == "Running" and ungated["gates"] == []
    assert ungated["workload"]["pods_running"] == 2 and len(ungated["workload"]["pods"]) == 2
    assert all(p["node"].startswith("gpu-a100-") for p in ungated["workload"]["pods"])
    wl = kq.workload_of(namespace, name)
    assert kq.cond(wl, "Admitted") and "kueue.x-k8s.io/admission-gated-by" not in (wl["metadata"].get("annotations") or {})
    assert not kq.job_suspended(namespace, name)
    assert len(kq.running_pods(namespace, name)) == 2

    # the same gated submit again: unchanged (Kueue takes a gate only at creation: not sent again)
    again, writes = write_counter.during(["jobs", "workloads"], lambda: ansible.module("kueue_job", submit),
                                         mine=namespace, attempts=3)
    assert writes == {"jobs": 0, "workloads": 0} and again["changed"] is False and again["phase"] == "Admitted"
    assert again["gates"] == [] and not again.get("warnings"), again.get("warnings")
    # a plain submit (no gate) of a job that is held leaves the gate alone: see the JobSet test
    ungate_again = ansible.module("kueue_job", {"name": name, "namespace": namespace, "state": "ungated"})
    assert ungate_again["changed"] is False


def test_high_priority_job_preempts_low_one(ansible, namespace, kq, sfx):
    low_pc, high_pc = "low-" + sfx, "high-" + sfx
    make_gpu_queue(ansible, kq, sfx, namespace, gpus=2, preemption={"within_cluster_queue": "LowerPriority"},
                   priorities=[(low_pc, 100), (high_pc, 1000)])
    low, high = "low-" + sfx, "high-" + sfx
    r = ansible.module("kueue_job", job_args(low, namespace, gpus=2, priority_class=low_pc, wait="Running",
                                             wait_timeout=60))
    assert r["phase"] == "Running" and r["workload"]["priority"] == 100 and r["workload"]["priority_class"] == low_pc
    r = ansible.module("kueue_job", job_args(high, namespace, gpus=2, priority_class=high_pc, wait="Admitted",
                                             wait_timeout=60))
    assert r["phase"] in ("Admitted", "Running") and r["workload"]["priority"] == 1000

    preempted = ansible.module("kueue_job", job_args(low, namespace, gpus=2, priority_class=low_pc, wait="Running",
                                                     wait_timeout=30), fail_ok=True)
    assert preempted["failed"] and "preempted" in preempted["msg"], preempted["msg"]
    assert "position 1 of 1 in ClusterQueue jq-%s" % sfx in preempted["msg"], preempted["msg"]
    assert preempted["workload"]["evicted"]["preempted"] is True
    wl = kq.workload_of(namespace, low)
    assert not kq.cond(wl, "QuotaReserved") and kq.job_suspended(namespace, low)

    # the low job waits for quota: a timeout says where it stands
    timeout = ansible.module("kueue_job", {"name": low, "namespace": namespace, "state": "present", "queue": "lq",
                                           "image": "registry.local/train:1.0", "command": ["python", "train.py"],
                                           "gpus": 2, "cpu": "100m", "memory": "1Gi", "priority_class": low_pc,
                                           "wait": "QuotaReserved", "wait_timeout": 3}, fail_ok=True)
    assert timeout["failed"] and "preempted" in timeout["msg"]


def test_jobset_is_admitted_as_a_whole_and_every_pod_runs(ansible, namespace, kq, sfx):
    make_gpu_queue(ansible, kq, sfx, namespace, gpus=4)
    name = "js-" + sfx
    args = job_args(name, namespace, kind="JobSet", replicated_jobs=[
        {"name": "leader", "replicas": 1, "parallelism": 2}, {"name": "workers", "replicas": 1, "parallelism": 2}],
        wait="Running", wait_timeout=90)
    r = ansible.module("kueue_job", args)
    assert r["changed"] is True and r["phase"] == "Running", r
    assert r["workload"]["pods_expected"] == 4 and r["workload"]["pods_running"] == 4
    assert sorted(a["count"] for a in r["workload"]["admission"]) == [2, 2]
    js = kq.custom.get_namespaced_custom_object("jobset.x-k8s.io", "v1alpha2", namespace, "jobsets", name)
    assert js["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "lq" and js["spec"]["suspend"] is False
    pods = kq.core.list_namespaced_pod(namespace, label_selector="jobset.sigs.k8s.io/jobset-name=%s" % name).items
    assert len([p for p in pods if p.status.phase == "Running"]) == 4
    wl = [w for w in kq.workloads(namespace) if w["metadata"]["ownerReferences"][0]["name"] == name][0]
    assert wl["status"]["admission"]["podSetAssignments"][0]["resourceUsage"]["nvidia.com/gpu"] == "2"
    again = ansible.module("kueue_job", args)
    assert again["changed"] is False and again["phase"] == "Running"
    kq.custom.delete_namespaced_custom_object("jobset.x-k8s.io", "v1alpha2", namespace, "jobsets", name,
                                              propagation_policy="Background")


def test_wait_for_finished_success_and_failure(ansible, namespace, kq, sfx):
    make_gpu_queue(ansible, kq, sfx, namespace, gpus=4)
    ok, bad = "ok-" + sfx, "bad-" + sfx
    good, failed = run_tasks(ansible, [
        ("kueue_job", job_args(ok, namespace, parallelism=2, pod_annotations={"gpuaas.io/complete": "true"},
                               wait="Finished", wait_timeout=60)),
        ("kueue_job", job_args(bad, namespace, backoff_limit=0, pod_annotations={"gpuaas.io/complete": "failed"},
                               wait="Finished", wait_timeout=60)),
    ])
    assert not good.get("failed"), good.get("msg")
    assert good["phase"] == "Succeeded" and good["workload"]["finished"]["succeeded"] is True
    assert kq.job(namespace, ok).status.succeeded == 2
    assert failed["failed"] and failed["phase"] if "phase" in failed else failed["failed"]
    assert "failed" in failed["msg"] and "BackoffLimitExceeded" in failed["msg"], failed["msg"]
    assert "Kueue" in failed["msg"]


def test_immutable_change_is_refused_then_recreated(ansible, namespace, kq, sfx):
    make_gpu_queue(ansible, kq, sfx, namespace, gpus=4)
    name = "imm-" + sfx
    ansible.module("kueue_job", job_args(name, namespace, wait="Running", wait_timeout=60))
    uid = kq.job(namespace, name).metadata.uid
    changed = job_args(name, namespace, image="registry.local/train:2.0")
    refused, refused_running, checked = run_tasks(ansible, [
        ("kueue_job", changed),
        ("kueue_job", dict(changed, recreate=True)),
        ("kueue_job", dict(changed, recreate=True, force=True), {"check": True}),
    ])
    assert refused["failed"] and "immutable" in refused["msg"] and "spec.template" in refused["msg"], refused["msg"]
    assert "recreate" in refused["msg"]
    assert refused_running["failed"] and "Running" in refused_running["msg"] and "force" in refused_running["msg"]
    assert checked["changed"] is True and checked["recreated"] is True
    assert kq.job(namespace, name).metadata.uid == uid  # nothing written yet
    recreated = ansible.module("kueue_job", dict(changed, recreate=True, force=True, wait="Admitted", wait_timeout=60))
    assert recreated["recreated"] is True and recreated["changed"] is True
    job = kq.job(namespace, name)
    assert job.metadata.uid != uid and job.spec.template.spec.containers[0].image == "registry.local/train:2.0"
    # a mutable change (parallelism) is an update in place
    r = ansible.module("kueue_job", dict(changed, parallelism=1, completions=1))
    assert r["changed"] is False or r["operation"] == "updated"


def test_deactivate_releases_quota_and_activate_queues_again(ansible, namespace, kq, sfx):
    make_gpu_queue(ansible, kq, sfx, namespace, gpus=4)
    name = "act-" + sfx
    ansible.module("kueue_job", job_args(name, namespace, wait="Admitted", wait_timeout=60))
    off, off_again, on = run_tasks(ansible, [
        ("kueue_job", {"name": name, "namespace": namespace, "state": "deactivated"}),
        ("kueue_job", {"name": name, "namespace": namespace, "state": "deactivated"}),
        ("kueue_job", {"name": name, "namespace": namespace, "state": "activated", "wait": "Admitted",
                       "wait_timeout": 60}),
    ])
    assert off["changed"] is True and off["operations"] == ["deactivated"], off.get("msg")
    assert off_again["changed"] is False
    assert on["changed"] is True and on["phase"] in ("Admitted", "Running")
    assert kq.workload_of(namespace, name)["spec"]["active"] is True
    gone = ansible.module("kueue_job", {"name": name, "namespace": namespace, "state": "absent", "wait": "Finished"})
    assert gone["changed"] is True and gone["operation"] == "deleted"
    assert ansible.module("kueue_job", {"name": name, "namespace": namespace, "state": "absent"})["changed"] is False


def test_bad_input_names_field_and_value_and_creates_nothing(ansible, namespace, kq, sfx):
    make_gpu_queue(ansible, kq, sfx, namespace, gpus=4)
    name = "bad-" + sfx
    no_queue, no_priority, eight, empty_image, zero = run_tasks(ansible, [
        ("kueue_job", job_args(name, namespace, queue="nope")),
        ("kueue_job", job_args(name, namespace, priority_class="no-such-" + sfx)),
        ("kueue_job", job_args(name, namespace, gpus="eight")),
        ("kueue_job", job_args(name, namespace, image="")),
        ("kueue_job", job_args(name, namespace, parallelism=0)),
    ])
    assert no_queue["failed"] and "queue" in no_queue["msg"] and "nope" in no_queue["msg"]
    assert "LocalQueue %s/nope does not exist" % namespace in no_queue["msg"] and "lq" in no_queue["msg"]
    assert no_priority["failed"] and "priority_class" in no_priority["msg"] and "no-such-" + sfx in no_priority["msg"]
    assert "WorkloadPriorityClass" in no_priority["msg"]
    assert eight["failed"] and "gpus" in eight["msg"] and "eight" in eight["msg"]
    assert empty_image["failed"] and "image" in empty_image["msg"] and "empty" in empty_image["msg"]
    assert zero["failed"] and "parallelism" in zero["msg"] and "0" in zero["msg"]
    assert kq.batch.list_namespaced_job(namespace).items == []
