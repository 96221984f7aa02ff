# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the Kueue kinds share (kueue.x-k8s.io/v1beta2): kinds, Kueue's limits, option specs and the
rendering and validation of the parts several kinds have (metadata, resource groups, fair sharing,
taints and tolerations). Pure.

Public API
----------
Kinds: ``RESOURCE_FLAVOR``, ``CLUSTER_QUEUE``, ``LOCAL_QUEUE``, ``COHORT``, ``WORKLOAD_PRIORITY_CLASS``,
``ADMISSION_CHECK``, ``TOPOLOGY``, ``WORKLOAD``, ``VISIBILITY_CQ``, ``VISIBILITY_LQ``.
Option specs: ``RESOURCE_GROUPS_SPEC``, ``FAIR_SHARING_SPEC``, ``STOP_POLICY_SPEC``, ``TAINTS_SPEC``,
``TOLERATIONS_SPEC``. Quantity paths: ``RESOURCE_GROUP_QUANTITIES``, ``FAIR_SHARING_QUANTITIES``.
Render: ``obj_of(kind, params, spec, namespaced=False)``, ``quantity_text(value)``,
``render_toleration(t)``, ``render_taint(t)``, ``render_resource_groups(groups)``,
``render_fair_sharing(params)``.
Validate: ``check_meta(errs, obj, namespaced=False)``, ``check_ref(errs, field, value, required=False)``,
``check_quota(errs, field, value, required=False)``, ``validate_resource_groups(errs, field, groups,
has_parent, parent_word="cohort")``, ``check_fair_sharing(errs, field, fs)``,
``immutable(errs, field, new, old, extra="")``.
Readiness: ``ACTIVE`` (``(predicate, "Active")``: the Active condition is True).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS, Kind
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import parse_quantity, quantity_problem
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import condition_predicate
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import object_meta

RESOURCE_FLAVOR = KINDS["ResourceFlavor"]
CLUSTER_QUEUE = KINDS["ClusterQueue"]
LOCAL_QUEUE = KINDS["LocalQueue"]
COHORT = KINDS["Cohort"]
WORKLOAD_PRIORITY_CLASS = KINDS["WorkloadPriorityClass"]
ADMISSION_CHECK = KINDS["AdmissionCheck"]
TOPOLOGY = KINDS["Topology"]
WORKLOAD = KINDS["Workload"]
VISIBILITY_CQ = Kind("visibility.kueue.x-k8s.io/v1beta2", "ClusterQueue", "clusterqueues", False)
VISIBILITY_LQ = Kind("visibility.kueue.x-k8s.io/v1beta2", "LocalQueue", "localqueues", True)

STOP_POLICIES = ("None", "Hold", "HoldAndDrain")
QUEUEING_STRATEGIES = ("StrictFIFO", "BestEffortFIFO")
RECLAIM_POLICIES = ("Never", "LowerPriority", "Any")
WITHIN_CQ_POLICIES = ("Never", "LowerPriority", "LowerOrNewerEqualPriority")
BORROW_WITHIN_COHORT_POLICIES = ("Never", "LowerPriority")
FUNGIBILITY_POLICIES = ("MayStopSearch", "TryNextFlavor")
FUNGIBILITY_PREFERENCES = ("BorrowingOverPreemption", "PreemptionOverBorrowing")
MAX_FLAVOR_LABELS = 8
MAX_FLAVOR_TAINTS = 8
MAX_FLAVOR_TOLERATIONS = 8
MAX_RESOURCE_GROUPS = 16
MAX_ITEMS = 64
INT32_MAX = 2 ** 31 - 1
INT32_MIN = -(2 ** 31)

EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
STOP_POLICY_SPEC = dict(type="str", choices=list(STOP_POLICIES))
TAINTS_SPEC = dict(type="list", elements="dict", options=dict(
    key=dict(type="str", required=True, no_log=False),
    value=dict(type="str"),
    effect=dict(type="str", required=True, choices=EFFECTS),
))
TOLERATIONS_SPEC = dict(type="list", elements="dict", options=dict(
    key=dict(type="str", no_log=False),
    operator=dict(type="str", choices=["Equal", "Exists"]),
    value=dict(type="str"),
    effect=dict(type="str", choices=EFFECTS),
    toleration_seconds=dict(type="int"),
))
RESOURCE_GROUPS_SPEC = dict(
    type="list", elements="dict", options=dict(
        covered_resources=dict(type="list", elements="str"),
        flavors=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            resources=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                nominal_quota=dict(type="raw", required=True),
                borrowing_limit=dict(type="raw"),
                lending_limit=dict(type="raw"),
            )),
        )),
    ),
)
FAIR_SHARING_SPEC = dict(type="dict", options=dict(weight=dict(type="raw")))

# Where values are Kubernetes quantities (compared as quantities; everything else exactly).
RESOURCE_GROUP_QUANTITIES = tuple(
    ("spec", "resourceGroups", "*", "flavors", "*", "resources", "*", field)
    for field in ("nominalQuota", "borrowingLimit", "lendingLimit"))
FAIR_SHARING_QUANTITIES = (("spec", "fairSharing", "weight"),)

ACTIVE = (condition_predicate("Active"), "Active")


# -- rendering ---------------------------------------------------------------

