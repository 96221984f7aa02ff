"""Unit tests of the pure maintenance-window logic (plugins/module_utils/nodes/window.py)."""
import datetime

import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import ErrorList, ValidationError
from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes import window as W

UTC = datetime.timezone.utc


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def node(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def test_schedule_validation_names_field_and_value():
    with pytest.raises((ValidationError, ErrorList)) as e:
        W.check_schedule({"days": ["Sat", "Caturday"], "start": "25:00", "end": "04:00", "timezone": "Mars/Base"})
    text = str(e.value)
    assert "schedule.days[1]" in text and "Caturday" in text
    assert "schedule.start" in text and "25:00" in text
    assert "schedule.timezone" in text and "Mars/Base" in text


def test_window_past_midnight_belongs_to_its_start_day():
    s = W.check_schedule({"days": ["Sat"], "start": "22:00", "end": "04:00", "timezone": "UTC"})
    # 2026-12-05 is a Saturday
    assert W.schedule_state(s, at("2026-12-05T23:00:00"))["open"]
    assert W.schedule_state(s, at("2026-12-06T03:59:00"))["open"]  # Sunday morning, Saturday's window
    closed = W.schedule_state(s, at("2026-12-06T04:00:00"))
    assert not closed["open"] and closed["opens_at"].startswith("2026-12-12T22:00")
    assert not W.schedule_state(s, at("2026-12-05T21:59:00"))["open"]
    assert W.schedule_state(s, at("2026-12-05T23:00:00"))["closes_at"].startswith("2026-12-06T04:00")


def test_window_in_a_time_zone():
    s = W.check_schedule({"start": "02:00", "end": "05:00", "timezone": "Europe/Berlin"})
    assert W.schedule_state(s, at("2026-12-02T01:30:00"))["open"]  # 02:30 in Berlin (UTC+1)
    assert not W.schedule_state(s, at("2026-12-02T04:30:00"))["open"]  # 05:30 in Berlin


def test_batches_count_percentage_and_groups():
    names = ["n%d" % i for i in range(5)]
    assert [b["nodes"] for b in W.make_batches(names, "2")] == [["n0", "n1"], ["n2", "n3"], ["n4"]]
    assert [len(b["nodes"]) for b in W.make_batches(names, "40%")] == [2, 2, 1]
    assert [len(b["nodes"]) for b in W.make_batches(names, "10%")] == [1] * 5  # at least one
    nodes = [node("a1", pool="a"), node("b1", pool="b"), node("a2", pool="a"), node("b2", pool="b"), node("a3", pool="a")]
    batches = W.make_batches(nodes, "2", group_by="pool")
    assert [(b["group"], b["nodes"]) for b in batches] == [("a", ["a1", "a2"]), ("a", ["a3"]), ("b", ["b1", "b2"])]
    for bad in ("0", "-1", "150%", "two", ""):
        with pytest.raises((ValidationError, ErrorList)):
            W.check_batch_size(bad)


def test_lock_decisions():
    now = at("2026-12-02T10:00:00")
    live = {"spec": {"holderIdentity": "job-1", "leaseDurationSeconds": 600,
                     "acquireTime": "2026-12-02T09:55:00.000000Z", "renewTime": "2026-12-02T09:58:00.000000Z"}}
    assert W.lock_decision(None, "job-2", now)[0] == "create"
    assert W.lock_decision(live, "job-1", now)[0] == "renew"
    verdict, detail = W.lock_decision(live, "job-2", now)
    assert verdict == "refuse" and detail["holder"] == "job-1" and detail["expires"].startswith("2026-12-02T10:08:00")
    assert W.lock_decision(live, "job-2", at("2026-12-02T10:08:01"))[0] == "take_over"
    spec = W.lease_spec("job-2", 300, now, live, take_over=True)
    assert spec["holderIdentity"] == "job-2" and spec["leaseTransitions"] == 1 and spec["leaseDurationSeconds"] == 300


def test_record_resume_and_report():
    now = at("2026-12-02T10:00:00")
    batches = W.make_batches(["n1", "n2", "n3"], "1")
    rec = W.new_record("w", "job-1", batches, now, {"n1": False, "n2": False, "n3": True}, {"pool": False},
                       {"cq": "None"}, settings={})
    W.record_event(rec, "started", now, batch=1)
    W.record_event(rec, "drained", now, batch=1, data={
        "evicted": [{"namespace": "a", "name": "p", "node": "n1"}],
        "requeued_workloads": [{"namespace": "a", "name": "wl", "pods": [{"node": "n1"}]}]})
    W.record_event(rec, "done", now + datetime.timedelta(seconds=30), batch=1)
    W.record_event(rec, "started", now, batch=2)
    W.record_event(rec, "failed", now, batch=2, message="driver upgrade failed on n2")
    W.finish_record(rec, "failed", now)
    assert [b["state"] for b in rec["batches"]] == ["done", "failed", "pending"]
    W.resume_record(rec, "job-2", now)
    assert [b["index"] for b in W.todo_batches(rec)] == [2, 3]
    assert W.done_nodes(rec) == ["n1"]
    c = W.counts(rec)
    assert c["pods_evicted"] == 1 and c["workloads_requeued"] == 1 and c["batches_done"] == 1
    assert rec["batches"][0]["node_results"]["n1"]["workloads_requeued"] == ["a/wl"]
    md = W.render_report_markdown(rec)
    assert "| n1 | 1 | done | 1 | a/wl |" in md
    assert len(rec["runs"]) == 2 and rec["runs"][1]["resumed"]
