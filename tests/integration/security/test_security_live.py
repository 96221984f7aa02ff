"""Least privilege and secrets, against the live cluster.

* rbac/ is applied as administrator; every module (every_module.yml) then runs as the operator
  ServiceAccount for real, and as the readonly ServiceAccount in check mode, with short-lived
  tokens (TokenRequest) in token kubeconfigs like rbac/kubeconfig-token.example.yaml.
* A write the readonly identity may not send fails with an error naming verb, resource and
  namespace; nothing is written by its check-mode run (the API server's own request counts).
* Every module runs with known token and key material (a kubeconfig dict, then host + api_key)
  at -vvv, in check and diff mode and for real, with a failing task too: none of it appears in
  any output.
"""
import base64
import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from gpuaas_testlib import MODULES, items_of, rbac_tokens

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
PLAYBOOK = HERE / "every_module.yml"
WRITTEN = ["resourceflavors", "cohorts", "workloadpriorityclasses", "topologies", "admissionchecks", "clusterqueues",
           "localqueues", "workloads", "nodepools", "nodeclaims", "nodes", "pods", "namespaces", "configmaps",
           "leases", "jobs", "jobsets", "priorityclasses", "inferencepools", "httproutes"]


def admin_kubeconfig(cluster):
    return yaml.safe_load(Path(cluster.kubeconfig).read_text())


def read_data(path):
    return base64.b64encode(Path(path).read_bytes()).decode()


def token_kubeconfig(cluster, token):
    """A kubeconfig like rbac/kubeconfig-token.example.yaml: server, CA data, a token."""
    admin = admin_kubeconfig(cluster)
    cl = admin["clusters"][0]["cluster"]
    ca_data = read_data(cl["certificate-authority"])
    return {"apiVersion": "v1", "kind": "Config", "current-context": "sa",
            "clusters": [{"name": "c", "cluster": {"server": cl["server"], "certificate-authority-data": ca_data}}],
            "users": [{"name": "sa", "user": {"token": token}}],
            "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa"}}]}


def run_playbook(cluster, tmp_path, auth, suffix, ns, node, check=False, diff=False, verbosity=0, extra=None,
                 callback="ansible.builtin.json", env_extra=None, playbook=PLAYBOOK):
    """ansible-playbook every_module.yml with ``auth`` as module_defaults; returns (rc, out, err)."""
    varsfile = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:6])
    data = {"auth": auth, "s": suffix, "ns": ns, "node": node}
    data.update(extra or {})
    varsfile.write_text(json.dumps(data))
    env = cluster.env()
    # the identity is the one of `auth` only: no admin kubeconfig from the environment
    for name in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "KUBECONFIG"):
        env.pop(name, None)
    env["ANSIBLE_STDOUT_CALLBACK"] = callback
    env.update(env_extra or {})
    cmd = [str(Path(os.sys.executable).parent / "ansible-playbook"), str(playbook), "-e", "@%s" % varsfile]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False, timeout=900)
    return proc.returncode, proc.stdout, proc.stderr


def task_results(stdout):
    """``[(module name, result)]`` of an every_module.yml run (its tasks are named "Run <module>")."""
    doc = json.loads(stdout)
    return [(re.sub(r"^Run ", "", t["task"]["name"]), t["hosts"]["localhost"]) for t in doc["plays"][0]["tasks"]]


@pytest.fixture(scope="module")
def rbac(cluster, dyn, core_v1):
    return rbac_tokens(dyn, core_v1)


