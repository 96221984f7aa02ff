"""How the tests' write counter tells their own writes from those of the tests beside them: the
API server's count, less the writes its audit log shows were to other objects."""
import json

import pytest

from gpuaas_testlib import WriteCounter


def event(verb, resource, name, namespace=None, subresource=None, dry_run=False):
    ref = {"resource": resource, "name": name}
    if namespace:
        ref["namespace"] = namespace
    if subresource:
        ref["subresource"] = subresource
    uri = "/apis/x/%s/%s%s" % (resource, name, "?dryRun=All" if dry_run else "")
    return {"verb": verb, "objectRef": ref, "requestURI": uri}


@pytest.fixture
def counter(tmp_path):
    log = tmp_path / "audit.log"
    log.write_text(json.dumps(event("patch", "clusterqueues", "before-the-window")) + "\n")
    c = WriteCounter(api_client=None, audit_log=log)
    c.flush_timeout = 0
    return c


def attribute(counter, counted, events, verbs=None, dry_runs=True, mine="abc123"):
    offset = counter.audit_log.stat().st_size
    with open(counter.audit_log, "a") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    return counter._without_others(counted, offset, mine, verbs, dry_runs)


def test_writes_to_other_objects_come_off_the_count(counter):
    writes = attribute(counter, {"clusterqueues": 2, "resourceflavors": 1}, [
        event("update", "clusterqueues", "other-q"),          # Kueue's finalizer on another test's queue
        event("delete", "clusterqueues", "other-q2"),
        event("patch", "resourceflavors", "other-f")])
    assert writes == {"clusterqueues": 0, "resourceflavors": 0}


def test_the_tests_own_writes_stay_counted(counter):
    writes = attribute(counter, {"clusterqueues": 2, "localqueues": 1}, [
        event("patch", "clusterqueues", "q-abc123"),
        event("update", "clusterqueues", "other-q"),
        event("patch", "localqueues", "lq", namespace="plan-abc123")])
    assert writes == {"clusterqueues": 1, "localqueues": 1}


def test_never_less_than_the_own_writes_the_log_shows(counter):
    # the log holds a write of another test that the counter did not see yet (it came after the
    # count was read): taking it off must not hide the test's own write
    writes = attribute(counter, {"clusterqueues": 1}, [
        event("patch", "clusterqueues", "q-abc123"), event("patch", "clusterqueues", "late-other")])
    assert writes == {"clusterqueues": 1}


def test_a_cluster_wide_write_naming_no_object_stays_counted(counter):
    writes = attribute(counter, {"nodeclaims": 1}, [event("create", "nodeclaims", "")])   # generateName
    assert writes == {"nodeclaims": 1}


def test_a_collection_deleted_in_another_namespace_comes_off(counter):
    # the namespace controller empties a deleted namespace of another test, kind by kind
    writes = attribute(counter, {"jobs": 1, "workloads": 1}, [
        event("deletecollection", "jobs", "", namespace="t-other"),
        event("deletecollection", "workloads", "", namespace="t-abc123")])
    assert writes == {"jobs": 0, "workloads": 1}


def test_status_writes_dry_runs_and_other_verbs_are_not_taken_off(counter):
    # they are not in the count either (subresources never; dry runs or verbs when left out of it):
    # taking them off would hide a write of the test's own
    writes = attribute(counter, {"clusterqueues": 1}, [
        event("update", "clusterqueues", "other-q", subresource="status"),
        event("patch", "clusterqueues", "other-q", dry_run=True),
        event("create", "clusterqueues", "other-q2")], verbs=("APPLY", "PATCH", "DELETE"), dry_runs=False)
    assert writes == {"clusterqueues": 1}


def test_without_an_audit_log_the_count_is_the_counters(tmp_path):
    counter = WriteCounter(api_client=None, audit_log=tmp_path / "missing.log")
    assert counter._audit_size() is None
