#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: traffic_shift
short_description: Shift the traffic of an HTTPRoute rule from one InferencePool or Service to another, a step at a time
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - One action of a stepwise traffic shift between two backends of one rule of a Gateway API C(HTTPRoute). The role
    C(gpuaas.orchestration.traffic_shift) runs the steps with gates between them; this module takes one step, pauses,
    rolls back, or reports.
  - The shift keeps its record on the route, in the annotation C(traffic-shift.gpuaas.io/<rule name>) - the weights
    of the rule's backends before the first step, the steps, the step reached, the phase (C(progressing), C(paused),
    C(completed), C(rolled_back)) and the history of each step (weights, gate results, times). Weights and record
    are written together in one request, with the resourceVersion read as a precondition, so a concurrent edit of
    the route is never overwritten and a rerun always starts from what is recorded.
  - At a step of C(p) percent, the target gets C(p) percent of what source and target carried together before the
    shift, the source the rest; other backends of the rule keep their weights. A rollback restores the recorded
    weights exactly and removes the target when the shift added it.
  - A backend is C(Kind/namespace/name); the rule is O(rule), else the one rule that has O(from_backend), else the
    only rule.
options:
  route:
    description: Name of the HTTPRoute.
    type: str
    required: true
  namespace:
    description: Namespace of the route.
    type: str
    required: true
  rule:
    description: The rule, by its name (or its index in C(spec.rules)).
    type: str
  action:
    description:
      - C(step) - with no shift on the rule (or after a rollback, a completed shift of other backends, or with
        O(restart)) record the weights and take the first step; with a shift in progress (or paused) take the next
        step; after the last step mark the shift completed. A completed shift of the same backends and steps changes
        nothing.
      - C(pause) - record that a gate could not answer (O(reason), O(gates)); the weights stay.
      - C(rollback) - restore the weights recorded before the first step, phase C(rolled_back).
      - C(status) - write nothing; report the record, the weights and the steps still to take.
    type: str
    choices: [step, pause, rollback, status]
    default: step
  from_backend:
    description: The backend traffic moves away from (it must be a backend of the rule). Required with O(action=step).
    type: dict
    suboptions:
      name:
        description: Name of the InferencePool or Service.
        type: str
        required: true
      kind:
        description: C(InferencePool) or C(Service) (the Gateway API's default).
        type: str
        default: Service
      namespace:
        description: Namespace of the backend (default the route's).
        type: str
  to_backend:
    description:
      - The backend traffic moves to. When the rule does not have it yet, the first step adds it (and a rollback
        removes it again). Required with O(action=step).
    type: dict
    suboptions:
      name:
        description: Name of the InferencePool or Service.
        type: str
        required: true
      kind:
        description: C(InferencePool) or C(Service) (the Gateway API's default).
        type: str
        default: Service
      namespace:
        description: Namespace of the backend (default the route's).
        type: str
      port:
        description: Port of a Service backend (required to add a Service).
        type: raw
  steps:
    description:
      - The percentages of the traffic the target gets, step by step - integers from 1 to 100, strictly increasing.
    type: list
    elements: raw
    default: [10, 25, 50, 100]
  name:
    description: A name for the shift in its record and report (default C(<from> -> <to>)).
    type: str
  restart:
    description: Start a new shift from the live weights even though another one is in progress on the rule.
    type: bool
    default: false
  reason:
    description: Why the shift pauses or rolls back (recorded, and in the report).
    type: str
  gates:
    description:
      - Results of the gates evaluated before this action (the RV(gpuaas.orchestration.traffic_gate#module:gates)
        of M(gpuaas.orchestration.traffic_gate)), recorded in the history.
    type: list
    elements: dict
  require_backend:
    description: Refuse to add O(to_backend) when it does not exist in its namespace.
    type: bool
    default: true
  report_path:
    description:
      - Write the record as C(<report_path>.json) and a Markdown report C(<report_path>.md) on the controller (not in
        check mode).
    type: path
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpuaas.orchestration.attributes
notes:
  - Check mode sends the write as a server-side dry run and returns the step it would take and RV(plan), the steps after it.
  - In diff mode, the weights of the rule before and after.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Next step of the shift from llama3-8b-v1 to llama3-8b-v2
  gpuaas.orchestration.traffic_shift:
    route: llama3-chat
    namespace: inference
    rule: chat
    from_backend: {kind: InferencePool, name: llama3-8b-v1}
    to_backend: {kind: InferencePool, name: llama3-8b-v2}
    steps: [10, 25, 50, 100]
  register: shift

- name: Roll back to the weights before the shift
  gpuaas.orchestration.traffic_shift:
    route: llama3-chat
    namespace: inference
    rule: chat
    action: rollback
    reason: error rate above 1 %

- name: Where is the shift?
  gpuaas.orchestration.traffic_shift:
    route: llama3-chat
    namespace: inference
    rule: chat
    action: status
"""

RETURN = r"""
changed:
  description: Whether the route was (or in check mode would be) written.
  returned: always
  type: bool
event:
  description: What this action did - C(shifted), C(completed), C(paused), C(rolled_back), or null when nothing.
  returned: always
  type: str
  sample: shifted
phase:
  description: The phase of the shift after the action (null when the rule has none).
  returned: always
  type: str
  sample: progressing
percent:
  description: The percentage the target has after the action.
  returned: always
  type: int
  sample: 25
message:
  description: What happened, in one line.
  returned: always
  type: str
  sample: "step 2 of 4: 25% to InferencePool/inference/llama3-8b-v2 (weights ...)"
rule:
  description: The rule after the action - C(index), C(key), C(name), and C(backends) (C(key), C(weight), C(percent)).
  returned: always
  type: dict
record:
  description: The shift's record after the action (baseline, steps, step, phase, history).
  returned: always
  type: dict
plan:
  description: The steps still to take after this one - C(step) (0-based), C(percent), C(weights).
  returned: always
  type: list
  elements: dict
report:
  description: The files written with O(report_path) (C(json), C(markdown)).
  returned: with O(report_path)
  type: dict
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import report as core_report
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import kind_for
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ErrorCollector,
    GpuaasError,
    raise_all,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.http_route import check_backend, render_backend
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import shift as sh
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.shift_runner import run_action

BACKEND = dict(name=dict(type="str", required=True), kind=dict(type="str", default="Service"),
               namespace=dict(type="str"))


def _steps(values):
    """Steps as given (a string of digits from templating becomes an int; anything else is refused
    by ``steps_errors`` naming it)."""
    out = []
    for s in values or []:
        out.append(int(s) if isinstance(s, str) and s.strip().isdigit() else s)
    return out


def validate(p):
    errs = ErrorCollector()
    want = {"name": p.get("name"), "rule": p.get("rule"), "restart": p["restart"], "reason": p.get("reason"),
            "gates": p.get("gates") or [], "steps": _steps(p["steps"])}
    errs.extend(sh.steps_errors(want["steps"]))
    for opt in ("from_backend", "to_backend"):
        b = p.get(opt)
        if b is None:
            if p["action"] == "step":
                errs.add(opt, None, "is required with action step")
            continue
        ref = render_backend(b)
        check_backend(errs, opt, ref, port_required=False)
        want["source" if opt == "from_backend" else "target"] = ref
    raise_all(errs.errors)
    return want


def body(m):
    p = m.params
    want = validate(p)
    client = m.client
    if p["action"] == "step" and p["require_backend"]:
        t = want["target"]
        ns = t.get("namespace") or p["namespace"]
        if client.get(kind_for(t["kind"]), t["name"], ns) is None:
            raise GpuaasError("to_backend: there is no %s %r in namespace %s" % (t["kind"], t["name"], ns))
    changed, rep, after = run_action(client, p["action"], p["namespace"], p["route"], want, check_mode=m.check_mode)
    before = rep.pop("weights_before")
    result = dict(changed=changed, **rep)
    if changed and m.diff_mode:
        result["diff"] = {"before": {"weights": before, "record": rep.pop("record_before")},
                          "after": {"weights": dict((b["key"], b["weight"]) for b in rep["rule"]["backends"]),
                                    "record": rep["record"]}}
    result.pop("record_before", None)
    if p.get("report_path") and not m.check_mode:
        route_ref = "HTTPRoute %s/%s" % (p["namespace"], p["route"])
        result["report"] = core_report.write_report(
            {"route": route_ref, "rule": rep["rule"], "record": rep["record"]}, p["report_path"],
            sh.render_report_markdown(route_ref, rep["record"]))
    return result


def main():
    module = GpuaasModule(dict(
        route=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        rule=dict(type="str"),
        action=dict(type="str", default="step", choices=["step", "pause", "rollback", "status"]),
        from_backend=dict(type="dict", options=BACKEND),
        to_backend=dict(type="dict", options=dict(BACKEND, port=dict(type="raw"))),
        steps=dict(type="list", elements="raw", default=[10, 25, 50, 100]),
        name=dict(type="str"),
        restart=dict(type="bool", default=False),
        reason=dict(type="str"),
        gates=dict(type="list", elements="dict"),
        require_backend=dict(type="bool", default=True),
        report_path=dict(type="path"),
    ))
    module.run(body)


if __name__ == "__main__":
    main()
