# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Karpenter (karpenter.sh/v1) domain logic: pure functions, no API calls.

Everything here renders or validates plain dicts so that it can be unit tested without a cluster:

- ``validate_*`` functions append problems ("<field>: <message> (got <value>)") to a list;
  ``raise_if_problems`` turns the list into one :class:`KarpenterInputError`.
- ``render_nodepool(params)`` returns the NodePool manifest for the karpenter_nodepool options.
- ``check_nodepool_immutables(desired, live)`` catches changes the API would refuse.
- ``pause_budgets`` / ``resume_budgets`` compute the pause/resume of voluntary disruption.
- ``render_nodeclaim`` / ``plan_scale_down`` / ``nodeclaim_summary`` serve karpenter_capacity.
- ``cron_matches`` / ``budget_active`` / ``pool_summary`` serve karpenter_info.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import json
import re

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.errors import GpuaasError

GROUP = "karpenter.sh"
VERSION = "v1"
API_VERSION = GROUP + "/" + VERSION
MANAGED_BY_KEY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "gpuaas-orchestration"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
CAPACITY_GROUP_LABEL = "gpuaas.io/capacity-group"
SAVED_BUDGETS_ANNOTATION = "gpuaas.io/paused-disruption-budgets"
PAUSED_AT_ANNOTATION = "gpuaas.io/paused-at"
PAUSE_REASON_ANNOTATION = "gpuaas.io/pause-reason"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_COUNT_LABEL = "nvidia.com/gpu.count"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
CONSOLIDATION_POLICIES = ("WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced")
DISRUPTION_REASONS = ("Underutilized", "Empty", "Drifted")

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DURATION = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
_DURATION_NO_NEVER = re.compile(r"^([0-9]+(s|m|h))+$")
_BUDGET_DURATION = re.compile(r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")
_BUDGET_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")
_QUANTITY = re.compile(r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")
_CRON_MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_CRON_FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]),
    ("day of week", 0, 6, ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]),
)


class KarpenterInputError(GpuaasError):
    """Invalid module input; ``problems`` lists every problem, each naming the field and value."""

    def __init__(self, problems):
        self.problems = list(problems)
        if len(self.problems) > 1:
            msg = "%d errors: %s" % (len(self.problems), "; ".join(self.problems))
        else:
            msg = "".join(self.problems)
        super(KarpenterInputError, self).__init__(msg)

    def to_result(self):
        out = []
        for text in self.problems:
            field, _sep, rest = text.partition(": ")
            out.append({"field": field, "problem": rest})
        return {"errors": out}


def problem(problems, field, message, value=None, show_value=True):
    text = "%s: %s" % (field, message)
    if show_value:
        text += " (got %s)" % json.dumps(value, sort_keys=True, default=str)
    problems.append(text)


def raise_if_problems(problems):
    if problems:
        raise KarpenterInputError(problems)


# ---------------------------------------------------------------------------------------------
# Scalars
# ---------------------------------------------------------------------------------------------

def is_qualified_name(key):
    """Kubernetes qualified name (label/annotation/taint key): optional DNS prefix + '/' + name."""
    if not isinstance(key, str) or not key:
        return False
    if "/" in key:
        prefix, _sep, name = key.partition("/")
        if "/" in name or not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix):
            return False
    else:
        name = key
    return 0 < len(name) <= 63 and bool(_NAME_PART.match(name))


def is_label_value(value):
    return isinstance(value, str) and len(value) <= 63 and bool(_LABEL_VALUE.match(value))


def validate_name(problems, field, value):
    if not isinstance(value, str) or not value or len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        problem(problems, field, "must be a DNS subdomain name (lower case alphanumerics, '-' and '.')", value)


def validate_quantity(problems, field, value):
    """Kubernetes resource quantity: returns the normalised string, or None after a problem."""
    if isinstance(value, bool) or value is None:
        problem(problems, field, "must be a resource quantity such as 8, 500m, 64Gi", value)
        return None
    if isinstance(value, (int, float)):
        if value < 0:
            problem(problems, field, "must not be negative", value)
            return None
        text = str(value)
    else:
        text = str(value).strip()
    if not _QUANTITY.match(text):
        problem(problems, field, "must be a resource quantity such as 8, 500m, 64Gi", value)
        return None
    if text.startswith("-"):
        problem(problems, field, "must not be negative", value)
        return None
    return text


_SUFFIX = {
    "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
    "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
}


