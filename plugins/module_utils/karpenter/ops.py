# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API edge of the Karpenter modules: read live state, write, wait, build results.

Each ``run_*(client, params, check_mode, diff)`` function serves one module and returns the
module result dict; errors are raised as ``errors.GpuaasError`` subclasses (the module turns them
into ``fail_json``). All input is validated (``karpenter.py``) before anything is written.

``run_nodepool``     karpenter_nodepool: server-side apply / delete of one NodePool.
``run_capacity``     karpenter_capacity: N NodeClaims of one shape in a pool.
``run_disruption``   karpenter_disruption: pause/resume a pool's budgets; mark/unmark nodes.
``run_info``         karpenter_info: pools, nodes, GPUs, limits, budgets now, NodeClaims.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter import logic as kp
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    NOVALUE,
    ApiError,
    GpuaasError,
    SafetyError,
    ValidationError,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import wait_for

NODEPOOL = KINDS["NodePool"]
NODECLAIM = KINDS["NodeClaim"]
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


def _label_selector(labels):
    return ",".join("%s=%s" % (k, v) for k, v in sorted(labels.items()))


# ---------------------------------------------------------------------------------------------
# NodePool
# ---------------------------------------------------------------------------------------------

def pool_members(client, name):
    selector = "%s=%s" % (kp.NODEPOOL_LABEL, name)
    return client.list(NODECLAIM, label_selector=selector), client.list(NODE, label_selector=selector)


def _problems_to_errors(problems):
    return [ValidationError(p.split(":", 1)[0], NOVALUE, p.split(":", 1)[1].strip()) for p in problems]


def run_nodepool(client, params, check_mode=False):
    """Apply or delete one NodePool through the engine; returns (engine_result, extra_keys)."""
    name = params["name"]
    warnings = []
    extra = {}
    if params["state"] == "absent":
        problems = []
        kp.validate_name(problems, "name", name)
        kp.raise_if_problems(problems)
        members = {}

        def precheck(live):
            if live is None:
                return []
            claims, nodes = pool_members(client, name)
            members["claims"] = claims
            if (claims or nodes) and not params.get("force"):
                return [SafetyError(
                    "NodePool %s still has %d NodeClaims and %d nodes; deleting it terminates them"
                    % (name, len(claims), len(nodes)),
                    affected=["NodeClaim/%s" % c["metadata"]["name"] for c in claims] +
                    ["Node/%s" % n["metadata"]["name"] for n in nodes])]
            return []

        result = engine.run(client, [engine.Item(NODEPOOL, name=name, state="absent", precheck=precheck)],
                            check_mode=check_mode)
        deleted_claims = []
        if result["changed"] and params.get("force"):
            # NodeClaims made by karpenter_capacity are owned by the pool too; delete them explicitly
            for c in members.get("claims") or []:
                if not c["metadata"].get("deletionTimestamp"):
                    client.delete(NODECLAIM, c["metadata"]["name"], dry_run=check_mode)
                    deleted_claims.append(c["metadata"]["name"])
        extra["deleted_nodeclaims"] = deleted_claims
        if result["changed"] and params.get("wait") and not check_mode:
            t0 = time.time()

            def fetch():
                pool = client.get(NODEPOOL, name)
                cl, no = pool_members(client, name)
                return {"nodepool_present": pool is not None, "nodeclaims": [c["metadata"]["name"] for c in cl],
                        "nodes": [n["metadata"]["name"] for n in no]}
            wait_for(fetch, lambda v: not v["nodepool_present"] and not v["nodeclaims"] and not v["nodes"],
                     params.get("wait_timeout"),
                     "NodePool %s and its NodeClaims and nodes to be gone" % name, interval=2.0)
            result["timings"]["wait"] = round(time.time() - t0, 3)
        return result, extra

    desired = kp.render_nodepool(params)
    live = client.get(NODEPOOL, name)
    if live is not None and kp.is_paused(live) and "budgets" in desired["spec"].get("disruption", {}):
        # Paused by karpenter_disruption: keep the pause; resume restores the budgets given here.
        wanted = desired["spec"]["disruption"]["budgets"]
        desired["spec"]["disruption"]["budgets"] = kp.live_budgets(live)
        # Always send the saved budgets, even when they already match: once this field manager
        # has applied the annotation, leaving it out would make server-side apply delete it, and
        # the pool would stay paused with nothing for resume to restore.
        saved = kp.saved_budgets(live)
        live_saved = ((live.get("metadata") or {}).get("annotations") or {}).get(kp.SAVED_BUDGETS_ANNOTATION)
        saved_text = live_saved if saved == wanted else kp.saved_budgets_text(wanted)
        desired["metadata"].setdefault("annotations", {})[kp.SAVED_BUDGETS_ANNOTATION] = saved_text
        extra["paused"] = True
        extra["saved_budgets"] = wanted
        if saved != wanted:
            warnings.append("NodePool %s is paused by karpenter_disruption: the budgets given here are saved "
                            "and take effect on resume" % name)
    wait = None
    if params.get("wait"):
        wait = engine.WaitSpec(lambda o: o is not None and kp.condition_status(o, "Ready") == "True",
                               "Ready", timeout=params.get("wait_timeout"), interval=1.0)
    item = engine.Item(NODEPOOL, obj=desired,
                       precheck=lambda live: _problems_to_errors(kp.check_nodepool_immutables(desired, live)),
                       wait=wait)
    result = engine.run(client, [item], check_mode=check_mode)
    result["warnings"] = warnings + list(result.get("warnings") or [])
    return result, extra


