# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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
``check_entries(params) -> (entries, errors)``: ``plan.entries.check_entries`` over the Kueue
    sections: ``[plan.entries.Entry]`` in dependency order (cohorts parents first); ``errors`` are
    ``ValidationError`` naming ``option[index]``. Pure.
``render_entries(entries, state)``: sets each entry's ``obj`` (None when absent). Pure.
``order_for_state(entries, state)``: dependency order, or the reverse for ``absent``. Pure.
(Option paths of errors - ``cluster_queues[2].resource_groups[0].flavors[0].resources[1].nominal_quota``
for ``spec.resourceGroups[0]...nominalQuota`` - are ``plan.entries.option_path``.)
``plan_items(client, params, live_state=None) -> [engine.Item]``: the items of a plan.
``run_plan(client, params, check_mode=False) -> dict``: the engine result plus ``plan``, ``prune``.
``run_plan_module(module)``: the whole body of the module.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector, ErrorList
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import LiveContext
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.catalog import KUEUE, by_section
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import CLUSTER_QUEUE
from ansible_collections.gpuaas.orchestration.plugins.module_utils.plan import entries as plan_entries

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


# -- pure: entries (plan.entries does the work for every plan) ---------------------------------

def check_entries(params):
    """Every entry checked against the options of its kind: ``(entries, errors)``, see module doc."""
    return plan_entries.check_entries(KUEUE, params, params.get("state") or "present")


def render_entries(entries, state):
    return plan_entries.render_entries(entries, state)


def order_for_state(entries, state):
    """Dependency order for present; the reverse (children first) for absent."""
    return list(entries) if state == "present" else list(reversed(entries))


# -- items and run -----------------------------------------------------------------------------

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
        ks.deleting_cluster_queues.update(e.params.get("name") for e in entries if e.kind == CLUSTER_QUEUE)
    for entry in order_for_state(render_entries(entries, state), state):
        item = entry.description.item(plan_entries.item_params(params, entry.params, state, 60), entry.obj, ctx=ks)
        item = plan_entries.with_plan_paths(item, entry)
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
            p = plan_entries.item_params(params, {"name": it.name, "namespace": it.namespace}, "absent", 60)
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