@pytest.fixture(scope="module")
def world(cluster, core_v1, dyn):
    """A namespace and a node of the test's own; every cluster-scoped object is removed afterwards."""
    from kubernetes import client
    suffix = uuid.uuid4().hex[:6]
    ns = "sec-" + suffix
    node = "sec-node-" + suffix
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    core_v1.create_node(client.V1Node(
        metadata=client.V1ObjectMeta(name=node, labels={"gpuaas.io/sec": suffix, "kubernetes.io/hostname": node},
                                     annotations={"kwok.x-k8s.io/node": "fake"}),
        spec=client.V1NodeSpec(taints=[client.V1Taint(key="gpuaas.io/sec-node", value="x", effect="NoSchedule")])))
    yield {"s": suffix, "ns": ns, "node": node}
    name = "sec-" + suffix
    for api_version, kind, names in [
            ("kueue.x-k8s.io/v1beta2", "ClusterQueue", [name]),
            ("kueue.x-k8s.io/v1beta2", "ResourceFlavor", [name, name + "-plan"]),
            ("kueue.x-k8s.io/v1beta2", "Cohort", [name]),
            ("kueue.x-k8s.io/v1beta2", "WorkloadPriorityClass", [name]),
            ("kueue.x-k8s.io/v1beta2", "Topology", [name]),
            ("kueue.x-k8s.io/v1beta2", "AdmissionCheck", [name]),
            ("karpenter.sh/v1", "NodePool", [name]),
            ("scheduling.k8s.io/v1", "PriorityClass", [name]),
            ("v1", "Node", [node])]:
        for n in names:
            try:
                dyn.resources.get(api_version=api_version, kind=kind).delete(name=n)
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
    for kind, n in (("Lease", name), ("ConfigMap", name), ("ConfigMap", "gpuaas-plan-" + name)):
        try:
            api = "coordination.k8s.io/v1" if kind == "Lease" else "v1"
            dyn.resources.get(api_version=api, kind=kind).delete(name=n, namespace="kube-system")
        except Exception:  # noqa: BLE001
            pass
    try:
        core_v1.delete_namespace(ns)
    except Exception:  # noqa: BLE001
        pass


def test_every_module_is_called(world):
    """every_module.yml calls each module of plugins/modules (a new module must be added there)."""
    text = PLAYBOOK.read_text()
    missing = [m for m in MODULES if "gpuaas.orchestration.%s:" % m not in text]
    assert not missing, missing


@pytest.fixture(scope="module")
def operator_run(cluster, rbac, world, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("operator")
    path = tmp / "operator.kubeconfig"
    path.write_text(yaml.safe_dump(token_kubeconfig(cluster, rbac["operator"])))
    audit = Path(cluster.kubeconfig).parent / "logs" / "audit.log"
    offset = audit.stat().st_size if audit.exists() else None
    rc, out, err = run_playbook(cluster, tmp, {"kubeconfig": str(path)}, world["s"], world["ns"], world["node"])
    events = []
    if offset is not None:
        time.sleep(1.5)   # the audit backend writes in batches
        with open(audit) as f:
            f.seek(offset)
            events = [json.loads(line) for line in f if line.strip()]
    operator = "system:serviceaccount:gpuaas-system:gpuaas-operator"
    return rc, out, err, path, [e for e in events if e.get("user", {}).get("username") == operator]


def test_operator_service_account_runs_every_module(operator_run, world, dyn, core_v1):
    rc, out, err, _path, _audit = operator_run
    results = task_results(out)
    failed = [(n, r.get("msg")) for n, r in results if r.get("failed")]
    assert rc == 0 and not failed, (failed, err[-3000:])
    assert len(results) == len(MODULES)
    # what the operator wrote is there
    cq = dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="ClusterQueue").get(name="sec-" + world["s"])
    assert cq.spec.stopPolicy == "Hold"
    node = core_v1.read_node(world["node"])
    assert node.spec.unschedulable is True
    assert any(t.key == "gpuaas.io/sec" for t in node.spec.taints)
    job = dyn.resources.get(api_version="batch/v1", kind="Job").get(name="job", namespace=world["ns"])
    assert job.metadata.labels["kueue.x-k8s.io/queue-name"] == "q"


def test_missing_permission_names_verb_resource_and_namespace(cluster, rbac, world, operator_run, tmp_path):
    path = tmp_path / "readonly.kubeconfig"
    path.write_text(yaml.safe_dump(token_kubeconfig(cluster, rbac["readonly"])))
    pb = tmp_path / "two.yml"
    pb.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                   "module_defaults": {"group/gpuaas.orchestration.orchestration": "{{ auth }}"},
                                   "tasks": [
                                       {"name": "cluster-scoped", "ignore_errors": True,
                                        "gpuaas.orchestration.kueue_cohort": {"name": "sec-%s-ro" % world["s"]}},
                                       {"name": "namespaced", "ignore_errors": True,
                                        "gpuaas.orchestration.kueue_local_queue": {
                                            "name": "ro", "namespace": world["ns"], "cluster_queue": "x"}}]}]))
    rc, out, err = run_playbook(cluster, tmp_path, {"kubeconfig": str(path)}, world["s"], world["ns"], world["node"],
                                playbook=pb)
    (n1, cohort), (n2, lq) = task_results(out)
    assert cohort["failed"] and lq["failed"]
    assert 'missing permission: patch on cohorts (API group "kueue.x-k8s.io") cluster-wide' in cohort["msg"], cohort["msg"]
    assert cohort["missing_permission"] == {"verb": "patch", "resource": "cohorts", "subresource": None,
                                            "group": "kueue.x-k8s.io", "namespace": None, "name": "sec-%s-ro" % world["s"]}
    assert 'patch on localqueues (API group "kueue.x-k8s.io") in namespace %s' % world["ns"] in lq["msg"], lq["msg"]
    for r in (cohort, lq):
        assert "Traceback" not in json.dumps(r), json.dumps(r)[:3000]
        # (ansible-core 2.19 puts "(traceback unavailable)" into every failure without one)
        assert r.get("exception", "(traceback unavailable)") == "(traceback unavailable)", r["exception"]


