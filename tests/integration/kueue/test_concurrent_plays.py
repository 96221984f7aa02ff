"""Two plays change the same ClusterQueue at the same time (two AWX jobs, a human and a schedule).

Each write is one server-side apply of the whole intent by the same field manager, so the API
server applies each atomically: the ClusterQueue ends as one of the two intents whole, never a
mix of both (not the cohort of one and the quota of the other, not a preemption policy left over
from the other), both plays succeed, and each reports per task what it did.
"""
import json
import subprocess
import sys
import uuid
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent.parent.parent
VENV_BIN = Path(sys.executable).parent
ROUNDS = 3
TASKS_PER_PLAY = 4


def intent(name, cohort, cpu, gpus, preemption):
    args = {"name": name, "cohort": cohort, "resource_groups": [{
        "covered_resources": ["cpu", "nvidia.com/gpu"],
        "flavors": [{"name": "default-flavor", "resources": [{"name": "cpu", "nominal_quota": cpu},
                                                             {"name": "nvidia.com/gpu", "nominal_quota": gpus}]}]}]}
    if preemption:
        args["preemption"] = {"within_cluster_queue": "LowerPriority", "reclaim_within_cohort": "Any"}
    return args


def play(path, args):
    path.write_text(yaml.safe_dump([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [{"name": "apply %d" % i, "gpuaas.orchestration.kueue_cluster_queue": args}
                  for i in range(TASKS_PER_PLAY)]}]))
    return path


def live_shape(dyn, name):
    cq = dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="ClusterQueue").get(name=name).to_dict()
    spec = cq["spec"]
    quotas = dict((r["name"], str(r["nominalQuota"])) for r in spec["resourceGroups"][0]["flavors"][0]["resources"])
    pre = spec.get("preemption") or {}
    return (spec.get("cohortName"), quotas.get("cpu"), quotas.get("nvidia.com/gpu"),
            pre.get("withinClusterQueue", "Never"), pre.get("reclaimWithinCohort", "Never"))


def test_two_plays_on_one_cluster_queue_end_as_one_intent_whole(cluster, ansible, dyn, tmp_path):
    name = "conc-" + uuid.uuid4().hex[:6]
    a = intent(name, "cohort-a", 10, 4, preemption=True)
    b = intent(name, "cohort-b", 20, 8, preemption=False)
    want = {("cohort-a", "10", "4", "LowerPriority", "Any"): "a", ("cohort-b", "20", "8", "Never", "Never"): "b"}
    seen = []
    try:
        for rnd in range(ROUNDS):
            procs = [subprocess.Popen([str(VENV_BIN / "ansible-playbook"), str(play(tmp_path / ("%s%d.yml" % (k, rnd)), args))],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env(),
                                      cwd=REPO)
                     for k, args in (("a", a), ("b", b))]
            for proc in procs:
                out, err = proc.communicate(timeout=300)
                assert proc.returncode == 0, out[-3000:] + err[-2000:]
                tasks = json.loads(out)["plays"][0]["tasks"]
                ops = [t["hosts"]["localhost"]["operation"] for t in tasks]
                assert len(ops) == TASKS_PER_PLAY and set(ops) <= {"created", "updated", "unchanged"}, ops
                # what each task reports matches what it did: a changed task wrote, an unchanged one did not
                for t in tasks:
                    h = t["hosts"]["localhost"]
                    assert h["changed"] == (h["operation"] != "unchanged"), h
            shape = live_shape(dyn, name)
            assert shape in want, "a mix of both intents: %r" % (shape,)
            seen.append(want[shape])
        # and a plain rerun of either intent converges on it
        r = ansible.module("kueue_cluster_queue", a)
        assert live_shape(dyn, name) == ("cohort-a", "10", "4", "LowerPriority", "Any")
        assert ansible.module("kueue_cluster_queue", a)["changed"] is False
        print("concurrent plays: the ClusterQueue ended as intent %s (%d rounds), never a mix" % (seen, ROUNDS))
        del r
    finally:
        try:
            dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="ClusterQueue").delete(name=name)
        except Exception:  # noqa: BLE001
            pass
