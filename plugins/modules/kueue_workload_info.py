#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kueue_workload_info
short_description: Phase, admission, queue position and pods of the jobs submitted to Kueue (Workloads)
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Lists Kueue C(Workload) objects (C(kueue.x-k8s.io/v1beta2)) and reports, per Workload, its job, its
    C(LocalQueue) and C(ClusterQueue), its priority class and priority, whether it is active, its admission
    gates, its phase, its conditions, its admission (the flavor of each resource per pod set), its position
    in its ClusterQueue when pending, its pods with their nodes, and its age.
  - "The phase is one of C(Gated) (an admission gate, annotation C(kueue.x-k8s.io/admission-gated-by), holds it),
    C(Inactive) (C(spec.active: false)), C(Pending) (waiting for quota, also after a preemption: RV(workloads[].evicted)
    says so), C(QuotaReserved) (admission checks not all passed yet), C(Admitted), C(Running) (admitted and every
    pod runs), C(Succeeded) or C(Failed)."
  - Positions come from Kueue's visibility API (C(visibility.kueue.x-k8s.io/v1beta2), C(pendingworkloads)), one
    request per ClusterQueue with pending workloads. When that API is not served, they are computed from the
    Workload objects (priority, then time), RV(position_source) says so and a warning tells why.
  - "Reads only: one LIST of Workloads; one LIST of LocalQueues when a Workload is not admitted (its ClusterQueue is
    known from its LocalQueue); one LIST of pods per namespace of the Workloads, matched to their Workload by the
    labels of their job (C(batch.kubernetes.io/job-name) for a Job, C(jobset.sigs.k8s.io/jobset-name) for a JobSet)."
options:
  namespace:
    description: Only the Workloads of this namespace. All namespaces when omitted.
    type: str
  queue:
    description: Only the Workloads submitted to the LocalQueue of this name (C(spec.queueName)), in every namespace listed.
    type: str
  cluster_queue:
    description:
      - Only the Workloads of this ClusterQueue - the one that admitted them, or the one their LocalQueue points
        at when they are not admitted.
    type: str
  label_selector:
    description: A label selector (such as C(team=nlp,env!=dev)) applied to the Workloads when they are listed.
    type: str
  name:
    description: Only the Workload of this name, or the Workloads of the job of this name (the owner of the Workload).
    type: str
  phase:
    description: Only the Workloads in these phases.
    type: list
    elements: str
    choices: [Gated, Inactive, Pending, QuotaReserved, Admitted, Running, Succeeded, Failed]
  pods:
    description:
      - Include the pods of each Workload (name, node, phase, readiness).
      - "With C(false), the pods are not listed and an admitted Workload shows phase C(Admitted) even when its pods
        run, unless O(phase) names C(Admitted) or C(Running): then the pods are read to tell them apart (and not returned)."
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
- name: Where does my training job stand?
  gpuaas.orchestration.kueue_workload_info:
    namespace: ml-team
    name: llm-finetune
  register: job

- ansible.builtin.debug:
    msg: "{{ job.workloads[0].phase }} {{ job.workloads[0].position_text | default('', true) }}"

- name: Everything waiting for quota in the training ClusterQueue, in queue order
  gpuaas.orchestration.kueue_workload_info:
    cluster_queue: training
    phase: [Pending]
    pods: false
  register: waiting

- ansible.builtin.debug:
    msg: "{{ waiting.workloads | sort(attribute='position.in_cluster_queue') | map(attribute='name') | list }}"

- name: Nodes of the running jobs of a LocalQueue
  gpuaas.orchestration.kueue_workload_info:
    namespace: ml-team
    queue: team-queue
    phase: [Running]
  register: running

- name: Wait until nothing of the team is pending any more
  gpuaas.orchestration.kueue_workload_info:
    namespace: ml-team
    phase: [Pending]
    pods: false
  register: pending
  until: pending.counts.Pending == 0
  retries: 30
  delay: 10
