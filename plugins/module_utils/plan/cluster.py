# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A whole cluster plan in one module run (the body of ``cluster_plan``).

Flow::

    check     every entry of every section against its kind's options; manifests' and workloads'
              kinds looked up (discovery, reads only); every object rendered and validated;
              capacity and taint entries checked -> every problem raised together, each named by
              its place in the plan (``cluster_queues[3].resource_groups[0].flavors[1]...``)
    parent    the ApplySet parent ConfigMap, with every kind the plan has (superset: also the
              kinds it had, until they are pruned)
    objects   namespaces (10) -> manifests (15) -> priority classes (20) -> topologies,
              flavors, cohorts, workload priority classes, admission checks (30-34) -> cluster
              queues (36) -> local queues (37) -> NodePools (70): one engine run, one LIST per kind,
              the objects of one level written ``parallel`` at a time, waits bounded
    capacity  N nodes per shape (80): NodeClaims through karpenter_capacity's code, waited for
              until Initialized with their GPUs allocatable
    taints    node taints by selector (90)
    workloads Job/JobSet definitions (100), after the capacity they need
    prune     with ``prune``: members of the ApplySet the plan no longer declares, deleted in
              reverse dependency order, each kind's safety checks first; then the parent shrinks
              to the kinds left
    report    per object and per field, counts per kind and action; ``fail_on_drift`` fails the
              task when anything differed from the plan

Stopped half-way (an API error, a wait timeout), it raises ``PartialRun`` whose result holds
everything done before, stage by stage.

Public API
----------
``PLAN_ARGUMENT_SPEC``; ``OBJECT_DESCRIPTIONS`` (the typed sections, in dependency order);
``SECTION_RANKS``: ``{section: rank}`` of every section.
``check_plan(client, params) -> Checked``: every problem raised together (``ErrorList``); reads only.
``run_cluster_plan(client, params, check_mode=False) -> dict``: see the module's RETURN.
``run_cluster_plan_module(module)``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    NOVALUE,
    ErrorCollector,
    ErrorList,
    GpuaasError,
    PartialRun,
    SafetyError,
    ValidationError,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter import capacity as cap
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter import ops as karpenter_ops
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import manifest
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import namespace as ns_kind
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import priority_class
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.catalog import KUEUE
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodepool import DESCRIPTION as NODEPOOL_DESCRIPTION
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.plan import PlanLive
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes import node_ops
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.taints import TAINTS_OPTIONS, validate_taints
from ansible_collections.gpuaas.orchestration.plugins.module_utils.plan import applyset
from ansible_collections.gpuaas.orchestration.plugins.module_utils.plan import drift
from ansible_collections.gpuaas.orchestration.plugins.module_utils.plan import entries as plan_entries

OBJECT_DESCRIPTIONS = sorted([ns_kind.DESCRIPTION, priority_class.DESCRIPTION, NODEPOOL_DESCRIPTION] + list(KUEUE),
                             key=lambda d: d.rank)
MANIFEST_RANK = 15
CAPACITY_RANK = 80
TAINTS_RANK = 90
WORKLOAD_RANK = 100
SECTION_RANKS = dict((d.section, d.rank) for d in OBJECT_DESCRIPTIONS)
SECTION_RANKS.update(manifests=MANIFEST_RANK, capacity=CAPACITY_RANK, node_taints=TAINTS_RANK, workloads=WORKLOAD_RANK)
# kinds a pruned member may be of without the plan still declaring one (found in the parent's
# contains-group-kinds): workloads go first, like the section they came from
WORKLOAD_GROUP_KINDS = ("Job.batch", "JobSet.jobset.x-k8s.io", "RayJob.ray.io", "PyTorchJob.kubeflow.org",
                        "TrainJob.trainer.kubeflow.org")
MAX_PARALLEL = 64
DEFAULT_WAIT_TIMEOUT = 120

PLAN_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    prune=dict(type="bool", default=False),
    force=dict(type="bool", default=False),
    force_conflicts=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=DEFAULT_WAIT_TIMEOUT),
    parallel=dict(type="int", default=8),
    fail_on_drift=dict(type="bool", default=False),
    applyset_namespace=dict(type="str", default=applyset.DEFAULT_NAMESPACE),
    manifests=dict(type="list", elements="raw", default=[]),
    capacity=dict(type="list", elements="dict", default=[]),
    node_taints=dict(type="list", elements="dict", default=[]),
    workloads=dict(type="list", elements="raw", default=[]),
)
for _d in OBJECT_DESCRIPTIONS:
    PLAN_ARGUMENT_SPEC[_d.section] = dict(type="list", elements="dict", default=[])


