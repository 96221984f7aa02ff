# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Maintenance windows: the allowed time, the batches, the lock and the progress record (pure).

The window's state lives in the cluster, so that a second run (another AWX job, a rerun after a
failure) sees it: a coordination.k8s.io Lease is the lock (holder, renew time, duration), and a
ConfigMap holds the progress record (JSON): the batches, what each node went through, what was
paused and must be restored. The API calls are in ``window_store.py``; this file decides.

Public API
----------
``check_schedule(schedule) -> normalized dict``  (ValidationError naming the field and value)
``schedule_state(schedule, now) -> {open, opens_at, closes_at, reason}``
``batch_size_of(size, total) -> int``             a count (``"2"``) or a percentage (``"25%"``)
``make_batches(nodes, size, group_by=None) -> [[names]]``  never mixes groups (pools, zones)
``lock_decision(lease, holder, now) -> (verdict, detail)``  verdict: create | renew | take_over | refuse
``new_record(...)``, ``todo_batches(record)``, ``record_event(record, ...)``
``render_report_markdown(record) -> str``, ``summary_line(record) -> str``
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import math
import re

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TIME_RE = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_SIZE_RE = re.compile(r"^([1-9][0-9]*)(%?)$")
RECORD_VERSION = 1
UTC = datetime.timezone.utc


def _zone(name):
    if name in (None, "", "UTC", "Etc/UTC"):
        return UTC
    try:
        from zoneinfo import ZoneInfo  # Python >= 3.9
        return ZoneInfo(name)
    except Exception:  # pylint: disable=broad-except
        return None


def check_schedule(schedule, field="schedule"):
    """Validate the allowed time window; return it normalized, or None when there is none."""
    if not schedule:
        return None
    errs = ErrorCollector()
    days = schedule.get("days") or list(DAYS)
    norm_days = []
    for i, d in enumerate(days):
        name = str(d)[:3].capitalize()
        if name not in DAYS:
            errs.add("%s.days[%d]" % (field, i), d, "must be a day of the week (%s)" % ", ".join(DAYS))
        else:
            norm_days.append(name)
    for key in ("start", "end"):
        value = schedule.get(key)
        if value is None or not _TIME_RE.match(str(value)):
            errs.add("%s.%s" % (field, key), value, "must be a time of day HH:MM (24 h)")
    tz = schedule.get("timezone") or "UTC"
    if _zone(tz) is None:
        errs.add(field + ".timezone", tz, "must be an IANA time zone such as Europe/Berlin or UTC")
    errs.raise_if_any()
    return dict(days=norm_days, start=str(schedule["start"]), end=str(schedule["end"]), timezone=tz)


def _minutes(hhmm):
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def schedule_state(schedule, now=None):
    """Whether ``now`` (aware datetime, default: now) is inside the window.

    A window whose end is not after its start runs past midnight; its day is the day it starts.
    ``closes_at`` (when open) and ``opens_at`` (when closed) are ISO times in the window's zone."""
    now = now or datetime.datetime.now(UTC)
    if not schedule:
        return dict(open=True, closes_at=None, opens_at=None, reason="no time window set")
    tz = _zone(schedule["timezone"])
    local = now.astimezone(tz)
    start, end = _minutes(schedule["start"]), _minutes(schedule["end"])
    length = (end - start) % (24 * 60) or 24 * 60
    # the window that started today or yesterday may be the one we are in
    for back in (0, 1):
        day = (local - datetime.timedelta(days=back)).date()
        opened = datetime.datetime(day.year, day.month, day.day, tzinfo=tz) + datetime.timedelta(minutes=start)
        closes = opened + datetime.timedelta(minutes=length)
        if DAYS[day.weekday()] in schedule["days"] and opened <= local < closes:
            reason = "inside the window (%s %s-%s %s)" % (
                DAYS[day.weekday()], schedule["start"], schedule["end"], schedule["timezone"])
            return dict(open=True, closes_at=closes.isoformat(), opens_at=None, reason=reason)
    nxt = None
    for ahead in range(0, 8):
        day = (local + datetime.timedelta(days=ahead)).date()
        opened = datetime.datetime(day.year, day.month, day.day, tzinfo=tz) + datetime.timedelta(minutes=start)
        if DAYS[day.weekday()] in schedule["days"] and opened > local:
            nxt = opened
            break
    return dict(open=False, closes_at=None, opens_at=nxt.isoformat() if nxt else None,
                reason="outside the allowed window (%s %s-%s %s); it is %s there now" % (
                    ",".join(schedule["days"]), schedule["start"], schedule["end"], schedule["timezone"],
                    local.strftime("%a %H:%M")))


