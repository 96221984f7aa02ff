# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The API edge of the Karpenter modules: read live state, write, wait, build results.

Each ``run_*(client, params, check_mode, diff)`` function serves one module and returns the
module result; errors are raised as ``errors.GpuaasError`` subclasses (the module turns them into
``fail_json``). All input is validated (``kinds.nodepool``, ``kinds.nodeclaim``,
``karpenter.capacity``) before anything is written, every problem together. NodePools and
NodeClaims are written through the engine (server-side apply, dry run in check mode, per-object
results); the pause of karpenter_disruption is a merge patch guarded by resourceVersion.

Public API
----------
``LazyClient(factory)``   builds the API client on first use (invalid input fails without a cluster)
``run_nodepool(client, params, check_mode=False) -> (engine_result, extra_keys)``
    karpenter_nodepool: apply or delete one NodePool (``kinds.nodepool.DESCRIPTION``).
``capacity_inputs(params) -> (labels, shape)``: karpenter_capacity's input checks (pure; every
    problem raised together), also those of a cluster plan's capacity entries.
``run_capacity(client, params, check_mode=False, diff=False)``
    karpenter_capacity: N NodeClaims of one shape in a pool (``kinds.nodeclaim.DESCRIPTION``).
    Every limit of the pool is checked before the first write (``capacity.limits_error``; a
    limited resource whose amount per node is not known is refused). NodeClaims are created with
    POST under deterministic names (``nodeclaim.free_names``): two concurrent runs for the same
    group race for the same names and the API server lets one create each; the other gets 409
    AlreadyExists and reports the NodeClaim in ``created_by_others`` (never creating another one
    in its place), so concurrent runs never create more NodeClaims than ``count``.
``run_disruption(client, params, check_mode=False, diff=False)``
    karpenter_disruption: pause/resume a pool's budgets; mark/unmark nodes do-not-disrupt.
``run_info(client, params, check_mode=False, diff=False)``
    karpenter_info: pools, nodes, GPUs, limits, budgets now, NodeClaims.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import FIELD_MANAGER, KINDS, label_selector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.compare import intent_digest, with_intent
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ApiError,
    ErrorCollector,
    GpuaasError,
    PartialRun,
    raise_all,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import wait_for
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter import budgets as bud
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter import capacity as cap
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.info import pool_summary
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import nodeclaim as nc
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import nodepool as np
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import LiveContext

NODEPOOL = np.NODEPOOL
NODECLAIM = nc.NODECLAIM
NODE = KINDS["Node"]
POD = KINDS["Pod"]


class LazyClient(object):
    """Builds the API client on first use, so that invalid input fails even without a cluster."""

    def __init__(self, factory):
        self._factory = factory
        self._client = None

    def __getattr__(self, name):
        if self._client is None:
            self._client = self._factory()
        return getattr(self._client, name)


def _timings(start):
    return {"total_seconds": round(time.time() - start, 3)}


def _names(result, action):
    return [r["name"] for r in result["results"] if r["action"] == action]


# ---------------------------------------------------------------------------------------------
# NodePool
# ---------------------------------------------------------------------------------------------

def _delete_nodepool(client, params, check_mode):
    name = params["name"]
    # NodeClaims made by karpenter_capacity are owned by the pool too; with force they are deleted
    # explicitly (read before the pool goes, while they still carry its label)
    claims = client.list(NODECLAIM, label_selector="%s=%s" % (np.NODEPOOL_LABEL, name)) if params.get("force") else []
    result = engine.run(client, [np.DESCRIPTION.item(params, None, ctx=LiveContext(client), wait=False)],
                        check_mode=check_mode)
    deleted_claims = []
    doomed = [c["metadata"]["name"] for c in claims if not c["metadata"].get("deletionTimestamp")]
    if result["changed"] and doomed:
        gone = engine.run(client, [nc.DESCRIPTION.item({"state": "absent", "name": n}, None, wait=False) for n in doomed],
                          check_mode=check_mode)
        deleted_claims = _names(gone, "deleted")
    if result["changed"] and params.get("wait") and not check_mode:
        t0 = time.time()

        def fetch():
            pool = client.get(NODEPOOL, name)
            cl, no = np.pool_members(client, name)
            return {"nodepool_present": pool is not None, "nodeclaims": [c["metadata"]["name"] for c in cl],
                    "nodes": [n["metadata"]["name"] for n in no]}
        wait_for(fetch, lambda got: not got["nodepool_present"] and not got["nodeclaims"] and not got["nodes"],
                 params.get("wait_timeout"), "NodePool %s and its NodeClaims and nodes to be gone" % name, interval=2.0)
        result["timings"]["wait"] = round(time.time() - t0, 3)
    return result, {"deleted_nodeclaims": deleted_claims}


