#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kueue_local_queue
short_description: Manage Kueue LocalQueues
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Create, update and delete a Kueue C(LocalQueue) (C(kueue.x-k8s.io/v1beta2)) - the queue of a namespace
    that points at a ClusterQueue. Jobs are submitted to it with the label C(kueue.x-k8s.io/queue-name).
  - The ClusterQueue of a LocalQueue is immutable; a change is refused before writing.
  - Deleting a LocalQueue that still has admitted or pending workloads fails, naming them, unless O(force=true).
options:
  name:
    description: Name of the LocalQueue.
    type: str
    required: true
  namespace:
    description: Namespace of the LocalQueue.
    type: str
    required: true
  state:
    description: C(present) creates or updates the queue; C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  cluster_queue:
    description: The ClusterQueue behind this queue. Required with O(state=present). Immutable.
    type: str
  stop_policy:
    description: C(None), C(Hold) or C(HoldAndDrain). Leave unset to leave it to M(gpuaas.orchestration.kueue_queue_control).
    type: str
    choices: [None, Hold, HoldAndDrain]
  fair_sharing:
    description: Fair sharing settings.
    type: dict
    suboptions:
      weight:
        description: Share weight, a quantity.
        type: raw
  force:
    description: Delete the queue even if it still has admitted or pending workloads.
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
  - O(wait=true) waits until the C(Active) condition is C(True) (with O(state=absent), until the object is gone).
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Queue of team A's namespace
  gpuaas.orchestration.kueue_local_queue:
    name: train
    namespace: team-a
    cluster_queue: team-a-train
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
  description:
    - With a validation or safety failure, one entry per problem with C(field), C(value) and C(problem).
    - Safety failures also list the C(affected) workloads.
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

from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.local_queue import DESCRIPTION
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import run_typed_module


def main():
    run_typed_module(DESCRIPTION)


if __name__ == "__main__":
    main()
