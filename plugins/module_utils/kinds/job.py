# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GPU jobs submitted to Kueue: a batch/v1 ``Job`` or a ``JobSet`` (jobset.x-k8s.io/v1alpha2) from
typed options, or a full definition of any kind Kueue integrates. Pure.

The typed options describe one container image run by ``parallelism`` pods (a Job) or by the
pods of ``replicated_jobs`` (a JobSet), each with ``gpus`` GPUs; ``queue`` and ``priority_class``
become Kueue's labels, ``max_execution_time`` Kueue's maximum execution time label.

What Kueue does to a job, and how a rerun stays unchanged:

- Kueue's webhook suspends a job when it is created and Kueue unsuspends it on admission (and
  suspends it again on preemption): ``spec.suspend`` is never sent; its live value is kept
  (``PRESERVE``), so that an update neither unsuspends a job Kueue holds nor suspends one it runs.
- Kueue adds the node selectors of the admitted flavor to the pod templates: they are not the
  user's fields and stay.
- The admission gate (``kueue.x-k8s.io/admission-gated-by``) is accepted only when a job is created
  (Kueue's webhook forbids adding one later): ``keep_gate_adapt`` sends it only while it is there.

Public API
----------
``JOB_OPTIONS``: the argument spec of the typed options (shared by Job and JobSet).
``TYPED_OPTIONS``: their names (any of them given means "typed", exclusive with ``definition``).
``JOB``, ``JOBSET``: the kinds. ``DEFAULT_GATE``: the gate this collection sets by default.
``check_params(params) -> [ValidationError]``: the options, named as the user wrote them (pure).
``render_job(params, gate=None) -> dict``: the Job or JobSet (``params["kind"]``) from the typed
    options; ``render_definition(params, gate=None) -> dict``: a definition with the queue and
    priority labels and the gate set (``params["definition"]``).
``keep_gate_adapt(obj, live) -> (obj, warnings)``: the engine's ``adapt``: the gate annotation
    leaves the object sent when the live job no longer has it.
``description(kind)``: the ``KindDescription`` of a submitted job of ``kind`` (a ``client.Kind``).
``PRESERVE``: the suspend fields Kueue owns.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS, Kind
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorCollector
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import quantity_problem
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.base import KindDescription, object_meta
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds.manifest import QUANTITY_PATHS, validate_definition
from ansible_collections.gpuaas.orchestration.plugins.module_utils.workloads.state import (
    GATE_ANNOTATION,
    MAX_EXEC_LABEL,
    PRIORITY_LABEL,
    QUEUE_LABEL,
    gates_of,
)

JOB = KINDS["Job"]
JOBSET = Kind("jobset.x-k8s.io/v1alpha2", "JobSet", "jobsets", True)
DEFAULT_GATE = "gpuaas.io/hold"
CONTAINER_NAME = "main"
# Kueue's suspend fields, and the admission gate: a submit without it leaves a gate as it is
# (lifting one is state ungated's job)
PRESERVE = (("spec", "suspend"), ("spec", "runPolicy", "suspend"), ("metadata", "annotations", GATE_ANNOTATION))

_CONTAINER_OPTIONS = dict(
    image=dict(type="str"),
    command=dict(type="list", elements="str"),
    args=dict(type="list", elements="str"),
    gpus=dict(type="raw"),
    cpu=dict(type="raw"),
    memory=dict(type="raw"),
)

JOB_OPTIONS = dict(
    kind=dict(type="str", default="Job", choices=["Job", "JobSet"]),
    definition=dict(type="dict"),
    queue=dict(type="str"),
    priority_class=dict(type="str"),
    env=dict(type="dict"),
    gpu_resource=dict(type="str", default="nvidia.com/gpu"),
    parallelism=dict(type="int"),
    completions=dict(type="int"),
    backoff_limit=dict(type="int"),
    replicated_jobs=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        replicas=dict(type="int", default=1),
        parallelism=dict(type="int"),
        completions=dict(type="int"),
        **copy.deepcopy(_CONTAINER_OPTIONS))),
    tolerations=dict(type="list", elements="dict", options=dict(
        key=dict(type="str", no_log=False),
        operator=dict(type="str", choices=list(v.TOLERATION_OPERATORS)),
        value=dict(type="str"),
        effect=dict(type="str", choices=list(v.TAINT_EFFECTS)),
        toleration_seconds=dict(type="int"))),
    node_selector=dict(type="dict"),
    max_execution_time=dict(type="int"),
    pod_labels=dict(type="dict"),
    pod_annotations=dict(type="dict"),
    **copy.deepcopy(_CONTAINER_OPTIONS))

TYPED_OPTIONS = ("image", "command", "args", "gpus", "cpu", "memory", "env", "parallelism", "completions",
                 "backoff_limit", "replicated_jobs", "tolerations", "node_selector", "max_execution_time",
                 "pod_labels", "pod_annotations")


