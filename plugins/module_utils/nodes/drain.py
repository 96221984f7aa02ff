# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure drain planning for the node_drain module (no API calls here).

Pods are plain dicts as the API returns them (``metadata``/``spec``/``status``).

:func:`plan_drain` classifies the pods of a node with the same filters, in the same order, as
``kubectl drain`` (k8s.io/kubectl/pkg/drain/filters.go), plus Karpenter's do-not-disrupt:

1. DaemonSet-managed (controller is an apps/v1 DaemonSet), not finished: skipped with
   ``ignore_daemonsets``, else an error. A DaemonSet that no longer exists (orphan) is deleted
   with ``force``, else an error.
2. Mirror (static) pods (annotation ``kubernetes.io/config.mirror``): always skipped.
3. Pods with an emptyDir volume, not finished: evicted with ``delete_emptydir_data``, else error.
4. Pods without a controller, not finished: evicted with ``force``, else an error.
5. ``karpenter.sh/do-not-disrupt: "true"``, not finished: evicted with ``force``, else an error.

Finished pods (Succeeded/Failed) pass every filter and are removed (the eviction API deletes them
without consulting budgets). Pods already terminating are not evicted again: they are waited for.

The other pure helpers: label-selector and PodDisruptionBudget matching, parsing of the eviction
API's 429 answer, and the Kueue owner-chain lookup.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
DO_NOT_DISRUPT_ANNOTATION = "karpenter.sh/do-not-disrupt"
FINISHED_PHASES = ("Succeeded", "Failed")

# Reasons reported for skipped pods and for pods that stop the drain.
SKIP_DAEMONSET = "DaemonSet-managed pod (ignore_daemonsets)"
SKIP_MIRROR = "mirror pod (static pod; cannot be deleted through the API server)"
SKIP_TERMINATING = "already terminating"
ERR_DAEMONSET = "DaemonSet-managed pod (set ignore_daemonsets=true to ignore)"
ERR_ORPHAN_DAEMONSET = "controller DaemonSet %s no longer exists (set force=true to delete)"
ERR_EMPTYDIR = "pod with local storage (emptyDir) (set delete_emptydir_data=true to evict)"
ERR_UNMANAGED = "pod declares no controller (set force=true to evict)"
ERR_DO_NOT_DISRUPT = "pod is annotated karpenter.sh/do-not-disrupt=true (set force=true to evict)"
WARN_EMPTYDIR = "evicting pod with local storage (emptyDir data is lost)"
WARN_UNMANAGED = "evicting pod that declares no controller (it will not come back)"
WARN_DO_NOT_DISRUPT = "evicting pod annotated karpenter.sh/do-not-disrupt=true (force)"
WARN_ORPHAN_DAEMONSET = "deleting pod of a DaemonSet that no longer exists (force)"

DEFAULT_OPTIONS = dict(
    force=False,
    ignore_daemonsets=True,
    delete_emptydir_data=False,
)


def meta(obj):
    return obj.get("metadata") or {}


def pod_ref(pod, node=None):
    """The short identity of a pod used in results: namespace, name, uid (and node)."""
    m = meta(pod)
    out = {"namespace": m.get("namespace"), "name": m.get("name"), "uid": m.get("uid")}
    node = node or (pod.get("spec") or {}).get("nodeName")
    if node:
        out["node"] = node
    return out


def pod_key(pod):
    m = meta(pod)
    return "%s/%s" % (m.get("namespace"), m.get("name"))


