"""Helpers of the Kueue integration tests.

``Kq`` is bound to the live cluster: it reads objects (for assertions, with the kubernetes client,
independent of the code under test), creates Jobs, finds their Workloads, polls with bounded
waits, and deletes at teardown every cluster-scoped object a test registered with
``kq.track(kind, name)``. ``run_tasks`` runs many module calls in one ansible-playbook process.
``make_queues`` makes a flavor, a ClusterQueue with a cpu quota and a LocalQueue through the modules.
"""
import os
import time

KUEUE = "kueue.x-k8s.io/v1beta2"


class Kq:
    def __init__(self, dyn, api_client):
        from kubernetes import client
        self.dyn = dyn
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.tracked = []
        self.namespaces = []

    # -- reading -------------------------------------------------------------
    def get(self, kind, name, namespace=None):
        from kubernetes.client.rest import ApiException
        plural = PLURALS[kind]
        try:
            if namespace:
                return self.custom.get_namespaced_custom_object("kueue.x-k8s.io", "v1beta2", namespace, plural, name)
            return self.custom.get_cluster_custom_object("kueue.x-k8s.io", "v1beta2", plural, name)
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    def rv(self, kind, name, namespace=None):
        obj = self.get(kind, name, namespace)
        return obj and obj["metadata"]["resourceVersion"]

    def settled_rvs(self, refs, quiet=1.5, timeout=20):
        """resourceVersions of ``refs`` ([(kind, name, namespace)]) once Kueue's own status updates
        of them have stopped (unchanged for ``quiet`` seconds), so that comparing them later
        shows what *we* wrote, not a controller catching up."""
        deadline = time.time() + timeout
        last = [self.rv(*ref) for ref in refs]
        stable_since = time.time()
        while time.time() < deadline:
            time.sleep(0.3)
            now = [self.rv(*ref) for ref in refs]
            if now != last:
                last, stable_since = now, time.time()
            elif time.time() - stable_since >= quiet:
                return now
        raise AssertionError("resourceVersions of %s kept changing for %ss" % (refs, timeout))

    def written_state(self, kind, name, namespace=None):
        """What a write would change (generation, spec, labels, field ownership) - unlike the
        resourceVersion, not moved by the controller's status updates of busy queues."""
        obj = self.get(kind, name, namespace)
        if obj is None:
            return None
        meta = obj["metadata"]
        owners = sorted((m.get("manager"), m.get("operation"), m.get("time")) for m in meta.get("managedFields") or []
                        if m.get("subresource") != "status")
        return (meta.get("generation"), obj.get("spec"), meta.get("labels"), owners)

    def workloads(self, namespace):
        return self.custom.list_namespaced_custom_object("kueue.x-k8s.io", "v1beta2", namespace, "workloads")["items"]

    def workload_of(self, namespace, job_name):
        for wl in self.workloads(namespace):
            for ref in wl["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == "Job" and ref.get("name") == job_name:
                    return wl
        return None

    def job(self, namespace, name):
        return self.batch.read_namespaced_job(name, namespace)

    def job_suspended(self, namespace, name):
        return bool(self.job(namespace, name).spec.suspend)

    def running_pods(self, namespace, job_name):
        pods = self.core.list_namespaced_pod(namespace, label_selector="job-name=%s" % job_name).items
        return [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]

    @staticmethod
    def cond(obj, ctype):
        for c in ((obj or {}).get("status") or {}).get("conditions") or []:
            if c["type"] == ctype:
                return c["status"] == "True"
        return False

    # -- writing -------------------------------------------------------------
    def create_job(self, namespace, name, queue, cpu="1", priority_class=None):
        labels = {"kueue.x-k8s.io/queue-name": queue}
        if priority_class:
            labels["kueue.x-k8s.io/priority-class"] = priority_class
        body = {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"parallelism": 1, "completions": 1, "suspend": True, "backoffLimit": 0,
                     "template": {"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                                           "containers": [{"name": "train", "image": "busybox",
                                                           "resources": {"requests": {"cpu": str(cpu)}}}]}}},
        }
        if namespace not in self.namespaces:
            self.namespaces.append(namespace)
        return self.batch.create_namespaced_job(namespace, body)

    def track(self, kind, name, namespace=None):
        self.tracked.append((kind, name, namespace))
        return name

    def wait(self, what, fn, timeout=30, interval=0.3):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = fn()
            if last:
                return last
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
            time.sleep(interval)

    def cleanup(self):
        from kubernetes.client.rest import ApiException
        for ns in self.namespaces:
            try:
                self.batch.delete_collection_namespaced_job(ns, propagation_policy="Background")
            except ApiException:
                pass
        for kind, name, namespace in reversed(self.tracked):
            plural = PLURALS[kind]
            try:
                if namespace:
                    self.custom.delete_namespaced_custom_object("kueue.x-k8s.io", "v1beta2", namespace, plural, name)
                else:
                    self.custom.delete_cluster_custom_object("kueue.x-k8s.io", "v1beta2", plural, name)
            except ApiException:
                pass


