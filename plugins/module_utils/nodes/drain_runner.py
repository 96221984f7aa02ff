# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cordon, drain and uncordon at the API edge (the planning is in ``drain.py``).

Public API
----------
``DrainOptions(**module_params)``: the options of the node_drain module.
``DrainError(msg, **result)``: a failed drain; ``details`` is the full drain result (what was
evicted, blocked, skipped, the nodes' final schedulable state).
``run_drain(client, nodes, opts, check_mode=False) -> result dict``
    1. cordon every node (dry run in check mode)
    2. one LIST of pods per node (``spec.nodeName`` field selector + ``pod_selector``),
       classified by ``drain.plan_drain``; filter errors stop the drain before any eviction
    3. Kueue-aware mode: pods of admitted Workloads are handled by deactivating the Workload
       (Kueue suspends the Job and releases its quota) and reactivating it once its pods are gone
    4. evictions (or deletes) of the other pods through a thread pool of ``concurrency`` workers;
       each request carries the pod's UID as precondition; a 429 (PodDisruptionBudget) puts the
       pod back in the queue for ``eviction_retry_delay`` seconds, until ``eviction_timeout``;
       check mode sends every eviction once with ``dryRun=All``
    5. bounded wait until the evicted pods are gone: one LIST per node and poll, by UID
    6. on failure, ``on_failure=uncordon`` makes the nodes this collection cordoned schedulable
       again (cordoned by this run, or earlier by a collection task: annotation
       ``gpuaas.io/cordoned-by``); nodes a person or another controller cordoned stay cordoned.
       ``on_failure=quarantine`` leaves the nodes that could not be drained cordoned, labels them
       ``gpuaas.io/quarantined=true`` with the reason in an annotation, and drains the others: the
       run then succeeds and lists the quarantined nodes.

Kueue-aware mode takes only Workloads that are active in hand: a Workload someone deactivated
stays deactivated (its pods are evicted like any other). A Workload the drain deactivates is
labelled ``gpuaas.io/deactivated-by=node-drain`` with the nodes in an annotation, and both go when
it is reactivated; a later drain of those nodes (a rerun after an interrupted one) finds it by the
label and reactivates it once it is released.

``wait_for_completion`` (pods by selector, or those requesting ``nvidia.com/gpu``): those pods are
not evicted at first; the drain waits, bounded, until they finish, then evicts what is left (or
fails, ``on_timeout=fail``).
``run_cordon(client, nodes, unschedulable, check_mode=False) -> result dict``
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.drain import (
    DEACTIVATED_BY_LABEL,
    DEACTIVATED_FOR_ANNOTATION,
    budgets_for_pod,
    controller_of,
    meta,
    parse_eviction_error,
    plan_drain,
    pod_key,
    pod_ref,
    workload_admitted,
    workload_for_pod,
    workload_index,
    workload_ref,
    workload_released,
    is_finished,
    requests_gpus,
    workload_active,
    deactivated_by_drain,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ApiError, GpuaasError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.node_ops import (
    QUARANTINE_LABEL,
    QUARANTINE_REASON_ANNOTATION,
    cordoned_by_collection,
    set_unschedulable,
    widen_connection_pool,
)

NODE = KINDS["Node"]
POD = KINDS["Pod"]
PDB = KINDS["PodDisruptionBudget"]
JOB = KINDS["Job"]
DAEMONSET = KINDS["DaemonSet"]
WORKLOAD = KINDS["Workload"]


class DrainError(GpuaasError):
    """The drain failed; ``details`` carry the whole result."""


class DrainOptions(object):
    def __init__(self, **params):
        g = params.get
        self.pod_selector = g("pod_selector")
        self.force = bool(g("force"))
        self.ignore_daemonsets = g("ignore_daemonsets") is not False
        self.delete_emptydir_data = bool(g("delete_emptydir_data"))
        self.disable_eviction = bool(g("disable_eviction"))
        self.grace_period = g("grace_period")
        self.concurrency = max(1, int(g("concurrency") or 10))
        self.eviction_timeout = float(g("eviction_timeout") if g("eviction_timeout") is not None else 120)
        self.eviction_retry_delay = float(g("eviction_retry_delay") if g("eviction_retry_delay") is not None else 2)
        self.wait = g("wait") is not False
        self.wait_timeout = float(g("wait_timeout") if g("wait_timeout") is not None else 300)
        self.poll_interval = float(g("poll_interval") or 0.5)
        self.on_failure = g("on_failure") or "keep_cordoned"
        self.kueue_aware = bool(g("kueue_aware"))
        # evictions in flight per PodDisruptionBudget: None = the budget's disruptionsAllowed
        # when the drain starts (at least 1); 0 = no limit besides concurrency; N = at most N
        self.per_budget = g("per_budget")
        completion = g("wait_for_completion") or {}
        self.completion_selector = completion.get("pod_selector")
        self.completion_gpu_pods = bool(completion.get("gpu_pods"))
        self.completion_timeout = float(completion.get("timeout") if completion.get("timeout") is not None else 3600)
        self.completion_on_timeout = completion.get("on_timeout") or "evict"

    @property
    def wait_for_completion(self):
        return bool(self.completion_selector or self.completion_gpu_pods)

    def filter_options(self):
        return dict(force=self.force, ignore_daemonsets=self.ignore_daemonsets,
                    delete_emptydir_data=self.delete_emptydir_data)


def _node_name(node):
    return node["metadata"]["name"]


def run_cordon(client, nodes, unschedulable, check_mode=False):
    started = time.monotonic()
    states = []
    for node in nodes:
        before = bool((node.get("spec") or {}).get("unschedulable"))
        changed, after_obj = set_unschedulable(client, node, unschedulable, check_mode)
        states.append(dict(name=_node_name(node), unschedulable_before=before,
                           unschedulable=bool((after_obj.get("spec") or {}).get("unschedulable")),
                           changed=changed))
    return dict(changed=any(s["changed"] for s in states), nodes=states,
                unschedulable=dict((s["name"], s["unschedulable"]) for s in states),
                duration=round(time.monotonic() - started, 3))


class _Evictor(object):
    """Sends evictions (or deletes) through a bounded thread pool and retries 429s."""

    def __init__(self, client, opts, check_mode, pdbs_by_ns):
        self.client = client
        self.opts = opts
        self.check_mode = check_mode
        self.pdbs_by_ns = pdbs_by_ns
        self.lock = threading.Lock()
        self.attempts = 0

    def _delete_options(self, pod):
        body = {"apiVersion": "v1", "kind": "DeleteOptions",
                "preconditions": {"uid": meta(pod).get("uid")}}
        if self.opts.grace_period is not None:
            body["gracePeriodSeconds"] = self.opts.grace_period
        if self.check_mode:
            body["dryRun"] = ["All"]
        return body

    def attempt(self, pod):
        """One request for one pod -> (outcome, message, budgets)."""
        m = meta(pod)
        ns, name = m.get("namespace"), m.get("name")
        query = {"dryRun": "All"} if self.check_mode else None
        with self.lock:
            self.attempts += 1
        try:
            if self.opts.disable_eviction:
                self.client.request("DELETE", POD.path(ns, name), query=query, body=self._delete_options(pod),
                                    action="delete pod", obj="Pod/%s/%s" % (ns, name))
            else:
                body = {"apiVersion": "policy/v1", "kind": "Eviction",
                        "metadata": {"name": name, "namespace": ns},
                        "deleteOptions": self._delete_options(pod)}
                self.client.request("POST", POD.path(ns, name, "eviction"), query=query, body=body,
                                    action="evict pod", obj="Pod/%s/%s" % (ns, name))
            return "done", None, []
        except ApiError as e:
            msg, budgets = parse_eviction_error(e.body if e.body is not None else (e.api_message or ""))
            msg = msg or str(e)
            if e.status == 404:
                return "gone", None, []
            if e.status == 409 and "uid in precondition" in msg.lower():
                return "gone", None, []  # UID precondition failed: the pod we planned for is gone
            if e.status == 409 or (e.status == 504 and "PodDisruptionBudget" in msg):
                # the budget's status changed under the API server's own retries: try again
                return "blocked", msg, budgets_for_pod(pod, self.pdbs_by_ns.get(ns))
            if e.status == 429:
                return "blocked", msg, budgets or budgets_for_pod(pod, self.pdbs_by_ns.get(ns))
            if e.status == 403 and "terminat" in msg.lower():
                return "blocked", msg, []  # namespace terminating: kubectl retries this too
            if e.status == 500 and "more than one PodDisruptionBudget" in msg:
                return "error", msg, budgets_for_pod(pod, self.pdbs_by_ns.get(ns))
            return "error", "%s %s: %s" % (e.status, e.reason or "", msg), []
        except Exception as e:  # pylint: disable=broad-except
            return "error", "%s: %s" % (type(e).__name__, e), []

    def _budget_limit(self, namespace, name):
        per_budget = self.opts.per_budget
        if per_budget is not None:
            return int(per_budget) if int(per_budget) > 0 else self.opts.concurrency
        for pdb in self.pdbs_by_ns.get(namespace) or []:
            if meta(pdb).get("name") == name:
                allowed = int((pdb.get("status") or {}).get("disruptionsAllowed") or 0)
                return max(1, min(self.opts.concurrency, (allowed + 2) // 3))
        return 1

    def run(self, pods):
        """Evict ``pods``; return (done, blocked, errors) where blocked/errors carry reasons.

        At most ``concurrency`` requests are in flight, and per PodDisruptionBudget at most a
        third of the disruptions the budget allowed when the drain started (at least one): every
        eviction updates the budget's status and the API server retries conflicting updates
        after 500ms, so many evictions under one budget at once mostly earn conflicts and 429s
        (measured: bench/README.md). Pods of different budgets, or of none, go in parallel.
        ``per_budget`` (an int) overrides the limit; 0 means no limit besides ``concurrency``."""
        opts = self.opts
        done, blocked, errors = [], [], []
        if not pods:
            return done, blocked, errors
        widen_connection_pool(self.client, opts.concurrency + 2)
        deadline = time.monotonic() + max(0.0, opts.eviction_timeout)
        seq = itertools.count()
        budget_of = {}
        limit_of = {}
        for p in pods:
            ns = meta(p).get("namespace")
            names = budgets_for_pod(p, self.pdbs_by_ns.get(ns))
            key = ("%s/%s" % (ns, names[0])) if names else None
            budget_of[meta(p).get("uid")] = key
            if key is not None and key not in limit_of:
                limit_of[key] = self._budget_limit(ns, names[0])
        queue = [(0.0, next(seq), p) for p in pods]  # (ready at, order, pod)
        in_flight = {}
        busy = {}
        # A 429 says the budget has no disruption left: every pod under it waits out the retry
        # delay, instead of each one earning its own 429 (measured: bench/README.md, window).
        held_until = {}

        def ready_at(item):
            budget = budget_of.get(meta(item[2]).get("uid"))
            return max(item[0], held_until.get(budget, 0.0)) if budget is not None else item[0]

        with ThreadPoolExecutor(max_workers=min(opts.concurrency, len(pods))) as pool:
            while queue or in_flight:
                now = time.monotonic()
                if len(in_flight) < opts.concurrency:
                    queue.sort(key=lambda x: (x[0], x[1]))
                    keep = []
                    for item in queue:
                        budget = budget_of.get(meta(item[2]).get("uid"))
                        if (ready_at(item) <= now and len(in_flight) < opts.concurrency
                                and (budget is None or busy.get(budget, 0) < limit_of[budget])):
                            in_flight[pool.submit(self.attempt, item[2])] = item[2]
                            if budget is not None:
                                busy[budget] = busy.get(budget, 0) + 1
                        else:
                            keep.append(item)
                    queue = keep
                if not in_flight:
                    time.sleep(max(0.01, min(min(ready_at(x) for x in queue) - now, 1.0)))
                    continue
                timeout = None
                later = [ready_at(x) for x in queue if ready_at(x) > now]
                if later and len(in_flight) < opts.concurrency:
                    timeout = max(0.0, min(later) - now)
                finished = futures_wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)[0]
                for fut in finished:
                    pod = in_flight.pop(fut)
                    budget = budget_of.get(meta(pod).get("uid"))
                    if budget is not None:
                        busy[budget] -= 1
                    outcome, msg, budgets = fut.result()
                    ref = pod_ref(pod)
                    if outcome in ("done", "gone"):
                        done.append((pod, outcome))
                    elif outcome == "blocked":
                        now = time.monotonic()
                        if self.check_mode or now >= deadline:
                            blocked.append(dict(ref, reason=msg, budgets=budgets))
                        else:
                            retry_at = min(now + opts.eviction_retry_delay, deadline)
                            if budget is not None:
                                held_until[budget] = max(held_until.get(budget, 0.0), retry_at)
                            queue.append((retry_at, next(seq), pod))
                    else:
                        errors.append(dict(ref, reason=msg, budgets=budgets))
        return done, blocked, errors


class Drainer(object):
    def __init__(self, client, opts, check_mode=False):
        self.client = client
        self.opts = opts
        self.check_mode = check_mode
        self.started = time.monotonic()
        self.result = dict(
            changed=False, check_mode=check_mode, nodes=[], evicted=[], deleted=[], skipped_pods=[],
            warnings_pods=[], blocked=[], errors=[], waiting_for=[], requeued_workloads=[],
            unschedulable={}, failed_nodes_state=None, quarantined=[], left_deactivated=[],
            completion_waited=[],
        )
        self.cordoned_by_us = []
        self.node_states = {}

    # ---- helpers --------------------------------------------------------------------
    def _list_pods(self, node_name):
        return self.client.list(POD, field_selector="spec.nodeName=%s" % node_name,
                                label_selector=self.opts.pod_selector)

    def _daemonset_exists_fn(self):
        cache = {}

        def exists(ns, name):
            if (ns, name) not in cache:
                cache[(ns, name)] = self.client.get(DAEMONSET, name, ns) is not None
            return cache[(ns, name)]
        return exists

    def _reactivate_after_failure(self):
        """A failed drain must not leave a GPU job switched off: every Workload this run
        deactivated and did not reactivate yet is set active again (Kueue admits it where it can;
        if it was never evicted it simply keeps running). Best effort, reported per workload."""
        for entry in self.result["requeued_workloads"]:
            if entry.get("reactivated"):
                continue
            try:
                self._reactivate(entry["namespace"], entry["name"])
                entry["reactivated"] = True
                entry["reactivated_after_failure"] = True
            except Exception as exc:  # pylint: disable=broad-except
                entry["reactivate_error"] = str(exc)

    def _ours_to_uncordon(self):
        """The nodes this run cordoned, and those an earlier task of the collection cordoned
        (a maintenance window cordons a whole batch before draining it)."""
        return [n for n, st in sorted(self.node_states.items()) if st.get("cordoned") or st.get("cordoned_by_collection")]

    def quarantine(self, reasons):
        """Leave each failed node cordoned, labelled and with the reason (``{node: reason}``)."""
        for name, reason in sorted(reasons.items()):
            st = self.node_states.setdefault(name, dict(name=name))
            body = {"metadata": {"labels": {QUARANTINE_LABEL: "true"},
                                 "annotations": {QUARANTINE_REASON_ANNOTATION: reason[:1000]}},
                    "spec": {"unschedulable": True}}
            try:
                self.client.patch(NODE, name, body, dry_run=self.check_mode)
                st["quarantined"] = True
            except Exception as exc:  # pylint: disable=broad-except
                st["quarantine_error"] = str(exc)
            st["quarantine_reason"] = reason
            self.result["quarantined"].append(dict(name=name, reason=reason))
            self.result["changed"] = self.result["changed"] or not self.check_mode

    def _reactivate(self, namespace, name):
        self.client.patch(WORKLOAD, name, {
            "metadata": {"labels": {DEACTIVATED_BY_LABEL: None}, "annotations": {DEACTIVATED_FOR_ANNOTATION: None}},
            "spec": {"active": True}}, namespace=namespace)

    def _finish(self, failed_msg=None):
        res = self.result
        if failed_msg and not self.check_mode:
            self._reactivate_after_failure()
        if failed_msg and not self.check_mode and self.opts.on_failure == "uncordon":
            for name in self._ours_to_uncordon():
                try:
                    node = self.client.get(NODE, name)
                    if node is not None:
                        set_unschedulable(self.client, node, False)
                    self.node_states[name]["uncordoned_after_failure"] = True
                except Exception as exc:  # pylint: disable=broad-except
                    self.node_states[name]["uncordon_error"] = str(exc)
        for name, st in self.node_states.items():
            if self.check_mode:
                st["unschedulable"] = True  # what the run would leave (cordon is dry-run)
            else:
                try:
                    node = self.client.get(NODE, name)
                    st["unschedulable"] = bool(node and (node.get("spec") or {}).get("unschedulable"))
                except Exception:  # pylint: disable=broad-except
                    st["unschedulable"] = None  # unknown: the API did not answer
            res["unschedulable"][name] = st["unschedulable"]
        res["nodes"] = [self.node_states[n] for n in sorted(self.node_states)]
        res["duration"] = round(time.monotonic() - self.started, 3)
        res["api_calls"] = getattr(self.client, "calls", None)
        if failed_msg:
            if not self.check_mode:
                states = set(st["unschedulable"] for st in self.node_states.values())
                if states == set([False]):
                    res["failed_nodes_state"] = "uncordoned" if self.cordoned_by_us else "schedulable"
                elif states == set([True]):
                    res["failed_nodes_state"] = "cordoned"
                else:
                    res["failed_nodes_state"] = "mixed (see unschedulable)"
            raise DrainError(failed_msg, **res)
        res.pop("failed_nodes_state", None)
        return res

    # ---- phases -----------------------------------------------------------------------
    def cordon(self, nodes):
        for node in nodes:
            name = _node_name(node)
            before = bool((node.get("spec") or {}).get("unschedulable"))
            changed = set_unschedulable(self.client, node, True, self.check_mode)[0]
            if changed:
                self.cordoned_by_us.append(name)
                self.result["changed"] = True
            self.node_states[name] = dict(name=name, unschedulable_before=before,
                                          cordoned=changed, uncordoned_after_failure=False,
                                          cordoned_by_collection=cordoned_by_collection(node))

    def plan(self, nodes):
        evict, wait = [], []
        ds_exists = self._daemonset_exists_fn()
        for node in nodes:
            name = _node_name(node)
            pods = self._list_pods(name)
            plan = plan_drain(pods, self.opts.filter_options(), ds_exists, node=name)
            evict.extend(plan.evict)
            wait.extend(plan.wait)
            self.result["skipped_pods"].extend(plan.skipped)
            self.result["errors"].extend(plan.errors)
            self.result["warnings_pods"].extend(plan.warnings)
        return evict, wait

    def kueue_split(self, pods):
        """Split pods into (pods to evict, {workload uid: (workload, [pods])})."""
        if not self.opts.kueue_aware or not pods:
            return pods, {}
        namespaces = sorted(set(meta(p).get("namespace") for p in pods))
        workloads = []
        for ns in namespaces:
            try:
                workloads.extend(self.client.list(WORKLOAD, namespace=ns))
            except ApiError as e:
                if e.status == 404:  # Kueue not installed
                    return pods, {}
                raise
        idx = workload_index(workloads)
        parents = {}
        for p in pods:  # Jobs owned by something else (JobSet, ...): read the Job once
            ref = controller_of(p)
            if ref and ref.get("kind") == "Job" and ref.get("uid") not in idx and ref.get("uid") not in parents:
                job = self.client.get(JOB, ref.get("name"), meta(p).get("namespace"))
                parents[ref.get("uid")] = controller_of(job) if job else None
        rest, groups = [], {}
        left = {}
        for p in pods:
            wl = workload_for_pod(p, idx, parents)
            if wl is not None and not workload_active(wl) and not deactivated_by_drain(wl):
                # someone else switched it off: not ours to requeue, and never to switch on again
                left.setdefault(meta(wl)["uid"], workload_ref(wl))
                rest.append(p)
            elif wl is not None and (workload_admitted(wl) or deactivated_by_drain(wl)):
                groups.setdefault(meta(wl)["uid"], (wl, []))[1].append(p)
            else:
                rest.append(p)
        self.result["left_deactivated"] = sorted(left.values(), key=lambda r: (r["namespace"], r["name"]))
        return rest, groups

    def leftover_workloads(self, node_names, groups):
        """Workloads an earlier, interrupted drain of these nodes deactivated and never
        reactivated (found by the drain's label): they are reactivated once released."""
        if not self.opts.kueue_aware:
            return {}
        try:
            marked = self.client.list(WORKLOAD, label_selector="%s=node-drain" % DEACTIVATED_BY_LABEL)
        except ApiError as e:
            if e.status == 404:
                return {}
            raise
        out = {}
        for wl in marked:
            nodes = set(x for x in (meta(wl).get("annotations") or {}).get(DEACTIVATED_FOR_ANNOTATION, "").split(",") if x)
            if meta(wl)["uid"] not in groups and nodes & set(node_names) and not workload_active(wl):
                out[meta(wl)["uid"]] = (wl, [])
        return out

    def deactivate(self, groups):
        ordered = sorted(groups.values(), key=lambda g: (meta(g[0]).get("namespace"), meta(g[0]).get("name")))
        for wl, pods in ordered:
            m = meta(wl)
            nodes = sorted(set(p["spec"].get("nodeName") for p in pods if p["spec"].get("nodeName")))
            entry = workload_ref(wl)
            if workload_active(wl):
                # the label and the node list say "the drain did this" in the cluster itself, so a
                # rerun after an interruption finds and reactivates it (and nothing else)
                self.client.patch(WORKLOAD, m["name"], {
                    "metadata": {"labels": {DEACTIVATED_BY_LABEL: "node-drain"},
                                 "annotations": {DEACTIVATED_FOR_ANNOTATION: ",".join(nodes)}},
                    "spec": {"active": False}}, namespace=m["namespace"], dry_run=self.check_mode)
            else:
                entry["deactivated_earlier"] = True  # an interrupted drain of ours: only reactivate
            entry["pods"] = [pod_ref(p) for p in pods]
            entry["reactivated"] = False
            self.result["requeued_workloads"].append(entry)
            if not self.check_mode:
                self.result["changed"] = True

    def wait_released_and_reactivate(self, groups, deadline):
        """Wait until each deactivated Workload gave its quota back and its pods left, then
        set spec.active=true again so Kueue admits it where capacity exists."""
        pending = dict(groups)
        entries = dict((e["uid"], e) for e in self.result["requeued_workloads"])
        last = {}
        while pending:
            nodes = set()
            for wl, pods in pending.values():
                nodes.update(p["spec"].get("nodeName") for p in pods)
            live_uids = set()
            for n in nodes:
                live_uids.update(meta(p).get("uid") for p in self._list_pods_all(n))
            for uid in list(pending):
                wl, pods = pending[uid]
                m = meta(wl)
                live = self.client.get(WORKLOAD, m["name"], m["namespace"])
                last[uid] = live
                gone = not any(meta(p).get("uid") in live_uids for p in pods)
                if live is None or (gone and workload_released(live)):
                    if live is not None:
                        self._reactivate(m["namespace"], m["name"])
                        entries[uid]["reactivated"] = True
                    del pending[uid]
            if not pending:
                break
            if time.monotonic() >= deadline:
                names = ", ".join("%s/%s" % (meta(w).get("namespace"), meta(w).get("name")) for w, dummy in pending.values())
                return "timed out after %ss waiting for Kueue to suspend and release workload(s) %s" % (
                    int(self.opts.wait_timeout), names)
            time.sleep(self.opts.poll_interval)
        return None

    def _list_pods_all(self, node_name):
        # without pod_selector: the pods of a workload are matched by UID
        return self.client.list(POD, field_selector="spec.nodeName=%s" % node_name)

    def wait_gone(self, pods, deadline):
        """Wait until none of ``pods`` (by UID) is on its node any more; return those left."""
        remaining = dict((meta(p).get("uid"), p) for p in pods)
        while remaining:
            nodes = set((p.get("spec") or {}).get("nodeName") for p in remaining.values())
            live = set()
            for n in nodes:
                live.update(meta(p).get("uid") for p in self._list_pods_all(n))
            for uid in list(remaining):
                if uid not in live:
                    del remaining[uid]
            if not remaining or time.monotonic() >= deadline:
                break
            time.sleep(self.opts.poll_interval)
        return list(remaining.values())

    # ---- main -------------------------------------------------------------------------
    def run(self, nodes):
        """Drain ``nodes``; on any failure, including an API error half-way, the nodes are left
        as ``on_failure`` says and deactivated workloads are reactivated before DrainError."""
        try:
            return self._run(nodes)
        except DrainError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            return self._finish("drain interrupted: %s: %s" % (type(exc).__name__, exc))

    def _run(self, nodes):
        opts = self.opts
        res = self.result
        timings = res.setdefault("timings", {})
        mark = [time.monotonic()]
        quarantine = opts.on_failure == "quarantine"
        failed_nodes = {}  # node -> reason, for quarantine

        def lap(name):
            now = time.monotonic()
            timings[name] = round(now - mark[0], 3)
            mark[0] = now
        self.cordon(nodes)
        lap("cordon")
        evict, wait = self.plan(nodes)
        lap("plan")
        if res["errors"]:
            if quarantine:
                # a node with a pod that must not be evicted is set aside; the others go on
                for e in res["errors"]:
                    failed_nodes.setdefault(e.get("node"), "cannot evict %s/%s: %s" % (e["namespace"], e["name"], e["reason"]))
                evict = [p for p in evict if p["spec"].get("nodeName") not in failed_nodes]
                wait = [p for p in wait if p["spec"].get("nodeName") not in failed_nodes]
                res["errors"] = []
            else:
                by_reason = {}
                for e in res["errors"]:
                    by_reason.setdefault(e["reason"], []).append("%s/%s" % (e["namespace"], e["name"]))
                msg = "drain stopped before any eviction: " + "; ".join(
                    "cannot evict %s: %s" % (r, ", ".join(p)) for r, p in sorted(by_reason.items()))
                res["would_evict" if self.check_mode else "not_evicted"] = [pod_ref(p) for p in evict]
                return self._finish(msg)
        if opts.wait_for_completion:
            evict, failure = self.wait_for_completion(nodes, evict)
            lap("completion")
            if failure:
                if not quarantine:
                    return self._finish(failure)
                for ref in res["completion_waited"]:
                    if not ref.get("finished"):
                        failed_nodes.setdefault(ref.get("node"), failure)
                evict = [p for p in evict if p["spec"].get("nodeName") not in failed_nodes]
        evict, groups = self.kueue_split(evict)
        groups.update(self.leftover_workloads([_node_name(n) for n in nodes if _node_name(n) not in failed_nodes], groups))
        namespaces = sorted(set(meta(p).get("namespace") for p in evict))
        pdbs_by_ns = dict((ns, self.client.list(PDB, namespace=ns)) for ns in namespaces)
        if groups:
            self.deactivate(groups)
        evictor = _Evictor(self.client, opts, self.check_mode, pdbs_by_ns)
        lap("kueue_and_budgets")
        done, blocked, errors = evictor.run(evict)
        lap("evict")
        res["eviction_requests"] = evictor.attempts
        key = "deleted" if opts.disable_eviction else "evicted"
        res[key] = sorted([pod_ref(p) for p, outcome in done], key=lambda r: (r["namespace"], r["name"]))
        res["already_gone"] = [pod_ref(p) for p, outcome in done if outcome == "gone"]
        res["blocked"] = sorted(blocked, key=lambda r: (r["namespace"], r["name"]))
        res["errors"] = errors
        if done and not self.check_mode:
            res["changed"] = True
        if self.check_mode:
            res["would_evict" if not opts.disable_eviction else "would_delete"] = res.pop(key)
            res[key] = []
            res["waiting_for"] = [pod_ref(p) for p in wait]
            if blocked:
                res["check_mode_note"] = ("dry-run evictions were refused for %d pod(s); a real drain "
                                          "retries them for up to %ss" % (len(blocked), int(opts.eviction_timeout)))
            if quarantine:
                for e in errors:
                    failed_nodes.setdefault(e.get("node"), e["reason"])
                self._would_quarantine(failed_nodes)
                return self._finish(None)
            return self._finish(None if not errors else self._failure_message(blocked, errors))
        deadline = time.monotonic() + opts.wait_timeout
        failure = None
        left = []
        if opts.wait or groups:
            left = self.wait_gone([p for p, dummy in done] + wait, deadline) if opts.wait else []
            res["waiting_for"] = [pod_ref(p) for p in left]
            if groups:
                failure = self.wait_released_and_reactivate(groups, deadline)
            lap("wait")
            if left:
                gone_msg = ("timed out after %ss waiting for %d evicted pod(s) to be gone: %s" % (
                    int(opts.wait_timeout), len(left), ", ".join(pod_key(p) for p in left[:20])))
                failure = gone_msg + ("; " + failure if failure else "")
        if blocked or errors:
            failure = self._failure_message(blocked, errors) + ("; " + failure if failure else "")
        if quarantine and (failure or failed_nodes):
            for ref in list(blocked) + list(errors):
                failed_nodes.setdefault(ref.get("node"), self._failure_message(
                    [r for r in blocked if r.get("node") == ref.get("node")],
                    [r for r in errors if r.get("node") == ref.get("node")]))
            for p in left:
                failed_nodes.setdefault(p["spec"].get("nodeName"), "evicted pods not gone after %ss" % int(opts.wait_timeout))
            failed_nodes.pop(None, None)
            unexplained = failure and not failed_nodes
            self.quarantine(failed_nodes)
            if unexplained:  # e.g. a workload not released in time: no node to blame
                return self._finish(failure)
            res["quarantine_note"] = failure
            return self._finish(None)
        return self._finish(failure)

    def _would_quarantine(self, failed_nodes):
        failed_nodes.pop(None, None)
        for name, reason in sorted(failed_nodes.items()):
            self.result["quarantined"].append(dict(name=name, reason=reason, would=True))

    def wait_for_completion(self, nodes, evict):
        """Give the pods the user wants finished (selector or GPU request) until they finish or
        ``completion_timeout``; return (pods still to evict, failure message or None)."""
        opts = self.opts
        uids = set()
        if opts.completion_selector:
            for node in nodes:
                for p in self.client.list(POD, field_selector="spec.nodeName=%s" % _node_name(node),
                                          label_selector=opts.completion_selector):
                    uids.add(meta(p).get("uid"))
        targets = [p for p in evict if not is_finished(p) and (
            meta(p).get("uid") in uids or (opts.completion_gpu_pods and requests_gpus(p)))]
        self.result["completion_waited"] = [dict(pod_ref(p), finished=False) for p in targets]
        if not targets:
            return evict, None
        if self.check_mode:
            return evict, None
        started = time.monotonic()
        deadline = started + max(0.0, opts.completion_timeout)
        remaining = dict((meta(p).get("uid"), p) for p in targets)
        finished = set()
        while remaining:
            for node_name in sorted(set(p["spec"].get("nodeName") for p in remaining.values())):
                live = dict((meta(p).get("uid"), p) for p in self._list_pods_all(node_name))
                for uid in [u for u, p in remaining.items() if p["spec"].get("nodeName") == node_name]:
                    pod = live.get(uid)
                    if pod is None or is_finished(pod):
                        finished.add(uid)
                        del remaining[uid]
            if not remaining or time.monotonic() >= deadline:
                break
            time.sleep(max(self.opts.poll_interval, 1.0))
        for ref in self.result["completion_waited"]:
            ref["finished"] = ref["uid"] in finished
        self.result["timings"]["completion_wait"] = round(time.monotonic() - started, 3)
        evict = [p for p in evict if meta(p).get("uid") not in finished]
        if remaining and opts.completion_on_timeout == "fail":
            return evict, "timed out after %ss waiting for %d pod(s) to complete: %s" % (
                int(opts.completion_timeout), len(remaining),
                ", ".join(pod_key(p) for p in list(remaining.values())[:20]))
        return evict, None

    def _failure_message(self, blocked, errors):
        parts = []
        blocked = sorted(blocked, key=lambda r: (r["namespace"], r["name"]))
        if blocked:
            budgets = sorted(set(b for x in blocked for b in (x.get("budgets") or [])))
            parts.append("%d pod(s) still blocked after retrying for %ss: %s%s" % (
                len(blocked), int(self.opts.eviction_timeout),
                ", ".join("%s/%s" % (b["namespace"], b["name"]) for b in blocked[:20]),
                (" (by PodDisruptionBudget %s)" % ", ".join(budgets)) if budgets else ""))
        if errors:
            parts.append("%d eviction(s) failed: %s" % (len(errors), "; ".join(
                "%s/%s: %s" % (e["namespace"], e["name"], e["reason"]) for e in errors[:10])))
        return "; ".join(parts)


def run_drain(client, nodes, opts, check_mode=False):
    return Drainer(client, opts, check_mode).run(nodes)
