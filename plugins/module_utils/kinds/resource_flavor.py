# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kueue ResourceFlavor (kueue.x-k8s.io/v1beta2): node labels, taints, tolerations, topology.

``DESCRIPTION``: options, render, validate, immutable fields (topologyName, and nodeLabels and
tolerations while a topology is set), delete safety (no ClusterQueue quota, no admitted workload).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import (
    CLUSTER_QUEUE,
    MAX_FLAVOR_LABELS,
    MAX_FLAVOR_TAINTS,
    MAX_FLAVOR_TOLERATIONS,
    RESOURCE_FLAVOR,
    TAINTS_SPEC,
    TOLERATIONS_SPEC,
    WORKLOAD,
    check_meta,
    check_ref,
    immutable,
    obj_of,
    render_taint,
    render_toleration,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.safety import flavor_delete_safety

OPTIONS = dict(
    name=dict(type="str", required=True),
    node_labels=dict(type="dict"),
    node_taints=TAINTS_SPEC,
    tolerations=TOLERATIONS_SPEC,
    topology_name=dict(type="str"),
)


def render_resource_flavor(p):
    spec = {}
    if p.get("node_labels") is not None:
        spec["nodeLabels"] = dict(p["node_labels"])
    if p.get("node_taints") is not None:
        spec["nodeTaints"] = [render_taint(t) for t in p["node_taints"]]
    if p.get("tolerations") is not None:
        spec["tolerations"] = [render_toleration(t) for t in p["tolerations"]]
    if p.get("topology_name"):
        spec["topologyName"] = p["topology_name"]
    return obj_of(RESOURCE_FLAVOR, p, spec)


def validate_resource_flavor(obj):
    errs = ErrorCollector()
    check_meta(errs, obj)
    spec = obj.get("spec") or {}
    labels = spec.get("nodeLabels")
    if labels is not None:
        v.check_labels(errs, "spec.nodeLabels", labels)
        errs.check(len(labels) <= MAX_FLAVOR_LABELS, "spec.nodeLabels", labels,
                   "must have at most %d labels (has %d)" % (MAX_FLAVOR_LABELS, len(labels)))
    v.check_taints(errs, "spec.nodeTaints", spec.get("nodeTaints"), max_items=MAX_FLAVOR_TAINTS)
    v.check_tolerations(errs, "spec.tolerations", spec.get("tolerations"), max_items=MAX_FLAVOR_TOLERATIONS)
    if spec.get("topologyName") is not None:
        check_ref(errs, "spec.topologyName", spec.get("topologyName"))
        errs.check(bool(labels), "spec.nodeLabels", labels, "at least one node label is required when topologyName is set")
    return errs.errors


def immutable_resource_flavor(obj, live):
    errs = ErrorCollector()
    spec, lspec = obj.get("spec") or {}, live.get("spec") or {}
    if lspec.get("topologyName"):
        immutable(errs, "spec.topologyName", spec.get("topologyName"), lspec.get("topologyName"))
        if "nodeLabels" in spec:
            immutable(errs, "spec.nodeLabels", spec.get("nodeLabels"), lspec.get("nodeLabels"),
                      " while topologyName is set")
        if "tolerations" in spec:
            immutable(errs, "spec.tolerations", spec.get("tolerations"), lspec.get("tolerations"),
                      " while topologyName is set")
    return errs.errors


DESCRIPTION = KindDescription(
    RESOURCE_FLAVOR, OPTIONS, render_resource_flavor, validate_resource_flavor, section="resource_flavors", rank=31,
    immutable=immutable_resource_flavor,
    delete_safety=lambda name, namespace, live, ctx: flavor_delete_safety(
        name, live, ctx.list(CLUSTER_QUEUE), ctx.list(WORKLOAD)))
