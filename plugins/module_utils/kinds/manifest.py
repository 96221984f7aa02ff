# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Any other kind, given as a full definition (a plan's ``manifests`` and ``workloads``): the
description of a kind the collection has no typed options for.

The definition is applied as given (server-side apply, intent digest, exact comparison); values
under ``resources.requests``/``limits`` of pod templates (Jobs, JobSets, Deployments), under a
ResourceQuota's ``spec.hard`` and a LimitRange's limits compare as quantities (``8`` and ``"8"``,
``1Gi`` and ``1024Mi``).

Public API
----------
``description_for(kind, section, rank)`` -> ``KindDescription`` of ``kind`` (a ``client.Kind``, usually
    from ``Client.resolve_kind``); its entries' params are ``{"definition", "name", "namespace"}``.
``definition_problems(where, definition) -> [ValidationError]``: what a definition needs before its
    kind can be looked up (apiVersion, kind, metadata.name), named ``<where>.<field>`` (pure).
``validate_definition(obj, namespaced) -> [ValidationError]``: name, namespace, labels, annotations.
``job_admitted_and_running(obj)``, ``workload_admitted(obj)``, ``describe_workload(obj)``: what the
    plan's ``wait`` waits for with a workload (pure), and what a timeout says it saw.
``QUEUE_LABEL``: Kueue's queue label (a workload must name its LocalQueue).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector, ValidationError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"

_CONTAINERS = ("containers", "initContainers")
_POD = ("spec", "template", "spec")
_JOBSET_POD = ("spec", "replicatedJobs", "*", "template", "spec", "template", "spec")


def _resource_paths(pod):
    return [pod + (c, "*", "resources", which, "*") for c in _CONTAINERS for which in ("requests", "limits")]


QUANTITY_PATHS = (
    _resource_paths(_POD) + _resource_paths(_JOBSET_POD)
    + [("spec", "hard", "*")]
    + [("spec", "limits", "*", which, "*") for which in ("default", "defaultRequest", "max", "min", "maxLimitRequestRatio")]
)


def definition_problems(where, definition):
    errs = ErrorCollector()
    if not isinstance(definition, dict):
        return [ValidationError(where, definition, "must be a Kubernetes object definition (a dict with apiVersion, kind, metadata)")]
    for field in ("apiVersion", "kind"):
        value = definition.get(field)
        errs.check(isinstance(value, str) and value != "", "%s.%s" % (where, field), value, "is required")
    meta = definition.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        errs.add("%s.metadata.name" % where, (meta or {}).get("name") if isinstance(meta, dict) else meta,
                 "is required (generateName is not: a plan names every object so that a rerun finds it)")
    else:
        for field in ("name", "namespace"):
            value = meta.get(field)
            errs.check(value is None or isinstance(value, str), "%s.metadata.%s" % (where, field), value,
                       "must be a string")
    return errs.errors


def validate_definition(obj, namespaced):
    errs = ErrorCollector()
    meta = obj.get("metadata") or {}
    v.check_name(errs, "metadata.name", meta.get("name"))
    if namespaced:
        if not meta.get("namespace"):
            errs.add("metadata.namespace", meta.get("namespace"), "is required: %s is a namespaced kind" % obj.get("kind"))
        else:
            v.check_name(errs, "metadata.namespace", meta.get("namespace"), kind="label")
    elif meta.get("namespace"):
        errs.add("metadata.namespace", meta.get("namespace"), "must not be set: %s is cluster-scoped" % obj.get("kind"))
    v.check_labels(errs, "metadata.labels", meta.get("labels"))
    v.check_annotations(errs, "metadata.annotations", meta.get("annotations"))
    return errs.errors


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def job_admitted_and_running(obj):
    """A batch/v1 Job that Kueue admitted (no longer suspended) with every pod ready, or finished."""
    if not obj:
        return False
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    for c in status.get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return True
    if spec.get("suspend"):
        return False
    want = _int(spec.get("parallelism")) or 1
    return _int(status.get("ready")) + _int(status.get("succeeded")) >= want


def workload_admitted(obj):
    """Any other Kueue-integrated kind: admitted once Kueue no longer suspends it."""
    return bool(obj) and not (obj.get("spec") or {}).get("suspend")


def describe_workload(obj):
    if not obj:
        return "not found"
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    conditions = ["%s=%s%s" % (c.get("type"), c.get("status"), " (%s)" % c["reason"] if c.get("reason") else "")
                  for c in status.get("conditions") or []]
    return "suspend=%s (true: not admitted by Kueue yet), active=%s, ready=%s of parallelism %s%s" % (
        spec.get("suspend"), status.get("active", 0), status.get("ready", 0), spec.get("parallelism", 1),
        ", conditions: " + ", ".join(conditions) if conditions else "")


def description_for(kind, section, rank):
    ready = None
    if section == "workloads":
        ready = (job_admitted_and_running, "admitted by Kueue and running") if kind.kind == "Job" \
            else (workload_admitted, "admitted by Kueue")
    d = KindDescription(
        kind, {}, lambda p: p["definition"], lambda obj: validate_definition(obj, kind.namespaced),
        section=section, rank=rank, quantity_paths=QUANTITY_PATHS, ready=ready)
    if ready is not None:
        d.describe = describe_workload
    return d
