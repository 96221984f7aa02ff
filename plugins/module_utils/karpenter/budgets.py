# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pause and resume of a NodePool's voluntary disruption (pure functions).

A pause replaces the pool's disruption budgets and saves the budgets in force before in an
annotation, so that resume restores exactly what was there; a second pause never overwrites
the saved budgets.

Public API
----------
``SAVED_BUDGETS_ANNOTATION``, ``PAUSED_AT_ANNOTATION``, ``PAUSE_REASON_ANNOTATION``,
``PAUSE_ANNOTATIONS`` (all three)
``live_budgets(nodepool)``        a copy of ``spec.disruption.budgets`` (None when not set)
``is_paused(nodepool) -> bool``
``saved_budgets(nodepool)``       the saved budgets (None when not paused); ``GpuaasError`` when
                                  the annotation does not hold a JSON list
``saved_budgets_text(budgets)``   the annotation value for ``budgets`` (compact, stable key order)
``pause_budgets(nodepool, budgets, now=None, reason=None) -> (merge_patch or None, info)``
``resume_budgets(nodepool) -> (merge_patch or None, info)``
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import json

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import GpuaasError

SAVED_BUDGETS_ANNOTATION = "gpuaas.io/paused-disruption-budgets"
PAUSED_AT_ANNOTATION = "gpuaas.io/paused-at"
PAUSE_REASON_ANNOTATION = "gpuaas.io/pause-reason"
PAUSE_ANNOTATIONS = (SAVED_BUDGETS_ANNOTATION, PAUSED_AT_ANNOTATION, PAUSE_REASON_ANNOTATION)


def _annotations(nodepool):
    return (nodepool.get("metadata") or {}).get("annotations") or {}


def live_budgets(nodepool):
    budgets = ((nodepool.get("spec") or {}).get("disruption") or {}).get("budgets")
    return copy.deepcopy(budgets) if budgets is not None else None


def is_paused(nodepool):
    return SAVED_BUDGETS_ANNOTATION in _annotations(nodepool)


def saved_budgets_text(budgets):
    """The value of the saved-budgets annotation for ``budgets`` (compact, stable key order)."""
    return json.dumps(budgets, sort_keys=True, separators=(",", ":"))


def saved_budgets(nodepool):
    raw = _annotations(nodepool).get(SAVED_BUDGETS_ANNOTATION)
    if raw is None:
        return None
    try:
        saved = json.loads(raw)
    except ValueError:
        saved = None
    if not isinstance(saved, list):
        name = (nodepool.get("metadata") or {}).get("name")
        raise GpuaasError("NodePool %s: annotation %s does not hold a JSON list of budgets (%r); fix or remove it "
                          "by hand before pausing or resuming" % (name, SAVED_BUDGETS_ANNOTATION, raw))
    return saved


def _canonical(budgets):
    return None if budgets is None else json.dumps(budgets, sort_keys=True)


def pause_budgets(nodepool, budgets, now=None, reason=None):
    """Return (patch, info) pausing voluntary disruption; patch is None when nothing changes.

    The budgets in force are saved in an annotation unless a previous pause saved them already, so
    that a second pause never overwrites what resume must restore.
    """
    annotations = {}
    current = live_budgets(nodepool)
    already = is_paused(nodepool)
    if not already:
        annotations[SAVED_BUDGETS_ANNOTATION] = saved_budgets_text(current)
        annotations[PAUSED_AT_ANNOTATION] = (now or datetime.datetime.now(datetime.timezone.utc)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        if reason:
            annotations[PAUSE_REASON_ANNOTATION] = reason
    patch = {}
    if annotations:
        patch["metadata"] = {"annotations": annotations}
    if _canonical(current) != _canonical(budgets):
        patch["spec"] = {"disruption": {"budgets": budgets}}
    info = {"already_paused": already, "saved_budgets": current if not already else saved_budgets(nodepool),
            "budgets": budgets}
    return (patch or None), info


def resume_budgets(nodepool):
    """Return (patch, info) restoring the budgets saved by pause; patch is None when not paused."""
    if not is_paused(nodepool):
        return None, {"was_paused": False, "budgets": live_budgets(nodepool)}
    restore = saved_budgets(nodepool)
    # JSON merge patch: null removes the annotations
    patch = {"metadata": {"annotations": dict((key, None) for key in PAUSE_ANNOTATIONS)},
             "spec": {"disruption": {"budgets": restore}}}
    return patch, {"was_paused": True, "budgets": restore}


def keep_pause(desired, live):
    """``(desired, extra, warnings)``: a NodePool about to be applied over a ``live`` one that
    karpenter_disruption paused keeps the pause - the live (pause) budgets are sent, and the
    budgets the user gives are saved for resume instead - so that applying a pool (a module, a
    plan) never ends a pause. ``extra``: ``{"paused": True, "saved_budgets": [...]}`` when paused.
    Pure; ``desired`` is not modified."""
    if live is None or not is_paused(live) or "budgets" not in ((desired.get("spec") or {}).get("disruption") or {}):
        return desired, {}, []
    out = copy.deepcopy(desired)
    wanted = out["spec"]["disruption"]["budgets"]
    out["spec"]["disruption"]["budgets"] = live_budgets(live)
    # Always send the saved budgets, even when they already match: once this field manager has
    # applied the annotation, leaving it out would make server-side apply delete it, and the pool
    # would stay paused with nothing for resume to restore.
    saved = saved_budgets(live)
    live_saved = _annotations(live).get(SAVED_BUDGETS_ANNOTATION)
    out["metadata"].setdefault("annotations", {})[SAVED_BUDGETS_ANNOTATION] = \
        live_saved if saved == wanted else saved_budgets_text(wanted)
    warnings = []
    if saved != wanted:
        warnings.append("NodePool %s is paused by karpenter_disruption: the budgets given here are saved "
                        "and take effect on resume" % out["metadata"]["name"])
    return out, {"paused": True, "saved_budgets": wanted}, warnings