# ---------------------------------------------------------------------------------------------
# Capacity
# ---------------------------------------------------------------------------------------------

def _shape(params):
    """Instance types and label requirements of the requested shape, and GPUs per node if known."""
    problems = []
    shape = {"instance_types": list(params.get("instance_types") or []), "requirements": {},
             "gpus_per_node": None}
    gpu_count, gpu_product = params.get("gpu_count"), params.get("gpu_product")
    if gpu_count is not None:
        if gpu_count < 1:
            kp.problem(problems, "gpu_count", "must be at least 1", gpu_count)
        shape["requirements"][params.get("gpu_count_label") or kp.GPU_COUNT_LABEL] = str(gpu_count)
        shape["gpus_per_node"] = gpu_count
    if gpu_product:
        if not kp.is_label_value(gpu_product):
            kp.problem(problems, "gpu_product", "is not a valid label value", gpu_product)
        shape["requirements"][params.get("gpu_product_label") or kp.GPU_PRODUCT_LABEL] = gpu_product
    catalog = params.get("instance_type_catalog")
    if params.get("instance_types_file"):
        try:
            with open(params["instance_types_file"]) as handle:
                catalog = kp.load_instance_type_catalog(json.load(handle))
        except (IOError, OSError, ValueError) as exc:
            kp.problem(problems, "instance_types_file", "cannot be read: %s" % exc, params["instance_types_file"])
    if catalog and not shape["instance_types"] and (gpu_count is not None or gpu_product):
        names = kp.resolve_instance_types(catalog, gpu_count, gpu_product)
        if not names:
            kp.problem(problems, "gpu_count" if gpu_count is not None else "gpu_product",
                       "no instance type offers %s GPUs of product %s"
                       % (gpu_count if gpu_count is not None else "any", gpu_product or "any"),
                       gpu_count if gpu_count is not None else gpu_product)
        shape["instance_types"] = names
    if catalog and shape["gpus_per_node"] is None:
        counts = [c.get("gpu_count") or 0 for c in catalog if c.get("name") in shape["instance_types"]]
        shape["gpus_per_node"] = max(counts) if counts else None
    if not shape["instance_types"] and not shape["requirements"]:
        kp.problem(problems, "instance_types", "give instance_types, or gpu_count and/or gpu_product", None)
    for index, name in enumerate(shape["instance_types"]):
        if not kp.is_label_value(name):
            kp.problem(problems, "instance_types[%d]" % index, "is not a valid instance type name", name)
    kp.raise_if_problems(problems)
    return shape


def _gpus_of_instance_types(client, instance_types):
    """The most GPUs a live node of one of ``instance_types`` has allocatable (0 if none is known)."""
    selector = "%s in (%s)" % (kp.INSTANCE_TYPE_LABEL, ",".join(instance_types))
    best = 0
    for node in client.list(NODE, label_selector=selector):
        best = max(best, int(kp.allocatable_gpus(node) or 0))
    return best


