"""The AWX job templates of awx/ run as AWX runs them (awxjob.py), against the live cluster.

The project is synced from collections/requirements.yml; the inventory is AWX's (one host per
cluster, its plan as a host variable, no kubeconfig of its own: the credential brings it); the
credentials are the custom kubeconfig type of awx/credential_types/kubeconfig.yml and AWX's
built-in bearer token type with a ServiceAccount token of rbac/; survey answers are what AWX
hands over (strings for choices and text). Each job runs through ansible-runner.

* site (kubeconfig credential, a context per host): the check job type creates nothing and says
  what it would do; run applies the plan; a rerun changes nothing.
* drift on its schedule: green while the cluster matches; red, naming the field, after a hand
  edit; the survey's drift_correct=true puts the cluster back (the job stays red, as meant);
  green again.
* train (bearer token credential, operator ServiceAccount): the job, submitted gated, lifted,
  admitted and running on the flavor's node; the survey's gpu_job_state=absent deletes it.
* maintenance window: the template's schedule of allowed hours refuses the window outside them
  (nothing cordoned); inside, the window runs over the node with the survey's answers, holds
  its lock as awx-job-<id>, writes its report, and leaves the node schedulable.
"""
import datetime
import json
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from awxjob import (Project, bearer_token_credential_injection, kubeconfig_credential_injection, launch)
from gpuaas_testlib import has_condition, rbac_tokens, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "nodes"))
from nodehelpers import FakeNodes  # noqa: E402  pylint: disable=wrong-import-position

KUEUE = "kueue.x-k8s.io/v1beta2"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    p = Project(tmp_path_factory.mktemp("awx-project"))
    out = p.sync()
    # the checked-out collection, not a copy from elsewhere
    assert "gpuaas.orchestration:0.1.0 was installed successfully" in out or "Installing 'gpuaas.orchestration" in out, out
    return p


@pytest.fixture(scope="module")
def world(core_v1, dyn, ansible):
    """A fake 8-GPU node of this module's own, and the plan of an AWX inventory host."""
    run = uuid.uuid4().hex[:6]
    nodes = FakeNodes(core_v1, run)
    nodes.create(1, gpus=8)
    name = "awx-%s" % run
    plan = {
        "name": name,
        "namespaces": [{"name": name}],
        "resource_flavors": [{"name": name, "node_labels": {"gpuaas.io/test-run": run},
                              "tolerations": [nodes.toleration()]}],
        "cluster_queues": [{"name": name, "namespace_selector": {}, "resource_groups": [{
            "covered_resources": ["cpu", "memory", "nvidia.com/gpu"],
            "flavors": [{"name": name, "resources": [{"name": "cpu", "nominal_quota": 16},
                                                     {"name": "memory", "nominal_quota": "64Gi"},
                                                     {"name": "nvidia.com/gpu", "nominal_quota": 8}]}]}]}],
        "local_queues": [{"name": "team", "namespace": name, "cluster_queue": name}],
    }
    yield {"run": run, "name": name, "plan": plan, "nodes": nodes}
    ansible.module("cluster_plan", dict(plan, state="absent", force=True, wait=False), fail_ok=True)
    nodes.cleanup()
    for api, kind, ns in (("coordination.k8s.io/v1", "Lease", "kube-system"), ("v1", "ConfigMap", "kube-system")):
        try:
            dyn.resources.get(api_version=api, kind=kind).delete(name="gpuaas-maintenance-%s" % name, namespace=ns)
        except Exception:  # noqa: BLE001 - absent is fine
            pass


def inventory(world, **hostvars):
    """AWX's inventory: the cluster as a host of gpu_clusters, its plan, the EE's Python."""
    host = dict(ansible_connection="local", ansible_python_interpreter="{{ ansible_playbook_python }}",
                gpuaas_plan=world["plan"], **hostvars)
    return {"gpu_clusters": [world["name"]]}, {world["name"]: host}


