# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kueue WorkloadPriorityClass (kueue.x-k8s.io/v1beta2): priority of workloads for queueing and preemption.

``DESCRIPTION``: options (``value`` required with state present), render, validate (32-bit value).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import (
    INT32_MAX,
    INT32_MIN,
    WORKLOAD_PRIORITY_CLASS,
    check_meta,
    obj_of,
)

OPTIONS = dict(
    name=dict(type="str", required=True),
    value=dict(type="int"),
    description=dict(type="str"),
)


def render_workload_priority_class(p):
    obj = obj_of(WORKLOAD_PRIORITY_CLASS, p, None)
    obj.pop("spec")
    obj["value"] = p.get("value")
    if p.get("description") is not None:
        obj["description"] = p["description"]
    return obj


def validate_workload_priority_class(obj):
    errs = ErrorCollector()
    check_meta(errs, obj)
    value = obj.get("value")
    errs.check(isinstance(value, int) and not isinstance(value, bool) and INT32_MIN <= value <= INT32_MAX,
               "value", value, "must be a 32-bit integer")
    desc = obj.get("description")
    if desc is not None:
        errs.check(isinstance(desc, str) and len(desc) <= 2048, "description", desc, "must be a string of at most 2048 characters")
    return errs.errors


DESCRIPTION = KindDescription(
    WORKLOAD_PRIORITY_CLASS, OPTIONS, render_workload_priority_class, validate_workload_priority_class,
    section="workload_priority_classes", rank=33, required_when_present=["value"])