def check_batch_size(size, field="batch_size"):
    m = _SIZE_RE.match(str(size).strip()) if size is not None else None
    if not m or (m.group(2) and int(m.group(1)) > 100):
        errs = ErrorCollector()
        errs.add(field, size, "must be a node count (2) or a percentage of the nodes (25%), at least 1")
        errs.raise_if_any()
    return str(size).strip()


def batch_size_of(size, total):
    """Nodes per batch: a count, or a percentage of ``total`` rounded down (at least 1)."""
    size = str(size).strip()
    if size.endswith("%"):
        return max(1, int(math.floor(total * int(size[:-1]) / 100.0)))
    return max(1, int(size))


def make_batches(nodes, size, group_by=None):
    """``nodes``: node dicts (or names, without group_by). Batches in name order; with
    ``group_by`` (a label key), one group after the other, never two groups in one batch, and a
    percentage is of the group's size."""
    def name_of(n):
        return n if isinstance(n, str) else n["metadata"]["name"]
    groups = {}
    for n in nodes:
        key = ""
        if group_by and not isinstance(n, str):
            key = ((n.get("metadata") or {}).get("labels") or {}).get(group_by, "")
        groups.setdefault(key, []).append(name_of(n))
    batches = []
    for key in sorted(groups):
        names = sorted(groups[key])
        per = batch_size_of(size, len(names))
        for i in range(0, len(names), per):
            batches.append(dict(group=key or None, nodes=names[i:i + per]))
    return batches


# ---------------------------------------------------------------------------- lock

