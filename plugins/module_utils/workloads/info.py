# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kueue Workloads for the info module: the reads (at the edge) and the assembly (pure).

Reads, at most: one LIST of Workloads; one LIST of LocalQueues when a selected Workload is not
admitted (its ClusterQueue is known from its LocalQueue only); one GET of Kueue's visibility API
per ClusterQueue with pending Workloads (their positions); one LIST of pods per namespace of the
selected Workloads, matched to their Workload by the job's pod labels in Python (no GET per
Workload). When the visibility API is not served, the positions are computed from the Workload
objects (priority, then time), which needs every Workload and LocalQueue of the cluster: a
filtered read is then done again without filters.

Public API
----------
Pure:
``matches_name(wl, name)``: the Workload is named ``name`` or belongs to a job named ``name``.
``select(workloads, queue=None, name=None)``: the Workloads that pass the queue and name filters.
``needs_local_queues(workloads)``: whether some Workload's ClusterQueue is known only from its LocalQueue.
``local_queue_map(local_queues) -> {(namespace, name): cluster_queue}``.
``cluster_queue_of(wl, lq_map)``: the admission's ClusterQueue, else the one of its LocalQueue.
``pods_by_workload(workloads, pods) -> {(namespace, name): [pod]}``: pods matched with
    ``state.pod_selector(kind, name)`` of the Workload's owner.
``pending_cluster_queues(workloads, lq_map, pods=None)``: ClusterQueues of the pending Workloads.
``assemble(workloads, local_queues=None, pods=None, positions=None, cluster_queue=None, phases=None,
    include_pods=True, now=None) -> {"workloads": [...], "counts": {phase: n}}``.
Edge:
``workload_info(client, namespace=None, queue=None, cluster_queue=None, label_selector=None, name=None,
    phases=None, pods=True, now=None) -> dict`` (``workloads``, ``counts``, ``position_source``,
    ``warnings`` and ``visibility_error`` when the visibility API failed; ``position_source`` is
    ``visibility-api``, ``computed`` (some or all positions computed) or ``none`` (nothing pending)).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import common as kc
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import info as kinfo
from ansible_collections.gpuaas.orchestration.plugins.module_utils.workloads import state

POD = KINDS["Pod"]
# Every pod of a Job carries it, and so does every pod of a JobSet (its pods are its child Jobs'):
# the pods LIST asks only for pods that have it.
JOB_POD_LABEL = "batch.kubernetes.io/job-name"
# The phases told apart only with the pods (an admitted Workload is Running when every pod runs).
POD_PHASES = ("Admitted", "Running")


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _key(obj):
    m = _meta(obj)
    return (m.get("namespace"), m.get("name"))


def matches_name(wl, name):
    return _meta(wl).get("name") == name or state.owner_of(wl)[1] == name


def select(workloads, queue=None, name=None):
    out = []
    for wl in workloads or []:
        if queue and (wl.get("spec") or {}).get("queueName") != queue:
            continue
        if name and not matches_name(wl, name):
            continue
        out.append(wl)
    return out


def needs_local_queues(workloads):
    return any(not state.admitted_cluster_queue(wl) for wl in workloads or [])


def local_queue_map(local_queues):
    return dict((_key(lq), (lq.get("spec") or {}).get("clusterQueue")) for lq in local_queues or [])


def cluster_queue_of(wl, lq_map):
    cq = state.admitted_cluster_queue(wl)
    if cq:
        return cq
    return (lq_map or {}).get((_meta(wl).get("namespace"), (wl.get("spec") or {}).get("queueName")))


def _parse_selector(selector):
    """``k=v[,k=v]`` (what ``state.pod_selector`` gives) as ``[(k, v)]``."""
    out = []
    for part in (selector or "").split(","):
        k, sep, v = part.partition("=")
        if sep:
            out.append((k.strip(), v.strip().lstrip("=")))
    return out


def pods_by_workload(workloads, pods):
    by_ns = {}
    for p in pods or []:
        by_ns.setdefault(_meta(p).get("namespace"), []).append(p)
    out = {}
    for wl in workloads or []:
        ns = _meta(wl).get("namespace")
        pairs = _parse_selector(state.pod_selector(*state.owner_of(wl)))
        matched = []
        if pairs:
            for p in by_ns.get(ns, []):
                labels = _meta(p).get("labels") or {}
                if all(labels.get(k) == v for k, v in pairs):
                    matched.append(p)
        matched.sort(key=lambda p: _meta(p).get("name") or "")
        out[_key(wl)] = matched
    return out


