#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: maintenance_window
short_description: Lock, plan, record and report a node maintenance window in the cluster
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - The bookkeeping of a maintenance window, kept in the cluster so that every run sees it. The
    role C(gpuaas.orchestration.maintenance_window) calls it around its batches; it does not
    cordon or drain anything itself (M(gpuaas.orchestration.node_drain) does).
  - The lock is a C(coordination.k8s.io/v1) Lease C(gpuaas-maintenance-<name>) in I(namespace),
    with the holder, when it was acquired and renewed, and its duration. One window of a name
    runs at a time; a live lock of another holder is refused naming that holder and when the lock
    expires; an expired lock is taken over (with a warning).
  - The progress record is a ConfigMap of the same name (key C(record.json)) - the batches
    planned at the start, what each node went through, what the window paused (and what was
    paused before it, so that resuming restores exactly that), every run of the window.
  - C(begin) checks the allowed time window, takes the lock, and either plans a new window (the
    batches, the nodes already unschedulable, the NodePools and ClusterQueues concerned) or
    resumes the one a failed or stopped run left (its batches; finished ones are not run again).
  - C(checkpoint) renews the lock (failing if the run lost it) and records one step. With
    I(event=started) it also checks the time window; once it has closed it records that the
    window stopped and returns C(window_open=false), and the batch does not start.
  - C(end) records the outcome and what was restored, releases the lock, and writes the report
    (JSON and Markdown) at I(report_path).
options:
  action:
    description: The step of the window.
    type: str
    required: true
    choices: [begin, checkpoint, end]
  name:
    description:
      - Name of the window, a DNS label. One window of a name at a time - use the cluster's name
        for one window per cluster, a pool's for one per pool.
    type: str
    required: true
  namespace:
    description: Namespace of the Lease and the ConfigMap (it must exist).
    type: str
    default: kube-system
  holder:
    description: Who runs the window (an AWX job id, a user and host). Stored in the Lease.
    type: str
    required: true
  lease_duration:
    description:
      - Seconds the lock stays valid without renewal. Every step renews it, so it must be longer
        than the longest step (a drain, the maintenance of a node).
    type: int
    default: 1800
  nodes:
    description: Node names of the window (C(begin)). Either this or I(label_selector).
    type: list
    elements: str
  label_selector:
    description: Label selector choosing the nodes (C(begin), read once).
    type: str
  batch_size:
    description:
      - Nodes out of service at the same time (C(begin)) - a count (C(2)) or a percentage of the
        nodes (C(25%)), rounded down, at least one.
    type: str
    default: "1"
  group_by:
    description:
      - A node label key (C(karpenter.sh/nodepool), C(topology.kubernetes.io/zone)); batches are
        made per value and never mix two values, and a percentage is of the group's size.
    type: str
  restart:
    description:
      - With C(begin), start the window afresh although its record says it succeeded. Without it, a
        window that succeeded is one maintenance event done - C(begin) changes nothing and returns
        C(completed=true) (an AWX retry or a second run does no maintenance twice). Name a new
        event differently (C(a100-2026-12-driver-570)) or set this.
    type: bool
    default: false
  hold_queues:
    description:
      - Also find the Kueue ClusterQueues with a flavor whose node labels match a node of the
        window (returned in C(cluster_queues_to_hold) with their stop policy before).
    type: bool
    default: false
  schedule:
    description:
      - When the window may run. C(begin) refuses outside it; no batch starts after it closed.
        A window whose end is not after its start runs past midnight (the day is the day it starts).
    type: dict
    suboptions:
      days:
        description: Days of the week it may start, C(Mon) ... C(Sun); default every day.
        type: list
        elements: str
      start:
        description: Start time, C(HH:MM).
        type: str
        required: true
      end:
        description: End time, C(HH:MM).
        type: str
        required: true
      timezone:
        description: IANA time zone of I(start) and I(end).
        type: str
        default: UTC
  event:
    description:
      - The step recorded by C(checkpoint) - C(renew) (only renew the lock), a batch's C(started),
        C(drained) (I(data) is the node_drain result), C(node_done) (I(data) has C(node) and facts of
        it), C(done), C(failed) (I(reason) says why), or C(paused) (I(data) lists C(nodepools) and
        C(cluster_queues) the window paused).
    type: str
    choices: [renew, started, drained, node_done, done, failed, paused]
    default: renew
  batch:
    description: Index of the batch (from 1) the event is about.
    type: int
  data:
    description: Facts of the event (see I(event)).
    type: dict
  reason:
    description: Text stored with the event (the error of a failed batch), or with C(end) the run's error.
    type: str
  outcome:
    description:
      - How the run ended (C(end)). C(succeeded) with batches left is recorded as C(stopped) (the
        time window closed); the next C(begin) resumes C(stopped) and C(failed) windows.
    type: str
    choices: [succeeded, failed, stopped]
    default: succeeded
  restored:
    description: What the run restored (C(end)) - C(nodepools), C(cluster_queues), C(kept_paused).
    type: dict
  report_path:
    description:
      - Where C(end) writes the report, on the host the module runs on - C(<path>.json) and
        C(<path>.md) (an extension C(.json) or C(.md) on I(report_path) is dropped first).
    type: path
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Reads the lock and the record and says what would happen; writes nothing (no lock taken).
  diff_mode:
    support: none
    description: The record and the report say what changed.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