def _capacity_result(changed, created, deleted, count, summaries, blocked, start, warnings):
    """The karpenter_capacity result (``summaries``: kp.nodeclaim_summary of the group's NodeClaims)."""
    out = {"changed": changed, "created": created, "deleted": deleted, "count": count,
           "nodeclaims": summaries, "nodes": [s["node"] for s in summaries if s["node"]],
           "blocked": blocked, "timings": _timings(start)}
    if warnings:
        out["warnings"] = warnings
    return out


def _group_claims(client, pool, group):
    selector = _label_selector({kp.NODEPOOL_LABEL: pool, kp.CAPACITY_GROUP_LABEL: group})
    claims = client.list(NODECLAIM, label_selector=selector)
    return [c for c in claims if not c["metadata"].get("deletionTimestamp")], claims


def _pods_by_node(client, node_names):
    out = {}
    for node in node_names:
        out[node] = client.list(POD, field_selector="spec.nodeName=%s" % node)
    return out


def _claim_ready(claim, node, want_gpus):
    """Initialized, with the GPUs the NodeClaim promised (or any, for a GPU shape) allocatable."""
    if kp.condition_status(claim, "Initialized") != "True" or node is None:
        return False
    have = kp.allocatable_gpus(node) or 0
    promised = kp.allocatable_gpus(claim) or 0
    if have < promised:
        return False
    return have > 0 if want_gpus else True


