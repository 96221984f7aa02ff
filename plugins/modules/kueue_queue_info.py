#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kueue_queue_info
short_description: Usage, workload counts and pending positions of Kueue queues
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Reports, per C(ClusterQueue) and C(LocalQueue), the quota, usage and reservation per flavor and
    resource, whether the queue borrows, the admitted, reserving and pending workload counts, the stop
    policy and the C(Active) condition.
  - Lists the pending workloads with their positions from Kueue's visibility API
    (C(visibility.kueue.x-k8s.io/v1beta2), C(pendingworkloads)). When that API is not served, the
    positions are computed from the Workload objects (priority, then time) and RV(pending_source) says so.
  - Reads only; one LIST per kind.
options:
  name:
    description: Only these ClusterQueues (and the LocalQueues pointing at them).
    type: list
    elements: str
  cohort:
    description: Only the ClusterQueues of this cohort (and the LocalQueues pointing at them).
    type: str
  namespace:
    description: Only the LocalQueues of this namespace.
    type: str
  local_queue:
    description: Only the LocalQueues with these names.
    type: list
    elements: str
  pending_workloads:
    description: Include the pending workloads with their positions.
    type: bool
    default: true
  pending_limit:
    description: At most this many pending workloads per ClusterQueue.
    type: int
    default: 100
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpuaas.orchestration.attributes.INFO
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Usage of the GPU cohort
  gpuaas.orchestration.kueue_queue_info:
    cohort: gpu-pool
  register: info

- name: Where is my job in the queue?
  gpuaas.orchestration.kueue_queue_info:
    namespace: team-a
  register: mine

- ansible.builtin.debug:
    msg: "{{ mine.local_queues | map(attribute='pending') | list }}"
"""

RETURN = r"""
cluster_queues:
  description: One entry per ClusterQueue.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name.
      type: str
    cohort:
      description: Cohort name.
      type: str
    active:
      description: Whether the C(Active) condition is C(True).
      type: bool
    active_reason:
      description: Reason of the C(Active) condition.
      type: str
    stop_policy:
      description: C(None), C(Hold) or C(HoldAndDrain).
      type: str
    admitted_workloads:
      description: Count from the queue's status.
      type: int
    reserving_workloads:
      description: Count from the queue's status.
      type: int
    pending_workloads:
      description: Count from the queue's status.
      type: int
    borrowing:
      description: Whether the queue borrows quota from its cohort now.
      type: bool
    flavors:
      description: Per flavor, per resource C(nominal_quota), C(borrowing_limit), C(lending_limit), C(usage), C(reservation), C(borrowed).
      type: list
      elements: dict
    pending:
      description:
        - Pending workloads with C(name), C(namespace), C(local_queue), C(priority),
          C(position_in_cluster_queue) and C(position_in_local_queue) (0-based).
      type: list
      elements: dict
local_queues:
  description: One entry per LocalQueue, with the same counts, usage and reservation per flavor, and its pending workloads.
  returned: always
  type: list
  elements: dict
pending_source:
  description: C(visibility-api) when positions come from Kueue's visibility API, C(computed) when computed from Workload objects, C(none) when not asked for.
  returned: always
  type: str
visibility_error:
  description: Why the visibility API could not be used, when RV(pending_source=computed).
  returned: when the visibility API failed
  type: str
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import common as kc
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import info as kinfo


def body(m):
    p = m.params
    c = m.client
    cqs = c.list(kc.CLUSTER_QUEUE)
    listed_lqs = c.list(kc.LOCAL_QUEUE, namespace=p.get("namespace"))
    lqs = listed_lqs
    if p.get("name"):
        cqs = [q for q in cqs if q["metadata"]["name"] in p["name"]]
    if p.get("cohort"):
        cqs = [q for q in cqs if (q.get("spec") or {}).get("cohortName") == p["cohort"]]
    cq_names = set(q["metadata"]["name"] for q in cqs)
    if p.get("name") or p.get("cohort"):
        lqs = [q for q in lqs if (q.get("spec") or {}).get("clusterQueue") in cq_names]
    if p.get("local_queue"):
        lqs = [q for q in lqs if q["metadata"]["name"] in p["local_queue"]]
    cq_out = [kinfo.summarize_cluster_queue(q) for q in cqs]
    lq_out = [kinfo.summarize_local_queue(q) for q in lqs]
    source = "none"
    extra = {}
    if p["pending_workloads"]:
        needed = list(cq_names) + [q["spec"].get("clusterQueue") for q in lqs
                                   if (q.get("spec") or {}).get("clusterQueue") not in cq_names]
        pending = {}
        source = "visibility-api"
        failure = None
        for name in needed:
            if not name:
                continue
            items, err = kinfo.pending_workloads(c, cq_name=name, limit=p["pending_limit"])
            if items is None:
                failure = err
                break
            pending[name] = items
        if failure is not None:
            source = "computed"
            extra["visibility_error"] = failure
            workloads = c.list(kc.WORKLOAD)
            # positions are per ClusterQueue: computed over all its LocalQueues, not only the
            # filtered ones (a namespace filter listed fewer, so list again)
            all_lqs = c.list(kc.LOCAL_QUEUE) if p.get("namespace") else listed_lqs
            pending = dict((name, kinfo.compute_pending_positions(name, workloads, all_lqs)[:p["pending_limit"]])
                           for name in needed if name)
        for q in cq_out:
            q["pending"] = pending.get(q["name"], [])
        for q in lq_out:
            q["pending"] = [w for w in pending.get(q["cluster_queue"], [])
                            if w["namespace"] == q["namespace"] and w["local_queue"] == q["name"]]
    return dict(changed=False, cluster_queues=cq_out, local_queues=lq_out, pending_source=source, **extra)


def main():
    argument_spec = dict(
        name=dict(type="list", elements="str"),
        cohort=dict(type="str"),
        namespace=dict(type="str"),
        local_queue=dict(type="list", elements="str"),
        pending_workloads=dict(type="bool", default=True),
        pending_limit=dict(type="int", default=100),
    )
    module = GpuaasModule(argument_spec)
    module.run(body)


if __name__ == "__main__":
    main()
