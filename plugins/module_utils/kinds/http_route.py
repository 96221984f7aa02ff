# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTPRoute (gateway.networking.k8s.io/v1) with weighted backends of kind InferencePool or Service.

``spec.rules`` and each rule's ``backendRefs`` are atomic lists: server-side apply replaces them
whole, and every field manager that applies them takes the whole list. So the write is a
read-modify-write (``adapt``): the rules this collection owns are replaced by the desired ones, a
rule it owned and no longer wants is removed, every other rule stays where it is, and inside an
owned rule the backends of others stay too. What it owns is recorded on the route
(``OWNED_ANNOTATION``). The write carries the resourceVersion it read, so an edit made between the
read and the write is never overwritten: the API server answers 409 and a rerun converges.

A weight left out keeps its live value (a new backend gets the API's default, 1), and the weights
of a rule under a traffic shift stay what the shift set (with a warning when they differ from the
task's): weights are the shift's to move.

``DESCRIPTION``; pure helpers ``merge_rules(desired, live)`` -> ``(rules, kept)``,
``zero_weight_errors(obj)``, ``backend_refs(obj)`` -> ``[(field, namespace, kind, name)]``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.inference_pool import check_port, re_kind
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import check_meta, obj_of
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import shift as shift_record
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import (
    BACKEND_KINDS,
    HTTP_ROUTE,
    OWNED_ANNOTATION,
    backend_key,
    encode_owned,
    group_of_kind,
    owned_parts,
    parse_weight,
    rule_key,
    weight_problem,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.status import PARENTS_READY, describe_parents

PATH_TYPES = ("Exact", "PathPrefix", "RegularExpression")
MATCH_TYPES = ("Exact", "RegularExpression")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
HOSTNAME_RE = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")

_NAME_VALUE = dict(name=dict(type="str", required=True), value=dict(type="str", required=True),
                   type=dict(type="str"))

OPTIONS = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
    parent_refs=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str"),
        section_name=dict(type="str"),
        port=dict(type="raw"),
        kind=dict(type="str"),
        group=dict(type="str"),
    )),
    hostnames=dict(type="list", elements="str"),
    rules=dict(type="list", elements="dict", options=dict(
        name=dict(type="str"),
        matches=dict(type="list", elements="dict", options=dict(
            path=dict(type="dict", options=dict(type=dict(type="str"), value=dict(type="str"))),
            headers=dict(type="list", elements="dict", options=copy.deepcopy(_NAME_VALUE)),
            query_params=dict(type="list", elements="dict", options=copy.deepcopy(_NAME_VALUE)),
            method=dict(type="str"),
        )),
        backend_refs=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True),
            kind=dict(type="str", default="Service"),
            group=dict(type="str"),
            namespace=dict(type="str"),
            port=dict(type="raw"),
            weight=dict(type="raw"),
        )),
        filters=dict(type="list", elements="dict"),
        timeouts=dict(type="dict", options=dict(request=dict(type="str"), backend_request=dict(type="str"))),
    )),
)


def _int_or_raw(value):
    if v.is_ascii_digits(value.strip() if isinstance(value, str) else value):
        return int(value)
    return value


def _name_values(items):
    out = []
    for h in items or []:
        d = {"name": h.get("name"), "value": h.get("value")}
        if h.get("type"):
            d["type"] = h["type"]
        out.append(d)
    return out


def render_match(m):
    out = {}
    if m.get("path"):
        out["path"] = dict((k, val) for k, val in m["path"].items() if val is not None)
    if m.get("headers"):
        out["headers"] = _name_values(m["headers"])
    if m.get("query_params"):
        out["queryParams"] = _name_values(m["query_params"])
    if m.get("method"):
        out["method"] = m["method"]
    return out


