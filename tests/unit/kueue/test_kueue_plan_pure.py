"""kueue_plan's pure parts: entry checks, dependency order, option paths of errors, and the pure
quota comparison that decides whether Workloads must be read at all."""
import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import cluster_queue as kind_cq
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import topology as kind_topo
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import safety as ksafe
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import plan as kp
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import SafetyError, ValidationError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.plan import entries as pe


def entry_of(section, index, params_, render):
    e = pe.Entry(section, index, kp.DESCRIPTIONS[section], params_)
    e.obj = render(params_)
    return e


def cq(name, flavors, cohort=None):
    return {"name": name, "cohort": cohort, "resource_groups": [{"flavors": [
        {"name": f, "resources": [{"name": r, "nominal_quota": q} for r, q in res]} for f, res in flavors]}]}


def params(**kw):
    p = dict(state="present")
    p.update(kw)
    return p


def test_dependency_order_and_reverse_for_absent():
    p = params(local_queues=[{"name": "lq", "namespace": "ns", "cluster_queue": "q"}],
               cluster_queues=[cq("q", [("f", [("cpu", 1)])])],
               resource_flavors=[{"name": "f"}], workload_priority_classes=[{"name": "w", "value": 1}],
               cohorts=[{"name": "child", "parent": "root"}, {"name": "root"}],
               admission_checks=[{"name": "ac", "controller_name": "x.io/c"}], topologies=[{"name": "t", "levels": ["a"]}])
    entries, errors = kp.check_entries(p)
    assert errors == []
    order = [(e.kind.kind, e.params["name"]) for e in entries]
    assert order == [("Topology", "t"), ("ResourceFlavor", "f"), ("Cohort", "root"), ("Cohort", "child"),
                     ("WorkloadPriorityClass", "w"), ("AdmissionCheck", "ac"), ("ClusterQueue", "q"), ("LocalQueue", "lq")]
    rendered = kp.render_entries(entries, "present")
    assert rendered[6].obj["spec"]["resourceGroups"][0]["coveredResources"] == ["cpu"]
    # defaults of the per-kind module are filled in (namespace_selector {} = all namespaces)
    assert rendered[6].obj["spec"]["namespaceSelector"] == {}
    absent = kp.order_for_state(kp.render_entries(entries, "absent"), "absent")
    assert [e.params["name"] for e in absent] == ["lq", "q", "ac", "w", "child", "root", "f", "t"]
    assert all(e.obj is None for e in absent)


def test_entry_problems_all_reported_with_entry_index():
    p = params(cluster_queues=[cq("a", [("f", [("cpu", 1)])]), {"name": "b", "queueing_strategy": "Fifo", "bogus": 1}],
               local_queues=[{"name": "x"}, {"name": "y", "namespace": "n"}],
               workload_priority_classes=[{"name": "w"}])
    entries, errors = kp.check_entries(p)
    text = [str(e) for e in errors]
    assert any(t.startswith("cluster_queues[1]: value of queueing_strategy must be one of") for t in text), text
    assert any(t.startswith("cluster_queues[1]: bogus") for t in text), text
    assert any(t.startswith("local_queues[0]: missing required arguments: namespace") for t in text), text
    assert any(t.startswith("local_queues[1].cluster_queue: is required") for t in text), text
    assert any(t.startswith("workload_priority_classes[0].value: is required") for t in text), text
    # absent needs names only
    entries, errors = kp.check_entries(dict(p, state="absent", cluster_queues=[{"name": "a"}]))
    assert [str(e) for e in errors] == ["local_queues[0]: missing required arguments: namespace"]


def test_duplicates_and_cohort_cycles():
    entries, errors = kp.check_entries(params(resource_flavors=[{"name": "f"}, {"name": "f"}]))
    assert [e.field for e in errors] == ["resource_flavors[1].name"]
    entries, errors = kp.check_entries(params(local_queues=[{"name": "q", "namespace": "a", "cluster_queue": "c"},
                                                            {"name": "q", "namespace": "b", "cluster_queue": "c"}]))
    assert errors == []
    entries, errors = kp.check_entries(params(cohorts=[{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}]))
    assert len(errors) == 1 and "cycle" in str(errors[0])


@pytest.mark.parametrize("field,expected", [
    ("spec.resourceGroups[0].flavors[1].resources[0].nominalQuota", "cluster_queues[2].resource_groups[0].flavors[1].resources[1].nominal_quota"),
    ("spec.resourceGroups[0].flavors[0].resources[1].borrowingLimit", "cluster_queues[2].resource_groups[0].flavors[0].resources[1].borrowing_limit"),
    ("spec.resourceGroups[0].coveredResources[1]", "cluster_queues[2].resource_groups[0].covered_resources[1]"),
    ("spec.cohortName", "cluster_queues[2].cohort"),
    ("spec.admissionChecksStrategy.admissionChecks[0].onFlavors[1]", "cluster_queues[2].admission_checks[0].on_flavors[1]"),
    ("spec.preemption.borrowWithinCohort.policy", "cluster_queues[2].preemption.borrow_within_cohort.policy"),
    ("metadata.name", "cluster_queues[2].name"),
    ("metadata.labels['a/B']", "cluster_queues[2].labels['a/B']"),
    ("spec.namespaceSelector.matchLabels", "cluster_queues[2].namespace_selector.match_labels"),
])
def test_option_paths(field, expected):
    # resources given in another order than covered: rendering reorders, the path maps back
    entry = {"name": "q", "resource_groups": [{"covered_resources": ["cpu", "memory"], "flavors": [
        {"name": "a", "resources": [{"name": "cpu", "nominal_quota": 1}, {"name": "memory", "nominal_quota": "1Gi"}]},
        {"name": "b", "resources": [{"name": "memory", "nominal_quota": "1Gi"}, {"name": "cpu", "nominal_quota": "x"}]},
    ]}]}
    e = entry_of("cluster_queues", 2, entry, kind_cq.render_cluster_queue)
    assert e.obj["spec"]["resourceGroups"][0]["flavors"][1]["resources"][0]["name"] == "cpu"
    assert pe.option_path(e, field) == expected


