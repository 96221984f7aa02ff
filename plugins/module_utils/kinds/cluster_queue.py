# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kueue ClusterQueue (kueue.x-k8s.io/v1beta2): quotas per flavor, cohort, preemption, fair sharing,
admission checks, stop policy.

``DESCRIPTION``: options, render, validate, update safety (a quota cut below what admitted workloads
reserve, a flavor removed that they use), delete safety (admitted, reserving or pending workloads),
readiness (Active), ``resourceGroups`` kept when not given, quantity paths of the quotas.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import (
    ACTIVE,
    BORROW_WITHIN_COHORT_POLICIES,
    CLUSTER_QUEUE,
    FAIR_SHARING_QUANTITIES,
    FAIR_SHARING_SPEC,
    FUNGIBILITY_POLICIES,
    FUNGIBILITY_PREFERENCES,
    INT32_MAX,
    INT32_MIN,
    LOCAL_QUEUE,
    QUEUEING_STRATEGIES,
    RECLAIM_POLICIES,
    RESOURCE_GROUPS_SPEC,
    RESOURCE_GROUP_QUANTITIES,
    STOP_POLICIES,
    STOP_POLICY_SPEC,
    WITHIN_CQ_POLICIES,
    WORKLOAD,
    check_fair_sharing,
    check_meta,
    check_ref,
    obj_of,
    render_fair_sharing,
    render_resource_groups,
    validate_resource_groups,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.safety import cluster_queue_delete_safety, cluster_queue_update_safety

OPTIONS = dict(
    name=dict(type="str", required=True),
    cohort=dict(type="str"),
    namespace_selector=dict(type="dict", default={}),
    resource_groups=RESOURCE_GROUPS_SPEC,
    queueing_strategy=dict(type="str", choices=list(QUEUEING_STRATEGIES)),
    preemption=dict(type="dict", options=dict(
        reclaim_within_cohort=dict(type="str", choices=list(RECLAIM_POLICIES)),
        within_cluster_queue=dict(type="str", choices=list(WITHIN_CQ_POLICIES)),
        borrow_within_cohort=dict(type="dict", options=dict(
            policy=dict(type="str", choices=list(BORROW_WITHIN_COHORT_POLICIES)),
            max_priority_threshold=dict(type="int"),
        )),
    )),
    flavor_fungibility=dict(type="dict", options=dict(
        when_can_borrow=dict(type="str", choices=list(FUNGIBILITY_POLICIES)),
        when_can_preempt=dict(type="str", choices=list(FUNGIBILITY_POLICIES)),
        preference=dict(type="str", choices=list(FUNGIBILITY_PREFERENCES)),
    )),
    fair_sharing=FAIR_SHARING_SPEC,
    admission_checks=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        on_flavors=dict(type="list", elements="str"),
    )),
    stop_policy=STOP_POLICY_SPEC,
)


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
    if render_fair_sharing(p) is not None:
        spec["fairSharing"] = render_fair_sharing(p)
    acs = p.get("admission_checks")
    if acs is not None:
        spec["admissionChecksStrategy"] = {"admissionChecks": [
            {"name": a.get("name"), "onFlavors": a.get("on_flavors")} for a in acs]}
    if p.get("stop_policy"):
        spec["stopPolicy"] = p["stop_policy"]
    return obj_of(CLUSTER_QUEUE, p, spec)


def validate_cluster_queue(obj):
    errs = ErrorCollector()
    check_meta(errs, obj)
    spec = obj.get("spec") or {}
    cohort = spec.get("cohortName")
    check_ref(errs, "spec.cohortName", cohort)
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
    check_fair_sharing(errs, "spec.fairSharing", spec.get("fairSharing"))
    acs = (spec.get("admissionChecksStrategy") or {}).get("admissionChecks")
    if acs is not None:
        flavors = set(f.get("name") for g in spec.get("resourceGroups") or [] for f in g.get("flavors") or [])
        for i, a in enumerate(acs):
            check_ref(errs, "spec.admissionChecksStrategy.admissionChecks[%d].name" % i, a.get("name"), required=True)
            for j, fl in enumerate(a.get("onFlavors") or []):
                errs.check(fl in flavors, "spec.admissionChecksStrategy.admissionChecks[%d].onFlavors[%d]" % (i, j), fl,
                           "must be one of the flavors of this queue (%s)" % ", ".join(sorted(flavors)))
    return errs.errors


DESCRIPTION = KindDescription(
    CLUSTER_QUEUE, OPTIONS, render_cluster_queue, validate_cluster_queue, section="cluster_queues", rank=36,
    # pure quota comparison first; Workloads are listed (once per run) only when a quota drops or a flavor goes
    safety=lambda obj, live, ctx: cluster_queue_update_safety(obj, live, lambda: ctx.list(WORKLOAD)),
    delete_safety=lambda name, namespace, live, ctx: cluster_queue_delete_safety(
        name, live, ctx.list(WORKLOAD), ctx.list(LOCAL_QUEUE)),
    ready=ACTIVE,
    # quotas not given mean "keep the live ones" (a stop_policy or cohort change must not wipe them)
    preserve=[("spec", "resourceGroups")],
    quantity_paths=RESOURCE_GROUP_QUANTITIES + FAIR_SHARING_QUANTITIES)
