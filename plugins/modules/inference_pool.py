#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: inference_pool
short_description: Manage Gateway API Inference Extension InferencePools
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Create, update and delete an C(InferencePool) (C(inference.networking.k8s.io/v1)) - the model server pods that
    an HTTPRoute sends to (its pod selector and target ports), and the endpoint picker that chooses a pod per request.
  - Validated before anything is written - an empty selector (which would select every pod of the namespace), a port
    outside 1-65535, an unknown app protocol or failure mode are refused naming the field and the value.
  - An option left out keeps nothing of its own - O(selector) and O(target_ports) are required with O(state=present);
    with O(endpoint_picker) left out, an endpoint picker set before by this module is removed.
  - Traffic is routed to the pool by M(gpuaas.orchestration.http_route) (a backend of kind C(InferencePool)).
options:
  name:
    description: Name of the InferencePool.
    type: str
    required: true
  namespace:
    description: Namespace of the pool (the pods it selects and the routes that send to it are in the same namespace).
    type: str
    required: true
  state:
    description: C(present) creates or updates the pool; C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  selector:
    description:
      - Labels of the model server pods (C(spec.selector.matchLabels)), 1 to 64 labels. Required with O(state=present).
    type: dict
  target_ports:
    description:
      - The ports of the model servers, 1 to 8, each a number from 1 to 65535 (or a dict with C(number)).
        Required with O(state=present).
    type: list
    elements: raw
  app_protocol:
    description: The protocol between the gateway and the model servers (the API's default is C(http)).
    type: str
    choices: [http, kubernetes.io/h2c]
  endpoint_picker:
    description:
      - The endpoint picker extension (C(spec.endpointPickerRef)) that picks a model server for each request.
    type: dict
    suboptions:
      name:
        description: Name of the endpoint picker (a Service by default).
        type: str
        required: true
      kind:
        description: Kind of the endpoint picker.
        type: str
        default: Service
      group:
        description: API group of the endpoint picker (C("") for a Service).
        type: str
      port:
        description: Port of the endpoint picker Service (1-65535); required when O(endpoint_picker.kind=Service).
        type: raw
      failure_mode:
        description:
          - What the gateway does when the endpoint picker does not answer - C(FailClose) refuses the request (the
            API's default), C(FailOpen) sends it to a pod of the pool anyway.
        type: str
        choices: [FailOpen, FailClose]
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
  - O(wait=true) waits until every parent that a gateway controller reports in C(status.parents) has C(Accepted) and
    C(ResolvedRefs) C(True); without a gateway controller there is no such status and the wait times out, so leave it
    off on clusters without one (see R(docs/docsite/rst/routing.rst,ansible_collections.gpuaas.orchestration.docsite.routing)).
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: The pool of Llama 3 8B model servers, behind the vLLM endpoint picker
  gpuaas.orchestration.inference_pool:
    name: llama3-8b-v1
    namespace: inference
    selector:
      app: vllm-llama3-8b
      version: v1
    target_ports: [8000]
    endpoint_picker:
      name: llama3-8b-v1-epp
      port: 9002
      failure_mode: FailOpen

- name: Remove a pool
  gpuaas.orchestration.inference_pool:
    name: llama3-8b-v0
    namespace: inference
    state: absent
"""

RETURN = r"""
changed:
  description: Whether the object was (or in check mode would be) created, updated or deleted.
  returned: always
  type: bool
operation:
  description: What happened to the object.
  returned: always
  type: str
  sample: created
  choices: [created, updated, unchanged, deleted, absent]
resource:
  description: The object as the API server returned it (server-side dry run result in check mode); null when deleted.
  returned: always
  type: dict
results:
  description: Per object C(ref), C(kind), C(name), C(namespace), C(action), C(reason), C(object) and C(diff).
  returned: always
  type: list
  elements: dict
summary:
  description: Counts per action.
  returned: always
  type: dict
  sample: {created: 1, updated: 0, unchanged: 0, deleted: 0, absent: 0}
timings:
  description: Seconds spent validating, reading, applying and waiting.
  returned: always
  type: dict
api_warnings:
  description: Warnings the API server returned.
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of the object (without status and server-populated metadata).
  returned: when diff mode is on
  type: dict
errors:
  description: With a validation failure, one entry per problem with C(field), C(value) and C(problem).
  returned: on failure
  type: list
  elements: dict
  sample: [{field: "spec.targetPorts[0].number", value: 70000, problem: must be a port number from 1 to 65535}]
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import run_typed_module
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.inference_pool import DESCRIPTION


def main():
    run_typed_module(DESCRIPTION)


if __name__ == "__main__":
    main()
