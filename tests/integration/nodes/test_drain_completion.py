"""node_drain wait_for_completion: GPU pods are given time to finish before anything evicts them."""
import threading

from nodehelpers import deployment, is_ready, pods_of, wait_until


def _gpu_job(batch_v1, namespace, name, placement):
    spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "train", "image": "registry.invalid/train:1",
                            "resources": {"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "1"}}}]}
    spec.update(placement)
    batch_v1.create_namespaced_job(namespace, {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}})


def test_gpu_pods_finish_before_the_drain_evicts(ansible, api_client, core_v1, dyn, namespace, fake_nodes):
    from kubernetes import client
    batch_v1 = client.BatchV1Api(api_client)
    node, = fake_nodes.create(1, gpus=8)
    spare, = fake_nodes.create(1, gpus=8, unschedulable=True)
    _gpu_job(batch_v1, namespace, "train", fake_nodes.placement())
    dyn.resources.get(api_version="apps/v1", kind="Deployment").create(
        namespace=namespace, body=deployment("svc", 1, fake_nodes.placement()))
    wait_until(lambda: len([p for p in pods_of(core_v1, namespace, "app in (train, svc)") if is_ready(p)]) == 2, 60,
               what="2 running pods")
    fake_nodes.set_unschedulable(spare, False)
    (gpu_pod,) = [p.metadata.name for p in pods_of(core_v1, namespace, "app=train")]

    # the job finishes about 3 s into the drain (4 s after the start of ansible): it is waited for, never evicted
    timer = threading.Timer(4.0, lambda: core_v1.patch_namespaced_pod(
        gpu_pod, namespace, {"metadata": {"annotations": {"gpuaas.io/complete": "true"}}}))
    timer.start()
    try:
        r = ansible.module("node_drain", {"name": node, "wait_for_completion": {"gpu_pods": True, "timeout": 60}})
    finally:
        timer.join()
    assert [(w["name"], w["finished"]) for w in r["completion_waited"]] == [(gpu_pod, True)]
    assert [p["name"] for p in r["evicted"] if p["name"].startswith("svc")] and gpu_pod not in [p["name"] for p in r["evicted"]]
    # no timing is asserted (the machine is shared): not evicted and finished in the wait is the proof
    assert "completion_wait" in r["timings"]
    assert core_v1.read_namespaced_pod(gpu_pod, namespace).status.phase == "Succeeded"


def test_gpu_pod_not_finished_in_time_fails_or_is_evicted(ansible, api_client, core_v1, namespace, fake_nodes):
    from kubernetes import client
    batch_v1 = client.BatchV1Api(api_client)
    node, = fake_nodes.create(1, gpus=8)
    _gpu_job(batch_v1, namespace, "long", fake_nodes.placement())
    wait_until(lambda: [p for p in pods_of(core_v1, namespace, "app=long") if is_ready(p)], 60, what="long running")
    (pod,) = [p.metadata.name for p in pods_of(core_v1, namespace, "app=long")]
    r = ansible.module("node_drain", {"name": node, "wait_for_completion": {
        "pod_selector": "app=long", "timeout": 2, "on_timeout": "fail"}}, fail_ok=True)
    assert r["failed"] and "timed out after 2s waiting for 1 pod(s) to complete" in r["msg"] and pod in r["msg"]
    assert core_v1.read_namespaced_pod(pod, namespace).metadata.deletion_timestamp is None  # not evicted
    r = ansible.module("node_drain", {"name": node, "wait_for_completion": {"pod_selector": "app=long", "timeout": 1}})
    assert [p["name"] for p in r["evicted"]] == [pod]  # on_timeout=evict (the default)
