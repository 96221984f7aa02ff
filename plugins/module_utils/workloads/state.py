# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a job submitted to Kueue stands, read from its Workload (and its pods). Pure.

A job (a batch/v1 Job, a JobSet, ...) that names a LocalQueue gets a Kueue ``Workload`` owned by
it. Its phase, in the order a job goes through them:

    Submitted      the job exists, Kueue has not made its Workload yet
    Gated          its admission gate (``kueue.x-k8s.io/admission-gated-by``) holds it outside admission
    Inactive       ``spec.active: false`` (deactivated): suspended, no quota
    Pending        waiting for quota (after a preemption or eviction, too: ``evicted`` says so)
    QuotaReserved  quota reserved, admission checks not all passed yet
    Admitted       admitted; not every pod runs yet
    Running        admitted and every pod of every pod set runs
    Succeeded      finished successfully
    Failed         finished with a failure

Public API
----------
Labels and annotations: ``QUEUE_LABEL``, ``PRIORITY_LABEL``, ``MAX_EXEC_LABEL``, ``GATE_ANNOTATION``.
``PHASES``, ``WAIT_STATES`` (``QuotaReserved``, ``Admitted``, ``Running``, ``Finished``).
``gates_of(obj) -> [str]``: the admission gates on a job or Workload.
``without_gate(value, gate) -> str or None``: the annotation value with ``gate`` removed.
``workload_of(job, workloads)``: the Workload owned by ``job`` (by UID), or None.
``owner_of(wl) -> (kind, name)``: the job a Workload belongs to.
``pod_selector(kind, name) -> str or None``: the label selector of a job's pods (Job, JobSet).
``expected_pods(wl)``: pods of every pod set (their counts).
``running_pods(pods)``: pods that run or ran to completion (Running, Succeeded), not being deleted.
``phase(wl, job=None, pods=None) -> str``; ``reached(target, phase) -> bool``.
``evicted(wl) -> dict or None``: the last eviction (preemption...) of a Workload not admitted again.
``finish(wl, job=None) -> dict or None``: ``{"succeeded", "reason", "message"}`` of a finished one.
``admission(wl) -> [dict]``: per pod set its count, flavors and resource usage.
``admitted_cluster_queue(wl)``: the ClusterQueue that admitted it (None while it is not admitted).
``positions_of(cq_name, items) -> {(namespace, name): position}``: positions from the visibility
    API's pending items of a ClusterQueue (``kueue.info.pending_workloads``).
``summarize_workload(wl, position=None, pods=None, now=None, job=None) -> dict``: what the info module and
    the submit module return about a Workload.
``position_text(position)``: "position 3 of 7 in ClusterQueue training".
``describe(wl, job=None, pods=None, position=None)``: one line for a wait's timeout message.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import time

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import get_condition as _condition
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import is_condition_true as _true

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
MAX_EXEC_LABEL = "kueue.x-k8s.io/max-exec-time-seconds"
GATE_ANNOTATION = "kueue.x-k8s.io/admission-gated-by"

PHASES = ("Submitted", "Gated", "Inactive", "Pending", "QuotaReserved", "Admitted", "Running", "Succeeded", "Failed")
WAIT_STATES = ("QuotaReserved", "Admitted", "Running", "Finished")
_RANK = {"QuotaReserved": 1, "Admitted": 2, "Running": 3, "Finished": 4}
_PHASE_RANK = {"QuotaReserved": 1, "Admitted": 2, "Running": 3, "Succeeded": 4, "Failed": 4}

_POD_LABELS = {"Job": "batch.kubernetes.io/job-name", "JobSet": "jobset.sigs.k8s.io/jobset-name"}


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def gates_of(obj):
    value = (_meta(obj).get("annotations") or {}).get(GATE_ANNOTATION) or ""
    return [g.strip() for g in value.split(",") if g.strip()]


def without_gate(value, gate):
    rest = [g.strip() for g in (value or "").split(",") if g.strip() and g.strip() != gate]
    return ",".join(rest) or None


def workload_of(job, workloads):
    uid = _meta(job).get("uid")
    if not uid:
        return None
    for wl in workloads or []:
        if any(ref.get("uid") == uid for ref in _meta(wl).get("ownerReferences") or []):
            return wl
    return None


def owner_of(wl):
    refs = _meta(wl).get("ownerReferences") or []
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    return (ref.get("kind"), ref.get("name")) if ref else (None, None)


def pod_selector(kind, name):
    label = _POD_LABELS.get(kind)
    return "%s=%s" % (label, name) if label and name else None


def expected_pods(wl):
    """Pods of every pod set: as admitted (a partial admission admits fewer), else as asked."""
    assigned = (((wl or {}).get("status") or {}).get("admission") or {}).get("podSetAssignments")
    if assigned:
        return sum(int(psa.get("count") or 0) for psa in assigned)
    return sum(int(ps.get("count") or 0) for ps in ((wl or {}).get("spec") or {}).get("podSets") or [])


def running_pods(pods):
    return [p for p in pods or [] if not _meta(p).get("deletionTimestamp")
            and ((p.get("status") or {}).get("phase") in ("Running", "Succeeded"))]


