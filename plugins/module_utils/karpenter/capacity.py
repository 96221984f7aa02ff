# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capacity groups of NodeClaims (karpenter_capacity): shapes, NodePool limits, scale-down (pure).

Quantities are ``decimal.Decimal`` (``core.quantity``); reports carry ints.

Public API
----------
``as_number(decimal)``   an int when whole, else a float (reports are JSON)
``quantity_or_none`` (re-export of ``kinds.nodeclaim``'s)
``load_instance_type_catalog(data)``   KWOK instance types document -> ``[{name, gpu_count,
    gpu_product, labels, resources}]`` (``resources``: every resource of the type, as given)
``resolve_instance_types(catalog, gpu_count=None, gpu_product=None) -> [name]``
``resolve_shape(errs, params, catalog) -> shape``   ``{"instance_types", "requirements",
    "gpus_per_node", "gpu_count", "catalog"}`` from the module options; problems go to ``errs``
    (an ``ErrorCollector``)
``resource_value(obj, resource) -> Decimal or None``   what a Node or launched NodeClaim has of a
    resource (status capacity/allocatable); None when it reports no resources yet
``shape_resources(shape, resources, live=()) -> (per_node, unknown)``   the most of each
    resource one NodeClaim of the shape can bring, and the resources it cannot know (with the
    instance types it does not know them for)
``unknown_resource_errors(nodepool, unknown, shape) -> [ValidationError]``   a limited resource
    whose amount per node is not known: refused, naming the option to give
``limits_error(nodepool, claims, nodes_by_name, adding, per_node, catalog=None) -> SafetyError or None``
    when ``adding`` NodeClaims would pass any of the pool's ``spec.limits``
``pod_blocks_disruption(pod) -> bool``
``plan_scale_down(nodeclaims, pods_by_node, remove_count, preferred=None, force=False)
    -> (victims, blocked)``; ``ValidationError`` for unknown ``remove`` names, ``SafetyError``
    when do-not-disrupt pods keep too many NodeClaims
``nodeclaim_summary(nodeclaim, node=None) -> dict``
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import NOVALUE, SafetyError, ValidationError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import format_quantity, parse_quantity
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import condition_status
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodeclaim import (
    DO_NOT_DISRUPT,
    GPU_COUNT_LABEL,
    GPU_PRODUCT_LABEL,
    GPU_RESOURCE,
    INSTANCE_TYPE_LABEL,
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
        if gpus is None and v.is_ascii_digits(labels.get(GPU_COUNT_LABEL, "")):
            gpus = int(labels[GPU_COUNT_LABEL])
        catalog.append({
            "name": _get(item, "name"),
            "gpu_count": int(gpus or 0),
            "gpu_product": labels.get(GPU_PRODUCT_LABEL),
            "labels": labels,
            # the provider's file lists every resource of the type: one it leaves out is 0
            "resources": dict((str(k), val) for k, val in resources.items()) if isinstance(resources, dict) else {},
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
             "gpus_per_node": None, "gpu_count": params.get("gpu_count"), "catalog": catalog}
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


# Resources shown with binary suffixes in messages (the others as plain numbers: 96 cpu, 8 GPUs).
_SIZE_RESOURCES = ("memory", "ephemeral-storage", "storage")


def show_quantity(resource, value):
    """A Decimal amount of ``resource`` as a message shows it: ``192Gi`` of memory, ``96`` cpu."""
    if value is None:
        return "?"
    if resource in _SIZE_RESOURCES or resource.startswith("hugepages-"):
        return format_quantity(value, binary=True)
    number = as_number(value)
    return str(number) if isinstance(number, int) else format_quantity(value)


def resource_value(obj, resource):
    """What a Node or a launched NodeClaim has of ``resource`` (Decimal): the larger of its
    ``status.capacity`` and ``status.allocatable`` (KWOK nodes of hand-made NodeClaims list GPUs in
    allocatable only); 0 when it reports resources but not this one; None when it reports none yet."""
    status = (obj or {}).get("status") or {}
    capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
    if not capacity and not allocatable:
        return None
    values = [quantity_or_none(src.get(resource)) for src in (capacity, allocatable)]
    values = [x for x in values if x is not None]
    return max(values) if values else parse_quantity(0)


def _catalog_value(entry, resource):
    """What one node of a catalog entry brings of ``resource``, None when the entry does not say.

    An entry of a provider file (``resources``) lists every resource of the type; an entry of
    ``instance_type_catalog`` only knows its GPUs (``gpu_count``)."""
    resources = entry.get("resources")
    if isinstance(resources, dict) and resources:
        return quantity_or_none(resources[resource]) if resource in resources else parse_quantity(0)
    if resource == GPU_RESOURCE and entry.get("gpu_count") is not None:
        return parse_quantity(entry["gpu_count"])
    return None


def _live_value(objects, resource):
    """The most of ``resource`` that live objects of one instance type report (None if none does)."""
    seen = [resource_value(obj, resource) for obj in objects or []]
    seen = [x for x in seen if x is not None]
    return max(seen) if seen else None


def _types_value(types, resource, catalog_by_name, live_by_type=None):
    """(largest value over ``types``, [types not known]) from the catalog, else from live
    NodeClaims of the type, else from live nodes of the type."""
    values, missing = [], []
    for name in types:
        value = _catalog_value(catalog_by_name[name], resource) if name in catalog_by_name else None
        if value is None:
            claims, nodes = (live_by_type or {}).get(name, ([], []))
            value = _live_value(claims, resource)
            if value is None:
                value = _live_value(nodes, resource)
        if value is None:
            missing.append(name)
        else:
            values.append(value)
    return (max(values) if values and not missing else None), missing


def _catalog_by_name(catalog):
    return dict((e.get("name"), e) for e in catalog or [] if isinstance(e, dict) and e.get("name"))


def shape_resources(shape, resources, live=()):
    """(per_node, unknown) for the pool's limited ``resources``.

    ``per_node``: resource -> the most one NodeClaim of ``shape`` can bring (Decimal): the largest
    over the shape's instance types, since Karpenter may launch any of them; ``nvidia.com/gpu`` is
    exactly ``gpu_count`` when given (the NodeClaim requires that GPU count label). Per instance
    type, from the shape's catalog (``shape["catalog"]``), else from ``live`` NodeClaims of that
    type (their status: the instance type's capacity as the cloud provider reports it), else from
    ``live`` Nodes of that type (``live``: NodeClaims and Nodes, labelled with their instance type).
    ``unknown``: resource -> the instance types it is not known for (``[]`` when the shape names
    no instance types at all).
    """
    by_name = _catalog_by_name(shape.get("catalog"))
    live_by_type = {}
    for obj in live or []:
        kind = ((obj.get("metadata") or {}).get("labels") or {}).get(INSTANCE_TYPE_LABEL)
        if kind:
            live_by_type.setdefault(kind, ([], []))[0 if obj.get("kind") == "NodeClaim" else 1].append(obj)
    per_node, unknown = {}, {}
    for resource in sorted(resources):
        if resource == GPU_RESOURCE and shape.get("gpu_count") is not None:
            per_node[resource] = parse_quantity(shape["gpu_count"])
            continue
        types = shape.get("instance_types") or []
        if not types:
            unknown[resource] = []
            continue
        value, missing = _types_value(types, resource, by_name, live_by_type)
        if missing:
            unknown[resource] = missing
        else:
            per_node[resource] = value
    return per_node, unknown


def unknown_resource_errors(nodepool, unknown, shape):
    """One ``ValidationError`` per limited resource whose amount per node of ``shape`` is not
    known: the limit cannot be checked, so the NodeClaims are refused (``force`` skips the limit
    checks). The field is the option to give: ``gpu_count`` for GPUs, else ``instance_types_file``."""
    pool = nodepool["metadata"]["name"]
    limits = (nodepool.get("spec") or {}).get("limits") or {}
    errors = []
    for resource in sorted(unknown):
        types = unknown[resource]
        what = ("instance types %s" % ", ".join(types)) if types else "the shape (no instance types given or resolved)"
        head = ("NodePool %s has a %s limit of %s, but how much %s one node of %s brings is not known (not in "
                "instance_types_file or instance_type_catalog, and no live node of that instance type), so the "
                "limit cannot be checked: " % (pool, resource, limits.get(resource), resource, what))
        if resource == GPU_RESOURCE:
            errors.append(ValidationError(
                "gpu_count", NOVALUE, head + "give gpu_count (GPUs per node), or instance_types_file, or "
                "instance_type_catalog entries with gpu_count for %s; or set force: true to skip the limit checks"
                % (", ".join(types) or "the instance types")))
        else:
            errors.append(ValidationError(
                "instance_types_file", NOVALUE, head + "give instance_types_file (the provider's instance types "
                "file lists the %s of each instance type)%s; or set force: true to skip the limit checks"
                % (resource, "" if shape.get("instance_types") else " and instance_types or gpu_count")))
    return errors


def _promised(claim, resource, default, catalog_by_name):
    """What a NodeClaim that has not launched yet will bring of ``resource``: for GPUs its resource
    request or its ``nvidia.com/gpu.count`` requirement; else the most its instance types bring
    (when the catalog knows them all); else its resource request; else ``default`` (the shape
    being added)."""
    spec = claim.get("spec") or {}
    requested = quantity_or_none(((spec.get("resources") or {}).get("requests") or {}).get(resource))
    if resource == GPU_RESOURCE:
        if requested is not None:
            return requested
        for req in spec.get("requirements") or []:
            if req.get("key") == GPU_COUNT_LABEL and req.get("operator") == "In" and len(req.get("values") or []) == 1:
                count = quantity_or_none(req["values"][0])
                if count is not None:
                    return count
    for req in spec.get("requirements") or []:
        if req.get("key") == INSTANCE_TYPE_LABEL and req.get("operator") == "In" and req.get("values"):
            value, missing = _types_value(req["values"], resource, catalog_by_name)
            if not missing:
                return value
    if requested is not None:
        return requested
    return parse_quantity(default or 0)


def pool_usage(claims, nodes_by_name, resource, default, catalog=None):
    """What the pool's NodeClaims that are not being deleted hold of ``resource`` (Decimal): per
    NodeClaim, what the catalog says of its instance type (launched: labelled with it), else its
    own status (capacity, else allocatable, as the cloud provider reported them), else its node's
    (KWOK nodes report a made-up capacity, so last), else what it promises (``_promised``)."""
    by_name = _catalog_by_name(catalog)
    used = parse_quantity(0)
    for claim in claims:
        meta = claim.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        launched_as = (meta.get("labels") or {}).get(INSTANCE_TYPE_LABEL)
        value = _types_value([launched_as], resource, by_name)[0] if launched_as else None
        if value is None:
            value = resource_value(claim, resource)
        if value is None:
            value = resource_value(nodes_by_name.get((claim.get("status") or {}).get("nodeName")), resource)
        if value is None:
            value = _promised(claim, resource, default, by_name)
        used += value
    return used


def limits_error(nodepool, claims, nodes_by_name, adding, per_node, catalog=None):
    """A ``SafetyError`` (field ``count``) when ``adding`` NodeClaims, each bringing ``per_node``
    (resource -> Decimal, ``shape_resources``), would pass any of the pool's ``spec.limits``
    (hand-made NodeClaims bypass Karpenter's own limit check), else None. Every limit passed is
    named: the resource, the limit, what is in use, what would be added. Limits whose per-node
    amount is not in ``per_node`` are not checked here (``unknown_resource_errors``)."""
    limits = (nodepool.get("spec") or {}).get("limits") or {}
    if not adding:
        return None
    pool = nodepool["metadata"]["name"]
    passed = []
    for resource in sorted(limits):
        limit = quantity_or_none(limits[resource])
        each = per_node.get(resource)
        if limit is None or each is None:
            continue
        used = pool_usage(claims, nodes_by_name, resource, each, catalog)
        wanted = each * adding
        if used + wanted <= limit:
            continue
        passed.append("%d more NodeClaims of %s %s each need %s %s but NodePool %s has %s of its %s limit %s in use "
                      "(%s > %s)" % (adding, show_quantity(resource, each), resource, show_quantity(resource, wanted),
                                     resource, pool, show_quantity(resource, used), resource, limits[resource],
                                     show_quantity(resource, used + wanted), show_quantity(resource, limit)))
    if not passed:
        return None
    return SafetyError("; ".join(passed), field="count", affected=["NodePool/%s" % pool],
                       hint="raise the limit, lower count, or set force: true to do it anyway")


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
