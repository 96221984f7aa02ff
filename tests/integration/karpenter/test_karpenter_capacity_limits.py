"""karpenter_capacity's safety against the live Karpenter: every limit of the pool is checked (cpu
and memory, not only GPUs), a limited resource it cannot know per node is refused, and two runs
for the same group at the same time never make more NodeClaims than the count."""
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import Client
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter import ops
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.capacity import CAPACITY_OPTIONS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import nodeclaim as nc

MOD = "karpenter_capacity"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GROUP_LABEL = "gpuaas.io/capacity-group"
# The local cluster's KWOK instance types (tests/cluster/cluster.py INSTANCE_TYPES), for when the
# cluster's own file is not found.
KWOK_TYPES = [("gpu-1x-l4", 1, "NVIDIA-L4", "8", "32Gi"), ("gpu-4x-l4", 4, "NVIDIA-L4", "48", "192Gi"),
              ("gpu-8x-a100", 8, "NVIDIA-A100-SXM4-80GB", "96", "1152Gi")]


def instance_types_file(tmp_path):
    """The cluster's instance types file ($GPUAAS_CLUSTER_DIR, next to $GPUAAS_KUBECONFIG, or
    .cluster/), else a copy of its content."""
    for where in (os.environ.get("GPUAAS_CLUSTER_DIR"),
                  os.path.dirname(os.environ.get("GPUAAS_KUBECONFIG") or "") or None,
                  os.path.join(REPO, ".cluster")):
        if where and os.path.exists(os.path.join(where, "instance-types.json")):
            return os.path.join(where, "instance-types.json")
    path = tmp_path / "instance-types.json"
    path.write_text(json.dumps([
        {"name": name, "resources": {"cpu": cpu, "memory": mem, "pods": "110", "nvidia.com/gpu": str(gpus)},
         "offerings": [{"Price": 1.0, "Available": True, "Requirements": [
             {"key": "nvidia.com/gpu.product", "operator": "In", "values": [product]},
             {"key": "nvidia.com/gpu.count", "operator": "In", "values": [str(gpus)]}]}]}
        for name, gpus, product, cpu, mem in KWOK_TYPES]))
    return str(path)


def group_claims(kenv, pool, group, include_deleting=False):
    return sorted(c["metadata"]["name"] for c in kenv.claims(pool, include_deleting=include_deleting)
                  if c["metadata"]["labels"].get(GROUP_LABEL) == group)


def test_cpu_and_memory_limits_are_checked(kenv, ansible, tmp_path):
    # 48 cpu and 192Gi per 4x L4 node, 96 cpu and 1152Gi per 8x A100 node: room for two 4x L4
    # nodes' cpu, and for one's memory
    reqs = [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["gpu-4x-l4", "gpu-8x-a100"]}]
    pool_args = kenv.new_pool_args(requirements=reqs,
                                   limits={"cpu": "100", "memory": "300Gi", "nvidia.com/gpu": "100"})
    pool = pool_args["name"]
    ansible.module("karpenter_nodepool", dict(pool_args, wait=True, wait_timeout=60))
    shape = {"gpu_count": 4, "gpu_product": "NVIDIA-L4", "instance_types_file": instance_types_file(tmp_path)}
    args = dict(shape, nodepool=pool, name="big", wait=False)

    # two nodes: 96 cpu (fits 100) but 384Gi of memory (passes 300Gi): refused, in check mode too
    for check in (True, False):
        res = ansible.module(MOD, dict(args, count=2), check=check, fail_ok=True)
        assert res.get("failed"), res
        msg = res["msg"]
        assert "2 more NodeClaims of 192Gi memory each need 384Gi memory but NodePool %s has 0 of its memory " \
            "limit 300Gi in use (384Gi > 300Gi)" % pool in msg, msg
        assert "cpu limit" not in msg and "nvidia.com/gpu limit" not in msg and msg.startswith("count: "), msg
        assert res["errors"][0]["field"] == "count" and res["errors"][0]["safety"] is True, res
        assert kenv.claims(pool, include_deleting=True) == []

    # one node fits every limit
    res = ansible.module(MOD, dict(args, count=1))
    assert res["changed"] is True and res["created"] == ["%s-big-1" % pool] and res["created_by_others"] == []
    assert group_claims(kenv, pool, "big") == ["%s-big-1" % pool]

    # a group of one 8x A100 node passes the cpu limit (and the memory one) given what "big" holds
    a100 = dict(args, name="a100", count=1, gpu_count=8, gpu_product="NVIDIA-A100-SXM4-80GB")
    res = ansible.module(MOD, a100, fail_ok=True)
    assert res.get("failed"), res
    msg = res["msg"]
    assert "1 more NodeClaims of 96 cpu each need 96 cpu but NodePool %s has 48 of its cpu limit 100 in use " \
        "(144 > 100)" % pool in msg, msg
    assert "of its memory limit 300Gi in use" in msg and "1152Gi memory" in msg, msg
    assert group_claims(kenv, pool, "a100", include_deleting=True) == []
    assert len(kenv.claims(pool, include_deleting=True)) == 1

    # force passes the limits (check mode: nothing is kept)
    res = ansible.module(MOD, dict(a100, force=True), check=True)
    assert res["changed"] is True and res["created"] == ["%s-a100-1" % pool]
    assert len(kenv.claims(pool, include_deleting=True)) == 1


