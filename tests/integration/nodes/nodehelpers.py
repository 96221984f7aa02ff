"""Helpers of the node tests: fake KWOK nodes of one's own, never the shared base nodes.

Every node made here carries the label and the NoSchedule taint ``gpuaas.io/test-run=<run id>``;
only pods made by the same test tolerate that taint and select those nodes, so colleagues'
workloads never land on them and ours never land elsewhere.
"""
import time

RUN_LABEL = "gpuaas.io/test-run"


def wait_until(fn, timeout=60, interval=0.3, what="condition"):
    """Poll ``fn`` until it returns a truthy value; return it. Fails with ``what`` and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s; last: %r" % (timeout, what, last))
        time.sleep(interval)


class FakeNodes:
    def __init__(self, core_v1, run):
        self.core_v1 = core_v1
        self.run = run
        self.names = []

    @property
    def selector(self):
        return "%s=%s" % (RUN_LABEL, self.run)

    def toleration(self):
        return {"key": RUN_LABEL, "operator": "Equal", "value": self.run, "effect": "NoSchedule"}

    def placement(self):
        """Pod spec fields that put a pod on this run's nodes (and only there)."""
        return {"nodeSelector": {RUN_LABEL: self.run}, "tolerations": [self.toleration()]}

    def create(self, count, unschedulable=False, gpus=0, extra_labels=None, pods=110):
        made = []
        for _i in range(count):
            name = "t-%s-%d" % (self.run, len(self.names))
            cap = {"cpu": "64", "memory": "512Gi", "pods": str(pods)}
            if gpus:
                cap["nvidia.com/gpu"] = str(gpus)
            labels = {RUN_LABEL: self.run, "kubernetes.io/hostname": name, "type": "kwok"}
            labels.update(extra_labels or {})
            body = {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": labels,
                             "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
                "spec": {"unschedulable": bool(unschedulable),
                         "taints": [{"key": RUN_LABEL, "value": self.run, "effect": "NoSchedule"}]},
                "status": {"capacity": cap, "allocatable": cap},
            }
            self.core_v1.create_node(body)
            self.names.append(name)
            made.append(name)
        for name in made:
            wait_until(lambda n=name: self._ready(n), 60, what="node %s Ready" % name)
        return made

    def _ready(self, name):
        node = self.core_v1.read_node(name)
        ready = any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))
        not_ready_taint = any(t.key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
                              for t in (node.spec.taints or []))
        return ready and not not_ready_taint

    def set_unschedulable(self, name, value):
        self.core_v1.patch_node(name, {"spec": {"unschedulable": True if value else None}})

    def node(self, name):
        return self.core_v1.read_node(name)

    def cleanup(self):
        for name in self.names:
            try:
                self.core_v1.delete_node(name)
            except Exception:  # noqa: BLE001 - best effort
                pass


def pods_of(core_v1, namespace, selector):
    """Live pods (not terminating) of a label selector."""
    return [p for p in core_v1.list_namespaced_pod(namespace, label_selector=selector).items
            if p.metadata.deletion_timestamp is None]


def is_ready(pod):
    return pod.status.phase == "Running" and any(
        c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def deployment(name, replicas, placement, labels=None, volumes=None, annotations=None):
    labels = dict(labels or {"app": name})
    spec = {"containers": [{"name": "c", "image": "registry.invalid/app:1",
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
            "terminationGracePeriodSeconds": 0}
    spec.update(placement)
    if volumes:
        spec["volumes"] = volumes
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels, "annotations": annotations or {}},
                                  "spec": spec}}}


def bare_pod(name, node, placement, labels=None, volumes=None, annotations=None):
    spec = {"containers": [{"name": "c", "image": "registry.invalid/app:1"}],
            "terminationGracePeriodSeconds": 0, "nodeName": node}
    spec.update(placement)
    if volumes:
        spec["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": name}, "annotations": annotations or {}},
            "spec": spec}


KUEUE = "kueue.x-k8s.io/v1beta2"


class KueueQueue:
    """A ResourceFlavor on the run's nodes, a ClusterQueue and a LocalQueue ``lq`` in ``namespace``."""

    def __init__(self, dyn, namespace, run, gpus=8):
        self.dyn, self.namespace, self.run = dyn, namespace, run
        self.rf, self.cq = "t-rf-%s" % run, "t-cq-%s" % run
        self.rf_api = dyn.resources.get(api_version=KUEUE, kind="ResourceFlavor")
        self.cq_api = dyn.resources.get(api_version=KUEUE, kind="ClusterQueue")
        self.lq_api = dyn.resources.get(api_version=KUEUE, kind="LocalQueue")
        self.wl_api = dyn.resources.get(api_version=KUEUE, kind="Workload")
        self.job_api = dyn.resources.get(api_version="batch/v1", kind="Job")
        self.rf_api.create(body={"apiVersion": KUEUE, "kind": "ResourceFlavor", "metadata": {"name": self.rf},
                                 "spec": {"nodeLabels": {RUN_LABEL: run}}})
        self.cq_api.create(body={"apiVersion": KUEUE, "kind": "ClusterQueue", "metadata": {"name": self.cq},
                                 "spec": {"namespaceSelector": {}, "resourceGroups": [{
                                     "coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
                                     "flavors": [{"name": self.rf, "resources": [
                                         {"name": "cpu", "nominalQuota": "64"},
                                         {"name": "memory", "nominalQuota": "256Gi"},
                                         {"name": "nvidia.com/gpu", "nominalQuota": str(gpus)}]}]}]}})
        self.lq_api.create(namespace=namespace, body={"apiVersion": KUEUE, "kind": "LocalQueue",
                                                      "metadata": {"name": "lq"}, "spec": {"clusterQueue": self.cq}})

    def submit(self, name, placement, pods=2, gpus=1):
        spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "trainer", "image": "registry.invalid/train:1", "resources": {
                    "requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": str(gpus)},
                    "limits": {"nvidia.com/gpu": str(gpus)}}}]}
        spec.update(placement)
        self.job_api.create(namespace=self.namespace, body={
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": {"kueue.x-k8s.io/queue-name": "lq"}},
            "spec": {"suspend": True, "parallelism": pods, "completions": pods, "backoffLimit": 0,
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}})

    def workloads(self):
        return self.wl_api.get(namespace=self.namespace).to_dict()["items"]

    def workload_of(self, job):
        for wl in self.workloads():
            if any(o.get("name") == job and o.get("kind") == "Job" for o in wl["metadata"].get("ownerReferences") or []):
                return wl
        return None

    def cleanup(self):
        for job in self.job_api.get(namespace=self.namespace).to_dict()["items"]:
            try:
                self.job_api.delete(name=job["metadata"]["name"], namespace=self.namespace,
                                    body={"propagationPolicy": "Background"})
            except Exception:  # noqa: BLE001
                pass
        for api, name, ns in ((self.lq_api, "lq", self.namespace), (self.cq_api, self.cq, None), (self.rf_api, self.rf, None)):
            try:
                api.delete(name=name, namespace=ns) if ns else api.delete(name=name)
            except Exception:  # noqa: BLE001
                pass


def admitted(wl):
    conds = {c["type"]: c["status"] for c in ((wl or {}).get("status") or {}).get("conditions") or []}
    return bool(((wl or {}).get("status") or {}).get("admission")) and conds.get("Admitted") == "True"
