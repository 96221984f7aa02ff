# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Karpenter NodeClaim (karpenter.sh/v1): ``DESCRIPTION``, the one home of the kind.

NodeClaims are made by karpenter_capacity from a NodePool's template: one capacity group of
one shape. Their names are made here and are deterministic: ``<pool>-<group>-<n>``, with the lowest
numbers not taken by a NodeClaim that exists (one being deleted included), so that two runs for the
same group that race choose the same names and the API server lets only one create each
(karpenter_capacity creates them with POST: the loser gets 409 AlreadyExists). NodeClaims made by
earlier versions (``<pool>-<group>-<5 random lowercase letters>``) still belong to their group.

Public API
----------
``DESCRIPTION``      ``KindDescription`` (rank 80, no options: karpenter_capacity's options make
                     NodeClaims, rendered by ``render_nodeclaim``): validation, immutable spec,
                     readiness (condition Initialized True), quantity paths ``spec.resources.requests.*``
``NODECLAIM``        ``client.Kind``
``DO_NOT_DISRUPT``, ``INSTANCE_TYPE_LABEL``, ``CAPACITY_GROUP_LABEL``, ``GPU_RESOURCE``,
``GPU_COUNT_LABEL``, ``GPU_PRODUCT_LABEL``
``render_nodeclaim(nodepool, group, shape, name, labels=None, protect=True) -> obj``
    from the live NodePool's template; ``shape`` is ``{"instance_types": [...], "requirements":
    {key: value}}``; owned by the NodePool (when it has a uid). Pure; values the pool's
    requirements do not allow are left out (``shape_errors`` reports them).
``shape_errors(nodepool, shape) -> [ValidationError]``   shape values the pool does not allow
``requirement_allows(req, value) -> bool``   In/NotIn/Exists/DoesNotExist/Gt/Lt/Gte/Lte
``claim_name(pool, group, number) -> str``   ``<pool>-<group>-<number>``
``free_names(pool, group, taken, how_many) -> [str]``   the lowest-numbered names not in ``taken``
``validate_nodeclaim(obj) -> [ValidationError]``, ``nodeclaim_immutable(obj, live)``
``quantity_or_none(value) -> Decimal or None``   a live quantity that may be missing or unreadable
``allocatable_gpus(obj) -> Decimal or None``   ``nvidia.com/gpu`` of a Node's or NodeClaim's
    ``status.allocatable``
``claim_initialized(claim) -> bool``; ``claim_ready(claim, node, want_gpus) -> bool``: Initialized,
    with at least the GPUs the NodeClaim promised allocatable on its node (any, for a GPU shape)
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ErrorCollector,
    ValidationError,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import quantity_or_none  # re-exported
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import is_condition_true
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodepool import (
    API_VERSION,
    NODEPOOL_LABEL,
    check_node_class_ref,
    check_requirements,
)

NODECLAIM = KINDS["NodeClaim"]
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
CAPACITY_GROUP_LABEL = "gpuaas.io/capacity-group"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_COUNT_LABEL = "nvidia.com/gpu.count"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


def requirement_allows(req, value):
    """Does one requirement (In/NotIn/Exists/DoesNotExist/Gt/Lt/Gte/Lte) allow a label value?"""
    op, values = req.get("operator"), req.get("values") or []
    if op == "In":
        return value in values
    if op == "NotIn":
        return value not in values
    if op == "Exists":
        return True
    if op == "DoesNotExist":
        return False
    try:
        number, bound = int(value), int(values[0])
    except (TypeError, ValueError, IndexError):
        return False
    return {"Gt": number > bound, "Lt": number < bound, "Gte": number >= bound, "Lte": number <= bound}.get(op, False)


def _template(nodepool):
    tmpl = (nodepool.get("spec") or {}).get("template") or {}
    return tmpl.get("metadata") or {}, tmpl.get("spec") or {}


def _merged_requirements(nodepool, shape):
    """(requirements, errors): the pool's requirements with the shape's values in place of (or
    added to) the pool's for the same key; a shape value the pool's requirement does not allow is
    an error."""
    pool = nodepool["metadata"]["name"]
    ours = {}
    if shape.get("instance_types"):
        ours[INSTANCE_TYPE_LABEL] = list(shape["instance_types"])
    for key, value in (shape.get("requirements") or {}).items():
        ours[key] = [str(value)]
    errors, requirements = [], []
    for req in _template(nodepool)[1].get("requirements") or []:
        if req.get("key") not in ours:
            requirements.append(copy.deepcopy(req))
            continue
        wanted = ours[req["key"]]
        allowed = [x for x in wanted if requirement_allows(req, x)]
        if not allowed:
            field = "instance_types" if req["key"] == INSTANCE_TYPE_LABEL else "shape[%r]" % req["key"]
            errors.append(ValidationError(field, wanted, "NodePool %s requirement %s %s %s does not allow %s" % (
                pool, req["key"], req.get("operator"), req.get("values") or "", ", ".join(wanted))))
        ours[req["key"]] = allowed
    for key, values in ours.items():
        requirements.append({"key": key, "operator": "In", "values": values})
    return requirements, errors


