# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ownership of a cluster plan's objects as an ApplySet (KEP-3659, the labels kubectl's
``apply --prune --applyset`` uses), so that kubectl and this collection agree on what a plan owns
(pure).

* The parent is a ConfigMap ``gpuaas-plan-<plan>`` (in ``kube-system`` unless the plan says
  otherwise) labelled ``applyset.kubernetes.io/id: <id>``, with the annotations
  ``applyset.kubernetes.io/tooling: gpuaas-orchestration/v1``, ``contains-group-kinds`` (every kind
  the plan has ever written and not yet pruned: where prune must look, even for a kind the plan
  no longer has) and ``additional-namespaces`` (the namespaces of namespaced members).
* Every member carries ``applyset.kubernetes.io/part-of: <id>`` plus ``gpuaas.io/plan: <plan>``
  and ``app.kubernetes.io/managed-by: gpuaas-orchestration``. Prune selects on part-of AND
  managed-by: an object without them, or of another plan (another id), is never touched.
* ``<id>`` is ``applyset-<base64url(sha256("<name>.<namespace>.ConfigMap."))>-v1``, KEP-3659's
  format, so ``kubectl get cm -l applyset.kubernetes.io/id=...`` finds the parent.

Public API
----------
``PART_OF_LABEL``, ``ID_LABEL``, ``TOOLING_ANNOTATION``, ``GROUP_KINDS_ANNOTATION``,
``NAMESPACES_ANNOTATION``, ``TOOLING``, ``DEFAULT_NAMESPACE``
``parent_name(plan) -> str``; ``applyset_id(name, namespace, kind="ConfigMap", group="") -> str``
``group_kind(kind) -> str``: ``ClusterQueue.kueue.x-k8s.io``, ``Namespace`` (core group).
``parse_group_kinds(text) -> [str]``; ``parse_namespaces(text) -> [str]``
``member_labels(plan, set_id) -> dict``: the labels every member carries.
``prune_selector(set_id) -> str``
``render_parent(plan, namespace, group_kinds, namespaces) -> obj``
``tooling_problem(live_parent) -> str or None``: the parent belongs to another tool.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine

PART_OF_LABEL = "applyset.kubernetes.io/part-of"
ID_LABEL = "applyset.kubernetes.io/id"
TOOLING_ANNOTATION = "applyset.kubernetes.io/tooling"
GROUP_KINDS_ANNOTATION = "applyset.kubernetes.io/contains-group-kinds"
NAMESPACES_ANNOTATION = "applyset.kubernetes.io/additional-namespaces"
TOOLING = "gpuaas-orchestration/v1"
DEFAULT_NAMESPACE = "kube-system"
PARENT_PREFIX = "gpuaas-plan-"


def parent_name(plan):
    return PARENT_PREFIX + plan


def applyset_id(name, namespace, kind="ConfigMap", group=""):
    digest = hashlib.sha256(".".join([name, namespace or "", kind, group]).encode("utf-8")).digest()
    return "applyset-%s-v1" % base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def group_kind(kind):
    """``Kind.group`` of a ``client.Kind`` (just ``Kind`` for the core group)."""
    return "%s.%s" % (kind.kind, kind.group) if kind.group else kind.kind


def _split(text):
    return sorted(set(p.strip() for p in (text or "").split(",") if p.strip()))


def parse_group_kinds(text):
    return _split(text)


def parse_namespaces(text):
    return _split(text)


def member_labels(plan, set_id):
    return {PART_OF_LABEL: set_id, engine.PLAN_LABEL: plan}


def prune_selector(set_id):
    return "%s=%s,%s=%s" % (PART_OF_LABEL, set_id, engine.MANAGED_BY_LABEL, engine.MANAGED_BY)


def render_parent(plan, namespace, group_kinds, namespaces):
    name = parent_name(plan)
    annotations = {
        TOOLING_ANNOTATION: TOOLING,
        GROUP_KINDS_ANNOTATION: ",".join(sorted(set(group_kinds))),
    }
    others = sorted(set(n for n in namespaces if n and n != namespace))
    if others:
        annotations[NAMESPACES_ANNOTATION] = ",".join(others)
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {ID_LABEL: applyset_id(name, namespace), engine.PLAN_LABEL: plan},
                     "annotations": annotations},
    }


def tooling_problem(live):
    """Tools must not mutate an ApplySet that another tool manages (KEP-3659)."""
    if not live:
        return None
    tooling = ((live.get("metadata") or {}).get("annotations") or {}).get(TOOLING_ANNOTATION)
    if tooling and not tooling.startswith("gpuaas-orchestration/"):
        return "is the ApplySet parent of another tool (%s=%s): choose another plan name or applyset_namespace" % (
            TOOLING_ANNOTATION, tooling)
    return None