def run_capacity(client, params, check_mode=False, diff=False):
    start = time.time()
    pool_name, group, count = params["nodepool"], params["name"], params["count"]
    problems = []
    kp.validate_name(problems, "nodepool", pool_name)
    if not kp.is_label_value(group) or not group:
        kp.problem(problems, "name", "must be a valid label value (the capacity group's id)", group)
    if count < 0:
        kp.problem(problems, "count", "must not be negative", count)
    labels = kp.validate_labels(problems, "labels", params.get("labels"))
    kp.raise_if_problems(problems)
    shape = _shape(params) if count > 0 else None
    pool = client.get(NODEPOOL, pool_name)
    if pool is None:
        if count == 0:
            # nothing to scale down: a pool that is gone has no NodeClaims (state absent, run twice)
            return _capacity_result(False, [], [], 0, [], {}, start,
                                    ["NodePool %s does not exist: no NodeClaims to remove" % pool_name])
        if check_mode:
            # An earlier task of the same play (not run for real in check mode) may create the
            # pool: say what would be created instead of failing the whole dry run.
            would = ["%s-%s-<new %d>" % (pool_name, group, i + 1) for i in range(count)]
            out = _capacity_result(True, would, [], count, [], {}, start,
                                   ["NodePool %s does not exist (yet): %d NodeClaim(s) would be created once it "
                                    "does (not validated by the API server, GPU limit not checked)"
                                    % (pool_name, count)])
            if diff:
                out["diff"] = {"before": {"nodeclaims": []}, "after": {"nodeclaims": would}}
            return out
        raise GpuaasError("nodepool: NodePool %s does not exist" % pool_name)
    warnings = []
    template = None
    if shape is not None:
        template = kp.render_nodeclaim(pool, group, shape, labels=labels, protect=params.get("do_not_disrupt"))
        uid = pool["metadata"].get("uid")
        if uid:
            template["metadata"]["ownerReferences"] = [{
                "apiVersion": kp.API_VERSION, "kind": "NodePool", "name": pool_name, "uid": uid,
                "blockOwnerDeletion": True}]
    current, _all = _group_claims(client, pool_name, group)
    created, deleted, blocked = [], [], {}
    if len(current) < count and not params.get("force"):
        gpus = shape.get("gpus_per_node")
        has_gpu_limit = kp.GPU_RESOURCE in ((pool.get("spec") or {}).get("limits") or {})
        if not gpus and has_gpu_limit and shape["instance_types"]:
            # instance types without a catalog: learn their GPUs from live nodes of those types
            gpus = _gpus_of_instance_types(client, shape["instance_types"])
            if not gpus:
                warnings.append("NodePool %s has an nvidia.com/gpu limit, but the GPUs per node of %s are not "
                                "known (no catalog, no live node of that type): the limit was not checked before "
                                "creating NodeClaims; give gpu_count or instance_types_file"
                                % (pool_name, ", ".join(shape["instance_types"])))
        if gpus:
            pool_claims = client.list(NODECLAIM, label_selector="%s=%s" % (kp.NODEPOOL_LABEL, pool_name))
            pool_nodes = client.list(NODE, label_selector="%s=%s" % (kp.NODEPOOL_LABEL, pool_name))
            text = kp.gpu_limit_problem(pool, pool_claims, dict((n["metadata"]["name"], n) for n in pool_nodes),
                                        count - len(current), gpus)
            if text:
                raise SafetyError(text.split(": ", 1)[1], field="count", value=count,
                                  affected=["NodePool/%s" % pool_name])
    if len(current) < count:
        for _i in range(count - len(current)):
            obj = client.create(NODECLAIM, template, dry_run=check_mode)
            created.append(obj["metadata"].get("name") or obj["metadata"].get("generateName"))
    elif len(current) > count:
        nodes = [(c.get("status") or {}).get("nodeName") for c in current]
        pods = _pods_by_node(client, [n for n in nodes if n])
        victims, blocked = kp.plan_scale_down(current, pods, len(current) - count,
                                              preferred=params.get("remove"), force=params.get("force"))
        for victim in victims:
            client.delete(NODECLAIM, victim["metadata"]["name"], dry_run=check_mode)
            deleted.append(victim["metadata"]["name"])
    changed = bool(created or deleted)

    def snapshot():
        claims, everything = _group_claims(client, pool_name, group)
        node_map = {}
        for node in client.list(NODE, label_selector=_label_selector({kp.NODEPOOL_LABEL: pool_name})):
            node_map[node["metadata"]["name"]] = node
        return claims, everything, node_map

    want_gpus = bool(params.get("gpu_count") or params.get("gpu_product"))
    if params.get("wait") and not check_mode:
        timeout = params.get("wait_timeout") or 300

        def fetch():
            claims, everything, node_map = snapshot()
            return {"claims": claims, "deleting": [c for c in everything if c["metadata"].get("deletionTimestamp")
                                                   and c["metadata"]["name"] in deleted],
                    "nodes": node_map}

        def done(v):
            if len(v["claims"]) != count or v["deleting"]:
                return False
            return all(_claim_ready(c, v["nodes"].get((c.get("status") or {}).get("nodeName")), want_gpus)
                       for c in v["claims"])

        def describe(v):
            return {"nodeclaims": [kp.nodeclaim_summary(c, v["nodes"].get((c.get("status") or {}).get("nodeName")))
                                   for c in v["claims"]],
                    "still_deleting": [c["metadata"]["name"] for c in v["deleting"]]}

        wait_for(fetch, done, timeout, "%d NodeClaims of capacity group %s in NodePool %s to be Initialized "
                 "with their GPUs allocatable%s" % (count, group, pool_name,
                                                    " and %s to be gone" % ", ".join(deleted) if deleted else ""),
                 interval=2.0, describe=describe)
    claims, _everything, node_map = snapshot()
    summaries = [kp.nodeclaim_summary(c, node_map.get((c.get("status") or {}).get("nodeName"))) for c in claims]
    summaries.sort(key=lambda s: s["name"])
    out = _capacity_result(changed, created, deleted, count, summaries, blocked, start, warnings)
    if diff:
        out["diff"] = {"before": {"nodeclaims": sorted(c["metadata"]["name"] for c in current)},
                       "after": {"nodeclaims": sorted([c["metadata"]["name"] for c in current
                                                       if c["metadata"]["name"] not in deleted] + created)}}
    return out


# ---------------------------------------------------------------------------------------------
# Disruption control
# ---------------------------------------------------------------------------------------------

