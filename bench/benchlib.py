"""What the benchmarks share: the local cluster, kubectl, the environment Ansible runs in, and the
API server's own request counts (parsed by tests/gpuaas_testlib.py, the same parser the tests use)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RUN_LABEL = "gpuaas.io/test-run"

sys.path.insert(0, str(REPO / "tests"))
from gpuaas_testlib import WRITE_VERBS, api_request_counts  # noqa: E402

__all__ = ["REPO", "VENV_BIN", "RUN_LABEL", "WRITE_VERBS", "api_request_counts", "logger", "cluster_kubeconfig", "find_kubectl",
           "ansible_env", "fake_node"]


def logger(name):
    def log(msg):
        print("[%s] %s" % (name, msg), file=sys.stderr, flush=True)
    return log


def cluster_kubeconfig():
    """Start the local cluster (or reuse the running one); its kubeconfig path."""
    out = subprocess.run([sys.executable, str(REPO / "tests" / "cluster" / "cluster.py"), "up"],
                         check=True, capture_output=True, text=True, cwd=str(REPO))
    return out.stdout.strip().splitlines()[-1].split()[0]


def find_kubectl():
    """The cluster's own kubectl (same version as the API server), else one on PATH."""
    env_file = REPO / ".cluster" / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("GPUAAS_BIN="):
                cand = Path(line.split("=", 1)[1].strip()) / "kubectl"
                if cand.exists():
                    return str(cand)
    return shutil.which("kubectl")


def ansible_env(kubeconfig):
    """Environment for ansible/ansible-playbook runs against the local cluster, JSON output."""
    return dict(os.environ, K8S_AUTH_KUBECONFIG=kubeconfig, K8S_AUTH_CONTEXT="gpuaas-local",
                KUBECONFIG=kubeconfig, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0",
                PATH="%s:%s" % (VENV_BIN, os.environ.get("PATH", "")))


def fake_node(name, run, pods, unschedulable=False):
    """A KWOK node of one benchmark run (its label and NoSchedule taint keep others' pods off)."""
    cap = {"cpu": "512", "memory": "2Ti", "pods": str(pods)}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {RUN_LABEL: run, "kubernetes.io/hostname": name},
                         "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"unschedulable": unschedulable,
                     "taints": [{"key": RUN_LABEL, "value": run, "effect": "NoSchedule"}]},
            "status": {"capacity": cap, "allocatable": cap}}
