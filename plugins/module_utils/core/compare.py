# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Change detection: does the cluster already hold what this field manager would apply? (pure)

Server-side apply makes the live object hold exactly the applying manager's intent: every field
it sends is set, and every field it sent last time and no longer sends is removed. So a write is
needed when (a) the intent differs from the intent applied last time, or (b) the live object no
longer holds the intent (someone else changed or removed a field).

(a) is the *intent digest*: a hash of what the user asked this field manager to apply (the rendered
    object, without values carried over from the live object; quantities by value), stored on the object
    in the annotation ``applied-intent.gpuaas.io/<field manager>`` (applied with it, so owned by the
    same manager). Any change of the intent changes the digest: a removed map key, a removed list
    item, a field removed inside a list item (also inside an atomic list, where managedFields only
    says "the whole list"), a reordered list, ``"1.10"`` -> ``"1.1"``. No CRD schema is needed to
    know list types or defaults.
(b) is ``differences(desired, live, quantity_paths)``: every field of the intent must be in live
    with the same value. Maps: extra live keys are server-filled defaults and do not count. Lists:
    same length, compared item by item (extra keys inside live items are defaults too). Values are
    compared exactly, except at ``quantity_paths`` (Kubernetes quantities: ``"1Gi" == "1024Mi"``,
    ``"0.5" == "500m"``), where webhooks may rewrite the canonical form.

Public API
----------
``INTENT_ANNOTATION_PREFIX``; ``intent_annotation(manager) -> str``
``without_server_fields(obj, annotations=())``: without status, server metadata, digests.
``intent_digest(obj, quantity_paths=()) -> str``: 32 hex characters over the intent (without the
    digest annotation itself and without server-populated metadata; quantities by value).
``with_intent(obj, manager, digest=None) -> obj``: a copy that carries the digest annotation.
``applied_digest(live, manager) -> str or None``: the digest stored on a live object.
``differences(desired, live, quantity_paths=()) -> [(path, desired_value, live_value)]``: fields
    of ``desired`` that ``live`` does not hold (``path`` is a tuple of keys and indexes).
``path_matches(path, pattern) -> bool``: ``"*"`` in a pattern matches one key or index.
``format_path(path) -> str``: ``spec.resourceGroups[0].flavors[1].resources[0].nominalQuota``.
``change_reason(desired, live, manager, quantity_paths=(), digest=None) -> str or None``: why a write is needed
    (``None`` when nothing is to be written): "not found", "intent changed since the last apply",
    "no intent digest of this field manager on the object", or the first differing fields.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import (
    parse_quantity,
    quantities_equal,
)

INTENT_ANNOTATION_PREFIX = "applied-intent.gpuaas.io/"
_SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields",
                    "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")


def intent_annotation(manager):
    return INTENT_ANNOTATION_PREFIX + manager


def without_server_fields(obj, annotations=()):
    """A copy without status, server-populated metadata, the intent digests and the named
    ``annotations`` (what diffs show and what the digest covers)."""
    out = copy.deepcopy(obj) if obj else {}
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    ann = meta.get("annotations")
    if isinstance(ann, dict):
        for key in [k for k in ann if k.startswith(INTENT_ANNOTATION_PREFIX) or k in annotations]:
            ann.pop(key)
        if not ann:
            meta.pop("annotations")
    return out


def _canonical_quantities(obj, quantity_paths, path=()):
    """``obj`` with every value at a quantity path in one canonical form ("1500m" and "1.5" alike)."""
    if isinstance(obj, dict):
        return dict((k, _canonical_quantities(v, quantity_paths, path + (k,))) for k, v in obj.items())
    if isinstance(obj, list):
        return [_canonical_quantities(v, quantity_paths, path + (i,)) for i, v in enumerate(obj)]
    if quantity_paths and not isinstance(obj, bool) and _is_quantity_path(path, quantity_paths):
        try:
            return "q:" + str(parse_quantity(obj).normalize())
        except (ValueError, TypeError):
            return obj
    return obj


def intent_digest(obj, quantity_paths=()):
    """The digest of an intent: quantities at ``quantity_paths`` count by value, not by spelling."""
    canonical = _canonical_quantities(without_server_fields(obj or {}), tuple(quantity_paths))
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def with_intent(obj, manager, digest=None):
    """A copy of ``obj`` carrying ``digest`` (by default the digest of ``obj`` itself)."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    ann = dict(meta.get("annotations") or {})
    ann[intent_annotation(manager)] = digest or intent_digest(obj)
    meta["annotations"] = ann
    return out


def applied_digest(live, manager):
    return (((live or {}).get("metadata") or {}).get("annotations") or {}).get(intent_annotation(manager))


def path_matches(path, pattern):
    if len(path) != len(pattern):
        return False
    return all(p == "*" or p == k for k, p in zip(path, pattern))


def _is_quantity_path(path, quantity_paths):
    return any(path_matches(path, pattern) for pattern in quantity_paths)


def _scalar_equal(a, b, quantity):
    if quantity:
        return quantities_equal(a, b)
    if isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        # "1" is not 1, True is not "True" nor 1
        return type(a) is type(b) and a == b
    return a == b  # numbers (1 == 1.0), None


def differences(desired, live, quantity_paths=(), path=()):
    """Fields of ``desired`` that ``live`` does not hold, see the module doc."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return [(path, desired, live)]
        out = []
        for key, value in desired.items():
            if key not in live:
                # the API server drops empty maps and lists (omitempty): not a difference
                if value in ({}, []):
                    continue
                out.append((path + (key,), value, None))
                continue
            out.extend(differences(value, live[key], quantity_paths, path + (key,)))
        return out
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return [(path, desired, live)]
        out = []
        for i, (d, l) in enumerate(zip(desired, live)):
            out.extend(differences(d, l, quantity_paths, path + (i,)))
        return out
    if _scalar_equal(desired, live, _is_quantity_path(path, quantity_paths)):
        return []
    return [(path, desired, live)]


def format_path(path):
    out = ""
    for key in path:
        if isinstance(key, int):
            out += "[%d]" % key
        elif "." in key or "/" in key:
            out += "[%s]" % json.dumps(key)
        else:
            out += ("." if out else "") + key
    return out


def change_reason(desired, live, manager, quantity_paths=(), digest=None):
    """Why ``desired`` (digest annotation not yet added) must be applied, or None. ``digest``: the
    digest of the intent, when it is not ``desired`` itself (values a module carried over from the
    live object, such as a paused NodePool's budgets or quotas not given, are not intent)."""
    if live is None:
        return "not found"
    stored = applied_digest(live, manager)
    if stored is None:
        return "no intent digest of field manager %s on the object" % manager
    if stored != (digest or intent_digest(desired, quantity_paths)):
        return "intent changed since the last apply"
    diffs = differences(desired, live, quantity_paths)
    if diffs:
        shown = ", ".join("%s (want %s, live %s)" % (format_path(p), json.dumps(d, default=str)[:80],
                                                     json.dumps(l, default=str)[:80]) for p, d, l in diffs[:5])
        return "live object differs: %s%s" % (shown, " and %d more" % (len(diffs) - 5) if len(diffs) > 5 else "")
    return None
