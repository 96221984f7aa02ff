# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kueue Workloads: state and usage (pure).

Public API
----------
``workload_ref(wl)`` (``namespace/name``), ``is_finished``, ``is_admitted``, ``has_quota_reserved``,
``workload_cluster_queue(wl)``, ``workload_flavor_usage(wl) -> {(flavor, resource): Decimal}``,
``workloads_of_cluster_queue(cq_name, workloads, local_queues) -> (reserving, pending)``,
``workloads_of_local_queue(namespace, name, workloads) -> (reserving, pending)``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import parse_quantity


def _cond(obj, ctype):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c.get("status") == "True"
    return False


def workload_ref(wl):
    m = wl.get("metadata") or {}
    return "%s/%s" % (m.get("namespace"), m.get("name"))


def is_finished(wl):
    return _cond(wl, "Finished")


def is_admitted(wl):
    return _cond(wl, "Admitted")


def has_quota_reserved(wl):
    return _cond(wl, "QuotaReserved") and not is_finished(wl)


def workload_cluster_queue(wl):
    return (((wl.get("status") or {}).get("admission")) or {}).get("clusterQueue")


def workload_flavor_usage(wl):
    """``{(flavor, resource): Decimal}`` reserved by an admitted/reserving workload."""
    out = {}
    adm = (wl.get("status") or {}).get("admission") or {}
    for psa in adm.get("podSetAssignments") or []:
        usage = psa.get("resourceUsage") or {}
        for res, flavor in (psa.get("flavors") or {}).items():
            try:
                q = parse_quantity(usage.get(res, 0))
            except ValueError:
                q = 0
            out[(flavor, res)] = out.get((flavor, res), 0) + q
    return out


def _lq_to_cq(local_queues):
    return dict((((lq.get("metadata") or {}).get("namespace"), (lq.get("metadata") or {}).get("name")),
                 (lq.get("spec") or {}).get("clusterQueue")) for lq in local_queues or [])


def workloads_of_cluster_queue(cq_name, workloads, local_queues):
    """``(reserving, pending)`` workloads of a ClusterQueue (finished ones are left out)."""
    lq_map = _lq_to_cq(local_queues)
    reserving, pending = [], []
    for wl in workloads or []:
        if is_finished(wl):
            continue
        if has_quota_reserved(wl):
            if workload_cluster_queue(wl) == cq_name:
                reserving.append(wl)
            continue
        m = wl.get("metadata") or {}
        if lq_map.get((m.get("namespace"), (wl.get("spec") or {}).get("queueName"))) == cq_name:
            pending.append(wl)
    return reserving, pending


def workloads_of_local_queue(namespace, name, workloads):
    """``(reserving, pending)`` unfinished workloads submitted to a LocalQueue."""
    reserving, pending = [], []
    for wl in workloads or []:
        m = wl.get("metadata") or {}
        if m.get("namespace") != namespace or (wl.get("spec") or {}).get("queueName") != name or is_finished(wl):
            continue
        (reserving if has_quota_reserved(wl) else pending).append(wl)
    return reserving, pending
