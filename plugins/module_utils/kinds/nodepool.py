# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Karpenter NodePool (karpenter.sh/v1): ``DESCRIPTION``, the one home of the kind.

In the options of this kind ``labels`` and ``annotations`` are those of the nodes (the pool's
template metadata), as the karpenter_nodepool module documents them.

Public API
----------
``DESCRIPTION``           ``KindDescription`` (section ``nodepools``, rank 70): options, render,
                          validation, immutable node class, delete safety (NodeClaims and nodes
                          left), readiness (condition Ready True), preserved pause annotations,
                          quantity paths ``spec.limits.*``
``OPTIONS``               the kind's argument spec (without state, force, wait and auth options);
                          ``BUDGET_OPTIONS``: the suboptions of one budget (karpenter_disruption's too)
``NODEPOOL``              ``client.Kind``; ``API_VERSION``, ``NODEPOOL_LABEL``
``OPERATORS``, ``NUMERIC_OPERATORS``, ``CONSOLIDATION_POLICIES``, ``DISRUPTION_REASONS``
``render_nodepool(params) -> obj``      pure, no validation (``validate_nodepool`` does that)
``render_budgets(budgets) -> list``     budgets options -> API budgets (also karpenter_disruption's)
``label_values(mapping) -> dict``       None -> "", numbers -> strings (label values as sent)
``validate_nodepool(obj) -> [ValidationError]``   fields named ``metadata.name``, ``spec....``
``nodepool_immutable(obj, live) -> [ValidationError]``   nodeClassRef group and kind
``nodepool_delete_safety(name, namespace, live, ctx) -> [SafetyError]``
``pool_members(client, name) -> (nodeclaims, nodes)``   labelled ``karpenter.sh/nodepool=name``
Karpenter's rules on the shared ``core.validate`` stack, each adding to an ``ErrorCollector``:
``check_node_labels(errs, field, labels)`` (label rules plus Karpenter's restricted keys),
``check_requirements(errs, field, requirements)`` / ``check_requirement`` (operators incl. Gte/Lte,
non-negative integers for numeric operators, ``minValues``), ``check_budgets(errs, field, budgets)``
(nodes count or percentage up to 100%, cron schedule, hour/minute durations, reasons),
``check_karpenter_duration(errs, field, value, allow_never=True)``,
``check_node_class_ref(errs, field, ref)``, ``restricted_label_key(key) -> bool``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ErrorCollector,
    SafetyError,
    ValidationError,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import is_condition_true
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.budgets import PAUSE_ANNOTATIONS, keep_pause
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.schedule import cron_problem
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription

NODEPOOL = KINDS["NodePool"]
NODECLAIM = KINDS["NodeClaim"]
NODE = KINDS["Node"]
API_VERSION = NODEPOOL.api_version
NODEPOOL_LABEL = "karpenter.sh/nodepool"

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte")
NUMERIC_OPERATORS = ("Gt", "Lt", "Gte", "Lte")
CONSOLIDATION_POLICIES = ("WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced")
DISRUPTION_REASONS = ("Underutilized", "Empty", "Drifted")
MAX_REQUIREMENTS = 100
MAX_BUDGETS = 50

# Karpenter's CRD patterns (stricter than Go durations: no fractions, no ms/us/ns)
_DURATION = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
_DURATION_NO_NEVER = re.compile(r"^([0-9]+(s|m|h))+$")
_BUDGET_DURATION = re.compile(r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")
_BUDGET_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")

_TAINT_OPTIONS = dict(
    key=dict(type="str", required=True, no_log=False),
    value=dict(type="str"),
    effect=dict(type="str", required=True),
)

BUDGET_OPTIONS = dict(
    nodes=dict(type="str", required=True),
    schedule=dict(type="str"),
    duration=dict(type="str"),
    reasons=dict(type="list", elements="str"),
)

OPTIONS = dict(
    name=dict(type="str", required=True),
    labels=dict(type="dict"),
    annotations=dict(type="dict"),
    requirements=dict(type="list", elements="dict", default=[], options=dict(
        key=dict(type="str", required=True, no_log=False),
        operator=dict(type="str", required=True),
        values=dict(type="list", elements="str"),
        min_values=dict(type="int"),
    )),
    taints=dict(type="list", elements="dict", options=_TAINT_OPTIONS),
    startup_taints=dict(type="list", elements="dict", options=_TAINT_OPTIONS),
    node_class_ref=dict(type="dict", options=dict(
        group=dict(type="str", required=True),
        kind=dict(type="str", required=True),
        name=dict(type="str", required=True),
    )),
    expire_after=dict(type="str"),
    termination_grace_period=dict(type="str"),
    disruption=dict(type="dict", options=dict(
        consolidation_policy=dict(type="str"),
        consolidate_after=dict(type="str"),
        budgets=dict(type="list", elements="dict", options=BUDGET_OPTIONS),
    )),
    limits=dict(type="dict"),
    weight=dict(type="int"),
)


# -- rendering (pure; validation comes after, on the rendered object) -----------------------

def _text(value):
    """Numbers as the strings the API stores; anything else unchanged (validation judges it)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def label_values(mapping):
    if not isinstance(mapping, dict):
        return mapping
    return dict((k, "" if val is None else _text(val)) for k, val in mapping.items())


def _render_requirement(req):
    if not isinstance(req, dict):
        return req
    out = {"key": req.get("key"), "operator": req.get("operator")}
    values = req.get("values")
    if values is not None:
        values = [_text(x) for x in values] if isinstance(values, list) else [_text(values)]
        if values:
            out["values"] = values
    min_values = req.get("min_values", req.get("minValues"))
    if min_values is not None:
        out["minValues"] = min_values
    return out


def _render_taint(taint):
    if not isinstance(taint, dict):
        return taint
    out = {"key": taint.get("key"), "effect": taint.get("effect")}
    if taint.get("value") not in (None, ""):
        out["value"] = _text(taint["value"])
    return out


def _render_budget(budget):
    if not isinstance(budget, dict):
        return budget
    out = {"nodes": _text(budget.get("nodes"))}
    schedule, duration, reasons = budget.get("schedule"), budget.get("duration"), budget.get("reasons")
    if schedule is not None:
        out["schedule"] = schedule.strip() if isinstance(schedule, str) else schedule
    if duration is not None:
        out["duration"] = "%dm" % duration if isinstance(duration, int) and not isinstance(duration, bool) \
            else duration
    if reasons is not None:
        out["reasons"] = list(reasons) if isinstance(reasons, list) else [reasons]
    return out


def render_budgets(budgets):
    if not isinstance(budgets, list):
        return budgets
    return [_render_budget(b) for b in budgets]


def _duration(value):
    return "%ds" % value if isinstance(value, int) and not isinstance(value, bool) else value


def render_nodepool(params):
    """The NodePool for the karpenter_nodepool options (snake_case). Pure; does not validate."""
    tmpl_spec = {"requirements": [_render_requirement(r) for r in params.get("requirements") or []]}
    if params.get("taints") is not None:
        tmpl_spec["taints"] = [_render_taint(t) for t in params["taints"]]
    if params.get("startup_taints") is not None:
        tmpl_spec["startupTaints"] = [_render_taint(t) for t in params["startup_taints"]]
    ref = params.get("node_class_ref")
    tmpl_spec["nodeClassRef"] = dict((k, ref.get(k)) for k in ("group", "kind", "name")) \
        if isinstance(ref, dict) else ref
    if params.get("expire_after") is not None:
        tmpl_spec["expireAfter"] = _duration(params["expire_after"])
    if params.get("termination_grace_period") is not None:
        tmpl_spec["terminationGracePeriod"] = _duration(params["termination_grace_period"])
    template = {"spec": tmpl_spec}
    tmpl_meta = {}
    if params.get("labels"):
        tmpl_meta["labels"] = label_values(params["labels"])
    if params.get("annotations"):
        annotations = params["annotations"]
        tmpl_meta["annotations"] = dict((k, "" if a is None else str(a)) for k, a in annotations.items()) \
            if isinstance(annotations, dict) else annotations
    if tmpl_meta:
        template["metadata"] = tmpl_meta
    spec = {"template": template}

    given = params.get("disruption") or {}
    disruption = {}
    if given.get("consolidation_policy") is not None:
        disruption["consolidationPolicy"] = given["consolidation_policy"]
    if given.get("consolidate_after") is not None:
        disruption["consolidateAfter"] = _duration(given["consolidate_after"])
    if given.get("budgets") is not None:
        disruption["budgets"] = render_budgets(given["budgets"])
    if disruption:
        disruption.setdefault("consolidateAfter", "0s")  # required by the CRD once disruption is given
        spec["disruption"] = disruption
    limits = params.get("limits")
    if limits:
        spec["limits"] = dict((k, _text(q)) for k, q in limits.items()) if isinstance(limits, dict) else limits
    if params.get("weight") is not None:
        spec["weight"] = params["weight"]
    labels = {engine.MANAGED_BY_LABEL: engine.MANAGED_BY}
    labels.update(params.get("metadata_labels") or {})
    return {"apiVersion": API_VERSION, "kind": "NodePool", "metadata": {"name": params.get("name"), "labels": labels},
            "spec": spec}


# -- Karpenter's rules on the shared validation stack ------------------------------------------

def restricted_label_key(key):
    """Label keys Karpenter reserves for itself (requirements and template labels may not use them)."""
    if key in (NODEPOOL_LABEL, "kubernetes.io/hostname"):
        return True
    domain = key.split("/", 1)[0] if "/" in key else ""
    return domain.endswith("karpenter.sh") and key != "karpenter.sh/capacity-type"


def _check_restricted(errs, field, key):
    if v.qualified_name_problem(key) is None and restricted_label_key(key):
        return errs.add(field, key, "label key is restricted by Karpenter")
    return True


def check_node_labels(errs, field, labels):
    ok = v.check_labels(errs, field, labels)
    if isinstance(labels, dict):
        for key in labels:
            ok = _check_restricted(errs, "%s[%r]" % (field, key), key) and ok
    return ok


def _is_int(text):
    try:
        int(text)
    except (TypeError, ValueError):
        return False
    return True


def check_requirement(errs, field, req):
    """A Karpenter requirement: the node selector requirement rules of ``core.validate`` with
    Karpenter's operators, plus restricted keys, non-negative integers for Gt/Lt/Gte/Lte, label
    values for In/NotIn and ``minValues``."""
    ok = v.check_node_selector_requirement(errs, field, req, operators=OPERATORS)
    if not isinstance(req, dict):
        return False
    ok = _check_restricted(errs, field + ".key", req.get("key")) and ok
    op, values = req.get("operator"), req.get("values") or []
    if op not in OPERATORS or not isinstance(values, list):
        return False
    if op in ("Gte", "Lte"):  # core.validate's Gt/Lt rules, for the operators it does not know
        if len(values) != 1:
            ok = errs.add(field + ".values", values, "must have exactly one value with operator %s" % op)
        elif not _is_int(values[0]):
            ok = errs.add(field + ".values[0]", values[0], "must be an integer with operator %s" % op)
    if op in NUMERIC_OPERATORS and len(values) == 1 and _is_int(values[0]) and not str(values[0]).isdigit():
        ok = errs.add(field + ".values[0]", values[0], "must be a non-negative integer with operator %s" % op)
    if op in ("In", "NotIn"):
        for i, value in enumerate(values):
            problem = v.label_value_problem(value) if isinstance(value, str) else None
            if problem:
                ok = errs.add("%s.values[%d]" % (field, i), value, "label value " + problem)
    min_values = req.get("minValues")
    if min_values is not None:
        if isinstance(min_values, bool) or not isinstance(min_values, int) or not 1 <= min_values <= 50:
            ok = errs.add(field + ".minValues", min_values, "must be an integer from 1 to 50")
        elif op == "In" and len(values) < min_values:
            ok = errs.add(field + ".minValues", min_values, "needs at least %d values but %d given"
                          % (min_values, len(values)))
    return ok


def _check_list(errs, field, items, what, limit, check_item):
    if items is None:
        return True
    if not isinstance(items, list):
        return errs.add(field, items, "must be a list of %s" % what)
    ok = v.check_max_items(errs, field, items, limit)
    for i, item in enumerate(items):
        ok = check_item(errs, "%s[%d]" % (field, i), item) and ok
    return ok


def check_requirements(errs, field, requirements):
    return _check_list(errs, field, requirements, "requirements", MAX_REQUIREMENTS, check_requirement)


def check_karpenter_duration(errs, field, value, allow_never=True):
    """Durations as Karpenter's CRD accepts them: ``30s``, ``10m``, ``720h``, ``1h30m`` (or Never)."""
    pattern = _DURATION if allow_never else _DURATION_NO_NEVER
    return errs.check(isinstance(value, str) and bool(pattern.match(value)), field, value,
                      "must be a duration such as 30s, 10m, 720h, 1h30m" + (" or Never" if allow_never else ""))


def _check_budget_nodes(errs, field, nodes):
    if isinstance(nodes, str) and _BUDGET_NODES.match(nodes):
        return True
    if isinstance(nodes, str) and re.match(r"^[0-9]+%$", nodes):
        return errs.add(field, nodes, "a percentage budget must be between 0% and 100%")
    return errs.add(field, nodes, "must be a node count such as 2 or a percentage such as 10%")


def check_budget(errs, field, budget):
    if not isinstance(budget, dict):
        return errs.add(field, budget, "must be a mapping with nodes (and schedule, duration, reasons)")
    ok = _check_budget_nodes(errs, field + ".nodes", budget.get("nodes"))
    schedule, duration, reasons = budget.get("schedule"), budget.get("duration"), budget.get("reasons")
    if schedule is not None and duration is None:
        ok = errs.add(field + ".duration", None, "is required when schedule is set (schedule %r)" % schedule)
    if duration is not None and schedule is None:
        ok = errs.add(field + ".schedule", None, "is required when duration is set (duration %r)" % duration)
    if schedule is not None:
        problem = cron_problem(schedule)
        ok = errs.check(problem is None, field + ".schedule", schedule, problem) and ok
    if duration is not None:
        ok = errs.check(isinstance(duration, str) and bool(_BUDGET_DURATION.match(duration)), field + ".duration",
                        duration, "must be a duration of hours and/or minutes such as 8h, 30m or 1h30m "
                        "(cron schedules have no seconds)") and ok
    if reasons is not None:
        if not isinstance(reasons, list):
            return errs.add(field + ".reasons", reasons, "must be a list of disruption reasons")
        for i, reason in enumerate(reasons):
            ok = v.check_choice(errs, "%s.reasons[%d]" % (field, i), reason, DISRUPTION_REASONS) and ok
        ok = v.check_unique(errs, field + ".reasons", reasons) and ok
    return ok


def check_budgets(errs, field, budgets):
    return _check_list(errs, field, budgets, "budgets", MAX_BUDGETS, check_budget)


def check_node_class_ref(errs, field, ref):
    if not isinstance(ref, dict):
        return errs.add(field, ref, "must be a mapping with group, kind and name")
    ok = True
    for key in ("group", "kind", "name"):
        value = ref.get(key)
        ok = errs.check(isinstance(value, str) and bool(value), "%s.%s" % (field, key), value, "is required") and ok
    group = ref.get("group")
    if isinstance(group, str) and "/" in group:
        ok = errs.add(field + ".group", group, "must be an API group without version (no '/')")
    return ok


def validate_nodepool(obj):
    """Every problem of a rendered NodePool, each naming its field (``spec....``) and value."""
    errs = ErrorCollector()
    v.check_name(errs, "metadata.name", (obj.get("metadata") or {}).get("name"))
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    tmeta = template.get("metadata") or {}
    check_node_labels(errs, "spec.template.metadata.labels", tmeta.get("labels"))
    v.check_annotations(errs, "spec.template.metadata.annotations", tmeta.get("annotations"))
    tspec = template.get("spec") or {}
    check_requirements(errs, "spec.template.spec.requirements", tspec.get("requirements"))
    v.check_taints(errs, "spec.template.spec.taints", tspec.get("taints"))
    v.check_taints(errs, "spec.template.spec.startupTaints", tspec.get("startupTaints"))
    check_node_class_ref(errs, "spec.template.spec.nodeClassRef", tspec.get("nodeClassRef"))
    if tspec.get("expireAfter") is not None:
        check_karpenter_duration(errs, "spec.template.spec.expireAfter", tspec["expireAfter"])
    if tspec.get("terminationGracePeriod") is not None:
        check_karpenter_duration(errs, "spec.template.spec.terminationGracePeriod", tspec["terminationGracePeriod"],
                                 allow_never=False)
    disruption = spec.get("disruption")
    if disruption is not None:
        if disruption.get("consolidationPolicy") is not None:
            v.check_choice(errs, "spec.disruption.consolidationPolicy", disruption["consolidationPolicy"],
                           CONSOLIDATION_POLICIES)
        if disruption.get("consolidateAfter") is not None:
            check_karpenter_duration(errs, "spec.disruption.consolidateAfter", disruption["consolidateAfter"])
        check_budgets(errs, "spec.disruption.budgets", disruption.get("budgets"))
    v.check_resources(errs, "spec.limits", spec.get("limits"))
    weight = spec.get("weight")
    if weight is not None:
        errs.check(not isinstance(weight, bool) and isinstance(weight, int) and 1 <= weight <= 100, "spec.weight",
                   weight, "must be an integer from 1 to 100")
    return errs.errors


def _node_class_ref(obj):
    return (((obj or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("nodeClassRef") or {}


def nodepool_immutable(obj, live):
    """Changes Karpenter forbids on an existing NodePool: the node class's group and kind."""
    errors = []
    old, new = _node_class_ref(live), _node_class_ref(obj)
    for key in ("group", "kind"):
        if live and old.get(key) and new.get(key) and old[key] != new[key]:
            errors.append(ValidationError(
                "spec.template.spec.nodeClassRef.%s" % key, new[key],
                "is immutable: the NodePool uses %s %r; delete and recreate the NodePool to change it" % (key, old[key])))
    return errors


def pool_members(client, name):
    selector = "%s=%s" % (NODEPOOL_LABEL, name)
    return client.list(NODECLAIM, label_selector=selector), client.list(NODE, label_selector=selector)


def nodepool_delete_safety(name, namespace, live, ctx):
    """Deleting a pool terminates its nodes: refused while it has NodeClaims or nodes (``force``)."""
    claims, nodes = pool_members(ctx.client, name)
    if not claims and not nodes:
        return []
    return [SafetyError(
        "NodePool %s still has %d NodeClaims and %d nodes; deleting it terminates them" % (name, len(claims), len(nodes)),
        affected=["NodeClaim/%s" % c["metadata"]["name"] for c in claims] +
        ["Node/%s" % n["metadata"]["name"] for n in nodes])]


def keep_pause_adapt(obj, live):
    """The description's ``adapt``: ``karpenter.budgets.keep_pause`` as ``(obj, warnings)``."""
    out, dummy, warnings = keep_pause(obj, live)
    return out, warnings


DESCRIPTION = KindDescription(
    NODEPOOL, OPTIONS, render_nodepool, validate_nodepool, section="nodepools", rank=70,
    required_when_present=("node_class_ref",), immutable=nodepool_immutable, delete_safety=nodepool_delete_safety,
    ready=(lambda obj: obj is not None and is_condition_true(obj, "Ready"), "Ready"),
    # the pause of karpenter_disruption: a karpenter_nodepool run must not drop it
    preserve=[("metadata", "annotations", key) for key in PAUSE_ANNOTATIONS],
    quantity_paths=[("spec", "limits", "*")],
    # a pool paused by karpenter_disruption stays paused when a plan applies it
    adapt=keep_pause_adapt,
    field_options=[
        ("spec.template.spec.requirements", "requirements"),
        ("spec.template.spec.startupTaints", "startup_taints"),
        ("spec.template.spec.taints", "taints"),
        ("spec.template.spec.nodeClassRef", "node_class_ref"),
        ("spec.template.spec.expireAfter", "expire_after"),
        ("spec.template.spec.terminationGracePeriod", "termination_grace_period"),
        ("spec.template.metadata.labels", "labels"),
        ("spec.template.metadata.annotations", "annotations"),
    ])