def phase(wl, job=None, pods=None):
    if wl is None:
        return "Submitted" if job is not None else None
    if _true(wl, "Finished"):
        return "Succeeded" if (_condition(wl, "Finished") or {}).get("reason") == "Succeeded" else "Failed"
    if (wl.get("spec") or {}).get("active") is False:
        return "Inactive"
    if gates_of(wl) or (job is not None and gates_of(job)):
        return "Gated"
    if _true(wl, "Admitted"):
        want = expected_pods(wl)
        if pods is not None and want and len(running_pods(pods)) >= want:
            return "Running"
        return "Admitted"
    if _true(wl, "QuotaReserved"):
        return "QuotaReserved"
    return "Pending"


def reached(target, current):
    """Whether a job in phase ``current`` is at (or past) the wait state ``target``."""
    if target == "Finished":
        return current in ("Succeeded", "Failed")
    return _PHASE_RANK.get(current, 0) >= _RANK[target]


def evicted(wl):
    """The eviction (preemption, ...) a Workload that is not admitted now went through."""
    if wl is None or _true(wl, "Admitted") or _true(wl, "Finished"):
        return None
    for ctype in ("Preempted", "Evicted"):
        c = _condition(wl, ctype)
        if c and c.get("status") == "True":
            return {"preempted": ctype == "Preempted" or c.get("reason") == "Preempted",
                    "reason": c.get("reason"), "message": c.get("message"), "time": c.get("lastTransitionTime")}
    return None


def finish(wl, job=None):
    c = _condition(wl, "Finished")
    if not c or c.get("status") != "True":
        return None
    out = {"succeeded": c.get("reason") == "Succeeded", "reason": c.get("reason"), "message": c.get("message")}
    failed = _condition(job, "Failed")
    if failed and failed.get("status") == "True":
        out["job_reason"] = failed.get("reason")
        out["job_message"] = failed.get("message")
    return out


def admitted_cluster_queue(wl):
    return (((wl or {}).get("status") or {}).get("admission") or {}).get("clusterQueue")


def positions_of(cq_name, items):
    """``{(namespace, name): position}`` from ``kueue.info.pending_workloads`` items of one
    ClusterQueue (0-based positions; ``pending_in_cluster_queue``: how many items)."""
    items = items or []
    return dict(((i.get("namespace"), i.get("name")), {
        "cluster_queue": cq_name,
        "in_cluster_queue": i.get("position_in_cluster_queue"),
        "in_local_queue": i.get("position_in_local_queue"),
        "pending_in_cluster_queue": len(items),
    }) for i in items)


def admission(wl):
    adm = ((wl or {}).get("status") or {}).get("admission") or {}
    return [{"pod_set": psa.get("name"), "count": psa.get("count"), "flavors": dict(psa.get("flavors") or {}),
             "resource_usage": dict(psa.get("resourceUsage") or {})}
            for psa in adm.get("podSetAssignments") or []]


def _age(created, now):
    try:
        return int(now - calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")))
    except (TypeError, ValueError):
        return None


def _pod_summary(pod):
    st = pod.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
    return {"name": _meta(pod).get("name"), "node": (pod.get("spec") or {}).get("nodeName"),
            "phase": st.get("phase"), "ready": ready}


def summarize_workload(wl, position=None, pods=None, now=None, job=None):
    m = _meta(wl)
    spec, status = wl.get("spec") or {}, wl.get("status") or {}
    owner_kind, owner_name = owner_of(wl)
    out = {
        "name": m.get("name"),
        "namespace": m.get("namespace"),
        "job": {"kind": owner_kind, "name": owner_name},
        "queue": spec.get("queueName"),
        "cluster_queue": admitted_cluster_queue(wl),
        "priority_class": (spec.get("priorityClassRef") or {}).get("name") or spec.get("priorityClassName"),
        "priority": spec.get("priority"),
        "active": spec.get("active", True) is not False,
        "gates": gates_of(wl),
        "phase": phase(wl, job=job, pods=pods),
        "conditions": [dict((k, c.get(k)) for k in ("type", "status", "reason", "message", "lastTransitionTime"))
                       for c in status.get("conditions") or []],
        "admission": admission(wl),
        "pods_expected": expected_pods(wl),
        "position": position,
        "evicted": evicted(wl),
        "finished": finish(wl, job),
        "created": m.get("creationTimestamp"),
        "age_seconds": _age(m.get("creationTimestamp"), time.time() if now is None else now),
    }
    if pods is not None:
        out["pods"] = [_pod_summary(p) for p in pods]
        out["pods_running"] = len(running_pods(pods))
    return out


def position_text(position):
    if not position:
        return None
    return "position %s of %s in ClusterQueue %s" % (
        position["in_cluster_queue"] + 1, position["pending_in_cluster_queue"], position["cluster_queue"])


def describe(wl, job=None, pods=None, position=None):
    if wl is None:
        return "no Workload yet (Kueue has not picked the job up: does it name a LocalQueue?)" if job is not None \
            else "the job does not exist"
    parts = ["phase %s" % phase(wl, job=job, pods=pods)]
    where = position_text(position)
    if where:
        parts.append(where)
    if pods is not None:
        parts.append("%d of %d pods running" % (len(running_pods(pods)), expected_pods(wl)))
    gone = evicted(wl)
    if gone:
        parts.append("%s: %s" % ("preempted" if gone["preempted"] else "evicted (%s)" % gone["reason"], gone["message"]))
    conds = ["%s=%s%s" % (c.get("type"), c.get("status"), " (%s)" % c.get("message") if c.get("message") else "")
             for c in (wl.get("status") or {}).get("conditions") or [] if c.get("type") in ("QuotaReserved", "Admitted")]
    if conds:
        parts.append(", ".join(conds))
    return "; ".join(parts)
