"""Unit tests of the pure routing logic: InferencePool and HTTPRoute render/validate, rule
ownership merge, shift weights and records, gate verdicts, metric parsing."""
import copy
import json

import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import GpuaasError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import http_route as hr
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import inference_pool as ip
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import gates as g
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import shift as sh
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import shift_actions as sa
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import common, status
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.info import route_summary

POOL = "inference.networking.k8s.io"


def pool_params(**kw):
    p = dict(name="p", namespace="ns", selector={"app": "m"}, target_ports=[8000], app_protocol=None,
             endpoint_picker=None, labels=None, annotations=None)
    p.update(kw)
    return p


def backend(name, kind="InferencePool", weight=None, port=None):
    return dict(name=name, kind=kind, weight=weight, port=port, group=None, namespace=None)


def route_params(rules, **kw):
    p = dict(name="r", namespace="ns", labels=None, annotations=None, parent_refs=None, hostnames=None, rules=rules)
    p.update(kw)
    return p


def rule(name, backends, matches=None):
    return dict(name=name, matches=matches, filters=None, timeouts=None, backend_refs=backends)


def fields(errors):
    return dict((e.field, e.value) for e in errors)


def test_inference_pool_renders_and_validates():
    obj = ip.render_inference_pool(pool_params(target_ports=["8000", {"number": 8001}], app_protocol="http",
                                               endpoint_picker=dict(name="epp", kind="Service", group=None, port=9002,
                                                                    failure_mode="FailOpen")))
    assert obj["spec"] == {"selector": {"matchLabels": {"app": "m"}}, "targetPorts": [{"number": 8000}, {"number": 8001}],
                           "appProtocol": "http",
                           "endpointPickerRef": {"name": "epp", "kind": "Service", "port": {"number": 9002},
                                                 "failureMode": "FailOpen"}}
    assert ip.validate_inference_pool(obj) == []


@pytest.mark.parametrize("change, field, value", [
    (dict(selector={}), "spec.selector.matchLabels", {}),
    (dict(target_ports=[70000]), "spec.targetPorts[0].number", 70000),
    (dict(target_ports=[0]), "spec.targetPorts[0].number", 0),
    (dict(target_ports=["http"]), "spec.targetPorts[0].number", "http"),
    (dict(app_protocol="grpc"), "spec.appProtocol", "grpc"),
    (dict(endpoint_picker=dict(name="e", kind="Service", group=None, port=None, failure_mode=None)),
     "spec.endpointPickerRef.port", None),
    (dict(endpoint_picker=dict(name="e", kind="Service", group=None, port=9002, failure_mode="Maybe")),
     "spec.endpointPickerRef.failureMode", "Maybe"),
])
def test_inference_pool_bad_input_names_field_and_value(change, field, value):
    errors = ip.validate_inference_pool(ip.render_inference_pool(pool_params(**change)))
    assert fields(errors).get(field, "missing") == value, errors


@pytest.mark.parametrize("weight, ok", [(0, True), (1000000, True), ("25", True), (-5, False), (1000001, False),
                                        ("ten", False), (2.5, False), (True, False)])
def test_weights(weight, ok):
    obj = hr.render_http_route(route_params([rule("a", [backend("p", weight=weight)])]))
    errors = [e for e in hr.validate_http_route(obj) if e.field.endswith(".weight")]
    assert (errors == []) == ok, errors
    if not ok:
        assert errors[0].field == "spec.rules[0].backendRefs[0].weight" and errors[0].value == weight


def test_backend_kind_and_port_and_duplicates():
    obj = hr.render_http_route(route_params([rule("a", [backend("p", kind="Deployment"), backend("s", kind="Service"),
                                                        backend("q"), backend("q")])]))
    f = fields(hr.validate_http_route(obj))
    assert f["spec.rules[0].backendRefs[0].kind"] == "Deployment"
    assert "spec.rules[0].backendRefs[1].port" in f
    assert f["spec.rules[0].backendRefs[3]"] == "InferencePool/ns/q"  # q twice


