# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Node operations at the API edge: selecting nodes, taints, cordon and uncordon.

Public API
----------
``select_nodes(client, name=None, label_selector=None) -> [node dict]``
    One GET for a name (``GpuaasError`` when it does not exist), one LIST for a selector.
``apply_taints(client, nodes, requested, state, check_mode=False, conflict_retries=5) -> [result]``
    ``requested`` comes from ``taints.validate_taints``. One merge-patch per node whose taints
    change, carrying ``metadata.resourceVersion`` as precondition (a concurrent writer makes it
    fail with 409: the node is read again and the change recomputed, up to ``conflict_retries``);
    no request for a node that already matches. Check mode sends the same patch with
    ``dryRun=All``. Each result: ``{name, changed, before, after, added, removed}``.
``set_unschedulable(client, node, value, check_mode=False) -> (changed, node_after)``
    Merge-patch of ``spec.unschedulable``; nothing sent when the node already has the value. A
    cordon also sets the annotation ``CORDONED_BY_ANNOTATION`` and an uncordon removes it, so that a
    later run (a failed drain's ``on_failure=uncordon``, a resumed maintenance window) can tell the
    nodes this collection cordoned from those a person or another controller cordoned.
``cordoned_by_collection(node) -> bool``
``node_in_service_problem(node) -> str or None``
    Why a node is not back in service yet: not Ready, a not-ready/unreachable taint, or fewer
    allocatable GPUs than it has (None when it is fine).
``wait_in_service(client, names, timeout, interval=1.0) -> [node dict]``
    Bounded wait (one LIST of nodes per poll) until every named node is in service; the timeout
    names each node still out and why.
``widen_connection_pool(client, size)``
    Lets ``size`` threads share the client's HTTP connection pool without connections being
    discarded (urllib3's default pool holds 5 x cores).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ApiError, GpuaasError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import quantity_or_none
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import wait_for
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.drain import GPU_RESOURCE
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.taints import (
    compute_taints,
    for_api,
    for_result,
    taint_changes,
    taints_equal,
)

NODE = KINDS["Node"]


def select_nodes(client, name=None, label_selector=None, names=None):
    """The nodes by name, by names (all must exist; one LIST) or by label selector, sorted."""
    if name:
        node = client.get(NODE, name)
        if node is None:
            raise GpuaasError("node %s not found" % name, node=name)
        return [node]
    if names:
        wanted = sorted(set(names))
        found = dict((n["metadata"]["name"], n) for n in client.list(NODE))
        missing = [n for n in wanted if n not in found]
        if missing:
            raise GpuaasError("names: node(s) %s not found" % ", ".join(missing), nodes=missing)
        return [found[n] for n in wanted]
    nodes = client.list(NODE, label_selector=label_selector)
    return sorted(nodes, key=lambda n: n["metadata"]["name"])


def _taints_of(node):
    return (node.get("spec") or {}).get("taints") or []


NODEPOOL_LABEL = "karpenter.sh/nodepool"


def _startup_taint_keys(client, nodes):
    """{NodePool name: set of startup taint keys}, read only when a node belongs to a NodePool."""
    if not any(NODEPOOL_LABEL in ((n.get("metadata") or {}).get("labels") or {}) for n in nodes):
        return {}
    try:
        pools = client.list(KINDS["NodePool"])
    except ApiError as e:
        if e.status == 404:  # Karpenter not installed
            return {}
        raise

    def startup_keys(pool):
        template = ((pool.get("spec") or {}).get("template") or {}).get("spec") or {}
        return set(t.get("key") for t in template.get("startupTaints") or [])
    return dict((p["metadata"]["name"], startup_keys(p)) for p in pools)


def apply_taints(client, nodes, requested, state, check_mode=False, conflict_retries=5):
    results = []
    startup = _startup_taint_keys(client, nodes) if state == "replace" else {}
    for node in nodes:
        name = node["metadata"]["name"]
        before = _taints_of(node)
        attempt = 0
        startup_keys = startup.get(((node.get("metadata") or {}).get("labels") or {}).get(NODEPOOL_LABEL), ())
        while True:
            current = _taints_of(node)
            desired = compute_taints(current, requested, state, startup_keys)
            kept = [t for t in for_result(desired) if state == "replace"
                    and t["key"] not in set(r["key"] for r in requested)]
            if taints_equal(current, desired):
                results.append(dict(name=name, changed=False, before=for_result(before),
                                    after=for_result(current), added=[], removed=[], kept_controller_taints=kept))
                break
            body = {"metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
                    "spec": {"taints": for_api(desired) or None}}
            try:
                patched = client.patch(NODE, name, body, dry_run=check_mode)
            except ApiError as e:
                if e.status == 409 and attempt < conflict_retries:
                    attempt += 1
                    fresh = client.get(NODE, name)
                    if fresh is None:
                        raise GpuaasError("node %s disappeared while its taints were being set" % name,
                                          node=name)
                    node = fresh
                    continue
                raise
            after = _taints_of(patched)
            added, removed = taint_changes(before, after)
            results.append(dict(name=name, changed=True, before=for_result(before),
                                after=for_result(after), added=added, removed=removed,
                                conflicts_retried=attempt, kept_controller_taints=kept))
            break
    return results


CORDONED_BY_ANNOTATION = "gpuaas.io/cordoned-by"
# A node a drain could not empty (on_failure=quarantine): left cordoned, labelled, with the reason.
QUARANTINE_LABEL = "gpuaas.io/quarantined"
QUARANTINE_REASON_ANNOTATION = "gpuaas.io/quarantine-reason"


def cordoned_by_collection(node):
    """Whether the node is unschedulable because this collection cordoned it."""
    annotations = (node.get("metadata") or {}).get("annotations") or {}
    return bool((node.get("spec") or {}).get("unschedulable")) and CORDONED_BY_ANNOTATION in annotations


def set_unschedulable(client, node, value, check_mode=False, cordoned_by="gpuaas.orchestration"):
    current = bool((node.get("spec") or {}).get("unschedulable"))
    if current == bool(value):
        return False, node
    # the annotation travels in the same patch: a node is never cordoned by us without saying so
    body = {"metadata": {"annotations": {CORDONED_BY_ANNOTATION: cordoned_by if value else None}},
            "spec": {"unschedulable": True if value else None}}
    patched = client.patch(NODE, node["metadata"]["name"], body, dry_run=check_mode)
    return True, patched


NOT_READY_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def node_in_service_problem(node):
    if node is None:
        return "not found"
    status = node.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    if not ready or ready[0].get("status") != "True":
        return "Ready=%s%s" % (ready[0].get("status") if ready else "missing",
                               (" (%s)" % ready[0].get("reason")) if ready and ready[0].get("reason") else "")
    taints = [t.get("key") for t in (node.get("spec") or {}).get("taints") or [] if t.get("key") in NOT_READY_TAINTS]
    if taints:
        return "tainted %s" % ", ".join(taints)
    capacity = quantity_or_none((status.get("capacity") or {}).get(GPU_RESOURCE)) or 0
    allocatable = quantity_or_none((status.get("allocatable") or {}).get(GPU_RESOURCE)) or 0
    if capacity and allocatable < capacity:
        return "%s of %s GPUs allocatable" % (allocatable, capacity)
    return None


def wait_in_service(client, names, timeout, interval=1.0):
    wanted = sorted(set(names))

    def fetch():
        found = dict((n["metadata"]["name"], n) for n in client.list(NODE))
        return dict((name, found.get(name)) for name in wanted)

    def problems(nodes):
        return dict((name, p) for name, p in ((n, node_in_service_problem(nodes[n])) for n in wanted) if p)

    got = wait_for(fetch, lambda nodes: not problems(nodes), timeout,
                   "node(s) %s to be Ready with their GPUs allocatable" % ", ".join(wanted), interval=interval,
                   describe=lambda nodes: "; ".join("%s: %s" % kv for kv in sorted(problems(nodes).items())))
    return [got[n] for n in wanted]


def widen_connection_pool(client, size):
    try:
        pm = client.api_client.rest_client.pool_manager
        if pm.connection_pool_kw.get("maxsize", 1) < size:
            pm.connection_pool_kw["maxsize"] = size
            pm.clear()
    except AttributeError:  # pragma: no cover - another client implementation
        pass
