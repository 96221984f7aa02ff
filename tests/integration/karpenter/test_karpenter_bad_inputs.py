"""Bad inputs of every Karpenter module are rejected before any write, with a message that names
the field (and the value). One playbook with one task per bad input keeps this fast."""
import json
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
INSTANCE_TYPES_FILE = os.path.join(REPO, ".cluster", "instance-types.json")

# (label, module, args over the pool's args (nodepool) or over base args (others), field, value)
NODEPOOL_BAD = [
    ("bad operator", {"requirements": [{"key": "nvidia.com/gpu.count", "operator": "Like", "values": ["8"]}]},
     "requirements[0].operator", "Like"),
    ("bad quantity", {"limits": {"nvidia.com/gpu": "8 GPUs"}}, "spec.limits['nvidia.com/gpu']", "8 GPUs"),
    ("budget over 100%", {"disruption": {"budgets": [{"nodes": "150%"}]}}, "disruption.budgets[0].nodes", "150%"),
    ("malformed cron", {"disruption": {"budgets": [{"nodes": "0", "schedule": "0 25 * * *", "duration": "1h"}]}},
     "disruption.budgets[0].schedule", "0 25 * * *"),
    ("schedule without duration", {"disruption": {"budgets": [{"nodes": "0", "schedule": "@daily"}]}},
     "disruption.budgets[0].duration", None),
    ("unknown reason", {"disruption": {"budgets": [{"nodes": "1", "reasons": ["Expired"]}]}},
     "disruption.budgets[0].reasons", "Expired"),
    ("weight out of range", {"weight": 101}, "weight", "101"),
    ("nodeClassRef kind change", {"node_class_ref": {"group": "karpenter.kwok.sh", "kind": "OtherNodeClass",
                                                     "name": "default"}},
     "spec.template.spec.nodeClassRef.kind", "OtherNodeClass"),
    ("Gt with a non-number", {"requirements": [{"key": "nvidia.com/gpu.count", "operator": "Gt",
                                                "values": ["many"]}]},
     "requirements[0].values", "many"),
    ("minValues above values", {"requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In",
                                                  "values": ["gpu-1x-l4"], "min_values": 2}]},
     "requirements[0].minValues", "2"),
    ("bad taint effect", {"taints": [{"key": "gpuaas.io/x", "effect": "NoWay"}]}, "taints[0].effect", "NoWay"),
    ("restricted label", {"labels": {"karpenter.sh/nodepool": "x"}}, "labels['karpenter.sh/nodepool']", "karpenter.sh/nodepool"),
]


def test_bad_inputs_rejected_before_any_write(kenv, ansible, tmp_path):
    args = kenv.new_pool_args(weight=5)
    name = args["name"]
    ansible.module("karpenter_nodepool", args)
    marker = kenv.write_marker(name)
    fresh = kenv.new_pool_args(weight=0)  # invalid new pool: must not appear, in check mode or not

    cases = [(label, "karpenter_nodepool", dict(args, **over), field, value, False)
             for label, over, field, value in NODEPOOL_BAD]
    cases += [
        ("new pool, check mode", "karpenter_nodepool", fresh, "weight", "0", True),
        ("new pool", "karpenter_nodepool", fresh, "weight", "0", False),
        ("capacity: shape outside the pool", "karpenter_capacity",
         {"nodepool": name, "name": "x", "count": 1, "instance_types": ["gpu-8x-a100"]}, "instance_types",
         "gpu-8x-a100", False),
        ("capacity: no instance type has 3 GPUs", "karpenter_capacity",
         {"nodepool": name, "name": "x", "count": 1, "gpu_count": 3, "instance_types_file": INSTANCE_TYPES_FILE},
         "gpu_count", "3", False),
        ("capacity: negative count", "karpenter_capacity",
         {"nodepool": name, "name": "x", "count": -1, "instance_types": ["gpu-1x-l4"]}, "count", "-1", False),
        ("capacity: pool missing", "karpenter_capacity",
         {"nodepool": "kt-does-not-exist", "name": "x", "count": 1, "instance_types": ["gpu-1x-l4"]},
         "nodepool", "kt-does-not-exist", False),
        ("pause: budget over 100%", "karpenter_disruption",
         {"action": "pause", "nodepool": name, "budgets": [{"nodes": "101%"}]}, "budgets[0].nodes", "101%", False),
        ("pause: six-field cron", "karpenter_disruption",
         {"action": "pause", "nodepool": name, "budgets": [{"nodes": "0", "schedule": "* * * * * *",
                                                            "duration": "1h"}]},
         "budgets[0].schedule", "* * * * * *", False),
        ("pause: pool missing", "karpenter_disruption", {"action": "pause", "nodepool": "kt-nope"},
         "nodepool", "kt-nope", False),
        ("mark: node missing", "karpenter_disruption", {"action": "mark", "nodes": ["kt-no-such-node"]},
         "nodes", "kt-no-such-node", False),
    ]
    tasks = []
    for label, module, margs, _field, _value, check in cases:
        task = {"name": label, "gpuaas.orchestration.%s" % module: margs, "ignore_errors": True}
        if check:
            task["check_mode"] = True
        tasks.append(task)
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "tasks": tasks}]
    path = tmp_path / "bad_inputs.yml"
    path.write_text(json.dumps(play))
    _rc, doc = ansible.playbook(path, fail_ok=True)
    results = [t["hosts"]["localhost"] for t in doc["plays"][0]["tasks"]]
    assert len(results) == len(cases)
    assert len(NODEPOOL_BAD) >= 8
    failures = []
    for (label, _module, _margs, field, value, _check), res in zip(cases, results):
        msg = res.get("msg", "")
        if not res.get("failed") or field not in msg or (value is not None and value not in msg):
            failures.append("%s: %s" % (label, msg or res))
    assert not failures, "\n".join(failures)

    # nothing written: the pool is unchanged, no NodeClaim, the invalid pool does not exist
    live = kenv.pool(name)
    assert kenv.write_marker(name) == marker
    assert "gpuaas.io/paused-disruption-budgets" not in (live["metadata"].get("annotations") or {})
    assert kenv.claims(name, include_deleting=True) == []
    assert kenv.pool(fresh["name"]) is None
