# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kueue usage and pending positions for the info module: summaries (pure) and the visibility API.

Public API
----------
``summarize_cluster_queue(cq)``, ``summarize_local_queue(lq)``,
``compute_pending_positions(cq_name, workloads, local_queues)`` (Kueue's order: priority, then time;
used when the visibility API is not served), ``pending_workloads(client, cq_name=None, namespace=None,
lq_name=None, limit=None) -> (list, None) or (None, reason)``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ApiError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import parse_quantity
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import VISIBILITY_CQ, VISIBILITY_LQ
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.workloads import workload_ref, workloads_of_cluster_queue


def _amount_map(status, key):
    out = {}
    for f in (status or {}).get(key) or []:
        for r in f.get("resources") or []:
            out[(f.get("name"), r.get("name"))] = r
    return out


def _condition_info(obj, ctype="Active"):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c.get("status") == "True", c.get("reason"), c.get("message")
    return None, None, None


def summarize_cluster_queue(cq):
    spec, st = cq.get("spec") or {}, cq.get("status") or {}
    usage, reservation = _amount_map(st, "flavorsUsage"), _amount_map(st, "flavorsReservation")
    flavors = []
    borrowing = False
    for g in spec.get("resourceGroups") or []:
        for f in g.get("flavors") or []:
            resources = []
            for r in f.get("resources") or []:
                key = (f.get("name"), r.get("name"))
                u, rv = usage.get(key) or {}, reservation.get(key) or {}
                borrowed = rv.get("borrowed") or u.get("borrowed") or "0"
                try:
                    if parse_quantity(borrowed) > 0:
                        borrowing = True
                except ValueError:
                    pass
                resources.append({
                    "name": r.get("name"),
                    "nominal_quota": r.get("nominalQuota"),
                    "borrowing_limit": r.get("borrowingLimit"),
                    "lending_limit": r.get("lendingLimit"),
                    "usage": u.get("total", "0"),
                    "reservation": rv.get("total", "0"),
                    "borrowed": borrowed,
                })
            flavors.append({"name": f.get("name"), "resources": resources})
    active, reason, message = _condition_info(cq)
    return {
        "name": (cq.get("metadata") or {}).get("name"),
        "cohort": spec.get("cohortName"),
        "stop_policy": spec.get("stopPolicy", "None"),
        "queueing_strategy": spec.get("queueingStrategy"),
        "active": active,
        "active_reason": reason,
        "active_message": message,
        "admitted_workloads": st.get("admittedWorkloads", 0),
        "reserving_workloads": st.get("reservingWorkloads", 0),
        "pending_workloads": st.get("pendingWorkloads", 0),
        "borrowing": borrowing,
        "flavors": flavors,
        "fair_sharing": st.get("fairSharing"),
    }


def summarize_local_queue(lq):
    spec, st = lq.get("spec") or {}, lq.get("status") or {}
    usage, reservation = _amount_map(st, "flavorsUsage"), _amount_map(st, "flavorsReservation")
    keys = []
    for k in list(reservation) + list(usage):
        if k not in keys:
            keys.append(k)
    flavors = {}
    for (fl, res) in keys:
        flavors.setdefault(fl, []).append({
            "name": res,
            "usage": (usage.get((fl, res)) or {}).get("total", "0"),
            "reservation": (reservation.get((fl, res)) or {}).get("total", "0"),
        })
    active, reason, message = _condition_info(lq)
    m = lq.get("metadata") or {}
    return {
        "name": m.get("name"),
        "namespace": m.get("namespace"),
        "cluster_queue": spec.get("clusterQueue"),
        "stop_policy": spec.get("stopPolicy", "None"),
        "active": active,
        "active_reason": reason,
        "active_message": message,
        "admitted_workloads": st.get("admittedWorkloads", 0),
        "reserving_workloads": st.get("reservingWorkloads", 0),
        "pending_workloads": st.get("pendingWorkloads", 0),
        "flavors": [{"name": k, "resources": val} for k, val in flavors.items()],
    }


def _wl_priority(wl):
    p = (wl.get("spec") or {}).get("priority")
    return p if isinstance(p, int) else 0


def _wl_created(wl):
    # Kueue orders by the eviction/requeue time when present, else creation time.
    st = wl.get("status") or {}
    for c in st.get("conditions") or []:
        if c.get("type") == "Evicted" and c.get("status") == "True":
            return c.get("lastTransitionTime") or ""
    return (wl.get("metadata") or {}).get("creationTimestamp") or ""


def compute_pending_positions(cq_name, workloads, local_queues):
    """Pending workloads of a ClusterQueue ordered as Kueue's queue orders them (priority, then
    time); used when the visibility API is not served. Positions are 0-based like Kueue's."""
    pending = workloads_of_cluster_queue(cq_name, workloads, local_queues)[1]
    pending = [w for w in pending if (w.get("spec") or {}).get("active", True) is not False]
    pending.sort(key=lambda w: (-_wl_priority(w), _wl_created(w), workload_ref(w)))
    per_lq = {}
    out = []
    for i, wl in enumerate(pending):
        m = wl.get("metadata") or {}
        lq = (m.get("namespace"), (wl.get("spec") or {}).get("queueName"))
        pos_lq = per_lq.get(lq, 0)
        per_lq[lq] = pos_lq + 1
        out.append({
            "name": m.get("name"),
            "namespace": m.get("namespace"),
            "local_queue": lq[1],
            "priority": _wl_priority(wl),
            "position_in_cluster_queue": i,
            "position_in_local_queue": pos_lq,
        })
    return out


def _pending_from_summary(doc):
    out = []
    for item in doc.get("items") or []:
        m = item.get("metadata") or {}
        out.append({
            "name": m.get("name"),
            "namespace": m.get("namespace"),
            "local_queue": item.get("localQueueName"),
            "priority": item.get("priority", 0),
            "position_in_cluster_queue": item.get("positionInClusterQueue"),
            "position_in_local_queue": item.get("positionInLocalQueue"),
        })
    return out


def pending_workloads(client, cq_name=None, namespace=None, lq_name=None, limit=None):
    """Pending workloads with positions from the visibility API; returns ``(list, None)`` or
    ``(None, reason)`` when the API is not served/reachable."""
    if cq_name:
        path = VISIBILITY_CQ.path(name=cq_name, subresource="pendingworkloads")
    else:
        path = VISIBILITY_LQ.path(namespace, lq_name, "pendingworkloads")
    try:
        doc = client.request("GET", path, query={"limit": limit} if limit else None,
                             action="get pending workloads (visibility API)")
    except ApiError as e:
        return None, str(e)
    return _pending_from_summary(doc), None
