# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""InferencePool (inference.networking.k8s.io/v1): the model server pods a route sends to, and
the endpoint picker that chooses among them.

``DESCRIPTION``: options, render, validate (selector, target ports, app protocol, endpoint picker
with its failure mode), readiness (every parent that reports status has Accepted and ResolvedRefs).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import check_meta, obj_of
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import INFERENCE_POOL
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.status import PARENTS_READY, describe_parents

APP_PROTOCOLS = ("http", "kubernetes.io/h2c")
FAILURE_MODES = ("FailOpen", "FailClose")

OPTIONS = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
    selector=dict(type="dict"),
    target_ports=dict(type="list", elements="raw"),
    app_protocol=dict(type="str", choices=list(APP_PROTOCOLS)),
    endpoint_picker=dict(type="dict", options=dict(
        name=dict(type="str", required=True),
        kind=dict(type="str", default="Service"),
        group=dict(type="str"),
        port=dict(type="raw"),
        failure_mode=dict(type="str", choices=list(FAILURE_MODES)),
    )),
)


def _port_value(value):
    """A port as sent: ints stay ints, a string of digits becomes one (what templating gives)."""
    if v.is_ascii_digits(value.strip() if isinstance(value, str) else value):
        return int(value)
    return value


def render_inference_pool(p):
    spec = {}
    if p.get("selector") is not None:
        spec["selector"] = {"matchLabels": dict(p["selector"])}
    if p.get("target_ports") is not None:
        spec["targetPorts"] = [{"number": _port_value(t.get("number") if isinstance(t, dict) else t)}
                               for t in p["target_ports"]]
    if p.get("app_protocol"):
        spec["appProtocol"] = p["app_protocol"]
    epp = p.get("endpoint_picker")
    if epp:
        ref = {"name": epp["name"]}
        if epp.get("group") is not None:
            ref["group"] = epp["group"]
        if epp.get("kind"):
            ref["kind"] = epp["kind"]
        if epp.get("port") is not None:
            ref["port"] = {"number": _port_value(epp["port"])}
        if epp.get("failure_mode"):
            ref["failureMode"] = epp["failure_mode"]
        spec["endpointPickerRef"] = ref
    return obj_of(INFERENCE_POOL, p, spec, namespaced=True)


def check_port(errs, field, value):
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
    return errs.check(ok, field, value, "must be a port number from 1 to 65535")


def validate_inference_pool(obj):
    errs = ErrorCollector()
    check_meta(errs, obj, namespaced=True)
    spec = obj.get("spec") or {}
    labels = (spec.get("selector") or {}).get("matchLabels")
    if not labels:
        errs.add("spec.selector.matchLabels", labels,
                 "must select the model server pods with at least one label (an empty selector would select every pod)")
    else:
        v.check_labels(errs, "spec.selector.matchLabels", labels)
        errs.check(len(labels) <= 64, "spec.selector.matchLabels", labels, "must have at most 64 labels")
    ports = spec.get("targetPorts")
    if not ports:
        errs.add("spec.targetPorts", ports, "must list from 1 to 8 ports of the model servers")
    else:
        v.check_max_items(errs, "spec.targetPorts", ports, 8)
        for i, t in enumerate(ports):
            check_port(errs, "spec.targetPorts[%d].number" % i, t.get("number"))
        v.check_unique(errs, "spec.targetPorts", ports, key=lambda t: t.get("number"))
    if spec.get("appProtocol") is not None:
        v.check_choice(errs, "spec.appProtocol", spec["appProtocol"], APP_PROTOCOLS)
    epp = spec.get("endpointPickerRef")
    if epp is not None:
        errs.check(bool(epp.get("name")), "spec.endpointPickerRef.name", epp.get("name"), "is required")
        kind = epp.get("kind") or "Service"
        errs.check(bool(re_kind(kind)), "spec.endpointPickerRef.kind", kind, "must be a kind name such as Service")
        if "port" in epp:
            check_port(errs, "spec.endpointPickerRef.port.number", epp["port"].get("number"))
        elif kind == "Service":
            errs.add("spec.endpointPickerRef.port", None, "is required when the endpoint picker is a Service")
        if epp.get("failureMode") is not None:
            v.check_choice(errs, "spec.endpointPickerRef.failureMode", epp["failureMode"], FAILURE_MODES)
    return errs.errors


def re_kind(kind):
    return isinstance(kind, str) and re.match(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$", kind) and len(kind) <= 63


DESCRIPTION = KindDescription(
    INFERENCE_POOL, OPTIONS, render_inference_pool, validate_inference_pool, section="inference_pools", rank=60,
    required_when_present=["selector", "target_ports"], ready=PARENTS_READY)
DESCRIPTION.describe = describe_parents
