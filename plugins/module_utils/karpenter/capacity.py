# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity groups of NodeClaims (karpenter_capacity): shapes, GPU limits, scale-down (pure).

Quantities are ``decimal.Decimal`` (``core.quantity``); reports carry ints.

Public API
----------
``as_number(decimal)``   an int when whole, else a float (reports are JSON)
``quantity_or_none`` (re-export of ``kinds.nodeclaim``'s)
``load_instance_type_catalog(data)``   KWOK instance types document -> ``[{name, gpu_count,
    gpu_product, labels}]``
``resolve_instance_types(catalog, gpu_count=None, gpu_product=None) -> [name]``
``resolve_shape(errs, params, catalog) -> shape``   ``{"instance_types", "requirements",
    "gpus_per_node"}`` from the module options; problems go to ``errs`` (an ``ErrorCollector``)
``gpu_limit_error(nodepool, claims, nodes_by_name, adding, gpus_per_node) -> SafetyError or None``
    when ``adding`` NodeClaims would pass the pool's ``nvidia.com/gpu`` limit
``pod_blocks_disruption(pod) -> bool``
``plan_scale_down(nodeclaims, pods_by_node, remove_count, preferred=None, force=False)
    -> (victims, blocked)``; ``ValidationError`` for unknown ``remove`` names, ``SafetyError``
    when do-not-disrupt pods keep too many NodeClaims
``nodeclaim_summary(nodeclaim, node=None) -> dict``
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import SafetyError, ValidationError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import parse_quantity
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import condition_status
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodeclaim import (
    DO_NOT_DISRUPT,
    GPU_COUNT_LABEL,
    GPU_PRODUCT_LABEL,
    GPU_RESOURCE,
    INSTANCE_TYPE_LABEL,
    allocatable_gpus,
    quantity_or_none,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodepool import NODEPOOL_LABEL


# The options of karpenter_capacity (without the auth options), also those of a cluster plan's
# capacity entries.
CAPACITY_OPTIONS = dict(
    nodepool=dict(type="str", required=True),
    name=dict(type="str", required=True),
    count=dict(type="int", required=True),
    instance_types=dict(type="list", elements="str"),
    gpu_count=dict(type="int"),
    gpu_product=dict(type="str"),
    gpu_count_label=dict(type="str", default="nvidia.com/gpu.count"),
    gpu_product_label=dict(type="str", default="nvidia.com/gpu.product"),
    instance_types_file=dict(type="path"),
    instance_type_catalog=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        gpu_count=dict(type="int"),
        gpu_product=dict(type="str"),
    )),
    labels=dict(type="dict"),
    do_not_disrupt=dict(type="bool", default=True),
    remove=dict(type="list", elements="str"),
    force=dict(type="bool", default=False),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=300),
)