def render_backend(b):
    kind = b.get("kind") or "Service"
    ref = {"group": b.get("group") if b.get("group") is not None else group_of_kind(kind), "kind": kind,
           "name": b.get("name")}
    if b.get("namespace"):
        ref["namespace"] = b["namespace"]
    if b.get("port") is not None:
        ref["port"] = _int_or_raw(b["port"])
    if b.get("weight") is not None:
        w = b["weight"]
        ref["weight"] = parse_weight(w) if parse_weight(w) is not None else w
    return ref


def render_rule(r):
    rule = {}
    if r.get("name"):
        rule["name"] = r["name"]
    if r.get("matches"):
        rule["matches"] = [render_match(m) for m in r["matches"]]
    if r.get("filters"):
        rule["filters"] = copy.deepcopy(r["filters"])
    rule["backendRefs"] = [render_backend(b) for b in r.get("backend_refs") or []]
    t = r.get("timeouts") or {}
    timeouts = dict((k, val) for k, val in (("request", t.get("request")), ("backendRequest", t.get("backend_request")))
                    if val)
    if timeouts:
        rule["timeouts"] = timeouts
    return rule


def render_http_route(p):
    spec = {}
    if p.get("parent_refs") is not None:
        spec["parentRefs"] = []
        for ref in p["parent_refs"]:
            d = {"name": ref.get("name")}
            for opt, key in (("namespace", "namespace"), ("section_name", "sectionName"), ("kind", "kind"),
                             ("group", "group")):
                if ref.get(opt):
                    d[key] = ref[opt]
            if ref.get("port") is not None:
                d["port"] = _int_or_raw(ref["port"])
            spec["parentRefs"].append(d)
    if p.get("hostnames") is not None:
        spec["hostnames"] = list(p["hostnames"])
    obj = obj_of(HTTP_ROUTE, p, spec, namespaced=True)
    if p.get("rules") is not None:
        spec["rules"] = [render_rule(r) for r in p["rules"]]
        ns = p.get("namespace")
        owned = dict((rule_key(r), [backend_key(b, ns) for b in r["backendRefs"]]) for r in spec["rules"])
        ann = obj["metadata"].setdefault("annotations", {})
        ann[OWNED_ANNOTATION] = encode_owned([rule_key(r) for r in spec["rules"]], owned)
    return obj


def _check_name_values(errs, field, items):
    for i, h in enumerate(items or []):
        f = "%s[%d]" % (field, i)
        errs.check(isinstance(h.get("name"), str) and bool(HEADER_NAME_RE.match(h.get("name") or "")),
                   f + ".name", h.get("name"), "must be an HTTP header or query parameter name")
        errs.check(bool(h.get("value")), f + ".value", h.get("value"), "is required")
        if h.get("type") is not None:
            v.check_choice(errs, f + ".type", h["type"], MATCH_TYPES)
    v.check_unique(errs, field, items, key=lambda h: str(h.get("name")).lower())


def check_match(errs, field, m):
    path = m.get("path")
    if path:
        ptype = path.get("type") or "PathPrefix"
        v.check_choice(errs, field + ".path.type", ptype, PATH_TYPES)
        value = path.get("value", "/")
        if ptype in ("Exact", "PathPrefix"):
            errs.check(isinstance(value, str) and value.startswith("/") and "//" not in value,
                       field + ".path.value", value, "must be an absolute path starting with / (without //)")
    _check_name_values(errs, field + ".headers", m.get("headers"))
    _check_name_values(errs, field + ".queryParams", m.get("queryParams"))
    if m.get("method") is not None:
        v.check_choice(errs, field + ".method", m["method"], METHODS)