def shape_errors(nodepool, shape):
    return _merged_requirements(nodepool, shape)[1]


def claim_name(pool, group, number):
    """``<pool>-<group>-<number>``: the deterministic name of a capacity group's NodeClaim."""
    return "%s-%s-%d" % (pool, group, number)


def free_names(pool, group, taken, how_many):
    """The ``how_many`` lowest-numbered names ``<pool>-<group>-<n>`` (n from 1) not in ``taken``
    (the names of every NodeClaim of the group that exists, those being deleted included)."""
    taken = set(taken or ())
    names, number = [], 0
    while len(names) < how_many:
        number += 1
        name = claim_name(pool, group, number)
        if name not in taken:
            names.append(name)
    return names


def render_nodeclaim(nodepool, group, shape, name, labels=None, protect=True):
    """One NodeClaim of capacity group ``group`` from the NodePool's template (pure)."""
    pool = nodepool["metadata"]["name"]
    tmpl_meta, tmpl_spec = _template(nodepool)
    meta_labels = dict(tmpl_meta.get("labels") or {})
    meta_labels.update(labels or {})
    meta_labels.update({NODEPOOL_LABEL: pool, CAPACITY_GROUP_LABEL: group, engine.MANAGED_BY_LABEL: engine.MANAGED_BY})
    annotations = dict(tmpl_meta.get("annotations") or {})
    if protect:
        annotations[DO_NOT_DISRUPT] = "true"
    spec = {"requirements": _merged_requirements(nodepool, shape)[0],
            "nodeClassRef": copy.deepcopy(tmpl_spec.get("nodeClassRef"))}
    for key in ("taints", "startupTaints", "expireAfter", "terminationGracePeriod"):
        if tmpl_spec.get(key) is not None:
            spec[key] = copy.deepcopy(tmpl_spec[key])
    metadata = {"name": name, "labels": meta_labels}
    if annotations:
        metadata["annotations"] = annotations
    uid = nodepool["metadata"].get("uid")
    if uid:
        metadata["ownerReferences"] = [{"apiVersion": API_VERSION, "kind": "NodePool", "name": pool, "uid": uid,
                                        "blockOwnerDeletion": True}]
    return {"apiVersion": API_VERSION, "kind": "NodeClaim", "metadata": metadata, "spec": spec}


def validate_nodeclaim(obj):
    errs = ErrorCollector()
    meta = obj.get("metadata") or {}
    v.check_name(errs, "metadata.name", meta.get("name"))
    v.check_labels(errs, "metadata.labels", meta.get("labels"))
    v.check_annotations(errs, "metadata.annotations", meta.get("annotations"))
    spec = obj.get("spec") or {}
    check_requirements(errs, "spec.requirements", spec.get("requirements"))
    check_node_class_ref(errs, "spec.nodeClassRef", spec.get("nodeClassRef"))
    v.check_taints(errs, "spec.taints", spec.get("taints"))
    v.check_taints(errs, "spec.startupTaints", spec.get("startupTaints"))
    v.check_resources(errs, "spec.resources.requests", (spec.get("resources") or {}).get("requests"))
    return errs.errors


def nodeclaim_immutable(obj, live):
    """A NodeClaim's spec cannot change (Karpenter refuses it): any difference is an error."""
    errors = []
    live_spec = (live or {}).get("spec") or {}
    for key, value in sorted((obj.get("spec") or {}).items()):
        if live and live_spec.get(key) != value:
            errors.append(ValidationError("spec.%s" % key, value, "is immutable: NodeClaim %s exists with %s %s" % (
                obj["metadata"]["name"], key, live_spec.get(key))))
    return errors


def allocatable_gpus(obj):
    """``nvidia.com/gpu`` in a Node's or NodeClaim's ``status.allocatable`` (Decimal), None when the
    object, the resource or a readable quantity is not there."""
    return quantity_or_none((((obj or {}).get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE))


def claim_initialized(claim):
    return claim is not None and is_condition_true(claim, "Initialized")


def claim_ready(claim, node, want_gpus):
    """Initialized, with the GPUs the NodeClaim promised (or any, for a GPU shape) allocatable."""
    if not claim_initialized(claim) or node is None:
        return False
    have = allocatable_gpus(node) or 0
    if have < (allocatable_gpus(claim) or 0):
        return False
    return have > 0 if want_gpus else True


# No options of its own: a NodeClaim is rendered from a live NodePool (``render_nodeclaim``), by
# karpenter_capacity, whose options are the only ones that make NodeClaims.
DESCRIPTION = KindDescription(
    NODECLAIM, {}, None, validate_nodeclaim, section=None, rank=80,
    immutable=nodeclaim_immutable, ready=(claim_initialized, "Initialized"),
    quantity_paths=[("spec", "resources", "requests", "*")])
