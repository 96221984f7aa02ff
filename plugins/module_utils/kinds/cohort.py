# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kueue Cohort (kueue.x-k8s.io/v1beta2): hierarchical quota sharing.

``DESCRIPTION``: options, render, validate (a cohort is not its own parent), ``resourceGroups`` kept
when not given, quantity paths of the quotas. A plan orders cohorts parents first.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import (
    COHORT,
    FAIR_SHARING_QUANTITIES,
    FAIR_SHARING_SPEC,
    RESOURCE_GROUPS_SPEC,
    RESOURCE_GROUP_QUANTITIES,
    check_fair_sharing,
    check_meta,
    check_ref,
    obj_of,
    render_fair_sharing,
    render_resource_groups,
    validate_resource_groups,
)

OPTIONS = dict(
    name=dict(type="str", required=True),
    parent=dict(type="str"),
    resource_groups=RESOURCE_GROUPS_SPEC,
    fair_sharing=FAIR_SHARING_SPEC,
)


def render_cohort(p):
    spec = {}
    if p.get("parent"):
        spec["parentName"] = p["parent"]
    groups = render_resource_groups(p.get("resource_groups"))
    if groups is not None:
        spec["resourceGroups"] = groups
    if render_fair_sharing(p) is not None:
        spec["fairSharing"] = render_fair_sharing(p)
    return obj_of(COHORT, p, spec)


def validate_cohort(obj):
    errs = ErrorCollector()
    check_meta(errs, obj)
    spec = obj.get("spec") or {}
    parent = spec.get("parentName")
    check_ref(errs, "spec.parentName", parent)
    if parent and parent == (obj.get("metadata") or {}).get("name"):
        errs.add("spec.parentName", parent, "a cohort cannot be its own parent")
    validate_resource_groups(errs, "spec.resourceGroups", spec.get("resourceGroups"), bool(parent), parent_word="parent")
    check_fair_sharing(errs, "spec.fairSharing", spec.get("fairSharing"))
    return errs.errors


DESCRIPTION = KindDescription(
    COHORT, OPTIONS, render_cohort, validate_cohort, section="cohorts", rank=32,
    preserve=[("spec", "resourceGroups")], quantity_paths=RESOURCE_GROUP_QUANTITIES + FAIR_SHARING_QUANTITIES)