PLURALS = {
    "ResourceFlavor": "resourceflavors", "ClusterQueue": "clusterqueues", "LocalQueue": "localqueues",
    "Cohort": "cohorts", "WorkloadPriorityClass": "workloadpriorityclasses",
    "AdmissionCheck": "admissionchecks", "Topology": "topologies", "Workload": "workloads",
}


def run_tasks(ansible, tasks):
    """Run many module calls in ONE ansible-playbook process (saves Ansible's start-up per call).

    ``tasks``: list of ``(module, args)`` or ``(module, args, {"check": bool, "diff": bool})``.
    Returns the result dicts in order; failed tasks are returned too (``failed: true``).
    """
    import json
    import sys
    import tempfile
    play_tasks = []
    for i, t in enumerate(tasks):
        module, args = t[0], t[1]
        opts = t[2] if len(t) > 2 else {}
        fqcn = module if "." in module else "gpuaas.orchestration." + module
        play_tasks.append({"name": "t%d" % i, fqcn: args, "ignore_errors": True,
                           "check_mode": bool(opts.get("check")), "diff": bool(opts.get("diff"))})
    play = [{"hosts": "localhost", "gather_facts": False,
             "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
             "tasks": play_tasks}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="kueue-batch-", delete=False) as f:
        json.dump(play, f)
        path = f.name
    t0 = time.monotonic()
    try:
        doc = ansible.playbook(path, fail_ok=True)[1]
    finally:
        os.unlink(path)
    if os.environ.get("KUEUE_TEST_TIMINGS"):
        import sys as _sys
        _sys.stderr.write("batch of %d tasks: %.1fs\n" % (len(tasks), time.monotonic() - t0))
    results = [t["hosts"]["localhost"] for t in doc["plays"][0]["tasks"]]
    assert len(results) == len(tasks), doc
    return results


def make_queues(ansible, kq, sfx, namespace, cpu=2, flavors=1):
    """Flavor(s), a ClusterQueue with a cpu quota and a LocalQueue ``lq``, in one playbook run."""
    names = [kq.track("ResourceFlavor", "f%d-%s" % (i, sfx)) for i in range(flavors)]
    cq = kq.track("ClusterQueue", "cq-" + sfx)
    tasks = [("kueue_resource_flavor", {"name": f}) for f in names]
    tasks.append(("kueue_cluster_queue", {
        "name": cq,
        "resource_groups": [{"flavors": [{"name": f, "resources": [{"name": "cpu", "nominal_quota": cpu}]}
                                         for f in names]}],
        "wait": True, "wait_timeout": 30}))
    tasks.append(("kueue_local_queue", {"name": "lq", "namespace": namespace, "cluster_queue": cq,
                                        "wait": True, "wait_timeout": 30}))
    for r in run_tasks(ansible, tasks):
        assert not r.get("failed"), r.get("msg")
    return cq, "lq", names


def wait_admitted(kq, namespace, job, timeout=30):
    """Wait until the job's workload is admitted and the job unsuspended; return the workload."""
    def admitted():
        wl = kq.workload_of(namespace, job)
        return wl if wl is not None and kq.cond(wl, "Admitted") and not kq.job_suspended(namespace, job) else None

    return kq.wait("%s/%s admitted" % (namespace, job), admitted, timeout)


def wait_pending(kq, namespace, job, timeout=20):
    def pending():
        wl = kq.workload_of(namespace, job)
        return wl if wl is not None and not kq.cond(wl, "QuotaReserved") else None

    return kq.wait("%s/%s workload pending" % (namespace, job), pending, timeout)
