# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ApiError, WaitTimeout
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import wait_for
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import gates as g
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.backends import backend_pods
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import HTTP_ROUTE
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.status import parents_verdict

POLL_SECONDS = 2.0


def _result(name, gtype, verdict, answer, observed, started, clock):
    return {"name": name, "type": gtype, "verdict": verdict, "answer": answer, "observed": observed,
            "seconds": round(clock() - started, 1)}


def _poll(observe, settled, timeout, clock, sleep):
    """``observe()`` until ``settled(answer)`` or ``timeout`` seconds (core.wait's bounded loop);
    the last answer either way: a gate reports what it saw, it does not raise."""
    last = []

    def fetch():
        last[:] = [observe()]
        return last[0]
    try:
        return wait_for(fetch, settled, timeout, "a gate's answer", interval=POLL_SECONDS, clock=clock, sleep=sleep)
    except WaitTimeout:
        return last[0]


def pods_gate(client, spec, clock=time.monotonic, sleep=time.sleep):
    kind, name, ns = spec.get("kind") or "InferencePool", spec["name"], spec["namespace"]
    gate_name = spec.get("gate_name") or "pods_ready %s/%s/%s" % (kind, ns, name)
    min_ready = spec.get("min_ready", "100%")
    started = clock()

    def observe():
        seen = backend_pods(client, kind, name, ns)
        if not seen["found"]:
            return seen, "failed", "%s %s/%s does not exist" % (kind, ns, name)
        return (seen,) + g.pods_verdict(seen["selected"], seen["ready"], min_ready)

    seen, verdict, answer = _poll(observe, lambda a: a[1] == "passed", int(spec.get("timeout") or 0), clock, sleep)
    if verdict != "passed" and spec.get("timeout"):
        answer += " after %ss" % spec["timeout"]
    return _result(gate_name, "pods_ready", verdict, answer, seen, started, clock)


def parents_gate(client, spec, clock=time.monotonic, sleep=time.sleep):
    name, ns = spec["route"], spec["namespace"]
    gate_name = spec.get("gate_name") or "route_parents HTTPRoute/%s/%s" % (ns, name)
    started = clock()

    def observe():
        route = client.get(HTTP_ROUTE, name, ns)
        if route is None:
            return None, "failed", "HTTPRoute %s/%s does not exist" % (ns, name)
        observed = {"generation": route["metadata"].get("generation"),
                    "parents": len((route.get("status") or {}).get("parents") or [])}
        return (observed,) + parents_verdict(route)

    # pending (Unknown, or judged for an older generation) is the only answer worth waiting out
    observed, verdict, answer = _poll(observe, lambda a: a[1] != "pending", int(spec.get("timeout") or 0), clock, sleep)
    if verdict == "not_reported":
        return _result(gate_name, "route_parents", "passed", "skipped: " + answer, observed, started, clock)
    if verdict == "pending":
        return _result(gate_name, "route_parents", "unknown",
                       "no answer within %ss: %s" % (spec.get("timeout") or 0, answer), observed, started, clock)
    return _result(gate_name, "route_parents", verdict, answer, observed, started, clock)


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