def pending_cluster_queues(workloads, lq_map, pods=None):
    """ClusterQueues (sorted) of the Workloads in phase Pending: those with a position."""
    out = set()
    for wl in workloads or []:
        if state.phase(wl, pods=(pods or {}).get(_key(wl))) != "Pending":
            continue
        cq = cluster_queue_of(wl, lq_map)
        if cq:
            out.add(cq)
    return sorted(out)


def assemble(workloads, local_queues=None, pods=None, positions=None, cluster_queue=None, phases=None,
             include_pods=True, now=None):
    """The module's result from what was read. ``pods``: ``{(namespace, name): [pod]}`` (as
    ``pods_by_workload`` gives) or None when not read; ``positions``: ``{(namespace, name): position}``
    of the pending ones. Sorted by namespace, then name."""
    lq_map = local_queue_map(local_queues)
    counts = dict((p, 0) for p in state.PHASES)
    out = []
    for wl in sorted(workloads or [], key=_key):
        cq = cluster_queue_of(wl, lq_map)
        if cluster_queue and cq != cluster_queue:
            continue
        key = _key(wl)
        wl_pods = None if pods is None else pods.get(key, [])
        ph = state.phase(wl, pods=wl_pods)
        if phases and ph not in phases:
            continue
        position = (positions or {}).get(key) if ph == "Pending" else None
        summary = state.summarize_workload(wl, position=position, pods=wl_pods, now=now)
        summary["cluster_queue"] = cq
        summary["position_text"] = state.position_text(position)
        if not include_pods:
            summary.pop("pods", None)
            summary.pop("pods_running", None)
        counts[ph] = counts.get(ph, 0) + 1
        out.append(summary)
    return {"workloads": out, "counts": counts}


def _visibility_warning(reason):
    return ("Kueue's visibility API could not be read (%s): the positions of pending workloads are computed "
            "from the Workload objects (priority, then time)" % reason)


def workload_info(client, namespace=None, queue=None, cluster_queue=None, label_selector=None, name=None,
                  phases=None, pods=True, now=None):
    listed_workloads = client.list(kc.WORKLOAD, namespace=namespace, label_selector=label_selector)
    workloads = select(listed_workloads, queue=queue, name=name)
    local_queues = None
    if needs_local_queues(workloads):
        local_queues = client.list(kc.LOCAL_QUEUE, namespace=namespace)
    lq_map = local_queue_map(local_queues)
    if cluster_queue:
        workloads = [wl for wl in workloads if cluster_queue_of(wl, lq_map) == cluster_queue]

    # pods: for the result, or to tell Admitted from Running when the phase filter needs that
    matched = None
    if workloads and (pods or (phases and any(p in POD_PHASES for p in phases))):
        listed = []
        for ns in sorted(set(_meta(wl).get("namespace") for wl in workloads)):
            listed.extend(client.list(POD, namespace=ns, label_selector=JOB_POD_LABEL))
        matched = pods_by_workload(workloads, listed)

    positions = {}
    source = "none"
    result = {}
    cqs = pending_cluster_queues(workloads, lq_map, matched) if not phases or "Pending" in phases else []
    failed = []
    for cq in cqs:
        if failed:  # not served: the next ones would fail the same way (after retries)
            failed.append(cq)
            continue
        items, reason = kinfo.pending_workloads(client, cq_name=cq)
        if items is None:
            failed.append(cq)
            result["visibility_error"] = reason
            continue
        positions.update(state.positions_of(cq, items))
        source = "visibility-api"
    if failed:
        source = "computed"
        result["warnings"] = [_visibility_warning(result["visibility_error"])]
        # positions are per ClusterQueue, over all its LocalQueues and namespaces: a filtered
        # read saw fewer, so read them all
        all_workloads = client.list(kc.WORKLOAD) if (namespace or label_selector) else listed_workloads
        all_lqs = client.list(kc.LOCAL_QUEUE) if (namespace or local_queues is None) else local_queues
        for cq in failed:
            positions.update(state.positions_of(cq, kinfo.compute_pending_positions(cq, all_workloads, all_lqs)))

    result.update(assemble(workloads, local_queues=local_queues, pods=matched, positions=positions,
                           cluster_queue=cluster_queue, phases=phases, include_pods=pods, now=now))
    result["position_source"] = source
    return result
