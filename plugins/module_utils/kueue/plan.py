# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole Kueue queue plan in ONE engine run (the body of the ``kueue_plan`` module).

Flow::

    every entry checked against the options of its per-kind module (types, choices, unknown keys)
    every entry rendered and validated (the per-kind render/validate functions of kueue.py)
        -> all problems raised together, each naming the entry and the option:
           ``ClusterQueue/a: cluster_queues[2].resource_groups[0].flavors[0].resources[1].nominal_quota: ...``
    items in dependency order (present) or reverse order (absent), plus, with ``prune``, deletes of
    the objects labelled for this plan that the plan no longer has (after the writes, reverse order)
    engine.run: one LIST per kind, immutable-field and safety prechecks (Workloads listed at most once,
    and only when a quota drops, a flavor goes or a queue/flavor is deleted), server-side apply (dry
    run in check mode), waits for Active (not polled when the object in hand already is Active)

Public API
----------
``DESCRIPTIONS``: ``{option: KindDescription}`` of the sections (``kinds.catalog.KUEUE`` gives their
    dependency order: topologies, resource_flavors, cohorts,
    workload_priority_classes, admission_checks, cluster_queues, local_queues).
``ENTRY_SPECS``: ``{option: argument spec of one entry}`` (the options of the per-kind module,
    without ``state``, ``wait`` and the auth options).
``PLAN_ARGUMENT_SPEC``: the argument spec of the ``kueue_plan`` module (without auth options).
``check_entries(params) -> (entries, errors)``: entries normalised by their argument spec
    (defaults filled in) as ``[(option, index, kind, entry)]`` in dependency order (cohorts parents
    first); ``errors`` are ``ValidationError`` naming ``option[index]``. Pure.
``render_entries(entries, state) -> [(option, index, kind, entry, obj)]`` (obj None when absent). Pure.
``order_for_state(rendered, state)``: dependency order, or the reverse for ``absent``. Pure.
``option_path(option, index, entry, obj, field) -> str``: a field of a rendered object
    (``spec.resourceGroups[0].flavors[0].resources[1].nominalQuota``) as the path of the option that
    set it (``cluster_queues[2].resource_groups[0].flavors[0].resources[1].nominal_quota``). Pure.
``plan_items(client, params, live_state=None) -> [engine.Item]``: the items of a plan.
``run_plan(client, params, check_mode=False) -> dict``: the engine result plus ``plan``, ``prune``.
``run_plan_module(module)``: the whole body of the module.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    NOVALUE,
    ErrorCollector,
    ErrorList,
    SafetyError,
    ValidationError,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import LiveContext
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.catalog import KUEUE, by_section
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import CLUSTER_QUEUE

# Everything about an entry comes from its kind's description (kinds/): one place per option.
DESCRIPTIONS = by_section(KUEUE)
ENTRY_SPECS = dict((d.section, d.entry_spec()) for d in KUEUE)

PLAN_ARGUMENT_SPEC = dict(
    name=dict(type="str"),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    prune=dict(type="bool", default=False),
    force=dict(type="bool", default=False),
    force_conflicts=dict(type="bool", default=True),
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=60),
    topologies=dict(type="list", elements="dict", default=[]),
    resource_flavors=dict(type="list", elements="dict", default=[], aliases=["flavors"]),
    cohorts=dict(type="list", elements="dict", default=[]),
    workload_priority_classes=dict(type="list", elements="dict", default=[], aliases=["priority_classes"]),
    admission_checks=dict(type="list", elements="dict", default=[]),
    cluster_queues=dict(type="list", elements="dict", default=[]),
    local_queues=dict(type="list", elements="dict", default=[]),
)


# -- pure: entries ---------------------------------------------------------------------------

def _order_cohorts(entries):
    """Cohort entries with the parents of the plan before their children (stable otherwise);
    a cycle is a validation error."""
    by_name = dict((e[3].get("name"), e) for e in entries)
    out, done, errors = [], set(), []

    def visit(entry, path):
        name = entry[3].get("name")
        if name in done:
            return
        if name in path:
            errors.append(ValidationError("%s[%d].parent" % (entry[0], entry[1]), entry[3].get("parent"),
                                          "cohorts form a cycle: %s" % " -> ".join(path + [name])))
            return
        parent = entry[3].get("parent")
        if parent in by_name and parent != name:
            visit(by_name[parent], path + [name])
        if name not in done:
            done.add(name)
            out.append(entry)

    for entry in entries:
        visit(entry, [])
    return out, errors


