# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The secrets of the authentication options, so that no output of a module carries them (pure).

A module registers these values with Ansible (``AnsibleModule.no_log_values``) before anything
else happens, so that every result, diff, warning, error and ``-vvv`` invocation shows
``********`` in their place, whichever kubernetes.core version is installed, or none.

Why not ``no_log: true`` on ``kubeconfig`` (as kubernetes.core 6 declares it)? Ansible then hides
every leaf of a kubeconfig dict, names included: a context or namespace called ``default`` turns
every ``default`` of every result into ``********``; and older kubernetes.core versions do not
declare it at all. Here exactly the secret values are hidden: tokens, passwords, keys,
certificate data, auth-provider and exec credentials, credentials in proxy URLs - of a kubeconfig
given as a dict, of the kubeconfig file a module reads (given as a path, in ``K8S_AUTH_KUBECONFIG``
or ``KUBECONFIG``, or ``~/.kube/config``), and of the ``api_key``/``password``/proxy options and
their ``K8S_AUTH_*`` variables.

Public API
----------
``kubeconfig_secret_values(doc) -> set``: the secret values of a kubeconfig document (a dict).
``auth_secret_values(params, environ, read_file=None) -> set``: those of the module's auth
    options and environment; ``read_file(path) -> text or None`` reads a kubeconfig file (the
    edge; None or an error: nothing from files).
``SECRET_OPTIONS``: option names whose value is a secret.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# kubeconfig user keys whose values are not secrets (names, paths, switches)
_NOT_SECRET_USER_KEYS = frozenset((
    "username", "as", "as-groups", "as-uid", "client-certificate", "client-key", "tokenFile",
    "command", "apiVersion", "installHint", "interactiveMode", "provideClusterInfo", "name",
))
# shorter values are not registered: Ansible would mask every occurrence of them in any output
# (a 3-letter "pwd" would blank out words); a real credential is longer
MIN_SECRET_LENGTH = 6

SECRET_OPTIONS = ("api_key", "password")
_SECRET_ENV = ("K8S_AUTH_API_KEY", "K8S_AUTH_PASSWORD")


def _leaves(value, skip_keys=frozenset()):
    if isinstance(value, dict):
        for k, v in value.items():
            if k in skip_keys:
                continue
            yield from _leaves(v, skip_keys)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v, skip_keys)
    elif isinstance(value, str):
        yield value


def _proxy_credentials(url):
    """``user:password`` of a ``scheme://user:password@host`` URL, else None."""
    if not isinstance(url, str) or "@" not in url:
        return None
    rest = url.split("://", 1)[-1]
    return rest.rsplit("@", 1)[0] or None


def _add(out, value):
    if isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LENGTH:
        out.add(value)
        # a value also appears without its surrounding whitespace, or folded into lines
        out.add(value.strip())


def kubeconfig_secret_values(doc):
    """The secret values of a kubeconfig document (``users[].user``: token, password, key and
    certificate data, auth-provider config, exec arguments and environment; CA data and proxy
    credentials of ``clusters[]``). Anything that is not a dict gives an empty set."""
    out = set()
    if not isinstance(doc, dict):
        return out
    for entry in doc.get("users") or []:
        user = (entry or {}).get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        # every value but names, paths and switches: exec arguments may carry a token
        # (``--token=...``), exec environment values and auth-provider config are credentials
        for leaf in _leaves(user, _NOT_SECRET_USER_KEYS):
            _add(out, leaf)
    for entry in doc.get("clusters") or []:
        cluster = (entry or {}).get("cluster") if isinstance(entry, dict) else None
        if not isinstance(cluster, dict):
            continue
        _add(out, cluster.get("certificate-authority-data"))
        _add(out, _proxy_credentials(cluster.get("proxy-url")))
    out.discard("")
    return out


def _kubeconfig_paths(params, environ):
    given = params.get("kubeconfig")
    if isinstance(given, str) and given:
        return [given]
    if isinstance(given, dict):
        return []
    env = environ.get("K8S_AUTH_KUBECONFIG") or environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def _parse(text):
    try:
        import yaml
        return yaml.safe_load(text)
    except Exception:  # pylint: disable=broad-except
        return None


def auth_secret_values(params, environ, read_file=None):
    """The secret values of a module's auth options and environment (see the module docstring)."""
    out = set()
    params = params or {}
    for name in SECRET_OPTIONS:
        _add(out, params.get(name))
    for name in _SECRET_ENV:
        _add(out, environ.get(name))
    headers = params.get("proxy_headers")
    if isinstance(headers, dict):
        for name in ("proxy_basic_auth", "basic_auth"):
            _add(out, headers.get(name))
    _add(out, _proxy_credentials(params.get("proxy") or environ.get("K8S_AUTH_PROXY")))
    kubeconfig = params.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        out |= kubeconfig_secret_values(kubeconfig)
    elif read_file is not None:
        for path in _kubeconfig_paths(params, environ):
            try:
                text = read_file(path)
            except Exception:  # pylint: disable=broad-except
                text = None
            if text:
                out |= kubeconfig_secret_values(_parse(text))
    return out