NAMESPACED = [("kueue.x-k8s.io/v1beta2", "LocalQueue", "q"), ("batch/v1", "Job", "job"),
              ("inference.networking.k8s.io/v1", "InferencePool", "pool"),
              ("gateway.networking.k8s.io/v1", "HTTPRoute", "route")]


def test_readonly_service_account_runs_every_module_in_check_mode(cluster, rbac, world, operator_run, tmp_path,
                                                                  dyn, core_v1):
    path = tmp_path / "readonly.kubeconfig"
    path.write_text(yaml.safe_dump(token_kubeconfig(cluster, rbac["readonly"])))
    versions = dict((kind, dyn.resources.get(api_version=av, kind=kind).get(name=n, namespace=world["ns"])
                     .metadata.resourceVersion) for av, kind, n in NAMESPACED)
    node_spec = core_v1.read_node(world["node"]).spec.to_dict()
    # a second suffix for the cluster-scoped objects: every module has something to create or change
    other = world["s"] + "x"
    # (the ClusterQueue and NodePool in place: the modules that act on them need them to exist)
    rc, out, err = run_playbook(cluster, tmp_path, {"kubeconfig": str(path)}, other, world["ns"],
                                world["node"], check=True, diff=True,
                                extra={"cq": "sec-" + world["s"], "pool": "sec-" + world["s"]})
    results = task_results(out)
    failed = [(n, r.get("msg")) for n, r in results if r.get("failed")]
    assert rc == 0 and not failed, (failed, err[-3000:])
    assert len(results) == len(MODULES)
    changed = [n for n, r in results if r.get("changed")]
    assert len(changed) >= 10, [(n, r.get("msg") or r.get("operation")) for n, r in results if not r.get("changed")]
    previews = [n for n, r in results if any("computed locally" in str(w) for w in r.get("warnings") or [])]
    # (node_taints and maintenance_window compute their check mode without a dry run)
    assert len(previews) >= 8, " ".join(sorted(set(changed) - set(previews)))
    assert "kueue_cluster_queue" in previews and "kueue_cohort" in previews
    # the diff of a previewed change is the change: the ClusterQueue would be created with its quota
    cq = dict(results)["kueue_cluster_queue"]
    assert cq["operation"] == "updated" and cq["diff"]["after"]["spec"]["cohortName"] == "sec-" + other
    assert dict(results)["kueue_cohort"]["operation"] == "created"
    assert dict(results)["node_taints"]["changed"]
    # nothing written: the objects in place kept their resourceVersion, the node its spec, and
    # none of the objects of the second suffix exists
    for av, kind, n in NAMESPACED:
        assert dyn.resources.get(api_version=av, kind=kind).get(name=n, namespace=world["ns"]) \
            .metadata.resourceVersion == versions[kind], kind
    assert core_v1.read_node(world["node"]).spec.to_dict() == node_spec
    cq_live = dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="ClusterQueue").get(name="sec-" + world["s"])
    assert cq_live.spec.cohortName == "sec-" + world["s"]
    for av, kind in (("kueue.x-k8s.io/v1beta2", "ResourceFlavor"), ("kueue.x-k8s.io/v1beta2", "Topology"),
                     ("kueue.x-k8s.io/v1beta2", "Cohort")):
        names = [o.metadata.name for o in dyn.resources.get(api_version=av, kind=kind).get().items]
        assert "sec-" + other not in names, kind


