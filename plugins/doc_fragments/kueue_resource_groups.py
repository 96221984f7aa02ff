# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  resource_groups:
    description:
      - Groups of resources and the flavors that give quota for them (at most 16 groups).
      - A resource may be covered by one group only, and a flavor may appear once in the object.
      - Every flavor of a group must give a quota for every covered resource and for no other.
      - When omitted, the resource groups of an existing object are kept as they are (not removed).
    type: list
    elements: dict
    suboptions:
      covered_resources:
        description:
          - Resources this group covers, for example C(cpu), C(memory), C(nvidia.com/gpu).
          - Defaults to the resources named by the flavors, in order of first appearance.
            The resources of each flavor are sent in this order.
        type: list
        elements: str
      flavors:
        description: Flavors in order of preference (1 to 64).
        type: list
        elements: dict
        required: true
        suboptions:
          name:
            description: Name of a ResourceFlavor.
            type: str
            required: true
          resources:
            description: Quota per covered resource.
            type: list
            elements: dict
            required: true
            suboptions:
              name:
                description: Resource name.
                type: str
                required: true
              nominal_quota:
                description: Quantity available to this object, for example C(8), C(500m), C(64Gi).
                type: raw
                required: true
              borrowing_limit:
                description: How much more than the nominal quota may be borrowed from the cohort. Only with a cohort (or parent).
                type: raw
              lending_limit:
                description: How much of the nominal quota may be lent to the cohort. Only with a cohort (or parent); not above the nominal quota.
                type: raw
  fair_sharing:
    description: Fair sharing settings (used when fair sharing is enabled in Kueue's configuration).
    type: dict
    suboptions:
      weight:
        description: Share weight, a quantity (default C(1) in Kueue).
        type: raw
"""