class Checked(object):
    """A checked plan: rendered entries by stage, capacity and taint entries, the ApplySet."""

    def __init__(self, params):
        self.params = params
        self.state = params.get("state") or "present"
        self.name = params["name"]
        self.parent_namespace = params.get("applyset_namespace") or applyset.DEFAULT_NAMESPACE
        self.parent_name = applyset.parent_name(self.name)
        self.set_id = applyset.applyset_id(self.parent_name, self.parent_namespace)
        self.entries = []        # plan_entries.Entry, objects and workloads, in dependency order
        self.capacity = []       # (where, params)
        self.node_taints = []    # (where, params, requested taints)
        self.descriptions = {}   # group-kind -> KindDescription of every kind of the plan


# -- check ------------------------------------------------------------------------------------

def _plan_params_problems(params):
    errs = ErrorCollector()
    name = params.get("name")
    problem = v.label_value_problem(name) if name else "must not be empty"
    if not problem and len(applyset.parent_name(name)) > 253:
        problem = "is too long"
    errs.check(problem is None, "name", name, "the plan's name is the value of the label %s: %s" % (engine.PLAN_LABEL, problem))
    v.check_name(errs, "applyset_namespace", params.get("applyset_namespace"), kind="label")
    parallel = params.get("parallel")
    errs.check(isinstance(parallel, int) and 1 <= parallel <= MAX_PARALLEL, "parallel", parallel,
               "must be from 1 to %d" % MAX_PARALLEL)
    if params.get("prune"):
        errs.check((params.get("state") or "present") == "present", "prune", True,
                   "only applies with state present (state absent deletes every object of the plan)")
    return errs.errors


def _definition_entries(client, params, section, rank, errs, seen):
    out = []
    for i, definition in enumerate(params.get(section) or []):
        where = "%s[%d]" % (section, i)
        problems = manifest.definition_problems(where, definition)
        if problems:
            errs.extend(problems)
            continue
        kind = client.resolve_kind(definition["apiVersion"], definition["kind"])
        if kind is None:
            errs.add(where + ".kind", definition["kind"], "the API server does not serve %s %s (is its CRD installed?)"
                     % (definition["apiVersion"], definition["kind"]))
            continue
        meta = definition.get("metadata") or {}
        if section == "workloads" and not (meta.get("labels") or {}).get(manifest.QUEUE_LABEL):
            errs.add(where + ".metadata.labels", meta.get("labels"),
                     "a workload must name its LocalQueue with the label %s" % manifest.QUEUE_LABEL)
        description = manifest.description_for(kind, section, rank)
        entry = plan_entries.Entry(section, i, description, {
            "definition": copy.deepcopy(definition), "name": meta.get("name"),
            "namespace": meta.get("namespace") if kind.namespaced else None})
        if entry.key in seen:
            errs.add(where + ".metadata.name", meta.get("name"), "%s is already given as %s"
                     % (kind.ref(meta.get("name"), meta.get("namespace")), seen[entry.key]))
            continue
        seen[entry.key] = where
        out.append(entry)
    return out


def _checked_entries(section, spec, params, errs):
    """``[(where, validated entry)]`` of a section checked against ``spec`` (one validator for the
    section; it copies each entry itself)."""
    validator = ArgumentSpecValidator(spec)
    out = []
    for i, raw in enumerate(params.get(section) or []):
        where = "%s[%d]" % (section, i)
        if not isinstance(raw, dict):
            errs.add(where, raw, "must be a dict")
            continue
        result = validator.validate(raw)
        for msg in result.error_messages:
            errs.add_error(ValidationError(where, NOVALUE, msg))
        if not result.error_messages:
            out.append((where, result.validated_parameters))
    return out


def _checked(where, errs, check):
    """``check()``'s value, or None with its errors (one or an ``ErrorList``) named under ``where``."""
    try:
        return True, check()
    except (ErrorList, ValidationError) as e:
        for error in (e.errors if isinstance(e, ErrorList) else [e]):
            errs.add_error(error.with_prefix(where) if isinstance(error, ValidationError) else error)
        return False, None


