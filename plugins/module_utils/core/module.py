# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of every module of the collection: a thin module is an argument spec plus one call.

Public API
----------
``GpuaasModule(argument_spec, **kwargs)`` (an ``AnsibleModule``)
    Merges kubernetes.core's ``AUTH_ARG_SPEC`` into ``argument_spec`` (``auth_spec()``), sets
    ``supports_check_mode=True``, fails with ``missing_required_lib("kubernetes")`` when the
    library is missing. Before the arguments are validated, the secrets of the auth options and
    of the kubeconfig they name are registered as no_log values (``core.secrets``): no output
    of the module shows them.
    ``.client``        lazily built ``client.Client`` (kubernetes.core authentication)
    ``.check_mode``, ``.diff_mode``
    ``.fail_from(exc, **extra)``   fail_json from any exception: ``GpuaasError`` subclasses carry
                                   their details (field/value/problem list, API status/reason/
                                   message/body, what a wait saw last); like amazon.aws's
                                   ``fail_json_aws``
    ``.exit_engine(result, single=True, **extra)``  exit_json from an ``engine.run`` result:
                                   ``changed``, ``diff`` (only with --diff; one dict for a single
                                   object, a list otherwise), ``results``, ``summary``, ``timings``,
                                   ``warnings``; with ``single`` also ``operation`` (created,
                                   updated, unchanged, deleted, absent) and ``resource``. (Not
                                   ``action``: Ansible overwrites that key with the module name.)
    ``.run(fn)``                   ``fn(module)`` returns a result dict (or calls exit itself); any
                                   exception becomes ``fail_from``
``AUTH_ARG_SPEC`` (re-export), ``WAIT_ARG_SPEC`` (``wait``, ``wait_timeout``)
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import (
    AUTH_ARG_SPEC,
    HAS_K8S,
    HAS_K8S_CORE,
    K8S_IMP_ERR,
    get_client,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ApiError,
    GpuaasError,
    PartialRun,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.validate import argspec_shape_problems
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.secrets import (
    SECRET_OPTIONS,
    auth_secret_values,
)

WAIT_ARG_SPEC = dict(
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=60),
)


def _read_text(path):
    with open(os.path.expanduser(path), "r") as f:
        return f.read(1024 * 1024)


def auth_spec():
    """kubernetes.core's auth options, with this collection's secret handling: the secret options
    are ``no_log`` whatever the kubernetes.core version says, and ``kubeconfig`` is not (its
    secret values are registered one by one, see ``core.secrets``)."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    for name in SECRET_OPTIONS:
        spec.setdefault(name, {})["no_log"] = True
    if "kubeconfig" in spec:
        spec["kubeconfig"]["no_log"] = False
    return spec


class GpuaasModule(AnsibleModule):
    def __init__(self, argument_spec, **kwargs):
        spec = auth_spec()
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        self._initializing = True
        super(GpuaasModule, self).__init__(argument_spec=spec, **kwargs)
        self._initializing = False
        if not HAS_K8S_CORE:
            self.fail_json(msg="the kubernetes.core collection is required (ansible-galaxy collection install "
                               "kubernetes.core, or the PyPI ansible package that carries it)")
        if not HAS_K8S:
            self.fail_json(msg=missing_required_lib("kubernetes"), exception=K8S_IMP_ERR)
        self._client = None

    def _load_params(self):
        # Before the argument spec is validated (its errors are outputs too), the secrets of the
        # auth options and of the kubeconfig they name become no_log values: Ansible masks them
        # in every result, warning, error and invocation of this run.
        super(GpuaasModule, self)._load_params()
        try:
            self.no_log_values.update(auth_secret_values(self.params, os.environ, read_file=_read_text))
        except Exception:  # pylint: disable=broad-except
            # masking is best effort on input the validation below rejects anyway
            pass

    def _set_internal_properties(self):
        super(GpuaasModule, self)._set_internal_properties()
        problems = argspec_shape_problems(self.argument_spec, self.params)
        if problems:
            self.fail_json(msg="; ".join(problems[:5]))

    def fail_json(self, msg=None, **kwargs):
        if getattr(self, "_initializing", False) and getattr(self, "validation_result", None) is not None:
            # ansible-core reports only the first error of the argument spec check, and for a
            # sub-option of the wrong type that is its no_log scan's, which names no option
            # ("dictionary requested, could not parse JSON or key=value"): say the errors that
            # name their option instead (at most 5, each once)
            named = [e.msg for e in self.validation_result.errors if type(e).__name__ != "NoLogError"]
            texts = []
            for text in named:
                if text not in texts:
                    texts.append(text)
            if texts:
                msg = "; ".join(texts[:5])
        super(GpuaasModule, self).fail_json(msg=msg, **kwargs)

    def warn(self, warning, **kwargs):
        # ansible-core (2.19) masks no_log values in the result but not in warnings, which it
        # carries as WarningSummary objects that remove_values does not walk: mask them here
        super(GpuaasModule, self).warn(remove_values(warning, self.no_log_values), **kwargs)

    def deprecate(self, msg, *args, **kwargs):
        super(GpuaasModule, self).deprecate(  # pylint: disable=ansible-deprecated-no-collection-name
            remove_values(msg, self.no_log_values), *args, **kwargs)

    @property
    def client(self):
        if self._client is None:
            self._client = get_client(self.params)
        return self._client

    @property
    def diff_mode(self):
        return bool(self._diff)

    def fail_from(self, exc, **extra):
        result = dict(extra)
        if isinstance(exc, GpuaasError):
            result.update(exc.to_result())
            api = exc.cause if isinstance(exc, PartialRun) else exc
            if isinstance(exc, PartialRun):
                # what was written before the failure: changed (so handlers fire), the results so
                # far, the failed object, and the diff of what was done, as a successful run gives it
                if self.diff_mode:
                    result["diff"] = exc.result.get("diff") or []
                for w in exc.result.get("warnings") or []:
                    self.warn(w)
            if isinstance(api, ApiError):
                for key in ("body", "api_message"):
                    result.pop(key, None)
                result["api_error"] = api.summary()
            result.pop("exception", None)
            self.fail_json(msg=str(exc), **result)
        self.fail_json(msg="%s: %s" % (type(exc).__name__, exc), exception=traceback.format_exc(), **result)

    def exit_engine(self, result, single=True, **extra):
        out = dict(result)
        diffs = out.pop("diff", [])
        if self.diff_mode:
            if single:
                out["diff"] = diffs[0] if diffs else {"before": {}, "after": {}}
            else:
                out["diff"] = diffs
        warnings = out.pop("warnings", [])
        for w in warnings:
            self.warn(w)
        out["api_warnings"] = warnings
        if single and out.get("results"):
            first = out["results"][0]
            # "action" would be overwritten by Ansible with the module name: use "operation".
            out["operation"] = first["action"]
            out["resource"] = first.get("object")
        out.update(extra)
        self.exit_json(**out)

    def run(self, fn):
        error = None
        tb = None
        try:
            result = fn(self)
        except Exception as e:  # pylint: disable=broad-except
            error = e
            tb = traceback.format_exc()
        if error is not None:
            if isinstance(error, GpuaasError):
                self.fail_from(error)
            self.fail_json(msg="%s: %s" % (type(error).__name__, error), exception=tb)
        if result is not None:
            # warnings go through warn(): exit_json(warnings=...) is deprecated in ansible-core
            for w in result.pop("warnings", None) or []:
                self.warn(w)
            self.exit_json(**result)
