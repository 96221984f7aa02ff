# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validation helpers shared by all modules (pure functions).

Two layers:

* ``*_problem(value) -> str or None``: ``None`` when valid, else the problem as text.
* ``check_*(errs, field, value, ...)``: add a ``ValidationError`` to an
  ``errors.ErrorCollector`` when invalid and return ``True`` when valid.

Public API
----------
``dns1123_label_problem``, ``dns1123_subdomain_problem``, ``qualified_name_problem`` (label and
annotation keys, taint keys), ``label_value_problem``, ``quantity_problem`` (re-export),
``duration_problem`` / ``parse_duration(text) -> seconds`` (Go durations such as ``1h30m``),
``check_name(errs, field, value, kind="subdomain"|"label")``, ``check_labels(errs, field, dict)``,
``check_annotations``, ``check_quantity(errs, field, value, allow_negative=False)``,
``check_resources(errs, field, dict)`` (resource name -> quantity),
``check_taint(errs, field, taint)``, ``check_taints(errs, field, list, max_items=None)``,
``check_toleration(errs, field, tol)``, ``check_tolerations``,
``check_label_selector(errs, field, selector)`` (matchLabels / matchExpressions),
``check_node_selector_requirement(errs, field, req, operators=NODE_SELECTOR_OPERATORS)``,
``check_duration(errs, field, value)``, ``check_choice(errs, field, value, choices)``,
``check_max_items(errs, field, items, limit)``, ``check_unique(errs, field, items, key)``.
Constants: ``TAINT_EFFECTS``, ``TOLERATION_OPERATORS``, ``SELECTOR_OPERATORS``,
``NODE_SELECTOR_OPERATORS``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import (
    parse_quantity,
    quantity_problem,
)

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Equal", "Exists")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
NODE_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")

