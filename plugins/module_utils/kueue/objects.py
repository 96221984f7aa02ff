# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kueue domain logic (kueue.x-k8s.io/v1beta2): render, validate, safety, status summaries.

Everything here is pure except ``KueueLive`` (lazy, cached LISTs of Workloads/LocalQueues/
ClusterQueues through a ``client.Client``) and ``pending_workloads`` (visibility API).

Public API
----------
Kinds: ``RESOURCE_FLAVOR``, ``CLUSTER_QUEUE``, ``LOCAL_QUEUE``, ``COHORT``,
``WORKLOAD_PRIORITY_CLASS``, ``ADMISSION_CHECK``, ``TOPOLOGY``, ``WORKLOAD``.
Render (module params in snake_case -> Kueue object):
    ``render_resource_flavor(p)``, ``render_cluster_queue(p)``, ``render_local_queue(p)``,
    ``render_cohort(p)``, ``render_workload_priority_class(p)``, ``render_admission_check(p)``,
    ``render_topology(p)``, ``render_resource_groups(groups)``.
Validate (Kueue object -> list of ``ValidationError`` naming ``spec....`` fields):
    ``validate_resource_flavor(obj)``, ``validate_cluster_queue(obj)``, ``validate_local_queue(obj)``,
    ``validate_cohort(obj)``, ``validate_workload_priority_class(obj)``,
    ``validate_admission_check(obj)``, ``validate_topology(obj)``, ``validate_object(kind, obj)``.
Immutable fields (desired vs live): ``immutable_errors(kind, obj, live)``.
Safety (need live workloads; ``force`` skips them):
    ``cluster_queue_quota_cuts(obj, live) -> (removed_flavors, {(flavor, resource): (old, new)})`` (pure),
    ``cluster_queue_update_safety(obj, live, workloads)`` (``workloads`` a list or a callable, called
    only when the pure comparison finds a cut), ``cluster_queue_delete_safety(name,
    live, workloads, local_queues)``, ``local_queue_delete_safety(namespace, name, workloads)``,
    ``flavor_delete_safety(name, cluster_queues, workloads)``.
Workloads: ``workload_ref``, ``is_finished``, ``is_admitted``, ``has_quota_reserved``,
    ``workload_flavor_usage(wl) -> {(flavor, resource): Decimal}``, ``workloads_of_cluster_queue``,
    ``workloads_of_local_queue``.
