#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: karpenter_info
short_description: Report Karpenter NodePools, their GPU capacity, limits, budgets and NodeClaims
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Reads NodePools, NodeClaims and Karpenter-managed nodes with one LIST each and reports, per
    NodePool, the node and NodeClaim counts, the GPUs (C(nvidia.com/gpu)) in the nodes' capacity and
    allocatable summed, every limit with what is used and how close the pool is to it, the budgets
    and the ones in force now (cron schedules evaluated in UTC), and whether the pool is paused by
    M(gpuaas.orchestration.karpenter_disruption).
  - Also lists the NodeClaims with their node, instance type, GPUs and conditions.
options:
  nodepools:
    description: Only these NodePools (and their NodeClaims); all when omitted.
    type: list
    elements: str
  include_nodeclaims:
    description: Whether to list the NodeClaims.
    type: bool
    default: true
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only; there is nothing to diff.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
seealso:
  - module: gpuaas.orchestration.karpenter_nodepool
"""

EXAMPLES = r"""
- name: How close is the training pool to its GPU limit?
  gpuaas.orchestration.karpenter_info:
    nodepools: [a100-training]
  register: info

- ansible.builtin.debug:
    msg: "{{ info.nodepools[0].limits['nvidia.com/gpu'] }}"
"""

RETURN = r"""
nodepools:
  description: One entry per NodePool.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: NodePool name.
      type: str
    nodes:
      description: Nodes labelled with the pool.
      type: int
    nodeclaims:
      description: NodeClaims labelled with the pool.
      type: int
    ready:
      description: Status of the pool's Ready condition.
      type: str
    gpu_capacity:
      description: Sum of C(nvidia.com/gpu) in the capacity of the pool's nodes.
      type: int
    gpu_allocatable:
      description: Sum of C(nvidia.com/gpu) in the allocatable of the pool's nodes.
      type: int
    resources:
      description: The pool's C(status.resources) as reported by Karpenter.
      type: dict
    limits:
      description: Per limited resource C(limit), C(used), C(remaining) and C(percent) used.
      type: dict
    budgets:
      description: All disruption budgets.
      type: list
      elements: dict
    active_budgets:
      description: The budgets in force now.
      type: list
      elements: dict
    paused:
      description: Whether voluntary disruption is paused by karpenter_disruption.
      type: bool
    saved_budgets:
      description: The budgets resume will restore (when paused).
      type: list
      elements: dict
nodeclaims:
  description: NodeClaims with node, instance type, GPUs and conditions.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.ops import LazyClient, run_info


def argument_spec():
    return dict(
        nodepools=dict(type="list", elements="str"),
        include_nodeclaims=dict(type="bool", default=True),
    )


def run(module):
    return run_info(LazyClient(lambda: module.client), module.params)


def main():
    module = GpuaasModule(argument_spec())
    module.run(run)


if __name__ == "__main__":
    main()
