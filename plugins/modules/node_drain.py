#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_drain
short_description: Cordon, drain or uncordon Kubernetes nodes, respecting PodDisruptionBudgets and Kueue
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - C(cordon) marks the nodes unschedulable, C(uncordon) schedulable again.
  - C(drain) cordons the nodes first, then removes their pods with the same filters as
    C(kubectl drain) (DaemonSet pods, mirror pods, pods with emptyDir, pods without controller,
    finished pods, a pod selector, a grace period), plus Karpenter's
    C(karpenter.sh/do-not-disrupt) annotation.
  - Evictions go through the eviction API in parallel (bounded by I(concurrency), and per
    PodDisruptionBudget by a third of the disruptions it allowed when the drain started, at least
    one, since the API server serializes the budget's status updates with 500ms back-offs on
    conflicts); an eviction
    refused with 429 because a PodDisruptionBudget would be violated is retried every
    I(eviction_retry_delay) seconds until I(eviction_timeout), and meanwhile no other pod under
    that budget is tried (the budget has no disruption left); then the module fails naming the
    pods still blocked and the budgets blocking them.
  - Every eviction carries the pod's UID as precondition, and the wait for evicted pods matches
    UIDs, so a pod recreated with the same name (StatefulSet) is neither evicted by mistake nor
    waited for.
  - With I(kueue_aware=true), pods that belong to a Workload admitted by Kueue are not evicted one
    by one; the whole Workload is requeued through Kueue instead (C(spec.active=false) so that Kueue
    suspends the job and releases its quota, then C(spec.active=true) once its pods are gone, so that
    it is admitted again where capacity exists).
  - Filter problems (an unmanaged pod without I(force), ...) stop the drain before any eviction.
  - With I(kueue_aware=true), a Workload someone else deactivated (C(spec.active=false)) is left
    deactivated (reported in C(left_deactivated)); the drain only ever reactivates Workloads it
    deactivated itself. It labels those C(gpuaas.io/deactivated-by=node-drain) until it reactivates
    them, so a rerun after an interrupted drain of the same nodes reactivates them too.
  - Check mode writes nothing; it sends dry-run evictions (C(dryRun=All)) so that a
    PodDisruptionBudget that would block shows up, and returns the exact lists of pods that would
    be evicted, that are skipped (with the reason) and that are blocked.