def test_zero_weights_refused_unless_allowed():
    obj = hr.render_http_route(route_params([rule("a", [backend("p", weight=0), backend("q", weight="0")])]))
    assert [e.field for e in hr.zero_weight_errors(obj)] == ["spec.rules[0].backendRefs"]
    obj = hr.render_http_route(route_params([rule("a", [backend("p", weight=0), backend("q")])]))
    assert hr.zero_weight_errors(obj) == []


def test_rule_key_fills_in_api_defaults():
    assert common.rule_key({"matches": None}) == common.rule_key({"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]})
    sent = {"matches": [{"headers": [{"name": "x", "value": "1"}]}]}
    stored = {"matches": [{"path": {"type": "PathPrefix", "value": "/"}, "headers": [{"name": "x", "value": "1", "type": "Exact"}]}]}
    assert common.rule_key(sent) == common.rule_key(stored)
    assert common.rule_key({"name": "chat"}) == "name:chat"


def live_route(rules, annotations=None, rv="7"):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "ns", "resourceVersion": rv, "annotations": annotations or {}},
            "spec": {"rules": rules}}


def test_merge_keeps_foreign_rules_and_backends_and_drops_owned_ones_removed():
    first = hr.render_http_route(route_params([rule("chat", [backend("v1", weight=100)]), rule("old", [backend("o")])]))
    live = live_route(first["spec"]["rules"] + [{"name": "theirs", "backendRefs": [{"name": "svc", "port": 80}]}],
                      annotations=first["metadata"]["annotations"])
    # someone added a backend to our rule
    live["spec"]["rules"][0]["backendRefs"].append({"kind": "Service", "name": "mirror", "port": 80, "weight": 1})
    desired = hr.render_http_route(route_params([rule("chat", [backend("v1", weight=90)])]))
    rules, kept, notes = hr.merge_rules(desired, live)
    assert [r["name"] for r in rules] == ["chat", "theirs"]          # "old" was ours: removed
    assert [b["name"] for b in rules[0]["backendRefs"]] == ["v1", "mirror"]
    assert rules[0]["backendRefs"][0]["weight"] == 90
    assert kept == {"rules": ["name:theirs"], "backends": ["name:chat Service/ns/mirror"]}
    out, dummy = hr.adapt_http_route(desired, live)
    assert out["metadata"]["resourceVersion"] == "7"


def test_omitted_weight_keeps_live_and_active_shift_holds_weights():
    desired = hr.render_http_route(route_params([rule("chat", [backend("v1", weight=100), backend("v2")])]))
    rec = sh.new_record("s", "name:chat", "InferencePool/ns/v1", "InferencePool/ns/v2", [10, 100],
                        {"InferencePool/ns/v1": 100}, 100, "t")
    rec.update(step=0, percent=10)
    live = live_route([{"name": "chat", "backendRefs": [{"group": POOL, "kind": "InferencePool", "name": "v1", "weight": 90},
                                                        {"group": POOL, "kind": "InferencePool", "name": "v2", "weight": 10}]}],
                      annotations={sh.annotation_for("name:chat"): sh.encode(rec)})
    rules, dummy, notes = hr.merge_rules(desired, live)
    assert [b["weight"] for b in rules[0]["backendRefs"]] == [90, 10]
    assert notes and "traffic shift" in notes[0]
    # completed: the pre-shift weight in the task does not undo it, another weight does
    rec.update(phase="completed", step=1, percent=100)
    live["metadata"]["annotations"][sh.annotation_for("name:chat")] = sh.encode(rec)
    live["spec"]["rules"][0]["backendRefs"][0]["weight"] = 0
    live["spec"]["rules"][0]["backendRefs"][1]["weight"] = 100
    rules, dummy, notes = hr.merge_rules(desired, live)
    assert [b["weight"] for b in rules[0]["backendRefs"]] == [0, 100] and notes == []
    desired = hr.render_http_route(route_params([rule("chat", [backend("v1", weight=5), backend("v2", weight=95)])]))
    rules, dummy, notes = hr.merge_rules(desired, live)
    assert [b["weight"] for b in rules[0]["backendRefs"]] == [5, 95]