def kubeconfig_credential(cluster):
    """A credential of the custom type: the kubeconfig as its text, no context (the inventory
    names each host's)."""
    text = Path(cluster.kubeconfig).read_text()
    return lambda env_dir: kubeconfig_credential_injection({"kubeconfig": text}, env_dir)


@pytest.fixture(scope="module")
def bearer_credential(cluster, dyn, core_v1):
    """AWX's built-in bearer token credential: the API server, the operator ServiceAccount's
    token, TLS verified against the cluster's CA."""
    token = rbac_tokens(dyn, core_v1)["operator"]
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    server = admin["clusters"][0]["cluster"]
    ca = Path(server["certificate-authority"]).read_text()
    inputs = {"host": server["server"], "bearer_token": token, "verify_ssl": True, "ssl_ca_cert": ca}
    return lambda env_dir: bearer_token_credential_injection(inputs, env_dir)


def get(dyn, api, kind, name, namespace=None):
    try:
        res = dyn.resources.get(api_version=api, kind=kind)
        return (res.get(name=name, namespace=namespace) if namespace else res.get(name=name)).to_dict()
    except Exception:  # noqa: BLE001 - NotFound
        return None


def gpu_quota(cq):
    """The flavor's GPU quota as the API server serializes the quantity."""
    return [str(r["nominalQuota"]) for r in cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
            if r["name"] == "nvidia.com/gpu"][0]


