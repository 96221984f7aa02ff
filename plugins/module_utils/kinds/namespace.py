# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Namespace (v1): the teams' namespaces of a cluster plan, with their labels.

``DESCRIPTION``: ``KindDescription`` (section ``namespaces``, rank 10: before everything that lives
in a namespace): options ``name``, ``labels``, ``annotations``; delete safety: a namespace that
still runs pods or holds Kueue Workloads is not deleted (or pruned) without ``force`` - deleting
a namespace deletes everything in it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector, SafetyError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription, object_meta

NAMESPACE = KINDS["Namespace"]
POD = KINDS["Pod"]
WORKLOAD = KINDS["Workload"]

OPTIONS = dict(
    name=dict(type="str", required=True),
)


def render_namespace(p):
    return {"apiVersion": NAMESPACE.api_version, "kind": NAMESPACE.kind, "metadata": object_meta(p)}


def validate_namespace(obj):
    errs = ErrorCollector()
    meta = obj.get("metadata") or {}
    # a namespace name is a DNS-1123 label (63 characters, no dots)
    v.check_name(errs, "metadata.name", meta.get("name"), kind="label")
    v.check_labels(errs, "metadata.labels", meta.get("labels"))
    v.check_annotations(errs, "metadata.annotations", meta.get("annotations"))
    return errs.errors


def _names(objs, limit=10):
    return ["%s/%s" % (o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs[:limit]]


def namespace_delete_safety(name, namespace, live, ctx):
    """Deleting a namespace deletes its pods and workloads: refuse while it has any (``force`` skips)."""
    client = ctx.client
    pods = [p for p in client.list(POD, namespace=name)
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    try:
        workloads = client.list(WORKLOAD, namespace=name)
    except Exception:  # pylint: disable=broad-except
        workloads = []  # Kueue not installed: no workloads to lose
    if not pods and not workloads:
        return []
    what = []
    if pods:
        what.append("%d running pod(s)" % len(pods))
    if workloads:
        what.append("%d Kueue Workload(s)" % len(workloads))
    return [SafetyError("Namespace %s still has %s: deleting it deletes them" % (name, " and ".join(what)),
                        affected=_names(pods) + _names(workloads), field="name", value=name,
                        hint="move or finish them first, or set force: true")]


DESCRIPTION = KindDescription(
    NAMESPACE, OPTIONS, render_namespace, validate_namespace, section="namespaces", rank=10,
    delete_safety=namespace_delete_safety)