def test_unknown_resources_per_node_are_refused(kenv, ansible, core_v1):
    # an instance type with no live node (else its GPUs and cpu would be learned from that node)
    live_types = set((n.metadata.labels or {}).get("node.kubernetes.io/instance-type")
                     for n in core_v1.list_node().items)
    free = [name for name, *_rest in KWOK_TYPES if name not in live_types]
    assert free, "every instance type has a live node: %s" % sorted(t for t in live_types if t)
    itype = free[0]
    reqs = [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [itype]}]
    pool_args = kenv.new_pool_args(requirements=reqs, limits={"nvidia.com/gpu": "64"})
    pool = pool_args["name"]
    ansible.module("karpenter_nodepool", dict(pool_args, wait=True, wait_timeout=60))
    args = {"nodepool": pool, "name": "blind", "count": 1, "instance_types": [itype], "wait": False}

    # GPU limit, GPUs per node unknown (no gpu_count, no catalog, no live node): refused
    for check in (True, False):
        res = ansible.module(MOD, args, check=check, fail_ok=True)
        assert res.get("failed"), res
        assert [e["field"] for e in res["errors"]] == ["gpu_count"], res["errors"]
        msg = res["msg"]
        assert "nvidia.com/gpu limit of 64" in msg and itype in msg and "give gpu_count" in msg, msg
        assert "instance_types_file" in msg and "force" in msg, msg
        assert kenv.claims(pool, include_deleting=True) == []

    # a cpu limit with the GPUs known but not the cpu: refused naming instance_types_file
    ansible.module("karpenter_nodepool", dict(pool_args, limits={"nvidia.com/gpu": "64", "cpu": "1000"},
                                              wait=True, wait_timeout=60))
    gpus = [g for name, g, *_rest in KWOK_TYPES if name == itype][0]
    res = ansible.module(MOD, dict(args, gpu_count=gpus), fail_ok=True)
    assert res.get("failed") and [e["field"] for e in res["errors"]] == ["instance_types_file"], res
    assert "cpu limit of 1000" in res["msg"] and "give instance_types_file" in res["msg"], res["msg"]
    assert kenv.claims(pool, include_deleting=True) == []

    # force skips the limit checks, so nothing needs to be known (check mode: nothing is kept)
    res = ansible.module(MOD, dict(args, force=True), check=True)
    assert res["changed"] is True and res["created"] == ["%s-blind-1" % pool]
    assert kenv.claims(pool, include_deleting=True) == []


def capacity_params(**given):
    params = dict((key, spec.get("default")) for key, spec in CAPACITY_OPTIONS.items())
    params.update(given)
    return params


class RacingClient:
    """The real API client, except that just before this run's first NodeClaim POST another
    whole run (``rival``) goes first: the interleaving of a lost race, made certain."""

    def __init__(self, real, rival):
        self._real = real
        self._rival = rival
        self.rival_result = None

    def __getattr__(self, name):
        return getattr(self._real, name)

    def create(self, kind, obj, **kwargs):
        if kind == nc.NODECLAIM and self._rival is not None:
            rival, self._rival = self._rival, None
            self.rival_result = rival()
        return self._real.create(kind, obj, **kwargs)


