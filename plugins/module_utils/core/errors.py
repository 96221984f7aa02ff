# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Errors of the gpuaas.orchestration engine.

Public API
----------
``GpuaasError(msg, **details)``
    Base class. ``to_result()`` returns the extra keys a module puts into ``fail_json``.
``ValidationError(field, value, problem, obj=None)``
    One invalid input. ``str()`` is ``[<obj>: ]<field>: <problem> (got <value!r>)``, for example
    ``spec.resourceGroups[0].flavors[1].resources[0].nominalQuota: must be a Kubernetes
    quantity (got '12x')``. ``for_object(ref)`` names the object (the engine does that when it
    handles several objects), ``to_dict()`` gives ``field``, ``value``, ``problem`` (, ``object``).
``SafetyError(problem, affected=(), field=None, value=None, obj=None)``
    An operation refused because it would hurt running work (quota cut below usage, delete of a
    queue with workloads, ...); ``affected`` names the objects concerned; ``force: true`` skips it.
``ErrorList(errors)``
    Several errors raised together (``.errors``); message lists each one on its own line.
``ErrorCollector``
    Gathers errors over many objects so that nothing is written when any object is invalid::

        errs = ErrorCollector()
        errs.add("spec.x", value, "must be positive")
        errs.check(cond, "spec.y", value, "must ...")   # adds when ``cond`` is false
        with errs.prefix("items[3]"):                   # prefixes fields added inside
            ...
        errs.raise_if_any()                             # raises the single error or ErrorList
``raise_all(errors)``: the same for a list of errors at hand.
``ApiError(action, status, reason, message, body=None, obj=None)``
    An answer of the Kubernetes API carried through (status, reason, message, causes).
    ``permission``: the RBAC rule a 403 of the authorizer says is missing (``with_permission``);
    ``webhook``: the admission webhook the API server could not call (from ``from_exception``).
    ``ApiError.from_exception(exc, action, obj=None)`` builds it from a kubernetes ApiException.
``WaitTimeout(what, timeout, last_seen)``
    A bounded wait ran out; the message says what it waited for and what it saw last.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from contextlib import contextmanager

_WEBHOOK = re.compile(r'failed calling webhook "([^"]+)"')


class GpuaasError(Exception):
    """Base error; ``details`` end up in the module's failure result."""

    def __init__(self, msg, **details):
        super(GpuaasError, self).__init__(msg)
        self.msg = msg
        self.details = details

    def __str__(self):
        return self.msg

    def to_result(self):
        out = {}
        for k, v in self.details.items():
            if v is not None:
                out[k] = v
        return out


def _short(value, limit=200):
    text = repr(value)
    if text.startswith("u'"):
        text = text[1:]
    if len(text) > limit:
        text = text[:limit] + "..."
    return text


class ValidationError(GpuaasError):
    """An invalid value at ``field`` (a path such as ``spec.nodeLabels['a/b']``)."""

    def __init__(self, field, value, problem, obj=None):
        self.field = field
        self.value = value
        self.problem = problem
        self.obj = obj
        super(ValidationError, self).__init__(self.format())

    def format(self):
        head = "%s: " % self.obj if self.obj else ""
        if self.value is _NOVALUE:
            return "%s%s: %s" % (head, self.field, self.problem)
        return "%s%s: %s (got %s)" % (head, self.field, self.problem, _short(self.value))

    def for_object(self, ref):
        """The same error naming the object it belongs to (``ClusterQueue/a: spec...``)."""
        return ValidationError(self.field, self.value, self.problem, obj=ref)

    def with_prefix(self, prefix):
        if not prefix:
            return self
        field = prefix + ("" if self.field.startswith("[") else ".") + self.field if self.field else prefix
        return ValidationError(field, self.value, self.problem, obj=self.obj)

    def to_dict(self):
        d = {"field": self.field, "problem": self.problem}
        if self.value is not _NOVALUE:
            d["value"] = self.value
        if self.obj:
            d["object"] = self.obj
        return d

    def to_result(self):
        return {"errors": [self.to_dict()]}


class _NoValue(object):
    def __repr__(self):
        return "<no value>"


_NOVALUE = _NoValue()
NOVALUE = _NOVALUE


