# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The drift report of a plan run: what differs from the plan, object by object and field by
field, why, and counts per kind and action - readable in a change ticket (pure).

In check mode it is what a run would do (the "after" of an update is the API server's dry run,
so defaults and webhooks are accounted for); after a real run, what it did.

Public API
----------
``field_changes(before, after) -> [{"path", "before", "after"}]``: the fields that differ between two
    objects (status, server metadata and intent digests left out). Maps by key, lists of the same
    length item by item, other lists as a whole; a field that one side lacks is ``None`` there.
``cause_of(entry) -> str``: why an object is in the report: ``missing`` (not in the cluster),
    ``plan changed`` (the plan asks for something else than it last applied), ``changed in the
    cluster`` (someone edited or removed what the plan had applied: drift), ``not applied by this
    collection yet`` (adopted), ``no longer in the plan`` (pruned), ``state absent``.
``field_changes_of(entry)``: the field changes of an engine result entry (its diff, when updated).
``report(results, pruned_refs=(), extra=(), fields=None) -> dict``: ``{"objects": [...], "counts": {kind: {action: n}},
    "drifted": n, "lines": [...]}``; ``extra``: reports of non-object steps (capacity, taints);
    ``fields``: per result entry its field changes, when the entries no longer carry their diff.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.compare import format_path
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.engine import WRITE_ACTIONS, clean_for_diff

MAX_LINES_PER_OBJECT = 20


def _walk(before, after, path, out):
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            _walk(before.get(key), after.get(key), path + (key,), out)
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after)):
            _walk(b, a, path + (i,), out)
        return
    if before != after:
        out.append({"path": format_path(path), "before": before, "after": after})


def field_changes(before, after):
    out = []
    b, a = clean_for_diff(before) if before else {}, clean_for_diff(after) if after else {}
    for top in ("apiVersion", "kind"):
        b.pop(top, None)
        a.pop(top, None)
    _walk(b, a, (), out)
    return out


def field_changes_of(entry):
    """The field changes of an engine result entry: those of its diff when it was updated."""
    if entry.get("action") != "updated":
        return []
    diff = entry.get("diff") or {}
    return field_changes(diff.get("before"), diff.get("after"))


def cause_of(entry, pruned=False):
    action, reason = entry.get("action"), entry.get("reason") or ""
    if action == "deleted":
        return "no longer in the plan" if pruned else "state absent"
    if action == "created" or reason == "not found":
        return "missing"
    if reason.startswith("intent changed"):
        return "plan changed"
    if reason.startswith("no intent digest"):
        return "not applied by this collection yet"
    return "changed in the cluster"


def _short(value):
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def report(results, pruned_refs=(), extra=(), fields=None):
    pruned = set(pruned_refs)
    objects, counts, lines = [], {}, []
    for i, entry in enumerate(results):
        action = entry.get("action")
        kind_counts = counts.setdefault(entry.get("kind"), {})
        kind_counts[action] = kind_counts.get(action, 0) + 1
        if action not in WRITE_ACTIONS:
            continue
        cause = cause_of(entry, pruned=entry.get("ref") in pruned)
        changes = fields[i] if fields is not None else field_changes_of(entry)
        objects.append({"ref": entry.get("ref"), "action": action, "cause": cause, "fields": changes})
        lines.append("%s %s (%s)" % (action, entry.get("ref"), cause))
        for f in changes[:MAX_LINES_PER_OBJECT]:
            lines.append("    %s: %s -> %s" % (f["path"], _short(f["before"]), _short(f["after"])))
        if len(changes) > MAX_LINES_PER_OBJECT:
            lines.append("    ... and %d more fields" % (len(changes) - MAX_LINES_PER_OBJECT))
    for step in extra:
        objects.append(step)
        lines.append("%s %s (%s)" % (step["action"], step["ref"], step.get("cause", "")))
        for f in step.get("fields") or []:
            lines.append("    %s: %s -> %s" % (f["path"], _short(f["before"]), _short(f["after"])))
    return {"objects": objects, "counts": counts, "drifted": len(objects), "lines": lines}