"""

RETURN = r"""
workloads:
  description: One entry per Workload, sorted by namespace, then name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the Workload.
      type: str
      sample: job-llm-finetune-5f2c1
    namespace:
      description: Namespace.
      type: str
    job:
      description: The job the Workload belongs to (its controller owner), C(kind) and C(name).
      type: dict
      sample: {"kind": "Job", "name": "llm-finetune"}
    queue:
      description: The LocalQueue it was submitted to (C(spec.queueName)).
      type: str
    cluster_queue:
      description: The ClusterQueue that admitted it, or the one its LocalQueue points at; null when its LocalQueue does not exist.
      type: str
    priority_class:
      description: Name of its priority class (WorkloadPriorityClass or PriorityClass).
      type: str
    priority:
      description: Its priority (C(spec.priority)).
      type: int
    active:
      description: Whether it is active (C(spec.active) is not false).
      type: bool
    gates:
      description: Its admission gates (annotation C(kueue.x-k8s.io/admission-gated-by)).
      type: list
      elements: str
    phase:
      description: C(Gated), C(Inactive), C(Pending), C(QuotaReserved), C(Admitted), C(Running), C(Succeeded) or C(Failed).
      type: str
    conditions:
      description: Its status conditions with C(type), C(status), C(reason), C(message) and C(lastTransitionTime).
      type: list
      elements: dict
    admission:
      description:
        - Per pod set of the admission, C(pod_set) (its name), C(count), C(flavors) (resource to ResourceFlavor)
          and C(resource_usage) (resource to quantity). Empty when not admitted.
      type: list
      elements: dict
      sample: [{"pod_set": "main", "count": 2, "flavors": {"nvidia.com/gpu": "a100"}, "resource_usage": {"nvidia.com/gpu": "16"}}]
    pods_expected:
      description: The pods of all its pod sets (their counts).
      type: int
    position:
      description:
        - When pending, its position, C(cluster_queue), C(in_cluster_queue) and C(in_local_queue) (0-based) and
          C(pending_in_cluster_queue) (how many are pending there); null otherwise.
      type: dict
      sample: {"cluster_queue": "training", "in_cluster_queue": 0, "in_local_queue": 0, "pending_in_cluster_queue": 3}
    position_text:
      description: The position in words, null when not pending.
      type: str
      sample: position 1 of 3 in ClusterQueue training
    evicted:
      description:
        - The last eviction of a Workload not admitted again, C(preempted), C(reason), C(message), C(time); null
          when none.
      type: dict
    finished:
      description: For a finished Workload, C(succeeded), C(reason) and C(message); null otherwise.
      type: dict
    pods:
      description: Its pods, C(name), C(node), C(phase) and C(ready), sorted by name.
      type: list
      elements: dict
      returned: when O(pods=true)
    pods_running:
      description: How many of its pods run (or ran to completion).
      type: int
      returned: when O(pods=true)
    created:
      description: Its creation time.
      type: str
    age_seconds:
      description: Seconds since its creation.
      type: int
counts:
  description: How many of the returned Workloads are in each phase (every phase is a key, 0 included).
  returned: always
  type: dict
  sample: {"Submitted": 0, "Gated": 0, "Inactive": 0, "Pending": 1, "QuotaReserved": 0, "Admitted": 0, "Running": 2,
           "Succeeded": 0, "Failed": 0}
position_source:
  description:
    - C(visibility-api) when the positions come from Kueue's visibility API, C(computed) when some were computed
      from the Workload objects (the API was not served), C(none) when no Workload is pending.
  returned: always
  type: str
visibility_error:
  description: Why the visibility API could not be used, when RV(position_source=computed).
  returned: when the visibility API failed
  type: str
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule  # noqa: E402
from ansible_collections.gpuaas.orchestration.plugins.module_utils.workloads import info as winfo  # noqa: E402

PHASE_CHOICES = ["Gated", "Inactive", "Pending", "QuotaReserved", "Admitted", "Running", "Succeeded", "Failed"]


def body(m):
    p = m.params
    result = winfo.workload_info(
        m.client, namespace=p.get("namespace"), queue=p.get("queue"), cluster_queue=p.get("cluster_queue"),
        label_selector=p.get("label_selector"), name=p.get("name"), phases=p.get("phase"), pods=p["pods"])
    result["changed"] = False
    return result


def argument_spec():
    return dict(
        namespace=dict(type="str"),
        queue=dict(type="str"),
        cluster_queue=dict(type="str"),
        label_selector=dict(type="str"),
        name=dict(type="str"),
        phase=dict(type="list", elements="str", choices=PHASE_CHOICES),
        pods=dict(type="bool", default=True),
    )


def main():
    module = GpuaasModule(argument_spec())
    module.run(body)


if __name__ == "__main__":
    main()