def check_entries(params):
    """Check every entry against the options of its kind; ``(entries, errors)``, see module doc."""
    state = params.get("state") or "present"
    entries, errors = [], []
    seen = {}
    for d in KUEUE:
        option, kind = d.section, d.kind
        validator = ArgumentSpecValidator(ENTRY_SPECS[option])
        section = []
        for i, raw in enumerate(params.get(option) or []):
            where = "%s[%d]" % (option, i)
            if not isinstance(raw, dict):
                errors.append(ValidationError(where, raw, "must be a dict of the options of a %s" % kind.kind))
                continue
            result = validator.validate(copy.deepcopy(raw))
            for msg in result.error_messages:
                errors.append(ValidationError(where, NOVALUE, msg))
            entry = result.validated_parameters
            for required in d.required_when_present:
                if state == "present" and entry.get(required) in (None, [], ""):
                    errors.append(ValidationError("%s.%s" % (where, required), entry.get(required),
                                                  "is required with state present"))
            key = (kind.kind, entry.get("namespace") if kind.namespaced else None, entry.get("name"))
            if key in seen:
                errors.append(ValidationError(where + ".name", entry.get("name"),
                                              "%s is already given as %s" % (kind.ref(key[2], key[1]), seen[key])))
                continue
            seen[key] = where
            section.append((option, i, kind, entry))
        if option == "cohorts":
            section, cycle_errors = _order_cohorts(section)
            errors.extend(cycle_errors)
        entries.extend(section)
    return entries, errors


def render_entries(entries, state):
    """``[(option, index, kind, entry, obj)]``; obj is the rendered object (None with absent)."""
    out = []
    for option, i, kind, entry in entries:
        obj = DESCRIPTIONS[option].render(entry) if state == "present" else None
        out.append((option, i, kind, entry, obj))
    return out


def order_for_state(rendered, state):
    """Dependency order for present; the reverse (children first) for absent."""
    return list(rendered) if state == "present" else list(reversed(rendered))


# -- pure: error paths -----------------------------------------------------------------------

_SPECIAL = [
    ("metadata.name", "name"),
    ("metadata.namespace", "namespace"),
    ("metadata.labels", "labels"),
    ("metadata.annotations", "annotations"),
    ("spec.cohortName", "cohort"),
    ("spec.parentName", "parent"),
    ("spec.admissionChecksStrategy.admissionChecks", "admission_checks"),
    ("spec.clusterQueue", "cluster_queue"),
]


def _snake(word):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), word)


def _snake_path(path):
    parts = re.split(r"(\[[^\]]*\])", path)
    return "".join(p if p.startswith("[") else ".".join(_snake(w) for w in p.split(".")) for p in parts)


def _remap_resource_index(entry, obj, path):
    """``resource_groups[i].flavors[j].resources[k]``: rendering puts the resources of a flavor in
    covered order, so ``k`` of the object is mapped back to the index in the entry."""
    m = re.match(r"^(resource_groups\[(\d+)\]\.flavors\[(\d+)\]\.resources\[)(\d+)(\].*)$", path)
    if not m:
        return path
    gi, fi, ri = int(m.group(2)), int(m.group(3)), int(m.group(4))
    try:
        name = obj["spec"]["resourceGroups"][gi]["flavors"][fi]["resources"][ri]["name"]
        resources = entry["resource_groups"][gi]["flavors"][fi]["resources"]
    except (KeyError, IndexError, TypeError):
        return path
    for idx, r in enumerate(resources or []):
        if isinstance(r, dict) and r.get("name") == name:
            return "%s%d%s" % (m.group(1), idx, m.group(5))
    return path


def option_path(option, index, entry, obj, field):
    """The option path (in the plan) of ``field`` of the object rendered from ``entry``."""
    prefix = "%s[%d]" % (option, index)
    if not field:
        return prefix
    path = field
    for src, dst in _SPECIAL:
        if path == src or path.startswith(src + ".") or path.startswith(src + "["):
            path = dst + path[len(src):]
            break
    else:
        if path.startswith("spec."):
            path = path[len("spec."):]
    if option == "topologies":
        path = re.sub(r"^levels\[(\d+)\]\.nodeLabel$", r"levels[\1]", path)
    if not path.startswith(("labels", "annotations", "node_labels", "nodeLabels")):
        path = _snake_path(path)
    elif path.startswith("nodeLabels"):
        path = "node_labels" + path[len("nodeLabels"):]
    if obj is not None:
        path = _remap_resource_index(entry, obj, path)
    if path == "state":
        return "%s (state)" % prefix
    return prefix + ("" if path.startswith("[") else ".") + path


def translate_errors(option, index, entry, obj, errors):
    """Errors of a rendered object with the fields named as options of the plan."""
    out = []
    for e in errors or []:
        if isinstance(e, ValidationError):
            out.append(ValidationError(option_path(option, index, entry, obj, e.field), e.value, e.problem, obj=e.obj))
        elif isinstance(e, SafetyError):
            field = option_path(option, index, entry, obj, e.field) if e.field else "%s[%d]" % (option, index)
            out.append(SafetyError(e.problem, e.affected, field, e.value, e.hint, obj=e.obj))
        else:
            out.append(e)
    return out


