# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a Kueue change would do to running work (pure; ``force`` skips these checks).

Public API
----------
``cluster_queue_quota_cuts(obj, live) -> (removed_flavors, {(flavor, resource): (old, new)})``,
``cluster_queue_update_safety(obj, live, workloads)`` (``workloads`` a list or a callable, called
only when the pure comparison finds a cut), ``cluster_queue_delete_safety(name, live, workloads,
local_queues)``, ``local_queue_delete_safety(namespace, name, live, workloads)``,
``flavor_delete_safety(name, live, cluster_queues, workloads)``; each returns ``[SafetyError]``.
``quotas_of(spec) -> {(flavor, resource): nominalQuota}``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import SafetyError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import format_quantity, parse_quantity
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.workloads import (
    has_quota_reserved,
    workload_cluster_queue,
    workload_flavor_usage,
    workload_ref,
    workloads_of_cluster_queue,
    workloads_of_local_queue,
)


def quotas_of(spec):
    out = {}
    for g in (spec or {}).get("resourceGroups") or []:
        for f in g.get("flavors") or []:
            for r in f.get("resources") or []:
                out[(f.get("name"), r.get("name"))] = r.get("nominalQuota")
    return out


def _status_amounts(status, key):
    out = {}
    for f in (status or {}).get(key) or []:
        for r in f.get("resources") or []:
            try:
                out[(f.get("name"), r.get("name"))] = parse_quantity(r.get("total") or 0)
            except ValueError:
                pass
    return out


def _field_of(spec, flavor, resource):
    for i, g in enumerate(spec.get("resourceGroups") or []):
        for j, f in enumerate(g.get("flavors") or []):
            if f.get("name") != flavor:
                continue
            for k, r in enumerate(f.get("resources") or []):
                if r.get("name") == resource:
                    return "spec.resourceGroups[%d].flavors[%d].resources[%d].nominalQuota" % (i, j, k)
    return "spec.resourceGroups"


def cluster_queue_quota_cuts(obj, live):
    """Pure comparison of the desired and the live quotas of a ClusterQueue.

    Returns ``(removed_flavors, cuts)``: the flavors of ``live`` that ``obj`` no longer has, and
    ``{(flavor, resource): (old, new)}`` for every nominal quota that drops (a resource dropped from
    a flavor that stays counts as a drop to 0). Both empty when the update cannot take quota away
    from admitted workloads, so no Workload needs to be read. Nothing to compare when the desired
    object does not set ``resourceGroups`` (the live ones are kept then).
    """
    if live is None:
        return [], {}
    spec = obj.get("spec") or {}
    if "resourceGroups" not in spec:
        return [], {}
    new_q, old_q = quotas_of(spec), quotas_of(live.get("spec"))
    new_flavors = set(key[0] for key in new_q)
    removed = sorted(set(key[0] for key in old_q) - new_flavors)
    cuts = {}
    for key, old in old_q.items():
        if key[0] in removed:
            continue
        new = new_q.get(key, "0")
        try:
            if parse_quantity(old) > parse_quantity(new):
                cuts[key] = (old, new)
        except ValueError:
            cuts[key] = (old, new)
    return removed, cuts


def cluster_queue_update_safety(obj, live, workloads):
    """Refuse quota cuts below what is reserved and removal of flavors that workloads use.

    ``workloads`` is the list of Workloads or a callable returning it: it is only called when the
    pure comparison (``cluster_queue_quota_cuts``) finds a quota that drops or a flavor that goes.
    """
    removed, cuts = cluster_queue_quota_cuts(obj, live)
    if not removed and not cuts:
        return []
    if callable(workloads):
        workloads = workloads()
    name = (obj.get("metadata") or {}).get("name")
    spec = obj.get("spec") or {}
    reserving = [w for w in workloads or [] if has_quota_reserved(w) and workload_cluster_queue(w) == name]
    used = {}
    users = {}
    for wl in reserving:
        for key, q in workload_flavor_usage(wl).items():
            used[key] = used.get(key, 0) + q
            users.setdefault(key, []).append(workload_ref(wl))
    status_used = _status_amounts(live.get("status"), "flavorsReservation")
    for key, q in status_used.items():
        used[key] = max(used.get(key, 0), q)
    errors = []
    for flavor in removed:
        names = sorted(set(n for key, lst in users.items() if key[0] == flavor for n in lst))
        in_use = [k for k, q in used.items() if k[0] == flavor and q > 0]
        if names or in_use:
            errors.append(SafetyError("flavor %r is removed but admitted workloads use it" % flavor,
                                      affected=names, field="spec.resourceGroups", value=flavor))
    for key, (old, new) in sorted(cuts.items()):
        try:
            nq = parse_quantity(new)
        except ValueError:
            continue
        u = used.get(key, 0)
        if u > nq:
            errors.append(SafetyError(
                "nominalQuota of flavor %r resource %r would be %s, below the %s in use" % (
                    key[0], key[1], new, format_quantity(u)),
                affected=sorted(set(users.get(key, []))), field=_field_of(spec, key[0], key[1]), value=new))
    return errors


def cluster_queue_delete_safety(name, live, workloads, local_queues):
    if live is None:
        return []
    reserving, pending = workloads_of_cluster_queue(name, workloads, local_queues)
    st = live.get("status") or {}
    counted = (st.get("admittedWorkloads") or 0) + (st.get("reservingWorkloads") or 0) + (st.get("pendingWorkloads") or 0)
    if reserving or pending or counted:
        listed = len(reserving) + len(pending)
        # the queue's own counters can run ahead of the Workloads we could list (another
        # namespace we may not read, a workload created a moment ago): say so, not "0 and 0"
        extra = "" if counted <= listed else " (its status counts admitted %s, reserving %s, pending %s)" % (
            st.get("admittedWorkloads") or 0, st.get("reservingWorkloads") or 0, st.get("pendingWorkloads") or 0)
        return [SafetyError(
            "ClusterQueue %r still has %d admitted/reserving and %d pending workloads%s" % (
                name, len(reserving), len(pending), extra),
            affected=[workload_ref(w) for w in reserving + pending], field="state", value="absent")]
    return []


def local_queue_delete_safety(namespace, name, live, workloads):
    if live is None:
        return []
    reserving, pending = workloads_of_local_queue(namespace, name, workloads)
    if reserving or pending:
        return [SafetyError(
            "LocalQueue %s/%s still has %d admitted/reserving and %d pending workloads" % (
                namespace, name, len(reserving), len(pending)),
            affected=[workload_ref(w) for w in reserving + pending], field="state", value="absent")]
    return []


def flavor_delete_safety(name, live, cluster_queues, workloads):
    if live is None:
        return []
    cqs = sorted((c.get("metadata") or {}).get("name") for c in cluster_queues or []
                 if any(key[0] == name for key in quotas_of(c.get("spec"))))
    wls = sorted(workload_ref(w) for w in workloads or []
                 if has_quota_reserved(w) and any(key[0] == name for key in workload_flavor_usage(w)))
    if cqs or wls:
        return [SafetyError("ResourceFlavor %r is still used by ClusterQueues %s" % (name, cqs or "[]"),
                            affected=wls + ["ClusterQueue/%s" % c for c in cqs], field="state", value="absent")]
    return []
