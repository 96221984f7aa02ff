#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: karpenter_nodepool
short_description: Manage Karpenter NodePools (karpenter.sh/v1)
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Creates, updates and deletes one Karpenter C(NodePool) - the template of the nodes Karpenter may
    launch (labels, annotations, requirements, taints, startup taints, node class, expiry,
    termination grace period), how it may disrupt them (consolidation policy, consolidate after,
    disruption budgets) and how much it may launch (limits, including C(nvidia.com/gpu)) and the
    pool's weight.
  - Every option is validated before anything is written, and all problems are reported together,
    each naming the field and the value (requirement operators and values, C(minValues), taint
    effects, quantities, durations, budgets as a count or a percentage up to 100%, cron schedules
    field by field, schedule without duration and the reverse, disruption reasons, weight 1..100).
    The field is the NodePool's, for example C(spec.template.spec.requirements[0].operator) for
    I(requirements[0].operator) or C(spec.limits['nvidia.com/gpu']) for I(limits).
  - Changing the C(group) or C(kind) of I(node_class_ref) of an existing NodePool is refused before
    any write (Karpenter forbids it; delete and recreate the pool).
  - Writes with server-side apply under the collection's field manager; check mode uses
    server-side dry run, so admission errors show in check mode too. A second identical run
    reports no change.
  - While the pool's voluntary disruption is paused by M(gpuaas.orchestration.karpenter_disruption),
    the budgets given here do not end the pause; they are saved and take effect on resume.
  - Deleting a NodePool that still has NodeClaims or nodes needs I(force=true) (the nodes are
    terminated); with I(wait=true) the module waits until the pool, its NodeClaims and its nodes are
    gone.
