# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The edge of ``kueue_job``: submit a job to Kueue, gate, ungate, deactivate, activate or delete
it, and follow it to the state the user waits for.

Order of a submit: the options are checked (pure) -> the kind is looked up (definitions) -> the
job is read (one GET) -> the LocalQueue and the WorkloadPriorityClass it names must exist (GETs;
errors name them) -> one engine run (server-side apply, intent digest: an unchanged rerun writes
nothing; check mode is a server dry run) -> a change the API refuses as immutable is an error
naming the field, or with ``recreate`` a delete and a new submit (refused while the job runs,
unless ``force``) -> the bounded wait.

Gates, activation: a merge patch of the job's gate annotation (Kueue copies it to the Workload)
or of the Workload's ``spec.active``; each only when it changes something.

Public API
----------
``STATES``, ``run_job(module)``: the whole module body (``module`` is a ``GpuaasModule``).
``find_workload(client, job)``: the Workload of a job (LIST by Kueue's ``job-uid`` label), or None.
``follow(client, kind, job, target, timeout, cluster_queue=None, ...) -> dict``: the bounded wait;
    raises ``JobFailed``, ``JobPreempted`` or ``WaitTimeout`` (all ``GpuaasError``).
``job_position(client, wl, cluster_queue)``: the Workload's place in its ClusterQueue (visibility API).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import engine
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import KINDS
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ApiError,
    GpuaasError,
    PartialRun,
    SafetyError,
    ValidationError,
    WaitTimeout,
    raise_all,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import wait_for
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kinds import job as job_kind
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.common import (
    LOCAL_QUEUE,
    WORKLOAD,
    WORKLOAD_PRIORITY_CLASS,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.kueue.info import pending_workloads
from ansible_collections.gpuaas.orchestration.plugins.module_utils.workloads import state as st

STATES = ("present", "gated", "ungated", "deactivated", "activated", "absent")
POD = KINDS["Pod"]
JOB_UID_LABEL = "kueue.x-k8s.io/job-uid"


class JobFailed(GpuaasError):
    pass


class JobPreempted(GpuaasError):
    pass


def _ref(kind, name, namespace):
    return "%s %s/%s" % (kind.kind, namespace, name)


def _names(objs):
    return ", ".join(sorted((o.get("metadata") or {}).get("name") for o in objs)) or "none"


def check_references(client, namespace, obj, check_mode=False, warn=None):
    """The LocalQueue and the WorkloadPriorityClass a job names must exist: errors name them. In
    check mode they are warnings (an earlier task of the play, which did not run for real, may
    create them)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    errors = []
    queue = labels.get(st.QUEUE_LABEL)
    local_queue = None
    if queue:
        local_queue = client.get(LOCAL_QUEUE, queue, namespace)
        if local_queue is None:
            errors.append(ValidationError("queue", queue, "LocalQueue %s/%s does not exist (LocalQueues in %s: %s)" % (
                namespace, queue, namespace, _names(client.list(LOCAL_QUEUE, namespace=namespace)))))
    priority = labels.get(st.PRIORITY_LABEL)
    if priority and client.get(WORKLOAD_PRIORITY_CLASS, priority) is None:
        errors.append(ValidationError("priority_class", priority, "WorkloadPriorityClass %s does not exist (there are: %s)" % (
            priority, _names(client.list(WORKLOAD_PRIORITY_CLASS)))))
    if check_mode and errors and warn is not None:
        for e in errors:
            warn("%s (the real run fails unless an earlier task creates it)" % e)
    else:
        raise_all(errors)
    return ((local_queue or {}).get("spec") or {}).get("clusterQueue")


def find_workload(client, job):
    uid = (job.get("metadata") or {}).get("uid")
    if not uid:
        return None
    found = client.list(WORKLOAD, namespace=job["metadata"]["namespace"], label_selector="%s=%s" % (JOB_UID_LABEL, uid))
    return found[0] if found else None


def job_pods(client, kind, job):
    selector = st.pod_selector(kind.kind, job["metadata"]["name"])
    if selector is None:
        return None
    return client.list(POD, namespace=job["metadata"]["namespace"], label_selector=selector)


def job_position(client, wl, cluster_queue):
    if wl is None or not cluster_queue:
        return None
    items, dummy = pending_workloads(client, cq_name=cluster_queue)
    m = wl.get("metadata") or {}
    return st.positions_of(cluster_queue, items).get((m.get("namespace"), m.get("name")))


def _cluster_queue_of(client, job, wl):
    cq = st.admitted_cluster_queue(wl)
    if cq:
        return cq
    queue = ((job.get("metadata") or {}).get("labels") or {}).get(st.QUEUE_LABEL)
    lq = client.get(LOCAL_QUEUE, queue, job["metadata"]["namespace"]) if queue else None
    return ((lq or {}).get("spec") or {}).get("clusterQueue")


def _failure_text(ref, wl, job):
    done = st.finish(wl, job) or {}
    text = "%s failed: Kueue: %s%s" % (ref, done.get("reason"), ": %s" % done["message"] if done.get("message") else "")
    if done.get("job_reason"):
        text += "; %s: %s%s" % (job.get("kind"), done["job_reason"], ": %s" % done["job_message"] if done.get("job_message") else "")
    return text


def follow(client, kind, job, target, timeout, cluster_queue=None, clock=time.monotonic, sleep=time.sleep):
    """Wait (bounded) until the job reaches ``target`` (one of ``state.WAIT_STATES``).

    Every round reads the job (GET), its Workload (a LIST by label), its pods when the target is
    Running, and - while it waits for quota - its position (visibility API). A failed job raises
    ``JobFailed`` with Kueue's and the job's reason; a job preempted (and queued again) while not
    admitted raises ``JobPreempted``; the timeout says the phase and the position last seen."""
    name, namespace = job["metadata"]["name"], job["metadata"]["namespace"]
    ref = _ref(kind, name, namespace)
    start = clock()
    delay = 0.2
    while True:
        job = client.get(kind, name, namespace)
        if job is None:
            raise JobFailed("%s was deleted while waiting for %s" % (ref, target))
        wl = find_workload(client, job)
        pods = job_pods(client, kind, job) if target in ("Running", "Finished") else None
        current = st.phase(wl, job=job, pods=pods)
        position = None
        if current == "Failed":
            raise JobFailed(_failure_text(ref, wl, job), workload=st.summarize_workload(wl, pods=pods, job=job))
        if st.reached(target, current):
            return {"job": job, "workload": wl, "pods": pods, "phase": current,
                    "waited": round(clock() - start, 1)}
        if current in ("Pending", "QuotaReserved"):
            cluster_queue = cluster_queue or _cluster_queue_of(client, job, wl)
            position = job_position(client, wl, cluster_queue)
        gone = st.evicted(wl)
        if gone and gone["preempted"] and current == "Pending":
            where = st.position_text(position)
            raise JobPreempted("%s was preempted (%s) and is queued again%s" % (
                ref, gone["message"] or gone["reason"], ": %s" % where if where else ""),
                workload=st.summarize_workload(wl, position=position, pods=pods, job=job))
        elapsed = clock() - start
        if elapsed >= timeout:
            seen = st.describe(wl, job=job, pods=pods, position=position)
            raise WaitTimeout("%s to be %s" % (ref, target), timeout, "%s after %d s" % (seen, elapsed))
        sleep(max(0.0, min(delay, timeout - elapsed)))
        delay = min(5.0, delay * 2)


def _lift_gate(client, kind, live, gate, check_mode):
    """Remove ``gate`` from the job's gates (adding one to a job that exists Kueue refuses)."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(st.GATE_ANNOTATION)
    if gate not in st.gates_of(live):
        return live, False
    body = {"metadata": {"annotations": {st.GATE_ANNOTATION: st.without_gate(value, gate)}}}
    after = client.patch(kind, live["metadata"]["name"], body, namespace=live["metadata"]["namespace"], dry_run=check_mode)
    return after, True


def _workload_or_wait(client, job, timeout):
    """The job's Workload; Kueue makes it right after the job is created: wait for it, bounded."""
    return wait_for(lambda: find_workload(client, job), lambda wl: wl is not None, timeout,
                    "the Kueue Workload of %s/%s" % (job["metadata"]["namespace"], job["metadata"]["name"]),
                    interval=0.5, describe=lambda wl: "no Workload owned by the job (does it name a LocalQueue?)")


def _set_active(client, job, active, check_mode, timeout):
    wl = _workload_or_wait(client, job, min(timeout, 30))
    if ((wl.get("spec") or {}).get("active", True) is not False) == active:
        return wl, False
    after = client.patch(WORKLOAD, wl["metadata"]["name"], {"spec": {"active": active}},
                         namespace=wl["metadata"]["namespace"], dry_run=check_mode)
    return after, True


def _immutable_fields(error):
    """The fields an API error refuses to change as immutable, or None when it is another error."""
    if not isinstance(error, ApiError) or error.status != 422:
        return None
    text = error.api_message or ""
    fields = [c.get("field") for c in error.causes() if "immutable" in (c.get("message") or "")]
    if fields or "immutable" in text:
        return [f for f in fields if f] or ["(see the API's answer)"]
    return None


def _running(client, kind, live):
    wl = find_workload(client, live)
    pods = job_pods(client, kind, live)
    current = st.phase(wl, job=live, pods=pods)
    if current in ("QuotaReserved", "Admitted", "Running"):
        return current, len(st.running_pods(pods or []))
    return None, 0


def _submit(client, module, kind, obj, live, description):
    p = module.params
    item = description.item(dict(p, state="present", wait=False), obj)
    try:
        return engine.run(client, [item], check_mode=module.check_mode, force_conflicts=p["force_conflicts"],
                          tolerate_missing_namespace=True), False
    except (ApiError, PartialRun) as e:
        cause = e.cause if isinstance(e, PartialRun) else e
        fields = _immutable_fields(cause)
        if fields is None or live is None:
            raise
        ref = _ref(kind, obj["metadata"]["name"], obj["metadata"]["namespace"])
        if not p["recreate"]:
            raise ValidationError(fields[0], None, "%s: the change is to an immutable part of the submitted job (%s); "
                                  "the API said: %s. Set recreate: true to delete the job and submit it again" % (
                                      ref, ", ".join(fields), cause.api_message))
    current, running = _running(client, kind, live)
    if current and not p["force"]:
        raise SafetyError("%s is %s (%d pods running): recreating it to change %s stops it" % (
            ref, current, running, ", ".join(fields)), affected=[ref])
    client.delete(kind, obj["metadata"]["name"], obj["metadata"]["namespace"], dry_run=module.check_mode,
                  propagation_policy="Foreground")
    if module.check_mode:
        return {"changed": True, "results": [{"ref": ref, "kind": kind.kind, "name": obj["metadata"]["name"],
                                              "namespace": obj["metadata"]["namespace"], "action": "updated",
                                              "reason": "recreated: %s immutable" % ", ".join(fields),
                                              "object": obj}],
                "diff": [{"before": engine.clean_for_diff(live), "after": engine.clean_for_diff(obj)}],
                "summary": {"updated": 1}, "warnings": []}, True
    _wait_gone(client, kind, obj["metadata"]["name"], obj["metadata"]["namespace"], p["wait_timeout"])
    result = engine.run(client, [description.item(dict(p, state="present", wait=False), obj)],
                        check_mode=False, force_conflicts=p["force_conflicts"])
    result["results"][0]["reason"] = "recreated: %s immutable" % ", ".join(fields)
    return result, True


def _still_there(obj):
    meta = (obj or {}).get("metadata") or {}
    return "still there (deletionTimestamp=%s, finalizers=%s)" % (meta.get("deletionTimestamp"), meta.get("finalizers"))


def _wait_gone(client, kind, name, namespace, timeout):
    wait_for(lambda: client.get(kind, name, namespace), lambda obj: obj is None, timeout,
             "%s to be deleted" % _ref(kind, name, namespace), interval=0.5, describe=_still_there)


def _kind(client, p):
    if p.get("definition") is None:
        return job_kind.JOBSET if p["kind"] == "JobSet" else job_kind.JOB
    d = p["definition"]
    kind = client.resolve_kind(d.get("apiVersion"), d.get("kind"))
    if kind is None:
        raise ValidationError("definition.kind", d.get("kind"), "is not served by this cluster as %s (is its CRD installed?)"
                              % d.get("apiVersion"))
    if not kind.namespaced:
        raise ValidationError("definition.kind", d.get("kind"), "is cluster-scoped: a job Kueue admits is namespaced")
    return kind


def _has_spec(p):
    """Whether the options describe the job (else they only name it: a definition without a spec
    names the kind of a submitted job)."""
    if p.get("definition") is not None:
        return "spec" in p["definition"]
    return any(p.get(o) is not None for o in job_kind.TYPED_OPTIONS)


def render(p, gate):
    return job_kind.render_definition(p, gate) if p.get("definition") is not None else job_kind.render_job(p, gate)


def run_job(module):
    p = module.params
    state = p["state"]
    has_spec = _has_spec(p)
    gate = p["admission_gate"]
    raise_all(job_kind.check_params(p))
    obj = None
    if has_spec and state in ("present", "gated", "ungated"):
        # ungated with the job's options: the same intent as the gated submit (so that neither
        # writes again on a rerun); the gate itself is lifted by the patch below
        obj = render(p, gate if state in ("gated", "ungated") else None)
        if p.get("definition") is not None:
            raise_all(job_kind.check_definition(p, obj))
        elif not p.get("queue"):
            raise_all([ValidationError("queue", None, "is required: the LocalQueue to submit the job to")])
    elif state == "present" and not has_spec:
        raise_all([ValidationError("image", None, "is required with state: present (or a definition)")])
    client = module.client
    kind = _kind(client, p)
    name, namespace = p["name"], p["namespace"]
    ref = _ref(kind, name, namespace)
    live = client.get(kind, name, namespace)
    out = {"changed": False, "job": None, "operations": []}

    if state == "absent":
        if live is not None:
            client.delete(kind, name, namespace, dry_run=module.check_mode, propagation_policy="Background")
            out.update(changed=True, operation="deleted")
            if module.diff_mode:
                out["diff"] = {"before": engine.clean_for_diff(live), "after": {}}
            if p["wait"] != "none" and not module.check_mode:
                _wait_gone(client, kind, name, namespace, p["wait_timeout"])
        else:
            out["operation"] = "absent"
        return out

    cluster_queue = None
    if obj is not None:
        cluster_queue = check_references(client, namespace, obj, module.check_mode, module.warn)
        result, recreated = _submit(client, module, kind, obj, live, job_kind.description(kind))
        entry = result["results"][0]
        if state == "gated" and live is not None and gate not in st.gates_of(live) and entry.get("reason"):
            # a job submitted without the gate (a rerun of the gated submit after its gate was lifted
            # is unchanged, and says nothing): Kueue accepts a gate only when a job is created
            module.warn("%s is not held by the admission gate %s: Kueue accepts a gate only when a job is created "
                        "(state: deactivated holds a submitted job)" % (ref, gate))
        out.update(changed=result["changed"], operation=entry["action"], reason=entry.get("reason"),
                   recreated=recreated, summary=result.get("summary"), timings=result.get("timings"))
        out["operations"].append("recreated" if recreated else entry["action"])
        for w in result.get("warnings") or []:
            module.warn(w)
        if module.diff_mode and result.get("diff"):
            out["diff"] = result["diff"][0]
        live = entry.get("_after") or entry.get("object") or live
    elif live is None and module.check_mode:
        module.warn("%s does not exist (yet): state %s would fail unless an earlier task submits it" % (ref, state))
        out.update(operation="absent", phase=None, workload=None, position=None, gates=[])
        return out
    elif live is None:
        raise ValidationError("name", name, "%s does not exist: state %s needs a submitted job (or the job's options to submit it)"
                              % (ref, state))
    else:
        out["operation"] = "unchanged"

    if state == "ungated":
        after, changed = _lift_gate(client, kind, live, gate, module.check_mode)
        if changed:
            out["changed"] = True
            out["operations"].append("ungated")
            if out["operation"] == "unchanged":
                out["operation"] = "updated"
            live = after
    elif state in ("deactivated", "activated"):
        wl, changed = _set_active(client, live, state == "activated", module.check_mode, p["wait_timeout"])
        if changed:
            out["changed"] = True
            out["operations"].append(state)
            if out["operation"] == "unchanged":
                out["operation"] = "updated"

    out["job"] = engine.without_managed_fields(live)
    if p["wait"] != "none" and not module.check_mode and live is not None:
        if state in ("gated", "deactivated"):
            raise ValidationError("wait", p["wait"], "cannot be reached with state: %s (the job is held)" % state)
        done = follow(client, kind, live, p["wait"], p["wait_timeout"], cluster_queue=cluster_queue)
        out["job"] = engine.without_managed_fields(done["job"])
        wl, pods = done["workload"], done["pods"]
        out["waited"] = done["waited"]
    elif live is not None and (live.get("metadata") or {}).get("uid"):
        wl, pods = find_workload(client, live), None
    else:
        wl, pods = None, None
    position = None
    current = st.phase(wl, job=live, pods=pods)
    if current in ("Pending", "QuotaReserved") and wl is not None:
        position = job_position(client, wl, cluster_queue or _cluster_queue_of(client, live, wl))
    out["workload"] = st.summarize_workload(wl, position=position, pods=pods, job=live) if wl else None
    out["phase"] = current
    out["position"] = position
    out["gates"] = st.gates_of(live) if live else []
    return out
