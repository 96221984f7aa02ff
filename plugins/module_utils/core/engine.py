# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The apply engine: many desired objects -> validated, diffed, applied, waited for.

Flow of ``run(client, items, ...)``::

    validate every item (pure, item.validate)           -> all errors raised together, nothing written
    read live state: ONE LIST per kind (GET if a kind has a single item)
    precheck every item against live (item.precheck)    -> immutable fields, safety, objects being
                                                           deleted; raised together
    for each item in the given order (dependency order is the caller's):
        present: unchanged when the intent digest stored on the object is that of the desired object
                 and the live object holds every desired field (``compare.change_reason``: exact
                 values, quantities only at the kind's quantity paths, server defaults ignored);
                 else server-side apply (field manager ``gpuaas-orchestration``) with the new digest,
                 with ``dryRun=All`` in check mode so admission webhooks still answer; without force
                 first, so that the API server names fields other managers set: taken over with a
                 warning (``force_conflicts``, default), or ``FieldConflict``;
                 a write whose result equals live (server-populated fields ignored) is "unchanged";
                 with ``tolerate_missing_namespace``, in check mode, an object whose namespace does
                 not exist (yet) is reported "created" with a warning instead of failing (an earlier
                 task of the play may create it)
        absent:  delete when it exists (``dryRun=All`` in check mode), optionally wait until gone
    bounded waits (item.wait = WaitSpec) after all writes, not in check mode; the object in hand
    (live when unchanged, or the one the write returned) is checked first, and only polled when it
    does not satisfy the predicate yet (or its status is older than its spec); what is polled is
    read like the live state: one LIST per kind per round (a GET for a kind with one object left)
    an API error or a wait timeout after some writes raises ``PartialRun``: its ``result`` has
    ``changed: true``, the results so far, and ``failed_object`` (the object, the error, the API's answer)

Public API
----------
``MANAGED_BY_LABEL``, ``MANAGED_BY``, ``PLAN_LABEL``, ``FIELD_MANAGER``
``Item(kind, obj=None, name=None, namespace=None, state="present", validate=None, precheck=None,
wait=None, delete_wait=None, field_manager=None, preserve=None, quantity_paths=None)``
    ``validate()`` -> list of errors (pure); ``precheck(live)`` -> list of errors, where ``live``
    is the live object or None. ``preserve``: paths (tuples of keys) that, when the desired object
    leaves them out, keep their live value instead of being dropped by server-side apply (an
    option the user did not give means "leave it as it is", not "remove it").
    ``quantity_paths``: where values compare as Kubernetes quantities (see ``compare``).
    ``intent``: what the intent digest covers when ``obj`` holds values that are not the user's
    (a paused NodePool's live budgets); by default ``obj`` before ``preserve`` fills it in.
    ``adapt(obj, live) -> (obj, warnings)``: what is sent, given the live object, when it must
    differ from the intent (a paused NodePool keeps its pause budgets); the digest still covers
    the intent. Pure.
    ``level``: items next to each other with the same (not None) level do not depend on each
    other (one dependency level of a plan): with ``run(..., parallel=n)`` they are written n at
    a time.
    Errors are ``errors.ValidationError``/``SafetyError``; when a run has several items, each
    error is tagged with its object (``ClusterQueue/a: spec...``).
    Items are usually built by a kind description (``kinds.base.KindDescription.item``).
``WaitSpec(predicate, what, timeout=60, interval=1.0, describe=None)``
``run(client, items, check_mode=False, labels=None, field_manager=FIELD_MANAGER,
tolerate_missing_namespace=False, force_conflicts=True, parallel=1) -> dict``
    ``{"changed", "results": [{"ref","kind","name","namespace","action","reason","object","diff"}],
    "diff": [{"before","after","before_header","after_header"}] (changed objects only),
    "summary": {"created": n, "updated": n, "unchanged": n, "deleted": n, "absent": n},
    "timings": {"validate","read","apply","wait","total"} (seconds), "warnings": [...],
    "api_calls": n, "waits_avoided": n}``  (``waits_avoided``: waits answered by the object in hand)
    ``action`` is one of created, updated, unchanged, deleted, absent (was already gone); ``reason``
    (objects written) says why: "not found", "intent changed since the last apply", the fields
    that differ...
``prune_items(client, kind, plan, keep, namespace=None) -> [Item(state="absent")]``
    objects labelled for ``plan`` (``run(..., labels={PLAN_LABEL: plan})``) that ``keep`` lacks.
``write_item(...)``, ``apply_with_conflicts(...)``: one object's write (used by ``run``).
Pure helpers: ``prune_none(obj)``, ``clean_for_diff(obj)`` (also drops the intent digests),
``same_content(a, b)``, ``carry_over(desired, live, paths)``, ``with_managed_labels(obj, labels)``,
``kind_items_read_plan(items)``,
``status_is_current(obj)``, ``satisfied_in_hand(wait_spec, obj)``, ``missing_namespace(api_error, item)``,
``being_deleted(item, live)`` (an object to apply that is terminating: an error, checked with the prechecks).
``wait_many(client, [(item, result_entry)])``: the polling of present items' waits (see above).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.client import FIELD_MANAGER
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.compare import (
    change_reason,
    intent_digest,
    with_intent,
    without_server_fields,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import (
    ApiError,
    ErrorCollector,
    FieldConflict,
    GpuaasError,
    PartialRun,
    WaitTimeout,
)
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.wait import describe_conditions, wait_for

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "gpuaas-orchestration"
PLAN_LABEL = "gpuaas.io/plan"


class WaitSpec(object):
    """What "done" means for an object: ``predicate(obj) -> bool``, described by ``what``."""

    def __init__(self, predicate, what, timeout=60, interval=1.0, describe=None):
        self.predicate = predicate
        self.what = what
        self.timeout = timeout
        self.interval = interval
        self.describe = describe


class Item(object):
    """One desired object (state present) or one object to delete (state absent)."""

    def __init__(self, kind, obj=None, name=None, namespace=None, state="present", validate=None,
                 precheck=None, wait=None, delete_wait=None, field_manager=None, preserve=None,
                 quantity_paths=None, intent=None, level=None, adapt=None):
        self.kind = kind
        self.level = level
        self.adapt = adapt
        self.preserve = [tuple(p) for p in (preserve or [])]
        self.quantity_paths = [tuple(p) for p in (quantity_paths or [])]
        meta = (obj or {}).get("metadata") or {}
        self.name = name or meta.get("name")
        self.namespace = namespace if namespace is not None else meta.get("namespace")
        if not kind.namespaced:
            self.namespace = None
        self.obj = self._normalized(obj)
        self.intent = self._normalized(intent)
        self.state = state
        self._validate = validate
        self._precheck = precheck
        self.wait = wait
        self.delete_wait = delete_wait
        self.field_manager = field_manager

    def _normalized(self, obj):
        """A copy of ``obj`` without None values, with this item's kind, name and namespace."""
        if obj is None:
            return None
        out = prune_none(copy.deepcopy(obj))
        out.setdefault("apiVersion", self.kind.api_version)
        out.setdefault("kind", self.kind.kind)
        out.setdefault("metadata", {})["name"] = self.name
        if self.namespace:
            out["metadata"]["namespace"] = self.namespace
        else:
            out["metadata"].pop("namespace", None)
        return out

    @property
    def ref(self):
        return self.kind.ref(self.name, self.namespace)

    @property
    def key(self):
        return (self.kind, self.namespace, self.name)

    def validate(self):
        return list(self._validate() or []) if self._validate else []

    def precheck(self, live):
        return list(self._precheck(live) or []) if self._precheck else []


# -- pure helpers ---------------------------------------------------------

def prune_none(obj):
    """Drop keys whose value is None, recursively (lists keep their items)."""
    if isinstance(obj, dict):
        return dict((k, prune_none(v)) for k, v in obj.items() if v is not None)
    if isinstance(obj, list):
        return [prune_none(v) for v in obj]
    return obj


def clean_for_diff(obj):
    """The object without status, server-populated metadata and the intent digests (for diffs
    and comparisons)."""
    return without_server_fields(obj, annotations=("kubectl.kubernetes.io/last-applied-configuration",))


def without_managed_fields(obj):
    if not obj:
        return obj
    out = copy.deepcopy(obj)
    (out.get("metadata") or {}).pop("managedFields", None)
    return out


def carry_over(desired, live, paths):
    """``desired`` with the live value of every path in ``paths`` that ``desired`` leaves out.

    Server-side apply removes a field its manager applied before and no longer sends; a typed
    module whose option was not given means "keep what is there", so such fields are sent again
    with their live value (and stay owned). Pure; ``desired`` is not modified."""
    if not live or not paths:
        return desired
    out = copy.deepcopy(desired)
    for path in paths:
        src = live
        for key in path:
            src = src.get(key) if isinstance(src, dict) else None
            if src is None:
                break
        if src is None:
            continue
        dst = out
        for key in path[:-1]:
            nxt = dst.get(key)
            if not isinstance(nxt, dict):
                nxt = dst[key] = {}
            dst = nxt
        if path[-1] not in dst:
            dst[path[-1]] = copy.deepcopy(src)
    return out


def same_content(a, b):
    return clean_for_diff(a) == clean_for_diff(b)


def with_managed_labels(obj, labels=None):
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    lab = meta.get("labels") or {}
    lab[MANAGED_BY_LABEL] = MANAGED_BY
    for k, v in (labels or {}).items():
        lab[k] = v
    meta["labels"] = lab
    return out


def kind_items_read_plan(items):
    """How live state is read: ``[(kind, namespace_or_None, "list"|"get", [items])]``.

    One LIST per kind when it has several items (namespace-scoped when all share one namespace),
    one GET when it has a single item.
    """
    by_kind = []
    index = {}
    for it in items:
        if it.kind not in index:
            index[it.kind] = len(by_kind)
            by_kind.append((it.kind, []))
        by_kind[index[it.kind]][1].append(it)
    plan = []
    for kind, its in by_kind:
        if len(its) == 1:
            plan.append((kind, its[0].namespace, "get", its))
        else:
            namespaces = set(i.namespace for i in its)
            ns = namespaces.pop() if (kind.namespaced and len(namespaces) == 1) else None
            plan.append((kind, ns, "list", its))
    return plan


def status_is_current(obj):
    """False when the status was written for an older generation of the spec (an
    ``observedGeneration`` of the status or of a condition below ``metadata.generation``)."""
    gen = ((obj or {}).get("metadata") or {}).get("generation")
    if not isinstance(gen, int):
        return True
    status = (obj or {}).get("status") or {}
    observed = status.get("observedGeneration")
    if isinstance(observed, int) and observed < gen:
        return False
    for c in status.get("conditions") or []:
        og = c.get("observedGeneration")
        if isinstance(og, int) and og < gen:
            return False
    return True


def satisfied_in_hand(spec, obj):
    """Whether the object in hand (live and unchanged, or just returned by the write) already
    satisfies the wait predicate, with a status that is not older than its spec: then there is
    nothing to poll for."""
    if obj is None or not status_is_current(obj):
        return False
    try:
        return bool(spec.predicate(obj))
    except Exception:  # pylint: disable=broad-except
        return False


def missing_namespace(error, item):
    """The namespace name when ``error`` (an ``ApiError`` of a write of ``item``) says that the
    item's namespace does not exist, else None."""
    if getattr(error, "status", None) != 404 or not item.kind.namespaced or not item.namespace:
        return None
    body = error.body if isinstance(error.body, dict) else {}
    details = body.get("details") or {}
    if details.get("kind") == "namespaces" and details.get("name") == item.namespace:
        return item.namespace
    return None


def being_deleted(item, live):
    """An object to apply that is being deleted (a deletionTimestamp, finalizers still at work)
    would vanish after the run reported it in place: an error before anything is written. Pure."""
    meta = (live or {}).get("metadata") or {}
    if item.state != "present" or not meta.get("deletionTimestamp"):
        return []
    return [GpuaasError("%s is being deleted (deletionTimestamp %s, finalizers %s): it can be applied again once "
                        "it is gone; rerun then" % (item.ref, meta["deletionTimestamp"], meta.get("finalizers") or []))]


def _dedupe(items):
    seen = set()
    for it in items:
        if it.key in seen:
            raise GpuaasError("%s is given more than once" % it.ref)
        seen.add(it.key)


def prune_items(client, kind, plan, keep, namespace=None):
    """Absent items for the objects of ``kind`` this collection made for ``plan`` (labels
    ``app.kubernetes.io/managed-by`` and ``gpuaas.io/plan``) that are not in ``keep`` (the present
    items of the plan). Objects without both labels are never pruned. One LIST."""
    selector = "%s=%s,%s=%s" % (MANAGED_BY_LABEL, MANAGED_BY, PLAN_LABEL, plan)
    kept = set(it.key for it in keep)
    out = []
    for obj in client.list(kind, namespace=namespace, label_selector=selector):
        m = obj.get("metadata") or {}
        key = (kind, m.get("namespace") if kind.namespaced else None, m.get("name"))
        if key not in kept:
            out.append(Item(kind, name=m.get("name"), namespace=m.get("namespace"), state="absent"))
    return out


# -- the run ---------------------------------------------------------------

def _read_kind(client, kind, ns, how, its):
    if how == "get":
        it = its[0]
        return {it.key: client.get(kind, it.name, it.namespace)}
    found = {}
    try:
        listed = client.list(kind, namespace=ns)
    except ApiError as e:
        # a cluster-wide LIST may be forbidden to a namespaced identity: one LIST per namespace
        if e.status != 403 or not kind.namespaced or ns is not None:
            raise
        listed = []
        for namespace in sorted(set(i.namespace for i in its)):
            listed.extend(client.list(kind, namespace=namespace))
    for obj in listed:
        m = obj.get("metadata") or {}
        found[(kind, m.get("namespace") if kind.namespaced else None, m.get("name"))] = obj
    return dict((it.key, found.get(it.key)) for it in its)


READ_PARALLEL = 4


def read_live(client, items):
    """Live objects keyed by item.key (None when absent), with one LIST per kind (the kinds'
    reads at the same time, up to ``READ_PARALLEL``)."""
    plan = kind_items_read_plan(items)
    live = {}
    if len(plan) <= 1:
        for entry in plan:
            live.update(_read_kind(client, *entry))
        return live
    with ThreadPoolExecutor(max_workers=min(READ_PARALLEL, len(plan))) as pool:
        for part in pool.map(lambda entry: _read_kind(client, *entry), plan):
            live.update(part)
    return live


def levels_of(items):
    """``items`` cut into runs of neighbours with the same (not None) ``level``; an item without a
    level is a run of its own. Pure."""
    runs = []
    for it in items:
        if runs and it.level is not None and runs[-1][0].level == it.level:
            runs[-1].append(it)
        else:
            runs.append([it])
    return runs


def write_level(write, its, parallel):
    """``[(item, entry or None, error or None)]`` of ``write(item)`` for the items of one level,
    ``parallel`` at a time (in item order either way). A failed write does not stop the others of
    its level (they are already in flight); the caller stops before the next level."""
    if parallel <= 1 or len(its) == 1:
        out = []
        for it in its:
            try:
                out.append((it, write(it), None))
            except GpuaasError as e:
                out.append((it, None, e))
                break
        return out

    def guarded(it):
        try:
            return (it, write(it), None)
        except GpuaasError as e:
            return (it, None, e)

    with ThreadPoolExecutor(max_workers=min(parallel, len(its))) as pool:
        return list(pool.map(guarded, its))


def run(client, items, check_mode=False, labels=None, field_manager=FIELD_MANAGER, tolerate_missing_namespace=False,
        force_conflicts=True, parallel=1):
    """Validate, read, diff, apply/delete and wait for ``items``; return the structured result."""
    t0 = time.monotonic()
    timings = {}
    items = list(items)
    _dedupe(items)

    errs = ErrorCollector()
    many = len(items) > 1

    def tagged(it, errors):
        # with several objects, every error names its object
        return [e.for_object(it.ref) if many and hasattr(e, "for_object") else e for e in errors]

    for it in items:
        errs.extend(tagged(it, it.validate()))
    errs.raise_if_any()
    t1 = time.monotonic()
    timings["validate"] = round(t1 - t0, 3)

    live = read_live(client, items)
    t2 = time.monotonic()
    timings["read"] = round(t2 - t1, 3)

    for it in items:
        errs.extend(tagged(it, being_deleted(it, live.get(it.key)) + it.precheck(live.get(it.key))))
    errs.raise_if_any()

    results = []
    diffs = []
    client_warnings = []
    objects = []
    summary = dict(created=0, updated=0, unchanged=0, deleted=0, absent=0)

    def outcome(**extra):
        out = {
            "changed": _wrote(results),
            "results": results,
            "diff": diffs,
            "summary": summary,
            "timings": timings,
            "warnings": list(client.warnings) + [w for w in client_warnings if w not in client.warnings],
            "check_mode": bool(check_mode),
            "api_calls": getattr(client, "calls", None),
        }
        out.update(extra)
        return out

    current = None  # the object being written or waited for, named when the run stops half-way

    def write(it):
        return write_item(client, it, live.get(it.key), check_mode, labels, field_manager,
                          tolerate_missing_namespace, force_conflicts, client_warnings)

    written = []  # the items written so far, in order (waits follow them)
    try:
        for level in levels_of(items):
            failure = None
            for it, entry, error in write_level(write, level, parallel):
                if error is not None:
                    failure = failure or (it, error)
                    continue
                after = entry.pop("_after")
                summary[entry["action"]] += 1
                objects.append(after)
                written.append(it)
                if "diff" in entry:
                    diffs.append(dict(entry["diff"], before_header="%s (live)" % it.ref,
                                      after_header="%s (%s%s)" % (it.ref, entry["action"],
                                                                  ", check mode" if check_mode else "")))
                results.append(entry)
            if failure is not None:
                current = failure[0]
                raise failure[1]
        t3 = time.monotonic()
        timings["apply"] = round(t3 - t2, 3)

        waits_avoided = 0
        if not check_mode:
            polled = []
            for it, entry, in_hand in zip(written, results, objects):
                if it.state == "present" and it.wait is not None:
                    if satisfied_in_hand(it.wait, in_hand):
                        # the live (unchanged) or just returned object already is what "done" means
                        waits_avoided += 1
                    else:
                        polled.append((it, entry))
            if polled:
                current = None  # wait_many names the object that timed out
                wait_many(client, polled)
            for it, entry in zip(written, results):
                if it.state == "absent" and it.delete_wait and entry["action"] == "deleted":
                    current = it
                    timeout = it.delete_wait if not isinstance(it.delete_wait, bool) else 60
                    wait_for(lambda it=it: client.get(it.kind, it.name, it.namespace), lambda o: o is None,
                             timeout, "%s to be deleted" % it.ref, describe=_describe_deleting)
    except GpuaasError as e:
        # stopped half-way: say what was already done, and which object failed with what answer
        if not _wrote(results):
            raise
        failed = {"ref": current.ref if current is not None else getattr(e, "obj", None), "error": str(e)}
        if isinstance(e, ApiError):
            failed["api_error"] = e.summary()
        timings["total"] = round(time.monotonic() - t0, 3)
        raise PartialRun(e, outcome(failed_object=failed))
    t4 = time.monotonic()
    timings["wait"] = round(t4 - t3, 3)
    timings["total"] = round(t4 - t0, 3)
    return outcome(waits_avoided=waits_avoided)


WRITE_ACTIONS = ("created", "updated", "deleted")


def _wrote(results):
    return any(r["action"] in WRITE_ACTIONS for r in results)


def _conflicts_of(error):
    """``[{"field", "manager"}]`` of a 409 answer to a server-side apply without force."""
    if getattr(error, "status", None) != 409:
        return None
    out = []
    for cause in error.causes():
        if cause.get("reason") != "FieldManagerConflict":
            continue
        message = cause.get("message") or ""
        manager = message.split('"')[1] if message.count('"') >= 2 else message
        out.append({"field": cause.get("field"), "manager": manager})
    return out or None


def apply_with_conflicts(client, it, desired, check_mode, manager, force_conflicts, warnings):
    """Server-side apply without force first: the API server names the fields that other field
    managers set (409). With ``force_conflicts`` they are taken over (one more request, only then)
    and each one is reported as a warning; without, ``FieldConflict`` is raised, nothing written."""
    try:
        return client.apply(it.kind, desired, dry_run=check_mode, field_manager=manager, force=False)
    except ApiError as e:
        conflicts = _conflicts_of(e)
        if not conflicts:
            raise
    if not force_conflicts:
        raise FieldConflict(it.ref, conflicts)
    for c in conflicts:
        warnings.append("%s: %s %s, which field manager %r had set (force_conflicts: false refuses this)" % (
            it.ref, "would take over" if check_mode else "took over", c["field"], c["manager"]))
    return client.apply(it.kind, desired, dry_run=check_mode, field_manager=manager, force=True)


def write_item(client, it, before, check_mode, labels, field_manager, tolerate_missing_namespace,
               force_conflicts, warnings):
    """Write one item if needed; returns its result entry (with ``_after``, the object in hand)."""
    manager = it.field_manager or field_manager
    entry = {"ref": it.ref, "kind": it.kind.kind, "name": it.name, "namespace": it.namespace}
    if it.state == "absent":
        if before is None:
            action, after = "absent", None
        else:
            client.delete(it.kind, it.name, it.namespace, dry_run=check_mode)
            action, after = "deleted", None
            entry["reason"] = "state absent"
    else:
        def labelled(obj):
            return with_managed_labels(obj, labels) if manager == FIELD_MANAGER else obj
        desired = labelled(it.obj)
        # the digest covers the intent: what was rendered from the options, not the live values
        # carried over below (nor those ``adapt`` sends, nor those a module put in ``obj`` in
        # place of ``intent``)
        digest = intent_digest(desired if it.intent is None else labelled(it.intent), it.quantity_paths)
        if it.adapt is not None and before is not None:
            obj, notes = it.adapt(it.obj, before)
            warnings.extend(n for n in notes if n not in warnings)
            if obj is not it.obj:
                desired = labelled(obj)
        desired = carry_over(desired, before, it.preserve)
        reason = change_reason(desired, before, manager, it.quantity_paths, digest=digest)
        if reason is None:
            action, after = "unchanged", before
        else:
            entry["reason"] = reason
            try:
                after = apply_with_conflicts(client, it, with_intent(desired, manager, digest), check_mode, manager,
                                             force_conflicts, warnings)
            except ApiError as e:
                missing = missing_namespace(e, it) if (check_mode and tolerate_missing_namespace
                                                       and before is None) else None
                if not missing:
                    raise
                # check mode: the namespace may be made by an earlier task of the same play
                # (which did not run for real): report the object as "would be created"
                after = copy.deepcopy(desired)
                warnings.append("%s: namespace %r does not exist (yet); the object would be created "
                                "once it does (not validated by the API server)" % (it.ref, missing))
            if before is None:
                action = "created"
            elif same_content(before, after):
                action = "unchanged"
            else:
                action = "updated"
    entry["action"] = action
    entry["object"] = without_managed_fields(after)
    entry["_after"] = after
    if action in WRITE_ACTIONS:
        entry["diff"] = {"before": clean_for_diff(before), "after": clean_for_diff(after)}
    return entry


def wait_many(client, waits, clock=time.monotonic, sleep=time.sleep):
    """Bounded waits of many present items (``[(item, result_entry)]``, each with ``item.wait``):
    every round reads what is still awaited with ``read_live`` - one LIST per kind (a GET when a
    kind has one object left) - instead of one GET per object. Each item keeps its own timeout
    (from the start of the waits); the first item past it raises ``WaitTimeout`` naming it and what
    was seen last. The entries' ``object`` is set to the object that satisfied the predicate."""
    start = clock()
    pending = list(waits)
    delay = min(0.2, min(it.wait.interval for it, dummy in pending))
    interval = max(it.wait.interval for it, dummy in pending)
    while True:
        live = read_live(client, [it for it, dummy in pending])
        left = []
        for it, entry in pending:
            obj = live.get(it.key)
            # a status written for an older generation (a condition left from before the update)
            # does not count as done
            if (obj is None or status_is_current(obj)) and it.wait.predicate(obj):
                entry["object"] = without_managed_fields(obj)
            else:
                left.append((it, entry, obj))
        if not left:
            return
        elapsed = clock() - start
        for it, entry, obj in left:
            if elapsed >= (it.wait.timeout or 0):
                describe = it.wait.describe or describe_conditions
                raise WaitTimeout("%s to be %s" % (it.ref, it.wait.what), it.wait.timeout, describe(obj))
        pending = [(it, entry) for it, entry, obj in left]
        remaining = min((it.wait.timeout or 0) - elapsed for it, dummy in pending)
        sleep(max(0.0, min(delay, remaining)))
        delay = min(interval, delay * 2)


def _describe_deleting(obj):
    if obj is None:
        return "gone"
    meta = obj.get("metadata") or {}
    return "still present (deletionTimestamp=%s, finalizers=%s)" % (
        meta.get("deletionTimestamp"), meta.get("finalizers"))