def controller_of(obj):
    """The ownerReference with controller=true, or None."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def is_finished(pod):
    return (pod.get("status") or {}).get("phase") in FINISHED_PHASES


def is_terminating(pod):
    return bool(meta(pod).get("deletionTimestamp"))


def has_local_storage(pod):
    return any("emptyDir" in (v or {}) for v in (pod.get("spec") or {}).get("volumes") or [])


def is_daemonset_controlled(ref):
    return bool(ref) and ref.get("kind") == "DaemonSet" and ref.get("apiVersion") == "apps/v1"


def classify_pod(pod, options, daemonset_exists=None):
    """Return ``(action, reason)`` for one pod.

    action is ``evict`` (reason None or a warning), ``skip`` (reason says why), ``wait`` (already
    terminating: nothing to send, but wait for it to go) or ``error`` (the drain must not go on).
    ``daemonset_exists(namespace, name) -> bool`` is asked only for DaemonSet pods; None = exists.
    """
    opts = dict(DEFAULT_OPTIONS)
    opts.update(options or {})
    m = meta(pod)
    finished = is_finished(pod)
    ctrl = controller_of(pod)
    # 1. DaemonSet
    if is_daemonset_controlled(ctrl) and not finished:
        exists = True
        if daemonset_exists is not None:
            exists = daemonset_exists(m.get("namespace"), ctrl.get("name"))
        if not exists:
            if opts["force"]:
                return "evict", WARN_ORPHAN_DAEMONSET
            return "error", ERR_ORPHAN_DAEMONSET % ctrl.get("name")
        if not opts["ignore_daemonsets"]:
            return "error", ERR_DAEMONSET
        return "skip", SKIP_DAEMONSET
    # 2. mirror pods
    if MIRROR_ANNOTATION in (m.get("annotations") or {}):
        return "skip", SKIP_MIRROR
    if is_terminating(pod):
        return "wait", SKIP_TERMINATING
    warning = None
    # 3. emptyDir
    if has_local_storage(pod) and not finished:
        if not opts["delete_emptydir_data"]:
            return "error", ERR_EMPTYDIR
        warning = WARN_EMPTYDIR
    # 4. unmanaged
    if ctrl is None and not finished:
        if not opts["force"]:
            return "error", ERR_UNMANAGED
        warning = WARN_UNMANAGED
    # 5. karpenter do-not-disrupt
    if (str((m.get("annotations") or {}).get(DO_NOT_DISRUPT_ANNOTATION, "")).lower() == "true"
            and not finished):
        if not opts["force"]:
            return "error", ERR_DO_NOT_DISRUPT
        warning = WARN_DO_NOT_DISRUPT
    return "evict", warning


class DrainPlan(object):
    """The classified pods of one or more nodes."""

    def __init__(self):
        self.evict = []      # pod dicts to evict (or delete)
        self.wait = []       # pod dicts already terminating: wait for them
        self.skipped = []    # {namespace, name, uid, node, reason}
        self.errors = []     # {namespace, name, uid, node, reason}
        self.warnings = []   # {namespace, name, uid, node, reason}

    def add(self, pod, action, reason, node=None):
        ref = pod_ref(pod, node)
        if action == "evict":
            self.evict.append(pod)
            if reason:
                self.warnings.append(dict(ref, reason=reason))
        elif action == "wait":
            self.wait.append(pod)
        elif action == "skip":
            self.skipped.append(dict(ref, reason=reason))
        elif action == "error":
            self.errors.append(dict(ref, reason=reason))
        else:  # pragma: no cover - programming error
            raise ValueError(action)

    def error_message(self):
        """One message per reason listing the pods, like kubectl's 'cannot delete ...'."""
        by_reason = {}
        for e in self.errors:
            by_reason.setdefault(e["reason"], []).append("%s/%s" % (e["namespace"], e["name"]))
        return "; ".join("cannot evict %s: %s" % (reason, ", ".join(pods))
                         for reason, pods in sorted(by_reason.items()))


def plan_drain(pods, options=None, daemonset_exists=None, node=None):
    """Classify ``pods`` (the pods of a node, already narrowed by pod_selector). Returns DrainPlan."""
    plan = DrainPlan()
    for pod in sorted(pods, key=pod_key):
        action, reason = classify_pod(pod, options, daemonset_exists)
        plan.add(pod, action, reason, node)
    return plan


# ---------------------------------------------------------------------------------------------
# label selectors and PodDisruptionBudgets

def selector_matches(selector, labels):
    """Whether a metav1.LabelSelector (dict) matches ``labels``.

    None matches nothing (as for a PodDisruptionBudget without selector); {} matches everything."""
    if selector is None:
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            if key not in labels or labels[key] not in values:
                return False
        elif op == "NotIn":
            if key in labels and labels[key] in values:
                return False
        elif op == "Exists":
            if key not in labels:
                return False
        elif op == "DoesNotExist":
            if key in labels:
                return False
        else:
            return False  # an invalid selector matches nothing (as the API server does)
    return True


def budgets_for_pod(pod, pdbs):
    """Names of the PodDisruptionBudgets (dicts) in the pod's namespace whose selector matches it."""
    m = meta(pod)
    out = []
    for pdb in pdbs or []:
        pm = meta(pdb)
        if pm.get("namespace") != m.get("namespace"):
            continue
        if selector_matches((pdb.get("spec") or {}).get("selector"), m.get("labels")):
            out.append(pm.get("name"))
    return sorted(out)