notes:
  - Times in the record are UTC. The record is a ConfigMap, so a window is limited to some
    thousands of nodes (1 MiB).
seealso:
  - module: gpuaas.orchestration.node_drain
  - module: gpuaas.orchestration.karpenter_disruption
  - module: gpuaas.orchestration.kueue_queue_control
"""

EXAMPLES = r"""
- name: Begin (or resume) the A100 pool's window, two nodes at a time, Saturday nights only
  gpuaas.orchestration.maintenance_window:
    action: begin
    name: a100-pool
    holder: "awx-job-{{ awx_job_id | default('manual') }}"
    label_selector: karpenter.sh/nodepool=a100
    batch_size: "2"
    schedule:
      days: [Sat]
      start: "22:00"
      end: "04:00"
      timezone: Europe/Berlin
  register: window

- name: Renew the lock and record that batch 1 starts (no batch starts once the window closed)
  gpuaas.orchestration.maintenance_window:
    action: checkpoint
    name: a100-pool
    holder: "awx-job-{{ awx_job_id | default('manual') }}"
    event: started
    batch: 1
  register: step

- name: End, release the lock, write the report
  gpuaas.orchestration.maintenance_window:
    action: end
    name: a100-pool
    holder: "awx-job-{{ awx_job_id | default('manual') }}"
    report_path: /var/log/gpuaas/a100-pool-window
"""

RETURN = r"""
status:
  description: Status of the window in its record - C(running), C(succeeded), C(failed), C(stopped).
  returned: always
  type: str
resumed:
  description: Whether C(begin) resumed a window a failed or stopped run left.
  returned: action=begin
  type: bool
completed:
  description: C(begin) found the window already succeeded (and I(restart) unset) - nothing to do.
  returned: action=begin
  type: bool
batches:
  description: Every batch - index, nodes, state (C(pending), C(running), C(done), C(failed)), times, per node results.
  returned: always
  type: list
  elements: dict
todo:
  description: The batches still to run (index, nodes), in order.
  returned: always
  type: list
  elements: dict
  sample: [{index: 2, nodes: [gpu-a100-2, gpu-a100-3], group: null}]
done_nodes:
  description: Nodes whose batch is done (not drained again on resume).
  returned: always
  type: list
  elements: str
unschedulable_before:
  description: Nodes that were already unschedulable when the window began (never uncordoned by it).
  returned: always
  type: list
  elements: str
nodepools_to_pause:
  description: NodePools of the window's nodes that were not paused before it.
  returned: always
  type: list
  elements: str
cluster_queues_to_hold:
  description: With I(hold_queues), the concerned ClusterQueues that were not stopped before the window.
  returned: always
  type: list
  elements: str
window_open:
  description: Whether the time window is open (C(checkpoint)).
  returned: action=checkpoint
  type: bool
stopped:
  description: The window closed before the batch started; it was not started.
  returned: when it happened
  type: bool
lock:
  description: The lock taken - holder, verdict (C(create), C(renew), C(take_over)), lease, duration.
  returned: action=begin
  type: dict
counts:
  description: Batches and nodes done, nodes quarantined, pods evicted, workloads requeued.
  returned: always
  type: dict
summary:
  description: One line for people.
  returned: always
  type: str
  sample: "maintenance window a100-pool succeeded: 3/3 batches, 6/6 nodes done, 0 quarantined, 40 pods evicted, 2 workloads requeued, 1 run(s)"
report:
  description: Paths of the JSON and Markdown reports (C(end) with I(report_path)).
  returned: action=end
  type: dict
record:
  description: The whole progress record.
  returned: always
  type: dict
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.window_store import run_window


def argument_spec():
    return dict(
        action=dict(type="str", required=True, choices=["begin", "checkpoint", "end"]),
        name=dict(type="str", required=True),
        namespace=dict(type="str", default="kube-system"),
        holder=dict(type="str", required=True),
        lease_duration=dict(type="int", default=1800),
        nodes=dict(type="list", elements="str"),
        label_selector=dict(type="str"),
        batch_size=dict(type="str", default="1"),
        group_by=dict(type="str"),
        hold_queues=dict(type="bool", default=False),
        restart=dict(type="bool", default=False),
        schedule=dict(type="dict", options=dict(
            days=dict(type="list", elements="str"),
            start=dict(type="str", required=True),
            end=dict(type="str", required=True),
            timezone=dict(type="str", default="UTC"),
        )),
        event=dict(type="str", default="renew",
                   choices=["renew", "started", "drained", "node_done", "done", "failed", "paused"]),
        batch=dict(type="int"),
        data=dict(type="dict"),
        reason=dict(type="str"),
        outcome=dict(type="str", default="succeeded", choices=["succeeded", "failed", "stopped"]),
        restored=dict(type="dict"),
        report_path=dict(type="path"),
    )


def run(module):
    return run_window(module.client, module.params, check_mode=module.check_mode)


def main():
    module = GpuaasModule(argument_spec(), mutually_exclusive=[("nodes", "label_selector")])
    module.run(run)


if __name__ == "__main__":
    main()
