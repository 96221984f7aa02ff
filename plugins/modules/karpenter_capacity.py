#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: karpenter_capacity
short_description: Ensure a Karpenter NodePool has N GPU nodes of one shape, through NodeClaims
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Makes sure the capacity group I(name) of NodePool I(nodepool) has exactly I(count) NodeClaims of
    one shape (instance types, or a GPU count and product), for capacity wanted ahead of the pods
    that will use it (a training run, a maintenance window, an inference launch).
  - The NodeClaims are built from the NodePool's template (requirements, taints, startup taints,
    node class, expiry, labels, annotations), carry the labels C(karpenter.sh/nodepool) and
    C(gpuaas.io/capacity-group), are owned by the NodePool, and by default carry
    C(karpenter.sh/do-not-disrupt=true) so that consolidation does not take the capacity back.
    Their names are C(<nodepool>-<name>-<n>), with the lowest numbers C(n) (from 1) that no NodeClaim
    of the group holds (one being deleted still holds its name). They are created with a plain create
    (POST; server-side dry run in check mode) and deleted with the engine. NodeClaims made by earlier
    versions, named C(<nodepool>-<name>-<5 random lowercase letters>), still belong to the group.
  - Idempotent in count. NodeClaims of the group already being deleted do not count. A rerun with
    the same I(count) creates nothing; a rerun after one NodeClaim disappeared creates one.
  - Safe when run concurrently for the same group (two plays, two AWX jobs). Because the names are
    deterministic, racing runs try to create the same names and the API server lets only one of them
    create each; the other gets C(409 AlreadyExists), reports that NodeClaim in RV(created_by_others)
    with a warning, counts it toward I(count), and never creates another one under a different name in
    its place. So concurrent runs with the same I(count) never make the group larger than I(count), and
    RV(created) lists only what this run created. (A name held by a NodeClaim of another group, or by
    one being deleted that appeared after the read, is skipped for the next free number.)
  - Scaling down deletes the NodeClaims named in I(remove) first, then those without a node yet, then
    the emptiest ones (fewest pods, not counting DaemonSet pods). Karpenter drains the node
    gracefully (PodDisruptionBudgets respected). A NodeClaim whose node runs a pod annotated
    C(karpenter.sh/do-not-disrupt=true) is never chosen unless I(force=true); when not enough
    NodeClaims can go, the module fails before deleting anything and names the pods.
  - With I(wait=true) waits, bounded by I(wait_timeout), until every NodeClaim of the group is
    C(Initialized) with its GPUs in the node's allocatable and the removed ones are gone.
  - The shape must be allowed by the NodePool's own requirements (checked before any write).
  - NodeClaims made by hand bypass Karpenter's limit check, so before creating any, the module checks
    every limit of the NodePool (C(spec.limits), that is C(cpu), C(memory), C(nvidia.com/gpu) and any other
    resource listed there) itself, as Kubernetes quantities - what the pool's NodeClaims that are not
    being deleted hold (their nodes' capacity; for one not launched yet, what its instance types or
    requests promise) plus the new NodeClaims, each counted with the most any instance type of the
    shape brings (Karpenter may launch any of them) - and refuses to pass any limit, naming the limit,
    the pool, what is in use and what would be added, unless I(force=true).
  - What one node of the shape brings comes from I(instance_types_file) (every resource of each
    instance type), I(instance_type_catalog) (GPUs only), I(gpu_count) (GPUs), else from live nodes of
    those instance types. When the pool has a limit on a resource whose amount per node is not known
    this way, the module refuses before anything is written, naming the option to give (I(gpu_count)
    for C(nvidia.com/gpu), I(instance_types_file) for C(cpu), C(memory) and the others); I(force=true)
    skips the limit checks. A pool without limits needs none of this.
  - In check mode, a NodePool that does not exist yet (an earlier task of the play would create it)
    is not an error - the result says how many NodeClaims would be created, with a warning.