options:
  name:
    description: Name of the NodePool.
    type: str
    required: true
  state:
    description: C(present) creates or updates the NodePool; C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  labels:
    description: Labels of the nodes (template metadata). Keys in the C(karpenter.sh) domain are refused.
    type: dict
  annotations:
    description: Annotations of the nodes (template metadata).
    type: dict
  requirements:
    description:
      - Node requirements. Operators C(In), C(NotIn), C(Exists), C(DoesNotExist), C(Gt), C(Lt)
        (and Karpenter's C(Gte), C(Lte)).
      - C(In) and C(NotIn) need values; C(Exists) and C(DoesNotExist) take none; C(Gt), C(Lt), C(Gte),
        C(Lte) take exactly one non-negative integer.
    type: list
    elements: dict
    default: []
    suboptions:
      key:
        description: Label key, for example C(node.kubernetes.io/instance-type) or C(nvidia.com/gpu.product).
        type: str
        required: true
      operator:
        description: One of C(In), C(NotIn), C(Exists), C(DoesNotExist), C(Gt), C(Lt), C(Gte), C(Lte).
        type: str
        required: true
      values:
        description: Values of the requirement.
        type: list
        elements: str
      min_values:
        description:
          - Minimum number of distinct values Karpenter must keep for this key (1..50); with C(In)
            at least that many values must be given.
        type: int
  taints:
    description: Taints of the nodes.
    type: list
    elements: dict
    suboptions:
      key:
        description: Taint key.
        type: str
        required: true
      value:
        description: Taint value.
        type: str
      effect:
        description: One of C(NoSchedule), C(PreferNoSchedule), C(NoExecute).
        type: str
        required: true
  startup_taints:
    description: Taints present at node startup, expected to be removed by a daemon on the node.
    type: list
    elements: dict
    suboptions:
      key:
        description: Taint key.
        type: str
        required: true
      value:
        description: Taint value.
        type: str
      effect:
        description: One of C(NoSchedule), C(PreferNoSchedule), C(NoExecute).
        type: str
        required: true
  node_class_ref:
    description:
      - The provider node class of the pool. Required with I(state=present).
      - I(group) and I(kind) cannot change on an existing pool.
    type: dict
    suboptions:
      group:
        description: API group of the node class, for example C(karpenter.kwok.sh) or C(karpenter.k8s.aws).
        type: str
        required: true
      kind:
        description: Kind of the node class, for example C(KWOKNodeClass) or C(EC2NodeClass).
        type: str
        required: true
      name:
        description: Name of the node class.
        type: str
        required: true
  expire_after:
    description: Lifetime of a node, for example C(720h), or C(Never).
    type: str
  termination_grace_period:
    description: Longest time a node's draining may take, for example C(1h).
    type: str
  disruption:
    description: Voluntary disruption of the pool's nodes.
    type: dict
    suboptions:
      consolidation_policy:
        description: One of C(WhenEmpty), C(WhenEmptyOrUnderutilized), C(Balanced).
        type: str
      consolidate_after:
        description: How long a node must be empty or underutilized before consolidation, for example C(30s), or C(Never).
        type: str
      budgets:
        description:
          - Disruption budgets. The most restrictive active budget applies.
        type: list
        elements: dict
        suboptions:
          nodes:
            description: Nodes that may be disrupted at once, a count such as C(2) or a percentage such as C(10%) (at most C(100%)).
            type: str
            required: true
          schedule:
            description: Cron schedule (5 fields or C(@daily) and the like, UTC) at which the budget starts; needs I(duration).
            type: str
          duration:
            description: How long the budget is active after each schedule hit, in hours and minutes (C(8h), C(1h30m)); needs I(schedule).
            type: str
          reasons:
            description: Disruption reasons the budget applies to, from C(Underutilized), C(Empty), C(Drifted); all when omitted.
            type: list
            elements: str
  limits:
    description: Resource limits of the pool (resource name to quantity), for example C(nvidia.com/gpu) C(16).
    type: dict
  weight:
    description: Priority of the pool among pools (1..100; higher first).
    type: int
  force:
    description: With I(state=absent), delete the pool even when it still has NodeClaims or nodes.
    type: bool
    default: false
  force_conflicts:
    description:
      - Take over fields of the NodePool that other field managers set (server-side apply with force).
      - With C(false) the module fails naming those fields and their managers, and writes nothing.
    type: bool
    default: true
  wait:
    description:
      - With I(state=present), wait until the pool is C(Ready).
      - With I(state=absent), wait until the pool, its NodeClaims and its nodes are gone.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait at most.
    type: int
    default: 120
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Validates, computes the change and sends it with server-side dry run; nothing is persisted.
  diff_mode:
    support: full
    description: Shows the NodePool before and after for create, update and delete.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
seealso:
  - module: gpuaas.orchestration.karpenter_capacity
  - module: gpuaas.orchestration.karpenter_disruption
  - module: gpuaas.orchestration.karpenter_info
"""

EXAMPLES = r"""
- name: An on-demand L4 pool for inference, at most 16 GPUs
  gpuaas.orchestration.karpenter_nodepool:
    name: l4-inference
    labels:
      gpuaas.io/pool: l4-inference
    requirements:
      - key: node.kubernetes.io/instance-type
        operator: In
        values: [gpu-1x-l4, gpu-4x-l4]
      - key: karpenter.sh/capacity-type
        operator: In
        values: [on-demand]
    taints:
      - key: nvidia.com/gpu
        value: "true"
        effect: NoSchedule
    node_class_ref:
      group: karpenter.kwok.sh
      kind: KWOKNodeClass
      name: default
    expire_after: 720h
    disruption:
      consolidation_policy: WhenEmpty
      consolidate_after: 5m
      budgets:
        - nodes: "10%"
        - nodes: "0"
          schedule: "0 9 * * 1-5"
          duration: 8h
          reasons: [Underutilized, Empty]
    limits:
      nvidia.com/gpu: 16
    weight: 50
    wait: true

- name: Delete the pool and its nodes, waiting until they are gone
  gpuaas.orchestration.karpenter_nodepool:
    name: l4-inference
    state: absent
    force: true
    wait: true
    wait_timeout: 600
"""

RETURN = r"""
changed:
  description: Whether the NodePool was (or, in check mode, would be) created, updated or deleted.
  returned: always
  type: bool
operation:
  description:
    - What happened to the NodePool, one of C(created), C(updated), C(unchanged), C(deleted), C(absent).
    - Also in C(results[0].action) (Ansible itself sets a task result's C(action) to the module name).
  returned: always
  type: str
  sample: created
paused:
  description:
    - True when the pool's voluntary disruption is paused by M(gpuaas.orchestration.karpenter_disruption).
      Its budgets in force stay as the pause set them; the budgets given to this module are saved
      and take effect on resume (a warning says so when they differ from the saved ones).
  returned: when the pool is paused and I(disruption.budgets) is given
  type: bool
saved_budgets:
  description: The budgets that resume will restore (see RV(paused)).
  returned: when the pool is paused and I(disruption.budgets) is given
  type: list
  elements: dict
resource:
  description: The NodePool as the API server returned it (the dry-run result in check mode).
  returned: when I(state=present)
  type: dict
results:
  description: The engine's per-object results (ref, kind, name, action, object).
  returned: always
  type: list
  elements: dict
summary:
  description: Counts of created, updated, unchanged, deleted and absent objects.
  returned: always
  type: dict
deleted_nodeclaims:
  description: NodeClaims deleted together with the pool (I(state=absent), I(force=true)).
  returned: when I(state=absent)
  type: list
  elements: str
timings:
  description: Seconds spent validating, reading, applying and waiting.
  returned: always
  type: dict
diff:
  description: The NodePool before and after (with C(--diff)).
  returned: when diff mode is on
  type: dict
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
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.ops import LazyClient, run_nodepool
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodepool import DESCRIPTION


def argument_spec():
    """The NodePool description's options and the common ones (wait longer: pools take a while)."""
    return DESCRIPTION.argument_spec(extra=dict(wait_timeout=dict(type="int", default=120)))


def run(module):
    result, extra = run_nodepool(LazyClient(lambda: module.client), dict(module.params), check_mode=module.check_mode)
    module.exit_engine(result, single=True, **extra)


def main():
    module = GpuaasModule(
        argument_spec(),
        required_if=[("state", "present", DESCRIPTION.required_when_present)],
    )
    module.run(run)


if __name__ == "__main__":
    main()
