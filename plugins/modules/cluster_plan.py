#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_plan
short_description: Reconcile a whole cluster plan (namespaces, priority classes, Kueue, NodePools, GPU capacity, taints, workloads) in one run
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Applies the plan of one cluster in dependency order - Namespaces, extra manifests (ConfigMaps, RBAC, ...),
    PriorityClasses, Kueue Topologies, ResourceFlavors, Cohorts, WorkloadPriorityClasses, AdmissionChecks,
    ClusterQueues, LocalQueues, Karpenter NodePools, GPU capacity (N nodes per shape), node taints, and last the
    workloads - and writes only what differs from the cluster. The format is described in
    R(docs/docsite/rst/plan.rst,ansible_collections.gpuaas.orchestration.docsite.plan).
  - "Every entry is checked and validated before anything is written: all problems are reported together,
    each naming its place in the plan, for example
    C(cluster_queues[3].resource_groups[0].flavors[1].resources[0].nominal_quota: must be a Kubernetes quantity)."
  - The live state is read with one LIST per kind (a GET when a kind has a single object); the objects of one
    dependency level are written O(parallel) at a time, with server-side apply under the field manager
    C(gpuaas-orchestration). An unchanged rerun sends no write request.
  - "Check mode is a drift report: object by object and field by field (before and after, the after of an
    update being the API server's dry run), with counts per kind and action and the cause of each difference
    (C(missing), C(plan changed), C(changed in the cluster), C(no longer in the plan)). With O(fail_on_drift=true)
    the task fails when anything differs, so a scheduled AWX job turns red when someone edited the cluster by hand."
  - "Ownership is a KEP-3659 ApplySet, as C(kubectl apply --prune --applyset) uses it: a parent ConfigMap
    C(gpuaas-plan-<name>) in O(applyset_namespace) and the label C(applyset.kubernetes.io/part-of) on every object
    of the plan (with C(gpuaas.io/plan=<name>) and C(app.kubernetes.io/managed-by=gpuaas-orchestration))."
  - O(prune=true) deletes the members of the plan's ApplySet that the plan no longer declares, in reverse
    dependency order, after each kind's safety checks; objects without the labels, or of another plan, are never
    touched.
  - "Safety, unless O(force=true) (or C(force: true) in an entry): lowering a quota below what admitted workloads
    reserve, deleting or pruning queues with workloads, flavors that queues use, NodePools with nodes, namespaces
    with pods or workloads; removing capacity whose nodes run do-not-disrupt pods."