_BUDGET_RE = re.compile(r"[Tt]he disruption budget (\S+) ")


def parse_eviction_error(body):
    """From an eviction error body (JSON Status text or dict) return (message, [budget names])."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    status = body
    if isinstance(body, str):
        try:
            status = json.loads(body)
        except ValueError:
            return body.strip(), []
    if not isinstance(status, dict):
        return str(body), []
    msgs = [status.get("message") or ""]
    budgets = []
    for cause in (status.get("details") or {}).get("causes") or []:
        cm = cause.get("message") or ""
        if cm:
            msgs.append(cm)
        mt = _BUDGET_RE.search(cm)
        if mt and mt.group(1) not in budgets:
            budgets.append(mt.group(1))
    return " ".join(x for x in msgs if x).strip(), budgets


# ---------------------------------------------------------------------------------------------
# Kueue

def owner_uids(obj):
    return [ref.get("uid") for ref in meta(obj).get("ownerReferences") or [] if ref.get("uid")]


def workload_index(workloads):
    """Map owner UID -> Workload dict for a list of kueue.x-k8s.io Workloads."""
    idx = {}
    for wl in workloads or []:
        for uid in owner_uids(wl):
            idx.setdefault(uid, wl)
    return idx


def workload_for_pod(pod, wl_by_owner, parents=None):
    """The Workload that owns ``pod``: owned by the pod itself (plain-pod integration), by the
    pod's controller (a batch/v1 Job), or by the controller's controller (JobSet, ...).

    ``parents`` maps a controller UID to its own controller ownerReference (the caller reads the
    Jobs it needs); missing entries end the walk."""
    parents = parents or {}
    uid = meta(pod).get("uid")
    if uid in wl_by_owner:
        return wl_by_owner[uid]
    ref = controller_of(pod)
    seen = set()
    depth = 0
    while ref and depth < 4:
        ruid = ref.get("uid")
        if not ruid or ruid in seen:
            return None
        seen.add(ruid)
        if ruid in wl_by_owner:
            return wl_by_owner[ruid]
        ref = parents.get(ruid)
        depth += 1
    return None


def condition(obj, ctype):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def workload_admitted(wl):
    """Admitted by Kueue: quota reserved and Admitted=True (and not being evicted already)."""
    st = wl.get("status") or {}
    adm = condition(wl, "Admitted")
    return bool(st.get("admission")) and bool(adm) and adm.get("status") == "True"


def workload_released(wl):
    """Kueue has given the quota back (no admission, QuotaReserved not True)."""
    st = wl.get("status") or {}
    qr = condition(wl, "QuotaReserved")
    return not st.get("admission") and not (qr and qr.get("status") == "True")


def workload_ref(wl):
    m = meta(wl)
    out = {"namespace": m.get("namespace"), "name": m.get("name"), "uid": m.get("uid")}
    owners = m.get("ownerReferences") or []
    if owners:
        out["owner"] = "%s/%s" % (owners[0].get("kind"), owners[0].get("name"))
    adm = (wl.get("status") or {}).get("admission") or {}
    if adm.get("clusterQueue"):
        out["cluster_queue"] = adm.get("clusterQueue")
    return out


# The drain's own marks on a Workload it deactivated (removed when it reactivates it).
DEACTIVATED_BY_LABEL = "gpuaas.io/deactivated-by"
DEACTIVATED_FOR_ANNOTATION = "gpuaas.io/deactivated-for-nodes"


def workload_active(wl):
    """``spec.active`` (true when absent, as Kueue defaults it)."""
    return (wl.get("spec") or {}).get("active") is not False


def deactivated_by_drain(wl):
    """Deactivated by a drain of this collection (its label), not by someone else."""
    return not workload_active(wl) and (meta(wl).get("labels") or {}).get(DEACTIVATED_BY_LABEL) == "node-drain"


GPU_RESOURCE = "nvidia.com/gpu"


def requests_gpus(pod):
    """Whether a container (or init container) of the pod requests or limits nvidia.com/gpu."""
    spec = pod.get("spec") or {}
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            value = str((res.get(part) or {}).get(GPU_RESOURCE, "0")).strip()
            if value not in ("", "0"):
                return True
    return False
