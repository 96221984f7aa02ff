#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: traffic_gate
short_description: The gates between the steps of a traffic shift - pods Ready, route status, a metric against a threshold
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Evaluates the gates given and answers a verdict for each and for all of them - C(passed) (go on), C(failed) (the
    gate said no - roll back), or C(unknown) (the gate could not answer - pause, shift no further, ask again on the
    next run). The task itself does not fail on a verdict; M(gpuaas.orchestration.traffic_shift) and the role
    C(gpuaas.orchestration.traffic_shift) act on it.
  - O(pods_ready) - the pods an InferencePool (or Service) selects are Ready, a count or a percentage, waiting up to
    its timeout. Not enough Ready pods at the timeout is C(failed).
  - O(route_parents) - the route's parents report C(Accepted) and C(ResolvedRefs) C(True) for its current generation.
    Without a gateway controller nobody reports them - C(passed), marked C(skipped). A C(False) condition is
    C(failed); no judgement of the current generation within the timeout is C(unknown).
  - O(metric) - one HTTP GET of a metrics endpoint (Prometheus text format, or JSON), the value compared with
    O(metric.min) and O(metric.max). Out of bounds is C(failed); an endpoint that does not answer, a non-2xx answer,
    or a metric that is not there is C(unknown).
options:
  namespace:
    description: Namespace of the gates' objects, unless a gate gives its own.
    type: str
  pods_ready:
    description: Gate on the Ready pods of a backend.
    type: dict
    suboptions:
      name:
        description: Name of the InferencePool or Service.
        type: str
        required: true
      kind:
        description: C(InferencePool) or C(Service).
        type: str
        choices: [InferencePool, Service]
        default: InferencePool
      namespace:
        description: Its namespace (default O(namespace)).
        type: str
      min_ready:
        description: How many selected pods must be Ready, a number (C(2)) or a percentage (C("100%")); at least one.
        type: raw
        default: "100%"
      timeout:
        description: Seconds to wait for them.
        type: int
        default: 60
  route_parents:
    description: Gate on the status a gateway controller reports on the route.
    type: dict
    suboptions:
      route:
        description: Name of the HTTPRoute.
        type: str
        required: true
      namespace:
        description: Its namespace (default O(namespace)).
        type: str
      timeout:
        description: Seconds to wait for the controller to judge the current generation.
        type: int
        default: 30
  metric:
    description: Gate on a metric served over HTTP.
    type: dict
    suboptions:
      url:
        description: The endpoint (C(http://) or C(https://)).
        type: str
        required: true
      format:
        description: C(prometheus) (the text exposition format) or C(json).
        type: str
        choices: [prometheus, json]
        default: prometheus
      metric:
        description: Name of the metric (with O(metric.format=prometheus)).
        type: str
      labels:
        description: Only the samples with these label values.
        type: dict
      aggregate:
        description: How the matching samples become one value.
        type: str
        choices: [sum, max, min, avg, count]
        default: sum
      json_path:
        description: Dotted path to the value in the JSON answer (with O(metric.format=json)), for example C(data.result.0.value.1).
        type: str
      min:
        description: The value must be at least this.
        type: float
      max:
        description: The value must be at most this.
        type: float
      timeout:
        description: Seconds the HTTP request may take.
        type: int
        default: 5
      headers:
        description: HTTP headers (for example an C(Authorization) header; not logged).
        type: dict
      validate_certs:
        description: Verify the server's TLS certificate.
        type: bool
        default: true
      name:
        description: The gate's name in results and reports (default C(metric <metric>)).
        type: str
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpuaas.orchestration.attributes.INFO
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Gates after a step
  gpuaas.orchestration.traffic_gate:
    namespace: inference
    pods_ready: {name: llama3-8b-v2, min_ready: "100%", timeout: 300}
    route_parents: {route: llama3-chat}
    metric:
      url: http://prometheus.monitoring:9090/metrics
      metric: llama_request_errors_ratio
      labels: {pool: llama3-8b-v2}
      max: 0.01
  register: gate

- name: Stop when a gate says no
  ansible.builtin.fail:
    msg: "{{ gate.answer }}"
  when: gate.verdict == 'failed'
"""

RETURN = r"""
verdict:
  description: C(failed) when a gate failed, else C(unknown) when one could not answer, else C(passed).
  returned: always
  type: str
  sample: passed
answer:
  description: The answers of the gates that decide the verdict, in one line.
  returned: always
  type: str
gates:
  description: Per gate C(name), C(type), C(verdict), C(answer), C(observed) (what it saw last) and C(seconds).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: pods_ready InferencePool/inference/llama3-8b-v2, type: pods_ready, verdict: passed,
       answer: "2 of 2 selected pods are Ready (need 100%)"}
"""

from ansible.module_utils.urls import open_url

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector, raise_all
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import gate_runner
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.gates import combine, min_ready_problem


def fetch(url, headers, timeout, validate_certs):
    try:
        resp = open_url(url, headers=headers, timeout=timeout, validate_certs=validate_certs)
    except Exception as e:
        code = getattr(e, "code", None)
        if code is not None:
            return code, ""
        raise
    return resp.getcode(), resp.read().decode("utf-8", "replace")


def validate(p):
    errs = ErrorCollector()
    ns = p.get("namespace")
    if not (p.get("pods_ready") or p.get("route_parents") or p.get("metric")):
        errs.add("pods_ready", None, "give at least one gate: pods_ready, route_parents or metric")
    pr = p.get("pods_ready")
    if pr:
        problem = min_ready_problem(pr["min_ready"])
        errs.check(problem is None, "pods_ready.min_ready", pr["min_ready"], problem)
        v.check_name(errs, "pods_ready.name", pr["name"])
        errs.check(bool(pr.get("namespace") or ns), "pods_ready.namespace", None, "is required (or set namespace)")
        errs.check(pr["timeout"] >= 0, "pods_ready.timeout", pr["timeout"], "must not be negative")
    rp = p.get("route_parents")
    if rp:
        v.check_name(errs, "route_parents.route", rp["route"])
        errs.check(bool(rp.get("namespace") or ns), "route_parents.namespace", None, "is required (or set namespace)")
        errs.check(rp["timeout"] >= 0, "route_parents.timeout", rp["timeout"], "must not be negative")
    mt = p.get("metric")
    if mt:
        errs.check(mt["url"].startswith(("http://", "https://")), "metric.url", mt["url"], "must be an http:// or https:// URL")
        if mt["format"] == "prometheus":
            errs.check(bool(mt.get("metric")), "metric.metric", mt.get("metric"), "is required with format prometheus")
        else:
            errs.check(bool(mt.get("json_path")), "metric.json_path", mt.get("json_path"), "is required with format json")
        errs.check(mt.get("min") is not None or mt.get("max") is not None, "metric.max", None,
                   "give a threshold: min, max or both")
        if mt.get("min") is not None and mt.get("max") is not None:
            errs.check(mt["min"] <= mt["max"], "metric.min", mt["min"], "must not be above metric.max (%s)" % mt["max"])
    raise_all(errs.errors)


def body(m):
    p = m.params
    validate(p)
    ns = p.get("namespace")
    results = []
    if p.get("pods_ready"):
        spec = dict(p["pods_ready"], namespace=p["pods_ready"].get("namespace") or ns)
        results.append(gate_runner.pods_gate(m.client, spec))
    if p.get("route_parents"):
        spec = dict(p["route_parents"], namespace=p["route_parents"].get("namespace") or ns)
        results.append(gate_runner.parents_gate(m.client, spec))
    if p.get("metric"):
        spec = dict(p["metric"], gate_name=p["metric"].get("name"))
        results.append(gate_runner.metric_gate(fetch, spec))
    verdict = combine(r["verdict"] for r in results)
    deciding = [r for r in results if r["verdict"] == verdict] if verdict != "passed" else results
    return {"changed": False, "verdict": verdict, "gates": results,
            "answer": "; ".join("%s: %s" % (r["name"], r["answer"]) for r in deciding)}


def main():
    module = GpuaasModule(dict(
        namespace=dict(type="str"),
        pods_ready=dict(type="dict", options=dict(
            name=dict(type="str", required=True),
            kind=dict(type="str", default="InferencePool", choices=["InferencePool", "Service"]),
            namespace=dict(type="str"),
            min_ready=dict(type="raw", default="100%"),
            timeout=dict(type="int", default=60),
        )),
        route_parents=dict(type="dict", options=dict(
            route=dict(type="str", required=True),
            namespace=dict(type="str"),
            timeout=dict(type="int", default=30),
        )),
        metric=dict(type="dict", options=dict(
            url=dict(type="str", required=True),
            format=dict(type="str", default="prometheus", choices=["prometheus", "json"]),
            metric=dict(type="str"),
            labels=dict(type="dict"),
            aggregate=dict(type="str", default="sum", choices=["sum", "max", "min", "avg", "count"]),
            json_path=dict(type="str"),
            min=dict(type="float"),
            max=dict(type="float"),
            timeout=dict(type="int", default=5),
            headers=dict(type="dict", no_log=True),
            validate_certs=dict(type="bool", default=True),
            name=dict(type="str"),
        )),
    ))
    module.run(body)


if __name__ == "__main__":
    main()
