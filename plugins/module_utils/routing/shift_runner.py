# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The API edge of a traffic shift: read the route, decide (``shift_actions``), write.

The rules and the record go in one JSON merge patch that carries the resourceVersion that was
read: the API server refuses it (409) when the route changed in between, and the action is then
decided again on the route as it is now (at most ``CONFLICT_RETRIES`` times). ``spec.rules`` is
an atomic list, so a merge patch of it replaces it whole - which is why it is built from the
route just read, with every other rule and backend as they were.

Public API
----------
``FIELD_MANAGER`` (``gpuaas-traffic-shift``); ``run_action(client, action, namespace, route, want,
check_mode=False, now=None)`` -> ``(changed, report, route_after)``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ApiError, GpuaasError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing import shift as sh
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import HTTP_ROUTE, rule_key
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.shift_actions import decide, report

FIELD_MANAGER = "gpuaas-traffic-shift"
CONFLICT_RETRIES = 3


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def read_route(client, namespace, name):
    route = client.get(HTTP_ROUTE, name, namespace)
    if route is None:
        raise GpuaasError("HTTPRoute %s/%s not found" % (namespace, name))
    return route


def patch_body(route, decision):
    meta = route["metadata"]
    body = {"metadata": {"resourceVersion": meta.get("resourceVersion")}}
    if decision.rules is not None:
        body["spec"] = {"rules": decision.rules}
    if decision.new_record is not None:
        body["metadata"]["annotations"] = {
            sh.annotation_for(rule_key(decision.rule)): sh.encode(decision.new_record)}
    return body


def run_action(client, action, namespace, name, want, check_mode=False, now=None):
    attempt = 0
    while True:
        route = read_route(client, namespace, name)
        decision = decide(action, route, want, now or utc_now())
        if not decision.writes:
            return False, report(decision), route
        try:
            after = client.patch(HTTP_ROUTE, name, patch_body(route, decision), namespace=namespace,
                                 patch_type="merge", dry_run=check_mode, field_manager=FIELD_MANAGER)
        except ApiError as e:
            if e.status == 409 and attempt < CONFLICT_RETRIES:
                attempt += 1
                continue
            raise
        return True, report(decision), after
