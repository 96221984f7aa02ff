# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure taint arithmetic for the node_taints module (no API calls here).

A taint is identified by ``(key, effect)``: the API server refuses two taints with the same key
and effect on one node, so "add" with an existing key and effect overwrites the value.

* :func:`validate_taints` checks every requested taint (key, value, effect, duplicates) with the
  engine's validate helpers and raises ``errors.ValidationError``/``ErrorList`` naming the field
  and the value, before anything is read or written.
* :func:`compute_taints` returns the taint list a node must have afterwards for
  ``state`` ``present`` (add or overwrite), ``absent`` (remove) or ``replace`` (exactly the set).
* With ``replace``, taints that controllers own are kept unless the user names their key:
  :func:`is_controller_taint` (``node.kubernetes.io/*``, ``node.cloudprovider.kubernetes.io/*``,
  ``karpenter.sh/*`` such as ``karpenter.sh/disrupted`` and ``karpenter.sh/unregistered``, the
  cluster autoscaler's, and the node's NodePool startup taints). Removing ``karpenter.sh/disrupted``
  would let pods schedule onto a node Karpenter is terminating.
* :func:`taints_equal` compares two taint lists as sets (order and ``timeAdded`` ignored), which
  is what decides whether a node needs a write at all.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.validate import (
    check_choice,
    check_taint,
    check_unique,
    label_value_problem,
    qualified_name_problem,
)

STATES = ("present", "absent", "replace")


# The options of node_taints (without the auth options), also those of a cluster plan's
# node_taints entries.
TAINTS_OPTIONS = dict(
    name=dict(type="str"),
    label_selector=dict(type="str"),
    taints=dict(type="list", elements="dict", default=[], options=dict(
        key=dict(type="str", required=True, no_log=False),
        value=dict(type="str"),
        effect=dict(type="str", choices=["NoSchedule", "PreferNoSchedule", "NoExecute"]),
    )),
    state=dict(type="str", default="present", choices=["present", "absent", "replace"]),
)


# Keys (or key prefixes) of taints that a controller puts on and takes off.
CONTROLLER_TAINT_PREFIXES = ("node.kubernetes.io/", "node.cloudprovider.kubernetes.io/", "karpenter.sh/",
                             "node.cluster.x-k8s.io/")
CONTROLLER_TAINT_KEYS = ("ToBeDeletedByClusterAutoscaler", "DeletionCandidateOfClusterAutoscaler")


def is_controller_taint(key, startup_keys=()):
    """Whether a taint with ``key`` belongs to a controller (or is a NodePool startup taint)."""
    key = key or ""
    return (key in CONTROLLER_TAINT_KEYS or key in (startup_keys or ())
            or any(key.startswith(p) for p in CONTROLLER_TAINT_PREFIXES))


def validate_taints(taints, state="present", field="taints"):
    """Validate the requested taints for ``state`` and return them normalized to
    ``{'key', 'value', 'effect'}`` (effect None allowed only for ``absent``: remove every effect).

    Every problem is collected and raised together (``errors.ValidationError`` or
    ``errors.ErrorList``) naming the field and the value: bad keys, values, effects, unknown
    fields, duplicates of ``(key, effect)``, and an empty list for ``present``/``absent``
    (``replace`` with ``[]`` means "remove every taint")."""
    errs = ErrorCollector()
    if not check_choice(errs, "state", state, STATES):
        errs.raise_if_any()
    if taints is None:
        taints = []
    if not isinstance(taints, list):
        errs.add(field, taints, "must be a list of taints")
        errs.raise_if_any()
    if not taints and state != "replace":
        errs.add(field, taints, "must not be empty with state=%s (state=replace with an empty list "
                                "removes every taint)" % state)
    ok = True
    for i, t in enumerate(taints):
        f = "%s[%d]" % (field, i)
        if isinstance(t, dict) and isinstance(t.get("value"), (bool, int, float)):
            # YAML turns true/1 into non-strings; the API wants a string: say so, don't guess.
            ok = errs.add(f + ".value", t.get("value"), "must be a string (quote it in YAML)") and ok
            continue
        if state == "absent" and isinstance(t, dict) and t.get("effect") in (None, ""):
            unknown = set(t) - {"key", "value", "effect"}
            if unknown:
                ok = errs.add(f, sorted(unknown), "unknown taint fields (allowed: key, value, effect)")
            p = qualified_name_problem(t.get("key"))
            if p:
                ok = errs.add(f + ".key", t.get("key"), p)
            if t.get("value") not in (None, ""):
                vp = label_value_problem(t.get("value"))
                if vp:
                    ok = errs.add(f + ".value", t.get("value"), vp)
            continue
        ok = check_taint(errs, f, t) and ok
    if ok and not errs:
        check_unique(errs, field, taints, key=lambda t: (t.get("key"), t.get("effect") or None))
    errs.raise_if_any()
    return [{"key": t["key"], "value": t.get("value") or "", "effect": t.get("effect") or None}
            for t in taints]


def _live(taint):
    """A live taint (dict from the API) reduced to key/value/effect (+ timeAdded when present)."""
    out = {"key": taint.get("key"), "value": taint.get("value") or "", "effect": taint.get("effect")}
    if taint.get("timeAdded"):
        out["timeAdded"] = taint["timeAdded"]
    return out


def _canon(taints):
    return sorted((t.get("key") or "", t.get("effect") or "", t.get("value") or "") for t in taints or [])


def taints_equal(a, b):
    """Whether two taint lists are the same set of (key, effect, value)."""
    return _canon(a) == _canon(b)


def compute_taints(current, requested, state, startup_keys=()):
    """Return the desired taint list of a node.

    current: the node's live ``spec.taints`` (list of dicts, may be None).
    requested: the output of :func:`validate_taints`.
    startup_keys: the keys of the startup taints of the node's NodePool (kept by ``replace``).
    Existing taints that stay unchanged keep their position and ``timeAdded``.
    """
    current = [_live(t) for t in (current or [])]
    if state == "present":
        result = list(current)
        for r in requested:
            idx = next((i for i, t in enumerate(result)
                        if t["key"] == r["key"] and t["effect"] == r["effect"]), None)
            new = {"key": r["key"], "value": r["value"], "effect": r["effect"]}
            if idx is None:
                result.append(new)
            elif result[idx]["value"] != r["value"]:
                result[idx] = new
        return result
    if state == "absent":
        def removed(t):
            for r in requested:
                if t["key"] == r["key"] and (r["effect"] is None or t["effect"] == r["effect"]):
                    return True
            return False
        return [t for t in current if not removed(t)]
    if state == "replace":
        named = set(r["key"] for r in requested)
        result = [t for t in current if t["key"] not in named and is_controller_taint(t["key"], startup_keys)]
        for r in requested:
            same = next((t for t in current if t["key"] == r["key"] and t["effect"] == r["effect"]
                         and t["value"] == r["value"]), None)
            result.append(same if same is not None else
                          {"key": r["key"], "value": r["value"], "effect": r["effect"]})
        return result
    raise ValueError("state %r is invalid" % (state,))


def taint_changes(before, after):
    """Return (added, removed) lists of taints between two lists (value changes count as both)."""
    b = set(_canon(before))
    a = set(_canon(after))
    added = [{"key": k, "effect": e, "value": v} for (k, e, v) in sorted(a - b)]
    removed = [{"key": k, "effect": e, "value": v} for (k, e, v) in sorted(b - a)]
    return added, removed


def for_api(taints):
    """Taints as the API wants them in spec.taints (empty value omitted like kubectl does)."""
    out = []
    for t in taints:
        item = {"key": t["key"], "effect": t["effect"]}
        if t.get("value"):
            item["value"] = t["value"]
        if t.get("timeAdded"):
            item["timeAdded"] = t["timeAdded"]
        out.append(item)
    return out


def for_result(taints):
    """Taints for the module result: key/value/effect only, stable order as on the node."""
    return [{"key": t.get("key"), "value": t.get("value") or "", "effect": t.get("effect")}
            for t in (taints or [])]