class SafetyError(GpuaasError):
    """A change refused because it would affect running work unless ``force`` is set."""

    def __init__(self, problem, affected=(), field=None, value=_NOVALUE, hint="set force: true to do it anyway",
                 obj=None):
        self.problem = problem
        self.affected = list(affected or [])
        self.field = field
        self.value = value
        self.hint = hint
        self.obj = obj
        parts = ["%s: " % obj] if obj else []
        if field:
            parts.append("%s: " % field)
        parts.append(problem)
        if value is not _NOVALUE:
            parts.append(" (got %s)" % _short(value))
        if self.affected:
            shown = ", ".join(str(a) for a in self.affected[:20])
            more = len(self.affected) - 20
            parts.append("; affected: %s%s" % (shown, " and %d more" % more if more > 0 else ""))
        if hint:
            parts.append("; %s" % hint)
        super(SafetyError, self).__init__("".join(parts))

    def with_prefix(self, prefix):
        return self

    def for_object(self, ref):
        return SafetyError(self.problem, self.affected, self.field, self.value, self.hint, obj=ref)

    def to_dict(self):
        d = {"problem": self.problem, "affected": self.affected, "safety": True}
        if self.obj:
            d["object"] = self.obj
        if self.field:
            d["field"] = self.field
        if self.value is not _NOVALUE:
            d["value"] = self.value
        return d

    def to_result(self):
        return {"errors": [self.to_dict()], "affected": self.affected}


class ErrorList(GpuaasError):
    """Several errors reported together."""

    def __init__(self, errors):
        self.errors = list(errors)
        lines = [str(e) for e in self.errors]
        msg = "%d errors: %s" % (len(lines), "; ".join(lines)) if len(lines) > 1 else (lines[0] if lines else "")
        super(ErrorList, self).__init__(msg)

    def to_result(self):
        out = {"errors": [e.to_dict() if hasattr(e, "to_dict") else {"problem": str(e)} for e in self.errors]}
        affected = []
        for e in self.errors:
            affected.extend(getattr(e, "affected", []) or [])
        if affected:
            out["affected"] = affected
        return out


class ErrorCollector(object):
    """Collects errors of many objects; ``raise_if_any()`` raises them together."""

    def __init__(self):
        self.errors = []
        self._prefixes = []

    def _prefixed(self, field):
        prefix = "".join(self._prefixes)
        if not prefix:
            return field
        if not field:
            return prefix
        return prefix + ("" if field.startswith("[") else ".") + field

    def add(self, field, value, problem):
        self.errors.append(ValidationError(self._prefixed(field), value, problem))
        return False

    def check(self, ok, field, value, problem):
        """Add an error unless ``ok``; return ``ok``."""
        if not ok:
            self.add(field, value, problem)
        return bool(ok)

    def add_error(self, error):
        if isinstance(error, ValidationError):
            error = error.with_prefix("".join(self._prefixes))
        self.errors.append(error)

    def extend(self, errors):
        for e in errors or []:
            self.add_error(e)

    @contextmanager
    def prefix(self, prefix):
        """Prefix the field of every error added inside the block."""
        if self._prefixes and prefix and not prefix.startswith("["):
            prefix = "." + prefix
        self._prefixes.append(prefix)
        try:
            yield self
        finally:
            self._prefixes.pop()

    def __len__(self):
        return len(self.errors)

    def __bool__(self):
        return bool(self.errors)

    __nonzero__ = __bool__

    def raise_if_any(self):
        if not self.errors:
            return
        if len(self.errors) == 1:
            raise self.errors[0]
        raise ErrorList(self.errors)


def raise_all(errors):
    """Raise ``errors`` together (the single error, or an ``ErrorList``); nothing when empty."""
    errs = ErrorCollector()
    errs.extend(errors)
    errs.raise_if_any()


