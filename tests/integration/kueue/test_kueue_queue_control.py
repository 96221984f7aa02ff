"""Stop and resume queues: Hold keeps new jobs suspended while admitted ones run, HoldAndDrain
evicts the admitted ones, resume admits the waiting ones."""
import time

from kueue_helpers import make_queues, wait_admitted, wait_pending


def test_hold_drain_resume_cluster_queue(ansible, namespace, kq, sfx):
    cq, lq = make_queues(ansible, kq, sfx, namespace, cpu=2)[:2]
    kq.create_job(namespace, "job-a", lq, cpu=1)
    wait_admitted(kq, namespace, "job-a")
    kq.wait("job-a pod running", lambda: kq.running_pods(namespace, "job-a"), 30)

    # check mode: predicts the change, writes nothing
    # (the queue's status moves while job-a starts, so compare what a write would change)
    before = kq.written_state("ClusterQueue", cq)
    r = ansible.module("kueue_queue_control", {"name": cq, "state": "stopped", "stop_policy": "Hold"},
                       check=True, diff=True)
    assert r["changed"] and r["diff"]["after"]["spec"]["stopPolicy"] == "Hold"
    assert kq.written_state("ClusterQueue", cq) == before

    # Hold
    r = ansible.module("kueue_queue_control", {"name": cq, "state": "stopped", "stop_policy": "Hold"}, diff=True)
    assert r["changed"] and r["stop_policy"] == "Hold" and r["previous_stop_policy"] == "None"
    assert r["diff"]["before"]["spec"].get("stopPolicy", "None") == "None"
    assert kq.get("ClusterQueue", cq)["spec"]["stopPolicy"] == "Hold"
    r = ansible.module("kueue_queue_control", {"name": cq, "state": "stopped", "stop_policy": "Hold"})
    assert not r["changed"]

    kq.create_job(namespace, "job-b", lq, cpu=1)   # fits the quota, but the queue is held
    wait_pending(kq, namespace, "job-b")
    time.sleep(3)
    assert kq.job_suspended(namespace, "job-b")
    assert not kq.cond(kq.workload_of(namespace, "job-b"), "QuotaReserved")
    # the admitted job keeps running
    assert not kq.job_suspended(namespace, "job-a")
    assert kq.cond(kq.workload_of(namespace, "job-a"), "Admitted")
    assert kq.running_pods(namespace, "job-a")

    # a queue-level module run that leaves stop_policy unset does not undo the hold
    r = ansible.module("kueue_cluster_queue", {
        "name": cq, "resource_groups": [{"flavors": [{"name": "f0-" + sfx, "resources": [
            {"name": "cpu", "nominal_quota": 2}]}]}]})
    assert not r["changed"]
    assert kq.get("ClusterQueue", cq)["spec"]["stopPolicy"] == "Hold"

    # HoldAndDrain evicts job-a; wait until nothing is admitted
    r = ansible.module("kueue_queue_control", {"name": cq, "state": "stopped", "stop_policy": "HoldAndDrain",
                                               "wait": True, "wait_timeout": 40})
    assert r["changed"] and r["admitted_workloads"] == 0 and r["reserving_workloads"] == 0
    kq.wait("job-a suspended", lambda: kq.job_suspended(namespace, "job-a"), 20)
    wl_a = kq.workload_of(namespace, "job-a")
    assert kq.cond(wl_a, "Evicted") and not kq.cond(wl_a, "Admitted")

    # resume admits the waiting ones
    r = ansible.module("kueue_queue_control", {"name": cq, "state": "running", "wait": True, "wait_timeout": 30})
    assert r["changed"] and r["stop_policy"] == "None" and r["previous_stop_policy"] == "HoldAndDrain"
    wait_admitted(kq, namespace, "job-b")
    wait_admitted(kq, namespace, "job-a")


def test_hold_local_queue_and_timeout_message(ansible, namespace, kq, sfx):
    cq, lq = make_queues(ansible, kq, sfx, namespace, cpu=2)[:2]
    kq.create_job(namespace, "job-a", lq, cpu=1)
    wait_admitted(kq, namespace, "job-a")
    # Hold with wait: job-a runs until deleted, so the bounded wait times out and says what it saw
    r = ansible.module("kueue_queue_control", {"name": lq, "namespace": namespace, "state": "stopped",
                                               "wait": True, "wait_timeout": 3}, fail_ok=True)
    assert r.get("failed")
    assert "timed out after 3s waiting for LocalQueue/%s/%s to be without admitted" % (namespace, lq) in r["msg"]
    assert "1 admitted" in r["msg"], r["msg"]
    assert kq.get("LocalQueue", lq, namespace)["spec"]["stopPolicy"] == "Hold"
    kq.create_job(namespace, "job-b", lq, cpu=1)
    wait_pending(kq, namespace, "job-b")
    time.sleep(2)
    assert kq.job_suspended(namespace, "job-b") and not kq.job_suspended(namespace, "job-a")
    r = ansible.module("kueue_queue_control", {"name": lq, "namespace": namespace, "state": "running"})
    assert r["changed"]
    wait_admitted(kq, namespace, "job-b")


def test_missing_queue_is_an_error(ansible, kq, sfx):
    r = ansible.module("kueue_queue_control", {"name": "nope-" + sfx, "state": "stopped"}, fail_ok=True)
    assert r.get("failed") and "ClusterQueue/nope-%s does not exist" % sfx in r["msg"]
    assert kq.get("ClusterQueue", "nope-" + sfx) is None