def obj_of(kind, p, spec, namespaced=False):
    return {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": object_meta(p, namespaced), "spec": spec}


def quantity_text(value):
    """Quantities are sent as strings (ints too): Kubernetes stores them as strings."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return value


def render_toleration(t):
    t = t or {}
    return {
        "key": t.get("key"),
        "operator": t.get("operator"),
        "value": t.get("value"),
        "effect": t.get("effect"),
        "tolerationSeconds": t.get("toleration_seconds", t.get("tolerationSeconds")),
    }


def render_taint(t):
    t = t or {}
    return {"key": t.get("key"), "value": t.get("value"), "effect": t.get("effect")}


def _get(d, snake, camel=None):
    if d is None:
        return None
    if snake in d and d[snake] is not None:
        return d[snake]
    if camel and camel in d:
        return d[camel]
    return None


def render_resource_groups(groups):
    """Resource groups from options: ``covered_resources`` defaults to the resources named by the
    flavors, in order of first appearance; each flavor's resources are put in covered order."""
    if groups is None:
        return None
    out = []
    for g in groups:
        g = g or {}
        flavors = []
        seen = []
        for f in _get(g, "flavors") or []:
            f = f or {}
            res = []
            for r in _get(f, "resources") or []:
                r = r or {}
                res.append({
                    "name": _get(r, "name"),
                    "nominalQuota": quantity_text(_get(r, "nominal_quota", "nominalQuota")),
                    "borrowingLimit": quantity_text(_get(r, "borrowing_limit", "borrowingLimit")),
                    "lendingLimit": quantity_text(_get(r, "lending_limit", "lendingLimit")),
                })
                if r.get("name") not in seen:
                    seen.append(r.get("name"))
            flavors.append({"name": _get(f, "name"), "resources": res})
        covered = _get(g, "covered_resources", "coveredResources")
        covered = list(covered) if covered is not None else seen
        order = dict((name, i) for i, name in enumerate(covered))
        for f in flavors:
            f["resources"].sort(key=lambda r: order.get(r["name"], len(order)))
        out.append({"coveredResources": covered, "flavors": flavors})
    return out


def render_fair_sharing(p):
    fs = p.get("fair_sharing")
    if fs and fs.get("weight") is not None:
        return {"weight": quantity_text(fs.get("weight"))}
    return None


# -- validation --------------------------------------------------------------

def check_meta(errs, obj, namespaced=False):
    meta = obj.get("metadata") or {}
    v.check_name(errs, "metadata.name", meta.get("name"))
    if namespaced:
        v.check_name(errs, "metadata.namespace", meta.get("namespace"), kind="label")
    v.check_labels(errs, "metadata.labels", meta.get("labels"))
    v.check_annotations(errs, "metadata.annotations", meta.get("annotations"))


def check_ref(errs, field, value, required=False):
    if value in (None, ""):
        if required:
            errs.add(field, value, "is required")
        return
    v.check_name(errs, field, value)


def check_quota(errs, field, value, required=False):
    if value is None:
        if required:
            errs.add(field, value, "is required")
        return None
    p = quantity_problem(value)
    if p:
        errs.add(field, value, p)
        return None
    q = parse_quantity(value)
    if q < 0:
        errs.add(field, value, "must not be negative")
        return None
    return q


def validate_resource_groups(errs, field, groups, has_parent, parent_word="cohort"):
    if groups is None:
        return
    if not isinstance(groups, list):
        errs.add(field, groups, "must be a list")
        return
    errs.check(len(groups) <= MAX_RESOURCE_GROUPS, field, "%d groups" % len(groups),
               "must have at most %d resource groups" % MAX_RESOURCE_GROUPS)
    seen_res = {}
    seen_flavors = {}
    for i, g in enumerate(groups):
        gf = "%s[%d]" % (field, i)
        covered = g.get("coveredResources") or []
        if not errs.check(len(covered) >= 1, gf + ".coveredResources", covered, "must name at least one resource"):
            continue
        errs.check(len(covered) <= MAX_ITEMS, gf + ".coveredResources", covered, "must have at most 64 items")
        for j, r in enumerate(covered):
            rp = v.qualified_name_problem(r)
            if rp:
                errs.add("%s.coveredResources[%d]" % (gf, j), r, "resource name " + rp)
            if r in seen_res:
                errs.add("%s.coveredResources[%d]" % (gf, j), r,
                         "resource is already covered by resource group %d; a resource may be in one group only" % seen_res[r])
            seen_res.setdefault(r, i)
        flavors = g.get("flavors") or []
        errs.check(1 <= len(flavors) <= MAX_ITEMS, gf + ".flavors", "%d flavors" % len(flavors),
                   "must have between 1 and 64 flavors")
        for j, f in enumerate(flavors):
            ff = "%s.flavors[%d]" % (gf, j)
            name = f.get("name")
            if not name:
                errs.add(ff + ".name", name, "is required")
            else:
                check_ref(errs, ff + ".name", name)
                if name in seen_flavors:
                    errs.add(ff + ".name", name, "flavor already appears in %s; a flavor may appear once per queue" % seen_flavors[name])
                seen_flavors.setdefault(name, ff)
            res = f.get("resources") or []
            names = [r.get("name") for r in res]
            missing = [c for c in covered if c not in names]
            extra = [n for n in names if n not in covered]
            if missing:
                errs.add(ff + ".resources", names, "must give a quota for every covered resource; missing %s" % ", ".join(missing))
            for k, r in enumerate(res):
                rf = "%s.resources[%d]" % (ff, k)
                if r.get("name") in extra:
                    errs.add(rf + ".name", r.get("name"),
                             "is not one of the covered resources (%s) of this resource group" % ", ".join(covered))
                nominal = check_quota(errs, rf + ".nominalQuota", r.get("nominalQuota"), required=True)
                borrow = check_quota(errs, rf + ".borrowingLimit", r.get("borrowingLimit"))
                lend = check_quota(errs, rf + ".lendingLimit", r.get("lendingLimit"))
                if r.get("borrowingLimit") is not None and not has_parent:
                    errs.add(rf + ".borrowingLimit", r.get("borrowingLimit"),
                             "is only allowed when a %s is set" % parent_word)
                if r.get("lendingLimit") is not None and not has_parent:
                    errs.add(rf + ".lendingLimit", r.get("lendingLimit"),
                             "is only allowed when a %s is set" % parent_word)
                if lend is not None and nominal is not None and lend > nominal and parent_word == "cohort":
                    errs.add(rf + ".lendingLimit", r.get("lendingLimit"),
                             "must not be greater than nominalQuota (%s)" % r.get("nominalQuota"))
                del borrow


def check_fair_sharing(errs, field, fs):
    if not fs:
        return
    w = fs.get("weight")
    if w is not None:
        check_quota(errs, field + ".weight", w)


def immutable(errs, field, new, old, extra=""):
    if old != new:
        errs.add(field, new, "is immutable (live value %r)%s; delete and recreate the object to change it" % (old, extra))
