"""Inference routing, live: InferencePools and HTTPRoutes on the real CRDs (Gateway API and
Inference Extension 1.6.0), the traffic_shift role step by step with gates against a metric
endpoint on 127.0.0.1 that the test controls, and route status written by the test through the
status subresource, as a gateway controller would."""
import http.server
import json
import threading
from pathlib import Path

import pytest
from gpuaas_testlib import wait_until

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "traffic_shift.yml"
POOL_GROUP = "inference.networking.k8s.io"
SHIFT_ANNOTATION = "traffic-shift.gpuaas.io/chat"


class MetricServer:
    """An HTTP endpoint on 127.0.0.1 serving ``llm_error_ratio <value>`` (Prometheus text format);
    ``value = None`` answers 503."""

    def __init__(self):
        self.value = 0.001
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                if outer.value is None:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = ('# TYPE llm_error_ratio gauge\nllm_error_ratio{pool="v2"} %s\n' % outer.value).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/metrics" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def metric():
    server = MetricServer()
    yield server
    server.close()


def _api(dyn, kind):
    return {"InferencePool": dyn.resources.get(api_version="inference.networking.k8s.io/v1", kind="InferencePool"),
            "HTTPRoute": dyn.resources.get(api_version="gateway.networking.k8s.io/v1", kind="HTTPRoute")}[kind]


def _get(dyn, kind, name, namespace):
    return _api(dyn, kind).get(name=name, namespace=namespace).to_dict()


def _ready_pods(core_v1, namespace, app, count):
    for i in range(count):
        core_v1.create_namespaced_pod(namespace, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "%s-%d" % (app, i), "labels": {"app": app}},
            "spec": {"nodeName": "cpu-0", "terminationGracePeriodSeconds": 0,
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "c", "image": "registry.invalid/vllm:1"}]}})

    def ready():
        pods = core_v1.list_namespaced_pod(namespace, label_selector="app=" + app).items
        ready_pods = [p for p in pods
                      if any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))]
        return len(ready_pods) == count
    wait_until("%d Ready pods of %s" % (count, app), ready, timeout=60)


def _pool(ansible, namespace, name, **extra):
    args = {"name": name, "namespace": namespace, "selector": {"app": name}, "target_ports": [8000]}
    args.update(extra)
    return ansible.module("inference_pool", args)


def _weights(route, rule=0):
    return [(b.get("kind"), b["name"], b.get("weight")) for b in route["spec"]["rules"][rule]["backendRefs"]]


def _record(route):
    return json.loads(route["metadata"]["annotations"][SHIFT_ANNOTATION])


def _failed_msg(doc):
    for play in doc.get("plays", []):
        for task in play.get("tasks", []):
            for res in task.get("hosts", {}).values():
                if res.get("failed") and not res.get("ignore_errors"):
                    return res.get("msg", "")
    return ""


def _changed(doc):
    return sum(s.get("changed", 0) for s in doc.get("stats", {}).values())


@pytest.fixture
def pools(ansible, core_v1, namespace):
    """InferencePools v1 (2 Ready pods) and v2 (2 Ready pods), a Service ``mirror``."""
    _pool(ansible, namespace, "v1")
    _pool(ansible, namespace, "v2")
    core_v1.create_namespaced_service(namespace, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mirror"},
                                                  "spec": {"selector": {"app": "mirror"}, "ports": [{"port": 80}]}})
    _ready_pods(core_v1, namespace, "v1", 2)
    _ready_pods(core_v1, namespace, "v2", 2)
    return namespace


def _route(ansible, namespace, backends, name="chat", check=False, fail_ok=False, **extra):
    args = {"name": name, "namespace": namespace, "parent_refs": [{"name": "inference-gateway"}],
            "rules": [{"name": "chat", "matches": [{"path": {"type": "PathPrefix", "value": "/v1/chat"}}],
                       "backend_refs": backends}]}
    args.update(extra)
    return ansible.module("http_route", args, check=check, fail_ok=fail_ok)