def secret_material(cluster, token):
    """A kubeconfig dict with the admin's client certificate and key as data, the cluster CA and
    ``token``, and the strings no output may contain: the token, the key data, lines of the key
    itself, the certificate data."""
    admin = admin_kubeconfig(cluster)
    cl = admin["clusters"][0]["cluster"]
    user = admin["users"][0]["user"]
    key_pem = Path(user["client-key"]).read_text()
    ca_data = read_data(cl["certificate-authority"])
    kc = {"apiVersion": "v1", "kind": "Config", "current-context": "default",
          "clusters": [{"name": "default", "cluster": {"server": cl["server"], "certificate-authority-data": ca_data}}],
          "users": [{"name": "default", "user": {"client-certificate-data": read_data(user["client-certificate"]),
                                                 "client-key-data": read_data(user["client-key"]), "token": token}}],
          "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}]}
    body = [line for line in key_pem.splitlines() if line and not line.startswith("-----")]
    needles = [token, kc["users"][0]["user"]["client-key-data"], kc["users"][0]["user"]["client-certificate-data"]]
    needles += body[1:3]
    # pieces too: a secret cut by a line break or a width limit still shows 40 characters of it
    needles += [n[10:50] for n in needles[:3]]
    return kc, needles


def assert_no_secret(texts, needles):
    for label, text in texts.items():
        assert text, label
        for needle in needles:
            assert needle not in text, "%s: a secret (%s...) appears in the output" % (label, needle[:8])


def test_no_secret_in_any_output_of_any_module(cluster, rbac, world, operator_run, tmp_path):
    token = rbac["operator"]
    kc, needles = secret_material(cluster, token)
    outputs = {}
    # kubeconfig as a dict, -vvv, check + diff, then for real, with the default callback (what a user
    # reads) and the json one (what AWX stores)
    for label, check, callback in (("dict-check", True, "ansible.builtin.default"),
                                   ("dict-real", False, "ansible.builtin.json")):
        rc, out, err = run_playbook(cluster, tmp_path, {"kubeconfig": kc}, world["s"], world["ns"], world["node"],
                                    check=check, diff=True, verbosity=3, callback=callback)
        assert rc == 0, out[-3000:]
        outputs[label + " stdout"], outputs[label + " stderr"] = out, err + " "
    # host + api_key (the AWX bearer token credential's options), and the same from K8S_AUTH_* variables
    server = kc["clusters"][0]["cluster"]["server"]
    ca = tmp_path / "ca.crt"
    ca.write_bytes(base64.b64decode(kc["clusters"][0]["cluster"]["certificate-authority-data"]))
    rc, out, err = run_playbook(cluster, tmp_path, {"host": server, "api_key": token, "ca_cert": str(ca)},
                                world["s"], world["ns"], world["node"], diff=True, verbosity=3)
    assert rc == 0, out[-3000:]
    outputs["api_key stdout"], outputs["api_key stderr"] = out, err + " "
    rc, out, err = run_playbook(cluster, tmp_path, {}, world["s"], world["ns"], world["node"], check=True,
                                verbosity=3, env_extra={"K8S_AUTH_HOST": server, "K8S_AUTH_API_KEY": token,
                                                        "K8S_AUTH_SSL_CA_CERT": str(ca)})
    assert rc == 0, out[-3000:]
    outputs["env stdout"], outputs["env stderr"] = out, err + " "
    # failures: an API error (a wrong CA: the TLS error) and a validation error, with the dict
    pb = tmp_path / "failing.yml"
    pb.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                   "module_defaults": {"group/gpuaas.orchestration.orchestration": "{{ auth }}"},
                                   "tasks": [
                                       {"name": "bad input", "ignore_errors": True,
                                        "gpuaas.orchestration.kueue_cohort": {"name": "Not A Name"}},
                                       {"name": "unknown option", "ignore_errors": True,
                                        "gpuaas.orchestration.kueue_cohort": {"name": "x", "no_such_option": 1}},
                                       {"name": "API refuses", "ignore_errors": True,
                                        "gpuaas.orchestration.kueue_cluster_queue": {
                                            "name": "sec-" + world["s"], "cohort": "Not_Valid"}}]}]))
    rc, out, err = run_playbook(cluster, tmp_path, {"kubeconfig": kc}, world["s"], world["ns"], world["node"],
                                verbosity=3, playbook=pb, callback="ansible.builtin.default")
    assert out.count("FAILED!") + out.count("failed: [") >= 3, out[-3000:]
    outputs["failing stdout"], outputs["failing stderr"] = out, err + " "
    assert_no_secret(outputs, needles)
    # the outputs are there (the test can fail): the runs did show the module invocations
    assert "client-key-data" in outputs["dict-real stdout"] or "kubeconfig" in outputs["dict-real stdout"]


# Rules of the operator role that every_module.yml does not exercise, and the paths that use them
# (the audit of the every-module run shows which rules it used; these are the rest).
# The kinds the engine writes: a plan reads each with one LIST, `state: absent` and prune
# delete, and a server-side apply that creates an object is authorized as `create` too (the
# audit log records it as a patch answered 201).
KUEUE_KINDS = ("resourceflavors", "clusterqueues", "localqueues", "cohorts", "workloadpriorityclasses",
               "admissionchecks", "topologies")