options:
  name:
    description:
      - Name of the plan, usually the cluster's. The value of the label C(gpuaas.io/plan) and the name of the ApplySet
        parent C(gpuaas-plan-<name>).
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates every object of the plan.
      - C(absent) deletes every object of the plan (those declared and every other member of its ApplySet), most
        dependent first, then the ApplySet parent; node taints of the plan are removed; capacity entries are
        skipped (deleting a NodePool deletes its nodes).
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - Delete the members of the plan's ApplySet (labels C(applyset.kubernetes.io/part-of=<id>) and
        C(app.kubernetes.io/managed-by=gpuaas-orchestration)) that the plan no longer declares, after the writes,
        most dependent first. The kinds searched are those of the plan and those the parent lists.
    type: bool
    default: false
  force:
    description: Skip the safety checks for every object of the plan (an entry's own C(force) takes precedence).
    type: bool
    default: false
  wait:
    description:
      - Wait until ClusterQueues, LocalQueues and AdmissionChecks are C(Active) and NodePools C(Ready). Objects that
        already are, are not polled. Capacity entries wait by their own C(wait) (default true).
      - Ignored in check mode.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait at most per object; a timeout says what was seen last.
    type: int
    default: 120
  parallel:
    description:
      - How many writes of one dependency level are sent at once (1 to 64). Levels still go one after the other.
    type: int
    default: 8
  fail_on_drift:
    description:
      - Fail the task when anything differs from the plan (objects to create, update or prune, capacity or taints
        to change). In check mode nothing is written; outside check mode the differences are corrected first and
        the task then fails, so that the correction is seen.
      - The drift report is in the result either way (RV(drift)).
    type: bool
    default: false
  applyset_namespace:
    description: Namespace of the ApplySet parent ConfigMap C(gpuaas-plan-<name>).
    type: str
    default: kube-system
  namespaces:
    description:
      - Namespaces, each with C(name), C(labels), C(annotations) and an optional C(force) (a namespace with pods or
        workloads is not deleted or pruned without it).
    type: list
    elements: dict
    default: []
  priority_classes:
    description:
      - "Kubernetes PriorityClasses (C(scheduling.k8s.io/v1)): C(name), C(value) (required), C(global_default),
        C(preemption_policy) (C(PreemptLowerPriority) or C(Never)), C(description), C(labels), C(annotations).
        C(value) and C(preemption_policy) are immutable: a change is an error before anything is written."
      - Kueue's own priority classes are O(workload_priority_classes).
    type: list
    elements: dict
    default: []
  manifests:
    description:
      - Other objects that travel with the plan (ConfigMaps, ServiceAccounts, Roles, RoleBindings, ...), as full
        definitions with C(apiVersion), C(kind), C(metadata.name) (and C(metadata.namespace) for namespaced kinds).
        Applied after the namespaces and before everything else; their kinds are looked up in the API's discovery.
    type: list
    elements: raw
    default: []
  topologies:
    description: Options of M(gpuaas.orchestration.kueue_topology), one entry per Topology.
    type: list
    elements: dict
    default: []
  resource_flavors:
    description: Options of M(gpuaas.orchestration.kueue_resource_flavor), one entry per ResourceFlavor.
    type: list
    elements: dict
    default: []
  cohorts:
    description: Options of M(gpuaas.orchestration.kueue_cohort), one entry per Cohort; parents first whatever the order.
    type: list
    elements: dict
    default: []
  workload_priority_classes:
    description: Options of M(gpuaas.orchestration.kueue_workload_priority_class), one entry per WorkloadPriorityClass.
    type: list
    elements: dict
    default: []
  admission_checks:
    description: Options of M(gpuaas.orchestration.kueue_admission_check), one entry per AdmissionCheck.
    type: list
    elements: dict
    default: []
  cluster_queues:
    description: Options of M(gpuaas.orchestration.kueue_cluster_queue), one entry per ClusterQueue.
    type: list
    elements: dict
    default: []
  local_queues:
    description: Options of M(gpuaas.orchestration.kueue_local_queue), one entry per LocalQueue.
    type: list
    elements: dict
    default: []
  nodepools:
    description:
      - Options of M(gpuaas.orchestration.karpenter_nodepool) (C(name), C(node_class_ref), C(requirements), C(labels)
        and C(annotations) of the nodes, C(taints), C(limits), C(disruption), C(weight), ...), one entry per NodePool.
    type: list
    elements: dict
    default: []
  capacity:
    description:
      - "GPU capacity: options of M(gpuaas.orchestration.karpenter_capacity) (C(nodepool), C(name) of the capacity
        group, C(count), C(instance_types) or C(gpu_count)/C(gpu_product), C(do_not_disrupt), C(wait),
        C(wait_timeout), ...), one entry per group. Applied after the NodePools; with C(wait) (default true) the
        task goes on only when the group's NodeClaims are Initialized with their GPUs allocatable."
      - "Capacity is counted, not owned by the ApplySet: removing an entry leaves its nodes (give C(count: 0))."
    type: list
    elements: dict
    default: []
  node_taints:
    description:
      - "Taints of nodes: options of M(gpuaas.orchestration.node_taints) (C(name) or C(label_selector), C(taints),
        C(state) present, absent or replace), applied after the capacity (new nodes get them too)."
    type: list
    elements: dict
    default: []
  workloads:
    description:
      - Jobs to submit (batch/v1 Job, JobSet, any kind Kueue integrates), as full definitions that name their
        LocalQueue with the label C(kueue.x-k8s.io/queue-name). Applied last, after the capacity they need.
    type: list
    elements: raw
    default: []
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpuaas.orchestration.apply
  - gpuaas.orchestration.attributes
notes:
  - The role C(gpuaas.orchestration.cluster_plan) calls this module with the plan of the host (C(gpuaas_plan)), and
    C(gpuaas.orchestration.drift) runs it as a drift report; C(playbooks/site.yml) and C(playbooks/drift.yml) use them.
  - With O(state=absent) only C(name) (and C(namespace)) of each entry matter.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: The plan of the research cluster
  gpuaas.orchestration.cluster_plan:
    name: research
    prune: true
    namespaces:
      - name: team-a
        labels: {gpuaas.io/team: team-a}
    priority_classes:
      - {name: gpu-training, value: 100000, description: GPU training jobs}
    manifests:
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: gpu-defaults, namespace: team-a}
        data: {max_gpus: "8"}
    resource_flavors:
      - name: a100
        node_labels: {gpuaas.io/pool: training-a100}
    cluster_queues:
      - name: training
        resource_groups:
          - covered_resources: [cpu, memory, nvidia.com/gpu]
            flavors:
              - name: a100
                resources:
                  - {name: cpu, nominal_quota: 96}
                  - {name: memory, nominal_quota: 1000Gi}
                  - {name: nvidia.com/gpu, nominal_quota: 8}
    local_queues:
      - {name: train, namespace: team-a, cluster_queue: training}
    nodepools:
      - name: training-a100
        node_class_ref: {group: karpenter.kwok.sh, kind: KWOKNodeClass, name: default}
        labels: {gpuaas.io/pool: training-a100}
        requirements:
          - {key: node.kubernetes.io/instance-type, operator: In, values: [gpu-8x-a100]}
        limits: {nvidia.com/gpu: 16}
    capacity:
      - {nodepool: training-a100, name: a100x8, count: 1, gpu_count: 8, instance_types: [gpu-8x-a100]}

