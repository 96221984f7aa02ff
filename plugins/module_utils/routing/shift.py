# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stepwise traffic shift between two backends of one HTTPRoute rule (pure).

The shift keeps its record on the route itself, one annotation per rule
(``traffic-shift.gpuaas.io/<rule name>``): the weights of every backend of the rule before the
first step (``baseline``; ``None`` for a backend whose weight was not set, and whether the target
was added by the shift), the steps, the step reached, the phase, and a bounded history of what
each step set and what its gates answered. A rollback restores the baseline exactly (and removes
a target the shift added); a rerun reads the record and goes on from where it is, so the record
lives where the weights live and one write changes both.

Weights: the source and the target share ``T``, their baseline weights together (when the rule
has no other backend with weight, the pair is scaled up to 100 - shares are relative; with other
backends it keeps its total, which must be fine-grained enough that every step moves weight). At
``p`` percent the target has ``round(T * p / 100)`` and the source the rest; every other backend
of the rule keeps its weight, untouched.

Public API
----------
``PHASES``: ``progressing`` (a step was taken; its gates decide the next), ``paused`` (a gate
could not answer; the next run evaluates the gates again), ``completed``, ``rolled_back``.
``ACTIVE_PHASES``: ``progressing`` and ``paused``.
``decode(text)`` -> record or None; ``encode(record)``; ``annotation_for(rule_key)``.
``shifted_backends(record)`` -> ``{backend key: {"name", "phase"}}`` of a shift that owns weights.
``steps_errors(steps, field="steps")`` -> ``[ValidationError]`` (ints 1..100, strictly increasing).
``baseline_of(rule, namespace)`` -> ``{backend key: weight or None}``.
``pair_total(baseline, source, target, steps)`` -> ``T`` or a ``GpuaasError`` that says why not.
``weights_at(record, percent)`` -> ``{backend key: weight}`` of the source and target.
``plan(record)`` -> ``[{"step", "percent", "weights"}]`` of the steps still to take.
``apply_weights(rule, weights, namespace, add=None)`` -> a copy of the rule with those weights.
``restore_baseline(rule, record, namespace)`` -> a copy of the rule as before the shift.
``new_record(...)``, ``same_shift(record, source, target, steps)``, ``add_history(record, entry)``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector, GpuaasError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import (
    backend_key,
    shift_annotation,
    weight_of,
)

PHASES = ("progressing", "paused", "completed", "rolled_back")
ACTIVE_PHASES = ("progressing", "paused")
MIN_TOTAL = 100
HISTORY_LIMIT = 40
RECORD_VERSION = 1


def annotation_for(rule_key):
    return shift_annotation(rule_key)


def decode(text):
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("from") and record.get("to") else None


def encode(record):
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def shifted_backends(record):
    """The backends whose weights a shift moves: ``{key: {"name", "phase", "baseline"}}``. While
    the shift is active its weights are the shift's; once it completed, a task that still asks
    for the weight a backend had before the shift (``baseline``) does not undo it."""
    if not record or record.get("phase") not in ACTIVE_PHASES + ("completed",):
        return {}
    out = {}
    baseline = record.get("baseline") or {}
    for key in (record.get("from"), record.get("to")):
        out[key] = {"name": record.get("name") or "%s -> %s" % (record.get("from"), record.get("to")),
                    "phase": record.get("phase"), "baseline": baseline.get(key)}
    return out


def steps_errors(steps, field="steps"):
    errs = ErrorCollector()
    if not isinstance(steps, (list, tuple)) or not steps:
        errs.add(field, steps, "must be a list of percentages, for example [10, 25, 50, 100]")
        return errs.errors
    previous = 0
    for i, s in enumerate(steps):
        ok = isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 100
        if not ok:
            errs.add("%s[%d]" % (field, i), s, "must be an integer percentage from 1 to 100")
            continue
        if s <= previous:
            errs.add("%s[%d]" % (field, i), s, "must be greater than the step before it (%d): steps must "
                                               "strictly increase" % previous)
        previous = s
    return errs.errors


def baseline_of(rule, namespace):
    return dict((backend_key(b, namespace), b.get("weight")) for b in (rule or {}).get("backendRefs") or [])


def _w(value):
    return 1 if value is None else int(value)


def pair_total(baseline, source, target, steps=()):
    """What the source and target share, from their baseline weights (scaled to 100 when no
    other backend of the rule carries traffic: shares are relative). With other backends the
    pair keeps its total, which must be fine-grained enough for every step to move weight."""
    pair = _w(baseline.get(source)) + (_w(baseline[target]) if target in baseline else 0)
    others = [k for k, w in baseline.items() if k not in (source, target) and _w(w) > 0]
    if pair == 0:
        raise GpuaasError("%s and %s carry no traffic together (weights 0): there is nothing to shift; "
                          "give %s a weight first" % (source, target, source))
    if pair < MIN_TOTAL and not others:
        return MIN_TOTAL
    previous = 0
    for p in steps:
        to = int(round(pair * p / 100.0))
        if to <= previous and p > 0:
            raise GpuaasError(
                "%s and %s have weights %s together, too few for the step to %s%% while other backends of the rule "
                "(%s) carry traffic; scale the rule's weights up (by 100, for example) with http_route first, so "
                "that their shares stay what they are" % (source, target, pair, p, ", ".join(sorted(others))))
        previous = to
    return pair


