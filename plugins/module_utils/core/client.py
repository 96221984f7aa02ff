# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Kubernetes API client of the collection.

Authentication is kubernetes.core's: the modules take ``AUTH_ARG_SPEC`` (kubeconfig, context,
host, api_key, validate_certs, ..., and the ``K8S_AUTH_*`` environment variables) and the
client is built with kubernetes.core's ``get_api_client``. Requests then go straight to REST
paths computed from a ``Kind`` (no discovery round trips), with JSON in and out.

Public API
----------
``HAS_K8S``, ``K8S_IMP_ERR``: whether the kubernetes library imports.
``auth_argument_spec() -> dict``: a copy of kubernetes.core's ``AUTH_ARG_SPEC``.
``Kind(api_version, kind, plural, namespaced)``: ``.group``, ``.version``,
    ``.path(namespace=None, name=None, subresource=None)``, ``.ref(obj_or_name, namespace=None)``.
``KINDS``: well-known kinds by name, e.g. ``KINDS["ClusterQueue"]``, ``KINDS["NodePool"]``,
    ``KINDS["Node"]``, ``KINDS["Pod"]``, ``KINDS["Job"]``, ``KINDS["Workload"]`` ...;
    ``kind_for(name)`` looks one up (raises KeyError).
``label_selector(labels) -> "a=b,c=d"``: the ``labelSelector`` query of equality matches.
``get_client(params) -> Client``: ``params`` = the module's params (auth keys read from it).
``Client(api_client)``:
    ``get(kind, name, namespace=None) -> dict or None`` (None on 404)
    ``list(kind, namespace=None, label_selector=None, field_selector=None) -> [dict]``
        (items carry apiVersion and kind)
    ``apply(kind, obj, dry_run=False, force=True, field_manager=FIELD_MANAGER, subresource=None) -> dict``
        server-side apply
    ``create(kind, obj, namespace=None, dry_run=False, subresource=None, field_manager=None) -> dict``
    ``patch(kind, name, body, namespace=None, patch_type="merge"|"json"|"strategic",
        dry_run=False, subresource=None) -> dict``
    ``delete(kind, name, namespace=None, dry_run=False, propagation_policy="Background",
        grace_period_seconds=None) -> dict or None`` (None when already gone)
    ``request(method, path, query=None, body=None, content_type=None, action=None, retries=None) -> dict``
        (transient failures - 429, 502-504, webhook/etcd 500s, connection errors - are retried
        up to 3 times with backoff, except for POST). A 403 of the authorizer names the missing
        rule (``errors.ApiError.permission``: verb, resource, subresource, group, namespace); a dry
        run (check mode) it refuses is computed locally instead (``core.access.preview``), with a
        warning: an identity with read-only access runs every module in check mode.
    ``resolve_kind(api_version, kind) -> Kind or None``: a well-known kind, else from the API's
        discovery document of that group version (one GET per group version, cached); None
        when the API server does not serve it
    ``resolve_group_kind("Kind.group") -> Kind or None``: the same from a group-kind (the
        group's preferred version)
    ``warnings``: list of API ``Warning`` headers seen (deduplicated)
    ``api_client``: the underlying ``kubernetes.client.ApiClient``; ``dynamic``: kubernetes.core's
        dynamic client, for kinds that need discovery.
Every API error is raised as ``errors.ApiError`` (status, reason, message, body).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import time
import traceback

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    HAS_K8S_CORE = True
except ImportError:  # pragma: no cover - kubernetes.core is a declared dependency
    # Without kubernetes.core the modules still accept its option names (so that the module
    # fails with "install kubernetes.core", not with "unsupported parameter: kubeconfig").
    HAS_K8S_CORE = False
    AUTH_ARG_SPEC = dict((name, dict(type="raw", no_log=name in ("api_key", "password")))
                         for name in ("kubeconfig", "context", "host", "api_key", "username", "password",
                                      "validate_certs", "ca_cert", "client_cert", "client_key", "proxy",
                                      "no_proxy", "proxy_headers", "persist_config", "impersonate_user",
                                      "impersonate_groups"))

K8S_IMP_ERR = None
try:
    import kubernetes  # noqa: F401  pylint: disable=unused-import
    from kubernetes.client.rest import ApiException
    HAS_K8S = True
except ImportError:
    HAS_K8S = False
    K8S_IMP_ERR = traceback.format_exc()

    class ApiException(Exception):  # type: ignore
        pass

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import access
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ApiError, GpuaasError

try:
    from urllib.parse import quote, urlencode
except ImportError:  # pragma: no cover
    from urllib import quote, urlencode  # type: ignore

FIELD_MANAGER = "gpuaas-orchestration"
DEFAULT_REQUEST_TIMEOUT = 60


def auth_argument_spec():
    import copy
    return copy.deepcopy(AUTH_ARG_SPEC)


class Kind(object):
    """A Kubernetes resource type addressed by REST path."""

    def __init__(self, api_version, kind, plural, namespaced):
        self.api_version = api_version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced
        if "/" in api_version:
            self.group, self.version = api_version.split("/", 1)
        else:
            self.group, self.version = "", api_version

    def __repr__(self):
        return "Kind(%s %s)" % (self.api_version, self.kind)

    def __eq__(self, other):
        return isinstance(other, Kind) and (self.api_version, self.kind) == (other.api_version, other.kind)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.api_version, self.kind))

    def path(self, namespace=None, name=None, subresource=None):
        base = "/api/%s" % self.version if not self.group else "/apis/%s/%s" % (self.group, self.version)
        if self.namespaced and namespace:
            base += "/namespaces/%s" % quote(namespace, safe="")
        base += "/" + self.plural
        if name:
            base += "/" + quote(name, safe="")
            if subresource:
                base += "/" + subresource
        return base

    def ref(self, obj_or_name, namespace=None):
        """Human reference such as ``ClusterQueue/team-a`` or ``LocalQueue/ns/q``."""
        if isinstance(obj_or_name, dict):
            meta = obj_or_name.get("metadata") or {}
            name, namespace = meta.get("name"), meta.get("namespace")
        else:
            name = obj_or_name
        if self.namespaced and namespace:
            return "%s/%s/%s" % (self.kind, namespace, name)
        return "%s/%s" % (self.kind, name)


