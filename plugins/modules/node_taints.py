#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_taints
short_description: Add, remove or replace the taints of Kubernetes nodes
version_added: "0.1.0"
author: gpuaas platform engineering (@gpuaas)
description:
  - Adds, removes or replaces taints on one node (I(name)) or on every node matching a label
    selector (I(label_selector)).
  - A taint is identified by its key and effect, as in Kubernetes. With I(state=present) a taint
    whose key and effect already exist gets the requested value.
  - Every key, value and effect is validated before anything is read or written; all problems are
    reported together, naming the field and the value.
  - Writes only to nodes whose taints change, one merge patch per node, with the node's
    C(resourceVersion) as precondition so that a concurrent change of the node is never
    overwritten (the node is read again and the change recomputed).
  - Check mode sends the same patches with server-side dry run, so admission errors show up.
options:
  name:
    description:
      - Name of one node. Mutually exclusive with I(label_selector).
    type: str
  label_selector:
    description:
      - Label selector (as for C(kubectl get nodes -l)) choosing the nodes, for example
        C(nvidia.com/gpu.product=A100,pool=training). Mutually exclusive with I(name).
      - When it matches no node, the module changes nothing and warns.
    type: str
  taints:
    description:
      - The taints to add, remove, or to have exactly (I(state=replace)).
      - With I(state=replace) an empty list removes every taint.
    type: list
    elements: dict
    default: []
    suboptions:
      key:
        description: Taint key, a qualified name such as C(nvidia.com/gpu) or C(maintenance).
        type: str
        required: true
      value:
        description:
          - Taint value (a label value, may be empty). Ignored with I(state=absent).
        type: str
      effect:
        description:
          - Taint effect. Required with I(state=present) and I(state=replace).
          - With I(state=absent), no effect removes the key with every effect.
        type: str
        choices: [NoSchedule, PreferNoSchedule, NoExecute]
  state:
    description:
      - C(present) adds the taints (or updates the value of a taint with the same key and effect),
        keeping the other taints of the node.
      - C(absent) removes the taints with the given key (and effect, when given).
      - C(replace) makes the node's taints exactly the given set; taints not listed are removed,
        also when every listed taint is already there. Taints that controllers own are kept unless
        their key is listed - C(node.kubernetes.io/*) (not-ready, unreachable, ...),
        C(node.cloudprovider.kubernetes.io/*), C(karpenter.sh/*) (C(karpenter.sh/disrupted) on a node
        Karpenter is terminating, C(karpenter.sh/unregistered)), C(node.cluster.x-k8s.io/*), the
        cluster autoscaler's, and the startup taints of the node's Karpenter NodePool. To remove
        one of those, name it with I(state=absent).
    type: str
    choices: [present, absent, replace]
    default: present
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Computes the change and sends it with server-side dry run; nothing is persisted.
  diff_mode:
    support: full
    description: Shows the taints of every changed node before and after.
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
notes:
  - C(timeAdded) of taints that stay is kept; taints are compared as sets, so a different order
    alone is not a change.
seealso:
  - module: gpuaas.orchestration.node_drain
"""

EXAMPLES = r"""
- name: Reserve the A100 nodes for training jobs
  gpuaas.orchestration.node_taints:
    label_selector: nvidia.com/gpu.product=A100
    taints:
      - key: gpuaas.io/reserved
        value: training
        effect: NoSchedule

- name: Take one node out for maintenance, evicting what does not tolerate it
  gpuaas.orchestration.node_taints:
    name: gpu-a100-0
    taints:
      - key: gpuaas.io/maintenance
        effect: NoExecute

- name: End the maintenance (any effect of the key)
  gpuaas.orchestration.node_taints:
    name: gpu-a100-0
    state: absent
    taints:
      - key: gpuaas.io/maintenance

- name: Exactly these taints on every L4 node, nothing else
  gpuaas.orchestration.node_taints:
    label_selector: gpuaas.io/pool=l4
    state: replace
    taints:
      - key: nvidia.com/gpu
        value: present
        effect: NoSchedule
"""

RETURN = r"""
changed:
  description: Whether any node's taints changed (would change, in check mode).
  returned: always
  type: bool
nodes:
  description: One entry per selected node.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
    changed:
      description: Whether this node's taints changed.
      type: bool
    before:
      description: Taints before (key, value, effect).
      type: list
      elements: dict
    after:
      description: Taints after (as returned by the API server; dry-run result in check mode).
      type: list
      elements: dict
    added:
      description: Taints that are new or got a new value.
      type: list
      elements: dict
    removed:
      description: Taints removed (or replaced by a new value).
      type: list
      elements: dict
    kept_controller_taints:
      description: With I(state=replace), the controller-owned taints kept although not listed.
      type: list
      elements: dict
  sample:
    - name: gpu-a100-0
      changed: true
      before: []
      after: [{key: gpuaas.io/reserved, value: training, effect: NoSchedule}]
      added: [{key: gpuaas.io/reserved, value: training, effect: NoSchedule}]
      removed: []
changed_nodes:
  description: Names of the nodes that changed.
  returned: always
  type: list
  elements: str
diff:
  description: Per changed node, the taints before and after (with C(--diff)).
  returned: when diff mode is on
  type: list
  elements: dict
"""

import copy

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.node_ops import (
    apply_taints,
    select_nodes,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.taints import TAINTS_OPTIONS, validate_taints


def argument_spec():
    return copy.deepcopy(TAINTS_OPTIONS)


def run(module):
    p = module.params
    # Validate before anything is read or written.
    requested = validate_taints([dict((k, v) for k, v in t.items() if v is not None) for t in p["taints"]],
                                p["state"])
    nodes = select_nodes(module.client, name=p["name"], label_selector=p["label_selector"])
    if not nodes:
        module.warn("label selector %r matches no node" % p["label_selector"])
    results = apply_taints(module.client, nodes, requested, p["state"], check_mode=module.check_mode)
    out = dict(
        changed=any(r["changed"] for r in results),
        nodes=results,
        changed_nodes=[r["name"] for r in results if r["changed"]],
    )
    if module.diff_mode:
        out["diff"] = [dict(before_header="node/%s taints" % r["name"], after_header="node/%s taints" % r["name"],
                            before={"taints": r["before"]}, after={"taints": r["after"]})
                       for r in results if r["changed"]]
    return out


def main():
    module = GpuaasModule(
        argument_spec(),
        mutually_exclusive=[("name", "label_selector")],
        required_one_of=[("name", "label_selector")],
    )
    module.run(run)


if __name__ == "__main__":
    main()
