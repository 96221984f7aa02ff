# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the collection knows about one kind, in one place: ``KindDescription``.

Every managed kind has one file under ``kinds/`` that builds one ``KindDescription``. Typed
modules (``kueue_cluster_queue``), multi-object modules (``kueue_plan``) and the cluster plan are
built from these descriptions, so an option, a validation rule or a readiness condition exists in
exactly one place.

Public API
----------
``KindDescription(kind, options, render, validate, section=None, rank=100, required_when_present=(),
immutable=None, safety=None, delete_safety=None, ready=None, preserve=(), quantity_paths=(),
absent_options=None)``
    ``kind``                  ``client.Kind`` (API version, plural, scope)
    ``options``               argument spec of the kind's own options, with ``name`` (and
                              ``namespace`` for namespaced kinds); without ``state``, ``force``,
                              ``wait`` and the auth options (``COMMON_OPTIONS`` adds those)
    ``render(params)``        -> the desired object (pure)
    ``validate(obj)``         -> ``[ValidationError]`` naming ``spec....`` fields (pure)
    ``section``, ``rank``     the option name of the kind in a plan (``cluster_queues``) and its
                              place in dependency order (lower first; deletes go the other way)
    ``required_when_present`` options that ``state: present`` requires
    ``immutable(obj, live)``  -> errors for changes the API would refuse (pure)
    ``safety(obj, live, ctx)`` -> ``SafetyError``s of an update (skipped with ``force``); ``ctx`` is
                              a ``LiveContext``: lazy, cached LISTs of other kinds
    ``delete_safety(name, namespace, live, ctx)`` -> ``SafetyError``s of a delete (``force`` skips)
    ``ready``                 ``(predicate(obj) -> bool, what)``: what ``wait: true`` waits for
    ``preserve``              paths that keep their live value when the desired object leaves them
                              out (an option not given means "leave it as it is")
    ``quantity_paths``        paths (tuples; ``"*"`` matches any key or list index) whose values
                              compare as Kubernetes quantities; every other value compares exactly
    ``adapt(obj, live)``      -> ``(obj, warnings)``: what is sent given the live object, when it must
                              differ from the intent (``engine.Item``'s ``adapt``)
    ``field_options``         ``(field prefix, option prefix)`` pairs that name a field of the rendered
                              object as the option that sets it, where the camelCase-to-snake_case
                              rule of ``plan.entries.option_path`` does not (a NodePool's
                              ``spec.template.spec.requirements`` is its option ``requirements``)
``.argument_spec(extra=None)``: the options plus ``COMMON_OPTIONS`` (a typed module's spec).
``.entry_spec()``: the options of one plan entry (the kind's options plus ``labels``,
    ``annotations`` and ``force``), for ``ArgumentSpecValidator``.
``.item(params, obj, ctx=None, wait=None, wait_timeout=None, intent=None)`` -> ``engine.Item`` with validation, immutable
    fields, safety (unless ``params["force"]``), readiness, preserve and quantity paths.
``LiveContext(client)``: ``.list(kind)`` cached per kind (one LIST per kind per run).
``object_meta(params, namespaced=False)``: a rendered object's metadata from the common options.
``COMMON_OPTIONS``: ``state``, ``labels``, ``annotations``, ``force``, ``force_conflicts``,
    ``wait``, ``wait_timeout``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector, raise_all
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import describe_conditions

OBJECT_OPTIONS = dict(
    labels=dict(type="dict"),
    annotations=dict(type="dict"),
)

COMMON_OPTIONS = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    force=dict(type="bool", default=False),
    force_conflicts=dict(type="bool", default=True),
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=60),
)
COMMON_OPTIONS.update(OBJECT_OPTIONS)


def object_meta(params, namespaced=False):
    """``metadata`` of a rendered object from the common options: ``name`` (and ``namespace``),
    ``labels`` and ``annotations`` when given (pure)."""
    meta = {"name": params.get("name")}
    if namespaced:
        meta["namespace"] = params.get("namespace")
    if params.get("labels"):
        meta["labels"] = dict(params["labels"])
    if params.get("annotations"):
        meta["annotations"] = dict(params["annotations"])
    return meta


class LiveContext(object):
    """Lazily listed live objects of other kinds (safety checks), one LIST per kind, cached."""

    def __init__(self, client):
        self.client = client
        self._cache = {}

    def list(self, kind):
        if kind not in self._cache:
            self._cache[kind] = self.client.list(kind)
        return self._cache[kind]


