"""Fixtures of the Karpenter integration tests.

Every test pool gets a taint and a label of its own (``gpuaas.io/kt=<id>``), so only this
test's pods (which tolerate the taint) make Karpenter provision for it, and nothing of other
tests lands on its nodes. Everything created is deleted afterwards (NodeClaims, NodePool, pods).
"""
import time
import uuid

import pytest

NODEPOOL = ("karpenter.sh/v1", "NodePool")
NODECLAIM = ("karpenter.sh/v1", "NodeClaim")
KT_LABEL = "gpuaas.io/kt"
NODE_CLASS = {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"}


class KarpenterEnv:
    def __init__(self, dyn, core_v1, ansible):
        self.dyn = dyn
        self.core_v1 = core_v1
        self.ansible = ansible
        self.np_api = dyn.resources.get(api_version=NODEPOOL[0], kind=NODEPOOL[1])
        self.nc_api = dyn.resources.get(api_version=NODECLAIM[0], kind=NODECLAIM[1])
        self.pools = []

    def new_pool_args(self, **over):
        """Module args for a fresh, uniquely named and tainted test pool (not yet created)."""
        tid = uuid.uuid4().hex[:6]
        name = "kt-" + tid
        self.pools.append(name)
        args = {
            "name": name,
            "labels": {KT_LABEL: tid},
            "taints": [{"key": "gpuaas.io/kt-" + tid, "value": "true", "effect": "NoSchedule"}],
            "requirements": [
                {"key": "node.kubernetes.io/instance-type", "operator": "In",
                 "values": ["gpu-1x-l4", "gpu-4x-l4"]},
            ],
            "node_class_ref": dict(NODE_CLASS),
        }
        args.update(over)
        return args

    def pool(self, name):
        try:
            return self.np_api.get(name=name).to_dict()
        except Exception:  # noqa: BLE001 - NotFound
            return None

    def write_marker(self, name):
        """What changes when this collection writes the NodePool, and not when Karpenter updates
        its status or hash annotations: spec generation, non-Karpenter annotations and labels, and
        the managedFields entries of our field manager (resourceVersion moves with Karpenter's
        own status writes, so it cannot tell)."""
        pool = self.pool(name)
        if pool is None:
            return None
        meta = pool["metadata"]
        ours = sorted((m.get("operation"), m.get("time")) for m in meta.get("managedFields") or []
                      if m.get("manager") == "gpuaas-orchestration")
        annotations = dict((k, v) for k, v in (meta.get("annotations") or {}).items()
                           if not k.startswith("karpenter.sh/"))
        return (meta.get("generation"), annotations, meta.get("labels"), ours)

    def claims(self, pool, include_deleting=False):
        items = self.nc_api.get(label_selector="karpenter.sh/nodepool=%s" % pool).to_dict()["items"]
        if include_deleting:
            return items
        return [c for c in items if not c["metadata"].get("deletionTimestamp")]

    def nodes(self, pool):
        return self.core_v1.list_node(label_selector="karpenter.sh/nodepool=%s" % pool).items

    def gpu_pod(self, namespace, pool_args, name, gpus=1, annotations=None):
        """A pod that tolerates the pool's taint, selects its label and asks for GPUs."""
        taint = pool_args["taints"][0]
        tid = pool_args["labels"][KT_LABEL]
        body = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
            "spec": {
                "nodeSelector": {KT_LABEL: tid},
                "tolerations": [{"key": taint["key"], "operator": "Exists", "effect": "NoSchedule"}],
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                "resources": {"requests": {"nvidia.com/gpu": str(gpus), "cpu": "100m"},
                                              "limits": {"nvidia.com/gpu": str(gpus)}}}],
            },
        }
        return self.core_v1.create_namespaced_pod(namespace, body)

    def cleanup(self):
        for name in self.pools:
            for c in self.claims(name, include_deleting=True):
                try:
                    self.nc_api.delete(name=c["metadata"]["name"])
                except Exception:  # noqa: BLE001
                    pass
            try:
                self.np_api.delete(name=name)
            except Exception:  # noqa: BLE001
                pass
        deadline = time.time() + 90
        while time.time() < deadline:
            left = [n for n in self.pools if self.pool(n) or self.claims(n, include_deleting=True)]
            if not left:
                return
            time.sleep(2)


@pytest.fixture
def kenv(dyn, core_v1, ansible):
    env = KarpenterEnv(dyn, core_v1, ansible)
    yield env
    env.cleanup()
