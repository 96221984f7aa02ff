#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: karpenter_disruption
short_description: Pause and resume Karpenter's voluntary disruption of a NodePool, or protect single nodes
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - For a maintenance window or a critical run.
  - C(pause) replaces the disruption budgets of NodePool I(nodepool) by I(budgets) (default one budget
    of C(nodes=0), which stops consolidation, drift and emptiness disruption). The budgets in force
    before are saved in the annotation C(gpuaas.io/paused-disruption-budgets) of the NodePool, so
    that C(resume) restores exactly what was there. Pausing a paused pool never overwrites the saved
    budgets (it may change the pause budgets).
  - C(resume) restores the saved budgets and removes the annotations; on a pool that is not paused
    it changes nothing.
  - C(mark) and C(unmark) add or remove the annotation C(karpenter.sh/do-not-disrupt=true) on the
    nodes I(nodes), which Karpenter honours for voluntary disruption of those nodes.
  - Writes are JSON merge patches carrying the read C(resourceVersion), so a concurrent change of the
    NodePool is never overwritten; check mode sends them with server-side dry run.
  - In check mode, C(pause) of a NodePool that does not exist yet (an earlier task of the play would
    create it) reports what it would do, with a warning, instead of failing.
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [pause, resume, mark, unmark]
  nodepool:
    description: NodePool to pause or resume (actions C(pause), C(resume)).
    type: str
  budgets:
    description:
      - Budgets in force while paused (action C(pause)); default one budget with C(nodes=0).
      - Validated like the budgets of M(gpuaas.orchestration.karpenter_nodepool).
    type: list
    elements: dict
    suboptions:
      nodes:
        description: Node count or percentage (at most C(100%)).
        type: str
        required: true
      schedule:
        description: Cron schedule; needs I(duration).
        type: str
      duration:
        description: Active duration after each schedule hit; needs I(schedule).
        type: str
      reasons:
        description: Disruption reasons, from C(Underutilized), C(Empty), C(Drifted).
        type: list
        elements: str
  reason:
    description: Why the pool is paused; stored in the annotation C(gpuaas.io/pause-reason).
    type: str
  nodes:
    description: Node names to mark or unmark (actions C(mark), C(unmark)).
    type: list
    elements: str
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Sends the patches with server-side dry run; nothing is persisted.
  diff_mode:
    support: full
    description: Shows the budgets and pause annotations, or the nodes' do-not-disrupt annotation, before and after.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
seealso:
  - module: gpuaas.orchestration.karpenter_nodepool
"""

EXAMPLES = r"""
- name: No voluntary disruption of the training pool during the run
  gpuaas.orchestration.karpenter_disruption:
    action: pause
    nodepool: a100-training
    reason: llm-pretrain run 42

- name: Only drift replacements, one node at a time, during the maintenance window
  gpuaas.orchestration.karpenter_disruption:
    action: pause
    nodepool: a100-training
    budgets:
      - nodes: "0"
        reasons: [Underutilized, Empty]
      - nodes: "1"
        reasons: [Drifted]

- name: Back to the budgets there were before
  gpuaas.orchestration.karpenter_disruption:
    action: resume
    nodepool: a100-training

- name: Keep Karpenter away from one node
  gpuaas.orchestration.karpenter_disruption:
    action: mark
    nodes: [gpu-a100-0]
"""

RETURN = r"""
changed:
  description: Whether anything was (or would be) changed.
  returned: always
  type: bool
nodes:
  description: The nodes given (mark, unmark).
  returned: when I(action) is C(mark) or C(unmark)
  type: list
  elements: str
nodepool:
  description: The NodePool (pause, resume).
  returned: when I(action) is C(pause) or C(resume)
  type: str
budgets:
  description: The NodePool's budgets after the action.
  returned: when I(action) is C(pause) or C(resume)
  type: list
  elements: dict
paused:
  description: Whether the NodePool is paused after the action.
  returned: when I(action) is C(pause) or C(resume)
  type: bool
saved_budgets:
  description: The budgets kept for resume (pause).
  returned: when I(action) is C(pause)
  type: list
  elements: dict
restored_budgets:
  description: The budgets restored (resume of a paused pool).
  returned: when I(action) is C(resume)
  type: list
  elements: dict
changed_nodes:
  description: Nodes whose annotation changed (mark, unmark).
  returned: when I(action) is C(mark) or C(unmark)
  type: list
  elements: str
timings:
  description: Seconds spent.
  returned: always
  type: dict
"""

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
import copy

from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter.ops import LazyClient, run_disruption
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.nodepool import BUDGET_OPTIONS


def argument_spec():
    return dict(
        action=dict(type="str", required=True, choices=["pause", "resume", "mark", "unmark"]),
        nodepool=dict(type="str"),
        budgets=dict(type="list", elements="dict", options=copy.deepcopy(BUDGET_OPTIONS)),
        reason=dict(type="str"),
        nodes=dict(type="list", elements="str"),
    )


def run(module):
    params = dict(module.params)
    if params.get("budgets") is not None:
        params["budgets"] = [dict((k, v) for k, v in b.items() if v is not None) for b in params["budgets"]]
    return run_disruption(LazyClient(lambda: module.client), params, check_mode=module.check_mode, diff=module.diff_mode)


def main():
    module = GpuaasModule(
        argument_spec(),
        required_if=[("action", "pause", ("nodepool",)), ("action", "resume", ("nodepool",)),
                     ("action", "mark", ("nodes",)), ("action", "unmark", ("nodes",))],
    )
    module.run(run)


if __name__ == "__main__":
    main()
