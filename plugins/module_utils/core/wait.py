# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bounded waits and condition helpers.

Public API
----------
``wait_for(fetch, predicate, timeout, what, interval=1.0, describe=None, clock=time.monotonic,
sleep=time.sleep) -> last fetched value``
    Calls ``fetch()`` until ``predicate(value)`` is true or ``timeout`` seconds pass, then raises
    ``errors.WaitTimeout`` with ``what`` and ``describe(last_value)`` (default: the conditions of
    an object, or the value itself). ``timeout <= 0`` checks exactly once.
``get_condition(obj, type) -> dict or None``
``condition_status(obj, type) -> "True" | "False" | "Unknown" | None``
``is_condition_true(obj, type) -> bool``
``describe_conditions(obj) -> str``   e.g. ``Active=False (FlavorNotFound: ...)``
``condition_predicate(type, status="True") -> predicate`` for ``wait_for``
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import WaitTimeout


def get_condition(obj, ctype):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def condition_status(obj, ctype):
    c = get_condition(obj, ctype)
    return c.get("status") if c else None


def is_condition_true(obj, ctype):
    return condition_status(obj, ctype) == "True"


def condition_predicate(ctype, status="True"):
    def predicate(obj):
        return condition_status(obj, ctype) == status
    return predicate


def describe_conditions(obj):
    if obj is None:
        return "object not found"
    conds = ((obj or {}).get("status") or {}).get("conditions") or []
    if not conds:
        return "no status conditions yet"
    parts = []
    for c in conds:
        text = "%s=%s" % (c.get("type"), c.get("status"))
        extra = ": ".join(x for x in (c.get("reason"), c.get("message")) if x)
        if extra:
            text += " (%s)" % extra[:300]
        parts.append(text)
    return ", ".join(parts)


def _default_describe(value):
    if value is None:
        return "object not found"
    if isinstance(value, dict) and ("status" in value or "metadata" in value):
        return describe_conditions(value)
    return value


def wait_for(fetch, predicate, timeout, what, interval=1.0, describe=None,
             clock=time.monotonic, sleep=time.sleep):
    """Poll ``fetch`` until ``predicate`` holds; bounded by ``timeout`` seconds."""
    describe = describe or _default_describe
    deadline = clock() + max(0, timeout or 0)
    delay = min(0.2, interval)
    while True:
        value = fetch()
        if predicate(value):
            return value
        now = clock()
        if now >= deadline:
            raise WaitTimeout(what, timeout, describe(value))
        sleep(min(delay, max(0.0, deadline - now)))
        delay = min(interval, delay * 2)
