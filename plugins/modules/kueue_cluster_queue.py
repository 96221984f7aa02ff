#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kueue_cluster_queue
short_description: Manage Kueue ClusterQueues (quotas per flavor, cohort, preemption)
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Create, update and delete a Kueue C(ClusterQueue) (C(kueue.x-k8s.io/v1beta2)).
  - All options are validated before anything is written, with errors that name the field and the
    value (quantities, Kueue's limits, borrowing and lending limits only with a cohort, every flavor
    covering exactly the covered resources).
  - "Safety, unless O(force=true): lowering a nominal quota below what admitted workloads reserve,
    removing a flavor that admitted workloads use, and deleting a queue that still has admitted,
    reserving or pending workloads all fail with a message naming the workloads."
  - Server-side apply under the field manager C(gpuaas-orchestration); idempotent.
options:
  name:
    description: Name of the ClusterQueue.
    type: str
    required: true
  state:
    description: C(present) creates or updates the queue; C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  cohort:
    description: Name of the cohort the queue borrows from and lends to.
    type: str
  namespace_selector:
    description:
      - Label selector (C(matchLabels), C(matchExpressions)) of the namespaces allowed to submit to this queue.
      - Defaults to C({}), all namespaces. Kueue itself treats a missing selector as no namespace.
    type: dict
    default: {}
  queueing_strategy:
    description: C(BestEffortFIFO) (Kueue's default) or C(StrictFIFO).
    type: str
    choices: [StrictFIFO, BestEffortFIFO]
  preemption:
    description: Preemption policies.
    type: dict
    suboptions:
      reclaim_within_cohort:
        description: Whether to preempt workloads of other queues of the cohort that borrow from this one.
        type: str
        choices: [Never, LowerPriority, Any]
      within_cluster_queue:
        description: Whether to preempt workloads of this queue to fit a pending one.
        type: str
        choices: [Never, LowerPriority, LowerOrNewerEqualPriority]
      borrow_within_cohort:
        description: Preemption while borrowing.
        type: dict
        suboptions:
          policy:
            description: C(Never) or C(LowerPriority); must be C(Never) when O(preemption.reclaim_within_cohort=Never).
            type: str
            choices: [Never, LowerPriority]
          max_priority_threshold:
            description: Only workloads with priority up to this may be preempted.
            type: int
  flavor_fungibility:
    description: Whether to try the next flavor before borrowing or preempting.
    type: dict
    suboptions:
      when_can_borrow:
        description: Behaviour when the workload could borrow in the current flavor.
        type: str
        choices: [MayStopSearch, TryNextFlavor]
      when_can_preempt:
        description: Behaviour when the workload could preempt in the current flavor.
        type: str
        choices: [MayStopSearch, TryNextFlavor]
      preference:
        description: Needs both policies C(TryNextFlavor).
        type: str
        choices: [BorrowingOverPreemption, PreemptionOverBorrowing]
  admission_checks:
    description: Admission checks of the queue (C(spec.admissionChecksStrategy)).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of an AdmissionCheck.
        type: str
        required: true
      on_flavors:
        description: Flavors the check applies to (all when empty); each must be a flavor of this queue.
        type: list
        elements: str
  stop_policy:
    description:
      - C(None), C(Hold) or C(HoldAndDrain). Leave unset to leave it to M(gpuaas.orchestration.kueue_queue_control).
    type: str
    choices: [None, Hold, HoldAndDrain]
  force:
    description: Skip the safety checks (quota cut below usage, flavor removal in use, delete with workloads).
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
  - gpuaas.orchestration.kueue_resource_groups
  - gpuaas.orchestration.wait
  - gpuaas.orchestration.attributes
notes:
  - O(wait=true) waits until the C(Active) condition is C(True) (with O(state=absent), until the object is gone);
    a timeout fails with the conditions last seen, for example C(Active=False (FlavorNotFound ...)).
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Training queue with GPU quota on A100s, borrowing up to 8 more GPUs from the cohort
  gpuaas.orchestration.kueue_cluster_queue:
    name: team-a-train
    cohort: gpu-pool
    resource_groups:
      - covered_resources: [cpu, memory, nvidia.com/gpu]
        flavors:
          - name: a100
            resources:
              - {name: cpu, nominal_quota: 64}
              - {name: memory, nominal_quota: 512Gi}
              - {name: nvidia.com/gpu, nominal_quota: 8, borrowing_limit: 8}
    preemption:
      reclaim_within_cohort: Any
      within_cluster_queue: LowerPriority
    wait: true

- name: Cut the quota even though workloads use it
  gpuaas.orchestration.kueue_cluster_queue:
    name: team-a-train
    cohort: gpu-pool
    resource_groups:
      - flavors:
          - name: a100
            resources:
              - {name: cpu, nominal_quota: 32}
              - {name: memory, nominal_quota: 256Gi}
              - {name: nvidia.com/gpu, nominal_quota: 4}
    force: true

- name: Delete the queue
  gpuaas.orchestration.kueue_cluster_queue:
    name: team-a-train
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

from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.cluster_queue import DESCRIPTION
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import run_typed_module


def main():
    run_typed_module(DESCRIPTION)


if __name__ == "__main__":
    main()
