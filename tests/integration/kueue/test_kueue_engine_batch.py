"""The engine applying many objects in one call against the live API: one LIST per kind, check mode
writes nothing, a rerun makes no write at all, one invalid object stops every write."""
import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import cluster_queue as kind_cq
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import resource_flavor as kind_rf
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import common as kc
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import get_client
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorList


def items(sfx, quota=4, bad=False):
    flavors = ["bf%d-%s" % (i, sfx) for i in range(3)]
    out = [engine.Item(kc.RESOURCE_FLAVOR, kind_rf.render_resource_flavor({"name": f, "node_labels": {"pool": "p%d" % i}}),
                       validate=None) for i, f in enumerate(flavors)]
    for j in range(2):
        obj = kind_cq.render_cluster_queue({"name": "bcq%d-%s" % (j, sfx), "namespace_selector": {}, "resource_groups": [
            {"flavors": [{"name": f, "resources": [{"name": "cpu", "nominal_quota": "12x" if bad and j == 1 else quota}]}
                         for f in flavors]}]})
        out.append(engine.Item(kc.CLUSTER_QUEUE, obj, validate=lambda obj=obj: kind_cq.validate_cluster_queue(obj)))
    return out


def test_many_objects_one_list_per_kind(cluster, kq, sfx):
    client = get_client({"kubeconfig": cluster.kubeconfig, "context": cluster.context})
    its = items(sfx)
    for it in its:
        kq.track(it.kind.kind, it.name)

    # one invalid object: nothing at all is written, every error reported
    with pytest.raises(ErrorList) as exc:
        engine.run(client, items(sfx, bad=True) + [engine.Item(kc.CLUSTER_QUEUE, kind_cq.render_cluster_queue(
            {"name": "Bad", "resource_groups": []}), validate=lambda: kind_cq.validate_cluster_queue(
                kind_cq.render_cluster_queue({"name": "Bad"})))])
    errors = [e.to_dict() for e in exc.value.errors]
    assert [(e["object"], e["field"]) for e in errors] == [
        ("ClusterQueue/bcq1-%s" % sfx, "spec.resourceGroups[0].flavors[%d].resources[0].nominalQuota" % i) for i in range(3)
    ] + [("ClusterQueue/Bad", "metadata.name")]
    assert str(exc.value).startswith("4 errors: ClusterQueue/bcq1-%s: spec.resourceGroups[0].flavors[0]" % sfx)
    assert all(kq.get(it.kind.kind, it.name) is None for it in its)

    calls = client.calls
    result = engine.run(client, its, check_mode=True)
    assert result["changed"] and result["summary"]["created"] == 5
    assert client.calls - calls == 2 + 5          # 2 LISTs (one per kind) + 5 dry-run applies
    assert all(kq.get(it.kind.kind, it.name) is None for it in its)

    result = engine.run(client, its)
    assert result["summary"]["created"] == 5 and len(result["diff"]) == 5
    refs = [(it.kind.kind, it.name) for it in its]
    rvs = kq.settled_rvs(refs)       # after Kueue's own first status updates of the new queues

    calls = client.calls
    result = engine.run(client, items(sfx))
    assert not result["changed"] and result["summary"]["unchanged"] == 5
    assert client.calls - calls == 2              # two LISTs, no write
    assert rvs == [kq.rv(*ref) for ref in refs]

    # a change to one object writes that object only
    calls = client.calls
    result = engine.run(client, items(sfx, quota=6))
    assert result["summary"] == {"created": 0, "updated": 2, "unchanged": 3, "deleted": 0, "absent": 0}
    assert client.calls - calls == 2 + 2
    assert [r["ref"] for r in result["results"] if r["action"] == "updated"] == ["ClusterQueue/bcq0-%s" % sfx,
                                                                                 "ClusterQueue/bcq1-%s" % sfx]

    # delete all in reverse dependency order
    gone = [engine.Item(it.kind, name=it.name, state="absent", delete_wait=30) for it in reversed(its)]
    result = engine.run(client, gone)
    assert result["summary"]["deleted"] == 5
    assert all(kq.get(it.kind.kind, it.name) is None for it in its)


def test_prune_deletes_only_what_the_plan_owns(cluster, kq, sfx):
    client = get_client({"kubeconfig": cluster.kubeconfig, "context": cluster.context})
    plan = "plan-" + sfx
    names = ["pr%d-%s" % (i, sfx) for i in range(3)]
    for n in names:
        kq.track("ResourceFlavor", n)
    its = [engine.Item(kc.RESOURCE_FLAVOR, kind_rf.render_resource_flavor({"name": n})) for n in names]
    engine.run(client, its[:2], labels={engine.PLAN_LABEL: plan})
    engine.run(client, its[2:])                          # same collection, no plan label: never pruned
    assert kq.get("ResourceFlavor", names[0])["metadata"]["labels"][engine.PLAN_LABEL] == plan
    gone = engine.prune_items(client, kc.RESOURCE_FLAVOR, plan, keep=its[:1])
    assert [it.name for it in gone] == [names[1]]
    result = engine.run(client, gone, check_mode=True)
    assert result["summary"]["deleted"] == 1 and kq.get("ResourceFlavor", names[1]) is not None
    gone[0].delete_wait = 30                            # Kueue's finalizer goes a moment later
    engine.run(client, gone)
    assert kq.get("ResourceFlavor", names[1]) is None
    assert kq.get("ResourceFlavor", names[0]) is not None and kq.get("ResourceFlavor", names[2]) is not None
