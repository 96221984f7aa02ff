"""Shared pytest fixtures.

Unit tests (tests/unit) import the collection's pure module_utils and need no cluster.
Integration tests (tests/integration) get a live local cluster (real kube-apiserver, Kueue,
Karpenter, KWOK) through the session fixture ``cluster``: it starts the cluster, or reuses a
running one, with ``tests/cluster/cluster.py up``.
"""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / "collections"
# Import the collection as Ansible does: ansible_collections.gpuaas.orchestration.plugins...
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
# Shared test helpers: `import gpuaas_testlib`.
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

VENV_BIN = Path(sys.executable).parent


class Cluster:
    def __init__(self, kubeconfig):
        self.kubeconfig = str(kubeconfig)
        self.context = "gpuaas-local"

    def env(self):
        env = dict(os.environ)
        env.update(
            K8S_AUTH_KUBECONFIG=self.kubeconfig,
            K8S_AUTH_CONTEXT=self.context,
            KUBECONFIG=self.kubeconfig,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
            ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_DEPRECATION_WARNINGS="0",
            PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        )
        return env


@pytest.fixture(scope="session")
def cluster():
    """Start the local cluster (or reuse the running one) and return its coordinates.

    With GPUAAS_KUBECONFIG set, the tests use that cluster as it is: nothing is started or
    restarted (for a cluster of one's own, or to see the tests fail with a component stopped)."""
    given = os.environ.get("GPUAAS_KUBECONFIG")
    if given:
        return Cluster(given)
    out = subprocess.run(
        [sys.executable, str(REPO / "tests" / "cluster" / "cluster.py"), "up"],
        check=True, capture_output=True, text=True,
    )
    kubeconfig = out.stdout.strip().splitlines()[-1]
    return Cluster(kubeconfig)


@pytest.fixture(scope="session")
def api_client(cluster):
    from kubernetes import config
    return config.new_client_from_config(config_file=cluster.kubeconfig, context=cluster.context)


@pytest.fixture(scope="session")
def write_counter(api_client, cluster):
    """Write requests counted by the API server while an action runs (``gpuaas_testlib.WriteCounter``),
    told apart by object with the cluster's audit log (when it has one: a cluster of this project)."""
    from gpuaas_testlib import WriteCounter
    return WriteCounter(api_client, Path(cluster.kubeconfig).parent / "logs" / "audit.log")


@pytest.fixture(scope="session")
def dyn(api_client):
    """A kubernetes DynamicClient for asserting on live objects."""
    from kubernetes.dynamic import DynamicClient
    return DynamicClient(api_client)


@pytest.fixture(scope="session")
def core_v1(api_client):
    from kubernetes import client
    return client.CoreV1Api(api_client)


@pytest.fixture
def namespace(core_v1):
    """A fresh namespace for one test, deleted afterwards."""
    from kubernetes import client
    name = "t-" + uuid.uuid4().hex[:8]
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    try:
        core_v1.delete_namespace(name, grace_period_seconds=0)
    except Exception:  # noqa: BLE001 - best effort cleanup
        pass


class AnsibleRunner:
    """Runs collection modules and playbooks for real, the way users do, and returns results."""

    def __init__(self, cluster):
        self.cluster = cluster

    def module(self, name, args, check=False, diff=False, fail_ok=False, env=None):
        """Run one module ad hoc on localhost; return its result dict. ``env``: variables that
        replace the cluster's (another kubeconfig, say)."""
        fqcn = name if "." in name else f"gpuaas.orchestration.{name}"
        cmd = [str(VENV_BIN / "ansible"), "localhost", "-c", "local",
               "-e", f"ansible_python_interpreter={sys.executable}",
               "-m", fqcn, "-a", json.dumps(args)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(self.cluster.env(), **(env or {})),
                              cwd=REPO, check=False)
        try:
            doc = json.loads(proc.stdout)
            result = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError):
            raise AssertionError(f"ansible did not return JSON (rc={proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        if result.get("failed") and not fail_ok:
            raise AssertionError(f"module {fqcn} failed: {result.get('msg')}\n"
                                 f"{json.dumps(result, indent=1)[:4000]}")
        return result

    def playbook(self, path, extra_vars=None, check=False, diff=False, fail_ok=False,
                 inventory=None):
        """Run a playbook; return (rc, parsed json callback output)."""
        cmd = [str(VENV_BIN / "ansible-playbook"), str(path)]
        if inventory:
            cmd += ["-i", str(inventory)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.cluster.env(), cwd=REPO,
                              check=False)
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError(f"ansible-playbook did not return JSON (rc={proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        if proc.returncode != 0 and not fail_ok:
            raise AssertionError(f"playbook {path} failed (rc={proc.returncode}):\n"
                                 f"{json.dumps(doc.get('stats'), indent=1)}\n{proc.stdout[-6000:]}")
        return proc.returncode, doc


@pytest.fixture(scope="session")
def ansible(cluster):
    """``ansible.module(name, args, check=, diff=)`` and ``ansible.playbook(path, ...)``."""
    return AnsibleRunner(cluster)


def playbook_changed_count(doc):
    """Total of 'changed' over all hosts of a json-callback playbook result."""
    return sum(s.get("changed", 0) for s in doc.get("stats", {}).values())