def quantity_value(value):
    """A quantity as a float (for sums and ratios in reports); None when it cannot be parsed."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if not _QUANTITY.match(text):
        return None
    m = re.match(r"^([+-]?[0-9.]+)([eE][+-]?[0-9.]+|[KMGTPE]i|[numkMGTPE])?$", text)
    if not m:
        return None
    number, suffix = m.group(1), m.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return float(number + suffix)
    return float(number) * _SUFFIX[suffix]


def validate_duration(problems, field, value, allow_never=True, budget=False):
    """Go-style durations as Karpenter's CRD accepts them; returns the string or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = "%ds" % value if not budget else "%dm" % value
    if not isinstance(value, str):
        problem(problems, field, "must be a duration string such as 30s, 10m, 720h", value)
        return None
    if budget:
        if not _BUDGET_DURATION.match(value):
            problem(problems, field, "must be a duration of hours and/or minutes such as 8h, 30m or 1h30m "
                    "(cron schedules have no seconds)", value)
            return None
        return value
    pattern = _DURATION if allow_never else _DURATION_NO_NEVER
    if not pattern.match(value):
        problem(problems, field, "must be a duration such as 30s, 10m, 720h, 1h30m" +
                (" or Never" if allow_never else ""), value)
        return None
    return value


def duration_seconds(value):
    """'1h30m' -> 5400; 'Never' or None -> None."""
    if value is None or value == "Never":
        return None
    total = 0
    for number, unit in re.findall(r"([0-9]+)(h|m|s)", str(value)):
        total += int(number) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


# ---------------------------------------------------------------------------------------------
# Cron (the standard 5-field syntax robfig/cron parses for Karpenter's budgets)
# ---------------------------------------------------------------------------------------------

def _cron_value(token, low, high, names):
    if names and token.upper() in names:
        return names.index(token.upper()) + (1 if low == 1 else 0)
    if not token.isdigit():
        raise ValueError("%r is not a number%s" % (token, " or a name" if names else ""))
    number = int(token)
    if number < low or number > high:
        raise ValueError("%d is out of range %d-%d" % (number, low, high))
    return number


def _cron_field(text, low, high, names):
    """Set of values a cron field allows; raises ValueError with the reason."""
    values = set()
    if text == "":
        raise ValueError("empty field")
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError("step %r must be a positive number" % step_text)
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _cron_value(first, low, high, names), _cron_value(last, low, high, names)
            if start > end:
                raise ValueError("range %s-%s runs backwards" % (first, last))
        else:
            start = _cron_value(part, low, high, names)
            end = high if step > 1 else start
        values.update(range(start, end + 1, step))
    return values