def run_nodepool(client, params, check_mode=False):
    """Apply or delete one NodePool through the engine; returns (engine_result, extra_keys)."""
    if params["state"] == "absent":
        raise_all(np.DESCRIPTION.item(params, None).validate())
        return _delete_nodepool(client, params, check_mode)
    desired = np.DESCRIPTION.render(params)
    raise_all(np.DESCRIPTION.validate(desired))
    # A pool paused by karpenter_disruption stays paused: the description's ``adapt`` sends the
    # pause budgets and saves the given ones for resume; the intent digest covers what was given,
    # so a pause is not a change of intent (a rerun writes nothing).
    item = np.DESCRIPTION.item(params, desired, ctx=LiveContext(client), wait_timeout=params.get("wait_timeout"))
    result = engine.run(client, [item], check_mode=check_mode, force_conflicts=params.get("force_conflicts", True))
    # paused / saved_budgets of the result, from the pool in hand (still paused when it was)
    in_hand = result["results"][0].get("object") if result.get("results") else None
    dummy, extra, dummy_warnings = bud.keep_pause(desired, in_hand)
    return result, extra


# ---------------------------------------------------------------------------------------------
# Capacity
# ---------------------------------------------------------------------------------------------

def _catalog(errs, params):
    catalog = params.get("instance_type_catalog")
    if params.get("instance_types_file"):
        try:
            with open(params["instance_types_file"]) as handle:
                catalog = cap.load_instance_type_catalog(json.load(handle))
        except (IOError, OSError, ValueError) as exc:
            errs.add("instance_types_file", params["instance_types_file"], "cannot be read: %s" % exc)
    return catalog


def capacity_inputs(params):
    """(labels, shape) of karpenter_capacity, every problem raised together; shape is None for count 0."""
    errs = ErrorCollector()
    v.check_name(errs, "nodepool", params["nodepool"])
    group, count = params["name"], params["count"]
    problem = v.label_value_problem(group) if group else "must not be empty"
    errs.check(problem is None, "name", group, "must be a valid label value (the capacity group's id): %s" % problem)
    errs.check(count >= 0, "count", count, "must not be negative")
    labels = np.label_values(params.get("labels"))
    np.check_node_labels(errs, "labels", labels)
    shape = cap.resolve_shape(errs, params, _catalog(errs, params)) if count > 0 else None
    errs.raise_if_any()
    return labels or {}, shape


def _capacity_result(changed, created, deleted, count, summaries, blocked, start, warnings, raced=()):
    """The karpenter_capacity result (``summaries``: nodeclaim_summary of the group's NodeClaims)."""
    out = {"changed": changed, "created": created, "deleted": deleted, "created_by_others": list(raced),
           "count": count, "nodeclaims": summaries, "nodes": [s["node"] for s in summaries if s["node"]],
           "blocked": blocked, "timings": _timings(start)}
    if warnings:
        out["warnings"] = warnings
    return out


def _group_claims(client, pool, group):
    selector = label_selector({np.NODEPOOL_LABEL: pool, nc.CAPACITY_GROUP_LABEL: group})
    claims = client.list(NODECLAIM, label_selector=selector)
    return [c for c in claims if not c["metadata"].get("deletionTimestamp")], claims


def _pods_by_node(client, node_names):
    return dict((node, client.list(POD, field_selector="spec.nodeName=%s" % node)) for node in node_names)