def _whole(value):
    """``value`` as a whole number (ints and digit strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # ASCII digits only: "²" is a digit to str.isdigit() but not to int()
    if v.is_ascii_digits(value.strip() if isinstance(value, str) else value):
        return int(value.strip())
    return None


def _check_container(errs, where, c, required_image=True):
    image = c.get("image")
    if image is not None or required_image:
        errs.check(isinstance(image, str) and image.strip() != "", where + "image", image,
                   "is required: the container image to run" if image is None
                   else "must be a container image reference, not empty")
    gpus = c.get("gpus")
    if gpus is not None:
        n = _whole(gpus)
        errs.check(n is not None and n >= 0, where + "gpus", gpus, "must be a whole number of GPUs per pod (0 or more)")
    for field in ("cpu", "memory"):
        value = c.get(field)
        if value is not None:
            problem = quantity_problem(value)
            if problem:
                errs.add(where + field, value, problem)


def _check_count(errs, field, value, least=1):
    if value is not None:
        errs.check(value >= least, field, value, "must be at least %d" % least)


def check_params(params):
    """Errors in the options of a submit, named by the options (before anything is rendered)."""
    errs = ErrorCollector()
    v.check_name(errs, "name", params.get("name"), kind="label" if params.get("kind") == "JobSet" else "subdomain")
    v.check_name(errs, "namespace", params.get("namespace"), kind="label")
    if params.get("queue") is not None:
        v.check_name(errs, "queue", params.get("queue"))
    if params.get("priority_class") is not None:
        v.check_name(errs, "priority_class", params.get("priority_class"))
    typed = [o for o in TYPED_OPTIONS if params.get(o) is not None]
    if params.get("definition") is not None:
        if "spec" not in params["definition"]:
            return errs.errors  # it only names the kind of a submitted job (ungate, deactivate, ...)
        if typed:
            errs.add("definition", "...", "is exclusive with the typed options (%s): give one or the other" % ", ".join(typed))
        return errs.errors
    if not typed:
        return errs.errors  # acting on a submitted job by its name (ungate, deactivate, ...)
    jobset = params.get("kind") == "JobSet"
    groups = params.get("replicated_jobs")
    if groups is not None and not jobset:
        errs.add("replicated_jobs", [g.get("name") for g in groups], "needs kind: JobSet (a Job has no replicated jobs)")
    _check_container(errs, "", params, required_image=not (jobset and groups and all(g.get("image") for g in groups)))
    _check_count(errs, "parallelism", params.get("parallelism"))
    _check_count(errs, "completions", params.get("completions"))
    _check_count(errs, "backoff_limit", params.get("backoff_limit"), least=0)
    _check_count(errs, "max_execution_time", params.get("max_execution_time"))
    if groups is not None:
        errs.check(len(groups) > 0, "replicated_jobs", groups, "must list at least one replicated job")
        seen = set()
        for i, g in enumerate(groups):
            where = "replicated_jobs[%d]." % i
            v.check_name(errs, where + "name", g.get("name"), kind="label")
            errs.check(g.get("name") not in seen, where + "name", g.get("name"), "is used twice")
            seen.add(g.get("name"))
            _check_count(errs, where + "replicas", g.get("replicas"))
            _check_count(errs, where + "parallelism", g.get("parallelism"))
            _check_count(errs, where + "completions", g.get("completions"))
            _check_container(errs, where, g, required_image=False)
    gpu_resource = params.get("gpu_resource")
    problem = v.qualified_name_problem(gpu_resource) if gpu_resource else "is required"
    if problem:
        errs.add("gpu_resource", gpu_resource, problem)
    tols = params.get("tolerations")
    if tols:
        v.check_tolerations(errs, "tolerations", [_toleration(t) for t in tols])
    if params.get("node_selector"):
        v.check_labels(errs, "node_selector", params.get("node_selector"))
    v.check_labels(errs, "pod_labels", params.get("pod_labels"))
    v.check_annotations(errs, "pod_annotations", params.get("pod_annotations"))
    return errs.errors


def _prune(d):
    return dict((k, val) for k, val in d.items() if val is not None)


def _toleration(t):
    return _prune({"key": t.get("key"), "operator": t.get("operator"), "value": t.get("value"),
                   "effect": t.get("effect"), "tolerationSeconds": t.get("toleration_seconds")})


def _quantity(value):
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _container(params, override=None):
    c = dict(params)
    c.update(dict((k, val) for k, val in (override or {}).items() if val is not None and k in _CONTAINER_OPTIONS))
    requests, limits = {}, {}
    if c.get("cpu") is not None:
        requests["cpu"] = _quantity(c["cpu"])
    if c.get("memory") is not None:
        requests["memory"] = _quantity(c["memory"])
    gpus = _whole(c.get("gpus"))
    if gpus:
        # an extended resource is requested through its limit (a request must equal it)
        requests[params["gpu_resource"]] = limits[params["gpu_resource"]] = str(gpus)
    out = {"name": CONTAINER_NAME, "image": c.get("image")}
    if c.get("command"):
        out["command"] = list(c["command"])
    if c.get("args"):
        out["args"] = list(c["args"])
    if params.get("env"):
        out["env"] = [{"name": k, "value": "" if val is None else str(val)} for k, val in params["env"].items()]
    resources = _prune({"requests": requests or None, "limits": limits or None})
    if resources:
        out["resources"] = resources
    return out


def _pod_template(params, override=None):
    spec = {"restartPolicy": "Never", "containers": [_container(params, override)]}
    if params.get("tolerations"):
        spec["tolerations"] = [_toleration(t) for t in params["tolerations"]]
    if params.get("node_selector"):
        spec["nodeSelector"] = dict((k, str(val)) for k, val in params["node_selector"].items())
    template = {"spec": spec}
    meta = _prune({"labels": dict(params["pod_labels"]) if params.get("pod_labels") else None,
                   "annotations": dict(params["pod_annotations"]) if params.get("pod_annotations") else None})
    if meta:
        template["metadata"] = meta
    return template


def _job_spec(parallelism, completions, backoff_limit, template):
    parallelism = parallelism or 1
    return _prune({"parallelism": parallelism, "completions": completions or parallelism,
                   "backoffLimit": backoff_limit, "template": template})


def _kueue_meta(params, obj, gate):
    meta = obj.setdefault("metadata", {})
    labels = meta.setdefault("labels", {})
    if params.get("queue"):
        labels[QUEUE_LABEL] = params["queue"]
    if params.get("priority_class"):
        labels[PRIORITY_LABEL] = params["priority_class"]
    if params.get("max_execution_time"):
        labels[MAX_EXEC_LABEL] = str(params["max_execution_time"])
    if not labels:
        meta.pop("labels")
    if gate:
        annotations = meta.setdefault("annotations", {})
        gates = [g for g in (annotations.get(GATE_ANNOTATION) or "").split(",") if g]
        if gate not in gates:
            gates.append(gate)
        annotations[GATE_ANNOTATION] = ",".join(gates)
    return obj


def render_job(params, gate=None):
    kind = JOBSET if params.get("kind") == "JobSet" else JOB
    obj = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": object_meta(params, namespaced=True)}
    if kind is JOB:
        obj["spec"] = _job_spec(params.get("parallelism"), params.get("completions"), params.get("backoff_limit"),
                                _pod_template(params))
    else:
        groups = params.get("replicated_jobs") or [{"name": "workers", "replicas": 1,
                                                    "parallelism": params.get("parallelism"),
                                                    "completions": params.get("completions")}]
        obj["spec"] = {"replicatedJobs": [
            {"name": g["name"], "replicas": g.get("replicas") or 1,
             "template": {"spec": _job_spec(g.get("parallelism"), g.get("completions"), params.get("backoff_limit"),
                                            _pod_template(params, g))}}
            for g in groups]}
    return _kueue_meta(params, obj, gate)


def render_definition(params, gate=None):
    obj = copy.deepcopy(params["definition"])
    meta = obj.setdefault("metadata", {})
    meta.setdefault("name", params.get("name"))
    meta.setdefault("namespace", params.get("namespace"))
    if params.get("labels"):
        meta.setdefault("labels", {}).update(params["labels"])
    if params.get("annotations"):
        meta.setdefault("annotations", {}).update(params["annotations"])
    return _kueue_meta(params, obj, gate)


def check_definition(params, obj):
    """A definition's own problems, and whether it is the job the options name."""
    errs = ErrorCollector()
    meta = obj.get("metadata") or {}
    for field in ("name", "namespace"):
        if meta.get(field) != params.get(field):
            errs.add("definition.metadata." + field, meta.get(field), "must be the job's %s %r (option %s)" % (
                field, params.get(field), field))
    for field in ("apiVersion", "kind"):
        errs.check(bool(obj.get(field)), "definition." + field, obj.get(field), "is required")
    errs.check(bool((meta.get("labels") or {}).get(QUEUE_LABEL)), "queue", None,
               "is required: the LocalQueue to submit to (or the label %s in the definition)" % QUEUE_LABEL)
    errs.extend(e.with_prefix("definition.") for e in validate_definition(obj, True))
    return errs.errors


def keep_gate_adapt(obj, live):
    """Kueue accepts an admission gate only when a job is created: once the live job no longer has
    the gate (lifted), it is not sent again (the intent digest still covers it, so a rerun of the
    same submit is unchanged)."""
    sent = set(gates_of(obj))
    if not sent:
        return obj, []
    kept = [g for g in gates_of(obj) if g in set(gates_of(live))]
    if len(kept) == len(sent):
        return obj, []
    out = copy.deepcopy(obj)
    annotations = out["metadata"]["annotations"]
    if kept:
        annotations[GATE_ANNOTATION] = ",".join(kept)
    else:
        annotations.pop(GATE_ANNOTATION)
        if not annotations:
            out["metadata"].pop("annotations")
    return out, []


def description(kind):
    return KindDescription(
        kind, JOB_OPTIONS, render_job, lambda obj: validate_definition(obj, True),
        section="workloads", rank=100, quantity_paths=QUANTITY_PATHS, preserve=PRESERVE, adapt=keep_gate_adapt)
