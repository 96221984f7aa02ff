# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Maintenance windows at the API edge: the Lease (lock) and the ConfigMap (progress record).

``run_window(client, params, check_mode) -> result`` runs one action of the
maintenance_window module: ``begin``, ``checkpoint`` or ``end`` (decisions in ``window.py``).

Every write carries the resourceVersion it read, so two runs racing for the same window cannot
both win: the loser gets a 409 and fails saying the lock changed under it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import report as core_report
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ApiError,
    ErrorCollector,
    GpuaasError,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.validate import check_name
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.budgets import is_paused
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes import window as W
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.drain import selector_matches
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.node_ops import select_nodes

LEASE = KINDS["Lease"]
CONFIGMAP = KINDS["ConfigMap"]
NODEPOOL = KINDS["NodePool"]
CLUSTER_QUEUE = KINDS["ClusterQueue"]
RESOURCE_FLAVOR = KINDS["ResourceFlavor"]
RECORD_KEY = "record.json"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
W_BATCH_EVENTS = ("started", "drained", "node_done", "done", "failed")


def object_name(window):
    return "gpuaas-maintenance-%s" % window


def validate(params):
    errs = ErrorCollector()
    check_name(errs, "name", params.get("name"), kind="label")
    if params.get("name") and len(object_name(params["name"])) > 63:
        errs.add("name", params["name"], "must be at most %d characters" % (63 - len(object_name(""))))
    if not params.get("holder"):
        errs.add("holder", params.get("holder"), "must name who runs the window (an AWX job id, a user)")
    if int(params.get("lease_duration") or 0) < 10:
        errs.add("lease_duration", params.get("lease_duration"), "must be at least 10 seconds")
    if params["action"] == "begin":
        if bool(params.get("nodes")) == bool(params.get("label_selector")):
            errs.add("nodes", params.get("nodes"), "give either nodes or label_selector (exactly one)")
    if params["action"] == "checkpoint" and params.get("event") in W_BATCH_EVENTS and params.get("batch") is None:
        errs.add("batch", None, "is required with event=%s" % params.get("event"))
    errs.raise_if_any()
    W.check_batch_size(params.get("batch_size") or "1")
    return W.check_schedule(params.get("schedule"))


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class Store(object):
    def __init__(self, client, params, check_mode):
        self.client = client
        self.p = params
        self.check_mode = check_mode
        self.ns = params.get("namespace") or "kube-system"
        self.obj = object_name(params["name"])

    def labels(self):
        return {"app.kubernetes.io/managed-by": "gpuaas.orchestration", "gpuaas.io/maintenance-window": self.p["name"]}

    # ---- lock
    def read_lease(self):
        return self.client.get(LEASE, self.obj, self.ns)

    def hold(self, now, allow_create=True):
        """Take or renew the lock; return (lease, verdict, detail); refuse with a clear error."""
        lease = self.read_lease()
        verdict, detail = W.lock_decision(lease, self.p["holder"], now)
        if verdict == "refuse":
            raise GpuaasError(
                "maintenance window %s is locked by %s (acquired %s, renewed %s, expires %s): another run "
                "holds it; wait for it to end or for the lock to expire" % (
                    self.p["name"], detail["holder"], detail["acquired"], detail["renewed"], detail["expires"]),
                lock=dict(detail, lease="%s/%s" % (self.ns, self.obj)))
        if verdict == "create" and not allow_create:
            raise GpuaasError("maintenance window %s: the lock is gone (lease %s/%s); the run lost it" % (
                self.p["name"], self.ns, self.obj))
        if verdict == "take_over" and not allow_create:
            raise GpuaasError("maintenance window %s: the lock is held by %s now, not by %s; this run lost it "
                              "(lease_duration %ss too short for a step?)" % (
                                  self.p["name"], (lease.get("spec") or {}).get("holderIdentity"), self.p["holder"],
                                  self.p["lease_duration"]))
        spec = W.lease_spec(self.p["holder"], self.p["lease_duration"], now, lease, take_over=verdict == "take_over")
        if self.check_mode:
            return lease, verdict, detail
        try:
            if lease is None:
                lease = self.client.create(LEASE, {"apiVersion": LEASE.api_version, "kind": "Lease",
                                                   "metadata": {"name": self.obj, "namespace": self.ns,
                                                                "labels": self.labels()},
                                                   "spec": spec}, namespace=self.ns)
            else:
                lease = self.client.patch(LEASE, self.obj, {"metadata": {"resourceVersion": lease["metadata"]["resourceVersion"]},
                                                            "spec": spec}, namespace=self.ns)
        except ApiError as e:
            if e.status in (409,):
                raise GpuaasError("maintenance window %s: another run took or changed the lock at the same "
                                  "moment; try again" % self.p["name"])
            raise
        return lease, verdict, detail

    def release(self, lease):
        """Delete ``lease`` (as read) if this run holds it."""
        if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.p["holder"]:
            return False
        if not self.check_mode:
            try:
                self.client.request("DELETE", LEASE.path(self.ns, self.obj), body={
                    "apiVersion": "v1", "kind": "DeleteOptions",
                    "preconditions": {"resourceVersion": lease["metadata"]["resourceVersion"]}},
                    action="delete", obj=LEASE.ref(self.obj, self.ns))
            except ApiError as e:
                if e.status not in (404, 409):
                    raise
        return True

    # ---- record
    def read_record(self):
        cm = self.client.get(CONFIGMAP, self.obj, self.ns)
        if cm is None:
            return None, None
        raw = (cm.get("data") or {}).get(RECORD_KEY)
        try:
            return cm, json.loads(raw) if raw else None
        except ValueError:
            raise GpuaasError("maintenance window %s: ConfigMap %s/%s does not hold a JSON record in %s; remove it "
                              "to start afresh" % (self.p["name"], self.ns, self.obj, RECORD_KEY))

    def write_record(self, cm, record):
        if self.check_mode:
            return cm
        data = {RECORD_KEY: json.dumps(record, sort_keys=True, separators=(",", ":"))}
        if cm is None:
            return self.client.create(CONFIGMAP, {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": self.obj, "namespace": self.ns,
                                                               "labels": self.labels()},
                                                  "data": data}, namespace=self.ns)
        return self.client.patch(CONFIGMAP, self.obj, {"metadata": {"resourceVersion": cm["metadata"]["resourceVersion"]},
                                                       "data": data}, namespace=self.ns)