def test_site_and_scheduled_drift_with_the_kubeconfig_credential(cluster, project, world, dyn, tmp_path):
    inv = inventory(world, gpuaas_context="gpuaas-local")
    cred = kubeconfig_credential(cluster)
    name = world["name"]

    # the check job type: the drift report of a cluster without the plan; nothing written
    dry = launch(project, tmp_path, "site", inv, cred, job_type="check")
    assert dry.rc == 0 and dry.status == "successful", dry
    report = dry.task_results("Apply the plan of the cluster")[0]
    assert report["changed"] and report["drift"]["counts"], report["drift"]
    assert get(dyn, "v1", "Namespace", name) is None and get(dyn, KUEUE, "ClusterQueue", name) is None

    # run: the plan applied (survey defaults: no prune, no force)
    job = launch(project, tmp_path, "site", inv, cred)
    assert job.rc == 0 and job.changed() == 1, job
    cq = get(dyn, KUEUE, "ClusterQueue", name)
    assert cq and gpu_quota(cq) == "8"
    assert cq["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gpuaas-orchestration"
    assert get(dyn, KUEUE, "LocalQueue", "team", name)
    # a rerun changes nothing
    again = launch(project, tmp_path, "site", inv, cred)
    assert again.rc == 0 and again.changed() == 0, again

    # the drift template on its schedule: green while the cluster matches the plan
    drift = launch(project, tmp_path, "drift", inv, cred, schedule=True)
    assert drift.rc == 0 and drift.failures() == 0, drift

    # someone edits the quota by hand: the scheduled job turns red and names the field
    cqs = dyn.resources.get(api_version=KUEUE, kind="ClusterQueue")
    cqs.patch(name=name, content_type="application/merge-patch+json",
              body={"spec": {"resourceGroups": [{"coveredResources": ["cpu", "memory", "nvidia.com/gpu"], "flavors": [
                  {"name": name, "resources": [{"name": "cpu", "nominalQuota": "16"},
                                               {"name": "memory", "nominalQuota": "64Gi"},
                                               {"name": "nvidia.com/gpu", "nominalQuota": "4"}]}]}]}})
    red = launch(project, tmp_path, "drift", inv, cred, schedule=True)
    assert red.rc != 0 and red.status == "failed" and red.failures() == 1, red
    assert "ClusterQueue/%s" % name in red.stdout and "nominalQuota" in red.stdout, red
    assert gpu_quota(get(dyn, KUEUE, "ClusterQueue", name)) == "4", "the report corrected the cluster"

    # the survey's answer "true" (a string, as AWX gives it) corrects it; the job still fails, so
    # that the drift is seen
    corrected = launch(project, tmp_path, "drift", inv, cred, answers={"drift_correct": "true"})
    assert corrected.rc != 0 and "(corrected)" in corrected.stdout, corrected
    assert gpu_quota(get(dyn, KUEUE, "ClusterQueue", name)) == "8"
    # "false" is false: a report only, green
    green = launch(project, tmp_path, "drift", inv, cred, answers={"drift_correct": "false", "drift_fail": "true"})
    assert green.rc == 0 and green.changed() == 0, green


def today_window():
    """A schedule of allowed hours that holds now (whatever the day and hour the test runs)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    days = [(now + datetime.timedelta(days=d)).strftime("%a") for d in (-1, 0, 1)]
    return {"days": days, "start": "00:00", "end": "23:59", "timezone": "UTC"}


def test_train_and_maintenance_window_with_the_bearer_token_credential(project, world, dyn, core_v1,
                                                                       bearer_credential, tmp_path):
    inv = inventory(world)
    name, node = world["name"], world["nodes"].names[0]
    site = launch(project, tmp_path, "site", inv, bearer_credential)
    assert site.rc == 0, site

    # train: this team's job in place of the seed's (the template asks for variables); no
    # capacity to provision, the flavor's node has the GPUs
    run = {"train_job": {"name": "finetune", "namespace": name, "queue": "team", "image": "registry.local/ft:1",
                         "command": ["python", "train.py"], "parallelism": 1, "gpus": 2, "cpu": 1, "memory": "1Gi"},
           "train_capacity": []}
    train = launch(project, tmp_path, "train", inv, bearer_credential, extra_vars=run,
                   answers={"gpu_job_wait_timeout": 180})
    assert train.rc == 0 and train.status == "successful", train
    job = get(dyn, "batch/v1", "Job", "finetune", name)
    assert job and not job["spec"].get("suspend"), job
    pods = core_v1.list_namespaced_pod(name, label_selector="job-name=finetune").items
    assert [p.spec.node_name for p in pods] == [node] and pods[0].status.phase == "Running"
    workloads = dyn.resources.get(api_version=KUEUE, kind="Workload").get(namespace=name).to_dict()["items"]
    assert len(workloads) == 1 and has_condition(workloads[0], "Admitted")
    # released through the survey
    gone = launch(project, tmp_path, "train", inv, bearer_credential, extra_vars=run,
                  answers={"gpu_job_state": "absent"})
    assert gone.rc == 0, gone
    wait_until("job finetune deleted", lambda: get(dyn, "batch/v1", "Job", "finetune", name) is None, 60)

    answers = {"maintenance_window_name": name, "maintenance_window_label_selector": world["nodes"].selector,
               "maintenance_window_report_path": str(tmp_path / "window")}
    # the template's allowed hours (Saturday and Sunday nights): outside them the window does not
    # begin, unless now happens to be inside them
    now = datetime.datetime.now(datetime.timezone.utc)
    if now.strftime("%a") not in ("Sat", "Sun", "Mon") or 6 <= now.hour < 22:
        refused = launch(project, tmp_path, "maintenance_window", inv, bearer_credential, answers=answers)
        assert refused.rc != 0 and "outside the allowed window (Sat,Sun 22:00-06:00 UTC)" in refused.stdout, refused
        assert not core_v1.read_node(node).spec.unschedulable
    # inside its allowed hours: the window over the node, by the survey's answers
    window = launch(project, tmp_path, "maintenance_window", inv, bearer_credential, answers=answers,
                    extra_vars={"maintenance_window_schedule": today_window()})
    assert window.rc == 0 and window.status == "successful", window
    report = json.loads((tmp_path / "window.json").read_text())
    assert report["status"] == "succeeded", report
    assert [n for b in report["batches"] for n in b["nodes"]] == [node]
    assert report["runs"][-1]["holder"].startswith("awx-job-"), report["runs"]
    assert not core_v1.read_node(node).spec.unschedulable
