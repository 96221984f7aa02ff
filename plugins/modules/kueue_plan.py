#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kueue_plan
short_description: Apply a whole Kueue queue plan (flavors, cohorts, priority classes, checks, queues) in one run
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Applies a Kueue queue plan (C(kueue.x-k8s.io/v1beta2)) in dependency order in one module run -
    Topologies, ResourceFlavors, Cohorts (parents first), WorkloadPriorityClasses, AdmissionChecks,
    ClusterQueues, LocalQueues - and deletes it in the reverse order with O(state=absent).
  - The live state is read with one LIST per kind (a GET when a kind has a single object), not one
    request per object.
  - Every entry takes the options of the matching per-kind module (for example an entry of
    O(cluster_queues) those of M(gpuaas.orchestration.kueue_cluster_queue)) except C(state), C(wait),
    C(wait_timeout) and the authentication options, plus an optional per-entry C(force).
  - "Every entry is checked and validated before anything is written; all problems are reported
    together, each naming the object and the option, for example
    C(ClusterQueue/a: cluster_queues[2].resource_groups[0].flavors[0].resources[1].nominal_quota: must be a Kubernetes quantity ...)."
  - "Safety, unless O(force=true) (or C(force: true) in the entry): lowering a nominal quota below what admitted
    workloads reserve, removing a flavor that admitted workloads use, deleting queues that still have workloads and
    flavors that queues use. Workloads are listed at most once per run, and only when a quota drops, a flavor is
    removed or a queue or flavor is deleted."
  - With O(name), every object carries the label C(gpuaas.io/plan=<name>) (and C(app.kubernetes.io/managed-by));
    O(prune=true) then deletes the objects with that label that the plan no longer has.
  - Server-side apply under the field manager C(gpuaas-orchestration); idempotent. In check mode the writes are
    server-side dry runs; a LocalQueue in a namespace that does not exist yet is reported as would be created,
    with a warning.