KUEUE_V = "kueue.x-k8s.io/v1beta2"
KINDS = {
    "ResourceFlavor": Kind(KUEUE_V, "ResourceFlavor", "resourceflavors", False),
    "ClusterQueue": Kind(KUEUE_V, "ClusterQueue", "clusterqueues", False),
    "LocalQueue": Kind(KUEUE_V, "LocalQueue", "localqueues", True),
    "Cohort": Kind(KUEUE_V, "Cohort", "cohorts", False),
    "WorkloadPriorityClass": Kind(KUEUE_V, "WorkloadPriorityClass", "workloadpriorityclasses", False),
    "AdmissionCheck": Kind(KUEUE_V, "AdmissionCheck", "admissionchecks", False),
    "Topology": Kind(KUEUE_V, "Topology", "topologies", False),
    "Workload": Kind(KUEUE_V, "Workload", "workloads", True),
    "NodePool": Kind("karpenter.sh/v1", "NodePool", "nodepools", False),
    "NodeClaim": Kind("karpenter.sh/v1", "NodeClaim", "nodeclaims", False),
    "KWOKNodeClass": Kind("karpenter.kwok.sh/v1alpha1", "KWOKNodeClass", "kwoknodeclasses", False),
    "Node": Kind("v1", "Node", "nodes", False),
    "Pod": Kind("v1", "Pod", "pods", True),
    "Namespace": Kind("v1", "Namespace", "namespaces", False),
    "ConfigMap": Kind("v1", "ConfigMap", "configmaps", True),
    "Event": Kind("v1", "Event", "events", True),
    "Job": Kind("batch/v1", "Job", "jobs", True),
    "Deployment": Kind("apps/v1", "Deployment", "deployments", True),
    "DaemonSet": Kind("apps/v1", "DaemonSet", "daemonsets", True),
    "StatefulSet": Kind("apps/v1", "StatefulSet", "statefulsets", True),
    "ReplicaSet": Kind("apps/v1", "ReplicaSet", "replicasets", True),
    "PodDisruptionBudget": Kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True),
    "PriorityClass": Kind("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", False),
    "Lease": Kind("coordination.k8s.io/v1", "Lease", "leases", True),
    "Service": Kind("v1", "Service", "services", True),
    "InferencePool": Kind("inference.networking.k8s.io/v1", "InferencePool", "inferencepools", True),
    "HTTPRoute": Kind("gateway.networking.k8s.io/v1", "HTTPRoute", "httproutes", True),
}


def kind_for(name):
    return KINDS[name]


def label_selector(labels):
    return ",".join("%s=%s" % (k, val) for k, val in sorted(labels.items()))


