# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What one ``traffic_shift`` action does to a route, decided from the route as read (pure).

``decide(action, route, want, now)`` returns a ``Decision``: the rules to write (or None), the
record to write (or None), and what to report. The edge (``shift_runner``) reads the route,
decides, and writes both in one request with the resourceVersion it read as a precondition; on a
409 it reads and decides again, so a concurrent edit is never overwritten.

``want``: ``{"name", "rule", "source": backendRef, "target": backendRef, "steps", "restart",
"reason", "gates"}`` (backendRefs as rendered by ``kinds.http_route.render_backend``).

Actions
-------
``status``    nothing written: the record, the weights, the plan of the steps still to take.
``step``      no shift (or the last one rolled back, or ``restart``): record the baseline and take
              the first step; a shift in progress: take the next step (its gates, passed in
              ``gates``, are recorded with it); after the last step: mark it completed. A completed
              shift of the same backends and steps: nothing to do.
``pause``     a gate could not answer: the phase becomes ``paused`` (the weights stay); the next
              run evaluates the gates again.
``rollback``  the baseline weights restored exactly (an added target removed), phase ``rolled_back``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import GpuaasError, raise_all
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import shift as sh
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import (
    backend_key,
    describe_rule,
    find_rule,
    rule_key,
    rule_percentages,
)

ACTIONS = ("status", "step", "pause", "rollback")


class Decision(object):
    def __init__(self, route, index, rule, record, rules=None, new_record=None, event=None, message=""):
        self.route = route
        self.index = index
        self.rule = rule
        self.record = record            # as read
        self.rules = rules              # the whole spec.rules to write, or None
        self.new_record = new_record    # the record to write, or None
        self.event = event              # shifted, completed, paused, rolled_back, begun, None
        self.message = message

    @property
    def writes(self):
        return self.rules is not None or self.new_record is not None


def _route_ref(route):
    meta = route.get("metadata") or {}
    return "HTTPRoute %s/%s" % (meta.get("namespace"), meta.get("name"))


def read_record(route, key):
    ann = ((route.get("metadata") or {}).get("annotations") or {})
    return sh.decode(ann.get(sh.annotation_for(key)))


def _compact_gates(gates):
    out = []
    for g in gates or []:
        if not isinstance(g, dict):
            continue
        out.append({"name": g.get("name"), "type": g.get("type"), "verdict": g.get("verdict"),
                    "answer": str(g.get("answer") or "")[:300]})
    return out


def _rules_with(route, index, rule):
    rules = copy.deepcopy((route.get("spec") or {}).get("rules") or [])
    rules[index] = rule
    return rules


def _check_drift(route_ref, record, rule, namespace):
    """The pair's live weights must be what the shift set: a change made outside the shift is
    not silently overwritten by the next step."""
    if record.get("step", -1) < 0:
        return
    expected = sh.weights_at(record, record["percent"])
    live = sh.rule_weights(rule, namespace)
    drift = ["%s is %s (the shift set %s)" % (k, live.get(k, "absent"), w) for k, w in sorted(expected.items())
             if live.get(k) != w]
    if drift:
        raise GpuaasError("%s: the weights of the shift's backends were changed outside it: %s; roll the shift "
                          "back (action: rollback) or start it again from the live weights (restart: true)"
                          % (route_ref, "; ".join(drift)))


def _begin(route, index, rule, want, now, namespace):
    route_ref = _route_ref(route)
    source = backend_key(want["source"], namespace)
    target = backend_key(want["target"], namespace)
    if source == target:
        raise GpuaasError("from_backend and to_backend are the same backend (%s)" % source)
    baseline = sh.baseline_of(rule, namespace)
    if source not in baseline:
        raise GpuaasError("%s %s has no backend %s to shift traffic from (its backends: %s)" % (
            route_ref, describe_rule(index, rule), source, ", ".join(sorted(baseline)) or "none"))
    total = sh.pair_total(baseline, source, target, want["steps"])
    t = want["target"]
    if target not in baseline and (t.get("kind") or "Service") == "Service" and t.get("port") is None:
        raise GpuaasError("to_backend.port is required: the first step adds Service %s to %s %s, and a Service "
                          "backend needs its port" % (t.get("name"), route_ref, describe_rule(index, rule)))
    name = want.get("name") or "%s -> %s" % (source, target)
    return sh.new_record(name, rule_key(rule), source, target, want["steps"], baseline, total, now)


def _take_step(route, index, rule, record, want, now, namespace, gates):
    i = record.get("step", -1) + 1
    percent = record["steps"][i]
    weights = sh.weights_at(record, percent)
    new_rule = sh.apply_weights(rule, weights, namespace, add=want.get("target"))
    rec = copy.deepcopy(record)
    rec.update(step=i, percent=percent, phase="progressing", updated_at=now, reason=None)
    sh.add_history(rec, {"event": "shifted", "step": i, "percent": percent, "weights": weights, "at": now,
                         "gates_before": gates})
    return Decision(route, index, rule, record, rules=_rules_with(route, index, new_rule), new_record=rec,
                    event="shifted", message="step %d of %d: %d%% to %s (weights %s)" % (
                        i + 1, len(record["steps"]), percent, record["to"],
                        ", ".join("%s=%s" % kv for kv in sorted(weights.items()))))