def weights_at(record, percent):
    total = int(record["total"])
    to = int(round(total * percent / 100.0))
    return {record["from"]: total - to, record["to"]: to}


def plan(record):
    steps = record.get("steps") or []
    start = record.get("step", -1) + 1
    return [{"step": i, "percent": steps[i], "weights": weights_at(record, steps[i])}
            for i in range(start, len(steps))]


def new_record(name, rule_key, source, target, steps, baseline, total, now):
    return {
        "version": RECORD_VERSION, "name": name, "rule": rule_key, "from": source, "to": target,
        "steps": list(steps), "baseline": dict(baseline), "added": target not in baseline, "total": total,
        "step": -1, "percent": 0, "phase": "progressing", "started_at": now, "updated_at": now,
        "reason": None, "history": [],
    }


def same_shift(record, source, target, steps):
    return bool(record) and record.get("from") == source and record.get("to") == target \
        and list(record.get("steps") or []) == list(steps)


def add_history(record, entry):
    history = list(record.get("history") or [])
    history.append(entry)
    record["history"] = history[-HISTORY_LIMIT:]
    return record


def apply_weights(rule, weights, namespace, add=None):
    """A copy of ``rule`` whose backends in ``weights`` have those weights; ``add`` (a backendRef)
    is appended when its key is in ``weights`` and the rule does not have it."""
    out = copy.deepcopy(rule)
    refs = out.setdefault("backendRefs", [])
    present = set()
    for b in refs:
        key = backend_key(b, namespace)
        present.add(key)
        if key in weights:
            b["weight"] = int(weights[key])
    if add is not None:
        key = backend_key(add, namespace)
        if key in weights and key not in present:
            ref = copy.deepcopy(add)
            ref["weight"] = int(weights[key])
            refs.append(ref)
    return out


def restore_baseline(rule, record, namespace):
    """The rule as before the shift: the weights of the baseline restored exactly (a weight that
    was not set is unset again), a target the shift added removed; backends added by others since
    are kept as they are."""
    out = copy.deepcopy(rule)
    baseline = record.get("baseline") or {}
    refs = []
    for b in out.get("backendRefs") or []:
        key = backend_key(b, namespace)
        if key == record.get("to") and record.get("added"):
            continue
        if key in baseline and key in (record.get("from"), record.get("to")):
            if baseline[key] is None:
                b.pop("weight", None)
            else:
                b["weight"] = int(baseline[key])
        refs.append(b)
    out["backendRefs"] = refs
    return out


def rule_weights(rule, namespace):
    return dict((backend_key(b, namespace), weight_of(b)) for b in (rule or {}).get("backendRefs") or [])


def render_report_markdown(route_ref, record):
    """A traffic shift's report: what it moved, each step's weights, gates and times."""
    if not record:
        return "# Traffic shift on %s\n\nNo traffic shift recorded.\n" % route_ref
    lines = ["# Traffic shift %s" % record.get("name"), "",
             "- route: %s, rule %s" % (route_ref, record.get("rule")),
             "- from %s to %s, steps %s" % (record.get("from"), record.get("to"), record.get("steps")),
             "- phase: **%s** at %s%%%s" % (record.get("phase"), record.get("percent"),
                                            " (%s)" % record["reason"] if record.get("reason") else ""),
             "- started %s, updated %s" % (record.get("started_at"), record.get("updated_at")),
             "- weights before the shift: %s" % ", ".join(
                 "%s=%s" % (k, "unset" if w is None else w) for k, w in sorted((record.get("baseline") or {}).items())),
             "", "| event | step | percent | weights | gates that led to it | at |", "|---|---|---|---|---|---|"]
    for h in record.get("history") or []:
        gates = h.get("gates_before") if h.get("gates_before") is not None else h.get("gates")
        gate_text = "; ".join("%s: %s (%s)" % (g.get("name"), g.get("verdict"), g.get("answer")) for g in gates or [])
        step = h.get("step")
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            h.get("event"), "" if step is None or step < 0 else step + 1, h.get("percent", ""),
            ", ".join("%s=%s" % kv for kv in sorted((h.get("weights") or {}).items())),
            (gate_text or h.get("reason") or "").replace("|", "/"), h.get("at")))
    return "\n".join(lines) + "\n"