def _check_limits(client, pool, shape, adding, pool_claims):
    """Refuse NodeClaims that would pass any of the pool's ``spec.limits`` (``SafetyError``), and
    those whose amount of a limited resource per node is not known (``ValidationError`` naming the
    option to give): nothing is written before this passes. ``pool_claims``: the pool's NodeClaims,
    from the same read as the group's (so a concurrent run's new ones count once or not at all)."""
    limits = (pool.get("spec") or {}).get("limits") or {}
    if not limits or not adding:
        return
    per_node, unknown = cap.shape_resources(shape, limits)
    if unknown and shape["instance_types"]:
        # instance types the catalog does not know: learn them from live NodeClaims and nodes of those types
        selector = "%s in (%s)" % (nc.INSTANCE_TYPE_LABEL, ",".join(shape["instance_types"]))
        live = client.list(NODECLAIM, label_selector=selector) + client.list(NODE, label_selector=selector)
        per_node, unknown = cap.shape_resources(shape, limits, live=live)
    raise_all(cap.unknown_resource_errors(pool, unknown, shape))
    selector = "%s=%s" % (np.NODEPOOL_LABEL, pool["metadata"]["name"])
    nodes = dict((n["metadata"]["name"], n) for n in client.list(NODE, label_selector=selector))
    error = cap.limits_error(pool, pool_claims, nodes, adding, per_node, shape.get("catalog"))
    if error is not None:
        raise error


