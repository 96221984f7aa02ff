#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: http_route
short_description: Manage the rules of a Gateway API HTTPRoute with weighted InferencePool and Service backends
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Create, update and delete a Gateway API C(HTTPRoute) (C(gateway.networking.k8s.io/v1)) - its parent gateways,
    hostnames, and rules whose backends are C(InferencePool)s or C(Service)s with weights.
  - Changes only what it owns. The rules it sets are identified by their O(rules[].name), or by their matches
    when they have no name; rules of the route it did not set (another team's, or added with kubectl) stay as they
    are, and inside its own rules so do backends it did not set. A rule it set before and is no longer in O(rules)
    is removed. What it owns is recorded on the route in the annotation C(gpuaas.io/owned-route-rules).
  - The write carries the resourceVersion it read, so an edit made between the read and the write is never
    overwritten (the API server answers 409; a rerun converges).
  - Validated before anything is written - weights are integers from 0 to 1000000, backend kinds are C(Service) or
    C(InferencePool), every backend exists in its namespace, and each rule has a backend with a weight above 0.
  - A weight left out keeps its live value (a new backend gets the API's default, 1). While a traffic shift
    (M(gpuaas.orchestration.traffic_shift)) moves the weights of a rule, the shift's weights stay (with a warning when
    the task asks for others); after it completed, a task that still gives the weights from before the shift does not
    undo it, while a task that gives other weights sets them.
options:
  name:
    description: Name of the HTTPRoute.
    type: str
    required: true
  namespace:
    description: Namespace of the HTTPRoute.
    type: str
    required: true
  state:
    description: C(present) creates or updates the route; C(absent) deletes the whole route.
    type: str
    choices: [present, absent]
    default: present
  parent_refs:
    description:
      - The Gateways (or other parents) the route attaches to (C(spec.parentRefs)), at most 32. Left out, the live
        parents stay.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the parent.
        type: str
        required: true
      namespace:
        description: Namespace of the parent (default the route's).
        type: str
      section_name:
        description: A listener of the Gateway (C(sectionName)).
        type: str
      port:
        description: A port of the Gateway.
        type: raw
      kind:
        description: Kind of the parent (the API's default is C(Gateway)).
        type: str
      group:
        description: API group of the parent (the API's default is C(gateway.networking.k8s.io)).
        type: str
  hostnames:
    description: Host names the route answers (C(spec.hostnames)), at most 16. Left out, the live ones stay.
    type: list
    elements: str
  rules:
    description:
      - The rules this module owns, at most 16. Left out, the rules stay as they are.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the rule (a DNS name). Recommended - a traffic shift and this module find the rule by it.
        type: str
      matches:
        description: What requests the rule takes (the API's default is every path, C(PathPrefix /)).
        type: list
        elements: dict
        suboptions:
          path:
            description: C(type) (C(Exact), C(PathPrefix) the default, C(RegularExpression)) and C(value).
            type: dict
            suboptions:
              type:
                description: How the path matches.
                type: str
              value:
                description: The path.
                type: str
          headers:
            description: Header matches, each C(name), C(value), and C(type) (C(Exact) by default, or C(RegularExpression)).
            type: list
            elements: dict
            suboptions:
              name:
                description: Header name.
                type: str
                required: true
              value:
                description: Value to match.
                type: str
                required: true
              type:
                description: C(Exact) or C(RegularExpression).
                type: str
          query_params:
            description: Query parameter matches, each C(name), C(value), C(type).
            type: list
            elements: dict
            suboptions:
              name:
                description: Parameter name.
                type: str
                required: true
              value:
                description: Value to match.
                type: str
                required: true
              type:
                description: C(Exact) or C(RegularExpression).
                type: str
          method:
            description: HTTP method to match.
            type: str
      backend_refs:
        description:
          - Where the rule sends its traffic, at most 16 backends, in proportion to their weights.
        type: list
        elements: dict
        suboptions:
          name:
            description: Name of the InferencePool or Service.
            type: str
            required: true
          kind:
            description: C(InferencePool) or C(Service) (the API's default).
            type: str
            default: Service
          group:
            description: API group; derived from O(rules[].backend_refs[].kind) when left out.
            type: str
          namespace:
            description: Namespace of the backend (default the route's; another namespace needs a ReferenceGrant there).
            type: str
          port:
            description: Port of the Service (required for a Service; an InferencePool has its own target ports).
            type: raw
          weight:
            description:
              - An integer from 0 to 1000000; the backend's share is its weight over the sum of the rule's weights.
                Left out, the live weight stays (1 for a new backend).
            type: raw
      filters:
        description: Filters of the rule, as the API writes them (passed through, validated by the API server).
        type: list
        elements: dict
      timeouts:
        description: Timeouts of the rule, Gateway API durations such as C(30s).
        type: dict
        suboptions:
          request:
            description: Timeout of the whole request.
            type: str
          backend_request:
            description: Timeout of one request to a backend.
            type: str
  require_backends:
    description:
      - Check that every backend of O(rules) exists (one LIST per kind and namespace) and refuse the task, naming the
        missing ones, when one does not. Set C(false) to create a route before its backends.
    type: bool
    default: true
  allow_zero_weights:
    description:
      - Allow a rule whose backends all have weight 0 (it answers every request with an error). Refused by default.
    type: bool
    default: false
  force:
    description: Not used by this kind (accepted like every typed module of the collection).
    type: bool
    default: false
  labels:
    description: Labels of the object itself.
    type: dict
  annotations:
    description: Annotations of the object.
    type: dict
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpuaas.orchestration.apply
  - gpuaas.orchestration.wait
  - gpuaas.orchestration.attributes
notes:
  - O(wait=true) waits until every parent that a gateway controller reports has C(Accepted) and C(ResolvedRefs)
    C(True) for the route's current generation; without a gateway controller there is no such status (see
    R(docs/docsite/rst/routing.rst,ansible_collections.gpuaas.orchestration.docsite.routing)).
  - Weights are relative - C(90) and C(10) send the same shares as C(9) and C(1). M(gpuaas.orchestration.http_route_info)
    shows them as percentages.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: All chat traffic to the v1 pool, 10 % to the v2 pool
  gpuaas.orchestration.http_route:
    name: llama3-chat
    namespace: inference
    parent_refs:
      - name: inference-gateway
    hostnames: [chat.example.com]
    rules:
      - name: chat
        matches:
          - path: {type: PathPrefix, value: /v1/chat}
        backend_refs:
          - {kind: InferencePool, name: llama3-8b-v1, weight: 90}
          - {kind: InferencePool, name: llama3-8b-v2, weight: 10}

- name: A header-matched rule for the evaluation team, to a plain Service
  gpuaas.orchestration.http_route:
    name: llama3-chat
    namespace: inference
    rules:
      - name: chat
        matches:
          - path: {type: PathPrefix, value: /v1/chat}
        backend_refs:
          - {kind: InferencePool, name: llama3-8b-v1, weight: 90}
          - {kind: InferencePool, name: llama3-8b-v2, weight: 10}
      - name: eval
        matches:
          - headers:
              - {name: x-team, value: eval}
        backend_refs:
          - {kind: Service, name: llama3-eval, port: 8000}
"""

RETURN = r"""
changed:
  description: Whether the route was (or in check mode would be) created, updated or deleted.
  returned: always
  type: bool
operation:
  description: What happened to the route.
  returned: always
  type: str
  sample: updated
  choices: [created, updated, unchanged, deleted, absent]
resource:
  description: The route as the API server returned it (server-side dry run result in check mode); null when deleted.
  returned: always
  type: dict
owned_rules:
  description: The keys of the rules this module owns on the route (C(name:<name>), or C(matches:<digest>)).
  returned: with O(state=present) and O(rules)
  type: list
  elements: str
  sample: ["name:chat", "name:eval"]
results:
  description: Per object C(ref), C(kind), C(name), C(namespace), C(action), C(reason), C(object) and C(diff).
  returned: always
  type: list
  elements: dict
summary:
  description: Counts per action.
  returned: always
  type: dict
timings:
  description: Seconds spent validating, reading, applying and waiting.
  returned: always
  type: dict
api_warnings:
  description: Warnings of the API server, and weights kept because a traffic shift moves them.
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of the route (without status and server-populated metadata).
  returned: when diff mode is on
  type: dict
errors:
  description: With a validation failure, one entry per problem with C(field), C(value) and C(problem).
  returned: on failure
  type: list
  elements: dict
  sample: [{field: "spec.rules[0].backendRefs[1].weight", value: -5, problem: must be an integer from 0 to 1000000}]
"""

import json

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import kind_for
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector, raise_all
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import LiveContext
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.http_route import (
    DESCRIPTION,
    backend_refs,
    zero_weight_errors,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import OWNED_ANNOTATION

EXTRA_OPTIONS = dict(
    require_backends=dict(type="bool", default=True),
    allow_zero_weights=dict(type="bool", default=False),
)


def missing_backends(client, obj):
    """Errors for backends that do not exist (one LIST per kind and namespace)."""
    names = {}
    errs = ErrorCollector()
    for field, ns, kind, name in backend_refs(obj):
        key = (kind, ns)
        if key not in names:
            names[key] = set(o["metadata"]["name"] for o in client.list(kind_for(kind), ns))
        if name not in names[key]:
            errs.add(field, name, "there is no %s %r in namespace %s" % (kind, name, ns))
    return errs.errors


def body(m):
    p = m.params
    obj = DESCRIPTION.render(p) if p["state"] == "present" else None
    extra = {}
    if obj is not None:
        raise_all(DESCRIPTION.validate(obj))  # before any API call
        if not p["allow_zero_weights"]:
            raise_all(zero_weight_errors(obj))
        if p["require_backends"] and (obj.get("spec") or {}).get("rules"):
            raise_all(missing_backends(m.client, obj))
        if OWNED_ANNOTATION in obj["metadata"].get("annotations", {}):
            extra["owned_rules"] = json.loads(obj["metadata"]["annotations"][OWNED_ANNOTATION])["rules"]
    item = DESCRIPTION.item(p, obj, ctx=LiveContext(m.client))
    result = engine.run(m.client, [item], check_mode=m.check_mode, force_conflicts=p["force_conflicts"])
    m.exit_engine(result, single=True, **extra)


def main():
    module = GpuaasModule(DESCRIPTION.argument_spec(EXTRA_OPTIONS))
    module.run(body)


if __name__ == "__main__":
    main()