def retry_delay(error, attempt):
    """Seconds to wait before retrying a request that got ``error`` (an ``ApiError``) on its
    ``attempt``-th try, or None when the answer is not transient. Pure."""
    status = error.status
    text = (error.api_message or "")
    transient = (
        status in (429, 502, 503, 504)
        or (status == 500 and ("failed calling webhook" in text or "etcdserver" in text
                               or "timeout" in text.lower()))
        or (status is None and error.reason is None)  # connection-level error, read timeout
    )
    if not transient:
        return None
    delay = min(4.0, 0.5 * (2 ** attempt))
    retry_after = ((error.body or {}).get("details") or {}).get("retryAfterSeconds") if isinstance(error.body, dict) else None
    if isinstance(retry_after, int) and retry_after > 0:
        delay = min(5.0, float(retry_after))
    return delay


# what the kubernetes client's transport says when no HTTP answer came: the connection was
# refused or could not be made (the request was never sent), or it was reset (it may have been)
_NOT_CONNECTED = ("Connection refused", "ConnectionRefused", "NewConnectionError", "Failed to establish a new connection")
_CONNECTION_LOST = ("Connection reset", "ConnectionReset", "RemoteDisconnected", "Connection aborted")


def _no_answer_mentions(error, hints):
    text = error.api_message or ""
    return error.status is None and error.reason is None and any(hint in text for hint in hints)


def unreachable(error):
    """Whether ``error`` says that the API server could not be reached at all (no HTTP answer:
    connection refused or reset), as opposed to an answer or a read timeout. Pure."""
    return _no_answer_mentions(error, _NOT_CONNECTED + _CONNECTION_LOST)


def never_sent(error):
    """Whether the request of ``error`` never reached the API server (the connection was refused
    or could not be made): sending it again is safe whatever it is, a create or an eviction too. Pure."""
    return _no_answer_mentions(error, _NOT_CONNECTED)


def retry_is_safe(method, content_type=None, body=None):
    """Whether sending a request again cannot do more than sending it once (the first may have
    been applied before its answer was lost). Pure."""
    if method == "GET":
        return True
    if method == "DELETE":
        return True   # again: 404, which the client reads as "already gone"
    if method == "POST":
        return False  # a second create, a second eviction
    ctype = content_type or ""
    if ctype.startswith(("application/apply-patch", "application/merge-patch")):
        return True   # declarative: the same result however often it is sent
    if isinstance(body, dict) and ((body.get("metadata") or {}).get("resourceVersion")):
        return True   # a precondition: a second send that finds the first applied gets a 409
    if "json-patch" in ctype and isinstance(body, list):
        return any(op.get("op") == "test" for op in body if isinstance(op, dict))
    return False


