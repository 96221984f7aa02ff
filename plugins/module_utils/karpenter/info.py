# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reports of karpenter_info (pure functions).

Public API
----------
``pool_summary(nodepool, nodes, nodeclaims, now=None) -> dict``   per pool: node and NodeClaim
    counts, GPUs in the nodes' capacity and allocatable, every limit with ``used``, ``remaining``
    and ``percent``, the budgets and the ones in force now (UTC), the pause of
    karpenter_disruption, the consolidation settings. Quantities are summed as Decimals and
    reported as ints (floats when not whole).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import parse_quantity
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import condition_status
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.budgets import is_paused, saved_budgets
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.capacity import (
    as_number,
    quantity_or_none,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.schedule import budget_active
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodeclaim import (
    GPU_RESOURCE,
    allocatable_gpus,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodepool import NODEPOOL_LABEL


def _of_pool(objects, name):
    return [o for o in objects if ((o.get("metadata") or {}).get("labels") or {}).get(NODEPOOL_LABEL) == name]


def _gpu_capacity(node):
    status = node.get("status") or {}
    return quantity_or_none((status.get("capacity") or {}).get(GPU_RESOURCE) or
                            (status.get("allocatable") or {}).get(GPU_RESOURCE)) or 0


def pool_summary(nodepool, nodes, nodeclaims, now=None):
    """Per-pool report for karpenter_info: node counts, GPUs, limits and headroom, budgets now."""
    name = nodepool["metadata"]["name"]
    spec = nodepool.get("spec") or {}
    status = nodepool.get("status") or {}
    disruption = spec.get("disruption") or {}
    pool_nodes = _of_pool(nodes, name)
    gpu_cap = sum((_gpu_capacity(n) for n in pool_nodes), parse_quantity(0))
    gpu_alloc = sum((allocatable_gpus(n) or 0 for n in pool_nodes), parse_quantity(0))
    resources = status.get("resources") or {}
    limits = {}
    for res, limit in (spec.get("limits") or {}).items():
        used = quantity_or_none(resources.get(res)) or parse_quantity(0)
        if res == GPU_RESOURCE and not resources.get(res):
            used = gpu_cap
        lim = quantity_or_none(limit)
        limits[res] = {"limit": str(limit), "used": as_number(used),
                       "remaining": as_number(lim - used) if lim is not None else None,
                       "percent": round(float(100 * used / lim), 1) if lim else None}
    budgets = disruption.get("budgets") or []
    active = []
    for budget in budgets:
        try:
            if budget_active(budget, now):
                active.append(budget)
        except ValueError:
            active.append(dict(budget, invalid=True))
    return {
        "name": name,
        "nodes": len(pool_nodes),
        "status_nodes": status.get("nodes"),
        "nodeclaims": len(_of_pool(nodeclaims, name)),
        "ready": condition_status(nodepool, "Ready"),
        "weight": spec.get("weight"),
        "gpu_capacity": int(gpu_cap),
        "gpu_allocatable": int(gpu_alloc),
        "resources": resources,
        "limits": limits,
        "budgets": budgets,
        "active_budgets": active,
        "paused": is_paused(nodepool),
        "saved_budgets": saved_budgets(nodepool),
        "consolidation_policy": disruption.get("consolidationPolicy"),
        "consolidate_after": disruption.get("consolidateAfter"),
    }
