# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
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
    Merge-patch of ``spec.unschedulable``; nothing sent when the node already has the value.
``widen_connection_pool(client, size)``
    Lets ``size`` threads share the client's HTTP connection pool without connections being
    discarded (urllib3's default pool holds 5 x cores).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ApiError, GpuaasError
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


def apply_taints(client, nodes, requested, state, check_mode=False, conflict_retries=5):
    results = []
    for node in nodes:
        name = node["metadata"]["name"]
        before = _taints_of(node)
        attempt = 0
        while True:
            current = _taints_of(node)
            desired = compute_taints(current, requested, state)
            if taints_equal(current, desired):
                results.append(dict(name=name, changed=False, before=for_result(before),
                                    after=for_result(current), added=[], removed=[]))
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
                                conflicts_retried=attempt))
            break
    return results


def set_unschedulable(client, node, value, check_mode=False):
    current = bool((node.get("spec") or {}).get("unschedulable"))
    if current == bool(value):
        return False, node
    body = {"spec": {"unschedulable": True if value else None}}
    patched = client.patch(NODE, node["metadata"]["name"], body, dry_run=check_mode)
    return True, patched


def widen_connection_pool(client, size):
    try:
        pm = client.api_client.rest_client.pool_manager
        if pm.connection_pool_kw.get("maxsize", 1) < size:
            pm.connection_pool_kw["maxsize"] = size
            pm.clear()
    except AttributeError:  # pragma: no cover - another client implementation
        pass
