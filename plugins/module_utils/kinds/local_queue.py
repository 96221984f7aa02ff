# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kueue LocalQueue (kueue.x-k8s.io/v1beta2): a namespace's queue into a ClusterQueue.

``DESCRIPTION``: options, render, validate, immutable ``clusterQueue``, delete safety (admitted,
reserving or pending workloads), readiness (Active).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import (
    ACTIVE,
    FAIR_SHARING_QUANTITIES,
    FAIR_SHARING_SPEC,
    LOCAL_QUEUE,
    STOP_POLICIES,
    STOP_POLICY_SPEC,
    WORKLOAD,
    check_fair_sharing,
    check_meta,
    check_ref,
    immutable,
    obj_of,
    render_fair_sharing,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.safety import local_queue_delete_safety

OPTIONS = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
    cluster_queue=dict(type="str"),
    stop_policy=STOP_POLICY_SPEC,
    fair_sharing=FAIR_SHARING_SPEC,
)


def render_local_queue(p):
    spec = {"clusterQueue": p.get("cluster_queue")}
    if p.get("stop_policy"):
        spec["stopPolicy"] = p["stop_policy"]
    if render_fair_sharing(p) is not None:
        spec["fairSharing"] = render_fair_sharing(p)
    return obj_of(LOCAL_QUEUE, p, spec, namespaced=True)


def validate_local_queue(obj):
    errs = ErrorCollector()
    check_meta(errs, obj, namespaced=True)
    spec = obj.get("spec") or {}
    check_ref(errs, "spec.clusterQueue", spec.get("clusterQueue"), required=True)
    if spec.get("stopPolicy") is not None:
        v.check_choice(errs, "spec.stopPolicy", spec["stopPolicy"], STOP_POLICIES)
    check_fair_sharing(errs, "spec.fairSharing", spec.get("fairSharing"))
    return errs.errors


def immutable_local_queue(obj, live):
    errs = ErrorCollector()
    spec, lspec = obj.get("spec") or {}, live.get("spec") or {}
    if spec.get("clusterQueue") and lspec.get("clusterQueue"):
        immutable(errs, "spec.clusterQueue", spec.get("clusterQueue"), lspec.get("clusterQueue"))
    return errs.errors


DESCRIPTION = KindDescription(
    LOCAL_QUEUE, OPTIONS, render_local_queue, validate_local_queue, section="local_queues", rank=37,
    required_when_present=["cluster_queue"], immutable=immutable_local_queue,
    delete_safety=lambda name, namespace, live, ctx: local_queue_delete_safety(namespace, name, live, ctx.list(WORKLOAD)),
    ready=ACTIVE, quantity_paths=FAIR_SHARING_QUANTITIES)
