#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: http_route_info
short_description: The rules, weights, parent status and backend pods of Gateway API HTTPRoutes
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Reports, per C(HTTPRoute), each rule with its backends, their weights and their shares as percentages, which
    rules and backends M(gpuaas.orchestration.http_route) owns, and the traffic shift of the rule
    (M(gpuaas.orchestration.traffic_shift)) with its phase and step.
  - The status of each parent (Gateway) as a gateway controller reports it - C(Accepted) and C(ResolvedRefs), with
    their reasons and whether they judge the current generation - and a verdict over them
    (C(passed), C(failed), C(pending), or C(not_reported) when no controller reports any).
  - For each InferencePool or Service backend, the pods it selects and how many are Ready (one GET and one LIST per
    backend; O(pods=false) leaves them out).
  - Reads only.
options:
  name:
    description: Only this route. Left out, every route of O(namespace).
    type: str
  namespace:
    description: Namespace of the routes.
    type: str
    required: true
  pods:
    description: Count the pods of each backend.
    type: bool
    default: true
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpuaas.orchestration.attributes.INFO
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Where chat traffic goes
  gpuaas.orchestration.http_route_info:
    name: llama3-chat
    namespace: inference
  register: chat

- name: Say it
  ansible.builtin.debug:
    msg: >-
      {% for b in chat.routes[0].rules[0].backends %}{{ b.name }} {{ b.percent }}%
      ({{ b.pods.ready }}/{{ b.pods.selected }} pods Ready) {% endfor %}
"""

RETURN = r"""
routes:
  description: One entry per route.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the route.
      type: str
    namespace:
      description: Namespace of the route.
      type: str
    hostnames:
      description: Its host names.
      type: list
      elements: str
    parents:
      description:
        - Per parent the controller reports, C(parent), C(controller) and C(conditions) (per type C(status),
          C(reason), C(message), C(observed_generation), C(current)).
      type: list
      elements: dict
    parents_verdict:
      description: C(passed), C(failed), C(pending) or C(not_reported).
      type: str
      sample: not_reported
    parents_answer:
      description: What the verdict is based on.
      type: str
    rules:
      description:
        - Per rule C(index), C(key), C(name), C(owned), C(matches) (with the API's defaults), C(backends) and
          C(traffic_shift) (null when none).
        - Per backend C(key), C(kind), C(name), C(namespace), C(port), C(weight), C(percent), C(owned) and C(pods)
          (C(found), C(selector), C(selected), C(ready), C(not_ready)).
      type: list
      elements: dict
      sample:
        - index: 0
          name: chat
          backends:
            - {kind: InferencePool, name: llama3-8b-v1, weight: 90, percent: 90.0, pods: {selected: 4, ready: 4}}
            - {kind: InferencePool, name: llama3-8b-v2, weight: 10, percent: 10.0, pods: {selected: 2, ready: 2}}
          traffic_shift: {phase: progressing, percent: 10, steps: [10, 25, 50, 100]}
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.backends import backend_pods
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import HTTP_ROUTE
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.info import route_summary


def body(m):
    p = m.params
    client = m.client
    if p.get("name"):
        route = client.get(HTTP_ROUTE, p["name"], p["namespace"])
        routes = [route] if route is not None else []
    else:
        routes = sorted(client.list(HTTP_ROUTE, p["namespace"]), key=lambda r: r["metadata"]["name"])
    cache = {}

    def pods_of(kind, name, namespace):
        key = (kind, name, namespace)
        if key not in cache:
            cache[key] = backend_pods(client, kind, name, namespace)
        return cache[key]

    return {"changed": False, "routes": [route_summary(r, pods_of if p["pods"] else None) for r in routes]}


def main():
    module = GpuaasModule(dict(
        name=dict(type="str"),
        namespace=dict(type="str", required=True),
        pods=dict(type="bool", default=True),
    ))
    module.run(body)


if __name__ == "__main__":
    main()