def parse_cron(expression):
    """Parse a cron schedule into five value sets; raises ValueError naming the bad field."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError("must be a cron expression such as '0 9 * * 1-5' or @daily")
    text = expression.strip()
    if text.startswith("@"):
        if text not in _CRON_MACROS:
            raise ValueError("unknown descriptor %s (use one of %s)" % (text, ", ".join(sorted(_CRON_MACROS))))
        text = _CRON_MACROS[text]
    if text.upper().startswith("TZ=") or text.upper().startswith("CRON_TZ="):
        raise ValueError("time zones are not supported by Karpenter budgets")
    parts = text.split()
    if len(parts) != 5:
        raise ValueError("needs 5 fields (minute hour day-of-month month day-of-week), found %d" % len(parts))
    result = []
    for part, (name, low, high, names) in zip(parts, _CRON_FIELDS):
        try:
            result.append(_cron_field(part, low, high, names))
        except ValueError as exc:
            raise ValueError("%s field %r: %s" % (name, part, exc))
    # robfig/cron: day-of-month and day-of-week restricted together means either matches
    result.append((parts[2] not in ("*", "?"), parts[4] not in ("*", "?")))
    return result


def validate_cron(problems, field, value):
    try:
        parse_cron(value)
    except ValueError as exc:
        problem(problems, field, "malformed cron schedule: %s" % exc, value)
        return None
    return value.strip()


def cron_matches(parsed, moment):
    minutes, hours, doms, months, dows, (dom_restricted, dow_restricted) = parsed
    if moment.minute not in minutes or moment.hour not in hours or moment.month not in months:
        return False
    dow = (moment.weekday() + 1) % 7  # Python Monday=0 -> cron Sunday=0
    dom_ok, dow_ok = moment.day in doms, dow in dows
    if dom_restricted and dow_restricted:
        return dom_ok or dow_ok
    return dom_ok and dow_ok


def budget_active(budget, now=None):
    """True when a budget applies now: always without a schedule, else within duration of a hit."""
    schedule, duration = budget.get("schedule"), budget.get("duration")
    if not schedule:
        return True
    now = now or datetime.datetime.now(datetime.timezone.utc)
    parsed = parse_cron(schedule)
    seconds = duration_seconds(duration) or 0
    moment = now.replace(second=0, microsecond=0)
    steps = seconds // 60
    for _i in range(int(steps) + 1):
        if cron_matches(parsed, moment) and (now - moment).total_seconds() < seconds:
            return True
        moment -= datetime.timedelta(minutes=1)
    return False


# ---------------------------------------------------------------------------------------------
# NodePool pieces
# ---------------------------------------------------------------------------------------------

def _restricted_key(key):
    if key in ("karpenter.sh/nodepool", "kubernetes.io/hostname"):
        return True
    domain = key.split("/", 1)[0] if "/" in key else ""
    return domain.endswith("karpenter.sh") and key != "karpenter.sh/capacity-type"


def validate_labels(problems, field, labels, restricted=True):
    out = {}
    if labels is None:
        return out
    if not isinstance(labels, dict):
        problem(problems, field, "must be a mapping of label keys to values", labels)
        return out
    for key, value in labels.items():
        value = "" if value is None else value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not is_qualified_name(key):
            problem(problems, "%s[%s]" % (field, key), "is not a valid label key", key)
        elif restricted and _restricted_key(key):
            problem(problems, "%s[%s]" % (field, key), "label key is restricted by Karpenter", key)
        if not is_label_value(value):
            problem(problems, "%s[%s]" % (field, key), "is not a valid label value (63 characters, "
                    "alphanumerics, '-', '_', '.')", value)
        out[key] = value
    return out


def validate_annotations(problems, field, annotations):
    out = {}
    if annotations is None:
        return out
    if not isinstance(annotations, dict):
        problem(problems, field, "must be a mapping", annotations)
        return out
    for key, value in annotations.items():
        if not is_qualified_name(key):
            problem(problems, "%s[%s]" % (field, key), "is not a valid annotation key", key)
        out[key] = "" if value is None else str(value)
    return out


def validate_requirements(problems, field, requirements):
    """Validate and render Karpenter requirements (operators, values, minValues)."""
    out = []
    for index, req in enumerate(requirements or []):
        where = "%s[%d]" % (field, index)
        if not isinstance(req, dict):
            problem(problems, where, "must be a mapping with key, operator and values", req)
            continue
        key, operator = req.get("key"), req.get("operator")
        values = req.get("values")
        if values is None:
            values = []
        elif not isinstance(values, list):
            values = [values]
        values = [str(v) if not isinstance(v, str) else v for v in values]
        if not is_qualified_name(key):
            problem(problems, where + ".key", "is not a valid label key", key)
        elif _restricted_key(key):
            problem(problems, where + ".key", "label key is restricted by Karpenter", key)
        if operator not in OPERATORS:
            problem(problems, where + ".operator", "must be one of %s" % ", ".join(OPERATORS), operator)
            continue
        if operator in ("In", "NotIn") and not values:
            problem(problems, where + ".values", "operator %s needs at least one value" % operator, values)
        if operator in ("Exists", "DoesNotExist") and values:
            problem(problems, where + ".values", "operator %s takes no values" % operator, values)
        if operator in ("Gt", "Lt", "Gte", "Lte"):
            if len(values) != 1 or not values[0].isdigit():
                problem(problems, where + ".values", "operator %s needs exactly one non-negative integer "
                        "value" % operator, values)
        for value in values:
            if not is_label_value(value):
                problem(problems, where + ".values", "%r is not a valid label value" % value, values)
        rendered = {"key": key, "operator": operator}
        if values:
            rendered["values"] = values
        min_values = req.get("min_values", req.get("minValues"))
        if min_values is not None:
            if isinstance(min_values, bool) or not isinstance(min_values, int) or not 1 <= min_values <= 50:
                problem(problems, where + ".min_values", "must be an integer from 1 to 50", min_values)
            elif operator == "In" and len(values) < min_values:
                problem(problems, where + ".min_values", "needs at least %d values but %d given"
                        % (min_values, len(values)), min_values)
            else:
                rendered["minValues"] = min_values
        out.append(rendered)
    if len(out) > 100:
        problem(problems, field, "at most 100 requirements", len(out))
    return out


def validate_taints(problems, field, taints):
    out = []
    seen = set()
    for index, taint in enumerate(taints or []):
        where = "%s[%d]" % (field, index)
        if not isinstance(taint, dict):
            problem(problems, where, "must be a mapping with key, value and effect", taint)
            continue
        key, value, effect = taint.get("key"), taint.get("value"), taint.get("effect")
        if not is_qualified_name(key):
            problem(problems, where + ".key", "is not a valid taint key", key)
        if value is not None:
            value = str(value)
            if not is_label_value(value):
                problem(problems, where + ".value", "is not a valid taint value", value)
        if effect not in TAINT_EFFECTS:
            problem(problems, where + ".effect", "must be one of %s" % ", ".join(TAINT_EFFECTS), effect)
        if (key, effect) in seen:
            problem(problems, where, "duplicate taint for key and effect", "%s:%s" % (key, effect))
        seen.add((key, effect))
        rendered = {"key": key, "effect": effect}
        if value:
            rendered["value"] = value
        out.append(rendered)
    return out


def validate_budgets(problems, field, budgets):
    out = []
    if budgets is None:
        return None
    if not isinstance(budgets, list):
        problem(problems, field, "must be a list of budgets", budgets)
        return None
    for index, budget in enumerate(budgets):
        where = "%s[%d]" % (field, index)
        if not isinstance(budget, dict):
            problem(problems, where, "must be a mapping with nodes (and schedule, duration, reasons)", budget)
            continue
        nodes = budget.get("nodes")
        if isinstance(nodes, int) and not isinstance(nodes, bool):
            nodes = str(nodes)
        if not isinstance(nodes, str) or not _BUDGET_NODES.match(nodes):
            if isinstance(nodes, str) and re.match(r"^[0-9]+%$", nodes):
                problem(problems, where + ".nodes", "a percentage budget must be between 0% and 100%", nodes)
            else:
                problem(problems, where + ".nodes", "must be a node count such as 2 or a percentage "
                        "such as 10%", budget.get("nodes"))
        rendered = {"nodes": nodes}
        schedule, duration = budget.get("schedule"), budget.get("duration")
        if schedule is not None and duration is None:
            problem(problems, where + ".duration", "is required when schedule is set (schedule %r)" % schedule,
                    show_value=False)
        if duration is not None and schedule is None:
            problem(problems, where + ".schedule", "is required when duration is set (duration %r)" % duration,
                    show_value=False)
        if schedule is not None:
            rendered["schedule"] = validate_cron(problems, where + ".schedule", schedule)
        if duration is not None:
            rendered["duration"] = validate_duration(problems, where + ".duration", duration, budget=True)
        reasons = budget.get("reasons")
        if reasons is not None:
            if not isinstance(reasons, list):
                reasons = [reasons]
            for reason in reasons:
                if reason not in DISRUPTION_REASONS:
                    problem(problems, where + ".reasons", "unknown disruption reason %r (allowed: %s)"
                            % (reason, ", ".join(DISRUPTION_REASONS)), reason)
            if len(set(reasons)) != len(reasons):
                problem(problems, where + ".reasons", "reasons must be unique", reasons)
            rendered["reasons"] = list(reasons)
        out.append(rendered)
    if len(out) > 50:
        problem(problems, field, "at most 50 budgets", len(out))
    return out


def validate_limits(problems, field, limits):
    out = {}
    if limits is None:
        return out
    if not isinstance(limits, dict):
        problem(problems, field, "must be a mapping of resource names to quantities", limits)
        return out
    for name, value in limits.items():
        if not is_qualified_name(name):
            problem(problems, "%s[%s]" % (field, name), "is not a valid resource name", name)
        text = validate_quantity(problems, "%s[%s]" % (field, name), value)
        if text is not None:
            out[name] = text
    return out


def validate_node_class_ref(problems, field, ref):
    if not isinstance(ref, dict):
        problem(problems, field, "must be a mapping with group, kind and name", ref)
        return None
    out = {}
    for key in ("group", "kind", "name"):
        value = ref.get(key)
        if not isinstance(value, str) or not value:
            problem(problems, "%s.%s" % (field, key), "is required", value)
        else:
            out[key] = value
    if out.get("group") and "/" in out["group"]:
        problem(problems, field + ".group", "is an API group without version (no '/')", out["group"])
    return out


def render_nodepool(params):
    """Render a NodePool from karpenter_nodepool options (snake_case); raises KarpenterInputError."""
    problems = []
    name = params.get("name")
    validate_name(problems, "name", name)
    tmpl_spec = {}
    requirements = validate_requirements(problems, "requirements", params.get("requirements"))
    tmpl_spec["requirements"] = requirements
    if params.get("taints") is not None:
        tmpl_spec["taints"] = validate_taints(problems, "taints", params.get("taints"))
    if params.get("startup_taints") is not None:
        tmpl_spec["startupTaints"] = validate_taints(problems, "startup_taints", params.get("startup_taints"))
    ref = validate_node_class_ref(problems, "node_class_ref", params.get("node_class_ref"))
    if ref is not None:
        tmpl_spec["nodeClassRef"] = ref
    if params.get("expire_after") is not None:
        tmpl_spec["expireAfter"] = validate_duration(problems, "expire_after", params["expire_after"])
    if params.get("termination_grace_period") is not None:
        tmpl_spec["terminationGracePeriod"] = validate_duration(
            problems, "termination_grace_period", params["termination_grace_period"], allow_never=False)
    template = {"spec": tmpl_spec}
    tmpl_meta = {}
    labels = validate_labels(problems, "labels", params.get("labels"))
    if labels:
        tmpl_meta["labels"] = labels
    annotations = validate_annotations(problems, "annotations", params.get("annotations"))
    if annotations:
        tmpl_meta["annotations"] = annotations
    if tmpl_meta:
        template["metadata"] = tmpl_meta
    spec = {"template": template}

    disruption_in = params.get("disruption") or {}
    disruption = {}
    policy = disruption_in.get("consolidation_policy")
    if policy is not None:
        if policy not in CONSOLIDATION_POLICIES:
            problem(problems, "disruption.consolidation_policy", "must be one of %s"
                    % ", ".join(CONSOLIDATION_POLICIES), policy)
        disruption["consolidationPolicy"] = policy
    after = disruption_in.get("consolidate_after")
    if after is not None:
        disruption["consolidateAfter"] = validate_duration(problems, "disruption.consolidate_after", after)
    budgets = validate_budgets(problems, "disruption.budgets", disruption_in.get("budgets"))
    if budgets is not None:
        disruption["budgets"] = budgets
    if disruption:
        if "consolidateAfter" not in disruption:
            disruption["consolidateAfter"] = "0s"  # required by the CRD once disruption is given
        spec["disruption"] = disruption

    limits = validate_limits(problems, "limits", params.get("limits"))
    if limits:
        spec["limits"] = limits
    weight = params.get("weight")
    if weight is not None:
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100:
            problem(problems, "weight", "must be an integer from 1 to 100", weight)
        else:
            spec["weight"] = weight
    raise_if_problems(problems)
    metadata = {"name": name, "labels": {MANAGED_BY_KEY: MANAGED_BY_VALUE}}
    metadata["labels"].update(params.get("metadata_labels") or {})
    return {"apiVersion": API_VERSION, "kind": "NodePool", "metadata": metadata, "spec": spec}


def check_nodepool_immutables(desired, live):
    """Problems for changes Karpenter forbids on an existing NodePool (checked before any write)."""
    problems = []
    if not live:
        return problems
    old = ((live.get("spec") or {}).get("template") or {}).get("spec", {}).get("nodeClassRef") or {}
    new = desired["spec"]["template"]["spec"].get("nodeClassRef") or {}
    for key in ("group", "kind"):
        if old.get(key) and new.get(key) and old[key] != new[key]:
            problem(problems, "node_class_ref.%s" % key, "is immutable: the NodePool uses %s %r; delete and "
                    "recreate the NodePool to change it" % (key, old[key]), new[key])
    return problems


# ---------------------------------------------------------------------------------------------
# Disruption pause / resume
# ---------------------------------------------------------------------------------------------

def live_budgets(nodepool):
    budgets = ((nodepool.get("spec") or {}).get("disruption") or {}).get("budgets")
    return copy.deepcopy(budgets) if budgets is not None else None


def is_paused(nodepool):
    return SAVED_BUDGETS_ANNOTATION in ((nodepool.get("metadata") or {}).get("annotations") or {})


def saved_budgets_text(budgets):
    """The value of the saved-budgets annotation for ``budgets`` (compact, stable key order)."""
    return json.dumps(budgets, sort_keys=True, separators=(",", ":"))


def saved_budgets(nodepool):
    raw = ((nodepool.get("metadata") or {}).get("annotations") or {}).get(SAVED_BUDGETS_ANNOTATION)
    if raw is None:
        return None
    try:
        saved = json.loads(raw)
    except ValueError:
        saved = None
    if not isinstance(saved, list):
        name = (nodepool.get("metadata") or {}).get("name")
        raise GpuaasError("NodePool %s: annotation %s does not hold a JSON list of budgets (%r); fix or remove it "
                          "by hand before pausing or resuming" % (name, SAVED_BUDGETS_ANNOTATION, raw))
    return saved


def pause_budgets(nodepool, budgets, now=None, reason=None):
    """Return (patch, info) pausing voluntary disruption; patch is None when nothing changes.

    The budgets in force are saved in an annotation unless a previous pause saved them already, so
    that a second pause never overwrites what resume must restore.
    """
    annotations = {}
    current = live_budgets(nodepool)
    already = is_paused(nodepool)
    if not already:
        annotations[SAVED_BUDGETS_ANNOTATION] = saved_budgets_text(current)
        annotations[PAUSED_AT_ANNOTATION] = (now or datetime.datetime.now(datetime.timezone.utc)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        if reason:
            annotations[PAUSE_REASON_ANNOTATION] = reason
    patch = {}
    if annotations:
        patch["metadata"] = {"annotations": annotations}
    if _canonical_budgets(current) != _canonical_budgets(budgets):
        patch["spec"] = {"disruption": {"budgets": budgets}}
    info = {"already_paused": already, "saved_budgets": current if not already else saved_budgets(nodepool),
            "budgets": budgets}
    return (patch or None), info


def resume_budgets(nodepool):
    """Return (patch, info) restoring the budgets saved by pause; patch is None when not paused."""
    if not is_paused(nodepool):
        return None, {"was_paused": False, "budgets": live_budgets(nodepool)}
    restore = saved_budgets(nodepool)
    patch = {"metadata": {"annotations": {SAVED_BUDGETS_ANNOTATION: None, PAUSED_AT_ANNOTATION: None,
                                          PAUSE_REASON_ANNOTATION: None}},
             # JSON merge patch: null removes the field so the CRD default applies again
             "spec": {"disruption": {"budgets": restore}}}
    return patch, {"was_paused": True, "budgets": restore}


def _canonical_budgets(budgets):
    if budgets is None:
        return None
    return json.dumps(budgets, sort_keys=True)


# ---------------------------------------------------------------------------------------------
# Capacity (NodeClaims)
# ---------------------------------------------------------------------------------------------

def _get(mapping, key):
    """Field of a provider document in either JSON spelling (``requirements`` or ``Requirements``)."""
    if not isinstance(mapping, dict):
        return None
    if key in mapping:
        return mapping[key]
    return mapping.get(key[:1].upper() + key[1:])


def load_instance_type_catalog(data):
    """Parse a KWOK instance types document (list of {name, resources, offerings}) into a catalog."""
    catalog = []
    for item in data or []:
        resources = _get(item, "resources") or {}
        labels = {}
        for offering in _get(item, "offerings") or []:
            reqs = list(_get(offering, "requirements") or [])
            reqs += list(_get(_get(offering, "offering") or {}, "requirements") or [])
            for req in reqs:
                vals = _get(req, "values") or []
                if _get(req, "operator") == "In" and len(vals) == 1:
                    labels.setdefault(_get(req, "key"), vals[0])
        gpus = quantity_value(resources.get(GPU_RESOURCE))
        if gpus is None and labels.get(GPU_COUNT_LABEL, "").isdigit():
            gpus = int(labels[GPU_COUNT_LABEL])
        catalog.append({
            "name": _get(item, "name"),
            "gpu_count": int(gpus or 0),
            "gpu_product": labels.get(GPU_PRODUCT_LABEL),
            "labels": labels,
        })
    return catalog


def resolve_instance_types(catalog, gpu_count=None, gpu_product=None):
    names = []
    for item in catalog:
        if gpu_count is not None and item.get("gpu_count") != gpu_count:
            continue
        if gpu_product is not None and item.get("gpu_product") != gpu_product:
            continue
        names.append(item["name"])
    return names


def requirement_allows(req, value):
    """Does one requirement (In/NotIn/Exists/DoesNotExist/Gt/Lt/Gte/Lte) allow a label value?"""
    op, values = req.get("operator"), req.get("values") or []
    if op == "In":
        return value in values
    if op == "NotIn":
        return value not in values
    if op == "Exists":
        return True
    if op == "DoesNotExist":
        return False
    try:
        number, bound = int(value), int(values[0])
    except (TypeError, ValueError, IndexError):
        return False
    return {"Gt": number > bound, "Lt": number < bound, "Gte": number >= bound, "Lte": number <= bound}[op]


def render_nodeclaim(nodepool, group, shape, labels=None, protect=True):
    """Render one NodeClaim for a capacity group from the NodePool's template; KarpenterInputError.

    ``shape``: {"instance_types": [...], "requirements": {key: value}} already resolved. Every value
    must be allowed by the NodePool's requirements for the same key.
    """
    problems = []
    pool = nodepool["metadata"]["name"]
    tmpl = (nodepool.get("spec") or {}).get("template") or {}
    tmpl_spec = tmpl.get("spec") or {}
    tmpl_meta = tmpl.get("metadata") or {}
    ours = {}
    if shape.get("instance_types"):
        ours[INSTANCE_TYPE_LABEL] = list(shape["instance_types"])
    for key, value in (shape.get("requirements") or {}).items():
        ours[key] = [str(value)]
    requirements = []
    for req in tmpl_spec.get("requirements") or []:
        if req.get("key") in ours:
            allowed = [v for v in ours[req["key"]] if requirement_allows(req, v)]
            if not allowed:
                field = "instance_types" if req["key"] == INSTANCE_TYPE_LABEL else "shape[%s]" % req["key"]
                problem(problems, field, "NodePool %s requirement %s %s %s does not allow %s"
                        % (pool, req["key"], req.get("operator"), req.get("values") or "",
                           ", ".join(ours[req["key"]])), ours[req["key"]])
            ours[req["key"]] = allowed
            continue
        requirements.append(copy.deepcopy(req))
    for key, values in ours.items():
        requirements.append({"key": key, "operator": "In", "values": values})
    raise_if_problems(problems)
    meta_labels = dict(tmpl_meta.get("labels") or {})
    meta_labels.update(labels or {})
    meta_labels.update({NODEPOOL_LABEL: pool, CAPACITY_GROUP_LABEL: group, MANAGED_BY_KEY: MANAGED_BY_VALUE})
    annotations = dict(tmpl_meta.get("annotations") or {})
    if protect:
        annotations[DO_NOT_DISRUPT] = "true"
    spec = {"requirements": requirements, "nodeClassRef": copy.deepcopy(tmpl_spec.get("nodeClassRef"))}
    for key in ("taints", "startupTaints", "expireAfter", "terminationGracePeriod"):
        if tmpl_spec.get(key) is not None:
            spec[key] = copy.deepcopy(tmpl_spec[key])
    metadata = {"generateName": "%s-%s-" % (pool, group), "labels": meta_labels}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": "NodeClaim", "metadata": metadata, "spec": spec}


def allocatable_gpus(obj):
    """``nvidia.com/gpu`` in a Node's or NodeClaim's ``status.allocatable`` as a number, None when
    the object (or the resource) is not there."""
    return quantity_value((((obj or {}).get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE))


def _promised_gpus(claim, default):
    """GPUs a NodeClaim that has not launched yet will bring: its resource request, else its
    ``nvidia.com/gpu.count`` requirement, else ``default`` (the shape being added)."""
    spec = claim.get("spec") or {}
    requested = ((spec.get("resources") or {}).get("requests") or {}).get(GPU_RESOURCE)
    if requested is not None:
        return requested
    for req in spec.get("requirements") or []:
        if req.get("key") == GPU_COUNT_LABEL and req.get("operator") == "In" and len(req.get("values") or []) == 1:
            return req["values"][0]
    return default


def gpu_limit_problem(nodepool, claims, nodes_by_name, adding, gpus_per_node):
    """A problem text when ``adding`` NodeClaims of ``gpus_per_node`` GPUs would pass the pool's
    ``nvidia.com/gpu`` limit (hand-made NodeClaims bypass Karpenter's own limit check), else None.

    Used GPUs: per non-deleting NodeClaim of the pool, its node's allocatable GPUs, else the
    NodeClaim's own status.allocatable (launched, not registered yet), else ``gpus_per_node``
    for a NodeClaim of the same capacity shape that has not launched.
    """
    limit = quantity_value(((nodepool.get("spec") or {}).get("limits") or {}).get(GPU_RESOURCE))
    if limit is None or not adding or not gpus_per_node:
        return None
    used = 0.0
    for claim in claims:
        if (claim.get("metadata") or {}).get("deletionTimestamp"):
            continue
        node = nodes_by_name.get((claim.get("status") or {}).get("nodeName"))
        value = allocatable_gpus(node)
        if value is None:
            value = allocatable_gpus(claim)
        if value is None:
            value = quantity_value(_promised_gpus(claim, gpus_per_node))
        used += value or 0
    wanted = adding * gpus_per_node
    if used + wanted > limit:
        return ("count: %d more NodeClaims of %d GPUs need %d GPUs but NodePool %s has %g of its "
                "nvidia.com/gpu limit %g in use; raise the limit or use force"
                % (adding, gpus_per_node, wanted, nodepool["metadata"]["name"], used, limit))
    return None


def condition_status(obj, ctype):
    for cond in ((obj.get("status") or {}).get("conditions") or []):
        if cond.get("type") == ctype:
            return cond.get("status")
    return None


def pod_blocks_disruption(pod):
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    phase = (pod.get("status") or {}).get("phase")
    return annotations.get(DO_NOT_DISRUPT) == "true" and phase not in ("Succeeded", "Failed")


def _is_daemon(pod):
    return any(ref.get("kind") == "DaemonSet" for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])


def plan_scale_down(nodeclaims, pods_by_node, remove_count, preferred=None, force=False):
    """Choose the NodeClaims to delete: the named ones first, then not-yet-launched, then emptiest.

    Returns (victims, blocked) where blocked maps NodeClaim names to the do-not-disrupt pods that
    keep them; a blocked NodeClaim is only chosen with ``force``. Raises KarpenterInputError when
    fewer than ``remove_count`` NodeClaims can be removed.
    """
    preferred = list(preferred or [])
    candidates, blocked = [], {}
    for nc in nodeclaims:
        name = nc["metadata"]["name"]
        node = (nc.get("status") or {}).get("nodeName")
        pods = [p for p in pods_by_node.get(node, []) if not _is_daemon(p) and
                (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")] if node else []
        keepers = ["%s/%s" % (p["metadata"].get("namespace"), p["metadata"]["name"])
                   for p in pods if pod_blocks_disruption(p)]
        if keepers:
            blocked[name] = keepers
            if not force:
                continue
        rank = (0 if (name in preferred or node in preferred) else 1,
                0 if not node else 1,
                len(pods),
                nc["metadata"].get("creationTimestamp") or "")
        candidates.append((rank, name, nc))
    # newest first among equally empty ones, then by name for a stable choice
    candidates.sort(key=lambda item: item[1])
    candidates.sort(key=lambda item: item[0][3], reverse=True)
    candidates.sort(key=lambda item: item[0][:3])
    # ``remove`` names NodeClaims or their nodes; a name that matches neither, or one whose
    # NodeClaim is protected, is an error rather than a silent choice of some other NodeClaim.
    claim_of = {}
    for nc in nodeclaims:
        claim_of[nc["metadata"]["name"]] = nc["metadata"]["name"]
        node = (nc.get("status") or {}).get("nodeName")
        if node:
            claim_of[node] = nc["metadata"]["name"]
    unknown = [want for want in preferred if want not in claim_of]
    if unknown:
        raise KarpenterInputError(["remove: %s is not a NodeClaim or node of this capacity group (it has: %s)"
                                   % (", ".join(unknown), ", ".join(sorted(nc["metadata"]["name"] for nc in nodeclaims))
                                      or "none")])
    for want in preferred:
        claim = claim_of[want]
        if claim in blocked and not force:
            raise KarpenterInputError(["remove: NodeClaim %s runs pods marked %s=true (%s); use force to "
                                       "remove it anyway" % (claim, DO_NOT_DISRUPT, ", ".join(blocked[claim]))])
    if len(candidates) < remove_count:
        details = "; ".join("%s: %s" % (k, ", ".join(v)) for k, v in sorted(blocked.items()))
        raise KarpenterInputError(["count: %d NodeClaims must go but only %d can be removed without disrupting "
                                   "pods marked %s=true (%s); use force to remove them anyway"
                                   % (remove_count, len(candidates), DO_NOT_DISRUPT, details)])
    return [item[2] for item in candidates[:remove_count]], blocked


def nodeclaim_summary(nodeclaim, node=None):
    status = nodeclaim.get("status") or {}
    meta = nodeclaim.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    node_labels = ((node or {}).get("metadata") or {}).get("labels") or {}
    allocatable = ((node or {}).get("status") or {}).get("allocatable") or status.get("allocatable") or {}
    capacity = ((node or {}).get("status") or {}).get("capacity") or status.get("capacity") or {}
    return {
        "name": meta.get("name"),
        "nodepool": labels.get(NODEPOOL_LABEL),
        "node": status.get("nodeName"),
        "instance_type": node_labels.get(INSTANCE_TYPE_LABEL) or labels.get(INSTANCE_TYPE_LABEL),
        "gpu_product": node_labels.get(GPU_PRODUCT_LABEL) or labels.get(GPU_PRODUCT_LABEL),
        # KWOK nodes of hand-made NodeClaims list GPUs in allocatable only
        "gpu_capacity": int(quantity_value(capacity.get(GPU_RESOURCE) or allocatable.get(GPU_RESOURCE)) or 0),
        "gpu_allocatable": int(quantity_value(allocatable.get(GPU_RESOURCE)) or 0),
        "initialized": condition_status(nodeclaim, "Initialized") == "True",
        "deleting": bool(meta.get("deletionTimestamp")),
        "conditions": {c.get("type"): c.get("status") for c in status.get("conditions") or []},
    }


def _number(value):
    """Whole numbers as int (8 rather than 8.0) in reports."""
    if value is not None and float(value).is_integer():
        return int(value)
    return value


def pool_summary(nodepool, nodes, nodeclaims, now=None):
    """Per-pool report for karpenter_info: node counts, GPUs, limits and headroom, budgets now."""
    name = nodepool["metadata"]["name"]
    spec = nodepool.get("spec") or {}
    status = nodepool.get("status") or {}
    pool_nodes = [n for n in nodes if ((n.get("metadata") or {}).get("labels") or {}).get(NODEPOOL_LABEL) == name]
    gpu_cap = sum(quantity_value(((n.get("status") or {}).get("capacity") or {}).get(GPU_RESOURCE) or
                                 ((n.get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE)) or 0
                  for n in pool_nodes)
    gpu_alloc = sum(allocatable_gpus(n) or 0 for n in pool_nodes)
    resources = status.get("resources") or {}
    limits = {}
    for res, limit in (spec.get("limits") or {}).items():
        used = quantity_value(resources.get(res)) or 0
        if res == GPU_RESOURCE and not resources.get(res):
            used = gpu_cap
        lim = quantity_value(limit)
        limits[res] = {"limit": str(limit), "used": _number(used),
                       "remaining": _number(lim - used) if lim is not None else None,
                       "percent": round(100.0 * used / lim, 1) if lim else None}
    budgets = (spec.get("disruption") or {}).get("budgets") or []
    active = []
    for budget in budgets:
        try:
            if budget_active(budget, now):
                active.append(budget)
        except ValueError:
            active.append(dict(budget, invalid=True))
    claims = [c for c in nodeclaims if ((c.get("metadata") or {}).get("labels") or {}).get(NODEPOOL_LABEL) == name]
    return {
        "name": name,
        "nodes": len(pool_nodes),
        "status_nodes": status.get("nodes"),
        "nodeclaims": len(claims),
        "ready": condition_status(nodepool, "Ready"),
        "weight": spec.get("weight"),
        "gpu_capacity": int(gpu_cap),
        "gpu_allocatable": int(gpu_alloc),
        "resources": resources,
        "limits": limits,
        "budgets": budgets,
        "active_budgets": active,
        "paused": is_paused(nodepool),
        "saved_budgets": saved_budgets(nodepool),
        "consolidation_policy": (spec.get("disruption") or {}).get("consolidationPolicy"),
        "consolidate_after": (spec.get("disruption") or {}).get("consolidateAfter"),
    }
