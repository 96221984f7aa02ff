"""Unit tests of the eviction scheduler of drain_runner._Evictor.

``attempt`` (the one method that talks to the API) is replaced by a scripted function, so these
tests exercise only the scheduling: the concurrency bound, one eviction in flight per
PodDisruptionBudget, 429 retries until the deadline, check mode sending each pod once.
"""
import threading
import time

from ansible_collections.gpuaas.orchestration.plugins.module_utils.nodes.drain_runner import DrainOptions, _Evictor


def pod(name, app, ns="ns"):
    return {"metadata": {"name": name, "namespace": ns, "uid": "uid-" + name, "labels": {"app": app}},
            "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}


def pdb(name, app, ns="ns"):
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"selector": {"matchLabels": {"app": app}}}}


class Scripted(_Evictor):
    def __init__(self, opts, pdbs, script, check_mode=False, latency=0.02):
        super().__init__(client=None, opts=opts, check_mode=check_mode, pdbs_by_ns={"ns": pdbs})
        self.script = script  # name -> list of outcomes, consumed in order; default "done"
        self.latency = latency
        self.in_flight = 0
        self.max_in_flight = 0
        self.per_budget = {}
        self.max_per_budget = {}
        self.calls = []
        self.mu = threading.Lock()

    def attempt(self, pod):
        p = pod
        name = p["metadata"]["name"]
        app = p["metadata"]["labels"]["app"]
        with self.mu:
            self.calls.append(name)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.per_budget[app] = self.per_budget.get(app, 0) + 1
            self.max_per_budget[app] = max(self.max_per_budget.get(app, 0), self.per_budget[app])
            outcomes = self.script.get(name) or ["done"]
            outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        time.sleep(self.latency)
        with self.mu:
            self.in_flight -= 1
            self.per_budget[app] -= 1
        if outcome == "blocked":
            return "blocked", "Cannot evict pod", ["pdb-" + app]
        if outcome == "error":
            return "error", "500 boom", []
        return outcome, None, []


def opts(**kw):
    base = dict(concurrency=4, eviction_timeout=5, eviction_retry_delay=0.05)
    base.update(kw)
    return DrainOptions(**base)


def test_concurrency_bound_and_all_done():
    pods = [pod("p%d" % i, "free%d" % i) for i in range(20)]
    ev = Scripted(opts(), [], {})
    done, blocked, errors = ev.run(pods)
    assert len(done) == 20 and not blocked and not errors
    assert ev.max_in_flight == 4


def test_one_in_flight_per_budget_but_budgets_in_parallel():
    pods = [pod("a%d" % i, "a") for i in range(6)] + [pod("b%d" % i, "b") for i in range(6)] \
        + [pod("f%d" % i, "free") for i in range(6)]
    ev = Scripted(opts(concurrency=8), [pdb("pdb-a", "a"), pdb("pdb-b", "b")], {})
    done, blocked, errors = ev.run(pods)
    assert len(done) == 18
    assert ev.max_per_budget["a"] == 1 and ev.max_per_budget["b"] == 1
    assert ev.max_per_budget["free"] > 1  # pods without budget are not serialized
    assert ev.max_in_flight > 2


def test_429_retried_until_it_passes():
    pods = [pod("a0", "a"), pod("a1", "a")]
    ev = Scripted(opts(), [pdb("pdb-a", "a")], {"a0": ["blocked", "blocked", "done"]})
    done, blocked, errors = ev.run(pods)
    assert sorted(p["metadata"]["name"] for p, _res in done) == ["a0", "a1"]
    assert ev.calls.count("a0") == 3 and not blocked


def test_429_until_deadline_reports_blocked_with_budget():
    pods = [pod("a0", "a"), pod("x", "free")]
    started = time.monotonic()
    ev = Scripted(opts(eviction_timeout=0.5), [pdb("pdb-a", "a")], {"a0": ["blocked"]})
    done, blocked, errors = ev.run(pods)
    took = time.monotonic() - started
    assert [p["metadata"]["name"] for p, _res in done] == ["x"]
    assert [(b["name"], b["budgets"]) for b in blocked] == [("a0", ["pdb-a"])]
    assert ev.calls.count("a0") >= 5  # retried every 0.05s for 0.5s
    assert 0.45 < took < 3


def test_check_mode_sends_each_pod_once():
    pods = [pod("a0", "a"), pod("a1", "a")]
    ev = Scripted(opts(), [pdb("pdb-a", "a")], {"a0": ["blocked"]}, check_mode=True)
    done, blocked, errors = ev.run(pods)
    assert sorted(ev.calls) == ["a0", "a1"]
    assert [b["name"] for b in blocked] == ["a0"]


def test_errors_are_not_retried():
    ev = Scripted(opts(), [], {"e": ["error"]})
    done, blocked, errors = ev.run([pod("e", "free"), pod("ok", "free2")])
    assert [e["name"] for e in errors] == ["e"] and ev.calls.count("e") == 1
    assert [p["metadata"]["name"] for p, _res in done] == ["ok"]


def test_budget_allowing_nine_gets_three_in_flight():
    pods = [pod("a%d" % i, "a") for i in range(9)]
    budget = pdb("pdb-a", "a")
    budget["status"] = {"disruptionsAllowed": 9}
    ev = Scripted(opts(concurrency=8), [budget], {}, latency=0.05)
    done, blocked, errors = ev.run(pods)
    assert len(done) == 9 and ev.max_per_budget["a"] == 3
    # a fixed per_budget overrides it
    ev = Scripted(opts(concurrency=8, per_budget=1), [budget], {}, latency=0.02)
    ev.run(pods)
    assert ev.max_per_budget["a"] == 1