@pytest.mark.parametrize("steps, field", [([10, 10, 50], "steps[1]"), ([50, 25], "steps[1]"), ([0, 50], "steps[0]"),
                                          ([10, 101], "steps[1]"), (["x"], "steps[0]"), ([], "steps")])
def test_steps_must_increase(steps, field):
    assert field in [e.field for e in sh.steps_errors(steps)]


def test_pair_total():
    assert sh.pair_total({"a": 1}, "a", "b", [10, 100]) == 100        # alone: scaled to 100
    assert sh.pair_total({"a": 900, "c": 100}, "a", "b", [10, 100]) == 900
    with pytest.raises(GpuaasError, match="too few"):
        sh.pair_total({"a": 3, "c": 1}, "a", "b", [10, 25, 50, 100])
    with pytest.raises(GpuaasError, match="no traffic"):
        sh.pair_total({"a": 0, "c": 1}, "a", "b", [10])


def apply(route, d):
    route = copy.deepcopy(route)
    if d.rules is not None:
        route["spec"]["rules"] = d.rules
    if d.new_record is not None:
        route["metadata"]["annotations"][sh.annotation_for(common.rule_key(d.rule))] = sh.encode(d.new_record)
    return route


WANT = {"source": {"kind": "InferencePool", "name": "v1", "group": POOL},
        "target": {"kind": "InferencePool", "name": "v2", "group": POOL}, "steps": [10, 25, 50, 100]}


def test_shift_steps_complete_and_roll_back_exactly():
    route = live_route([{"name": "chat", "backendRefs": [{"group": POOL, "kind": "InferencePool", "name": "v1"},
                                                         {"kind": "Service", "name": "other", "port": 80, "weight": 0}]}])
    seen = []
    for i in range(6):
        d = sa.decide("step", route, WANT, "t%d" % i)
        route = apply(route, d)
        seen.append((d.event, [b.get("weight") for b in route["spec"]["rules"][0]["backendRefs"]]))
    assert seen == [("shifted", [90, 0, 10]), ("shifted", [75, 0, 25]), ("shifted", [50, 0, 50]),
                    ("shifted", [0, 0, 100]), ("completed", [0, 0, 100]), (None, [0, 0, 100])]
    d = sa.decide("rollback", route, WANT, "tx")
    back = apply(route, d)
    # v1 had no weight before: unset again; v2 was added: removed; the foreign backend untouched
    assert back["spec"]["rules"][0]["backendRefs"] == [{"group": POOL, "kind": "InferencePool", "name": "v1"},
                                                       {"kind": "Service", "name": "other", "port": 80, "weight": 0}]
    assert sa.decide("rollback", back, WANT, "ty").writes is False
    again = sa.decide("step", back, WANT, "tz")
    assert again.event == "shifted" and again.new_record["step"] == 0


def test_shift_refuses_drift_and_a_different_shift():
    route = live_route([{"name": "chat", "backendRefs": [{"group": POOL, "kind": "InferencePool", "name": "v1", "weight": 100}]}])
    route = apply(route, sa.decide("step", route, WANT, "t0"))
    other = dict(WANT, steps=[50, 100])
    with pytest.raises(GpuaasError, match="restart"):
        sa.decide("step", route, other, "t1")
    assert sa.decide("step", route, dict(other, restart=True), "t1").new_record["steps"] == [50, 100]
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = 42
    with pytest.raises(GpuaasError, match="changed outside"):
        sa.decide("step", route, WANT, "t2")


