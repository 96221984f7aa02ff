"""Transient API answers through a fault proxy (faultproxy.py) in front of the live API server.

Reads are retried with backoff, bounded, Retry-After honoured; writes only where a second send
cannot do more than the first (server-side apply: yes; a create: no). Each test counts, at the
proxy, the requests the module sent.
"""
import json
import time
import uuid
from pathlib import Path

import pytest

from faultproxy import FaultProxy

WEBHOOK_500 = ('Internal error occurred: failed calling webhook "mcohort.kb.io": failed to call webhook: Post '
               '"https://127.0.0.1:9443/mutate": dial tcp 127.0.0.1:9443: connect: connection refused')


@pytest.fixture
def proxy(cluster, tmp_path):
    p = FaultProxy(Path(cluster.kubeconfig).parent)
    p.path = p.kubeconfig(tmp_path / "proxy.kubeconfig")
    yield p
    p.close()


def module(ansible, proxy, name, args):
    """``name`` through the proxy: (result, seconds it took, Ansible's start-up included)."""
    t0 = time.monotonic()
    result = ansible.module(name, args, fail_ok=True, env={"K8S_AUTH_KUBECONFIG": proxy.path, "KUBECONFIG": proxy.path})
    return result, time.monotonic() - t0


def test_reads_retry_429_with_retry_after_503_and_a_dropped_connection(proxy, ansible):
    name = "http-" + uuid.uuid4().hex[:6]
    ansible.module("kueue_cohort", {"name": name})
    path = r"/cohorts/%s$" % name
    proxy.fail("GET", path, status=429, times=1, retry_after=2)
    proxy.fail("GET", path, status=503, times=1)
    proxy.fail("GET", path, drop=True, times=1)
    r, took = module(ansible, proxy, "kueue_cohort", {"name": name})
    assert not r.get("failed"), r.get("msg")
    assert r["operation"] == "unchanged"
    answers = [e[2] for e in proxy.seen("GET", path)]
    assert answers == ["429", "503", "dropped", "proxied"], answers
    # the 429's Retry-After (2 s) was waited for, then 1 s of backoff after the 503 (the dropped
    # connection is sent again at once by urllib3, the kubernetes client's transport)
    assert took >= 2 + 1, took
    print("reads: 429 (Retry-After 2), 503, a dropped connection, then the answer: %s in %.1fs" % (answers, took))


def test_reads_give_up_after_bounded_retries_saying_the_last_answer(ansible, proxy):
    name = "http-" + uuid.uuid4().hex[:6]
    path = r"/cohorts/%s$" % name
    proxy.fail("GET", path, status=503, times=100)
    r, took = module(ansible, proxy, "kueue_cohort", {"name": name})
    assert r.get("failed") and "503" in r["msg"], r.get("msg")
    assert len(proxy.seen("GET", path)) == 4   # the first try and 3 retries
    assert took < 30, took
    assert proxy.seen("PATCH", path) == []     # nothing written after a failed read


def test_a_server_side_apply_is_retried_after_a_503_and_a_webhook_500(ansible, proxy, dyn):
    name = "http-" + uuid.uuid4().hex[:6]
    path = r"/cohorts/%s\?" % name
    proxy.fail("PATCH", path, status=503, times=1)
    proxy.fail("PATCH", path, status=500, times=1, message=WEBHOOK_500)
    try:
        r, _took = module(ansible, proxy, "kueue_cohort", {"name": name})
        assert not r.get("failed"), r.get("msg")
        assert r["operation"] == "created"
        assert [e[2] for e in proxy.seen("PATCH", path)] == ["503", "500", "proxied"]
        assert dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="Cohort").get(name=name)
    finally:
        try:
            dyn.resources.get(api_version="kueue.x-k8s.io/v1beta2", kind="Cohort").delete(name=name)
        except Exception:  # noqa: BLE001
            pass


def test_a_create_is_not_retried_after_a_503(ansible, proxy, dyn):
    name = "http-" + uuid.uuid4().hex[:6]
    proxy.fail("POST", r"/leases(\?|$)", status=503, times=1)
    r, _took = module(ansible, proxy, "maintenance_window", {"name": name, "action": "begin", "holder": "http-test",
                                                             "nodes": ["cpu-0"]})
    assert r.get("failed") and "503" in r["msg"], r.get("msg")
    assert "Traceback" not in json.dumps(r)
    # one POST, not retried (a second create would be a second object, or a 409 of our own)
    assert [e[2] for e in proxy.seen("POST", r"/leases(\?|$)")] == ["503"]
    leases = dyn.resources.get(api_version="coordination.k8s.io/v1", kind="Lease").get(namespace="kube-system").items
    assert not [item for item in leases if name in item.metadata.name]