def _concerned_queues(client, nodes):
    """ClusterQueues with a flavor whose nodeLabels match a node of the window: {name: stop policy}."""
    try:
        flavors = client.list(RESOURCE_FLAVOR)
        queues = client.list(CLUSTER_QUEUE)
    except ApiError as e:
        if e.status == 404:
            return {}
        raise
    matching = set()
    for f in flavors:
        labels = (f.get("spec") or {}).get("nodeLabels") or {}
        if any(selector_matches({"matchLabels": labels}, (n.get("metadata") or {}).get("labels")) for n in nodes):
            matching.add(f["metadata"]["name"])
    out = {}
    for cq in queues:
        names = set(fl.get("name") for rg in (cq.get("spec") or {}).get("resourceGroups") or []
                    for fl in rg.get("flavors") or [])
        if names & matching:
            out[cq["metadata"]["name"]] = (cq.get("spec") or {}).get("stopPolicy") or "None"
    return out


def _nodepools(client, nodes):
    out = {}
    for pool in sorted(set(((n.get("metadata") or {}).get("labels") or {}).get(NODEPOOL_LABEL) for n in nodes) - {None}):
        obj = client.get(NODEPOOL, pool)
        if obj is not None:
            out[pool] = is_paused(obj)
    return out


def _view(record, schedule, extra=None):
    todo = W.todo_batches(record)
    out = dict(
        record=record, status=record["status"], batches=record["batches"], todo=todo,
        todo_nodes=[n for b in todo for n in b["nodes"]],
        done_nodes=W.done_nodes(record),
        unschedulable_before=sorted(n for n, v in (record.get("unschedulable_before") or {}).items() if v),
        nodepools_to_pause=sorted(k for k, v in record["nodepools"].items() if not v.get("paused_before")),
        nodepools_paused_by_window=sorted(k for k, v in record["nodepools"].items() if v.get("paused_by_window")),
        cluster_queues_to_hold=sorted(k for k, v in record["cluster_queues"].items()
                                      if v.get("stop_policy_before") in (None, "None")),
        cluster_queues_held_by_window=sorted(k for k, v in record["cluster_queues"].items() if v.get("held_by_window")),
        counts=W.counts(record), summary=W.summary_line(record),
        schedule=W.schedule_state(schedule),
    )
    out.update(extra or {})
    return out