Summaries for the info module: ``summarize_cluster_queue(cq)``, ``summarize_local_queue(lq)``,
    ``compute_pending_positions(workloads, local_queues, cq_name)``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS, Kind
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ApiError,
    ErrorCollector,
    SafetyError,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import (
    format_quantity,
    parse_quantity,
    quantity_problem,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v

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


# -- rendering ---------------------------------------------------------------

def _meta(p, namespaced=False):
    meta = {"name": p.get("name")}
    if namespaced:
        meta["namespace"] = p.get("namespace")
    if p.get("labels"):
        meta["labels"] = dict(p["labels"])
    if p.get("annotations"):
        meta["annotations"] = dict(p["annotations"])
    return meta


def _obj(kind, p, spec, namespaced=False):
    return {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": _meta(p, namespaced), "spec": spec}


def _q(value):
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
    return _obj(RESOURCE_FLAVOR, p, spec)


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
                    "nominalQuota": _q(_get(r, "nominal_quota", "nominalQuota")),
                    "borrowingLimit": _q(_get(r, "borrowing_limit", "borrowingLimit")),
                    "lendingLimit": _q(_get(r, "lending_limit", "lendingLimit")),
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


def render_cluster_queue(p):
    spec = {}
    if p.get("cohort"):
        spec["cohortName"] = p["cohort"]
    groups = render_resource_groups(p.get("resource_groups"))
    if groups is not None:
        spec["resourceGroups"] = groups
    if p.get("namespace_selector") is not None:
        spec["namespaceSelector"] = p["namespace_selector"]
    if p.get("queueing_strategy"):
        spec["queueingStrategy"] = p["queueing_strategy"]
    pre = p.get("preemption")
    if pre:
        bwc = pre.get("borrow_within_cohort")
        spec["preemption"] = {
            "reclaimWithinCohort": pre.get("reclaim_within_cohort"),
            "withinClusterQueue": pre.get("within_cluster_queue"),
            "borrowWithinCohort": {
                "policy": bwc.get("policy"),
                "maxPriorityThreshold": bwc.get("max_priority_threshold"),
            } if bwc else None,
        }
    ff = p.get("flavor_fungibility")
    if ff:
        spec["flavorFungibility"] = {
            "whenCanBorrow": ff.get("when_can_borrow"),
            "whenCanPreempt": ff.get("when_can_preempt"),
            "preference": ff.get("preference"),
        }
    fs = p.get("fair_sharing")
    if fs and fs.get("weight") is not None:
        spec["fairSharing"] = {"weight": _q(fs.get("weight"))}
    acs = p.get("admission_checks")
    if acs is not None:
        spec["admissionChecksStrategy"] = {"admissionChecks": [
            {"name": a.get("name"), "onFlavors": a.get("on_flavors")} for a in acs]}
    if p.get("stop_policy"):
        spec["stopPolicy"] = p["stop_policy"]
    return _obj(CLUSTER_QUEUE, p, spec)


def render_local_queue(p):
    spec = {"clusterQueue": p.get("cluster_queue")}
    if p.get("stop_policy"):
        spec["stopPolicy"] = p["stop_policy"]
    fs = p.get("fair_sharing")
    if fs and fs.get("weight") is not None:
        spec["fairSharing"] = {"weight": _q(fs.get("weight"))}
    return _obj(LOCAL_QUEUE, p, spec, namespaced=True)


def render_cohort(p):
    spec = {}
    if p.get("parent"):
        spec["parentName"] = p["parent"]
    groups = render_resource_groups(p.get("resource_groups"))
    if groups is not None:
        spec["resourceGroups"] = groups
    fs = p.get("fair_sharing")
    if fs and fs.get("weight") is not None:
        spec["fairSharing"] = {"weight": _q(fs.get("weight"))}
    return _obj(COHORT, p, spec)


def render_workload_priority_class(p):
    obj = _obj(WORKLOAD_PRIORITY_CLASS, p, None)
    obj.pop("spec")
    obj["value"] = p.get("value")
    if p.get("description") is not None:
        obj["description"] = p["description"]
    return obj


def render_admission_check(p):
    spec = {"controllerName": p.get("controller_name")}
    par = p.get("parameters")
    if par:
        spec["parameters"] = {"apiGroup": par.get("api_group"), "kind": par.get("kind"), "name": par.get("name")}
    return _obj(ADMISSION_CHECK, p, spec)


def render_topology(p):
    levels = []
    for lv in p.get("levels") or []:
        if isinstance(lv, dict):
            levels.append({"nodeLabel": lv.get("node_label", lv.get("nodeLabel"))})
        else:
            levels.append({"nodeLabel": lv})
    return _obj(TOPOLOGY, p, {"levels": levels})


# -- validation --------------------------------------------------------------

def _check_meta(errs, obj, namespaced=False):
    meta = obj.get("metadata") or {}
    v.check_name(errs, "metadata.name", meta.get("name"))
    if namespaced:
        v.check_name(errs, "metadata.namespace", meta.get("namespace"), kind="label")
    v.check_labels(errs, "metadata.labels", meta.get("labels"))
    v.check_annotations(errs, "metadata.annotations", meta.get("annotations"))


def _check_ref(errs, field, value, required=False):
    if value in (None, ""):
        if required:
            errs.add(field, value, "is required")
        return
    v.check_name(errs, field, value)


def validate_resource_flavor(obj):
    errs = ErrorCollector()
    _check_meta(errs, obj)
    spec = obj.get("spec") or {}
    labels = spec.get("nodeLabels")
    if labels is not None:
        v.check_labels(errs, "spec.nodeLabels", labels)
        errs.check(len(labels) <= MAX_FLAVOR_LABELS, "spec.nodeLabels", labels,
                   "must have at most %d labels (has %d)" % (MAX_FLAVOR_LABELS, len(labels)))
    v.check_taints(errs, "spec.nodeTaints", spec.get("nodeTaints"), max_items=MAX_FLAVOR_TAINTS)
    v.check_tolerations(errs, "spec.tolerations", spec.get("tolerations"), max_items=MAX_FLAVOR_TOLERATIONS)
    if spec.get("topologyName") is not None:
        _check_ref(errs, "spec.topologyName", spec.get("topologyName"))
        errs.check(bool(labels), "spec.nodeLabels", labels, "at least one node label is required when topologyName is set")
    return errs.errors


def _check_quota(errs, field, value, required=False):
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
                _check_ref(errs, ff + ".name", name)
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
                nominal = _check_quota(errs, rf + ".nominalQuota", r.get("nominalQuota"), required=True)
                borrow = _check_quota(errs, rf + ".borrowingLimit", r.get("borrowingLimit"))
                lend = _check_quota(errs, rf + ".lendingLimit", r.get("lendingLimit"))
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


def _check_fair_sharing(errs, field, fs):
    if not fs:
        return
    w = fs.get("weight")
    if w is not None:
        _check_quota(errs, field + ".weight", w)


def validate_cluster_queue(obj):
    errs = ErrorCollector()
    _check_meta(errs, obj)
    spec = obj.get("spec") or {}
    cohort = spec.get("cohortName")
    _check_ref(errs, "spec.cohortName", cohort)
    validate_resource_groups(errs, "spec.resourceGroups", spec.get("resourceGroups"), bool(cohort))
    v.check_label_selector(errs, "spec.namespaceSelector", spec.get("namespaceSelector"))
    if spec.get("queueingStrategy") is not None:
        v.check_choice(errs, "spec.queueingStrategy", spec["queueingStrategy"], QUEUEING_STRATEGIES)
    if spec.get("stopPolicy") is not None:
        v.check_choice(errs, "spec.stopPolicy", spec["stopPolicy"], STOP_POLICIES)
    pre = spec.get("preemption") or {}
    if pre.get("reclaimWithinCohort") is not None:
        v.check_choice(errs, "spec.preemption.reclaimWithinCohort", pre["reclaimWithinCohort"], RECLAIM_POLICIES)
    if pre.get("withinClusterQueue") is not None:
        v.check_choice(errs, "spec.preemption.withinClusterQueue", pre["withinClusterQueue"], WITHIN_CQ_POLICIES)
    bwc = pre.get("borrowWithinCohort") or {}
    if bwc.get("policy") is not None:
        v.check_choice(errs, "spec.preemption.borrowWithinCohort.policy", bwc["policy"], BORROW_WITHIN_COHORT_POLICIES)
    if pre.get("reclaimWithinCohort") == "Never" and bwc and bwc.get("policy") not in (None, "Never"):
        errs.add("spec.preemption.borrowWithinCohort.policy", bwc.get("policy"),
                 "must be Never when reclaimWithinCohort is Never")
    if bwc.get("maxPriorityThreshold") is not None:
        mpt = bwc["maxPriorityThreshold"]
        errs.check(isinstance(mpt, int) and not isinstance(mpt, bool) and INT32_MIN <= mpt <= INT32_MAX,
                   "spec.preemption.borrowWithinCohort.maxPriorityThreshold", mpt, "must be a 32-bit integer")
    ff = spec.get("flavorFungibility") or {}
    for key in ("whenCanBorrow", "whenCanPreempt"):
        if ff.get(key) is not None:
            v.check_choice(errs, "spec.flavorFungibility." + key, ff[key], FUNGIBILITY_POLICIES)
    if ff.get("preference") is not None:
        if v.check_choice(errs, "spec.flavorFungibility.preference", ff["preference"], FUNGIBILITY_PREFERENCES):
            errs.check(ff.get("whenCanBorrow") == "TryNextFlavor" and ff.get("whenCanPreempt") == "TryNextFlavor",
                       "spec.flavorFungibility.preference", ff["preference"],
                       "requires whenCanBorrow and whenCanPreempt to be TryNextFlavor")
    _check_fair_sharing(errs, "spec.fairSharing", spec.get("fairSharing"))
    acs = (spec.get("admissionChecksStrategy") or {}).get("admissionChecks")
    if acs is not None:
        flavors = set(f.get("name") for g in spec.get("resourceGroups") or [] for f in g.get("flavors") or [])
        for i, a in enumerate(acs):
            _check_ref(errs, "spec.admissionChecksStrategy.admissionChecks[%d].name" % i, a.get("name"), required=True)
            for j, fl in enumerate(a.get("onFlavors") or []):
                errs.check(fl in flavors, "spec.admissionChecksStrategy.admissionChecks[%d].onFlavors[%d]" % (i, j), fl,
                           "must be one of the flavors of this queue (%s)" % ", ".join(sorted(flavors)))
    return errs.errors


def validate_local_queue(obj):
    errs = ErrorCollector()
    _check_meta(errs, obj, namespaced=True)
    spec = obj.get("spec") or {}
    _check_ref(errs, "spec.clusterQueue", spec.get("clusterQueue"), required=True)
    if spec.get("stopPolicy") is not None:
        v.check_choice(errs, "spec.stopPolicy", spec["stopPolicy"], STOP_POLICIES)
    _check_fair_sharing(errs, "spec.fairSharing", spec.get("fairSharing"))
    return errs.errors


def validate_cohort(obj):
    errs = ErrorCollector()
    _check_meta(errs, obj)
    spec = obj.get("spec") or {}
    parent = spec.get("parentName")
    _check_ref(errs, "spec.parentName", parent)
    if parent and parent == (obj.get("metadata") or {}).get("name"):
        errs.add("spec.parentName", parent, "a cohort cannot be its own parent")
    validate_resource_groups(errs, "spec.resourceGroups", spec.get("resourceGroups"), bool(parent), parent_word="parent")
    _check_fair_sharing(errs, "spec.fairSharing", spec.get("fairSharing"))
    return errs.errors


def validate_workload_priority_class(obj):
    errs = ErrorCollector()
    _check_meta(errs, obj)
    value = obj.get("value")
    errs.check(isinstance(value, int) and not isinstance(value, bool) and INT32_MIN <= value <= INT32_MAX,
               "value", value, "must be a 32-bit integer")
    desc = obj.get("description")
    if desc is not None:
        errs.check(isinstance(desc, str) and len(desc) <= 2048, "description", desc, "must be a string of at most 2048 characters")
    return errs.errors


def validate_admission_check(obj):
    errs = ErrorCollector()
    _check_meta(errs, obj)
    spec = obj.get("spec") or {}
    cn = spec.get("controllerName")
    errs.check(isinstance(cn, str) and 1 <= len(cn) <= 253, "spec.controllerName", cn, "must be a non-empty string of at most 253 characters")
    par = spec.get("parameters")
    if par:
        p = v.dns1123_subdomain_problem(par.get("apiGroup"))
        if p:
            errs.add("spec.parameters.apiGroup", par.get("apiGroup"), p)
        kind = par.get("kind")
        import re
        errs.check(isinstance(kind, str) and bool(re.match(r"^[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?$", kind)) and len(kind) <= 63,
                   "spec.parameters.kind", kind, "must be a kind name such as ProvisioningRequestConfig")
        p = v.dns1123_label_problem(par.get("name"))
        if p:
            errs.add("spec.parameters.name", par.get("name"), p)
    return errs.errors


def validate_topology(obj):
    errs = ErrorCollector()
    _check_meta(errs, obj)
    levels = (obj.get("spec") or {}).get("levels") or []
    errs.check(1 <= len(levels) <= 16, "spec.levels", levels, "must have between 1 and 16 levels")
    labels = [lv.get("nodeLabel") for lv in levels]
    for i, lab in enumerate(labels):
        p = v.qualified_name_problem(lab)
        if p:
            errs.add("spec.levels[%d].nodeLabel" % i, lab, p)
        if lab in labels[:i]:
            errs.add("spec.levels[%d].nodeLabel" % i, lab, "duplicate level")
        if lab == "kubernetes.io/hostname" and i != len(labels) - 1:
            errs.add("spec.levels[%d].nodeLabel" % i, lab, "kubernetes.io/hostname can only be the lowest (last) level")
    return errs.errors


_VALIDATORS = {
    "ResourceFlavor": validate_resource_flavor,
    "ClusterQueue": validate_cluster_queue,
    "LocalQueue": validate_local_queue,
    "Cohort": validate_cohort,
    "WorkloadPriorityClass": validate_workload_priority_class,
    "AdmissionCheck": validate_admission_check,
    "Topology": validate_topology,
}


def validate_object(kind, obj):
    return _VALIDATORS[kind.kind if isinstance(kind, Kind) else kind](obj)


# -- immutable fields ----------------------------------------------------------

def _immutable(errs, field, new, old, extra=""):
    if old != new:
        errs.add(field, new, "is immutable (live value %r)%s; delete and recreate the object to change it" % (old, extra))


def immutable_errors(kind, obj, live):
    """Errors for changes of immutable fields between the desired ``obj`` and ``live``."""
    if live is None:
        return []
    name = kind.kind if isinstance(kind, Kind) else kind
    errs = ErrorCollector()
    spec, lspec = obj.get("spec") or {}, live.get("spec") or {}
    if name == "LocalQueue":
        if spec.get("clusterQueue") and lspec.get("clusterQueue"):
            _immutable(errs, "spec.clusterQueue", spec.get("clusterQueue"), lspec.get("clusterQueue"))
    elif name == "ResourceFlavor":
        if lspec.get("topologyName"):
            _immutable(errs, "spec.topologyName", spec.get("topologyName"), lspec.get("topologyName"))
            if "nodeLabels" in spec:
                _immutable(errs, "spec.nodeLabels", spec.get("nodeLabels"), lspec.get("nodeLabels"),
                           " while topologyName is set")
            if "tolerations" in spec:
                _immutable(errs, "spec.tolerations", spec.get("tolerations"), lspec.get("tolerations"),
                           " while topologyName is set")
    elif name == "AdmissionCheck":
        _immutable(errs, "spec.controllerName", spec.get("controllerName"), lspec.get("controllerName"))
    elif name == "Topology":
        _immutable(errs, "spec.levels", spec.get("levels"), lspec.get("levels"))
    return errs.errors


# -- workloads -----------------------------------------------------------------

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


# -- safety ----------------------------------------------------------------------

def _quotas(spec):
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
    new_q, old_q = _quotas(spec), _quotas(live.get("spec"))
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
                 if any(key[0] == name for key in _quotas(c.get("spec"))))
    wls = sorted(workload_ref(w) for w in workloads or []
                 if has_quota_reserved(w) and any(key[0] == name for key in workload_flavor_usage(w)))
    if cqs or wls:
        return [SafetyError("ResourceFlavor %r is still used by ClusterQueues %s" % (name, cqs or "[]"),
                            affected=wls + ["ClusterQueue/%s" % c for c in cqs], field="state", value="absent")]
    return []


class KueueLive(object):
    """Lazily listed live Kueue state (one LIST per kind, cached) for safety checks."""

    def __init__(self, client):
        self.client = client
        self._cache = {}

    def _list(self, kind):
        if kind.kind not in self._cache:
            self._cache[kind.kind] = self.client.list(kind)
        return self._cache[kind.kind]

    @property
    def workloads(self):
        return self._list(WORKLOAD)

    @property
    def local_queues(self):
        return self._list(LOCAL_QUEUE)

    @property
    def cluster_queues(self):
        return self._list(CLUSTER_QUEUE)


# -- summaries (info) ----------------------------------------------------------------

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