_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QNAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DURATION_RE = re.compile(r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, u"\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

__all__ = [
    "quantity_problem", "parse_quantity",
]


def dns1123_label_problem(value):
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > 63:
        return "must be at most 63 characters (has %d)" % len(value)
    if not _LABEL_RE.match(value):
        return "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit"
    return None


def dns1123_subdomain_problem(value):
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > 253:
        return "must be at most 253 characters (has %d)" % len(value)
    if not _SUBDOMAIN_RE.match(value):
        return ("must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', "
                "starting and ending with a letter or digit")
    return None


def qualified_name_problem(value):
    """Label/annotation/taint key: ``[prefix/]name``."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    parts = value.split("/")
    if len(parts) > 2:
        return "must be a qualified name '[prefix/]name' with at most one '/'"
    name = parts[-1]
    if len(parts) == 2:
        p = dns1123_subdomain_problem(parts[0])
        if p:
            return "prefix " + p
    if not name:
        return "name part must not be empty"
    if len(name) > 63:
        return "name part must be at most 63 characters"
    if not _QNAME_RE.match(name):
        return ("name part must consist of alphanumerics, '-', '_' or '.', "
                "starting and ending with an alphanumeric")
    return None


def label_value_problem(value):
    if not isinstance(value, str):
        return "must be a string"
    if value == "":
        return None
    if len(value) > 63:
        return "must be at most 63 characters"
    if not _QNAME_RE.match(value):
        return "must consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
    return None


def parse_duration(text):
    """Parse a Go duration (``90s``, ``1h30m``, ``0``) into seconds; raise ValueError."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError("must be a duration string such as 30s, 5m or 1h30m")
    s = text
    sign = 1
    if s.startswith("-"):
        sign, s = -1, s[1:]
    elif s.startswith("+"):
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError("must be a duration string such as 30s, 5m or 1h30m")
    total = 0.0
    while s:
        m = _DURATION_RE.match(s)
        if not m:
            raise ValueError("must be a duration string such as 30s, 5m or 1h30m")
        total += float(m.group(1)) * _DURATION_UNITS[m.group(3)]
        s = s[m.end():]
    return sign * total


def duration_problem(value):
    try:
        parse_duration(value)
    except ValueError as e:
        return str(e)
    return None


def check_name(errs, field, value, kind="subdomain"):
    problem = dns1123_label_problem(value) if kind == "label" else dns1123_subdomain_problem(value)
    return errs.check(problem is None, field, value, problem)


def check_choice(errs, field, value, choices):
    return errs.check(value in choices, field, value, "must be one of %s" % ", ".join(str(c) for c in choices))


def check_max_items(errs, field, items, limit):
    n = len(items or [])
    return errs.check(n <= limit, field, items, "must have at most %d items (has %d)" % (limit, n))


def check_unique(errs, field, items, key=None):
    seen = set()
    ok = True
    for i, item in enumerate(items or []):
        k = key(item) if key else item
        # a value of the wrong type (a list where a name belongs) is another check's error, not a crash
        h = k if isinstance(k, (str, int, float, bool, tuple, type(None))) else repr(k)
        if h in seen:
            ok = errs.add("%s[%d]" % (field, i), k, "duplicate entry")
        seen.add(h)
    return ok


def check_quantity(errs, field, value, allow_negative=False):
    problem = quantity_problem(value)
    if problem is None and not allow_negative and parse_quantity(value) < 0:
        problem = "must not be negative"
    return errs.check(problem is None, field, value, problem)


def check_resources(errs, field, resources):
    if resources is None:
        return True
    if not isinstance(resources, dict):
        return errs.add(field, resources, "must be a mapping of resource name to quantity")
    ok = True
    for k, v in resources.items():
        p = qualified_name_problem(k)
        if p:
            ok = errs.add("%s[%r]" % (field, k), k, "resource name " + p)
        ok = check_quantity(errs, "%s[%r]" % (field, k), v) and ok
    return ok


def _check_kv(errs, field, mapping, what, value_check):
    if mapping is None:
        return True
    if not isinstance(mapping, dict):
        return errs.add(field, mapping, "must be a mapping of %s keys to values" % what)
    ok = True
    for k, v in mapping.items():
        p = qualified_name_problem(k)
        if p:
            ok = errs.add("%s[%r]" % (field, k), k, "%s key %s" % (what, p))
        if value_check:
            vp = value_check(v)
            if vp:
                ok = errs.add("%s[%r]" % (field, k), v, "%s value %s" % (what, vp))
    return ok


def check_labels(errs, field, labels):
    return _check_kv(errs, field, labels, "label", label_value_problem)


def check_annotations(errs, field, annotations):
    return _check_kv(errs, field, annotations, "annotation",
                     lambda v: None if isinstance(v, str) else "must be a string")


def check_taint(errs, field, taint):
    if not isinstance(taint, dict):
        return errs.add(field, taint, "must be a mapping with key, value and effect")
    ok = True
    unknown = set(taint) - {"key", "value", "effect", "timeAdded"}
    if unknown:
        ok = errs.add(field, sorted(unknown), "unknown taint fields (allowed: key, value, effect)")
    p = qualified_name_problem(taint.get("key"))
    if p:
        ok = errs.add(field + ".key", taint.get("key"), p)
    if taint.get("value") not in (None, ""):
        vp = label_value_problem(taint.get("value"))
        if vp:
            ok = errs.add(field + ".value", taint.get("value"), vp)
    ok = check_choice(errs, field + ".effect", taint.get("effect"), TAINT_EFFECTS) and ok
    return ok


def check_taints(errs, field, taints, max_items=None):
    if taints is None:
        return True
    if not isinstance(taints, list):
        return errs.add(field, taints, "must be a list of taints")
    ok = True
    if max_items is not None:
        ok = check_max_items(errs, field, taints, max_items)
    for i, t in enumerate(taints):
        ok = check_taint(errs, "%s[%d]" % (field, i), t) and ok
    if ok:
        ok = check_unique(errs, field, taints, key=lambda t: (t.get("key"), t.get("effect")))
    return ok


def check_toleration(errs, field, tol):
    if not isinstance(tol, dict):
        return errs.add(field, tol, "must be a mapping")
    ok = True
    unknown = set(tol) - {"key", "operator", "value", "effect", "tolerationSeconds"}
    if unknown:
        ok = errs.add(field, sorted(unknown), "unknown toleration fields")
    op = tol.get("operator") or "Equal"
    ok = check_choice(errs, field + ".operator", op, TOLERATION_OPERATORS) and ok
    key = tol.get("key")
    if key not in (None, ""):
        p = qualified_name_problem(key)
        if p:
            ok = errs.add(field + ".key", key, p)
    elif op != "Exists":
        ok = errs.add(field + ".key", key, "an empty key requires operator Exists")
    if op == "Exists" and tol.get("value") not in (None, ""):
        ok = errs.add(field + ".value", tol.get("value"), "must be empty when operator is Exists")
    if op == "Equal" and tol.get("value") not in (None, ""):
        vp = label_value_problem(tol.get("value"))
        if vp:
            ok = errs.add(field + ".value", tol.get("value"), vp)
    eff = tol.get("effect")
    if eff not in (None, ""):
        ok = check_choice(errs, field + ".effect", eff, TAINT_EFFECTS) and ok
    if tol.get("tolerationSeconds") is not None:
        ts = tol.get("tolerationSeconds")
        if isinstance(ts, bool) or not isinstance(ts, int):
            ok = errs.add(field + ".tolerationSeconds", ts, "must be an integer")
        if eff != "NoExecute":
            ok = errs.add(field + ".tolerationSeconds", ts, "is only allowed with effect NoExecute")
    return ok


def check_tolerations(errs, field, tolerations, max_items=None):
    if tolerations is None:
        return True
    if not isinstance(tolerations, list):
        return errs.add(field, tolerations, "must be a list of tolerations")
    ok = True
    if max_items is not None:
        ok = check_max_items(errs, field, tolerations, max_items)
    for i, t in enumerate(tolerations):
        ok = check_toleration(errs, "%s[%d]" % (field, i), t) and ok
    return ok


def check_node_selector_requirement(errs, field, req, operators=SELECTOR_OPERATORS):
    if not isinstance(req, dict):
        return errs.add(field, req, "must be a mapping with key, operator and values")
    ok = True
    p = qualified_name_problem(req.get("key"))
    if p:
        ok = errs.add(field + ".key", req.get("key"), p)
    op = req.get("operator")
    if not check_choice(errs, field + ".operator", op, operators):
        return False
    values = req.get("values") or []
    if not isinstance(values, list):
        return errs.add(field + ".values", values, "must be a list")
    if op in ("In", "NotIn") and not values:
        ok = errs.add(field + ".values", values, "must not be empty with operator %s" % op)
    if op in ("Exists", "DoesNotExist") and values:
        ok = errs.add(field + ".values", values, "must be empty with operator %s" % op)
    if op in ("Gt", "Lt"):
        if len(values) != 1:
            ok = errs.add(field + ".values", values, "must have exactly one value with operator %s" % op)
        else:
            try:
                int(str(values[0]))
            except ValueError:
                ok = errs.add(field + ".values[0]", values[0], "must be an integer with operator %s" % op)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            ok = errs.add("%s.values[%d]" % (field, i), v, "must be a string")
    return ok


def check_label_selector(errs, field, selector):
    """A metav1.LabelSelector: ``{matchLabels: {}, matchExpressions: []}`` (``{}`` matches all)."""
    if selector is None:
        return True
    if not isinstance(selector, dict):
        return errs.add(field, selector, "must be a label selector mapping (matchLabels, matchExpressions)")
    ok = True
    unknown = set(selector) - {"matchLabels", "matchExpressions"}
    if unknown:
        ok = errs.add(field, sorted(unknown), "unknown label selector fields (allowed: matchLabels, matchExpressions)")
    ok = check_labels(errs, field + ".matchLabels", selector.get("matchLabels")) and ok
    exprs = selector.get("matchExpressions") or []
    if not isinstance(exprs, list):
        return errs.add(field + ".matchExpressions", exprs, "must be a list")
    for i, e in enumerate(exprs):
        ok = check_node_selector_requirement(errs, "%s.matchExpressions[%d]" % (field, i), e) and ok
    return ok


def check_duration(errs, field, value, allow_negative=False):
    problem = duration_problem(value)
    if problem is None and not allow_negative and parse_duration(value) < 0:
        problem = "must not be negative"
    return errs.check(problem is None, field, value, problem)


def argspec_shape_problems(spec, params, prefix=""):
    """Values that ansible-core 2.19's argument check crashes on instead of reporting them: an
    option of type dict (or a list of dicts) given neither a dict nor a string (a sub-option
    ``parameters: 0`` raises a TypeError), an int option (or list element) given an infinite or
    NaN float (an OverflowError). Each problem names the option path. Pure."""
    out = []
    if not isinstance(params, dict):
        return out
    for name, option in (spec or {}).items():
        value = params.get(name)
        if value is None:
            continue
        path = prefix + name
        if option.get("type") == "list" and isinstance(value, list):
            for i, item in enumerate(value):
                out.extend(_shape_problems(option.get("elements"), option.get("options"), item, "%s[%d]" % (path, i)))
        else:
            out.extend(_shape_problems(option.get("type"), option.get("options"), value, path))
    return out


def _shape_problems(kind, options, value, path):
    """``argspec_shape_problems`` of one value that should be of type ``kind``."""
    if kind == "int" and isinstance(value, float) and not math.isfinite(value):
        return ["%s: must be an integer (got %r)" % (path, value)]
    if kind != "dict":
        return []
    if not isinstance(value, (dict, str)):
        return ["%s: must be a dict (got %s %r)" % (path, type(value).__name__, value)]
    if isinstance(value, dict) and options:
        return argspec_shape_problems(options, value, path + ".")
    return []


def is_ascii_digits(text):
    """A non-empty string of the digits 0-9 (``"²".isdigit()`` is true, ``int("²")`` fails)."""
    return isinstance(text, str) and text.isdigit() and text.isascii()