def absent_errors(kind, name, namespace):
    """Validation of what a delete needs: a valid name (and namespace)."""
    errs = ErrorCollector()
    v.check_name(errs, "name", name)
    if kind.namespaced:
        v.check_name(errs, "namespace", namespace, kind="label")
    return errs.errors


class KindDescription(object):
    def __init__(self, kind, options, render, validate, section=None, rank=100, required_when_present=(),
                 immutable=None, safety=None, delete_safety=None, ready=None, preserve=(), quantity_paths=(),
                 field_options=(), adapt=None):
        self.kind = kind
        self.adapt = adapt
        self.field_options = tuple(field_options)
        self.describe = None  # what a wait timeout says it saw (default: the conditions)
        self.options = options
        self.render = render
        self.validate = validate
        self.section = section
        self.rank = rank
        self.required_when_present = tuple(required_when_present)
        self.immutable = immutable
        self.safety = safety
        self.delete_safety = delete_safety
        self.ready = ready
        self.preserve = tuple(tuple(p) for p in preserve)
        self.quantity_paths = tuple(tuple(p) for p in quantity_paths)

    def __repr__(self):
        return "KindDescription(%s)" % self.kind.kind

    def argument_spec(self, extra=None):
        # a kind's own option of the same name wins (a NodePool's ``labels`` are its nodes' labels)
        spec = copy.deepcopy(COMMON_OPTIONS)
        spec.update(copy.deepcopy(self.options))
        spec.update(copy.deepcopy(extra or {}))
        return spec

    def entry_spec(self):
        spec = copy.deepcopy(OBJECT_OPTIONS)
        spec["force"] = dict(type="bool")
        spec.update(copy.deepcopy(self.options))
        return spec

    def wait_spec(self, timeout):
        if self.ready is None:
            return None
        predicate, what = self.ready
        return engine.WaitSpec(predicate, what, timeout=timeout or 60,
                               describe=self.describe or describe_conditions)

    def item(self, params, obj, ctx=None, wait=None, wait_timeout=None, intent=None):
        """One engine Item for this kind (``obj`` None with ``state: absent``). ``wait`` defaults
        to ``params["wait"]``."""
        state = params.get("state") or "present"
        force = bool(params.get("force"))
        name = params.get("name") if obj is None else obj["metadata"]["name"]
        namespace = params.get("namespace") if obj is None else obj["metadata"].get("namespace")
        wait = params.get("wait") if wait is None else wait
        timeout = wait_timeout or params.get("wait_timeout") or 60
        kind = self.kind

        def validate():
            if state == "absent":
                return absent_errors(kind, name, namespace)
            return self.validate(obj)

        def precheck(live):
            errors = []
            if state == "present":
                if self.immutable is not None and live is not None:
                    errors.extend(self.immutable(obj, live) or [])
                if self.safety is not None and not force and live is not None:
                    errors.extend(self.safety(obj, live, ctx) or [])
            elif self.delete_safety is not None and not force and live is not None:
                errors.extend(self.delete_safety(name, namespace, live, ctx) or [])
            return errors

        return engine.Item(
            kind, obj, name=name, namespace=namespace, state=state, validate=validate, precheck=precheck,
            wait=self.wait_spec(timeout) if (wait and state == "present") else None,
            delete_wait=timeout if (wait and state == "absent") else None,
            preserve=self.preserve, quantity_paths=self.quantity_paths, intent=intent,
            adapt=self.adapt if state == "present" else None)


def run_typed_module(description, module_class=None, **module_kwargs):
    """The whole body of a typed single-object module built from ``description``: the argument
    spec, required options with ``state: present``, validation before any API call, one engine
    run (safety checks, check and diff mode, waits) and the result."""
    if module_class is None:
        from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.module import GpuaasModule
        module_class = GpuaasModule
    if description.required_when_present:
        module_kwargs.setdefault("required_if", []).append(
            ("state", "present", list(description.required_when_present)))
    module = module_class(description.argument_spec(), **module_kwargs)

    def body(m):
        p = m.params
        obj = description.render(p) if p["state"] == "present" else None
        if obj is not None:
            # validate before touching the API at all (even before the client is built)
            raise_all(description.validate(obj))
        item = description.item(p, obj, ctx=LiveContext(m.client))
        result = engine.run(m.client, [item], check_mode=m.check_mode, force_conflicts=p["force_conflicts"])
        m.exit_engine(result, single=True)

    module.run(body)