options:
  state:
    description: What to do with the nodes.
    type: str
    choices: [cordon, drain, uncordon]
    default: drain
  name:
    description: Name of one node. Mutually exclusive with I(names) and I(label_selector).
    type: str
  names:
    description:
      - Names of several nodes, for example one batch of a maintenance window; all are cordoned
        first, then drained together. Every node must exist (checked before anything is written).
        Mutually exclusive with I(name) and I(label_selector).
    type: list
    elements: str
  label_selector:
    description:
      - Label selector choosing the nodes (all are cordoned first, then drained together).
        Mutually exclusive with I(name) and I(names).
    type: str
  pod_selector:
    description: Only pods matching this label selector are considered (as C(kubectl drain --pod-selector)).
    type: str
  force:
    description:
      - Also evict pods that declare no controller, pods of a DaemonSet that no longer exists, and
        pods annotated C(karpenter.sh/do-not-disrupt=true).
    type: bool
    default: false
  ignore_daemonsets:
    description:
      - Leave DaemonSet-managed pods in place (they are reported in skipped_pods). When false, a running
        DaemonSet pod stops the drain, as in C(kubectl drain) without C(--ignore-daemonsets).
    type: bool
    default: true
  delete_emptydir_data:
    description: Evict pods that use emptyDir volumes (their local data is lost).
    type: bool
    default: false
  disable_eviction:
    description:
      - Delete pods instead of evicting them. This bypasses PodDisruptionBudgets.
    type: bool
    default: false
  grace_period:
    description:
      - Seconds each pod gets to terminate (C(gracePeriodSeconds) of the eviction); default is the
        pod's own C(terminationGracePeriodSeconds).
    type: int
  concurrency:
    description: How many evictions are in flight at the same time.
    type: int
    default: 10
  eviction_timeout:
    description:
      - How long, in seconds, refused evictions (429, PodDisruptionBudget) are retried before the
        drain fails. C(0) tries each pod once.
    type: int
    default: 120
  eviction_retry_delay:
    description: Seconds between two attempts to evict a pod whose eviction was refused.
    type: float
    default: 2
  wait:
    description: Wait until the evicted pods are gone from the nodes.
    type: bool
    default: true
  wait_timeout:
    description: How long, in seconds, to wait for the evicted pods to be gone (and requeued workloads released).
    type: int
    default: 300
  on_failure:
    description:
      - What happens to the nodes when the drain fails.
      - C(keep_cordoned) leaves them unschedulable (as C(kubectl drain)).
      - C(uncordon) makes schedulable again the nodes this collection cordoned, in this run or in
        an earlier task (a cordon by this collection sets the annotation C(gpuaas.io/cordoned-by),
        an uncordon removes it; a maintenance window cordons its whole batch before the drain).
        Nodes a person or another controller cordoned stay cordoned.
      - C(quarantine) drains what it can; each node that cannot be emptied (a pod that must not be
        evicted, evictions still refused at I(eviction_timeout), pods not gone at I(wait_timeout))
        stays cordoned and gets the label C(gpuaas.io/quarantined=true) and the annotation
        C(gpuaas.io/quarantine-reason); the task then succeeds and lists them in C(quarantined).
      - The result says what was left in C(failed_nodes_state) and C(unschedulable).
    type: str
    choices: [keep_cordoned, uncordon, quarantine]
    default: keep_cordoned
  wait_for_completion:
    description:
      - Pods that are given time to finish instead of being evicted at once (long GPU jobs outside
        Kueue, as NVIDIA's maintenance operator does). The drain cordons, waits until these pods
        have finished (or are gone) for at most I(wait_for_completion.timeout) seconds, then evicts
        what is left (C(on_timeout=evict)) or fails (C(on_timeout=fail)).
      - Pods are chosen by I(wait_for_completion.pod_selector), or by their C(nvidia.com/gpu)
        request with I(wait_for_completion.gpu_pods=true), or both. With I(kueue_aware=true), a
        chosen pod of an admitted Workload is waited for first and requeued only after the timeout.
      - Check mode lists the chosen pods in C(completion_waited) and does not wait.
    type: dict
    suboptions:
      pod_selector:
        description: Label selector of the pods to wait for.
        type: str
      gpu_pods:
        description: Wait for every pod that requests C(nvidia.com/gpu).
        type: bool
        default: false
      timeout:
        description: Seconds to wait at most.
        type: int
        default: 3600
      on_timeout:
        description: What to do with the pods still running at the timeout.
        type: str
        choices: [evict, fail]
        default: evict
  wait_ready:
    description:
      - With I(state=uncordon), first wait until every node is C(Ready), without the
        C(node.kubernetes.io/not-ready) or C(unreachable) taint, and with all its GPUs allocatable
        (C(status.allocatable) of C(nvidia.com/gpu) equal to its capacity); only then uncordon.
        A node that does not get there in I(ready_timeout) seconds stays cordoned, and the task
        fails naming it and what it saw last.
    type: bool
    default: false
  ready_timeout:
    description: Seconds I(wait_ready) waits at most.
    type: int
    default: 600
  kueue_aware:
    description:
      - Requeue workloads admitted by Kueue as a whole instead of evicting their pods one by one
        (see the description). Pods of workloads not admitted are evicted as usual.
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Dry-run cordon and dry-run evictions; reports would_evict, skipped_pods and blocked.
  diff_mode:
    support: full
    description: Shows every node's schedulable state before and after.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
seealso:
  - module: gpuaas.orchestration.node_taints
  - module: kubernetes.core.k8s_drain
  - name: kubectl drain
    description: The filters this module follows.
    link: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_drain/
"""

EXAMPLES = r"""
- name: Drain a GPU node for maintenance; give PodDisruptionBudgets up to 10 minutes
  gpuaas.orchestration.node_drain:
    name: gpu-a100-0
    delete_emptydir_data: true
    eviction_timeout: 600

- name: What would a drain of the L4 pool do? (dry-run evictions show blocking budgets)
  gpuaas.orchestration.node_drain:
    label_selector: gpuaas.io/pool=l4
  check_mode: true
  register: plan

- name: Drain, requeueing Kueue training jobs as a whole; uncordon again if it fails
  gpuaas.orchestration.node_drain:
    name: gpu-a100-1
    kueue_aware: true
    on_failure: uncordon

- name: Drain one maintenance batch together (evictions of all its nodes run in parallel)
  gpuaas.orchestration.node_drain:
    names: [gpu-l4-0, gpu-l4-1]

- name: Drain a batch; a node that cannot be emptied is quarantined and the others go on
  gpuaas.orchestration.node_drain:
    names: [gpu-a100-2, gpu-a100-3]
    kueue_aware: true
    on_failure: quarantine
  register: drained

- name: Give GPU pods outside Kueue up to an hour to finish, then evict them
  gpuaas.orchestration.node_drain:
    name: gpu-a100-4
    wait_for_completion:
      gpu_pods: true
      timeout: 3600

- name: Back in service once the node is Ready with all its GPUs again (after a driver upgrade)
  gpuaas.orchestration.node_drain:
    name: gpu-a100-4
    state: uncordon
    wait_ready: true
    ready_timeout: 900

- name: Only cordon
  gpuaas.orchestration.node_drain:
    name: gpu-a100-0
    state: cordon

- name: Back in service
  gpuaas.orchestration.node_drain:
    name: gpu-a100-0
    state: uncordon
"""

RETURN = r"""
changed:
  description: Whether a node was cordoned/uncordoned, a pod evicted or deleted, or a workload requeued.
  returned: always
  type: bool
nodes:
  description: Per node, its schedulable state.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
    unschedulable_before:
      description: Whether the node was unschedulable before this run.
      type: bool
    unschedulable:
      description: Whether the node is unschedulable at the end (would be, in check mode).
      type: bool
    cordoned:
      description: Whether this run cordoned the node (state=drain).
      type: bool
    uncordoned_after_failure:
      description: Whether the node was made schedulable again because the drain failed and I(on_failure=uncordon).
      type: bool
unschedulable:
  description: Node name -> final unschedulable state.
  returned: always
  type: dict
  sample: {gpu-a100-0: true}
evicted:
  description: Pods evicted (namespace, name, uid, node).
  returned: state=drain
  type: list
  elements: dict
deleted:
  description: Pods deleted (with I(disable_eviction=true)).
  returned: state=drain
  type: list
  elements: dict
would_evict:
  description: In check mode, the pods whose dry-run eviction the API server accepted.
  returned: state=drain and check mode
  type: list
  elements: dict
skipped_pods:
  description: Pods left in place, with the reason (DaemonSet-managed, mirror pod).
  returned: state=drain
  type: list
  elements: dict
  sample: [{namespace: kube-system, name: nvidia-device-plugin-x2k9f, node: gpu-a100-0, reason: DaemonSet-managed pod (ignore_daemonsets)}]
blocked:
  description:
    - Pods whose eviction was still refused when I(eviction_timeout) ran out (dry-run refused, in
      check mode), with the API server's reason and the PodDisruptionBudgets that block them.
  returned: state=drain
  type: list
  elements: dict
  sample:
    - namespace: serving
      name: llm-7d9c-abcde
      node: gpu-l4-0
      budgets: [llm-pdb]
      reason: The disruption budget llm-pdb needs 2 healthy pods and has 2 currently
errors:
  description: Pods that stop the drain (filters), or whose eviction failed otherwise, with the reason.
  returned: state=drain
  type: list
  elements: dict
warnings_pods:
  description: Pods evicted despite a caution (no controller with force, emptyDir data lost, do-not-disrupt with force).
  returned: state=drain
  type: list
  elements: dict
requeued_workloads:
  description:
    - With I(kueue_aware), the Kueue Workloads requeued (namespace, name, owner, cluster_queue they
      were admitted to, pods on the drained nodes, reactivated). When the drain fails after a
      workload was deactivated, it is reactivated (C(reactivated_after_failure=true)) so that no
      job is left switched off.
  returned: state=drain
  type: list
  elements: dict
waiting_for:
  description: Pods still on the nodes when the wait ran out (empty on success).
  returned: state=drain
  type: list
  elements: dict
failed_nodes_state:
  description:
    - On failure, the nodes' schedulable state as left - C(cordoned), C(uncordoned) (this run cordoned
      them and made them schedulable again), C(schedulable) (nothing was cordoned), or
      C(mixed (see unschedulable)). Set for every failure, API errors half-way included.
  returned: on failure
  type: str