options:
  nodepool:
    description:
      - Name of the NodePool the capacity belongs to. It must exist (except in check mode, see above;
        and with I(count=0), where a missing pool means there is nothing to remove).
    type: str
    required: true
  name:
    description: Name of the capacity group (a label value); NodeClaims of other groups are never touched.
    type: str
    required: true
  count:
    description: Number of NodeClaims the group must have. C(0) removes them all.
    type: int
    required: true
  instance_types:
    description:
      - Instance types the NodeClaims may use (requirement C(node.kubernetes.io/instance-type In ...)).
      - When omitted, they are resolved from I(gpu_count) and I(gpu_product) with I(instance_types_file)
        or I(instance_type_catalog).
    type: list
    elements: str
  gpu_count:
    description: GPUs per node; adds the requirement I(gpu_count_label) C(In [gpu_count]).
    type: int
  gpu_product:
    description: GPU product, for example C(NVIDIA-L4); adds the requirement I(gpu_product_label) C(In [gpu_product]).
    type: str
  gpu_count_label:
    description: Node label carrying the GPU count.
    type: str
    default: nvidia.com/gpu.count
  gpu_product_label:
    description: Node label carrying the GPU product.
    type: str
    default: nvidia.com/gpu.product
  instance_types_file:
    description:
      - A Karpenter KWOK provider instance types file (JSON) used to resolve I(gpu_count) and
        I(gpu_product) into instance types (C(resources.nvidia.com/gpu) and the offerings'
        C(nvidia.com/gpu.product) requirement).
      - Its C(resources) (C(cpu), C(memory), C(nvidia.com/gpu), ...) are what the NodePool's limits are
        checked with; needed when the pool limits a resource other than GPUs and no live node of the
        instance types tells it.
    type: path
  instance_type_catalog:
    description:
      - Instance types to resolve I(gpu_count) and I(gpu_product) with, instead of a file.
      - Their I(gpu_count) is what the NodePool's C(nvidia.com/gpu) limit is checked with; they tell
        nothing about C(cpu) or C(memory) (use I(instance_types_file) for a pool that limits those).
    type: list
    elements: dict
    suboptions:
      name:
        description: Instance type name.
        type: str
        required: true
      gpu_count:
        description: GPUs of the instance type.
        type: int
      gpu_product:
        description: GPU product of the instance type.
        type: str
  labels:
    description: Extra labels of the NodeClaims (and so of their nodes).
    type: dict
  do_not_disrupt:
    description: Annotate the NodeClaims C(karpenter.sh/do-not-disrupt=true) so that Karpenter's voluntary disruption leaves them alone.
    type: bool
    default: true
  remove:
    description: NodeClaim or node names to remove first when scaling down.
    type: list
    elements: str
  force:
    description:
      - Allow removing NodeClaims whose node runs pods annotated C(karpenter.sh/do-not-disrupt=true).
      - Allow passing the NodePool's limits (C(spec.limits), for example C(nvidia.com/gpu), C(cpu), C(memory));
        the limits are then not checked at all, so the resources per node need not be known.
    type: bool
    default: false
  wait:
    description: Wait until the group has I(count) Initialized NodeClaims with GPUs allocatable and the removed ones are gone.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait at most.
    type: int
    default: 300
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Creates and deletes with server-side dry run; nothing is persisted and nothing is waited for.
  diff_mode:
    support: full
    description: Shows the NodeClaim names of the group before and after.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
notes:
  - With the KWOK provider every NodeClaim needs instance types; give I(instance_types) or a catalog.
  - The limit check covers this run's NodeClaims against what the pool holds when it reads it; two runs
    for different groups of the same pool at the same moment can together pass a limit (each saw the
    other's NodeClaims not yet). Concurrent runs for the same group are safe (see above).
seealso:
  - module: gpuaas.orchestration.karpenter_nodepool
  - module: gpuaas.orchestration.karpenter_info
"""

EXAMPLES = r"""
- name: Two 4xL4 nodes for tonight's fine-tuning run
  gpuaas.orchestration.karpenter_capacity:
    nodepool: l4-inference
    name: finetune-nightly
    count: 2
    instance_types: [gpu-4x-l4]
    gpu_count: 4          # what the pool's nvidia.com/gpu limit is checked with

- name: Eight-GPU A100 nodes, resolved from the provider's instance types
  gpuaas.orchestration.karpenter_capacity:
    nodepool: a100-training
    name: llm-pretrain
    count: 4
    gpu_count: 8
    gpu_product: NVIDIA-A100-SXM4-80GB
    instance_types_file: /etc/karpenter/instance-types.json
  register: capacity

- name: Give one node back, the emptiest one
  gpuaas.orchestration.karpenter_capacity:
    nodepool: a100-training
    name: llm-pretrain
    count: 3
    gpu_count: 8
    gpu_product: NVIDIA-A100-SXM4-80GB
    instance_types_file: /etc/karpenter/instance-types.json
"""

RETURN = r"""
changed:
  description: Whether NodeClaims were (or would be) created or deleted.
  returned: always
  type: bool
created:
  description:
    - Names of the NodeClaims this run created (in check mode, the names the server-side dry run was sent with).
    - Not those a concurrent run created first (RV(created_by_others)).
  returned: always
  type: list
  elements: str
created_by_others:
  description:
    - Names of NodeClaims this run was about to create that a concurrent run for the same group created
      first (409 AlreadyExists). They count toward I(count); this run created nothing in their place.
  returned: always
  type: list
  elements: str
  sample: []
deleted:
  description: Names of the NodeClaims deleted.
  returned: always
  type: list
  elements: str
blocked:
  description: NodeClaims that were not candidates for removal, with the do-not-disrupt pods that keep them.
  returned: always
  type: dict
nodes:
  description: Node names of the group's NodeClaims.
  returned: always
  type: list
  elements: str
nodeclaims:
  description: The group's NodeClaims after the change.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: NodeClaim name.
      type: str
    node:
      description: Node name (once registered).
      type: str
    instance_type:
      description: Instance type of the node.
      type: str
    gpu_product:
      description: GPU product label of the node.
      type: str
    gpu_capacity:
      description: GPUs in the node's capacity.
      type: int
    gpu_allocatable:
      description: GPUs in the node's allocatable.
      type: int
    initialized:
      description: Whether the NodeClaim is Initialized.
      type: bool
    conditions:
      description: Condition type to status.
      type: dict
count:
  description: The requested count.
  returned: always
  type: int
timings:
  description: Seconds spent.
  returned: always
  type: dict
"""

import copy

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.capacity import CAPACITY_OPTIONS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.ops import LazyClient, run_capacity


def argument_spec():
    return copy.deepcopy(CAPACITY_OPTIONS)


def run(module):
    return run_capacity(LazyClient(lambda: module.client), module.params, check_mode=module.check_mode, diff=module.diff_mode)


def main():
    module = GpuaasModule(argument_spec())
    module.run(run)


if __name__ == "__main__":
    main()
