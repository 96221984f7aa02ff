# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between the Kueue modules, the Kueue domain logic and the engine.

Public API
----------
``COMMON_OPTIONS``: ``state``, ``labels``, ``annotations``, ``force`` plus ``wait``/``wait_timeout``.
``build_item(client, kind, params, obj, live_state=None) -> engine.Item``
    Item for one Kueue object with validation, immutable-field checks and (unless
    ``params["force"]``) the safety checks of its kind; ``wait`` waits for ``Active`` where the kind
    has that condition, and for the deletion to finish with state absent.
``run_object_module(module, kind, render)``: the whole body of a typed single-object module.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue import objects as k
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import (
    condition_predicate,
    describe_conditions,
)

COMMON_OPTIONS = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    labels=dict(type="dict"),
    annotations=dict(type="dict"),
    force=dict(type="bool", default=False),
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=60),
)

ACTIVE_KINDS = ("ClusterQueue", "LocalQueue", "AdmissionCheck")


def _absent_validation(kind, name, namespace):
    errs = ErrorCollector()
    v.check_name(errs, "name", name)
    if kind.namespaced:
        v.check_name(errs, "namespace", namespace, kind="label")
    return errs.errors


def build_item(client, kind, params, obj, live_state=None):
    """One engine Item for a Kueue object (``obj`` is None for state absent)."""
    state = params.get("state", "present")
    force = bool(params.get("force"))
    name = params.get("name") if obj is None else obj["metadata"]["name"]
    namespace = params.get("namespace") if obj is None else obj["metadata"].get("namespace")
    ks = live_state or k.KueueLive(client)

    def validate():
        if state == "absent":
            return _absent_validation(kind, name, namespace)
        return k.validate_object(kind, obj)

    def precheck(live):
        errors = []
        if state == "present":
            errors.extend(k.immutable_errors(kind, obj, live))
            if not force and live is not None and kind.kind == "ClusterQueue":
                # pure quota comparison first; Workloads are listed (once per run, cached in ``ks``)
                # only when a quota drops or a flavor goes
                errors.extend(k.cluster_queue_update_safety(obj, live, lambda: ks.workloads))
        elif not force and live is not None:
            if kind.kind == "ClusterQueue":
                errors.extend(k.cluster_queue_delete_safety(name, live, ks.workloads, ks.local_queues))
            elif kind.kind == "LocalQueue":
                errors.extend(k.local_queue_delete_safety(namespace, name, live, ks.workloads))
            elif kind.kind == "ResourceFlavor":
                errors.extend(k.flavor_delete_safety(name, live, ks.cluster_queues, ks.workloads))
        return errors

    wait = None
    delete_wait = None
    if params.get("wait"):
        timeout = params.get("wait_timeout") or 60
        if state == "present" and kind.kind in ACTIVE_KINDS:
            wait = engine.WaitSpec(condition_predicate("Active"), "Active", timeout=timeout,
                                   describe=describe_conditions)
        elif state == "absent":
            delete_wait = timeout
    # Quotas not given mean "keep the live ones" (a stop_policy or cohort change must not wipe them).
    preserve = [("spec", "resourceGroups")] if kind.kind in ("ClusterQueue", "Cohort") else None
    return engine.Item(kind, obj, name=name, namespace=namespace, state=state, validate=validate,
                       precheck=precheck, wait=wait, delete_wait=delete_wait, preserve=preserve)


def run_object_module(module, kind, render):
    def body(m):
        p = m.params
        obj = render(p) if p["state"] == "present" else None
        if obj is not None:
            # Validate before touching the API at all.
            errs = ErrorCollector()
            errs.extend(k.validate_object(kind, obj))
            errs.raise_if_any()
        item = build_item(m.client, kind, p, obj)
        result = engine.run(m.client, [item], check_mode=m.check_mode)
        m.exit_engine(result, single=True)

    module.run(body)


RESOURCE_GROUPS_SPEC = dict(
    type="list", elements="dict", options=dict(
        covered_resources=dict(type="list", elements="str"),
        flavors=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            resources=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                nominal_quota=dict(type="raw", required=True),
                borrowing_limit=dict(type="raw"),
                lending_limit=dict(type="raw"),
            )),
        )),
    ),
)

FAIR_SHARING_SPEC = dict(type="dict", options=dict(weight=dict(type="raw")))
