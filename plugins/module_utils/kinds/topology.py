# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kueue Topology (kueue.x-k8s.io/v1beta2): levels of node labels for topology-aware scheduling.

``DESCRIPTION``: options (``levels`` required with state present), render, validate, immutable levels.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import (
    TOPOLOGY,
    check_meta,
    immutable,
    obj_of,
)

OPTIONS = dict(
    name=dict(type="str", required=True),
    levels=dict(type="list", elements="str"),
)


def render_topology(p):
    levels = []
    for lv in p.get("levels") or []:
        if isinstance(lv, dict):
            levels.append({"nodeLabel": lv.get("node_label", lv.get("nodeLabel"))})
        else:
            levels.append({"nodeLabel": lv})
    return obj_of(TOPOLOGY, p, {"levels": levels})


def validate_topology(obj):
    errs = ErrorCollector()
    check_meta(errs, obj)
    levels = (obj.get("spec") or {}).get("levels") or []
    errs.check(1 <= len(levels) <= 16, "spec.levels", levels, "must have between 1 and 16 levels")
    labels = [lv.get("nodeLabel") for lv in levels]
    for i, lab in enumerate(labels):
        p = v.qualified_name_problem(lab)
        if p:
            errs.add("spec.levels[%d].nodeLabel" % i, lab, p)
        if lab in labels[:i]:
            errs.add("spec.levels[%d].nodeLabel" % i, lab, "duplicate level")
        if lab == "kubernetes.io/hostname" and i != len(labels) - 1:
            errs.add("spec.levels[%d].nodeLabel" % i, lab, "kubernetes.io/hostname can only be the lowest (last) level")
    return errs.errors


def immutable_topology(obj, live):
    errs = ErrorCollector()
    immutable(errs, "spec.levels", (obj.get("spec") or {}).get("levels"), (live.get("spec") or {}).get("levels"))
    return errs.errors


DESCRIPTION = KindDescription(
    TOPOLOGY, OPTIONS, render_topology, validate_topology, section="topologies", rank=30,
    required_when_present=["levels"], immutable=immutable_topology)