def parse_time(value):
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def micro_time(dt):
    """A metav1.MicroTime string."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_expiry(lease):
    spec = (lease or {}).get("spec") or {}
    renewed = parse_time(spec.get("renewTime") or spec.get("acquireTime"))
    if renewed is None:
        return None
    return renewed + datetime.timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0))


def lock_decision(lease, holder, now):
    """What to do with the window's Lease: ``create`` (none), ``renew`` (ours), ``take_over``
    (someone else's, expired or released) or ``refuse`` (someone else's, live)."""
    if lease is None:
        return "create", None
    spec = lease.get("spec") or {}
    current = spec.get("holderIdentity")
    if current == holder:
        return "renew", None
    expiry = lease_expiry(lease)
    if not current or expiry is None or expiry <= now:
        return "take_over", dict(previous_holder=current, expired_at=micro_time(expiry) if expiry else None)
    return "refuse", dict(holder=current, acquired=spec.get("acquireTime"), renewed=spec.get("renewTime"),
                          expires=micro_time(expiry))


def lease_spec(holder, duration, now, previous=None, take_over=False):
    spec = dict((previous or {}).get("spec") or {})
    if take_over or not spec.get("acquireTime") or spec.get("holderIdentity") != holder:
        spec["acquireTime"] = micro_time(now)
        if previous is not None and take_over:
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
    spec["holderIdentity"] = holder
    spec["leaseDurationSeconds"] = int(duration)
    spec["renewTime"] = micro_time(now)
    return spec


# ---------------------------------------------------------------------------- record

def new_record(name, holder, batches, now, nodes_before, nodepools, cluster_queues, settings):
    """The progress record of a window that starts now.

    nodes_before: {node: unschedulable before the window}; nodepools: {pool: paused before};
    cluster_queues: {queue: stop policy before}."""
    return dict(
        version=RECORD_VERSION, window=name, status="running", started=micro_time(now), ended=None,
        runs=[dict(holder=holder, started=micro_time(now), ended=None, outcome=None)],
        settings=settings,
        unschedulable_before=nodes_before,
        nodepools=dict((k, dict(paused_before=v, paused_by_window=False)) for k, v in sorted(nodepools.items())),
        cluster_queues=dict((k, dict(stop_policy_before=v, held_by_window=False)) for k, v in sorted(cluster_queues.items())),
        batches=[dict(index=i + 1, group=b.get("group"), nodes=b["nodes"], state="pending",
                      started=None, ended=None, duration=None, error=None,
                      node_results=dict((n, dict(outcome="pending")) for n in b["nodes"]))
                 for i, b in enumerate(batches)],
        restored=None, events=[],
    )


def resume_record(record, holder, now):
    record["status"] = "running"
    record["ended"] = None
    record.setdefault("runs", []).append(dict(holder=holder, started=micro_time(now), ended=None, outcome=None,
                                              resumed=True))
    for b in record["batches"]:
        if b["state"] in ("running", "failed"):
            b["state"] = "pending"  # the failed batch runs again, from its start
    return record


def todo_batches(record):
    return [dict(index=b["index"], nodes=b["nodes"], group=b.get("group"))
            for b in record["batches"] if b["state"] not in ("done",)]


def done_nodes(record):
    return sorted(n for b in record["batches"] if b["state"] == "done" for n in b["nodes"])


def _batch(record, index):
    for b in record["batches"]:
        if b["index"] == index:
            return b
    raise KeyError(index)


def record_event(record, event, now, batch=None, data=None, message=None):
    """Apply one step of the window to the record.

    event: started | drained | node_done | done | failed (a batch), paused | restored | stopped."""
    data = data or {}
    stamp = micro_time(now)
    record["events"].append(dict(at=stamp, event=event, batch=batch,
                                 message=message))
    if batch is not None:
        b = _batch(record, int(batch))
        if event == "started":
            b["state"] = "running"
            b["started"] = stamp
            b["error"] = None
        elif event == "drained":
            b["drain"] = _drain_summary(data)
            for name, res in b["node_results"].items():
                res.update(_node_drain_facts(name, data))
        elif event == "node_done":
            node = data.get("node")
            if node in b["node_results"]:
                b["node_results"][node].update(dict((k, v) for k, v in data.items() if k != "node"))
        elif event == "done":
            b["state"] = "done"
            b["ended"] = stamp
            b["duration"] = _seconds_between(b["started"], stamp)
            b["ready_after"] = data.get("ready_after")
            for name, res in b["node_results"].items():
                if res.get("outcome") in (None, "pending", "drained"):
                    res["outcome"] = "done"
                    res.setdefault("ready_after", data.get("ready_after"))
                if name in (data.get("left_cordoned") or []):
                    res["reason"] = "unschedulable before the window: left cordoned"
        elif event == "failed":
            b["state"] = "failed"
            b["ended"] = stamp
            b["error"] = message
            b["duration"] = _seconds_between(b["started"], stamp)
    if event == "paused":
        for pool in data.get("nodepools") or []:
            record["nodepools"].setdefault(pool, dict(paused_before=False))["paused_by_window"] = True
        for cq in data.get("cluster_queues") or []:
            record["cluster_queues"].setdefault(cq, dict(stop_policy_before=None))["held_by_window"] = True
    if event == "restored":
        record["restored"] = dict(data, at=stamp)
        for pool in data.get("nodepools") or []:
            record["nodepools"].get(pool, {})["paused_by_window"] = False
        for cq in data.get("cluster_queues") or []:
            record["cluster_queues"].get(cq, {})["held_by_window"] = False
    return record


def _seconds_between(a, b):
    ta, tb = parse_time(a), parse_time(b)
    if ta is None or tb is None:
        return None
    return round((tb - ta).total_seconds(), 1)


def _drain_summary(result):
    return dict(
        evicted=len(result.get("evicted") or []),
        requeued_workloads=["%s/%s" % (w.get("namespace"), w.get("name")) for w in result.get("requeued_workloads") or []],
        quarantined=[q.get("name") for q in result.get("quarantined") or []],
        completion_waited=len(result.get("completion_waited") or []),
        duration=result.get("duration"),
    )


def _node_drain_facts(name, result):
    evicted = [p for p in result.get("evicted") or [] if p.get("node") == name]
    requeued = ["%s/%s" % (w.get("namespace"), w.get("name")) for w in result.get("requeued_workloads") or []
                if any(p.get("node") == name for p in w.get("pods") or [])]
    out = dict(outcome="drained", pods_evicted=len(evicted), workloads_requeued=requeued)
    for q in result.get("quarantined") or []:
        if q.get("name") == name:
            out.update(outcome="quarantined", reason=q.get("reason"))
    return out


def finish_record(record, outcome, now, message=None):
    stamp = micro_time(now)
    record["status"] = outcome
    record["ended"] = stamp
    if record.get("runs"):
        record["runs"][-1].update(ended=stamp, outcome=outcome, message=message)
    return record


def counts(record):
    nodes = [r for b in record["batches"] for r in b["node_results"].values()]
    return dict(
        batches=len(record["batches"]),
        batches_done=len([b for b in record["batches"] if b["state"] == "done"]),
        nodes=len(nodes),
        nodes_done=len([r for r in nodes if r.get("outcome") == "done"]),
        nodes_quarantined=len([r for r in nodes if r.get("outcome") == "quarantined"]),
        pods_evicted=sum(int(r.get("pods_evicted") or 0) for r in nodes),
        workloads_requeued=len(set(w for b in record["batches"] for w in (b.get("drain") or {}).get("requeued_workloads") or [])),
    )


def summary_line(record):
    c = counts(record)
    return ("maintenance window %s %s: %d/%d batches, %d/%d nodes done, %d quarantined, %d pods evicted, "
            "%d workloads requeued, %d run(s)" % (
                record["window"], record["status"], c["batches_done"], c["batches"], c["nodes_done"], c["nodes"],
                c["nodes_quarantined"], c["pods_evicted"], c["workloads_requeued"], len(record.get("runs") or [])))


def render_report_markdown(record):
    c = counts(record)
    lines = ["# Maintenance window %s" % record["window"], "",
             "- Outcome: **%s**" % record["status"],
             "- Started: %s; ended: %s" % (record.get("started"), record.get("ended") or "-"),
             "- Batches: %d of %d done; nodes: %d of %d done, %d quarantined" % (
                 c["batches_done"], c["batches"], c["nodes_done"], c["nodes"], c["nodes_quarantined"]),
             "- Pods evicted: %d; workloads requeued: %d" % (c["pods_evicted"], c["workloads_requeued"]),
             "", "## Runs", "", "| holder | started | ended | outcome |", "|---|---|---|---|"]
    for r in record.get("runs") or []:
        lines.append("| %s | %s | %s | %s |" % (r.get("holder"), r.get("started"), r.get("ended") or "-",
                                                r.get("outcome") or "-"))
    lines += ["", "## Batches", "", "| batch | nodes | state | duration (s) | error |", "|---|---|---|---|---|"]
    for b in record["batches"]:
        duration = b.get("duration") if b.get("duration") is not None else "-"
        error = (b.get("error") or "").replace("|", "/")[:200]
        lines.append("| %d | %s | %s | %s | %s |" % (b["index"], ", ".join(b["nodes"]), b["state"], duration, error))
    lines += ["", "## Nodes", "", "| node | batch | outcome | pods evicted | workloads requeued | ready after (s) | note |",
              "|---|---|---|---|---|---|---|"]
    for b in record["batches"]:
        for name in b["nodes"]:
            r = b["node_results"].get(name) or {}
            lines.append("| %s | %d | %s | %s | %s | %s | %s |" % (
                name, b["index"], r.get("outcome"), r.get("pods_evicted", "-"),
                ", ".join(r.get("workloads_requeued") or []) or "-",
                r.get("ready_after", "-"), (r.get("reason") or "").replace("|", "/")[:200]))
    restored = record.get("restored") or {}
    lines += ["", "## Restored", "",
              "- NodePools resumed: %s" % (", ".join(restored.get("nodepools") or []) or "none"),
              "- ClusterQueues resumed: %s" % (", ".join(restored.get("cluster_queues") or []) or "none")]
    if restored.get("kept_paused"):
        lines.append("- Kept paused on request: %s" % ", ".join(restored["kept_paused"]))
    return "\n".join(lines) + "\n"