def run_disruption(client, params, check_mode=False, diff=False):
    start = time.time()
    action = params["action"]
    if action in ("pause", "resume"):
        problems = []
        name = params.get("nodepool")
        if not name:
            kp.problem(problems, "nodepool", "is required for action %s" % action, name)
        else:
            kp.validate_name(problems, "nodepool", name)
        budgets = [{"nodes": "0"}]
        if action == "pause" and params.get("budgets") is not None:
            budgets = kp.validate_budgets(problems, "budgets", params.get("budgets"))
            if not budgets:
                kp.problem(problems, "budgets", "needs at least one budget to pause with", params.get("budgets"))
        kp.raise_if_problems(problems)
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
                patch, info = kp.pause_budgets(live, budgets, reason=params.get("reason"))
            else:
                patch, info = kp.resume_budgets(live)
            after = live
            if patch is None:
                break
            # optimistic concurrency: the patch is computed from this resourceVersion; Karpenter's
            # own status writes move it too, so a conflict means: read again and recompute
            patch.setdefault("metadata", {})["resourceVersion"] = live["metadata"]["resourceVersion"]
            try:
                after = client.patch(NODEPOOL, name, patch, dry_run=check_mode)
                break
            except ApiError as exc:
                if exc.status != 409 or attempt >= 8:
                    raise
                time.sleep(0.2 * attempt)
        out = {"changed": patch is not None, "nodepool": name,
               "budgets": kp.live_budgets(after), "paused": kp.is_paused(after),
               "saved_budgets": info.get("saved_budgets") if action == "pause" else None,
               "restored_budgets": info.get("budgets") if action == "resume" and info.get("was_paused") else None,
               "timings": _timings(start)}
        if diff:
            out["diff"] = {"before": _disruption_view(live), "after": _disruption_view(after)}
        return out

    # mark / unmark nodes
    nodes = params.get("nodes") or []
    problems = []
    if not nodes:
        kp.problem(problems, "nodes", "is required for action %s" % action, nodes)
    for index, node in enumerate(nodes):
        kp.validate_name(problems, "nodes[%d]" % index, node)
    kp.raise_if_problems(problems)
    lives = []
    missing = []
    for node in nodes:
        obj = client.get(NODE, node)
        if obj is None:
            missing.append(node)
        lives.append(obj)
    if missing:
        raise GpuaasError("nodes: not found: %s" % ", ".join(missing), missing=missing)
    changed_nodes = []
    before_view, after_view = {}, {}
    for node, live in zip(nodes, lives):
        current = ((live.get("metadata") or {}).get("annotations") or {}).get(kp.DO_NOT_DISRUPT)
        want = "true" if action == "mark" else None
        before_view[node] = current
        after_view[node] = want
        if current == want:
            continue
        client.patch(NODE, node, {"metadata": {"annotations": {kp.DO_NOT_DISRUPT: want}}}, dry_run=check_mode)
        changed_nodes.append(node)
    out = {"changed": bool(changed_nodes), "nodes": nodes, "changed_nodes": changed_nodes,
           "timings": _timings(start)}
    if diff:
        out["diff"] = {"before": {"do_not_disrupt": before_view}, "after": {"do_not_disrupt": after_view}}
    return out


def _disruption_view(pool):
    annotations = (pool.get("metadata") or {}).get("annotations") or {}
    return {"budgets": kp.live_budgets(pool),
            "annotations": dict((k, v) for k, v in annotations.items()
                                if k in (kp.SAVED_BUDGETS_ANNOTATION, kp.PAUSED_AT_ANNOTATION,
                                         kp.PAUSE_REASON_ANNOTATION))}


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
    nodes = client.list(NODE, label_selector=kp.NODEPOOL_LABEL)
    node_map = dict((n["metadata"]["name"], n) for n in nodes)
    out_pools = [kp.pool_summary(p, nodes, claims) for p in pools]
    out_pools.sort(key=lambda p: p["name"])
    pool_names = set(p["name"] for p in out_pools)
    out_claims = []
    if params.get("include_nodeclaims", True):
        for c in claims:
            pool = ((c.get("metadata") or {}).get("labels") or {}).get(kp.NODEPOOL_LABEL)
            if names and pool not in pool_names:
                continue
            summary = kp.nodeclaim_summary(c, node_map.get((c.get("status") or {}).get("nodeName")))
            summary["capacity_group"] = ((c.get("metadata") or {}).get("labels") or {}).get(kp.CAPACITY_GROUP_LABEL)
            out_claims.append(summary)
        out_claims.sort(key=lambda s: (s["nodepool"] or "", s["name"]))
    return {"changed": False, "nodepools": out_pools, "nodeclaims": out_claims, "timings": _timings(start)}
