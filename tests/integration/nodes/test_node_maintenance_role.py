"""roles/node_maintenance through playbooks/node_maintenance.yml on fake KWOK nodes."""
from pathlib import Path

from nodehelpers import deployment, is_ready, pods_of, wait_until

REPO = Path(__file__).resolve().parents[3]
HOOK = Path(__file__).resolve().parent / "maintenance_hook.yml"


def test_rolling_maintenance_in_batches(ansible, core_v1, dyn, namespace, fake_nodes, tmp_path):
    nodes = fake_nodes.create(3)
    dyn.resources.get(api_version="apps/v1", kind="Deployment").create(
        namespace=namespace, body=deployment("svc", 3, fake_nodes.placement()))
    wait_until(lambda: len([p for p in pods_of(core_v1, namespace, "app=svc") if is_ready(p)]) == 3, 60,
               what="3 ready pods")
    record = tmp_path / "hook.txt"
    rc, doc = ansible.playbook(REPO / "playbooks" / "node_maintenance.yml", extra_vars={
        "node_maintenance_label_selector": fake_nodes.selector,
        "node_maintenance_batch_size": 2,
        "node_maintenance_hook_tasks": str(HOOK),
        "hook_record": str(record),
        "hook_namespace": namespace,
    })
    assert rc == 0
    batches = record.read_text().split()
    assert batches == [",".join(nodes[:2]), nodes[2]]
    for n in nodes:  # all back in service
        assert not fake_nodes.node(n).spec.unschedulable
    wait_until(lambda: len([p for p in pods_of(core_v1, namespace, "app=svc") if is_ready(p)]) == 3, 60,
               what="3 ready pods after maintenance")


def test_maintenance_check_mode_and_unknown_node(ansible, core_v1, fake_nodes):
    nodes = fake_nodes.create(2)
    playbook = REPO / "playbooks" / "node_maintenance.yml"
    # an unknown node fails the play before any node is touched
    rc, doc = ansible.playbook(playbook, extra_vars={"node_maintenance_nodes": nodes + ["no-such-node"],
                                                     "node_maintenance_batch_size": 1}, fail_ok=True)
    assert rc != 0 and "no-such-node" in str(doc)
    for n in nodes:
        assert not fake_nodes.node(n).spec.unschedulable
    # check mode: runs the whole window, writes nothing
    managed = {n: fake_nodes.node(n).metadata.managed_fields for n in nodes}
    rc, doc = ansible.playbook(playbook, check=True, extra_vars={"node_maintenance_nodes": nodes,
                                                                 "node_maintenance_batch_size": 2})
    assert rc == 0
    for n in nodes:
        node = fake_nodes.node(n)
        assert not node.spec.unschedulable
        assert [(m.manager, m.operation) for m in node.metadata.managed_fields] == \
            [(m.manager, m.operation) for m in managed[n]]