quarantined:
  description:
    - With I(on_failure=quarantine), the nodes left cordoned and labelled C(gpuaas.io/quarantined=true),
      each with the reason (C(would=true) in check mode).
  returned: state=drain
  type: list
  elements: dict
  sample: [{name: gpu-a100-3, reason: "cannot evict serving/pinned: pod declares no controller (set force=true to evict)"}]
left_deactivated:
  description: With I(kueue_aware), Workloads someone else had deactivated; the drain did not touch them.
  returned: state=drain
  type: list
  elements: dict
completion_waited:
  description: With I(wait_for_completion), the pods waited for, and whether each finished in time.
  returned: state=drain
  type: list
  elements: dict
ready:
  description: With I(wait_ready), per node C(in service) (check mode - what keeps a node out, if anything).
  returned: state=uncordon and wait_ready
  type: dict
already_gone:
  description: Pods that were planned for eviction but had left the node before the request (counted in I(evicted)).
  returned: state=drain
  type: list
  elements: dict
would_delete:
  description: In check mode with I(disable_eviction), the pods a real run would delete.
  returned: state=drain and check mode
  type: list
  elements: dict
not_evicted:
  description: When a pod filter stopped the drain before any eviction, the pods that would have been evicted.
  returned: when the filters stop the drain
  type: list
  elements: dict
check_mode_note:
  description: In check mode, a note when dry-run evictions were refused (a real drain retries them).
  returned: check mode, when some evictions were refused
  type: str
