#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kueue_resource_flavor
short_description: Manage Kueue ResourceFlavors
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Create, update and delete a Kueue C(ResourceFlavor) (C(kueue.x-k8s.io/v1beta2)) - the node labels
    that select the nodes of a flavor, the taints of those nodes, tolerations added to admitted pods,
    and the topology used for topology-aware scheduling.
  - All options are validated before anything is written; errors name the field and the value.
  - Changes are written with server-side apply under the field manager C(gpuaas-orchestration);
    the object carries the label C(app.kubernetes.io/managed-by=gpuaas-orchestration).
  - A second identical run reports no change.
options:
  name:
    description: Name of the ResourceFlavor.
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the flavor; C(absent) deletes it.
      - Deleting a flavor still used by a ClusterQueue or by admitted workloads fails unless O(force=true).
    type: str
    choices: [present, absent]
    default: present
  node_labels:
    description:
      - Labels of the nodes that belong to this flavor (at most 8). Kueue adds them as node affinity to admitted pods.
      - Immutable while O(topology_name) is set.
    type: dict
  node_taints:
    description: Taints of the nodes of this flavor (at most 8).
    type: list
    elements: dict
    suboptions:
      key:
        description: Taint key.
        type: str
        required: true
      value:
        description: Taint value.
        type: str
      effect:
        description: Taint effect.
        type: str
        required: true
        choices: [NoSchedule, PreferNoSchedule, NoExecute]
  tolerations:
    description:
      - Tolerations Kueue adds to the pods admitted on this flavor (at most 8).
      - Immutable while O(topology_name) is set.
    type: list
    elements: dict
    suboptions:
      key:
        description: Key the toleration applies to; empty with O(tolerations[].operator=Exists) matches all keys.
        type: str
      operator:
        description: C(Equal) (default) or C(Exists).
        type: str
        choices: [Equal, Exists]
      value:
        description: Value to match with C(Equal).
        type: str
      effect:
        description: Effect to match; empty matches all effects.
        type: str
        choices: [NoSchedule, PreferNoSchedule, NoExecute]
      toleration_seconds:
        description: How long a C(NoExecute) taint is tolerated.
        type: int
  topology_name:
    description:
      - Name of the Kueue C(Topology) of the nodes of this flavor. Needs at least one node label.
      - Immutable once set; a change is refused before writing.
    type: str
  labels:
    description: Labels of the ResourceFlavor object itself.
    type: dict
  annotations:
    description: Annotations of the ResourceFlavor object.
    type: dict
  force:
    description: Delete the flavor even if ClusterQueues or admitted workloads still use it.
    type: bool
    default: false
  wait:
    description:
      - With O(state=absent), wait until the object is gone (Kueue keeps a finalizer while the flavor is in use).
      - ResourceFlavors have no C(Active) condition, so nothing is waited for with O(state=present).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait at most when O(wait=true).
    type: int
    default: 60
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpuaas.orchestration.apply
  - gpuaas.orchestration.attributes
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: A100 flavor selecting the train-a100 pool and tolerating its GPU taint
  gpuaas.orchestration.kueue_resource_flavor:
    name: a100
    node_labels:
      gpuaas.io/pool: train-a100
      nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB
    node_taints:
      - key: nvidia.com/gpu
        value: "true"
        effect: NoSchedule
    tolerations:
      - key: nvidia.com/gpu
        operator: Exists
        effect: NoSchedule

- name: Remove a flavor that is no longer used
  gpuaas.orchestration.kueue_resource_flavor:
    name: old-flavor
    state: absent
    wait: true
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
  description:
    - Per object C(ref), C(kind), C(name), C(namespace), C(action), C(reason), C(object) and C(diff).
    - C(reason) says why the object was written, for example C(intent changed since the last apply)
      or the live fields that differ.
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
  description: With a validation or safety failure, one entry per problem with C(field), C(value) and C(problem).
  returned: on failure
  type: list
  elements: dict
failed_object:
  description:
    - When the task failed after it had already written objects (an API error, a wait timeout),
      the object that failed (C(ref)), the C(error), and the API's answer (C(api_error)); C(changed)
      is then C(true) and C(results) lists what was done before.
  returned: on failure after a write
  type: dict
  sample: {ref: ClusterQueue/team-a-train, error: "...", api_error: {status: 422, reason: Invalid}}
conflicts:
  description:
    - With O(force_conflicts=false), the fields that other field managers set, each with C(field) and C(manager).
  returned: on failure because of a field conflict
  type: list
  elements: dict
  sample: [{field: .spec.stopPolicy, manager: gpuaas-orchestration-queue-control}]
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.resource_flavor import DESCRIPTION
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import run_typed_module


def main():
    run_typed_module(DESCRIPTION)


if __name__ == "__main__":
    main()