def test_inference_pool_lifecycle_and_bad_input(ansible, dyn, write_counter, namespace):
    created = _pool(ansible, namespace, "llama", app_protocol="http",
                    endpoint_picker={"name": "llama-epp", "port": 9002, "failure_mode": "FailOpen"})
    assert created["operation"] == "created"
    live = _get(dyn, "InferencePool", "llama", namespace)
    assert live["spec"]["selector"] == {"matchLabels": {"app": "llama"}}
    assert live["spec"]["targetPorts"] == [{"number": 8000}]
    assert live["spec"]["endpointPickerRef"]["failureMode"] == "FailOpen"

    again, writes = write_counter.during(["inferencepools"], mine=namespace, action=lambda: _pool(
        ansible, namespace, "llama", app_protocol="http",
        endpoint_picker={"name": "llama-epp", "port": 9002, "failure_mode": "FailOpen"}))
    assert again["changed"] is False and writes == {"inferencepools": 0}

    # the endpoint picker removed from the task: removed in the cluster, reported
    rv = live["metadata"]["resourceVersion"]
    check = ansible.module("inference_pool", {"name": "llama", "namespace": namespace, "selector": {"app": "llama"},
                                              "target_ports": [8000]}, check=True, diff=True)
    assert check["changed"] is True and "endpointPickerRef" not in check["diff"]["after"]["spec"]
    assert _get(dyn, "InferencePool", "llama", namespace)["metadata"]["resourceVersion"] == rv
    ansible.module("inference_pool", {"name": "llama", "namespace": namespace, "selector": {"app": "llama"},
                                      "target_ports": [8000]})
    assert "endpointPickerRef" not in _get(dyn, "InferencePool", "llama", namespace)["spec"]

    for args, field, value in [
        ({"selector": {}}, "spec.selector.matchLabels", "{}"),
        ({"target_ports": [70000]}, "spec.targetPorts[0].number", "70000"),
        ({"target_ports": ["http"]}, "spec.targetPorts[0].number", "http"),
        # a choice: refused by the argument spec, which names the option and the value
        ({"endpoint_picker": {"name": "e", "port": 9002, "failure_mode": "Sometimes"}}, "failure_mode", "Sometimes"),
    ]:
        full = {"name": "bad", "namespace": namespace, "selector": {"app": "x"}, "target_ports": [8000]}
        full.update(args)
        res = ansible.module("inference_pool", full, fail_ok=True)
        assert res.get("failed") and field in res["msg"] and value in res["msg"], res["msg"]
        if field.startswith("spec."):
            assert any(e["field"] == field for e in res["errors"])
    assert [p.metadata.name for p in _api(dyn, "InferencePool").get(namespace=namespace).items] == ["llama"]