def test_lost_race_counts_the_winners_claims(kenv, ansible, api_client):
    pool_args = kenv.new_pool_args()
    pool = pool_args["name"]
    ansible.module("karpenter_nodepool", dict(pool_args, wait=True, wait_timeout=60))
    params = capacity_params(nodepool=pool, name="race", count=2, instance_types=["gpu-1x-l4"], wait=False)

    # run A has read the group (empty) when run B creates both NodeClaims: A's creates get 409
    client = RacingClient(Client(api_client), lambda: ops.run_capacity(Client(api_client), dict(params)))
    res_a = ops.run_capacity(client, dict(params))
    res_b = client.rival_result
    names = ["%s-race-1" % pool, "%s-race-2" % pool]
    assert res_b["created"] == names and res_b["created_by_others"] == [] and res_b["changed"] is True
    assert res_a["created"] == [] and res_a["created_by_others"] == names and res_a["changed"] is False
    assert any("409 AlreadyExists" in w for w in res_a["warnings"]), res_a["warnings"]
    assert sorted(s["name"] for s in res_a["nodeclaims"]) == names
    assert group_claims(kenv, pool, "race", include_deleting=True) == names

    # a name held by a NodeClaim of another group is skipped for the next free one
    squatter = nc.render_nodeclaim(kenv.pool(pool), "squat", {"instance_types": ["gpu-1x-l4"]},
                                   "%s-other-1" % pool, protect=False)
    Client(api_client).create(nc.NODECLAIM, squatter)
    res = ops.run_capacity(Client(api_client), capacity_params(nodepool=pool, name="other", count=2,
                                                               instance_types=["gpu-1x-l4"], wait=False))
    assert res["created"] == ["%s-other-2" % pool, "%s-other-3" % pool] and res["created_by_others"] == []
    assert group_claims(kenv, pool, "other") == res["created"]


PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Start together
      ansible.builtin.command:
        argv: ["{{ py }}", "-c", "import time; time.sleep(max(0.0, {{ start_at }} - time.time()))"]
      changed_when: false
    - name: Capacity
      gpuaas.orchestration.karpenter_capacity:
        nodepool: "{{ pool }}"
        name: "{{ group }}"
        count: 2
        instance_types: [gpu-1x-l4]
        gpu_count: 1
        wait: false
"""


def capacity_task(doc):
    for task in doc["plays"][0]["tasks"]:
        if task["task"]["name"] == "Capacity":
            return task["hosts"]["localhost"]
    raise AssertionError("no Capacity task in %s" % json.dumps(doc)[:2000])


def test_concurrent_runs_never_pass_the_count(kenv, ansible, tmp_path):
    pool_args = kenv.new_pool_args(limits={"nvidia.com/gpu": "16"})
    pool = pool_args["name"]
    ansible.module("karpenter_nodepool", dict(pool_args, wait=True, wait_timeout=60))
    playbook = tmp_path / "capacity.yml"
    playbook.write_text(PLAYBOOK)
    raced = 0
    for round_no in range(3):
        group = "conc%d" % round_no
        extra = {"py": sys.executable, "pool": pool, "group": group, "start_at": time.time() + 6}
        with ThreadPoolExecutor(max_workers=2) as workers:
            runs = list(workers.map(lambda i: ansible.playbook(playbook, extra_vars=extra, diff=True), range(2)))
        results = [capacity_task(doc) for _rc, doc in runs]
        live = group_claims(kenv, pool, group, include_deleting=True)
        assert len(live) <= 2 and live == ["%s-%s-1" % (pool, group), "%s-%s-2" % (pool, group)], live
        created = [set(r["created"]) for r in results]
        assert not created[0] & created[1], results              # nobody claims the other's
        assert created[0] | created[1] == set(live), results     # every NodeClaim was made by one of them
        for r in results:
            after, before = r["diff"]["after"]["nodeclaims"], r["diff"]["before"]["nodeclaims"]
            assert after == live and sorted(before + r["created"] + r["created_by_others"]) == live, r
            assert set(r["created_by_others"]) <= set(live) - set(r["created"]), r
            assert r["changed"] is bool(r["created"]), r
        raced += sum(1 for r in results if r["created_by_others"])
    print("concurrent rounds: 3, runs that lost a race (409 AlreadyExists) at least once: %d" % raced)
    # a rerun changes nothing: the group has its count
    res = ansible.module(MOD, {"nodepool": pool, "name": "conc0", "count": 2, "instance_types": ["gpu-1x-l4"],
                               "gpu_count": 1, "wait": False})
    assert res["changed"] is False and res["created"] == []
    assert len(kenv.claims(pool)) == 6