def check_backend(errs, field, b, port_required=True):
    kind = b.get("kind") or "Service"
    if not v.check_choice(errs, field + ".kind", kind, BACKEND_KINDS):
        return
    group = b.get("group") or ""
    errs.check(group == group_of_kind(kind), field + ".group", group,
               "must be %r for kind %s" % (group_of_kind(kind), kind))
    v.check_name(errs, field + ".name", b.get("name"))
    if b.get("namespace") is not None:
        v.check_name(errs, field + ".namespace", b["namespace"], kind="label")
    if "port" in b:
        check_port(errs, field + ".port", b["port"])
    elif kind == "Service" and port_required:
        errs.add(field + ".port", None, "is required for a Service backend")
    if "weight" in b:
        errs.check(weight_problem(b["weight"]) is None, field + ".weight", b["weight"], weight_problem(b["weight"]))


def validate_http_route(obj):
    errs = ErrorCollector()
    check_meta(errs, obj, namespaced=True)
    spec = obj.get("spec") or {}
    for i, ref in enumerate(spec.get("parentRefs") or []):
        f = "spec.parentRefs[%d]" % i
        v.check_name(errs, f + ".name", ref.get("name"))
        if ref.get("namespace") is not None:
            v.check_name(errs, f + ".namespace", ref["namespace"], kind="label")
        if ref.get("kind") is not None:
            errs.check(bool(re_kind(ref["kind"])), f + ".kind", ref["kind"], "must be a kind name such as Gateway")
        if "port" in ref:
            check_port(errs, f + ".port", ref["port"])
    v.check_max_items(errs, "spec.parentRefs", spec.get("parentRefs"), 32)
    for i, h in enumerate(spec.get("hostnames") or []):
        errs.check(isinstance(h, str) and bool(HOSTNAME_RE.match(h)) and len(h) <= 253, "spec.hostnames[%d]" % i, h,
                   "must be a lowercase DNS name, optionally starting with *.")
    v.check_max_items(errs, "spec.hostnames", spec.get("hostnames"), 16)
    rules = spec.get("rules")
    if rules is not None:
        errs.check(len(rules) >= 1, "spec.rules", rules, "must have at least one rule")
        v.check_max_items(errs, "spec.rules", rules, 16)
        for i, r in enumerate(rules):
            f = "spec.rules[%d]" % i
            if r.get("name") is not None:
                v.check_name(errs, f + ".name", r["name"])
            v.check_max_items(errs, f + ".matches", r.get("matches"), 64)
            for j, m in enumerate(r.get("matches") or []):
                check_match(errs, "%s.matches[%d]" % (f, j), m)
            v.check_max_items(errs, f + ".backendRefs", r.get("backendRefs"), 16)
            for j, b in enumerate(r.get("backendRefs") or []):
                check_backend(errs, "%s.backendRefs[%d]" % (f, j), b)
            v.check_unique(errs, f + ".backendRefs", r.get("backendRefs"),
                           key=lambda b: backend_key(b, obj["metadata"].get("namespace")))
        v.check_unique(errs, "spec.rules", rules, key=rule_key)
    return errs.errors


def zero_weight_errors(obj):
    """Rules whose backends all have weight 0 (such a rule answers every request with an error)."""
    errs = ErrorCollector()
    for i, r in enumerate((obj.get("spec") or {}).get("rules") or []):
        refs = r.get("backendRefs") or []
        weights = [b.get("weight", 1) for b in refs]
        if refs and all(parse_weight(w) == 0 for w in weights):
            errs.add("spec.rules[%d].backendRefs" % i, weights,
                     "every backend has weight 0, so the rule would refuse all its traffic "
                     "(set allow_zero_weights: true if that is what you want)")
    return errs.errors


def backend_refs(obj):
    """``[(field, namespace, kind, name)]`` of every backend of the desired rules."""
    ns = obj["metadata"].get("namespace")
    out = []
    for i, r in enumerate((obj.get("spec") or {}).get("rules") or []):
        for j, b in enumerate(r.get("backendRefs") or []):
            out.append(("spec.rules[%d].backendRefs[%d].name" % (i, j), b.get("namespace") or ns,
                        b.get("kind") or "Service", b.get("name")))
    return out


