# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The entries of a plan: checked, rendered and validated per kind, every problem named by its
place in the plan (pure). Shared by ``kueue_plan`` and ``cluster_plan``.

An entry of a section (``cluster_queues[2]``) takes the options of its kind's module (its
``KindDescription.entry_spec()``). Problems are ``ValidationError``s whose field is the option path
in the plan: ``cluster_queues[2].resource_groups[0].flavors[0].resources[1].nominal_quota``.

Public API
----------
``check_entries(descriptions, params, state="present") -> (entries, errors)``
    every entry of every section of ``descriptions`` (in their order) checked against its
    kind's options (types, choices, unknown keys; defaults filled in), required options with
    state present, duplicates; cohorts ordered parents first (a cycle is an error). ``entries``:
    ``[Entry]``.
``Entry(section, index, description, params)``: ``.kind``, ``.where`` (``cluster_queues[2]``),
    ``.key`` (kind, namespace, name); ``.obj`` once rendered.
``item_params(plan_params, entry_params, state, default_wait_timeout)``: the params of an entry's
    engine item (the plan's ``force`` unless the entry has its own, ``wait``, ``wait_timeout``).
``render_entries(entries, state)``: sets ``entry.obj`` (None with absent).
``option_path(entry, field) -> str``: a field of the rendered object as the option that set it.
``translate_errors(entry, errors)``: errors of the rendered object named by option paths.
``with_plan_paths(item, entry)``: the engine item whose validation and precheck errors are named
    by option paths.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import validate as v
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    NOVALUE,
    SafetyError,
    ValidationError,
)


class Entry(object):
    """One entry of a plan section, with its normalised options and (once rendered) its object."""

    def __init__(self, section, index, description, params):
        self.section = section
        self.index = index
        self.description = description
        self.params = params
        self.obj = None

    @property
    def kind(self):
        return self.description.kind

    @property
    def where(self):
        return "%s[%d]" % (self.section, self.index)

    @property
    def key(self):
        kind = self.kind
        return (kind, self.params.get("namespace") if kind.namespaced else None, self.params.get("name"))

    def __repr__(self):
        return "Entry(%s)" % self.where


def _order_cohorts(entries):
    """Cohort entries with the parents of the plan before their children (stable otherwise);
    a cycle is a validation error."""
    by_name = dict((e.params.get("name"), e) for e in entries)
    out, done, errors = [], set(), []

    def visit(entry, path):
        name = entry.params.get("name")
        if name in done:
            return
        if name in path:
            errors.append(ValidationError(entry.where + ".parent", entry.params.get("parent"),
                                          "cohorts form a cycle: %s" % " -> ".join(path + [name])))
            return
        parent = entry.params.get("parent")
        if parent in by_name and parent != name:
            visit(by_name[parent], path + [name])
        if name not in done:
            done.add(name)
            out.append(entry)

    for entry in entries:
        visit(entry, [])
    return out, errors


def check_entries(descriptions, params, state="present"):
    """Check every entry against the options of its kind; see the module doc."""
    entries, errors = [], []
    seen = {}
    for d in descriptions:
        spec = d.entry_spec()
        validator = ArgumentSpecValidator(spec)
        section = []
        for i, raw in enumerate(params.get(d.section) or []):
            where = "%s[%d]" % (d.section, i)
            if not isinstance(raw, dict):
                errors.append(ValidationError(where, raw, "must be a dict of the options of a %s" % d.kind.kind))
                continue
            crashing = v.argspec_shape_problems(spec, raw)
            if crashing:
                errors.extend(ValidationError(where, NOVALUE, problem) for problem in crashing)
                continue
            result = validator.validate(raw)  # the validator works on its own copy
            for msg in result.error_messages:
                errors.append(ValidationError(where, NOVALUE, msg))
            if result.error_messages:
                # not rendered: its options are not what the kind's functions can take
                continue
            entry = Entry(d.section, i, d, result.validated_parameters)
            for required in d.required_when_present:
                if state == "present" and entry.params.get(required) in (None, [], ""):
                    errors.append(ValidationError("%s.%s" % (where, required), entry.params.get(required),
                                                  "is required with state present"))
            key = entry.key
            if key in seen:
                errors.append(ValidationError(where + ".name", key[2], "%s is already given as %s"
                                              % (d.kind.ref(key[2], key[1]), seen[key])))
                continue
            seen[key] = where
            section.append(entry)
        if d.section == "cohorts":
            section, cycle_errors = _order_cohorts(section)
            errors.extend(cycle_errors)
        entries.extend(section)
    return entries, errors