def test_validation_errors_translated_to_options():
    entry = cq("q", [("f", [("cpu", "12x")])])
    e0 = entry_of("cluster_queues", 0, entry, kind_cq.render_cluster_queue)
    errs = pe.translate_errors(e0, kind_cq.validate_cluster_queue(e0.obj))
    assert [e.field for e in errs] == ["cluster_queues[0].resource_groups[0].flavors[0].resources[0].nominal_quota"]
    assert isinstance(errs[0], ValidationError) and errs[0].value == "12x"
    e1 = entry_of("cluster_queues", 1, entry, kind_cq.render_cluster_queue)
    s = pe.translate_errors(e1, [SafetyError("in use", ["ns/w"], field="state", value="absent")])
    assert s[0].field == "cluster_queues[1] (state)" and s[0].affected == ["ns/w"]
    t = {"name": "t", "levels": ["a", "a"]}
    te = entry_of("topologies", 0, t, kind_topo.render_topology)
    assert [e.field for e in pe.translate_errors(te, kind_topo.validate_topology(te.obj))] == ["topologies[0].levels[1]"]


def test_plan_params():
    assert [e.field for e in kp.validate_plan_params({"prune": True, "state": "present"})] == ["prune"]
    assert [e.field for e in kp.validate_plan_params({"name": "bad name!", "state": "present"})] == ["name"]
    assert kp.validate_plan_params({"name": "team-a.v1", "prune": True, "state": "present"}) == []
    assert [e.field for e in kp.validate_plan_params({"name": "p", "prune": True, "state": "absent"})] == ["prune"]


# -- the pure safety comparison ----------------------------------------------------------------

def cq_obj(quotas):
    """quotas: [(flavor, [(resource, quota)])]"""
    return {"metadata": {"name": "q"}, "spec": {"resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [
        {"name": f, "resources": [{"name": r, "nominalQuota": q} for r, q in res]} for f, res in quotas]}]}}


def test_quota_cuts_pure():
    live = cq_obj([("a", [("cpu", "4"), ("memory", "1Gi")]), ("b", [("cpu", "2"), ("memory", "1Gi")])])
    assert ksafe.cluster_queue_quota_cuts(live, live) == ([], {})
    # raising, same quantity in other units, new flavor: nothing to check
    up = cq_obj([("a", [("cpu", "4000m"), ("memory", "1024Mi")]), ("b", [("cpu", "3"), ("memory", "2Gi")]),
                 ("c", [("cpu", "1"), ("memory", "1Gi")])])
    assert ksafe.cluster_queue_quota_cuts(up, live) == ([], {})
    down = cq_obj([("a", [("cpu", "3"), ("memory", "1Gi")])])
    assert ksafe.cluster_queue_quota_cuts(down, live) == (["b"], {("a", "cpu"): ("4", "3")})
    # a resource dropped from a flavor that stays is a drop to 0
    dropped = {"metadata": {"name": "q"}, "spec": {"resourceGroups": [{"coveredResources": ["cpu"], "flavors": [
        {"name": "a", "resources": [{"name": "cpu", "nominalQuota": "4"}]},
        {"name": "b", "resources": [{"name": "cpu", "nominalQuota": "2"}]}]}]}}
    assert ksafe.cluster_queue_quota_cuts(dropped, live)[1] == {("a", "memory"): ("1Gi", "0"), ("b", "memory"): ("1Gi", "0")}
    # no resourceGroups in the desired object, or nothing live: no comparison
    assert ksafe.cluster_queue_quota_cuts({"spec": {}}, live) == ([], {})
    assert ksafe.cluster_queue_quota_cuts(down, None) == ([], {})


def test_update_safety_reads_workloads_only_on_a_cut():
    live = cq_obj([("a", [("cpu", "4"), ("memory", "1Gi")])])
    calls = []

    def workloads():
        calls.append(1)
        return []

    assert ksafe.cluster_queue_update_safety(cq_obj([("a", [("cpu", "8"), ("memory", "1Gi")])]), live, workloads) == []
    assert calls == []
    assert ksafe.cluster_queue_update_safety(cq_obj([("a", [("cpu", "2"), ("memory", "1Gi")])]), live, workloads) == []
    assert calls == [1]
    # the live status counts as usage too
    live["status"] = {"flavorsReservation": [{"name": "a", "resources": [{"name": "cpu", "total": "3"}]}]}
    errs = ksafe.cluster_queue_update_safety(cq_obj([("a", [("cpu", "2"), ("memory", "1Gi")])]), live, workloads)
    assert len(errs) == 1 and errs[0].field == "spec.resourceGroups[0].flavors[0].resources[0].nominalQuota"