- name: Drift report for the change ticket (nothing written), failing when the cluster differs
  gpuaas.orchestration.cluster_plan:
    name: research
    prune: true
    fail_on_drift: true
    cluster_queues: "{{ plan.cluster_queues }}"
    local_queues: "{{ plan.local_queues }}"
  check_mode: true
  register: research_drift

- name: Show it
  ansible.builtin.debug:
    msg: "{{ research_drift.drift.lines }}"

- name: Delete the whole plan (workloads first, namespaces last)
  gpuaas.orchestration.cluster_plan:
    name: research
    state: absent
"""

RETURN = r"""
changed:
  description: Whether anything was (or in check mode would be) created, updated or deleted.
  returned: always
  type: bool
results:
  description:
    - Per object, in the order processed, C(ref), C(kind), C(name), C(namespace), C(action) (created, updated,
      unchanged, deleted, absent) and C(reason) (for writes).
    - The first is the ApplySet parent ConfigMap.
    - Unlike the single-object modules, entries carry no C(object) and no C(diff), so that the result of a plan of
      thousands of objects stays small; the fields that differ are in RV(drift), before and after in RV(diff)
      (diff mode), the live objects in the info modules.
  returned: always
  type: list
  elements: dict
summary:
  description: Counts per action over every object.
  returned: always
  type: dict
  sample: {created: 5, updated: 1, unchanged: 40, deleted: 0, absent: 0}
drift:
  description:
    - "The drift report: C(objects) (per changed object C(ref), C(action), C(cause) and C(fields), each field with
      C(path), C(before) and C(after)), C(counts) per kind and action, C(drifted) (how many objects, capacity
      groups and nodes differ) and C(lines) (the same as text, for a change ticket)."
  returned: always
  type: dict
  sample:
    drifted: 1
    counts: {ClusterQueue: {updated: 1}, LocalQueue: {unchanged: 1}}
    objects:
      - ref: ClusterQueue/training
        action: updated
        cause: changed in the cluster
        fields:
          - {path: "spec.resourceGroups[0].flavors[0].resources[2].nominalQuota", before: "4", after: "8"}
    lines:
      - updated ClusterQueue/training (changed in the cluster)
      - '    spec.resourceGroups[0].flavors[0].resources[2].nominalQuota: "4" -> "8"'
capacity:
  description: Per capacity entry, C(ref), C(nodepool), C(group), C(count), the NodeClaims C(created) and C(deleted), the C(nodes).
  returned: always
  type: list
  elements: dict
node_taints:
  description: Per node of a taint entry, C(name), C(changed), C(before), C(after), C(added), C(removed).
  returned: always
  type: list
  elements: dict
pruned:
  description: References of the objects deleted (or, in check mode, to be deleted) because the plan no longer has them.
  returned: always
  type: list
  elements: str
applyset:
  description: The plan's ApplySet, C(id) (the value of C(applyset.kubernetes.io/part-of)) and C(parent).
  returned: always
  type: dict
  sample: {id: applyset-3Q0y...-v1, parent: ConfigMap/kube-system/gpuaas-plan-research}
plan:
  description: The plan's name.
  returned: always
  type: str
timings:
  description: Seconds spent per stage (check, parent, objects, capacity, node_taints, workloads, prune) and in total.
  returned: always
  type: dict
api_calls:
  description: Requests sent to the API server by this run (reads, writes, waits).
  returned: always
  type: int
api_warnings:
  description: Warnings of the API server and of the run.
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of every changed object, capacity group and node (without status and server-populated metadata).
  returned: when diff mode is on
  type: list
  elements: dict
errors:
  description:
    - With validation or safety failures, one entry per problem with C(object), C(field) (the place in the plan),
      C(value) and C(problem). Nothing was written.
  returned: on failure
  type: list
  elements: dict
failed_object:
  description:
    - When the task failed after it had already written (an API error, a wait timeout), the object that failed
      (C(ref)), the C(error) and the API's answer (C(api_error)); C(changed) is then C(true), C(results) lists
      what was done before and C(failed_stage) names the stage.
  returned: on failure after a write
  type: dict
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.plan.cluster import (
    PLAN_ARGUMENT_SPEC,
    run_cluster_plan_module,
)


def main():
    run_cluster_plan_module(GpuaasModule(PLAN_ARGUMENT_SPEC))


if __name__ == "__main__":
    main()