ENGINE_KINDS = [("kueue.x-k8s.io", r) for r in KUEUE_KINDS] + [
    ("karpenter.sh", "nodepools"), ("karpenter.sh", "nodeclaims"), ("scheduling.k8s.io", "priorityclasses"),
    ("", "namespaces"), ("", "configmaps"), ("inference.networking.k8s.io", "inferencepools"),
    ("gateway.networking.k8s.io", "httproutes"), ("batch", "jobs"), ("jobset.x-k8s.io", "jobsets")]
NOT_IN_EVERY_MODULE_RUN = dict(
    [((g, r, "list"), "a plan's one LIST per kind") for g, r in ENGINE_KINDS]
    + [((g, r, "get"), "a single object's read (typed modules, waits)") for g, r in ENGINE_KINDS]
    + [((g, r, "delete"), "state: absent, plan prune") for g, r in ENGINE_KINDS]
    + [((g, r, "create"), "server-side apply of a new object") for g, r in ENGINE_KINDS]
    + [((g, r, "patch"), "server-side apply") for g, r in ENGINE_KINDS])
NOT_IN_EVERY_MODULE_RUN.update({
    ("", "pods", "delete"): "node_drain with disable_eviction, or a pod of a DaemonSet that is gone (force)",
    ("", "pods/eviction", "create"): "node_drain of a node with pods",
    ("", "services", "get"): "inference_pool's endpoint picker Service", ("", "services", "list"): "Service backends",
    ("apps", "daemonsets", "get"): "node_drain of a node with DaemonSet pods",
    ("policy", "poddisruptionbudgets", "list"): "node_drain of a node with pods",
    ("kueue.x-k8s.io", "workloads", "patch"): "kueue_job gate/deactivate, Kueue-aware drains",
    ("kueue.x-k8s.io", "workloads", "get"): "kueue_job waits, Kueue-aware drains",
    ("visibility.kueue.x-k8s.io", "localqueues/pendingworkloads", "get"): "kueue_workload_info of a pending job",
    ("visibility.kueue.x-k8s.io", "clusterqueues/pendingworkloads", "get"): "kueue_queue_info of a queue with pending jobs",
    ("coordination.k8s.io", "leases", "patch"): "maintenance_window checkpoint (renewing the lock)",
    ("coordination.k8s.io", "leases", "delete"): "maintenance_window end",
})


def test_the_operator_role_holds_what_the_modules_use_and_no_more(operator_run, world):
    """From the API server's audit log of the every-module run: the operator got no 403 (no
    permission missing, not even one a module tolerates), and every rule of the role was used
    by that run or is named above with the path that uses it."""
    _rc, _out, _err, _path, events = operator_run
    if not events:
        pytest.skip("the cluster runs without the audit log (started by an older cluster.py)")
    forbidden = sorted(set((e["verb"], e["objectRef"].get("resource"), e["objectRef"].get("subresource"))
                           for e in events if e.get("responseStatus", {}).get("code") == 403))
    assert not forbidden, forbidden
    used = set()
    for e in events:
        ref = e.get("objectRef") or {}
        if not ref.get("resource"):
            continue   # discovery
        resource = ref["resource"] + ("/" + ref["subresource"] if ref.get("subresource") else "")
        used.add((ref.get("apiGroup") or "", resource, e["verb"]))
        if e["verb"] == "patch" and e.get("responseStatus", {}).get("code") == 201:
            used.add((ref.get("apiGroup") or "", resource, "create"))   # server-side apply that created it
    granted = set()
    for role in items_of(REPO / "rbac" / "clusterroles.yaml"):
        for rule in role.get("rules") or []:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        granted.add((group, resource, verb))
    assert used <= granted, sorted(used - granted)
    unused = sorted(granted - used - set(NOT_IN_EVERY_MODULE_RUN))
    assert not unused, "rules neither used by the every-module run nor named with the path that uses them: %s" % unused
    # and what is named is granted: the list cannot hide a rule the role lost
    assert set(NOT_IN_EVERY_MODULE_RUN) - granted <= set(
        (g, r, verb) for g, r in ENGINE_KINDS for verb in ("list", "get", "delete", "create", "patch")), \
        sorted(set(NOT_IN_EVERY_MODULE_RUN) - granted)
    print("operator role: %d rules (group, resource, verb), %d used by the every-module run, %d by other paths"
          % (len(granted), len(used & granted), len(granted - used)))