timings:
  description: Seconds per phase (cordon, plan, kueue_and_budgets, evict, wait).
  returned: state=drain
  type: dict
api_calls:
  description: Number of API requests the run made.
  returned: always
  type: int
duration:
  description: Seconds the whole operation took.
  returned: always
  type: float
eviction_requests:
  description: Number of eviction (or delete) requests sent, retries included.
  returned: state=drain
  type: int
"""

import time

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.drain_runner import (
    DrainOptions,
    run_cordon,
    run_drain,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ValidationError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.node_ops import (
    node_in_service_problem,
    select_nodes,
    wait_in_service,
)


def argument_spec():
    return dict(
        state=dict(type="str", default="drain", choices=["cordon", "drain", "uncordon"]),
        name=dict(type="str"),
        names=dict(type="list", elements="str"),
        label_selector=dict(type="str"),
        pod_selector=dict(type="str"),
        force=dict(type="bool", default=False),
        ignore_daemonsets=dict(type="bool", default=True),
        delete_emptydir_data=dict(type="bool", default=False),
        disable_eviction=dict(type="bool", default=False),
        grace_period=dict(type="int"),
        concurrency=dict(type="int", default=10),
        eviction_timeout=dict(type="int", default=120),
        eviction_retry_delay=dict(type="float", default=2),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
        on_failure=dict(type="str", default="keep_cordoned", choices=["keep_cordoned", "uncordon", "quarantine"]),
        kueue_aware=dict(type="bool", default=False),
        wait_for_completion=dict(type="dict", options=dict(
            pod_selector=dict(type="str"),
            gpu_pods=dict(type="bool", default=False),
            timeout=dict(type="int", default=3600),
            on_timeout=dict(type="str", default="evict", choices=["evict", "fail"]),
        )),
        wait_ready=dict(type="bool", default=False),
        ready_timeout=dict(type="int", default=600),
    )


def _validate(p):
    checks = [
        ("concurrency", p["concurrency"], p["concurrency"] >= 1, "must be at least 1"),
        ("eviction_timeout", p["eviction_timeout"], p["eviction_timeout"] >= 0, "must not be negative"),
        ("eviction_retry_delay", p["eviction_retry_delay"], p["eviction_retry_delay"] > 0, "must be positive"),
        ("wait_timeout", p["wait_timeout"], p["wait_timeout"] >= 0, "must not be negative"),
        ("grace_period", p["grace_period"], p["grace_period"] is None or p["grace_period"] >= 0,
         "must not be negative"),
        ("ready_timeout", p["ready_timeout"], p["ready_timeout"] >= 0, "must not be negative"),
    ]
    completion = p.get("wait_for_completion")
    if completion is not None:
        checks.append(("wait_for_completion.timeout", completion["timeout"], completion["timeout"] >= 0,
                       "must not be negative"))
        checks.append(("wait_for_completion", completion, bool(completion.get("pod_selector") or completion.get("gpu_pods")),
                       "needs pod_selector or gpu_pods=true"))
    for field, value, ok, problem in checks:
        if not ok:
            raise ValidationError(field, value, problem)


def run(module):
    p = module.params
    _validate(p)
    started = time.monotonic()
    nodes = select_nodes(module.client, name=p["name"], label_selector=p["label_selector"], names=p["names"])
    if not nodes and p["label_selector"]:
        module.warn("label selector %r matches no node" % p["label_selector"])
    ready = None
    if p["state"] == "uncordon" and p["wait_ready"]:
        if module.check_mode:
            ready = dict((n["metadata"]["name"], node_in_service_problem(n) or "in service") for n in nodes)
        else:
            nodes = wait_in_service(module.client, [n["metadata"]["name"] for n in nodes], p["ready_timeout"])
            ready = dict((n["metadata"]["name"], "in service") for n in nodes)
    if p["state"] in ("cordon", "uncordon"):
        result = run_cordon(module.client, nodes, p["state"] == "cordon", check_mode=module.check_mode)
    else:
        result = run_drain(module.client, nodes, DrainOptions(**p), check_mode=module.check_mode)
    if ready is not None:
        result["ready"] = ready
    result["duration"] = round(time.monotonic() - started, 3)
    if module.diff_mode:
        result["diff"] = [dict(before_header="node/%s" % n["name"], after_header="node/%s" % n["name"],
                               before={"unschedulable": n["unschedulable_before"]},
                               after={"unschedulable": n["unschedulable"]})
                          for n in result["nodes"] if n["unschedulable_before"] != n["unschedulable"]]
    return result


def main():
    module = GpuaasModule(
        argument_spec(),
        mutually_exclusive=[("name", "names", "label_selector")],
        required_one_of=[("name", "names", "label_selector")],
    )
    module.run(run)


if __name__ == "__main__":
    main()