def test_http_route_owns_only_its_rules_and_backends(ansible, dyn, write_counter, pools):
    ns = pools
    res = _route(ansible, ns, [{"kind": "InferencePool", "name": "v1", "weight": 90},
                               {"kind": "InferencePool", "name": "v2", "weight": 10}])
    assert res["operation"] == "created" and res["owned_rules"] == ["name:chat"]
    # another team adds a rule, and a mirror backend to our rule, the way kubectl would
    routes = _api(dyn, "HTTPRoute")
    live = _get(dyn, "HTTPRoute", "chat", ns)
    rules = live["spec"]["rules"]
    rules[0]["backendRefs"].append({"group": "", "kind": "Service", "name": "mirror", "port": 80, "weight": 1})
    rules.append({"name": "theirs", "matches": [{"path": {"type": "PathPrefix", "value": "/theirs"}}],
                  "backendRefs": [{"group": "", "kind": "Service", "name": "mirror", "port": 80}]})
    routes.patch(name="chat", namespace=ns, body={"spec": {"rules": rules}}, content_type="application/merge-patch+json")

    res = _route(ansible, ns, [{"kind": "InferencePool", "name": "v1", "weight": 80},
                               {"kind": "InferencePool", "name": "v2", "weight": 20}])
    assert res["operation"] == "updated"
    live = _get(dyn, "HTTPRoute", "chat", ns)
    assert [r["name"] for r in live["spec"]["rules"]] == ["chat", "theirs"]
    assert _weights(live) == [("InferencePool", "v1", 80), ("InferencePool", "v2", 20), ("Service", "mirror", 1)]

    again, writes = write_counter.during(["httproutes"], mine=ns, action=lambda: _route(
        ansible, ns, [{"kind": "InferencePool", "name": "v1", "weight": 80}, {"kind": "InferencePool", "name": "v2", "weight": 20}]))
    assert again["changed"] is False and writes == {"httproutes": 0}

    # a weight left out keeps its live value; a backend removed from the task is removed
    res = _route(ansible, ns, [{"kind": "InferencePool", "name": "v1"}])
    live = _get(dyn, "HTTPRoute", "chat", ns)
    assert _weights(live) == [("InferencePool", "v1", 80), ("Service", "mirror", 1)]

    # bad input: each names field and value, nothing is written
    rv = live["metadata"]["resourceVersion"]
    for backends, field, value in [
        ([{"kind": "InferencePool", "name": "v1", "weight": -5}], "spec.rules[0].backendRefs[0].weight", "-5"),
        ([{"kind": "InferencePool", "name": "v1", "weight": "ten"}], "spec.rules[0].backendRefs[0].weight", "ten"),
        ([{"kind": "Deployment", "name": "v1", "weight": 1}], "spec.rules[0].backendRefs[0].kind", "Deployment"),
        ([{"kind": "InferencePool", "name": "v9", "weight": 1}], "spec.rules[0].backendRefs[0].name", "v9"),
        ([{"kind": "InferencePool", "name": "v1", "weight": 0}], "spec.rules[0].backendRefs", "0"),
    ]:
        res = _route(ansible, ns, backends, fail_ok=True)
        assert res.get("failed") and field in res["msg"] and value in res["msg"], res["msg"]
    assert _get(dyn, "HTTPRoute", "chat", ns)["metadata"]["resourceVersion"] == rv

    # the user says zero weights are what they want
    res = _route(ansible, ns, [{"kind": "InferencePool", "name": "v1", "weight": 0}], allow_zero_weights=True)
    assert res["changed"] is True

    info = ansible.module("http_route_info", {"name": "chat", "namespace": ns})
    route = info["routes"][0]
    assert route["parents_verdict"] == "not_reported"
    chat = route["rules"][0]
    assert chat["owned"] is True and route["rules"][1]["owned"] is False
    assert [(b["name"], b["weight"], b["percent"]) for b in chat["backends"]] == [("v1", 0, 0.0), ("mirror", 1, 100.0)]
    assert chat["backends"][0]["pods"]["selected"] == 2 and chat["backends"][0]["pods"]["ready"] == 2
    assert chat["backends"][1]["owned"] is False

    # the rule removed from the task's rules (another owned one in its place): removed; theirs stays
    ansible.module("http_route", {"name": "chat", "namespace": ns, "rules": [
        {"name": "chat-v2", "backend_refs": [{"kind": "InferencePool", "name": "v2", "weight": 1}]}]})
    assert [r["name"] for r in _get(dyn, "HTTPRoute", "chat", ns)["spec"]["rules"]] == ["theirs", "chat-v2"]


def _shift_vars(ns, tmp_path, metric_url=None, **extra):
    out = {"traffic_shift_route": "chat", "traffic_shift_namespace": ns, "traffic_shift_rule": "chat",
           "traffic_shift_from": {"kind": "InferencePool", "name": "v1"},
           "traffic_shift_to": {"kind": "InferencePool", "name": "v2"},
           "traffic_shift_steps": [10, 50, 100], "traffic_shift_gate_pods_timeout": 20,
           "traffic_shift_gate_parents_timeout": 2,
           "traffic_shift_report_path": str(tmp_path / "shift")}
    if metric_url:
        out["traffic_shift_gate_metric"] = {"url": metric_url, "metric": "llm_error_ratio", "labels": {"pool": "v2"},
                                            "max": 0.01, "timeout": 2}
    out.update(extra)
    return out