def test_shift_pause_records_and_plan():
    route = live_route([{"name": "chat", "backendRefs": [{"group": POOL, "kind": "InferencePool", "name": "v1", "weight": 100}]}])
    route = apply(route, sa.decide("step", route, WANT, "t0"))
    d = sa.decide("pause", route, dict(WANT, reason="metrics down", gates=[{"name": "m", "verdict": "unknown"}]), "t1")
    assert d.new_record["phase"] == "paused" and d.rules is None
    rep = sa.report(d)
    assert [s["percent"] for s in rep["plan"]] == [25, 50, 100]
    assert rep["plan"][0]["weights"] == {"InferencePool/ns/v1": 75, "InferencePool/ns/v2": 25}


def test_service_target_needs_port_and_source_must_be_in_rule():
    route = live_route([{"name": "chat", "backendRefs": [{"group": POOL, "kind": "InferencePool", "name": "v1"}]}])
    with pytest.raises(GpuaasError, match="to_backend.port"):
        sa.decide("step", route, dict(WANT, target={"kind": "Service", "name": "s", "group": ""}), "t")
    with pytest.raises(GpuaasError, match="no backend"):
        sa.decide("step", route, dict(WANT, source={"kind": "Service", "name": "x", "group": ""}), "t")


def test_gate_verdicts():
    assert g.combine(["passed", "unknown", "passed"]) == "unknown"
    assert g.combine(["unknown", "failed"]) == "failed"
    assert g.pods_verdict(4, 3, "75%")[0] == "passed"
    assert g.pods_verdict(4, 2, "75%")[0] == "failed"
    assert g.pods_verdict(0, 0, 0)[0] == "failed"
    assert g.min_ready_problem("150%") and g.min_ready_problem(-1) and g.min_ready_problem("x")
    assert g.min_ready_problem("50%") is None and g.min_ready_problem(2) is None
    assert g.threshold_verdict(0.02, maximum=0.01)[0] == "failed"
    assert g.threshold_verdict(None, maximum=0.01)[0] == "unknown"
    assert g.threshold_verdict(0.005, maximum=0.01)[0] == "passed"


def test_prometheus_and_json_parsing():
    text = '# HELP x\n# TYPE err counter\nerr{pool="v2",code="500"} 3\nerr{pool="v1"} 7 1700000000\nerr{pool="v2",code="503"} 2\nother 1\n'
    samples = g.parse_prometheus(text)
    assert g.aggregate(g.select_samples(samples, "err", {"pool": "v2"})) == 5
    assert g.aggregate(g.select_samples(samples, "err", {"pool": "v3"})) is None
    assert g.json_value({"data": {"result": [{"value": [1, "0.5"]}]}}, "data.result.0.value.1") == "0.5"


def test_parents_verdict_and_info():
    route = live_route([{"name": "chat", "backendRefs": [{"kind": "InferencePool", "name": "v1", "weight": 3},
                                                         {"kind": "InferencePool", "name": "v2", "weight": 1}]}])
    assert status.parents_verdict(route)[0] == "not_reported"
    route["metadata"]["generation"] = 2
    cond = {"type": "Accepted", "status": "True", "observedGeneration": 2}
    route["status"] = {"parents": [{"parentRef": {"name": "gw"}, "controllerName": "x",
                                    "conditions": [cond, dict(cond, type="ResolvedRefs", observedGeneration=1)]}]}
    assert status.parents_verdict(route)[0] == "pending"
    route["status"]["parents"][0]["conditions"][1].update(observedGeneration=2, status="False", reason="BackendNotFound")
    verdict, answer = status.parents_verdict(route)
    assert verdict == "failed" and "BackendNotFound" in answer
    s = route_summary(route)
    assert [b["percent"] for b in s["rules"][0]["backends"]] == [75.0, 25.0]


def test_report_markdown_lists_each_step():
    route = live_route([{"name": "chat", "backendRefs": [{"group": POOL, "kind": "InferencePool", "name": "v1", "weight": 100}]}])
    route = apply(route, sa.decide("step", route, WANT, "t0"))
    record = json.loads(route["metadata"]["annotations"][sh.annotation_for("name:chat")])
    text = sh.render_report_markdown("HTTPRoute ns/r", record)
    assert "| shifted | 1 | 10 |" in text and "InferencePool/ns/v2=10" in text
