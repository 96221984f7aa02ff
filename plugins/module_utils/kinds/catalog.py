# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kinds the collection manages, in dependency order (``rank``).

Public API
----------
``KUEUE``: the Kueue kind descriptions in dependency order (topologies, resource flavors, cohorts,
    workload priority classes, admission checks, cluster queues, local queues).
``KARPENTER``: NodePool, NodeClaim. ``ALL``: every description, in dependency order.
``by_section(descriptions) -> {section: description}``; ``describe(kind) -> description``;
``immutable_errors(kind, obj, live)``: the immutable-field errors of a kind (pure).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import (
    admission_check,
    cluster_queue,
    cohort,
    local_queue,
    nodeclaim,
    nodepool,
    resource_flavor,
    topology,
    workload_priority_class,
)

KUEUE = sorted([
    topology.DESCRIPTION,
    resource_flavor.DESCRIPTION,
    cohort.DESCRIPTION,
    workload_priority_class.DESCRIPTION,
    admission_check.DESCRIPTION,
    cluster_queue.DESCRIPTION,
    local_queue.DESCRIPTION,
], key=lambda d: d.rank)

KARPENTER = [nodepool.DESCRIPTION, nodeclaim.DESCRIPTION]

ALL = sorted(KUEUE + KARPENTER, key=lambda d: d.rank)


def by_section(descriptions):
    return dict((d.section, d) for d in descriptions)


def describe(kind):
    """The description of ``kind`` (a ``client.Kind``); ``KeyError`` for a kind not described."""
    for d in ALL:
        if d.kind == kind:
            return d
    raise KeyError(kind.kind)


def immutable_errors(kind, obj, live):
    """Errors for changes of immutable fields between the desired ``obj`` and ``live`` (pure)."""
    d = describe(kind)
    if live is None or d.immutable is None:
        return []
    return d.immutable(obj, live)
