# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What inference routing shares: kinds, backend and rule identity, weights (pure).

An HTTPRoute's ``spec.rules`` and each rule's ``backendRefs`` are atomic lists in the Gateway API
CRDs: server-side apply replaces them whole and cannot tell whose rule is whose. So this
collection identifies rules and backends itself:

- a rule by its ``name`` (Gateway API 1.2+), else by a digest of its matches with the API's
  defaults filled in (``PathPrefix /``, header and query matches ``Exact``), so that a rule read
  back from the server has the key of the rule that was sent;
- a backend by ``Kind/namespace/name`` (port apart: one backend per object and rule).

Public API
----------
``INFERENCE_POOL``, ``HTTP_ROUTE``, ``POD``; ``INFERENCE_GROUP``; ``BACKEND_KINDS``
``OWNED_ANNOTATION``: the rules and backends of a route that this collection manages (JSON).
``SHIFT_ANNOTATION_PREFIX``: where a traffic shift keeps its record, one annotation per rule.
``group_of_kind(kind)``; ``backend_key(ref, route_namespace)``; ``rule_key(rule)``;
``normalized_matches(matches)``; ``weight_problem(value)``, ``parse_weight(value)``;
``rule_percentages(rule)`` -> ``[percent]``; ``owned_parts(route)`` -> ``{"rules": [...],
"backends": {rule key: [backend keys]}}``; ``shift_annotation(rule_key)``;
``find_rule(route, rule=None, backend=None)`` -> ``(index, rule)`` or a ``GpuaasError`` naming the rules.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import kind_for
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import GpuaasError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.validate import is_ascii_digits

INFERENCE_POOL = kind_for("InferencePool")
HTTP_ROUTE = kind_for("HTTPRoute")
POD = kind_for("Pod")

INFERENCE_GROUP = "inference.networking.k8s.io"
BACKEND_KINDS = ("Service", "InferencePool")
MAX_WEIGHT = 1000000

OWNED_ANNOTATION = "gpuaas.io/owned-route-rules"
SHIFT_ANNOTATION_PREFIX = "traffic-shift.gpuaas.io/"


def group_of_kind(kind):
    return INFERENCE_GROUP if kind == "InferencePool" else ""


def backend_key(ref, route_namespace=None):
    """``InferencePool/ns/name`` of a backendRef (kind defaults to Service, as in the API)."""
    ref = ref or {}
    kind = ref.get("kind") or "Service"
    return "%s/%s/%s" % (kind, ref.get("namespace") or route_namespace or "", ref.get("name"))


def _normalized_match(m):
    m = dict(m or {})
    path = dict(m.get("path") or {})
    path.setdefault("type", "PathPrefix")
    path.setdefault("value", "/")
    m["path"] = path
    for key in ("headers", "queryParams"):
        if m.get(key):
            m[key] = sorted(({"name": h.get("name"), "value": h.get("value"), "type": h.get("type") or "Exact"}
                             for h in m[key]), key=lambda h: (str(h["name"]), str(h["value"])))
        else:
            m.pop(key, None)
    return m


def normalized_matches(matches):
    """The matches as the API server stores them (its defaults filled in)."""
    return [_normalized_match(m) for m in (matches or [{}])]


def rule_key(rule):
    """``name:<name>``, or ``matches:<digest>`` for a rule without a name."""
    rule = rule or {}
    if rule.get("name"):
        return "name:%s" % rule["name"]
    text = json.dumps(normalized_matches(rule.get("matches")), sort_keys=True, separators=(",", ":"), default=str)
    return "matches:%s" % hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def describe_rule(index, rule):
    rule = rule or {}
    if rule.get("name"):
        return "rule %d (%s)" % (index, rule["name"])
    paths = ", ".join("%s %s" % (m["path"]["type"], m["path"]["value"]) for m in normalized_matches(rule.get("matches")))
    return "rule %d (%s)" % (index, paths)


def weight_problem(value):
    if isinstance(value, bool) or parse_weight(value) is None:
        return "must be an integer from 0 to %d" % MAX_WEIGHT
    return None


def parse_weight(value):
    """An int from 0 to 1000000, from an int or a string of digits; None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, str) and re.match(r"^\s*\d+\s*$", value):
        n = int(value)
    else:
        return None
    return n if 0 <= n <= MAX_WEIGHT else None


def weight_of(ref):
    """A backendRef's weight as the API applies it (1 when not set)."""
    w = (ref or {}).get("weight")
    return 1 if w is None else int(w)


def rule_percentages(rule):
    """Each backend's share of the rule's traffic, in percent (two decimals)."""
    weights = [weight_of(b) for b in (rule or {}).get("backendRefs") or []]
    total = sum(weights)
    return [round(100.0 * w / total, 2) if total else 0.0 for w in weights]


def owned_parts(route):
    """What this collection manages of a live route (from ``OWNED_ANNOTATION``)."""
    text = (((route or {}).get("metadata") or {}).get("annotations") or {}).get(OWNED_ANNOTATION)
    if not text:
        return {"rules": [], "backends": {}}
    try:
        data = json.loads(text)
    except ValueError:
        return {"rules": [], "backends": {}}
    return {"rules": list(data.get("rules") or []), "backends": dict(data.get("backends") or {})}


def encode_owned(rules, backends):
    return json.dumps({"rules": list(rules), "backends": backends}, sort_keys=True, separators=(",", ":"))


def shift_annotation(key):
    """The annotation that holds the traffic-shift record of the rule with ``key``."""
    if key.startswith("name:") and len(key) - 5 <= 63 and re.match(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", key[5:]):
        return SHIFT_ANNOTATION_PREFIX + key[5:]
    return SHIFT_ANNOTATION_PREFIX + "rule-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def find_rule(route, rule=None, backend=None):
    """The rule of ``route`` named ``rule`` (or at that index), else the one rule that has
    ``backend`` (a backend key), else the only rule; an error naming the rules otherwise."""
    ns = (route.get("metadata") or {}).get("namespace")
    rules = (route.get("spec") or {}).get("rules") or []
    ref = "HTTPRoute %s/%s" % (ns, (route.get("metadata") or {}).get("name"))
    listed = "; ".join(describe_rule(i, r) for i, r in enumerate(rules)) or "none"
    if rule not in (None, ""):
        if isinstance(rule, int) or is_ascii_digits(rule):
            i = int(rule)
            if i < len(rules):
                return i, rules[i]
            raise GpuaasError("%s has no rule %d (its rules: %s)" % (ref, i, listed))
        for i, r in enumerate(rules):
            if r.get("name") == rule:
                return i, r
        raise GpuaasError("%s has no rule named %r (its rules: %s)" % (ref, rule, listed))
    if backend is not None:
        having = [(i, r) for i, r in enumerate(rules)
                  if any(backend_key(b, ns) == backend for b in r.get("backendRefs") or [])]
        if len(having) == 1:
            return having[0]
        if len(having) > 1:
            raise GpuaasError("%s: %d rules send traffic to %s (%s); say which one with rule"
                              % (ref, len(having), backend, "; ".join(describe_rule(i, r) for i, r in having)))
    if len(rules) == 1:
        return 0, rules[0]
    raise GpuaasError("%s: cannot tell which rule to use (its rules: %s); say which one with rule" % (ref, listed))