class ApiError(GpuaasError):
    """An error answer of the Kubernetes API (status, reason, message, causes)."""

    def __init__(self, action, status=None, reason=None, message=None, body=None, obj=None):
        self.action = action
        self.status = status
        self.reason = reason
        self.api_message = message
        self.body = body
        self.obj = obj
        self.permission = None
        self.webhook = None
        text = "%s failed" % action
        if obj:
            text += " for %s" % obj
        text += ": "
        if status is not None:
            text += "%s %s: " % (status, reason or "")
        text += message or "(no message)"
        super(ApiError, self).__init__(text, status=status, reason=reason, api_message=message, body=body)

    @classmethod
    def from_exception(cls, exc, action, obj=None):
        status = getattr(exc, "status", None)
        reason = getattr(exc, "reason", None)
        raw = getattr(exc, "body", None)
        body = None
        message = None
        if raw:
            try:
                if isinstance(raw, bytes):
                    raw = raw.decode("utf-8", "replace")
                body = json.loads(raw)
            except (ValueError, TypeError):
                message = str(raw)[:2000]
        if isinstance(body, dict):
            message = body.get("message") or message
            if body.get("reason"):
                reason = body.get("reason")
        if message is None:
            message = str(exc)
        error = cls(action, status=status, reason=reason, message=message, body=body, obj=obj)
        webhook = _WEBHOOK.search(message or "")
        if webhook:
            # the API server could not reach an admission webhook (failurePolicy Fail): say which,
            # and that the request was refused before anything was stored
            error.webhook = webhook.group(1)
            error.details["webhook"] = error.webhook
            error.msg += (" (the admission webhook %s did not answer: is the controller that serves it running? "
                          "the API server stored nothing of this request)" % error.webhook)
        return error

    def with_permission(self, permission, described):
        """A 403 names the RBAC rule that is missing (``access.permission_of``, ``described`` as
        ``access.describe_permission`` says it) and where the rules the modules need are."""
        self.permission = permission
        self.msg = "%s (missing permission: %s; the ClusterRoles in rbac/ of this collection list what its " \
                   "modules need)" % (self.msg, described)
        self.details["missing_permission"] = permission
        return self

    def causes(self):
        if isinstance(self.body, dict):
            return (self.body.get("details") or {}).get("causes") or []
        return []

    def summary(self):
        """The API's answer as a result shows it: ``status``, ``reason``, ``message`` (, ``causes``)."""
        out = {"status": self.status, "reason": self.reason, "message": self.api_message}
        if self.causes():
            out["causes"] = self.causes()
        return out


class WaitTimeout(GpuaasError):
    """A bounded wait ran out."""

    def __init__(self, what, timeout, last_seen=None):
        self.what = what
        self.timeout = timeout
        self.last_seen = last_seen
        msg = "timed out after %ss waiting for %s" % (timeout, what)
        if last_seen is not None:
            msg += "; last seen: %s" % (last_seen if isinstance(last_seen, str) else json.dumps(last_seen, default=str, sort_keys=True)[:1500])
        super(WaitTimeout, self).__init__(msg, waited_for=what, timeout=timeout, last_seen=last_seen)


class FieldConflict(GpuaasError):
    """A server-side apply would take over fields that other field managers set, and the caller
    asked to be told instead (``force_conflicts: false``). ``conflicts``: ``[{"field", "manager"}]``."""

    def __init__(self, obj, conflicts):
        self.obj = obj
        self.conflicts = list(conflicts)
        shown = ", ".join("%s (set by %s)" % (c["field"], c["manager"]) for c in self.conflicts)
        super(FieldConflict, self).__init__(
            "%s: fields set by other field managers would be taken over: %s; nothing was written to this "
            "object (force_conflicts: true takes them over)" % (obj, shown), conflicts=self.conflicts)


class PartialRun(GpuaasError):
    """A run that stopped half-way: ``cause`` (the error) and ``result`` (the engine result of what
    was done before it: ``changed``, ``results``, ``summary``, and ``failed_object`` naming the
    object that failed, the error and the API's answer)."""

    def __init__(self, cause, result):
        self.cause = cause
        self.result = result
        failed = result.get("failed_object") or {}
        done = [r for r in result.get("results") or [] if r.get("action") in ("created", "updated", "deleted")]
        msg = "%s%s" % ("%s: " % failed["ref"] if failed.get("ref") and failed["ref"] not in str(cause) else "", cause)
        if done:
            msg += " (already done before the failure: %s)" % ", ".join(
                "%s %s" % (r["ref"], r["action"]) for r in done[:20])
            if len(done) > 20:
                msg += " and %d more" % (len(done) - 20)
        super(PartialRun, self).__init__(msg)

    def to_result(self):
        out = dict(self.cause.to_result()) if isinstance(self.cause, GpuaasError) else {}
        for key in ("changed", "results", "summary", "failed_object", "failed_stage", "timings", "capacity", "node_taints",
                    "created", "deleted", "created_by_others"):
            if key in self.result:
                out[key] = self.result[key]
        return out