def _merge_backends(desired_rule, live_rule, owned_before, namespace, shifted, notes, where):
    live_refs = live_rule.get("backendRefs") or []
    live_by_key = dict((backend_key(b, namespace), b) for b in live_refs)
    wanted = [backend_key(b, namespace) for b in desired_rule.get("backendRefs") or []]
    out = []
    for b in desired_rule.get("backendRefs") or []:
        b = dict(b)
        key = backend_key(b, namespace)
        live_b = live_by_key.get(key)
        held = shifted.get(key)
        if held is not None and live_b is not None and (
                held["phase"] in shift_record.ACTIVE_PHASES or b.get("weight") in (None, held["baseline"])):
            live_w = live_b.get("weight", 1)
            if "weight" in b and b["weight"] != live_w and held["phase"] in shift_record.ACTIVE_PHASES:
                notes.append("%s: the weight of %s stays %s, not %s: traffic shift %s moves it (%s)" % (
                    where, key, live_w, b["weight"], shifted[key]["name"], shifted[key]["phase"]))
            b["weight"] = live_w
        elif "weight" not in b and live_b is not None and "weight" in live_b:
            b["weight"] = live_b["weight"]
        out.append(b)
    kept = []
    for b in live_refs:
        key = backend_key(b, namespace)
        if key not in wanted and key not in owned_before:
            out.append(b)
            kept.append(key)
    rule = dict(desired_rule)
    rule["backendRefs"] = out
    return rule, kept


def merge_rules(desired, live):
    """The rules to send: the desired (owned) rules in place of the live ones with their key,
    rules this collection owned and no longer wants removed, every other live rule kept; inside an
    owned rule, backends of others kept. Returns ``(rules, {"rules": [...], "backends": [...]},
    notes)`` with what was kept. Pure."""
    namespace = live["metadata"].get("namespace")
    before = owned_parts(live)
    desired_rules = (desired.get("spec") or {}).get("rules") or []
    desired_by_key = dict((rule_key(r), r) for r in desired_rules)
    kept = {"rules": [], "backends": []}
    notes = []
    out, placed = [], set()
    ann = (live.get("metadata") or {}).get("annotations") or {}
    for live_rule in (live.get("spec") or {}).get("rules") or []:
        key = rule_key(live_rule)
        if key in desired_by_key:
            record = shift_record.decode(ann.get(shift_record.annotation_for(key)))
            shifted = shift_record.shifted_backends(record)
            rule, kept_b = _merge_backends(desired_by_key[key], live_rule, before["backends"].get(key) or [],
                                           namespace, shifted, notes, "rule %s" % key)
            out.append(rule)
            kept["backends"].extend("%s %s" % (key, b) for b in kept_b)
            placed.add(key)
        elif key in before["rules"]:
            continue  # ours before, not wanted any more: removed
        else:
            out.append(live_rule)
            kept["rules"].append(key)
    out.extend(r for r in desired_rules if rule_key(r) not in placed)
    return out, kept, notes


def adapt_http_route(obj, live):
    spec = obj.get("spec") or {}
    if "rules" not in spec:
        return obj, []
    rules, _kept, notes = merge_rules(obj, live)
    out = copy.deepcopy(obj)
    out["spec"]["rules"] = rules
    # a precondition: an edit made since the read (a rule of someone else's) is never overwritten
    out["metadata"]["resourceVersion"] = live["metadata"].get("resourceVersion")
    return out, notes


DESCRIPTION = KindDescription(
    HTTP_ROUTE, OPTIONS, render_http_route, validate_http_route, section="http_routes", rank=65,
    ready=PARENTS_READY,
    # a task without rules (hostnames only) keeps the record of the rules it owns
    preserve=[("spec", "parentRefs"), ("spec", "hostnames"), ("spec", "rules"),
              ("metadata", "annotations", OWNED_ANNOTATION)],
    adapt=adapt_http_route)
DESCRIPTION.describe = describe_parents
