# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pods behind a backend: an InferencePool's ``spec.selector.matchLabels``, a Service's
``spec.selector``; how many of them are Ready.

Public API
----------
``selector_of(obj)`` -> ``{label: value}`` (pure);
``pod_ready(pod)`` -> bool (condition Ready True, not being deleted); ``pods_summary(pods)`` (pure);
``backend_pods(client, kind, name, namespace)`` -> ``{"found", "selector", "selected", "ready",
"not_ready": [names]}`` (one GET and one LIST).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import kind_for, label_selector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import is_condition_true
from ansible_collections.gpuaas.orchestration.plugins.module_utils.routing.common import POD

NOT_READY_SHOWN = 20


def selector_of(obj):
    spec = (obj or {}).get("spec") or {}
    if (obj or {}).get("kind") == "InferencePool":
        return dict((spec.get("selector") or {}).get("matchLabels") or {})
    return dict(spec.get("selector") or {})


def pod_ready(pod):
    return not (pod.get("metadata") or {}).get("deletionTimestamp") and is_condition_true(pod, "Ready")


def pods_summary(pods):
    ready = [p for p in pods if pod_ready(p)]
    not_ready = sorted(p["metadata"]["name"] for p in pods if not pod_ready(p))
    return {"selected": len(pods), "ready": len(ready), "not_ready": not_ready[:NOT_READY_SHOWN]}


def backend_pods(client, kind, name, namespace):
    obj = client.get(kind_for(kind), name, namespace)
    if obj is None:
        return {"found": False, "selector": None, "selected": 0, "ready": 0, "not_ready": []}
    obj.setdefault("kind", kind)
    labels = selector_of(obj)
    out = {"found": True, "selector": labels}
    if not labels:
        # a Service without a selector has its endpoints managed by someone else: no pods to count
        out.update(selected=0, ready=0, not_ready=[])
        return out
    out.update(pods_summary(client.list(POD, namespace, label_selector=label_selector(labels))))
    return out
