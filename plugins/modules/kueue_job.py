#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kueue_job
short_description: Submit GPU jobs to Kueue, gate, hold and release them, and follow them to the end
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Submits a batch/v1 C(Job) or a C(JobSet) (C(jobset.x-k8s.io/v1alpha2)) to a Kueue LocalQueue from typed options
    (image, command, GPUs per pod, parallelism or replicated jobs, ...), or any job kind Kueue integrates from a full
    O(definition) (Job, JobSet, and TrainJob, RayJob, PyTorchJob where their CRDs are installed).
  - Sets Kueue's labels C(kueue.x-k8s.io/queue-name) (O(queue)), C(kueue.x-k8s.io/priority-class) (O(priority_class)) and
    C(kueue.x-k8s.io/max-exec-time-seconds) (O(max_execution_time)). Before anything is written it checks that the LocalQueue
    and the WorkloadPriorityClass exist; an error names the missing one and lists those that exist.
  - Idempotent - server-side apply with an intent digest; a rerun with the same options sends no write request.
    C(spec.suspend) is Kueue's (it suspends a job at creation, unsuspends it on admission) and is never sent.
  - A change to an immutable part of a submitted job (its pod template, completions, replicated jobs) is an error naming
    the field, as the API server names it. With O(recreate=true) the job is deleted and submitted again - refused while
    it holds quota or runs, unless O(force=true).
  - Gating - O(state=gated) submits the job with Kueue's admission gate (annotation C(kueue.x-k8s.io/admission-gated-by),
    beta and on by default in Kueue 0.19) - the job is queued but kept outside admission until O(state=ungated) lifts the
    gate. Kueue accepts a gate only when a job is created, so O(state=gated) never adds one to a job submitted before.
  - O(state=deactivated) sets the job's Workload C(spec.active=false) - the job is suspended and its quota released;
    O(state=activated) queues it again. O(state=absent) deletes the job (its Workload and pods go with it).
  - O(wait) follows the job, bounded by O(wait_timeout), to C(QuotaReserved), C(Admitted), C(Running) (admitted, and every
    pod of every pod set runs) or C(Finished). A job that fails fails the task with Kueue's reason and the job's own
    (C(BackoffLimitExceeded), ...). A job preempted while waiting fails the task saying so. While it waits for quota the
    module reads the job's position in its ClusterQueue from Kueue's visibility API; a timeout says it, for example
    C(position 3 of 7 in ClusterQueue training after 600 s).