def _capacity_entries(params, errs):
    out = []
    for where, p in _checked_entries("capacity", cap.CAPACITY_OPTIONS, params, errs):
        ok, dummy = _checked(where, errs, lambda p=p: karpenter_ops.capacity_inputs(p))
        if ok:
            out.append((where, p))
    return out


def _taint_entries(params, errs):
    out = []
    for where, p in _checked_entries("node_taints", TAINTS_OPTIONS, params, errs):
        if bool(p.get("name")) == bool(p.get("label_selector")):
            errs.add(where, {"name": p.get("name"), "label_selector": p.get("label_selector")},
                     "give exactly one of name and label_selector")
            continue
        taints = [dict((k, x) for k, x in t.items() if x is not None) for t in p["taints"]]
        ok, requested = _checked(where, errs, lambda p=p, taints=taints: validate_taints(taints, p["state"]))
        if ok:
            out.append((where, p, requested))
    return out


def _member(obj, plan, set_id):
    """``obj`` (just rendered: this run's own copy) labelled as a member of the plan's ApplySet."""
    labels = obj.setdefault("metadata", {}).get("labels") or {}
    labels.update(applyset.member_labels(plan, set_id))
    labels[engine.MANAGED_BY_LABEL] = engine.MANAGED_BY
    obj["metadata"]["labels"] = labels
    return obj


def check_plan(client, params):
    """Every problem of the plan, raised together; the checked plan otherwise. Reads only
    (discovery of the kinds of manifests and workloads)."""
    errs = ErrorCollector()
    errs.extend(_plan_params_problems(params))
    errs.raise_if_any()
    checked = Checked(params)
    state = checked.state
    typed, problems = plan_entries.check_entries(OBJECT_DESCRIPTIONS, params, state)
    errs.extend(problems)
    seen = dict((e.key, e.where) for e in typed)
    manifests = _definition_entries(client, params, "manifests", MANIFEST_RANK, errs, seen)
    workloads = _definition_entries(client, params, "workloads", WORKLOAD_RANK, errs, seen)
    checked.capacity = _capacity_entries(params, errs)
    checked.node_taints = _taint_entries(params, errs)
    entries = sorted(typed + manifests, key=lambda e: e.description.rank) + workloads  # stable: cohorts stay ordered
    for entry in entries:
        if state == "present":
            entry.obj = _member(entry.description.render(entry.params), checked.name, checked.set_id)
            errs.extend(plan_entries.translate_errors(entry, entry.description.validate(entry.obj)))
        checked.descriptions[applyset.group_kind(entry.kind)] = entry.description
    errs.raise_if_any()
    checked.entries = entries
    return checked


# -- items ------------------------------------------------------------------------------------

def other_owner(set_id, live):
    """The ApplySet id of another plan that owns ``live``, else None (pure)."""
    owner = (((live or {}).get("metadata") or {}).get("labels") or {}).get(applyset.PART_OF_LABEL)
    return owner if owner and owner != set_id else None


def _item(checked, entry, ctx, state):
    d = entry.description
    params = plan_entries.item_params(checked.params, entry.params, state, DEFAULT_WAIT_TIMEOUT)
    item = d.item(params, entry.obj, ctx=ctx)
    item.level = d.rank if state == "present" else -d.rank
    precheck = item._precheck  # pylint: disable=protected-access

    def owned_precheck(live):
        # one object in two plans would flip between them on every run, and each plan's prune
        # would see it come and go: refused unless forced (taking it over)
        errors = list(precheck(live) or []) if precheck else []
        owner = other_owner(checked.set_id, live)
        if owner and not params["force"]:
            errors.append(SafetyError("belongs to another plan (%s=%s, %s=%s)" % (
                applyset.PART_OF_LABEL, owner, engine.PLAN_LABEL,
                ((live.get("metadata") or {}).get("labels") or {}).get(engine.PLAN_LABEL)),
                field="name", value=entry.params.get("name"),
                hint="remove it from one of the plans, or set force: true to move it to this one"))
        return errors

    item._precheck = owned_precheck  # pylint: disable=protected-access
    return plan_entries.with_plan_paths(item, entry)


