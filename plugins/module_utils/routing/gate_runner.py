# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API and HTTP edge of the gates (verdicts in ``gates``): each gate polls until it has an
answer or its timeout passes, and its result says what it saw last.

Public API
----------
``pods_gate(client, spec, clock, sleep)``, ``parents_gate(client, spec, clock, sleep)``,
``metric_gate(fetch, spec)`` -> ``{"name", "type", "verdict", "answer", "observed", "seconds"}``;
``fetch`` is ``fetch(url, headers, timeout, validate_certs) -> (status, text)`` and raises on a
connection error.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ApiError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import gates as g
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.backends import backend_pods
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import HTTP_ROUTE
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.status import parents_verdict

POLL_SECONDS = 2.0


def _result(name, gtype, verdict, answer, observed, started, clock):
    return {"name": name, "type": gtype, "verdict": verdict, "answer": answer, "observed": observed,
            "seconds": round(clock() - started, 1)}


def pods_gate(client, spec, clock=time.monotonic, sleep=time.sleep):
    kind, name, ns = spec.get("kind") or "InferencePool", spec["name"], spec["namespace"]
    gate_name = spec.get("gate_name") or "pods_ready %s/%s/%s" % (kind, ns, name)
    min_ready = spec.get("min_ready", "100%")
    started = clock()
    deadline = started + max(0, int(spec.get("timeout") or 0))
    while True:
        seen = backend_pods(client, kind, name, ns)
        if not seen["found"]:
            verdict, answer = "failed", "%s %s/%s does not exist" % (kind, ns, name)
        else:
            verdict, answer = g.pods_verdict(seen["selected"], seen["ready"], min_ready)
        if verdict == "passed" or clock() >= deadline:
            if verdict != "passed" and spec.get("timeout"):
                answer += " after %ss" % spec["timeout"]
            return _result(gate_name, "pods_ready", verdict, answer, seen, started, clock)
        sleep(min(POLL_SECONDS, max(0.1, deadline - clock())))


def parents_gate(client, spec, clock=time.monotonic, sleep=time.sleep):
    name, ns = spec["route"], spec["namespace"]
    gate_name = spec.get("gate_name") or "route_parents HTTPRoute/%s/%s" % (ns, name)
    started = clock()
    deadline = started + max(0, int(spec.get("timeout") or 0))
    while True:
        route = client.get(HTTP_ROUTE, name, ns)
        if route is None:
            return _result(gate_name, "route_parents", "failed", "HTTPRoute %s/%s does not exist" % (ns, name),
                           None, started, clock)
        verdict, answer = parents_verdict(route)
        observed = {"generation": route["metadata"].get("generation"),
                    "parents": len((route.get("status") or {}).get("parents") or [])}
        if verdict == "not_reported":
            return _result(gate_name, "route_parents", "passed", "skipped: " + answer, observed, started, clock)
        if verdict in ("passed", "failed"):
            return _result(gate_name, "route_parents", verdict, answer, observed, started, clock)
        if clock() >= deadline:
            return _result(gate_name, "route_parents", "unknown",
                           "no answer within %ss: %s" % (spec.get("timeout") or 0, answer), observed, started, clock)
        sleep(min(POLL_SECONDS, max(0.1, deadline - clock())))


def metric_gate(fetch, spec, clock=time.monotonic):
    url = spec["url"]
    what = spec.get("metric") or spec.get("json_path") or "value"
    gate_name = spec.get("gate_name") or "metric %s" % what
    started = clock()

    def result(verdict, answer, observed=None):
        return _result(gate_name, "metric", verdict, answer, observed, started, clock)

    try:
        status, text = fetch(url, spec.get("headers") or {}, spec.get("timeout") or 5, spec.get("validate_certs", True))
    except ApiError as e:
        return result("unknown", "%s did not answer: %s" % (url, e))
    except Exception as e:  # a gate that cannot answer pauses the shift: it must never raise
        return result("unknown", "%s did not answer: %s: %s" % (url, type(e).__name__, e))
    if status is None or not 200 <= int(status) < 300:
        return result("unknown", "%s answered HTTP %s" % (url, status), {"status": status})
    try:
        if (spec.get("format") or "prometheus") == "json":
            value = g.to_number(g.json_value(json.loads(text), spec["json_path"]))
            values = [value]
        else:
            values = g.select_samples(g.parse_prometheus(text), spec["metric"], spec.get("labels"))
            value = g.aggregate(values, spec.get("aggregate") or "sum")
    except (KeyError, IndexError, ValueError, TypeError) as e:
        return result("unknown", "%s: cannot read %s from the answer (%s: %s)" % (url, what, type(e).__name__, e))
    if value is None:
        return result("unknown", "%s: no sample of %s%s" % (
            url, what, " with labels %s" % json.dumps(spec.get("labels"), sort_keys=True) if spec.get("labels") else ""))
    verdict, answer = g.threshold_verdict(value, spec.get("min"), spec.get("max"), what=what)
    return result(verdict, answer, {"value": value, "samples": len(values)})