def _of_group(claim, pool_name, group):
    labels = ((claim or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(np.NODEPOOL_LABEL) == pool_name and labels.get(nc.CAPACITY_GROUP_LABEL) == group


def _post_claim(client, item, check_mode):
    """Create one NodeClaim with POST (fails with 409 when the name exists, unlike server-side
    apply), with the intent digest and field manager the engine would have written it with."""
    body = with_intent(item.obj, FIELD_MANAGER, intent_digest(item.obj, item.quantity_paths))
    return client.create(NODECLAIM, body, dry_run=check_mode, field_manager=FIELD_MANAGER)


def _written(created, deleted=()):
    """The result entries of the NodeClaims a run created and deleted (what a PartialRun reports)."""
    return ([{"ref": NODECLAIM.ref(n), "kind": "NodeClaim", "name": n, "action": "created"} for n in created]
            + [{"ref": NODECLAIM.ref(n), "kind": "NodeClaim", "name": n, "action": "deleted"} for n in deleted])


MAX_NAME_SKIPS = 20


def _create_claims(client, pool, group, shape, labels, protect, taken, need, check_mode, start):
    """Create ``need`` NodeClaims of the group under the lowest free deterministic names;
    returns (created, raced).

    A 409 AlreadyExists for a NodeClaim of this group that is not being deleted means a concurrent
    run created that very name first: it goes to ``raced`` and counts toward ``need`` - nothing is
    created under another name to make up for it, so racing runs never make more than ``need``
    together. A name held by another group's NodeClaim (``<pool>-<group>-<n>`` of a pool and group
    whose names run into each other) or by one being deleted that appeared after the read is
    skipped for the next free name, which racing runs choose alike.
    """
    pool_name = pool["metadata"]["name"]
    taken = set(taken)

    def item_for(name):
        taken.add(name)
        obj = nc.render_nodeclaim(pool, group, shape, name, labels=labels, protect=protect)
        return nc.DESCRIPTION.item({"state": "present"}, obj, wait=False)

    queue = [item_for(name) for name in nc.free_names(pool_name, group, taken, need)]
    errs = ErrorCollector()
    for it in queue:
        errs.extend(e.for_object(it.ref) if len(queue) > 1 else e for e in it.validate())
    errs.raise_if_any()
    created, raced, skips = [], [], 0
    while queue:
        it = queue.pop(0)
        try:
            _post_claim(client, it, check_mode)
            created.append(it.name)
            continue
        except ApiError as exc:
            if exc.status != 409 or exc.reason not in ("AlreadyExists", None):
                if not created or check_mode:
                    raise
                raise PartialRun(exc, {
                    "changed": True, "timings": _timings(start), "results": _written(created),
                    "failed_object": {"ref": it.ref, "error": str(exc), "api_error": exc.summary()}})
        live = client.get(NODECLAIM, it.name)
        if live is not None and _of_group(live, pool_name, group) and not live["metadata"].get("deletionTimestamp"):
            raced.append(it.name)
            continue
        skips += 1
        if skips > MAX_NAME_SKIPS:
            raise GpuaasError("name: could not find a free NodeClaim name for capacity group %s of NodePool %s "
                              "after %d names held by other NodeClaims (last: %s)" % (group, pool_name, skips, it.name))
        replacement = item_for(nc.free_names(pool_name, group, taken, 1)[0])
        raise_all(replacement.validate())
        queue.append(replacement)
    return created, raced


def _missing_pool(pool_name, group, count, check_mode, diff, start):
    if count == 0:
        # nothing to scale down: a pool that is gone has no NodeClaims (state absent, run twice)
        return _capacity_result(False, [], [], 0, [], {}, start,
                                ["NodePool %s does not exist: no NodeClaims to remove" % pool_name])
    if not check_mode:
        raise GpuaasError("nodepool: NodePool %s does not exist" % pool_name)
    # An earlier task of the same play (not run for real in check mode) may create the pool: say
    # what would be created instead of failing the whole dry run.
    would = nc.free_names(pool_name, group, (), count)
    out = _capacity_result(True, would, [], count, [], {}, start,
                           ["NodePool %s does not exist (yet): %d NodeClaim(s) would be created once it "
                            "does (not validated by the API server, limits not checked)" % (pool_name, count)])
    if diff:
        out["diff"] = {"before": {"nodeclaims": []}, "after": {"nodeclaims": would}}
    return out


def _wait_for_group(client, params, count, deleted, snapshot):
    group, pool_name = params["name"], params["nodepool"]
    want_gpus = bool(params.get("gpu_count") or params.get("gpu_product"))

    def node_of(claim, nodes):
        return nodes.get((claim.get("status") or {}).get("nodeName"))

    def fetch():
        claims, everything, nodes = snapshot()
        return {"claims": claims, "nodes": nodes,
                "deleting": [c for c in everything
                             if c["metadata"].get("deletionTimestamp") and c["metadata"]["name"] in deleted]}

    def done(got):
        if len(got["claims"]) != count or got["deleting"]:
            return False
        return all(nc.claim_ready(c, node_of(c, got["nodes"]), want_gpus) for c in got["claims"])

    def describe(got):
        return {"nodeclaims": [cap.nodeclaim_summary(c, node_of(c, got["nodes"])) for c in got["claims"]],
                "still_deleting": [c["metadata"]["name"] for c in got["deleting"]]}

    wait_for(fetch, done, params.get("wait_timeout") or 300,
             "%d NodeClaims of capacity group %s in NodePool %s to be Initialized with their GPUs allocatable%s"
             % (count, group, pool_name, " and %s to be gone" % ", ".join(deleted) if deleted else ""),
             interval=2.0, describe=describe)


def run_capacity(client, params, check_mode=False, diff=False):
    start = time.time()
    pool_name, group, count = params["nodepool"], params["name"], params["count"]
    labels, shape = capacity_inputs(params)
    pool = client.get(NODEPOOL, pool_name)
    if pool is None:
        return _missing_pool(pool_name, group, count, check_mode, diff, start)
    if shape is not None:
        raise_all(nc.shape_errors(pool, shape))
    warnings = []
    # one read of the pool's NodeClaims: the group's, and what the limits count
    pool_claims = client.list(NODECLAIM, label_selector=label_selector({np.NODEPOOL_LABEL: pool_name}))
    everything = [c for c in pool_claims if _of_group(c, pool_name, group)]
    current = [c for c in everything if not c["metadata"].get("deletionTimestamp")]
    blocked, created, deleted, raced = {}, [], [], []
    if len(current) < count:
        adding = count - len(current)
        if not params.get("force"):
            _check_limits(client, pool, shape, adding, pool_claims)
        created, raced = _create_claims(client, pool, group, shape, labels, params.get("do_not_disrupt"),
                                        [c["metadata"]["name"] for c in everything], adding, check_mode, start)
        warnings.extend(w for w in getattr(client, "warnings", None) or [] if w not in warnings)
        if raced:
            warnings.append("NodeClaim(s) %s of capacity group %s were created by another run at the same time "
                            "(409 AlreadyExists): they count toward count %d, this run did not create them%s"
                            % (", ".join(raced), group, count,
                               " (it created %s)" % ", ".join(created) if created else " (it created none)"))
    elif len(current) > count:
        nodes = [(c.get("status") or {}).get("nodeName") for c in current]
        victims, blocked = cap.plan_scale_down(current, _pods_by_node(client, [n for n in nodes if n]),
                                               len(current) - count, preferred=params.get("remove"),
                                               force=params.get("force"))
        items = [nc.DESCRIPTION.item({"state": "absent", "name": victim["metadata"]["name"]}, None, wait=False)
                 for victim in victims]
        result = engine.run(client, items, check_mode=check_mode)
        deleted = _names(result, "deleted")
        warnings.extend(w for w in result.get("warnings") or [] if w not in warnings)

    def snapshot():
        claims, every = _group_claims(client, pool_name, group)
        selector = label_selector({np.NODEPOOL_LABEL: pool_name})
        return claims, every, dict((n["metadata"]["name"], n) for n in client.list(NODE, label_selector=selector))

    if params.get("wait") and not check_mode:
        try:
            _wait_for_group(client, params, count, deleted, snapshot)
        except GpuaasError as e:
            if not (created or deleted):
                raise
            # the wait ran out (or the API failed) after this run wrote: say what it wrote
            raise PartialRun(e, {"changed": True, "results": _written(created, deleted), "created": created,
                                 "deleted": deleted,
                                 "created_by_others": raced, "timings": _timings(start),
                                 "failed_stage": "wait"})
    claims, _every, node_map = snapshot()
    summaries = sorted((cap.nodeclaim_summary(c, node_map.get((c.get("status") or {}).get("nodeName")))
                        for c in claims), key=lambda s: s["name"])
    out = _capacity_result(bool(created or deleted), created, deleted, count, summaries, blocked, start, warnings,
                           raced=raced)
    if diff:
        before = sorted(c["metadata"]["name"] for c in current)
        out["diff"] = {"before": {"nodeclaims": before},
                       "after": {"nodeclaims": sorted([n for n in before if n not in deleted] + created + raced)}}
    return out


# ---------------------------------------------------------------------------------------------
# Disruption control
# ---------------------------------------------------------------------------------------------

def _pause_inputs(params):
    action, name = params["action"], params.get("nodepool")
    errs = ErrorCollector()
    if not name:
        errs.add("nodepool", name, "is required for action %s" % action)
    else:
        v.check_name(errs, "nodepool", name)
    budgets = [{"nodes": "0"}]
    if action == "pause" and params.get("budgets") is not None:
        budgets = np.render_budgets(params["budgets"])
        if np.check_budgets(errs, "budgets", budgets):
            errs.check(budgets, "budgets", params["budgets"], "needs at least one budget to pause with")
    errs.raise_if_any()
    return name, budgets


def _pause_or_resume(client, params, check_mode, diff, start):
    action = params["action"]
    name, budgets = _pause_inputs(params)
    # Not the engine: the pause is a read-modify-write (the budgets saved are the ones read), so it
    # is a JSON merge patch carrying the resourceVersion it was computed from - a concurrent write
    # (Karpenter's own status updates, a karpenter_nodepool run) makes it fail with 409 and it is
    # recomputed. Server-side apply has no such guard here, and applied under the collection's one
    # field manager the pause would be part of karpenter_nodepool's intent: its next apply would
    # drop what it does not send (the annotations resume needs) and undo the pause.
    attempt = 0
    while True:
        attempt += 1
        live = client.get(NODEPOOL, name)
        if live is None and check_mode:
            # as in karpenter_capacity: an earlier task of the play may create the pool
            out = {"changed": action == "pause", "nodepool": name,
                   "budgets": budgets if action == "pause" else None, "paused": action == "pause",
                   "saved_budgets": None, "restored_budgets": None, "timings": _timings(start),
                   "warnings": ["NodePool %s does not exist (yet): %s" % (
                       name, "it would be paused once it does" if action == "pause" else "nothing to resume")]}
            if diff:
                out["diff"] = {"before": {}, "after": {"budgets": budgets} if action == "pause" else {}}
            return out
        if live is None:
            raise GpuaasError("nodepool: NodePool %s does not exist" % name)
        if action == "pause":
            patch, info = bud.pause_budgets(live, budgets, reason=params.get("reason"))
        else:
            patch, info = bud.resume_budgets(live)
        after = live
        if patch is None:
            break
        patch.setdefault("metadata", {})["resourceVersion"] = live["metadata"]["resourceVersion"]
        try:
            after = client.patch(NODEPOOL, name, patch, dry_run=check_mode)
            break
        except ApiError as exc:
            if exc.status != 409 or attempt >= 8:
                raise
            time.sleep(0.2 * attempt)
    out = {"changed": patch is not None, "nodepool": name,
           "budgets": bud.live_budgets(after), "paused": bud.is_paused(after),
           "saved_budgets": info.get("saved_budgets") if action == "pause" else None,
           "restored_budgets": info.get("budgets") if action == "resume" and info.get("was_paused") else None,
           "timings": _timings(start)}
    if diff:
        out["diff"] = {"before": _disruption_view(live), "after": _disruption_view(after)}
    return out


def _mark_nodes(client, params, check_mode, diff, start):
    action = params["action"]
    nodes = params.get("nodes") or []
    errs = ErrorCollector()
    errs.check(nodes, "nodes", nodes, "is required for action %s" % action)
    for index, node in enumerate(nodes):
        v.check_name(errs, "nodes[%d]" % index, node)
    errs.raise_if_any()
    lives = [client.get(NODE, node) for node in nodes]
    missing = [node for node, live in zip(nodes, lives) if live is None]
    if missing:
        raise GpuaasError("nodes: not found: %s" % ", ".join(missing), missing=missing)
    changed_nodes = []
    before_view, after_view = {}, {}
    for node, live in zip(nodes, lives):
        current = ((live.get("metadata") or {}).get("annotations") or {}).get(nc.DO_NOT_DISRUPT)
        want = "true" if action == "mark" else None
        before_view[node] = current
        after_view[node] = want
        if current == want:
            continue
        # nodes are not this collection's objects: a merge patch of the one annotation, no apply
        client.patch(NODE, node, {"metadata": {"annotations": {nc.DO_NOT_DISRUPT: want}}}, dry_run=check_mode)
        changed_nodes.append(node)
    out = {"changed": bool(changed_nodes), "nodes": nodes, "changed_nodes": changed_nodes,
           "timings": _timings(start)}
    if diff:
        out["diff"] = {"before": {"do_not_disrupt": before_view}, "after": {"do_not_disrupt": after_view}}
    return out


def run_disruption(client, params, check_mode=False, diff=False):
    start = time.time()
    if params["action"] in ("pause", "resume"):
        return _pause_or_resume(client, params, check_mode, diff, start)
    return _mark_nodes(client, params, check_mode, diff, start)


def _disruption_view(pool):
    annotations = (pool.get("metadata") or {}).get("annotations") or {}
    return {"budgets": bud.live_budgets(pool),
            "annotations": dict((k, val) for k, val in annotations.items() if k in bud.PAUSE_ANNOTATIONS)}


# ---------------------------------------------------------------------------------------------
# Info
# ---------------------------------------------------------------------------------------------

def run_info(client, params, check_mode=False, diff=False):
    start = time.time()
    names = params.get("nodepools") or []
    pools = client.list(NODEPOOL)
    if names:
        pools = [p for p in pools if p["metadata"]["name"] in names]
    claims = client.list(NODECLAIM)
    nodes = client.list(NODE, label_selector=np.NODEPOOL_LABEL)
    node_map = dict((n["metadata"]["name"], n) for n in nodes)
    out_pools = sorted((pool_summary(p, nodes, claims) for p in pools), key=lambda p: p["name"])
    pool_names = set(p["name"] for p in out_pools)
    out_claims = []
    if params.get("include_nodeclaims", True):
        for c in claims:
            labels = (c.get("metadata") or {}).get("labels") or {}
            if names and labels.get(np.NODEPOOL_LABEL) not in pool_names:
                continue
            summary = cap.nodeclaim_summary(c, node_map.get((c.get("status") or {}).get("nodeName")))
            summary["capacity_group"] = labels.get(nc.CAPACITY_GROUP_LABEL)
            out_claims.append(summary)
        out_claims.sort(key=lambda s: (s["nodepool"] or "", s["name"]))
    return {"changed": False, "nodepools": out_pools, "nodeclaims": out_claims, "timings": _timings(start)}