def test_manual_shift_step_by_step_then_idempotent(ansible, dyn, write_counter, pools, metric, tmp_path):
    ns = pools
    _route(ansible, ns, [{"kind": "InferencePool", "name": "v1", "weight": 900}])
    # a backend the role does not own (added by someone else, carrying traffic)
    routes = _api(dyn, "HTTPRoute")
    rules = _get(dyn, "HTTPRoute", "chat", ns)["spec"]["rules"]
    rules[0]["backendRefs"].append({"group": "", "kind": "Service", "name": "mirror", "port": 80, "weight": 100})
    routes.patch(name="chat", namespace=ns, body={"spec": {"rules": rules}}, content_type="application/merge-patch+json")

    # check mode: the steps it would take, nothing written
    rv = _get(dyn, "HTTPRoute", "chat", ns)["metadata"]["resourceVersion"]
    _rc, doc = ansible.playbook(PLAYBOOK, _shift_vars(ns, tmp_path, metric.url, traffic_shift_manual=True), check=True)
    assert _get(dyn, "HTTPRoute", "chat", ns)["metadata"]["resourceVersion"] == rv
    assert "10%% to InferencePool/%s/v2" % ns in json.dumps(doc) and "then 50%" in json.dumps(doc)

    expected = [[("InferencePool", "v1", 810), ("Service", "mirror", 100), ("InferencePool", "v2", 90)],
                [("InferencePool", "v1", 450), ("Service", "mirror", 100), ("InferencePool", "v2", 450)],
                [("InferencePool", "v1", 0), ("Service", "mirror", 100), ("InferencePool", "v2", 900)]]
    for step, weights in enumerate(expected):
        _rc, doc = ansible.playbook(PLAYBOOK, _shift_vars(ns, tmp_path, metric.url, traffic_shift_manual=True))
        live = _get(dyn, "HTTPRoute", "chat", ns)
        assert _weights(live) == weights, "after run %d" % (step + 1)
        record = _record(live)
        assert record["phase"] == "progressing" and record["percent"] == [10, 50, 100][step]
    # the run after the last step evaluates its gates and completes
    ansible.playbook(PLAYBOOK, _shift_vars(ns, tmp_path, metric.url, traffic_shift_manual=True))
    record = _record(_get(dyn, "HTTPRoute", "chat", ns))
    assert record["phase"] == "completed"
    assert record["baseline"] == {"InferencePool/%s/v1" % ns: 900, "Service/%s/mirror" % ns: 100}
    gates = [g for h in record["history"] for g in (h.get("gates_before") or h.get("gates") or [])]
    assert {g["type"] for g in gates} == {"pods_ready", "route_parents", "metric"}
    assert all(g["verdict"] == "passed" for g in gates)
    report = (tmp_path / "shift.md").read_text()
    assert "| shifted | 1 | 10 |" in report and "| completed |" in report

    # rerun after completion: zero changes, zero writes
    (_rc, doc), writes = write_counter.during(["httproutes"], mine=ns, action=lambda: ansible.playbook(
        PLAYBOOK, _shift_vars(ns, tmp_path, metric.url, traffic_shift_manual=True)))
    assert _changed(doc) == 0 and writes == {"httproutes": 0}
    # the http_route task that still says the pre-shift weights does not undo the shift
    res = _route(ansible, ns, [{"kind": "InferencePool", "name": "v1", "weight": 900}])
    assert res["changed"] is False
    assert _weights(_get(dyn, "HTTPRoute", "chat", ns))[2] == ("InferencePool", "v2", 900)


def test_failing_gate_rolls_back_and_rerun_starts_from_the_record(ansible, dyn, pools, metric, tmp_path):
    ns = pools
    _route(ansible, ns, [{"kind": "InferencePool", "name": "v1", "weight": 100}])
    before = _weights(_get(dyn, "HTTPRoute", "chat", ns))
    metric.value = 0.25
    rc, doc = ansible.playbook(PLAYBOOK, _shift_vars(ns, tmp_path, metric.url), fail_ok=True)
    assert rc != 0
    msg = _failed_msg(doc)
    assert "gate failed at 10%" in msg and "0.25" in msg and "above the maximum 0.01" in msg, msg
    live = _get(dyn, "HTTPRoute", "chat", ns)
    assert _weights(live) == before        # exactly: the added target is gone again
    assert _record(live)["phase"] == "rolled_back"

    # the metric endpoint down: the gate cannot answer, the shift pauses at its step
    metric.value = None
    rc, doc = ansible.playbook(PLAYBOOK, _shift_vars(ns, tmp_path, metric.url))
    live = _get(dyn, "HTTPRoute", "chat", ns)
    assert rc == 0 and _record(live)["phase"] == "paused" and _record(live)["percent"] == 10
    assert _weights(live) == [("InferencePool", "v1", 90), ("InferencePool", "v2", 10)]
    assert "HTTP 503" in _record(live)["reason"]

    # the endpoint back: the rerun goes on from the recorded step to the end
    metric.value = 0.001
    ansible.playbook(PLAYBOOK, _shift_vars(ns, tmp_path, metric.url))
    live = _get(dyn, "HTTPRoute", "chat", ns)
    assert _record(live)["phase"] == "completed"
    assert _weights(live) == [("InferencePool", "v1", 0), ("InferencePool", "v2", 100)]
    events = [h["event"] for h in _record(live)["history"]]
    assert events[-4:] == ["paused", "shifted", "shifted", "completed"], events


