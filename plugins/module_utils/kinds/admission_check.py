# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kueue AdmissionCheck (kueue.x-k8s.io/v1beta2): a controller that must approve admission.

``DESCRIPTION``: options (``controller_name`` required with state present), render, validate,
immutable ``controllerName``, readiness (Active).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import (
    ACTIVE,
    ADMISSION_CHECK,
    check_meta,
    immutable,
    obj_of,
)

OPTIONS = dict(
    name=dict(type="str", required=True),
    controller_name=dict(type="str"),
    parameters=dict(type="dict", options=dict(
        api_group=dict(type="str", required=True),
        kind=dict(type="str", required=True),
        name=dict(type="str", required=True),
    )),
)


def render_admission_check(p):
    spec = {"controllerName": p.get("controller_name")}
    par = p.get("parameters")
    if par:
        spec["parameters"] = {"apiGroup": par.get("api_group"), "kind": par.get("kind"), "name": par.get("name")}
    return obj_of(ADMISSION_CHECK, p, spec)


def validate_admission_check(obj):
    errs = ErrorCollector()
    check_meta(errs, obj)
    spec = obj.get("spec") or {}
    cn = spec.get("controllerName")
    errs.check(isinstance(cn, str) and 1 <= len(cn) <= 253, "spec.controllerName", cn, "must be a non-empty string of at most 253 characters")
    par = spec.get("parameters")
    if par:
        p = v.dns1123_subdomain_problem(par.get("apiGroup"))
        if p:
            errs.add("spec.parameters.apiGroup", par.get("apiGroup"), p)
        kind = par.get("kind")
        errs.check(isinstance(kind, str) and bool(re.match(r"^[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?$", kind)) and len(kind) <= 63,
                   "spec.parameters.kind", kind, "must be a kind name such as ProvisioningRequestConfig")
        p = v.dns1123_label_problem(par.get("name"))
        if p:
            errs.add("spec.parameters.name", par.get("name"), p)
    return errs.errors


def immutable_admission_check(obj, live):
    errs = ErrorCollector()
    immutable(errs, "spec.controllerName", (obj.get("spec") or {}).get("controllerName"),
              (live.get("spec") or {}).get("controllerName"))
    return errs.errors


DESCRIPTION = KindDescription(
    ADMISSION_CHECK, OPTIONS, render_admission_check, validate_admission_check, section="admission_checks", rank=34,
    required_when_present=["controller_name"], immutable=immutable_admission_check, ready=ACTIVE)
