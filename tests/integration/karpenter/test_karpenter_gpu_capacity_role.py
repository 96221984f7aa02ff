"""The gpu_capacity role through playbooks/gpu_capacity.yml: pool, capacity group and pause, then
everything removed with state absent."""
import json
import os
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(REPO, "playbooks", "gpu_capacity.yml")
INVENTORY = os.path.join(REPO, "inventory", "local")


def test_gpu_capacity_role_present_then_absent(kenv, ansible):
    tid = uuid.uuid4().hex[:6]
    pool = "kt-role-" + tid
    kenv.pools.append(pool)
    plan = {
        "gpu_capacity_pool_name": pool,
        "gpu_capacity_instance_types": ["gpu-1x-l4", "gpu-4x-l4"],
        "gpu_capacity_labels": {"gpuaas.io/kt": tid},
        "gpu_capacity_taints": [{"key": "gpuaas.io/kt-" + tid, "value": "true", "effect": "NoSchedule"}],
        "gpu_capacity_gpu_limit": 8,
        "gpu_capacity_groups": [{"name": "serve", "count": 1, "instance_types": ["gpu-1x-l4"], "gpu_count": 1}],
        "gpu_capacity_pause": True,
        "gpu_capacity_pause_reason": "role test",
        "gpu_capacity_wait_timeout": 120,
    }
    rc, _doc = ansible.playbook(PLAYBOOK, extra_vars=plan, inventory=INVENTORY)
    assert rc == 0
    live = kenv.pool(pool)
    assert live["spec"]["limits"] == {"nvidia.com/gpu": "8"}
    assert live["spec"]["disruption"]["budgets"] == [{"nodes": "0"}]
    assert json.loads(live["metadata"]["annotations"]["gpuaas.io/paused-disruption-budgets"]) == [{"nodes": "10%"}]
    claims = kenv.claims(pool)
    assert len(claims) == 1 and claims[0]["metadata"]["labels"]["gpuaas.io/capacity-group"] == "serve"

    # rerun: nothing changes
    rc, doc = ansible.playbook(PLAYBOOK, extra_vars=plan, inventory=INVENTORY)
    assert rc == 0 and sum(s.get("changed", 0) for s in doc["stats"].values()) == 0

    # argument_specs reject a bad plan before any task runs
    rc, _doc = ansible.playbook(PLAYBOOK, extra_vars=dict(plan, gpu_capacity_state="gone"),
                                inventory=INVENTORY, fail_ok=True)
    assert rc != 0

    rc, _doc = ansible.playbook(PLAYBOOK, extra_vars=dict(plan, gpu_capacity_state="absent",
                                                          gpu_capacity_force=True), inventory=INVENTORY)
    assert rc == 0
    assert kenv.pool(pool) is None and kenv.claims(pool, include_deleting=True) == []

    # absent again: nothing left to do, and no error about the pool that is gone
    rc, doc = ansible.playbook(PLAYBOOK, extra_vars=dict(plan, gpu_capacity_state="absent",
                                                         gpu_capacity_force=True), inventory=INVENTORY)
    assert rc == 0 and sum(s.get("changed", 0) for s in doc["stats"].values()) == 0