def as_number(value):
    """A Decimal as an int when whole, else a float (reports are JSON)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _get(mapping, key):
    """Field of a provider document in either JSON spelling (``requirements`` or ``Requirements``)."""
    if not isinstance(mapping, dict):
        return None
    if key in mapping:
        return mapping[key]
    return mapping.get(key[:1].upper() + key[1:])


def load_instance_type_catalog(data):
    """Parse a KWOK instance types document (list of {name, resources, offerings}) into a catalog."""
    catalog = []
    for item in data or []:
        resources = _get(item, "resources") or {}
        labels = {}
        for offering in _get(item, "offerings") or []:
            reqs = list(_get(offering, "requirements") or [])
            reqs += list(_get(_get(offering, "offering") or {}, "requirements") or [])
            for req in reqs:
                vals = _get(req, "values") or []
                if _get(req, "operator") == "In" and len(vals) == 1:
                    labels.setdefault(_get(req, "key"), vals[0])
        gpus = quantity_or_none(resources.get(GPU_RESOURCE))
        if gpus is None and labels.get(GPU_COUNT_LABEL, "").isdigit():
            gpus = int(labels[GPU_COUNT_LABEL])
        catalog.append({
            "name": _get(item, "name"),
            "gpu_count": int(gpus or 0),
            "gpu_product": labels.get(GPU_PRODUCT_LABEL),
            "labels": labels,
        })
    return catalog


def resolve_instance_types(catalog, gpu_count=None, gpu_product=None):
    names = []
    for item in catalog:
        if gpu_count is not None and item.get("gpu_count") != gpu_count:
            continue
        if gpu_product is not None and item.get("gpu_product") != gpu_product:
            continue
        names.append(item["name"])
    return names


def resolve_shape(errs, params, catalog):
    """Instance types and label requirements of the requested shape, and GPUs per node if known."""
    shape = {"instance_types": list(params.get("instance_types") or []), "requirements": {},
             "gpus_per_node": None}
    gpu_count, gpu_product = params.get("gpu_count"), params.get("gpu_product")
    if gpu_count is not None:
        errs.check(gpu_count >= 1, "gpu_count", gpu_count, "must be at least 1")
        shape["requirements"][params.get("gpu_count_label") or GPU_COUNT_LABEL] = str(gpu_count)
        shape["gpus_per_node"] = gpu_count
    if gpu_product:
        problem = v.label_value_problem(gpu_product)
        errs.check(problem is None, "gpu_product", gpu_product, "label value %s" % problem)
        shape["requirements"][params.get("gpu_product_label") or GPU_PRODUCT_LABEL] = gpu_product
    if catalog and not shape["instance_types"] and (gpu_count is not None or gpu_product):
        names = resolve_instance_types(catalog, gpu_count, gpu_product)
        if not names:
            errs.add("gpu_count" if gpu_count is not None else "gpu_product",
                     gpu_count if gpu_count is not None else gpu_product,
                     "no instance type offers %s GPUs of product %s"
                     % (gpu_count if gpu_count is not None else "any", gpu_product or "any"))
        shape["instance_types"] = names
    if catalog and shape["gpus_per_node"] is None:
        counts = [c.get("gpu_count") or 0 for c in catalog if c.get("name") in shape["instance_types"]]
        shape["gpus_per_node"] = max(counts) if counts else None
    if not shape["instance_types"] and not shape["requirements"]:
        errs.add("instance_types", None, "give instance_types, or gpu_count and/or gpu_product")
    for index, name in enumerate(shape["instance_types"]):
        problem = v.label_value_problem(name) if name else "must not be empty"
        errs.check(problem is None, "instance_types[%d]" % index, name, "instance type name %s" % problem)
    return shape


def _promised_gpus(claim, default):
    """GPUs a NodeClaim that has not launched yet will bring: its resource request, else its
    ``nvidia.com/gpu.count`` requirement, else ``default`` (the shape being added)."""
    spec = claim.get("spec") or {}
    requested = quantity_or_none(((spec.get("resources") or {}).get("requests") or {}).get(GPU_RESOURCE))
    if requested is not None:
        return requested
    for req in spec.get("requirements") or []:
        if req.get("key") == GPU_COUNT_LABEL and req.get("operator") == "In" and len(req.get("values") or []) == 1:
            count = quantity_or_none(req["values"][0])
            if count is not None:
                return count
    return parse_quantity(default)


def gpu_limit_error(nodepool, claims, nodes_by_name, adding, gpus_per_node):
    """A ``SafetyError`` (field ``count``) when ``adding`` NodeClaims of ``gpus_per_node`` GPUs would
    pass the pool's ``nvidia.com/gpu`` limit (hand-made NodeClaims bypass Karpenter's own limit
    check), else None.

    Used GPUs: per non-deleting NodeClaim of the pool, its node's allocatable GPUs, else the
    NodeClaim's own status.allocatable (launched, not registered yet), else what it promises
    (``_promised_gpus``).
    """
    limit = quantity_or_none(((nodepool.get("spec") or {}).get("limits") or {}).get(GPU_RESOURCE))
    if limit is None or not adding or not gpus_per_node:
        return None
    used = parse_quantity(0)
    for claim in claims:
        if (claim.get("metadata") or {}).get("deletionTimestamp"):
            continue
        node = nodes_by_name.get((claim.get("status") or {}).get("nodeName"))
        value = allocatable_gpus(node)
        if value is None:
            value = allocatable_gpus(claim)
        if value is None:
            value = _promised_gpus(claim, gpus_per_node)
        used += value
    wanted = adding * gpus_per_node
    if used + wanted <= limit:
        return None
    pool = nodepool["metadata"]["name"]
    return SafetyError(
        "%d more NodeClaims of %d GPUs need %d GPUs but NodePool %s has %s of its nvidia.com/gpu limit %s in use; "
        "raise the limit or use force" % (adding, gpus_per_node, wanted, pool, as_number(used), as_number(limit)),
        field="count", affected=["NodePool/%s" % pool])


def pod_blocks_disruption(pod):
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    phase = (pod.get("status") or {}).get("phase")
    return annotations.get(DO_NOT_DISRUPT) == "true" and phase not in ("Succeeded", "Failed")


def _is_daemon(pod):
    return any(ref.get("kind") == "DaemonSet" for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])


def plan_scale_down(nodeclaims, pods_by_node, remove_count, preferred=None, force=False):
    """Choose the NodeClaims to delete: the named ones first, then not-yet-launched, then emptiest.

    Returns (victims, blocked) where blocked maps NodeClaim names to the do-not-disrupt pods that
    keep them; a blocked NodeClaim is only chosen with ``force``. Raises ``ValidationError`` for a
    ``preferred`` name that is no NodeClaim or node of the group, ``SafetyError`` when a preferred
    NodeClaim is blocked or fewer than ``remove_count`` NodeClaims can be removed.
    """
    preferred = list(preferred or [])
    candidates, blocked = [], {}
    for nc in nodeclaims:
        name = nc["metadata"]["name"]
        node = (nc.get("status") or {}).get("nodeName")
        pods = [p for p in pods_by_node.get(node, []) if not _is_daemon(p) and
                (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")] if node else []
        keepers = ["%s/%s" % (p["metadata"].get("namespace"), p["metadata"]["name"])
                   for p in pods if pod_blocks_disruption(p)]
        if keepers:
            blocked[name] = keepers
            if not force:
                continue
        rank = (0 if (name in preferred or node in preferred) else 1,
                0 if not node else 1,
                len(pods),
                nc["metadata"].get("creationTimestamp") or "")
        candidates.append((rank, name, nc))
    # newest first among equally empty ones, then by name for a stable choice
    candidates.sort(key=lambda item: item[1])
    candidates.sort(key=lambda item: item[0][3], reverse=True)
    candidates.sort(key=lambda item: item[0][:3])
    # ``remove`` names NodeClaims or their nodes; a name that matches neither, or one whose
    # NodeClaim is protected, is an error rather than a silent choice of some other NodeClaim.
    claim_of = {}
    for nc in nodeclaims:
        claim_of[nc["metadata"]["name"]] = nc["metadata"]["name"]
        node = (nc.get("status") or {}).get("nodeName")
        if node:
            claim_of[node] = nc["metadata"]["name"]
    unknown = [want for want in preferred if want not in claim_of]
    if unknown:
        raise ValidationError("remove", unknown, "is not a NodeClaim or node of this capacity group (it has: %s)"
                              % (", ".join(sorted(nc["metadata"]["name"] for nc in nodeclaims)) or "none"))
    for want in preferred:
        claim = claim_of[want]
        if claim in blocked and not force:
            raise SafetyError("NodeClaim %s runs pods marked %s=true (%s)" % (
                claim, DO_NOT_DISRUPT, ", ".join(blocked[claim])), affected=blocked[claim], field="remove", value=want)
    if len(candidates) < remove_count:
        details = "; ".join("%s: %s" % (k, ", ".join(pods)) for k, pods in sorted(blocked.items()))
        raise SafetyError("%d NodeClaims must go but only %d can be removed without disrupting pods marked %s=true "
                          "(%s)" % (remove_count, len(candidates), DO_NOT_DISRUPT, details),
                          affected=[p for k in sorted(blocked) for p in blocked[k]], field="count")
    return [item[2] for item in candidates[:remove_count]], blocked


def nodeclaim_summary(nodeclaim, node=None):
    status = nodeclaim.get("status") or {}
    meta = nodeclaim.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    node_labels = ((node or {}).get("metadata") or {}).get("labels") or {}
    allocatable = ((node or {}).get("status") or {}).get("allocatable") or status.get("allocatable") or {}
    capacity = ((node or {}).get("status") or {}).get("capacity") or status.get("capacity") or {}
    return {
        "name": meta.get("name"),
        "nodepool": labels.get(NODEPOOL_LABEL),
        "node": status.get("nodeName"),
        "instance_type": node_labels.get(INSTANCE_TYPE_LABEL) or labels.get(INSTANCE_TYPE_LABEL),
        "gpu_product": node_labels.get(GPU_PRODUCT_LABEL) or labels.get(GPU_PRODUCT_LABEL),
        # KWOK nodes of hand-made NodeClaims list GPUs in allocatable only
        "gpu_capacity": int(quantity_or_none(capacity.get(GPU_RESOURCE) or allocatable.get(GPU_RESOURCE)) or 0),
        "gpu_allocatable": int(quantity_or_none(allocatable.get(GPU_RESOURCE)) or 0),
        "initialized": condition_status(nodeclaim, "Initialized") == "True",
        "deleting": bool(meta.get("deletionTimestamp")),
        "conditions": {c.get("type"): c.get("status") for c in status.get("conditions") or []},
    }