def decide(action, route, want, now):
    if action not in ACTIONS:
        raise GpuaasError("action must be one of %s, not %r" % (", ".join(ACTIONS), action))
    meta = route.get("metadata") or {}
    namespace = meta.get("namespace")
    route_ref = _route_ref(route)
    source = backend_key(want["source"], namespace) if want.get("source") else None
    index, rule = find_rule(route, want.get("rule"), backend=source)
    key = rule_key(rule)
    record = read_record(route, key)
    gates = _compact_gates(want.get("gates"))

    if action == "status":
        return Decision(route, index, rule, record, message="status of %s" % describe_rule(index, rule))

    if action == "rollback":
        if record is None or record.get("phase") == "rolled_back":
            return Decision(route, index, rule, record, message="no traffic shift to roll back on %s %s" % (
                route_ref, describe_rule(index, rule)) if record is None else "already rolled back")
        restored = sh.restore_baseline(rule, record, namespace)
        weights = sh.rule_weights(restored, namespace)
        rec = copy.deepcopy(record)
        rec.update(phase="rolled_back", updated_at=now, reason=want.get("reason"), percent=0)
        sh.add_history(rec, {"event": "rolled_back", "step": record.get("step"), "at": now, "weights": weights,
                             "reason": want.get("reason"), "gates": gates})
        return Decision(route, index, rule, record, rules=_rules_with(route, index, restored), new_record=rec,
                        event="rolled_back", message="rolled back to the weights before the shift: %s" % ", ".join(
                            "%s=%s" % kv for kv in sorted(weights.items())))

    if action == "pause":
        if record is None or record.get("phase") not in sh.ACTIVE_PHASES:
            raise GpuaasError("%s %s has no traffic shift in progress to pause" % (route_ref, describe_rule(index, rule)))
        rec = copy.deepcopy(record)
        rec.update(phase="paused", updated_at=now, reason=want.get("reason"))
        sh.add_history(rec, {"event": "paused", "step": record.get("step"), "percent": record.get("percent"),
                             "at": now, "reason": want.get("reason"), "gates": gates})
        return Decision(route, index, rule, record, new_record=rec, event="paused",
                        message="paused at %s%%: %s" % (record.get("percent"), want.get("reason") or "no reason given"))

    # step
    raise_all(sh.steps_errors(want.get("steps")))
    target = backend_key(want["target"], namespace)
    same = sh.same_shift(record, source, target, want["steps"])
    phase = (record or {}).get("phase")
    if record is not None and phase in sh.ACTIVE_PHASES and not same and not want.get("restart"):
        raise GpuaasError(
            "%s %s: traffic shift %r (%s -> %s, steps %s) is %s at %s%%; finish it or roll it back first, "
            "or set restart: true to start this one from the live weights" % (
                route_ref, describe_rule(index, rule), record.get("name"), record.get("from"), record.get("to"),
                record.get("steps"), phase, record.get("percent")))
    if record is not None and phase == "completed" and same and not want.get("restart"):
        return Decision(route, index, rule, record, message="completed: %d%% to %s since %s" % (
            record.get("percent"), record.get("to"), record.get("updated_at")))
    if record is None or phase in ("rolled_back", "completed") or want.get("restart"):
        begun = _begin(route, index, rule, want, now, namespace)
        if record is not None:
            # the report keeps what happened before (the rollback that led to this new start)
            begun["history"] = list(record.get("history") or [])[-sh.HISTORY_LIMIT:]
        d = _take_step(route, index, rule, begun, want, now, namespace, gates)
        d.record = record
        return d
    _check_drift(route_ref, record, rule, namespace)
    if record["step"] + 1 < len(record["steps"]):
        return _take_step(route, index, rule, record, want, now, namespace, gates)
    rec = copy.deepcopy(record)
    rec.update(phase="completed", updated_at=now, reason=None)
    sh.add_history(rec, {"event": "completed", "step": record["step"], "percent": record["percent"], "at": now,
                         "gates": gates})
    return Decision(route, index, rule, record, new_record=rec, event="completed",
                    message="completed: %d%% to %s" % (record["percent"], record["to"]))


def report(decision):
    """What the module returns about the rule, after the decision."""
    namespace = (decision.route.get("metadata") or {}).get("namespace")
    rule = decision.rule
    if decision.rules is not None:
        rule = decision.rules[decision.index]
    record = decision.new_record if decision.new_record is not None else decision.record
    refs = rule.get("backendRefs") or []
    return {
        "rule": {"index": decision.index, "key": rule_key(rule), "name": rule.get("name"),
                 "backends": [{"key": backend_key(b, namespace), "weight": b.get("weight", 1), "percent": p}
                              for b, p in zip(refs, rule_percentages(rule))]},
        "record": record,
        "phase": (record or {}).get("phase"),
        "percent": (record or {}).get("percent"),
        "plan": sh.plan(record) if record and record.get("phase") in sh.ACTIVE_PHASES else [],
        "event": decision.event,
        "message": decision.message,
        "weights_before": sh.rule_weights(decision.rule, namespace),
        "record_before": decision.record,
    }