options:
  name:
    description:
      - Name of the plan, the value of the label C(gpuaas.io/plan) put on every object of the plan.
      - Required with O(prune=true).
    type: str
  state:
    description: C(present) creates or updates every object of the plan; C(absent) deletes them, children first.
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - Delete the objects labelled C(gpuaas.io/plan=<name>) and C(app.kubernetes.io/managed-by=gpuaas-orchestration)
        that are not in the plan (after the writes, children first). Objects without both labels are never pruned.
      - One more LIST per kind.
    type: bool
    default: false
  force:
    description: Skip the safety checks for every object of the plan (an entry's own C(force) takes precedence).
    type: bool
    default: false
  wait:
    description:
      - Wait until ClusterQueues, LocalQueues and AdmissionChecks are C(Active) (and, with O(state=absent), until
        deleted objects are gone). Objects already C(Active) are not polled.
      - Ignored in check mode.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait at most per object when O(wait=true); a timeout says what was seen last.
    type: int
    default: 60
  topologies:
    description: Options of M(gpuaas.orchestration.kueue_topology) (C(name), C(levels), C(labels), C(annotations)), one entry per Topology.
    type: list
    elements: dict
    default: []
  resource_flavors:
    description:
      - Options of M(gpuaas.orchestration.kueue_resource_flavor) (C(name), C(node_labels), C(node_taints), C(tolerations),
        C(topology_name), C(labels), C(annotations)), one entry per ResourceFlavor.
    type: list
    elements: dict
    default: []
    aliases: [flavors]
  cohorts:
    description:
      - Options of M(gpuaas.orchestration.kueue_cohort) (C(name), C(parent), C(resource_groups), C(fair_sharing), ...).
      - Parents of the plan are applied before their children whatever the order of the list.
    type: list
    elements: dict
    default: []
  workload_priority_classes:
    description: Options of M(gpuaas.orchestration.kueue_workload_priority_class) (C(name), C(value), C(description), ...).
    type: list
    elements: dict
    default: []
    aliases: [priority_classes]
  admission_checks:
    description: Options of M(gpuaas.orchestration.kueue_admission_check) (C(name), C(controller_name), C(parameters), ...).
    type: list
    elements: dict
    default: []
  cluster_queues:
    description:
      - Options of M(gpuaas.orchestration.kueue_cluster_queue) (C(name), C(cohort), C(namespace_selector), C(resource_groups),
        C(queueing_strategy), C(preemption), C(flavor_fungibility), C(fair_sharing), C(admission_checks), C(stop_policy),
        C(labels), C(annotations), C(force)).
    type: list
    elements: dict
    default: []
  local_queues:
    description:
      - Options of M(gpuaas.orchestration.kueue_local_queue) (C(name), C(namespace), C(cluster_queue), C(stop_policy),
        C(fair_sharing), C(labels), C(annotations), C(force)).
    type: list
    elements: dict
    default: []
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpuaas.orchestration.apply
  - gpuaas.orchestration.attributes
notes:
  - The role C(gpuaas.orchestration.kueue_queues) calls this module once with its plan variables.
  - With O(state=absent) only C(name) (and C(namespace) for LocalQueues) of each entry matter.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Queues of the research cluster, pruning what the plan no longer has
  gpuaas.orchestration.kueue_plan:
    name: research
    prune: true
    wait: true
    resource_flavors:
      - name: a100
        node_labels: {gpuaas.io/pool: training-a100}
    cohorts:
      - name: gpu-pool
    workload_priority_classes:
      - {name: production, value: 1000}
    cluster_queues:
      - name: team-a-train
        cohort: gpu-pool
        resource_groups:
          - covered_resources: [cpu, memory, nvidia.com/gpu]
            flavors:
              - name: a100
                resources:
                  - {name: cpu, nominal_quota: 64}
                  - {name: memory, nominal_quota: 512Gi}
                  - {name: nvidia.com/gpu, nominal_quota: 8, borrowing_limit: 8}
    local_queues:
      - {name: train, namespace: team-a, cluster_queue: team-a-train}

- name: Delete the whole plan (LocalQueues first, flavors last)
  gpuaas.orchestration.kueue_plan:
    name: research
    state: absent
    resource_flavors: [{name: a100}]
    cohorts: [{name: gpu-pool}]
    workload_priority_classes: [{name: production}]
    cluster_queues: [{name: team-a-train}]
    local_queues: [{name: train, namespace: team-a}]
"""

RETURN = r"""
changed:
  description: Whether any object was (or in check mode would be) created, updated or deleted.
  returned: always
  type: bool
results:
  description: Per object, in the order processed, C(ref), C(kind), C(name), C(namespace), C(action)
    (created, updated, unchanged, deleted, absent), C(object) and, for changes, C(diff).
  returned: always
  type: list
  elements: dict
summary:
  description: Counts per action.
  returned: always
  type: dict
  sample: {created: 5, updated: 0, unchanged: 0, deleted: 0, absent: 0}
timings:
  description: Seconds spent validating, reading, applying and waiting, and in total.
  returned: always
  type: dict
api_calls:
  description: Requests sent to the API server by this run (reads, writes, waits).
  returned: always
  type: int
waits_avoided:
  description: Objects whose wait was satisfied by the object in hand (no polling).
  returned: always
  type: int
plan:
  description: The plan's name (O(name)), or null.
  returned: always
  type: str
pruned:
  description: References of the objects deleted (or, in check mode, to be deleted) by O(prune=true).
  returned: always
  type: list
  elements: str
api_warnings:
  description: Warnings of the API server and of the run (for example a namespace that does not exist yet in check mode).
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of every changed object (without status and server-populated metadata).
  returned: when diff mode is on
  type: list
  elements: dict
errors:
  description:
    - With validation or safety failures, one entry per problem with C(object), C(field), C(value) and C(problem).
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

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.plan import (
    PLAN_ARGUMENT_SPEC,
    run_plan_module,
)


def main():
    module = GpuaasModule(PLAN_ARGUMENT_SPEC, required_if=[("prune", True, ["name"])])
    run_plan_module(module)


if __name__ == "__main__":
    main()