def _parent_item(checked, group_kinds, namespaces, state="present"):
    kind = KINDS["ConfigMap"]
    if state == "absent":
        return engine.Item(kind, name=checked.parent_name, namespace=checked.parent_namespace, state="absent")
    obj = applyset.render_parent(checked.name, checked.parent_namespace, group_kinds, namespaces)
    return engine.Item(kind, obj)


def _description_of(client, checked, group_kind, warnings):
    if group_kind in checked.descriptions:
        return checked.descriptions[group_kind]
    for d in OBJECT_DESCRIPTIONS:
        if applyset.group_kind(d.kind) == group_kind:
            return d
    kind = client.resolve_group_kind(group_kind)
    if kind is None:
        warnings.append("ApplySet %s lists %s, which the API server does not serve (any more): not pruned"
                        % (checked.set_id, group_kind))
        return None
    rank = WORKLOAD_RANK if group_kind in WORKLOAD_GROUP_KINDS else MANIFEST_RANK
    return manifest.description_for(kind, "manifests", rank)


def _prune_items(client, checked, group_kinds, keep, ctx, warnings):
    """Absent items of the ApplySet's members (labels part-of AND managed-by) not in ``keep``,
    children first."""
    found = []
    selector = applyset.prune_selector(checked.set_id)
    for gk in sorted(group_kinds):
        d = _description_of(client, checked, gk, warnings)
        if d is None:
            continue
        for obj in client.list(d.kind, label_selector=selector):
            meta = obj.get("metadata") or {}
            key = (d.kind, meta.get("namespace") if d.kind.namespaced else None, meta.get("name"))
            if key in keep or meta.get("deletionTimestamp"):
                continue
            p = plan_entries.item_params(checked.params, {"name": meta.get("name"), "namespace": key[1]}, "absent",
                                         DEFAULT_WAIT_TIMEOUT)
            p["wait"] = False
            item = d.item(p, None, ctx=ctx)
            item.level = -d.rank
            found.append((d.rank, item))
            if d.kind == KINDS["ClusterQueue"] and isinstance(ctx, PlanLive):
                ctx.deleting_cluster_queues.add(meta.get("name"))
    return [it for _rank, it in sorted(found, key=lambda x: -x[0])]


# -- the run ----------------------------------------------------------------------------------

class Progress(object):
    """The results of the stages so far, merged into one module result."""

    def __init__(self, client, check_mode):
        self.client = client
        self.check_mode = check_mode
        self.results, self.diffs, self.warnings, self.extra = [], [], [], []
        self.fields = []  # per result entry: its field changes (updates), for the drift report
        self.summary = dict(created=0, updated=0, unchanged=0, deleted=0, absent=0)
        self.capacity, self.node_taints = [], []
        self.timings = {}
        self.changed = False

    def add_engine(self, result):
        for entry in result.get("results") or []:
            # a plan's result stays small whatever its size (1000 objects with their objects and
            # diffs are several MB for Ansible to carry): what was done and why; the fields that
            # differ are in ``drift``, before and after in ``diff`` (diff mode)
            entry.pop("object", None)
            self.fields.append(drift.field_changes_of(entry))
            entry.pop("diff", None)
            self.results.append(entry)
        self.diffs.extend(result.get("diff") or [])
        for key, count in (result.get("summary") or {}).items():
            self.summary[key] = self.summary.get(key, 0) + count
        for w in result.get("warnings") or []:
            if w not in self.warnings:
                self.warnings.append(w)
        self.changed = self.changed or bool(result.get("changed"))

    def stage(self, name, fn):
        start = time.monotonic()
        try:
            return fn()
        except PartialRun as e:
            self.add_engine(e.result)
            self.changed = True
            raise PartialRun(e.cause, self.outcome(failed_object=e.result.get("failed_object"), failed_stage=name))
        except GpuaasError as e:
            if not self.changed:
                raise
            raise PartialRun(e, self.outcome(failed_object={"ref": getattr(e, "obj", None) or name, "error": str(e)},
                                             failed_stage=name))
        finally:
            self.timings[name] = round(time.monotonic() - start, 3)

    def outcome(self, **extra):
        out = {"changed": self.changed, "results": self.results, "diff": self.diffs, "summary": self.summary,
               "capacity": self.capacity, "node_taints": self.node_taints, "timings": self.timings,
               "warnings": list(self.warnings) + [w for w in self.client.warnings if w not in self.warnings],
               "check_mode": bool(self.check_mode), "api_calls": getattr(self.client, "calls", None)}
        out.update(extra)
        return out


