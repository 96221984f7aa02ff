# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Permissions: what a request needs, and what a write would have done when an identity may read
but not write (check mode with the read-only ClusterRole). Pure.

A 403 answer names the user and what it may not do; ``permission_of`` says the same from the
request itself (verb, resource, subresource, API group, namespace), so that a module's error can
say exactly which rule of a ClusterRole is missing.

In check mode the writes are server-side dry runs, and a dry run needs the write permission. An
identity with the read-only ClusterRole (``rbac/``) would fail every check mode that would change
something; instead the client computes the write's result locally (``preview``) and warns that the
API server did not see it: the diff is right for what this collection sets, admission webhooks
and server defaults did not answer.

Public API
----------
``permission_of(method, path, query=None) -> {"verb", "resource", "subresource", "group",
    "namespace", "name"}``: ``resource`` is the plural, ``group`` ``""`` for the core group.
``is_rbac_denial(message) -> bool``: a 403 of the authorizer (not of a namespace being deleted).
``describe_permission(p) -> str``: ``patch on nodes (API group "") cluster-wide``.
``merge_patch(target, patch)``: RFC 7386 JSON merge patch. ``json_patch(target, ops)``: RFC 6902
    (add, remove, replace, test). ``preview_apply(live, body, manager)``: a server-side apply by
    ``manager``: fields it set before and ``body`` leaves out are removed, maps merged, lists
    replaced. ``preview(method, live, body, content_type, manager)``: the result of one write.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

try:
    from urllib.parse import unquote
except ImportError:  # pragma: no cover
    from urllib import unquote  # type: ignore

_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
# the authorizer's answer; other 403s (a namespace being terminated, ...) are not about RBAC
_DENIAL = re.compile(r'User "[^"]*" cannot [a-z]+ resource')


def is_rbac_denial(message):
    """Whether a 403's message is the authorizer's (a missing permission)."""
    return bool(_DENIAL.search(message or ""))


def permission_of(method, path, query=None):
    """The RBAC rule a request needs, from its method and REST path."""
    parts = [unquote(p) for p in path.split("?", 1)[0].strip("/").split("/") if p]
    group = ""
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        group = parts[1] if len(parts) > 1 else ""
        rest = parts[3:]
    else:
        rest = parts
    namespace = None
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
        namespace = rest[1]
        rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if resource == "namespaces" and len(rest) == 2:
        name = rest[1]
    if method == "GET":
        verb = "get" if name else ("watch" if (query or {}).get("watch") else "list")
    elif method == "DELETE" and not name:
        verb = "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return {"verb": verb, "resource": resource, "subresource": subresource, "group": group,
            "namespace": namespace, "name": name}


def describe_permission(p):
    resource = p["resource"] + ("/" + p["subresource"] if p.get("subresource") else "")
    where = "in namespace %s" % p["namespace"] if p.get("namespace") else "cluster-wide"
    return "%s on %s (API group %s) %s" % (p["verb"], resource, '"%s"' % p["group"], where)


def merge_patch(target, patch):
    """RFC 7386: maps merged, ``None`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _pointer(path):
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def json_patch(target, ops):
    """RFC 6902 add/remove/replace/test; an operation that does not apply raises ValueError."""
    doc = copy.deepcopy(target)
    for op in ops or []:
        keys = _pointer(op.get("path", ""))
        if not keys:
            raise ValueError("json patch: empty path")
        parent = doc
        for key in keys[:-1]:
            parent = parent[int(key)] if isinstance(parent, list) else parent[key]
        last = keys[-1]
        kind = op.get("op")
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(index, copy.deepcopy(op.get("value")))
            elif kind == "remove":
                parent.pop(index)
            elif kind == "replace":
                parent[index] = copy.deepcopy(op.get("value"))
            elif kind == "test":
                if parent[index] != op.get("value"):
                    raise ValueError("json patch: test failed at %s" % op.get("path"))
            else:
                raise ValueError("json patch: unsupported op %r" % kind)
        else:
            if kind in ("add", "replace"):
                if kind == "replace" and last not in parent:
                    raise ValueError("json patch: nothing to replace at %s" % op.get("path"))
                parent[last] = copy.deepcopy(op.get("value"))
            elif kind == "remove":
                if last not in parent:
                    raise ValueError("json patch: nothing to remove at %s" % op.get("path"))
                del parent[last]
            elif kind == "test":
                if parent.get(last) != op.get("value"):
                    raise ValueError("json patch: test failed at %s" % op.get("path"))
            else:
                raise ValueError("json patch: unsupported op %r" % kind)
    return doc


def _owned_fields(live, manager):
    for entry in ((live or {}).get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" and not entry.get("subresource"):
            return entry.get("fieldsV1") or {}
    return {}


def _drop_released(node, fields, body):
    """Remove from ``node`` the map keys ``fields`` (a fieldsV1 map) owns that ``body`` omits."""
    if not isinstance(node, dict) or not isinstance(fields, dict):
        return
    for fkey, child in fields.items():
        if not fkey.startswith("f:"):
            continue   # list items (k:, v:, i:) go with their list, which the body replaces
        key = fkey[2:]
        given = body.get(key) if isinstance(body, dict) else None
        owns_parts = isinstance(child, dict) and any(k.startswith("f:") for k in child)
        if given is None and not owns_parts:
            node.pop(key, None)   # a field it set, now left out
        elif isinstance(node.get(key), dict) and (given is None or isinstance(given, dict)):
            # a map it set some keys of: only those it left out go (others' keys stay)
            _drop_released(node[key], child, given or {})
            if given is None and not node[key]:
                node.pop(key)


def _merge_apply(node, body):
    for key, value in body.items():
        if isinstance(value, dict) and isinstance(node.get(key), dict):
            _merge_apply(node[key], value)
        else:
            node[key] = copy.deepcopy(value)


def preview_apply(live, body, manager):
    out = copy.deepcopy(live) if isinstance(live, dict) else {}
    _drop_released(out, _owned_fields(live, manager), body)
    _merge_apply(out, body or {})
    return out


def preview(method, live, body, content_type, manager):
    """The object a write would return, computed locally (see the module docstring)."""
    if method == "DELETE":
        return {"kind": "Status", "status": "Success", "details": {"note": "computed locally"}}
    if method == "POST":
        return copy.deepcopy(body) if isinstance(body, dict) else {}
    ctype = content_type or ""
    if "apply-patch" in ctype:
        return preview_apply(live, body, manager)
    if "json-patch" in ctype:
        return json_patch(live or {}, body)
    # merge patches, and strategic merge patches approximated as merge patches (lists replaced)
    return merge_patch(live or {}, body)