def _set_status(dyn, ns, conditions, generation=None):
    route = _get(dyn, "HTTPRoute", "chat", ns)
    gen = route["metadata"]["generation"] if generation is None else generation
    status = {"parents": [{"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "inference-gateway"},
                           "controllerName": "example.com/gateway-controller",
                           "conditions": [{"type": t, "status": s, "reason": r, "message": "set by the test",
                                           "observedGeneration": gen, "lastTransitionTime": "2026-12-01T00:00:00Z"}
                                          for t, s, r in conditions]}]}
    _api(dyn, "HTTPRoute").status.patch(name="chat", namespace=ns, body={"status": status},
                                        content_type="application/merge-patch+json")


def test_route_status_gate_and_rollback_on_it(ansible, dyn, pools, tmp_path):
    ns = pools
    _route(ansible, ns, [{"kind": "InferencePool", "name": "v1", "weight": 100}])
    gate = {"namespace": ns, "route_parents": {"route": "chat", "timeout": 2}}
    res = ansible.module("traffic_gate", gate)
    assert res["verdict"] == "passed" and "skipped" in res["answer"]

    _set_status(dyn, ns, [("Accepted", "True", "Accepted"), ("ResolvedRefs", "True", "ResolvedRefs")])
    assert ansible.module("traffic_gate", gate)["verdict"] == "passed"
    _set_status(dyn, ns, [("Accepted", "True", "Accepted"), ("ResolvedRefs", "False", "BackendNotFound")])
    res = ansible.module("traffic_gate", gate)
    assert res["verdict"] == "failed" and "BackendNotFound" in res["answer"]
    _set_status(dyn, ns, [("Accepted", "True", "Accepted"), ("ResolvedRefs", "True", "ResolvedRefs")], generation=0)
    res = ansible.module("traffic_gate", gate)
    assert res["verdict"] == "unknown" and "not the current one" in res["answer"]

    # the role: the controller says a backend does not resolve after the first step - rolled back
    _set_status(dyn, ns, [("Accepted", "True", "Accepted"), ("ResolvedRefs", "False", "BackendNotFound")], generation=99)
    rc, doc = ansible.playbook(PLAYBOOK, _shift_vars(ns, tmp_path), fail_ok=True)
    assert rc != 0 and "BackendNotFound" in _failed_msg(doc)
    live = _get(dyn, "HTTPRoute", "chat", ns)
    assert _weights(live) == [("InferencePool", "v1", 100)] and _record(live)["phase"] == "rolled_back"

    # pods gate: a count and a percentage
    res = ansible.module("traffic_gate", {"namespace": ns, "pods_ready": {"name": "v2", "min_ready": 3, "timeout": 1}})
    assert res["verdict"] == "failed" and "2 of 2" in res["answer"]
    res = ansible.module("traffic_gate", {"namespace": ns, "pods_ready": {"name": "v2", "min_ready": "100%"}})
    assert res["verdict"] == "passed"


def test_traffic_shift_bad_input_writes_nothing(ansible, dyn, pools):
    ns = pools
    _route(ansible, ns, [{"kind": "InferencePool", "name": "v1", "weight": 100}])
    rv = _get(dyn, "HTTPRoute", "chat", ns)["metadata"]["resourceVersion"]
    base = {"route": "chat", "namespace": ns, "from_backend": {"kind": "InferencePool", "name": "v1"},
            "to_backend": {"kind": "InferencePool", "name": "v2"}}
    for extra, text in [
        ({"steps": [50, 25]}, "steps[1]"),
        ({"steps": [10, "x"]}, "steps[1]"),
        ({"steps": [0, 100]}, "steps[0]"),
        ({"to_backend": {"kind": "Deployment", "name": "v2"}}, "to_backend.kind"),
        ({"to_backend": {"kind": "InferencePool", "name": "v9"}}, "v9"),
        ({"from_backend": {"kind": "InferencePool", "name": "v7"}}, "v7"),
    ]:
        args = dict(base)
        args.update(extra)
        res = ansible.module("traffic_shift", args, fail_ok=True)
        assert res.get("failed") and text in res["msg"], res["msg"]
    assert _get(dyn, "HTTPRoute", "chat", ns)["metadata"]["resourceVersion"] == rv
    # check mode: the step and the plan, nothing written
    res = ansible.module("traffic_shift", base, check=True, diff=True)
    assert res["changed"] is True and res["event"] == "shifted" and [s["percent"] for s in res["plan"]] == [25, 50, 100]
    assert res["diff"]["after"]["weights"]["InferencePool/%s/v2" % ns] == 10
    assert _get(dyn, "HTTPRoute", "chat", ns)["metadata"]["resourceVersion"] == rv