def _engine(client, items, progress, checked, parallel=1):
    if not items:
        return None
    result = engine.run(client, items, check_mode=progress.check_mode, tolerate_missing_namespace=True,
                        force_conflicts=checked.params.get("force_conflicts", True), parallel=parallel)
    progress.add_engine(result)
    return result


def _capacity_step(client, checked, where, p, progress):
    params = dict(p)
    if checked.params.get("force"):
        params["force"] = True
    out = karpenter_ops.run_capacity(client, params, check_mode=progress.check_mode, diff=True)
    ref = "capacity/%s/%s" % (p["nodepool"], p["name"])
    entry = {"ref": ref, "where": where, "nodepool": p["nodepool"], "group": p["name"], "count": p["count"],
             "created": out.get("created") or [], "deleted": out.get("deleted") or [],
             "nodes": out.get("nodes") or [], "changed": bool(out.get("changed"))}
    progress.capacity.append(entry)
    for w in out.get("warnings") or []:
        progress.warnings.append(w)
    if entry["changed"]:
        progress.changed = True
        before = (out.get("diff") or {}).get("before", {}).get("nodeclaims", [])
        after = (out.get("diff") or {}).get("after", {}).get("nodeclaims", [])
        action = "created" if not before else ("deleted" if not after else "updated")
        progress.extra.append({"ref": ref, "action": action, "cause": "missing" if not before else "count differs",
                               "fields": [{"path": "nodeclaims", "before": len(before), "after": len(after)}]})
        progress.diffs.append({"before": {"nodeclaims": before}, "after": {"nodeclaims": after},
                               "before_header": "%s (live)" % ref, "after_header": "%s (%s)" % (ref, action)})


def _taints_step(client, checked, where, p, requested, progress):
    state = p["state"] if checked.state == "present" else "absent"
    nodes = node_ops.select_nodes(client, name=p.get("name"), label_selector=p.get("label_selector"))
    if not nodes:
        progress.warnings.append("%s: label selector %r matches no node" % (where, p.get("label_selector")))
    results = node_ops.apply_taints(client, nodes, requested, state, check_mode=progress.check_mode)
    for r in results:
        r["where"] = where
        progress.node_taints.append(r)
        if r["changed"]:
            progress.changed = True
            ref = "Node/%s" % r["name"]
            progress.extra.append({"ref": ref, "action": "updated", "cause": "taints differ",
                                   "fields": [{"path": "spec.taints", "before": r["before"], "after": r["after"]}]})
            progress.diffs.append({"before": {"taints": r["before"]}, "after": {"taints": r["after"]},
                                   "before_header": "%s taints" % ref, "after_header": "%s taints" % ref})


def _plan_group_kinds(checked):
    return set(applyset.group_kind(e.kind) for e in checked.entries)


def _plan_namespaces(checked):
    return set(e.params.get("namespace") for e in checked.entries if e.kind.namespaced and e.params.get("namespace"))