class Client(object):
    """Thin JSON client over ``kubernetes.client.ApiClient`` using REST paths."""

    def __init__(self, api_client, dynamic=None, request_timeout=DEFAULT_REQUEST_TIMEOUT):
        self.api_client = api_client
        self.dynamic = dynamic
        self.request_timeout = request_timeout
        self.warnings = []
        self.calls = 0
        # node_drain sends evictions from a thread pool: count under a lock
        self._calls_lock = threading.Lock()

    # -- low level -------------------------------------------------------
    def request(self, method, path, query=None, body=None, content_type=None, action=None, obj=None,
                retries=None):
        """One API call with bounded retries of transient failures.

        Retried (``RETRIES`` times, with backoff; ``Retry-After`` honoured up to 5s): 429, 502, 503,
        504, a 500 caused by a webhook call, etcd or a timeout, and connection errors - for reads,
        and for writes whose repetition cannot do more than the first (``retry_is_safe``): a
        server-side apply, a merge patch, a patch or update with a resourceVersion precondition,
        a delete. Never a POST (a create would be made twice; a 429 of an eviction means a
        PodDisruptionBudget said no) nor a JSON patch without a ``test`` operation.
        An API server that cannot be reached at all (connection refused or reset: restarted, a
        control plane upgrade) is retried for up to ``UNREACHABLE_SECONDS`` instead, backoff at
        most 4 s; the error then says how long it was tried. A refused connection means the
        request was never sent, so then every request is retried, creates and evictions too.
        """
        safe = retry_is_safe(method, content_type, body)
        if retries is None:
            retries = self.RETRIES if safe else 0
        attempt = 0
        unreachable_since = None
        while True:
            try:
                return self._request_once(method, path, query, body, content_type, action, obj)
            except ApiError as e:
                if e.permission is not None and method != "GET" and (query or {}).get("dryRun"):
                    return self._preview_forbidden_dry_run(method, path, query, body, content_type, e)
                delay = retry_delay(e, attempt)
                if delay is None:
                    raise
                if unreachable(e) and (safe or never_sent(e)):
                    unreachable_since = unreachable_since or time.monotonic()
                    waited = time.monotonic() - unreachable_since
                    if waited + delay > self.UNREACHABLE_SECONDS:
                        e.msg += " (the API server could not be reached; retried for %.0fs)" % waited
                        raise
                elif attempt >= retries:
                    raise
            attempt += 1
            time.sleep(delay)

    RETRIES = 3
    UNREACHABLE_SECONDS = 30

    def _preview_forbidden_dry_run(self, method, path, query, body, content_type, error):
        """A dry run (check mode) the identity may not send: the write's result computed locally
        from the live object (which it may read), with a warning (see ``core.access``)."""
        live = None
        if method in ("PATCH", "PUT"):
            try:
                live = self.request("GET", path, action="get (for a check mode preview)")
            except ApiError as e:
                if e.status != 404:   # a server-side apply that would create the object
                    raise
        if method == "PATCH" and live is None and "apply-patch" not in (content_type or ""):
            raise error   # a patch of nothing: the real write would fail too (404), say why it was not tried
        try:
            out = access.preview(method, live, body, content_type, (query or {}).get("fieldManager") or FIELD_MANAGER)
        except (ValueError, KeyError, IndexError, TypeError):
            raise error
        note = ("check mode: this identity may not %s, so the API server's dry run was skipped and the change shown "
                "was computed locally (admission webhooks and server defaults did not see it)"
                % access.describe_permission(error.permission))
        if note not in self.warnings:
            self.warnings.append(note)
        return out

    def _request_once(self, method, path, query, body, content_type, action, obj):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        url = path
        if query:
            pairs = []
            for k, v in query.items():
                if v is None:
                    continue
                if isinstance(v, bool):
                    v = "true" if v else "false"
                pairs.append((k, v))
            if pairs:
                url += "?" + urlencode(pairs)
        with self._calls_lock:
            self.calls += 1
        try:
            resp = self.api_client.call_api(
                url, method, header_params=headers, body=body,
                auth_settings=["BearerToken"], _preload_content=False,
                _request_timeout=self.request_timeout,
            )
        except ApiException as e:
            self._note_warnings(getattr(e, "headers", None))
            error = ApiError.from_exception(e, action or "%s %s" % (method, path), obj=obj)
            if error.status == 403 and access.is_rbac_denial(error.api_message):
                p = access.permission_of(method, path, query)
                error.with_permission(p, access.describe_permission(p))
            raise error
        except Exception as e:  # connection errors and the like
            if isinstance(e, GpuaasError):
                raise
            raise ApiError(action or "%s %s" % (method, path), message="%s: %s" % (type(e).__name__, e), obj=obj)
        data = resp[0] if isinstance(resp, tuple) else resp
        self._note_warnings(getattr(data, "headers", None) or (resp[2] if isinstance(resp, tuple) and len(resp) > 2 else None))
        raw = data.data if hasattr(data, "data") else data
        if not raw:
            return {}
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        try:
            return json.loads(raw)
        except ValueError:
            return {"raw": raw}

    def _note_warnings(self, headers):
        if not headers:
            return
        try:
            values = headers.getlist("Warning") if hasattr(headers, "getlist") else [headers.get("Warning")]
        except Exception:  # pragma: no cover
            values = []
        for v in values:
            if not v:
                continue
            # format: 299 - "message"
            text = v
            if v.startswith("299 - "):
                text = v[6:].strip().strip('"')
            if text not in self.warnings:
                self.warnings.append(text)

    # -- discovery -------------------------------------------------------
    def _discovery(self, path):
        cache = self.__dict__.setdefault("_discovery_cache", {})
        if path not in cache:
            try:
                cache[path] = self.request("GET", path, action="discovery")
            except ApiError as e:
                if e.status != 404:
                    raise
                cache[path] = None
        return cache[path]

    def resolve_kind(self, api_version, kind):
        for known in KINDS.values():
            if known.api_version == api_version and known.kind == kind:
                return known
        doc = self._discovery("/api/%s" % api_version if "/" not in api_version else "/apis/%s" % api_version)
        for res in (doc or {}).get("resources") or []:
            if res.get("kind") == kind and "/" not in (res.get("name") or "/"):
                return Kind(api_version, kind, res["name"], bool(res.get("namespaced")))
        return None

    def resolve_group_kind(self, group_kind):
        kind, _dot, group = group_kind.partition(".")
        if not group:
            return self.resolve_kind("v1", kind)
        for known in KINDS.values():
            if known.group == group and known.kind == kind:
                return known
        doc = self._discovery("/apis/%s" % group)
        version = ((doc or {}).get("preferredVersion") or {}).get("groupVersion")
        return self.resolve_kind(version, kind) if version else None

    # -- verbs -----------------------------------------------------------
    def get(self, kind, name, namespace=None, subresource=None):
        try:
            return self.request("GET", kind.path(namespace, name, subresource), action="get",
                                obj=kind.ref(name, namespace))
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def list(self, kind, namespace=None, label_selector=None, field_selector=None):
        query = {"labelSelector": label_selector, "fieldSelector": field_selector}
        items = []
        cont = None
        while True:
            if cont:
                query["continue"] = cont
            doc = self.request("GET", kind.path(namespace), query=query, action="list %s" % kind.plural)
            for item in doc.get("items") or []:
                item.setdefault("apiVersion", kind.api_version)
                item.setdefault("kind", kind.kind)
                items.append(item)
            cont = (doc.get("metadata") or {}).get("continue")
            if not cont:
                return items

    def apply(self, kind, obj, dry_run=False, force=True, field_manager=FIELD_MANAGER, subresource=None):
        meta = obj.get("metadata") or {}
        body = dict(obj)
        body.setdefault("apiVersion", kind.api_version)
        body.setdefault("kind", kind.kind)
        query = {"fieldManager": field_manager, "force": bool(force)}
        if dry_run:
            query["dryRun"] = "All"
        return self.request(
            "PATCH", kind.path(meta.get("namespace"), meta.get("name"), subresource), query=query,
            body=body, content_type="application/apply-patch+yaml",
            action="server-side apply%s" % (" (dry run)" if dry_run else ""), obj=kind.ref(obj),
        )

    def create(self, kind, obj, namespace=None, dry_run=False, subresource=None, name=None, field_manager=None):
        meta = obj.get("metadata") or {}
        namespace = namespace or meta.get("namespace")
        path = kind.path(namespace, name, subresource) if subresource else kind.path(namespace)
        query = {}
        if field_manager:
            query["fieldManager"] = field_manager
        if dry_run:
            query["dryRun"] = "All"
        return self.request("POST", path, query=query or None, body=obj,
                            action="create%s" % (" (dry run)" if dry_run else ""),
                            obj=kind.ref(name or meta.get("name") or meta.get("generateName"), namespace))

    def patch(self, kind, name, body, namespace=None, patch_type="merge", dry_run=False,
              subresource=None, field_manager=FIELD_MANAGER):
        ctype = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
            "strategic": "application/strategic-merge-patch+json",
        }[patch_type]
        query = {"fieldManager": field_manager}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("PATCH", kind.path(namespace, name, subresource), query=query, body=body,
                            content_type=ctype, action="patch%s" % (" (dry run)" if dry_run else ""),
                            obj=kind.ref(name, namespace))

    def delete(self, kind, name, namespace=None, dry_run=False, propagation_policy="Background",
               grace_period_seconds=None):
        body = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        query = None
        if dry_run:
            body["dryRun"] = ["All"]
            query = {"dryRun": "All"}
        try:
            return self.request("DELETE", kind.path(namespace, name), query=query, body=body,
                                action="delete%s" % (" (dry run)" if dry_run else ""),
                                obj=kind.ref(name, namespace))
        except ApiError as e:
            if e.status == 404:
                return None
            raise


def get_client(params=None, request_timeout=DEFAULT_REQUEST_TIMEOUT):
    """Build a ``Client`` from module params with kubernetes.core's authentication."""
    if not HAS_K8S:
        raise GpuaasError("the kubernetes Python library is required", exception=K8S_IMP_ERR)
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
    params = params or {}
    auth = dict((k, params.get(k)) for k in AUTH_ARG_SPEC if params.get(k) is not None)
    try:
        k8s = get_api_client(**auth)
    except CoreException as e:
        raise GpuaasError("could not create the Kubernetes API client: %s" % e)
    except Exception as e:  # kubeconfig errors
        raise GpuaasError("could not create the Kubernetes API client: %s: %s" % (type(e).__name__, e))
    dynamic = k8s.client
    return Client(dynamic.client, dynamic=dynamic, request_timeout=request_timeout)
