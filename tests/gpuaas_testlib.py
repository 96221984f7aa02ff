"""Small helpers shared by the tests (importable as `gpuaas_testlib`)."""
import json
import os
import re
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULES_DIR = REPO / "plugins" / "modules"
# every module of the collection (tests that must cover them all check against this)
MODULES = sorted(p.stem for p in MODULES_DIR.glob("*.py") if not p.stem.startswith("_"))


def first_example(name):
    """The arguments of module ``name``'s first documented EXAMPLE, a plain value in place of each
    Jinja expression (what Ansible would have templated)."""
    import yaml
    src = (MODULES_DIR / (name + ".py")).read_text()
    text = re.search(r'EXAMPLES\s*=\s*r?"""(.*?)"""', src, re.S).group(1)
    for task in yaml.safe_load(text):
        args = task.get("gpuaas.orchestration.%s" % name)
        if isinstance(args, dict):
            return json.loads(re.sub(r"\{\{.*?\}\}", "t", json.dumps(args)))
    raise AssertionError("%s: no example" % name)


def value_paths(value, prefix=()):
    """Every path into ``value``: dict keys and list indexes, to leaves and containers alike."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += value_paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += value_paths(v, prefix + (i,))
    return out


def with_value(value, path, new):
    """A copy of ``value`` with ``new`` at ``path`` (``new`` itself for the empty path)."""
    if not path:
        return new
    out = json.loads(json.dumps(value))
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return out


def wait_until(what, fn, timeout=60, interval=0.5):
    """Poll fn() until it returns something truthy; fail saying what was awaited and last seen."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")


class NotYet:
    """A falsy answer for wait_until that says what was seen, so a timeout explains itself."""

    def __init__(self, seen):
        self.seen = seen

    def __bool__(self):
        return False

    def __repr__(self):
        return self.seen


def has_condition(obj, ctype):
    """True when a status condition of that type is True."""
    return any(c["type"] == ctype and c["status"] == "True"
               for c in ((obj or {}).get("status", {}).get("conditions") or []))


WRITE_VERBS = ("POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION")


def api_request_counts(api_client):
    """The API server's own ``apiserver_request_total`` from ``/metrics``:
    ``{(verb, group, resource, subresource, dry_run): count}`` summed over codes and scopes."""
    import re
    resp = api_client.call_api("/metrics", "GET", auth_settings=["BearerToken"], _preload_content=False,
                               _return_http_data_only=True)
    text = resp.data.decode("utf-8")
    out = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, value = line[len("apiserver_request_total{"):].rsplit("} ", 1)
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        key = (labels.get("verb"), labels.get("group"), labels.get("resource"), labels.get("subresource"),
               labels.get("dry_run"))
        out[key] = out.get(key, 0) + float(value)
    return out


def write_requests(api_client, resources, verbs=None, dry_runs=True):
    """Write requests (real and dry run; ``dry_runs=False``: real ones only) counted so far by the
    API server to the main resource (not subresources such as status, which controllers write) of
    each of ``resources`` (plural names such as ``clusterqueues``): ``{resource: count}``."""
    counts = api_request_counts(api_client)
    out = dict((r, 0) for r in resources)
    for (verb, dummy_group, resource, subresource, dry_run), n in counts.items():
        if resource in out and verb in (verbs or WRITE_VERBS) and not subresource and (dry_runs or not dry_run):
            out[resource] += int(n)
    return out


# apiserver_request_total's verbs as the audit log names them (a server-side apply is a patch)
AUDIT_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "APPLY": "patch", "DELETE": "delete",
               "DELETECOLLECTION": "deletecollection"}