options:
  name:
    description: Name of the job.
    type: str
    required: true
  namespace:
    description: Namespace of the job (the namespace of its LocalQueue).
    type: str
    required: true
  state:
    description:
      - C(present) submits the job, or updates it (the gate, if any, stays as it is).
      - C(gated) submits it with the admission gate O(admission_gate). Kueue accepts a gate only when a job is created, so on a job
        submitted before the gate is not added (a rerun after O(state=ungated) is unchanged; a warning says when the job is not held).
      - C(ungated) lifts O(admission_gate) (other gates stay); with the job's options, it also submits or updates the job.
      - C(deactivated) and C(activated) set the Workload's C(spec.active); C(absent) deletes the job.
      - C(ungated), C(deactivated) and C(activated) need only O(name) and O(namespace).
    type: str
    choices: [present, gated, ungated, deactivated, activated, absent]
    default: present
  admission_gate:
    description:
      - The admission gate that O(state=gated) sets and O(state=ungated) lifts, a domain-prefixed name.
    type: str
    default: gpuaas.io/hold
  kind:
    description: The kind the typed options make.
    type: str
    choices: [Job, JobSet]
    default: Job
  definition:
    description:
      - A full job object of any kind Kueue integrates, instead of the typed options. Its C(metadata.name) and
        C(metadata.namespace), when set, must be O(name) and O(namespace). O(queue) and O(priority_class) set Kueue's labels
        on it; without O(queue) the definition must carry the label C(kueue.x-k8s.io/queue-name).
      - A definition with only C(apiVersion) and C(kind) (no C(spec)) names the kind of a submitted job, for
        O(state=ungated), O(state=deactivated), O(state=activated) and O(state=absent).
    type: dict
  queue:
    description: The LocalQueue to submit to (in O(namespace)). Required to submit with the typed options.
    type: str
  priority_class:
    description: The Kueue WorkloadPriorityClass of the job (label C(kueue.x-k8s.io/priority-class)).
    type: str
  image:
    description: The container image. Required with the typed options (for a JobSet, unless every replicated job has one).
    type: str
  command:
    description: The container's command (entrypoint).
    type: list
    elements: str
  args:
    description: The container's arguments.
    type: list
    elements: str
  env:
    description: Environment variables of the container, name to value.
    type: dict
  gpus:
    description: GPUs per pod, a whole number (requested and limited as O(gpu_resource)).
    type: raw
  gpu_resource:
    description: The extended resource name of a GPU.
    type: str
    default: nvidia.com/gpu
  cpu:
    description: CPU request per pod, a quantity (C(8), C(500m)).
    type: raw
  memory:
    description: Memory request per pod, a quantity (C(64Gi)).
    type: raw
  parallelism:
    description: Pods that run at once (a Job; for a JobSet, of its single default replicated job). Default 1.
    type: int
  completions:
    description: Pods that must succeed. Default O(parallelism). Immutable.
    type: int
  backoff_limit:
    description: Retries before the job counts as failed (Kubernetes' default is 6).
    type: int
  replicated_jobs:
    description:
      - The replicated jobs of a JobSet (O(kind=JobSet)); each may set its own container options, else the module's are used.
      - Without it, a JobSet has one replicated job C(workers) with O(parallelism) pods.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the replicated job.
        type: str
        required: true
      replicas:
        description: Copies of the job.
        type: int
        default: 1
      parallelism:
        description: Pods per copy. Default 1.
        type: int
      completions:
        description: Completions per copy. Default its parallelism.
        type: int
      image:
        description: Its container image.
        type: str
      command:
        description: Its command.
        type: list
        elements: str
      args:
        description: Its arguments.
        type: list
        elements: str
      gpus:
        description: GPUs per pod.
        type: raw
      cpu:
        description: CPU per pod.
        type: raw
      memory:
        description: Memory per pod.
        type: raw
  tolerations:
    description: Tolerations of the pods (for the taints of the GPU pool).
    type: list
    elements: dict
    suboptions:
      key:
        description: Taint key.
        type: str
      operator:
        description: C(Equal) or C(Exists).
        type: str
        choices: [Equal, Exists]
      value:
        description: Taint value.
        type: str
      effect:
        description: Taint effect.
        type: str
        choices: [NoSchedule, PreferNoSchedule, NoExecute]
      toleration_seconds:
        description: Seconds a C(NoExecute) taint is tolerated.
        type: int
  node_selector:
    description: Node labels the pods need (Kueue adds those of the flavor it admits the job to).
    type: dict
  max_execution_time:
    description: Seconds the job may run once admitted before Kueue deactivates it (C(kueue.x-k8s.io/max-exec-time-seconds)).
    type: int
  pod_labels:
    description: Labels of the pods.
    type: dict
  pod_annotations:
    description: Annotations of the pods.
    type: dict
  labels:
    description: Labels of the job object (Kueue's own labels are set from their options).
    type: dict
  annotations:
    description: Annotations of the job object.
    type: dict
  wait:
    description: The state to wait for; C(none) does not wait. Not with O(state=gated) or O(state=deactivated).
    type: str
    choices: [none, QuotaReserved, Admitted, Running, Finished]
    default: none
  wait_timeout:
    description: Seconds to wait (for O(wait), and for a delete when O(recreate=true) or O(state=absent) with O(wait)).
    type: int
    default: 300
  recreate:
    description:
      - When a change touches an immutable part of the job, delete it and submit it again, instead of failing.
      - Refused while the job holds quota or runs, unless O(force=true).
    type: bool
    default: false
  force:
    description: Recreate a job that holds quota or runs.
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpuaas.orchestration.apply
  - gpuaas.orchestration.attributes
notes:
  - Check mode sends every write as a server-side dry run (Kueue's webhooks answer) and does not wait.
  - Waiting for C(Running) counts the pods of a Job (label C(batch.kubernetes.io/job-name)) and of a JobSet (label
    C(jobset.sigs.k8s.io/jobset-name)); for other kinds use C(Admitted) or C(Finished).
seealso:
  - module: gpuaas.orchestration.kueue_workload_info
  - module: gpuaas.orchestration.karpenter_capacity
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Submit a 2 x 4-GPU fine-tuning job and wait until every pod runs
  gpuaas.orchestration.kueue_job:
    name: llm-finetune
    namespace: ml-team
    queue: team-a
    priority_class: training
    image: registry.local/llm-finetune:1.0
    command: [python, train.py]
    env: {EPOCHS: "3"}
    parallelism: 2
    gpus: 4
    cpu: 8
    memory: 64Gi
    tolerations:
      - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
    max_execution_time: 86400
    wait: Running
    wait_timeout: 900

- name: A JobSet of 2 replicated jobs x 2 pods, admitted as a whole
  gpuaas.orchestration.kueue_job:
    name: pretrain
    namespace: ml-team
    kind: JobSet
    queue: team-a
    image: registry.local/pretrain:2.1
    gpus: 8
    replicated_jobs:
      - {name: workers, replicas: 2, parallelism: 2}
    wait: Admitted

- name: Submit gated (queued, not admitted until the gate is lifted)
  gpuaas.orchestration.kueue_job:
    name: llm-finetune
    namespace: ml-team
    state: gated
    admission_gate: gpuaas.io/capacity
    queue: team-a
    image: registry.local/llm-finetune:1.0
    gpus: 8

- name: Lift the gate once the capacity is there, and wait for admission
  gpuaas.orchestration.kueue_job:
    name: llm-finetune
    namespace: ml-team
    state: ungated
    admission_gate: gpuaas.io/capacity
    wait: Admitted

- name: Hold a job (suspended, quota released), later queue it again
  gpuaas.orchestration.kueue_job:
    name: llm-finetune
    namespace: ml-team
    state: deactivated

- name: Any kind Kueue integrates, from its definition; wait until it finished
  gpuaas.orchestration.kueue_job:
    name: eval
    namespace: ml-team
    queue: team-a
    definition:
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            restartPolicy: Never
            containers:
              - name: eval
                image: registry.local/eval:1.0
                resources: {limits: {nvidia.com/gpu: 1}}
    wait: Finished
"""

RETURN = r"""
changed:
  description: Whether the job or its Workload was (or in check mode would be) written.
  returned: always
  type: bool
operation:
  description: What happened to the job object.
  returned: always
  type: str
  choices: [created, updated, unchanged, deleted, absent]
operations:
  description: Everything done, in order (C(created), C(updated), C(recreated), C(ungated), C(deactivated), C(activated)).
  returned: always
  type: list
  elements: str
reason:
  description: Why the job was written (C(not found), the fields that differ, C(recreated ...)).
  returned: when the job was written
  type: str
recreated:
  description: Whether the job was deleted and submitted again (O(recreate=true)).
  returned: when the job's options were given
  type: bool
job:
  description: The job as the API server returned it (the dry-run result in check mode).
  returned: unless deleted
  type: dict
phase:
  description:
    - Where the job stands - C(Submitted) (no Workload yet), C(Gated), C(Inactive), C(Pending), C(QuotaReserved),
      C(Admitted), C(Running), C(Succeeded) or C(Failed).
    - C(Running) is only told after a wait for C(Running) or C(Finished) (it needs the pods).
  returned: unless deleted
  type: str
  sample: Running
position:
  description: While it waits for quota, its place in its ClusterQueue (0-based, from Kueue's visibility API).
  returned: unless deleted
  type: dict
  sample: {cluster_queue: training, in_cluster_queue: 2, in_local_queue: 0, pending_in_cluster_queue: 7}
gates:
  description: The admission gates on the job now.
  returned: unless deleted
  type: list
  elements: str
workload:
  description:
    - The job's Kueue Workload - name, queue, cluster_queue, priority_class, priority, active, gates, phase, conditions,
      admission (per pod set its count, flavors and resource usage), pods_expected, position, evicted (a preemption or
      eviction it is queued again after), finished (reason and message, with the job's own), created, age_seconds;
      pods (name, node, phase, ready) and pods_running after a wait for C(Running) or C(Finished).
    - null before Kueue made it.
  returned: unless deleted
  type: dict
waited:
  description: Seconds the wait took.
  returned: when it waited
  type: float
diff:
  description: Before and after of the job (without status and server-populated metadata).
  returned: when diff mode is on and the job was written
  type: dict
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.job import DEFAULT_GATE, JOB_OPTIONS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.workloads.submit import STATES, run_job


def main():
    spec = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=list(STATES)),
        admission_gate=dict(type="str", default=DEFAULT_GATE),
        labels=dict(type="dict"),
        annotations=dict(type="dict"),
        wait=dict(type="str", default="none", choices=["none", "QuotaReserved", "Admitted", "Running", "Finished"]),
        wait_timeout=dict(type="int", default=300),
        recreate=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        force_conflicts=dict(type="bool", default=True),
    )
    spec.update(JOB_OPTIONS)
    module = GpuaasModule(spec)
    module.run(run_job)


if __name__ == "__main__":
    main()
