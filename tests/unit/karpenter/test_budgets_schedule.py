"""Unit tests of cron schedules, budget windows and pause/resume of disruption budgets."""
import datetime
import json

import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter import budgets as b
from ansible_collections.gpuaas.orchestration.plugins.module_utils.karpenter import schedule as s

UTC = datetime.timezone.utc


@pytest.mark.parametrize("expr", ["0 9 * * 1-5", "*/15 * * * *", "@daily", "0 0 1 JAN *", "30 2 * * SUN",
                                  "0 0-23/2 * * *", "0 0 ? * MON-FRI", "5,10,15 * * * *"])
def test_cron_valid(expr):
    s.parse_cron(expr)
    assert s.cron_problem(expr) is None


@pytest.mark.parametrize("expr", ["", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
                                  "* * * 13 *", "* * * * 7", "*/0 * * * *", "5-1 * * * *", "@sometimes",
                                  "a b c d e", "TZ=UTC 0 9 * * *", None])
def test_cron_invalid(expr):
    with pytest.raises(ValueError):
        s.parse_cron(expr)
    assert s.cron_problem(expr).startswith("malformed cron schedule: ")


def test_budget_active_windows():
    budget = {"nodes": "0", "schedule": "0 9 * * 1-5", "duration": "8h"}
    monday_10 = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
    monday_18 = datetime.datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    sunday_10 = datetime.datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert s.budget_active(budget, monday_10)
    assert not s.budget_active(budget, monday_18)
    assert not s.budget_active(budget, sunday_10)
    assert s.budget_active({"nodes": "10%"}, monday_18)


def test_duration_seconds():
    assert s.duration_seconds("1h30m") == 5400
    assert s.duration_seconds("Never") is None
    assert s.duration_seconds("45s") == 45
    assert s.duration_seconds("8h0s") == 8 * 3600


def nodepool(budgets, annotations=None):
    return {"metadata": {"name": "p", "annotations": annotations or {}},
            "spec": {"disruption": {"budgets": budgets}}}


def test_pause_saves_and_second_pause_keeps_saved():
    before = [{"nodes": "20%"}, {"nodes": "2", "reasons": ["Drifted"]}]
    patch, info = b.pause_budgets(nodepool(before), [{"nodes": "0"}], reason="run 42")
    saved = json.loads(patch["metadata"]["annotations"][b.SAVED_BUDGETS_ANNOTATION])
    assert saved == before
    assert patch["metadata"]["annotations"][b.PAUSE_REASON_ANNOTATION] == "run 42"
    assert patch["spec"]["disruption"]["budgets"] == [{"nodes": "0"}]
    assert not info["already_paused"]
    paused = nodepool([{"nodes": "0"}], patch["metadata"]["annotations"])
    # second identical pause: nothing to do
    patch2, info2 = b.pause_budgets(paused, [{"nodes": "0"}])
    assert patch2 is None and info2["already_paused"] and info2["saved_budgets"] == before
    # second pause with other budgets: the budgets change, the saved ones stay
    patch3, _info = b.pause_budgets(paused, [{"nodes": "1"}])
    assert "metadata" not in patch3 and patch3["spec"]["disruption"]["budgets"] == [{"nodes": "1"}]
    # resume restores exactly and removes every pause annotation
    patch4, info4 = b.resume_budgets(paused)
    assert patch4["spec"]["disruption"]["budgets"] == before and info4["was_paused"]
    assert patch4["metadata"]["annotations"] == dict((k, None) for k in b.PAUSE_ANNOTATIONS)
    # resume when not paused: nothing to do
    assert b.resume_budgets(nodepool(before))[0] is None


def test_saved_budgets_annotation_must_be_a_list():
    pool = {"metadata": {"name": "gp", "annotations": {b.SAVED_BUDGETS_ANNOTATION: "{not json"}}}
    with pytest.raises(Exception) as exc:
        b.saved_budgets(pool)
    assert "gp" in str(exc.value) and b.SAVED_BUDGETS_ANNOTATION in str(exc.value)
    pool["metadata"]["annotations"][b.SAVED_BUDGETS_ANNOTATION] = '[{"nodes":"10%"}]'
    assert b.saved_budgets(pool) == [{"nodes": "10%"}]
