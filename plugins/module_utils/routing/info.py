# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What ``http_route_info`` reports about a route (pure, given the pods of its backends).

Public API
----------
``route_summary(route, pods_of=None)`` -> ``{"name", "namespace", "hostnames", "parents",
"parents_verdict", "parents_answer", "rules": [{"index", "key", "name", "owned", "matches",
"backends": [{"key", "kind", "name", "namespace", "port", "weight", "percent", "pods"}],
"traffic_shift"}]}``; ``pods_of(kind, name, namespace)`` -> a ``backends.backend_pods`` answer
(or None to leave pods out).
``shift_summary(record)``: phase, percent, steps, from, to, last event.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import shift as sh
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import (
    backend_key,
    normalized_matches,
    owned_parts,
    rule_key,
    rule_percentages,
    weight_of,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.status import (
    parents_summary,
    parents_verdict,
)


def shift_summary(record):
    if not record:
        return None
    history = record.get("history") or []
    return {"name": record.get("name"), "phase": record.get("phase"), "percent": record.get("percent"),
            "step": record.get("step"), "steps": record.get("steps"), "from": record.get("from"),
            "to": record.get("to"), "baseline": record.get("baseline"), "started_at": record.get("started_at"),
            "updated_at": record.get("updated_at"), "reason": record.get("reason"),
            "last_event": history[-1] if history else None}


def route_summary(route, pods_of=None):
    meta = route.get("metadata") or {}
    ns = meta.get("namespace")
    ann = meta.get("annotations") or {}
    owned = owned_parts(route)
    verdict, answer = parents_verdict(route)
    rules = []
    for i, r in enumerate((route.get("spec") or {}).get("rules") or []):
        key = rule_key(r)
        refs = r.get("backendRefs") or []
        backends = []
        for b, pct in zip(refs, rule_percentages(r)):
            kind = b.get("kind") or "Service"
            entry = {"key": backend_key(b, ns), "kind": kind, "name": b.get("name"),
                     "namespace": b.get("namespace") or ns, "port": b.get("port"), "weight": weight_of(b),
                     "percent": pct, "owned": backend_key(b, ns) in (owned["backends"].get(key) or [])}
            if pods_of is not None:
                entry["pods"] = pods_of(kind, b.get("name"), b.get("namespace") or ns)
            backends.append(entry)
        rules.append({"index": i, "key": key, "name": r.get("name"), "owned": key in owned["rules"],
                      "matches": normalized_matches(r.get("matches")), "backends": backends,
                      "traffic_shift": shift_summary(sh.decode(ann.get(sh.annotation_for(key))))})
    return {"name": meta.get("name"), "namespace": ns, "hostnames": (route.get("spec") or {}).get("hostnames") or [],
            "generation": meta.get("generation"), "parents": parents_summary(route), "parents_verdict": verdict,
            "parents_answer": answer, "rules": rules}