# -- items and run -----------------------------------------------------------------------------

def _item_params(params, entry, state):
    p = dict(entry)
    p["state"] = state
    p["force"] = bool(params.get("force")) if entry.get("force") is None else bool(entry.get("force"))
    p["wait"] = bool(params.get("wait"))
    p["wait_timeout"] = params.get("wait_timeout") or 60
    return p


def _wrap(item, option, index, entry, obj):
    validate, precheck = item._validate, item._precheck  # pylint: disable=protected-access
    item._validate = lambda: translate_errors(option, index, entry, obj, validate() if validate else [])  # pylint: disable=protected-access
    item._precheck = lambda live: translate_errors(option, index, entry, obj, precheck(live) if precheck else [])  # pylint: disable=protected-access
    return item


class PlanLive(LiveContext):
    """``LiveContext`` for a plan: the ClusterQueues that the same run deletes do not count as users
    of a ResourceFlavor that it deletes too (they are deleted first)."""

    def __init__(self, client):
        super(PlanLive, self).__init__(client)
        self.deleting_cluster_queues = set()

    def list(self, kind):
        listed = super(PlanLive, self).list(kind)
        if kind != CLUSTER_QUEUE:
            return listed
        return [cq for cq in listed if (cq.get("metadata") or {}).get("name") not in self.deleting_cluster_queues]


def _item(option, params, obj, ks):
    return DESCRIPTIONS[option].item(params, obj, ctx=ks)


def plan_items(client, params, live_state=None):
    """The engine items of the plan (not including prunes), raising every input problem together."""
    state = params.get("state") or "present"
    ks = live_state or PlanLive(client)
    entries, errors = check_entries(params)
    items = []
    errs = ErrorCollector()
    for e in errors:
        errs.add_error(e)
    if state == "absent" and isinstance(ks, PlanLive):
        ks.deleting_cluster_queues.update(e[3].get("name") for e in entries if e[2] == CLUSTER_QUEUE)
    for option, i, kind, entry, obj in order_for_state(render_entries(entries, state), state):
        item = _wrap(_item(option, _item_params(params, entry, state), obj, ks), option, i, entry, obj)
        errs.extend([e.for_object(item.ref) for e in item.validate()])
        items.append(item)
    if errs:
        raise ErrorList(errs.errors) if len(errs) > 1 else errs.errors[0]
    return items


def prune_plan_items(client, params, keep, live_state=None):
    """Deletes of the objects labelled for this plan that ``keep`` lacks, children first."""
    ks = live_state or PlanLive(client)
    out = []
    for d in reversed(KUEUE):
        kind = d.kind
        for it in engine.prune_items(client, kind, params["name"], keep):
            p = {"name": it.name, "namespace": it.namespace, "state": "absent", "force": bool(params.get("force")),
                 "wait": bool(params.get("wait")), "wait_timeout": params.get("wait_timeout") or 60}
            out.append(d.item(p, None, ctx=ks))
            if kind == CLUSTER_QUEUE and isinstance(ks, PlanLive):
                ks.deleting_cluster_queues.add(it.name)
    return out


def validate_plan_params(params):
    errs = ErrorCollector()
    name = params.get("name")
    if name is not None:
        problem = v.label_value_problem(name) if name else "must not be empty"
        if problem:
            errs.add("name", name, "the plan's name is the value of the label %s: %s" % (engine.PLAN_LABEL, problem))
    if params.get("prune"):
        errs.check(bool(name), "prune", True, "needs the plan's name (option name): only objects labelled "
                   "%s=<name> are pruned" % engine.PLAN_LABEL)
        errs.check((params.get("state") or "present") == "present", "prune", True,
                   "only applies with state present (state absent deletes the objects of the plan)")
    return errs.errors


def run_plan(client, params, check_mode=False):
    """Apply (or delete) the whole plan in one engine run; see the module's documentation."""
    errs = ErrorCollector()
    errs.extend(validate_plan_params(params))
    errs.raise_if_any()
    ks = PlanLive(client)
    items = plan_items(client, params, live_state=ks)
    pruned = []
    if params.get("prune"):
        pruned = prune_plan_items(client, params, [it for it in items if it.state == "present"], live_state=ks)
    labels = {engine.PLAN_LABEL: params["name"]} if params.get("name") else None
    # check mode: LocalQueues whose namespace an earlier task of the play would create are
    # reported as would be created (with a warning), not as failures
    result = engine.run(client, items + pruned, check_mode=check_mode, labels=labels, tolerate_missing_namespace=True,
                        force_conflicts=params.get("force_conflicts", True))
    result["plan"] = params.get("name")
    result["pruned"] = [it.ref for it in pruned]
    return result


def run_plan_module(module):
    def body(m):
        result = run_plan(m.client, m.params, check_mode=m.check_mode)
        m.exit_engine(result, single=False)

    module.run(body)
