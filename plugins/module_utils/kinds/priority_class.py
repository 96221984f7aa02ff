# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes PriorityClass (scheduling.k8s.io/v1): pod priority for scheduling and preemption.

``DESCRIPTION``: ``KindDescription`` (section ``priority_classes``, rank 20): options ``value``
(required with state present), ``global_default``, ``preemption_policy``, ``description``; the API
server refuses a change of ``value`` or ``preemptionPolicy`` (both immutable), so such a change is
an error before anything is written. (Kueue's own WorkloadPriorityClasses are a kind of their own,
section ``workload_priority_classes``.)
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription, object_meta

PRIORITY_CLASS = KINDS["PriorityClass"]
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
# values above one billion are reserved for the system's own classes (system-node-critical ...)
MAX_USER_VALUE = 1000000000
MIN_VALUE = -2147483648

OPTIONS = dict(
    name=dict(type="str", required=True),
    value=dict(type="int"),
    global_default=dict(type="bool"),
    preemption_policy=dict(type="str", choices=list(PREEMPTION_POLICIES)),
    description=dict(type="str"),
)


def render_priority_class(p):
    return {"apiVersion": PRIORITY_CLASS.api_version, "kind": PRIORITY_CLASS.kind, "metadata": object_meta(p),
            "value": p.get("value"), "globalDefault": p.get("global_default"),
            "preemptionPolicy": p.get("preemption_policy"), "description": p.get("description")}


def validate_priority_class(obj):
    errs = ErrorCollector()
    meta = obj.get("metadata") or {}
    v.check_name(errs, "metadata.name", meta.get("name"))
    name = meta.get("name") or ""
    errs.check(not name.startswith("system-"), "metadata.name", name,
               "the prefix system- is reserved for the system's priority classes")
    v.check_labels(errs, "metadata.labels", meta.get("labels"))
    v.check_annotations(errs, "metadata.annotations", meta.get("annotations"))
    value = obj.get("value")
    errs.check(isinstance(value, int) and not isinstance(value, bool) and MIN_VALUE <= value <= MAX_USER_VALUE,
               "value", value, "must be an integer from %d to %d (higher values are reserved for system classes)"
               % (MIN_VALUE, MAX_USER_VALUE))
    if obj.get("preemptionPolicy") is not None:
        v.check_choice(errs, "preemptionPolicy", obj["preemptionPolicy"], PREEMPTION_POLICIES)
    desc = obj.get("description")
    if desc is not None:
        errs.check(isinstance(desc, str), "description", desc, "must be a string")
    return errs.errors


def immutable_priority_class(obj, live):
    errs = ErrorCollector()
    for field, default in (("value", None), ("preemptionPolicy", "PreemptLowerPriority")):
        want, have = obj.get(field), live.get(field, default)
        if want is not None and have is not None and want != have:
            errs.add(field, want, "is immutable (live: %r): delete and recreate the PriorityClass to change it" % (have,))
    return errs.errors


DESCRIPTION = KindDescription(
    PRIORITY_CLASS, OPTIONS, render_priority_class, validate_priority_class, section="priority_classes", rank=20,
    required_when_present=["value"], immutable=immutable_priority_class)