def run_cluster_plan(client, params, check_mode=False):
    start = time.monotonic()
    checked = check_plan(client, params)
    progress = Progress(client, check_mode)
    progress.timings["check"] = round(time.monotonic() - start, 3)
    parallel = params.get("parallel") or 1
    ctx = PlanLive(client)
    live_parent = client.get(KINDS["ConfigMap"], checked.parent_name, checked.parent_namespace)
    problem = applyset.tooling_problem(live_parent)
    if problem:
        raise ValidationError("name", checked.name, "ConfigMap %s/%s %s" % (checked.parent_namespace, checked.parent_name, problem))
    live_annotations = ((live_parent or {}).get("metadata") or {}).get("annotations") or {}
    live_kinds = set(applyset.parse_group_kinds(live_annotations.get(applyset.GROUP_KINDS_ANNOTATION)))
    live_namespaces = set(applyset.parse_namespaces(live_annotations.get(applyset.NAMESPACES_ANNOTATION)))
    plan_kinds, plan_namespaces = _plan_group_kinds(checked), _plan_namespaces(checked)
    pruned = []

    if checked.state == "present":
        # the parent first, listing every kind that has members (those of the plan and those
        # still to be pruned): a run that stops half-way leaves no member prune could not find
        progress.stage("parent", lambda: _engine(client, [_parent_item(checked, plan_kinds | live_kinds,
                                                                       plan_namespaces | live_namespaces)],
                                                 progress, checked))
        objects = [e for e in checked.entries if e.description.rank < CAPACITY_RANK]
        workloads = [e for e in checked.entries if e.description.rank >= CAPACITY_RANK]
        progress.stage("objects", lambda: _engine(client, [_item(checked, e, ctx, "present") for e in objects],
                                                  progress, checked, parallel))
        for where, p in checked.capacity:
            progress.stage("capacity", lambda where=where, p=p: _capacity_step(client, checked, where, p, progress))
        for where, p, requested in checked.node_taints:
            progress.stage("node_taints", lambda where=where, p=p, r=requested: _taints_step(
                client, checked, where, p, r, progress))
        progress.stage("workloads", lambda: _engine(client, [_item(checked, e, ctx, "present") for e in workloads],
                                                    progress, checked, parallel))
        if params.get("prune"):
            keep = set(e.key for e in checked.entries)
            items = progress.stage("prune", lambda: _prune_items(client, checked, plan_kinds | live_kinds, keep, ctx,
                                                                 progress.warnings))
            pruned = [it.ref for it in items]
            progress.stage("prune", lambda: _engine(client, items, progress, checked, parallel))
            if live_kinds - plan_kinds or live_namespaces - plan_namespaces:
                progress.stage("parent", lambda: _engine(client, [_parent_item(checked, plan_kinds, plan_namespaces)],
                                                         progress, checked))
    else:
        for where, p, requested in checked.node_taints:
            progress.stage("node_taints", lambda where=where, p=p, r=requested: _taints_step(
                client, checked, where, p, r, progress))
        declared = [_item(checked, e, ctx, "absent") for e in reversed(checked.entries)]
        for it in declared:
            if it.kind == KINDS["ClusterQueue"]:
                ctx.deleting_cluster_queues.add(it.name)
        keep = set(it.key for it in declared)
        others = progress.stage("prune", lambda: _prune_items(client, checked, plan_kinds | live_kinds, keep, ctx,
                                                              progress.warnings))
        pruned = [it.ref for it in others]
        everything = sorted(declared + others, key=lambda it: it.level)  # most dependent first; stable
        progress.stage("objects", lambda: _engine(client, everything, progress, checked, parallel))
        progress.stage("parent", lambda: _engine(client, [_parent_item(checked, (), (), state="absent")],
                                                 progress, checked))

    report = drift.report(progress.results, pruned, progress.extra, fields=progress.fields)
    progress.timings["total"] = round(time.monotonic() - start, 3)
    return progress.outcome(
        plan=checked.name, pruned=pruned, drift=report,
        applyset={"id": checked.set_id, "parent": "ConfigMap/%s/%s" % (checked.parent_namespace, checked.parent_name)})


def invocation_of(params):
    """What the result echoes as the module's arguments (``invocation``, shown with -vvv): every
    option, with each section's entries by name only - a plan of 1000 objects echoed whole costs
    Ansible seconds to carry back, and the objects are in ``results`` anyway. Pure."""
    out = {}
    for key, value in params.items():
        if key in SECTION_RANKS and isinstance(value, list):
            value = [(e.get("name") or (e.get("metadata") or {}).get("name")) if isinstance(e, dict) else e for e in value]
        out[key] = value
    return {"module_args": out}


def run_cluster_plan_module(module):
    def body(m):
        result = run_cluster_plan(m.client, m.params, check_mode=m.check_mode)
        report = result["drift"]
        if m.params.get("fail_on_drift") and report["drifted"]:
            out = dict(result)
            out.pop("warnings", None)
            diffs = out.pop("diff", [])
            if m.diff_mode:
                out["diff"] = diffs
            m.fail_json(msg="drift: %d object(s) differ from plan %s%s:\n%s" % (
                report["drifted"], result["plan"], " (corrected)" if not m.check_mode else "",
                "\n".join(report["lines"][:50])), **out)
        m.exit_engine(result, single=False, invocation=invocation_of(m.params))

    module.run(body)