def item_params(plan_params, entry_params, state, default_wait_timeout):
    """The params of one entry's engine item: the entry's options, the state, the plan's ``wait``
    and ``wait_timeout``, and ``force`` - the entry's own, else the plan's."""
    p = dict(entry_params)
    p["state"] = state
    own = entry_params.get("force")
    p["force"] = bool(plan_params.get("force")) if own is None else bool(own)
    p["wait"] = bool(plan_params.get("wait"))
    p["wait_timeout"] = plan_params.get("wait_timeout") or default_wait_timeout
    return p


def render_entries(entries, state):
    for entry in entries:
        entry.obj = entry.description.render(entry.params) if state == "present" else None
    return entries


# -- error paths -----------------------------------------------------------------------------

_SPECIAL = [
    ("metadata.name", "name"),
    ("metadata.namespace", "namespace"),
    ("metadata.labels", "labels"),
    ("metadata.annotations", "annotations"),
    ("spec.cohortName", "cohort"),
    ("spec.parentName", "parent"),
    ("spec.admissionChecksStrategy.admissionChecks", "admission_checks"),
    ("spec.clusterQueue", "cluster_queue"),
]
_VERBATIM = ("labels", "annotations", "node_labels", "limits")


def _snake(word):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), word)


def _snake_path(path):
    parts = re.split(r"(\[[^\]]*\])", path)
    return "".join(p if p.startswith("[") else ".".join(_snake(w) for w in p.split(".")) for p in parts)


def _remap_resource_index(entry, path):
    """``resource_groups[i].flavors[j].resources[k]``: rendering puts the resources of a flavor in
    covered order, so ``k`` of the object is mapped back to the index in the entry."""
    m = re.match(r"^(resource_groups\[(\d+)\]\.flavors\[(\d+)\]\.resources\[)(\d+)(\].*)$", path)
    if not m or entry.obj is None:
        return path
    gi, fi, ri = int(m.group(2)), int(m.group(3)), int(m.group(4))
    try:
        name = entry.obj["spec"]["resourceGroups"][gi]["flavors"][fi]["resources"][ri]["name"]
        resources = entry.params["resource_groups"][gi]["flavors"][fi]["resources"]
    except (KeyError, IndexError, TypeError):
        return path
    for idx, r in enumerate(resources or []):
        if isinstance(r, dict) and r.get("name") == name:
            return "%s%d%s" % (m.group(1), idx, m.group(5))
    return path


def _starts(path, prefix):
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


def option_path(entry, field):
    """The option path (in the plan) of ``field`` of the object rendered from ``entry``."""
    prefix = entry.where
    if not field:
        return prefix
    path = field
    for src, dst in tuple(entry.description.field_options) + tuple(_SPECIAL):
        if _starts(path, src):
            path = dst + path[len(src):]
            break
    else:
        if path.startswith("spec."):
            path = path[len("spec."):]
    if entry.section == "topologies":
        path = re.sub(r"^levels\[(\d+)\]\.nodeLabel$", r"levels[\1]", path)
    if path.startswith("nodeLabels"):
        path = "node_labels" + path[len("nodeLabels"):]
    elif not path.startswith(_VERBATIM):
        path = _snake_path(path)
    path = _remap_resource_index(entry, path)
    if path == "state":
        return "%s (state)" % prefix
    return prefix + ("" if path.startswith("[") else ".") + path


def translate_errors(entry, errors):
    """Errors of a rendered object with the fields named as options of the plan."""
    out = []
    for e in errors or []:
        if isinstance(e, ValidationError):
            out.append(ValidationError(option_path(entry, e.field), e.value, e.problem, obj=e.obj))
        elif isinstance(e, SafetyError):
            field = option_path(entry, e.field) if e.field else entry.where
            out.append(SafetyError(e.problem, e.affected, field, e.value, e.hint, obj=e.obj))
        else:
            out.append(e)
    return out


def with_plan_paths(item, entry):
    """``item`` (an ``engine.Item``) whose validation and precheck errors name option paths."""
    validate, precheck = item._validate, item._precheck  # pylint: disable=protected-access
    item._validate = lambda: translate_errors(entry, validate() if validate else [])  # pylint: disable=protected-access
    item._precheck = lambda live: translate_errors(entry, precheck(live) if precheck else [])  # pylint: disable=protected-access
    return item
