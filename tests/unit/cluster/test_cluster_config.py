"""Pure parts of the local cluster harness: what it tells Karpenter and KWOK."""
import importlib.util
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[2] / "cluster" / "cluster.py"


@pytest.fixture(scope="module")
def cluster_mod(tmp_path_factory, monkeypatch_module=None):
    spec = importlib.util.spec_from_file_location("gpuaas_cluster", HERE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.STATE = tmp_path_factory.mktemp("state")
    return mod


def test_instance_types_offer_gpus_with_product_labels(cluster_mod):
    import json
    types = {t["name"]: t for t in json.loads(cluster_mod.instance_types_file().read_text())}
    assert set(types) == {"gpu-1x-l4", "gpu-4x-l4", "gpu-8x-a100"}
    assert types["gpu-8x-a100"]["resources"]["nvidia.com/gpu"] == "8"
    for t in types.values():
        for offering in t["offerings"]:
            keys = {r["key"]: r["values"] for r in offering["Requirements"]}
            assert keys["nvidia.com/gpu.count"] == [t["resources"]["nvidia.com/gpu"]]
            assert keys["nvidia.com/gpu.product"][0].startswith("NVIDIA-")


def test_static_nodes_are_kwok_managed_and_labelled_like_a_gpu_cloud(cluster_mod):
    node = cluster_mod.static_node("gpu-a100-0", "train-a100", "p4d.24xlarge", "local-a", 8,
                                   "NVIDIA-A100-SXM4-80GB")
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    labels = node["metadata"]["labels"]
    assert labels["node.kubernetes.io/instance-type"] == "p4d.24xlarge"
    assert labels["topology.kubernetes.io/zone"] == "local-a"
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    cpu = cluster_mod.static_node("cpu-0", "system", "m7i.4xlarge", "local-a", 0, None)
    assert "nvidia.com/gpu" not in cpu["status"]["capacity"]


def test_every_port_is_on_loopback_and_distinct(cluster_mod):
    assert cluster_mod.HOST == "127.0.0.1"
    assert len(set(cluster_mod.PORTS.values())) == len(cluster_mod.PORTS)


def test_the_audit_log_names_the_object_of_every_write_the_tests_count(cluster_mod):
    """The write counter (gpuaas_testlib.WriteCounter) can only tell a test's writes from others'
    for resources the audit policy logs; the ServiceAccounts' rule stays first (the security test
    reads what they send, reads included)."""
    import re
    audited = set(r for rs in cluster_mod.AUDITED_WRITES.values() for r in rs)
    counted = set()
    for path in (HERE.parents[1] / "integration").rglob("test_*.py"):
        text = path.read_text()
        for call in re.findall(r"write_counter\.during\(\s*(\[[^\]]*\]|[A-Z_]+)", text):
            if call.startswith("["):
                counted |= set(re.findall(r'"([a-z]+)"', call))
            else:
                counted |= set(re.findall(r'"([a-z]+)"', re.search(call + r" = (\[[^\]]*\])", text).group(1)))
    assert counted and counted <= audited, sorted(counted - audited)
    rules = cluster_mod.AUDIT_POLICY["rules"]
    assert rules[0] == {"level": "Metadata", "userGroups": ["system:serviceaccounts:gpuaas-system"]}
    assert rules[-1] == {"level": "None"}
    assert set(rules[1]["verbs"]) == {"create", "update", "patch", "delete", "deletecollection"}