class WriteCounter:
    """Write requests sent while an action runs, counted by the API server.

    The count is the API server's ``apiserver_request_total`` (``write_requests``). That counter
    has no namespace or name, and the integration tests run in parallel: a count above zero may
    be another test's write, or Kueue's and Karpenter's finalizers and annotations on another
    test's new objects. The API server's audit log names the object of every write to the counted
    resources (tests/cluster/cluster.py AUDITED_WRITES), so with ``mine`` (a string that the name
    or the namespace of every object of the test contains) the writes the audit log shows were to
    other objects are taken off the count. What is left is never less than the writes the audit
    log shows to the test's own objects, and never more than the counter's."""

    flush_timeout = 3   # seconds to wait for the audit log to hold what the counter saw

    def __init__(self, api_client, audit_log=None):
        self.api_client = api_client
        self.audit_log = Path(audit_log) if audit_log else None

    def during(self, resources, action, mine=None, attempts=4, dry_runs=True, verbs=None):
        """Run ``action()`` up to ``attempts`` times, until one run counts no write, and return
        ``(result, {resource: writes})`` of the run with the fewest. ``dry_runs=False``: real
        writes only (what check mode must not send; its server-side dry runs are allowed).
        ``verbs``: only these (for example the server-side applies and deletes of the engine)."""
        best = None
        for dummy in range(attempts):
            offset = self._audit_size()
            before = write_requests(self.api_client, resources, verbs, dry_runs)
            result = action()
            after = write_requests(self.api_client, resources, verbs, dry_runs)
            writes = dict((r, after[r] - before[r]) for r in resources)
            if sum(writes.values()) and mine and offset is not None:
                writes = self._without_others(writes, offset, mine, verbs, dry_runs)
            if best is None or sum(writes.values()) < sum(best[1].values()):
                best = (result, writes)
            if not sum(writes.values()):
                break
        return best

    def _audit_size(self):
        try:
            return self.audit_log.stat().st_size if self.audit_log else None
        except OSError:
            return None

    def _without_others(self, counted, offset, mine, verbs, dry_runs):
        wanted = set(AUDIT_VERBS[v] for v in (verbs or WRITE_VERBS))
        # the audit event of a request is written as its response goes out: wait (briefly) until
        # the log holds at least as many writes as the counter saw
        deadline = time.time() + self.flush_timeout
        while True:
            own, others, seen = self._audited_writes(offset, counted, mine, wanted, dry_runs)
            if seen >= sum(counted.values()) or time.time() > deadline:
                break
            time.sleep(0.1)
        return dict((r, max(own[r], n - others[r])) for r, n in counted.items())

    def _audited_writes(self, offset, resources, mine, verbs, dry_runs):
        own, others, seen = dict((r, 0) for r in resources), dict((r, 0) for r in resources), 0
        try:
            with open(self.audit_log) as f:
                if os.fstat(f.fileno()).st_size >= offset:
                    f.seek(offset)   # (a smaller file was rotated: read the new one whole)
                lines = f.read().splitlines()
        except OSError:
            return own, others, seen
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue   # a line still being written
            ref = event.get("objectRef") or {}
            resource = ref.get("resource")
            if resource not in own or ref.get("subresource") or event.get("verb") not in verbs:
                continue
            if not dry_runs and "dryRun=" in event.get("requestURI", ""):
                continue
            seen += 1
            if mine in (ref.get("name") or "") or mine in (ref.get("namespace") or ""):
                own[resource] += 1
            elif ref.get("name") or ref.get("namespace"):
                others[resource] += 1   # (a namespace's deletecollections, when it is deleted, name none)
            # (a cluster-wide write the log names no object for could be the test's own: it stays counted)
        return own, others, seen


def items_of(path):
    """The objects of a file of rbac/ (a List, as kubectl apply -f takes it)."""
    import yaml
    out = []
    for doc in yaml.safe_load_all(Path(path).read_text()):
        if doc:
            out += doc["items"] if doc.get("kind") == "List" else [doc]
    return out


def _apply(dyn, docs, field_manager):
    for doc in docs:
        res = dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        res.server_side_apply(body=doc, name=doc["metadata"]["name"], namespace=doc["metadata"].get("namespace"),
                              field_manager=field_manager, force_conflicts=True)


def service_account_token(core_v1, sa, namespace="gpuaas-system", seconds=3600):
    """A short-lived token of a ServiceAccount (TokenRequest), as a token kubeconfig or AWX's bearer
    token credential holds it."""
    from kubernetes import client
    req = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds))
    return core_v1.create_namespaced_service_account_token(sa, namespace, req).status.token


def rbac_tokens(dyn, core_v1):
    """rbac/ applied as administrator (the ClusterRoles, the ServiceAccounts), the operator role
    aggregated; ``{"operator": token, "readonly": token}``."""
    from kubernetes import client
    roles = items_of(REPO / "rbac" / "clusterroles.yaml")
    _apply(dyn, roles, "gpuaas-tests")
    _apply(dyn, items_of(REPO / "rbac" / "serviceaccounts.yaml"), "gpuaas-tests")
    rbac_api = client.RbacAuthorizationV1Api(core_v1.api_client)
    # the aggregation controller fills the operator role in
    parts = [d for d in roles
             if "rbac.gpuaas.io/aggregate-to-operator" in (d["metadata"].get("labels") or {})]
    want = sum(len(d["rules"]) for d in parts)
    wait_until("the operator ClusterRole aggregated (%d rules)" % want,
               lambda: len(rbac_api.read_cluster_role("gpuaas-orchestration-operator").rules or []) >= want, 60)
    return {"operator": service_account_token(core_v1, "gpuaas-operator"),
            "readonly": service_account_token(core_v1, "gpuaas-readonly")}
