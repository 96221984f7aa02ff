#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kueue_queue_control
short_description: Stop and resume Kueue ClusterQueues and LocalQueues
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Stops or resumes admission on an existing C(ClusterQueue) or C(LocalQueue) by setting its C(spec.stopPolicy).
  - C(Hold) stops new admissions and lets admitted workloads run to completion; C(HoldAndDrain) also
    evicts the admitted workloads (Kueue suspends their jobs and releases the quota).
  - Resuming sets the stop policy to C(None); waiting workloads are admitted again.
  - The stop policy is written with server-side apply under its own field manager
    (C(gpuaas-orchestration-queue-control)), so it does not fight with M(gpuaas.orchestration.kueue_cluster_queue)
    or M(gpuaas.orchestration.kueue_local_queue) runs that leave O(stop_policy) unset.
options:
  name:
    description: Name of the queue.
    type: str
    required: true
  namespace:
    description: Namespace of the LocalQueue. Giving it selects a LocalQueue unless O(kind) says otherwise.
    type: str
  kind:
    description: Kind of the queue. Defaults to C(LocalQueue) when O(namespace) is given, else C(ClusterQueue).
    type: str
    choices: [ClusterQueue, LocalQueue]
  state:
    description: C(stopped) stops admission with O(stop_policy); C(running) resumes it.
    type: str
    choices: [stopped, running]
    default: stopped
  stop_policy:
    description: How to stop.
    type: str
    choices: [Hold, HoldAndDrain]
    default: Hold
  wait:
    description:
      - With O(state=stopped), wait until the queue has no admitted and no reserving workload left
        (with C(Hold) that is when the running ones finish; with C(HoldAndDrain) when they are evicted).
      - With O(state=running), wait until the queue's C(Active) condition is C(True).
      - Ignored in check mode.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait at most; a timeout says how many workloads were still admitted.
    type: int
    default: 60
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - gpuaas.orchestration.attributes
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Stop admitting to the training queue, let running jobs finish, and wait for them
  gpuaas.orchestration.kueue_queue_control:
    name: team-a-train
    state: stopped
    stop_policy: Hold
    wait: true
    wait_timeout: 3600

- name: Drain a LocalQueue now (evict its admitted workloads)
  gpuaas.orchestration.kueue_queue_control:
    name: train
    namespace: team-a
    state: stopped
    stop_policy: HoldAndDrain

- name: Resume
  gpuaas.orchestration.kueue_queue_control:
    name: team-a-train
    state: running
"""

RETURN = r"""
changed:
  description: Whether the stop policy was (or in check mode would be) changed.
  returned: always
  type: bool
operation:
  description: C(updated) or C(unchanged).
  returned: always
  type: str
stop_policy:
  description: The stop policy after the run.
  returned: always
  type: str
  sample: Hold
previous_stop_policy:
  description: The stop policy before the run.
  returned: always
  type: str
  sample: None
admitted_workloads:
  description: Admitted workloads of the queue when the module returned.
  returned: always
  type: int
reserving_workloads:
  description: Workloads with reserved quota when the module returned.
  returned: always
  type: int
pending_workloads:
  description: Pending workloads when the module returned.
  returned: always
  type: int
resource:
  description: The queue object as returned by the API server.
  returned: always
  type: dict
diff:
  description: Before and after of the queue object.
  returned: when diff mode is on
  type: dict
timings:
  description: Seconds spent per phase.
  returned: always
  type: dict
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector, ValidationError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import CLUSTER_QUEUE, LOCAL_QUEUE
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import (
    condition_predicate,
    describe_conditions,
)

QUEUE_CONTROL_MANAGER = "gpuaas-orchestration-queue-control"


def _counts(obj):
    st = (obj or {}).get("status") or {}
    return dict(admitted_workloads=st.get("admittedWorkloads", 0),
                reserving_workloads=st.get("reservingWorkloads", 0),
                pending_workloads=st.get("pendingWorkloads", 0))


def _drained(obj):
    c = _counts(obj)
    return obj is not None and c["admitted_workloads"] == 0 and c["reserving_workloads"] == 0


def _describe_counts(obj):
    if obj is None:
        return "queue not found"
    c = _counts(obj)
    return "%d admitted, %d reserving, %d pending workloads; %s" % (
        c["admitted_workloads"], c["reserving_workloads"], c["pending_workloads"], describe_conditions(obj))


def body(m):
    p = m.params
    kind_name = p["kind"] or ("LocalQueue" if p.get("namespace") else "ClusterQueue")
    kind = LOCAL_QUEUE if kind_name == "LocalQueue" else CLUSTER_QUEUE
    errs = ErrorCollector()
    v.check_name(errs, "name", p["name"])
    if kind.namespaced:
        if not p.get("namespace"):
            errs.add("namespace", p.get("namespace"), "is required for a LocalQueue")
        else:
            v.check_name(errs, "namespace", p["namespace"], kind="label")
    errs.raise_if_any()
    policy = p["stop_policy"] if p["state"] == "stopped" else "None"
    namespace = p.get("namespace") if kind.namespaced else None
    obj = {"apiVersion": kind.api_version, "kind": kind.kind,
           "metadata": {"name": p["name"], "namespace": namespace}, "spec": {"stopPolicy": policy}}
    seen = {}

    def precheck(live):
        seen["live"] = live
        if live is None:
            return [ValidationError("name", p["name"], "%s does not exist" % kind.ref(p["name"], namespace))]
        return []

    wait = None
    if p["wait"]:
        if p["state"] == "stopped":
            wait = engine.WaitSpec(_drained, "without admitted or reserving workloads",
                                   timeout=p["wait_timeout"], describe=_describe_counts)
        else:
            wait = engine.WaitSpec(condition_predicate("Active"), "Active", timeout=p["wait_timeout"],
                                   describe=describe_conditions)
    item = engine.Item(kind, obj, state="present", precheck=precheck, wait=wait,
                       field_manager=QUEUE_CONTROL_MANAGER)
    result = engine.run(m.client, [item], check_mode=m.check_mode, field_manager=QUEUE_CONTROL_MANAGER)
    resource = result["results"][0]["object"]
    extra = dict(stop_policy=((resource or {}).get("spec") or {}).get("stopPolicy", "None"),
                 previous_stop_policy=((seen.get("live") or {}).get("spec") or {}).get("stopPolicy", "None"))
    extra.update(_counts(resource))
    m.exit_engine(result, single=True, **extra)


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str"),
        kind=dict(type="str", choices=["ClusterQueue", "LocalQueue"]),
        state=dict(type="str", default="stopped", choices=["stopped", "running"]),
        stop_policy=dict(type="str", default="Hold", choices=["Hold", "HoldAndDrain"]),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=60),
    )
    module = GpuaasModule(argument_spec)
    module.run(body)


if __name__ == "__main__":
    main()