def begin(client, params, check_mode, schedule):
    now = _now()
    state = W.schedule_state(schedule, now)
    if not state["open"]:
        raise GpuaasError("maintenance window %s not started: %s; next opening %s" % (
            params["name"], state["reason"], state["opens_at"]), schedule=state)
    nodes = select_nodes(client, label_selector=params.get("label_selector"), names=params.get("nodes"))
    if not nodes:
        raise GpuaasError("label_selector %r matches no node: nothing to maintain" % params.get("label_selector"))
    store = Store(client, params, check_mode)
    cm, record = store.read_record()
    if record is not None and record.get("status") == "succeeded" and not params.get("restart"):
        # a window is one maintenance event: running it again (an AWX retry) changes nothing
        return _view(record, schedule, dict(changed=False, resumed=False, completed=True, todo=[], todo_nodes=[],
                                            warnings=["maintenance window %s already succeeded (ended %s); "
                                                      "restart=true runs it again" % (params["name"], record.get("ended"))]))
    lease, verdict, detail = store.hold(now)
    warnings = []
    if verdict == "take_over":
        warnings.append("took over the expired lock of %s (expired %s)" % (detail.get("previous_holder"), detail.get("expired_at")))
    resumed = record is not None and record.get("status") in ("running", "failed", "stopped")
    if resumed:
        wanted = set(n["metadata"]["name"] for n in nodes)
        planned = set(n for b in record["batches"] for n in b["nodes"])
        if wanted != planned:
            warnings.append("resuming window %s with the batches it planned at its start (%d nodes); the nodes "
                            "chosen now differ: %s" % (params["name"], len(planned),
                                                       ", ".join(sorted(wanted ^ planned)[:20])))
        W.resume_record(record, params["holder"], now)
    else:
        batches = W.make_batches(nodes, params.get("batch_size") or "1", params.get("group_by"))
        queues = _concerned_queues(client, nodes) if params.get("hold_queues") else {}
        record = W.new_record(params["name"], params["holder"], batches, now,
                              dict((n["metadata"]["name"], bool((n.get("spec") or {}).get("unschedulable"))) for n in nodes),
                              _nodepools(client, nodes), queues,
                              settings=dict(batch_size=str(params.get("batch_size") or "1"), group_by=params.get("group_by"),
                                            schedule=schedule, hold_queues=bool(params.get("hold_queues"))))
    store.write_record(cm, record)
    return _view(record, schedule, dict(changed=True, resumed=resumed, completed=False, lock=dict(
        holder=params["holder"], verdict=verdict, lease="%s/%s" % (store.ns, store.obj),
        duration=params["lease_duration"]), warnings=warnings))


def checkpoint(client, params, check_mode, schedule):
    now = _now()
    store = Store(client, params, check_mode)
    store.hold(now, allow_create=False)
    cm, record = store.read_record()
    if record is None:
        raise GpuaasError("maintenance window %s has no progress record (ConfigMap %s/%s): run action=begin first" % (
            params["name"], store.ns, store.obj))
    event = params.get("event") or "renew"
    # the allowed time is the one the window began with (the role passes it once, to begin)
    schedule = schedule or (record.get("settings") or {}).get("schedule")
    state = W.schedule_state(schedule, now)
    extra = dict(window_open=state["open"])
    if event == "started" and not state["open"]:
        # Kured's rule: a batch that has not started when the window closes does not start
        W.record_event(record, "stopped", now, message=state["reason"])
        extra["stopped"] = True
    elif event != "renew":
        W.record_event(record, event, now, batch=params.get("batch"), data=params.get("data") or {},
                       message=params.get("reason"))
    store.write_record(cm, record)
    return _view(record, schedule, dict(changed=event != "renew", **extra))


def end(client, params, check_mode, schedule):
    now = _now()
    store = Store(client, params, check_mode)
    cm, record = store.read_record()
    if record is None:
        raise GpuaasError("maintenance window %s has no progress record (ConfigMap %s/%s): nothing to end" % (
            params["name"], store.ns, store.obj))
    lease = store.read_lease()
    holder = ((lease or {}).get("spec") or {}).get("holderIdentity")
    if holder not in (None, params["holder"]):
        raise GpuaasError("maintenance window %s is locked by %s, not by %s: not ending someone else's window" % (
            params["name"], holder, params["holder"]))
    if params.get("restored") is not None:
        W.record_event(record, "restored", now, data=params["restored"])
    outcome = params.get("outcome") or "succeeded"
    if outcome == "succeeded" and W.todo_batches(record):
        outcome = "stopped"  # the window closed before every batch ran: the next run resumes
    W.finish_record(record, outcome, now, params.get("reason"))
    store.write_record(cm, record)
    released = store.release(lease)
    report = None
    if params.get("report_path") and not check_mode:
        report = write_report(record, params["report_path"])
    return _view(record, schedule, dict(changed=True, released=released, outcome=outcome, report=report))


def write_report(record, path):
    """<path>.json and <path>.md (``path`` without extension, or ending in .json/.md)."""
    return core_report.write_report(record, path, W.render_report_markdown(record))


def run_window(client, params, check_mode=False):
    schedule = validate(params)
    action = params["action"]
    if action == "begin":
        return begin(client, params, check_mode, schedule)
    if action == "checkpoint":
        return checkpoint(client, params, check_mode, schedule)
    return end(client, params, check_mode, schedule)
