# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What gateway controllers report on routes and pools: ``status.parents[].conditions`` (pure).

A gateway controller writes, per parent (Gateway) it serves, ``Accepted`` (the parent took the
route) and ``ResolvedRefs`` (every backend reference resolved), each with the
``observedGeneration`` of the spec it judged. Without a controller there is no status at all;
that is "not reported", not a failure.

Public API
----------
``PARENT_CONDITIONS`` (``Accepted``, ``ResolvedRefs``);
``parents_summary(obj)`` -> ``[{"parent", "controller", "conditions": {type: {status, reason,
message, observed_generation, current}}}]``;
``parents_verdict(obj, conditions=PARENT_CONDITIONS)`` -> ``(verdict, answer)`` with verdict
``passed`` (every reporting parent has every condition True for the current generation),
``failed`` (a current condition is False), ``pending`` (reported for an older generation, or
Unknown), ``not_reported`` (no parent status);
``PARENTS_READY``: ``(predicate, what)`` of a kind description (``wait: true``);
``describe_parents(obj)``: what a wait saw last.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

PARENT_CONDITIONS = ("Accepted", "ResolvedRefs")


def _parent_name(ref):
    ref = ref or {}
    name = ref.get("name")
    if ref.get("namespace"):
        name = "%s/%s" % (ref["namespace"], name)
    if ref.get("sectionName"):
        name += "#" + ref["sectionName"]
    kind = ref.get("kind") or "Gateway"
    return "%s %s" % (kind, name)


def parents_summary(obj):
    generation = (obj.get("metadata") or {}).get("generation")
    out = []
    for p in ((obj.get("status") or {}).get("parents") or []):
        conds = {}
        for c in p.get("conditions") or []:
            observed = c.get("observedGeneration")
            conds[c.get("type")] = {
                "status": c.get("status"), "reason": c.get("reason"), "message": c.get("message"),
                "observed_generation": observed,
                "current": generation is None or observed is None or observed >= generation,
            }
        out.append({"parent": _parent_name(p.get("parentRef")), "controller": p.get("controllerName"),
                    "conditions": conds})
    return out


def parents_verdict(obj, conditions=PARENT_CONDITIONS):
    parents = parents_summary(obj)
    if not parents:
        return "not_reported", "no gateway controller reports a status for this object"
    failed, pending, ok = [], [], []
    for p in parents:
        for ctype in conditions:
            c = p["conditions"].get(ctype)
            if c is None:
                pending.append("%s: %s not reported" % (p["parent"], ctype))
            elif not c["current"]:
                pending.append("%s: %s is for generation %s, not the current one" % (p["parent"], ctype,
                                                                                     c["observed_generation"]))
            elif c["status"] == "True":
                ok.append("%s: %s" % (p["parent"], ctype))
            elif c["status"] == "False":
                failed.append("%s: %s is False (%s: %s)" % (p["parent"], ctype, c["reason"], c["message"]))
            else:
                pending.append("%s: %s is %s (%s)" % (p["parent"], ctype, c["status"], c["reason"]))
    if failed:
        return "failed", "; ".join(failed)
    if pending:
        return "pending", "; ".join(pending)
    return "passed", "; ".join(ok)


def describe_parents(obj):
    """What a wait timeout says it saw on a route or pool."""
    if obj is None:
        return "object not found"
    return parents_verdict(obj)[1]


PARENTS_READY = (lambda obj: parents_verdict(obj)[0] == "passed",
                 "every parent's Accepted and ResolvedRefs conditions to be True (needs a gateway controller)")
