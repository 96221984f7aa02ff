# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The gates of a traffic shift: verdicts from what was observed (pure).

Every gate answers one of three verdicts, and the difference between the last two is the point:

- ``passed``  - go on (a gate with nothing to judge, such as route status without a gateway
                controller, passes and says so: ``skipped`` in its answer);
- ``failed``  - the gate answered no: roll back;
- ``unknown`` - the gate could not answer (the metrics endpoint is down, the metric is missing,
                the controller has not judged the current generation yet): pause, shift no further,
                and ask again on the next run.

Public API
----------
``VERDICTS``; ``combine(verdicts)`` -> the worst (failed > unknown > passed).
``min_ready_problem(value)``; ``required_ready(min_ready, selected)`` -> int.
``pods_verdict(selected, ready, min_ready)`` -> ``(verdict, answer)``.
``parse_prometheus(text)`` -> ``[(name, {label: value}, float)]`` (the text exposition format).
``select_samples(samples, metric, labels)``; ``aggregate(values, how)``.
``json_value(doc, path)`` -> the value at a dotted path (``data.result.0.value.1``) or ``KeyError``.
``threshold_verdict(value, minimum=None, maximum=None, what="value")`` -> ``(verdict, answer)``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

VERDICTS = ("passed", "failed", "unknown")
AGGREGATES = ("sum", "max", "min", "avg", "count")
_ORDER = {"passed": 0, "unknown": 1, "failed": 2}


def combine(verdicts):
    worst = "passed"
    for v in verdicts:
        if _ORDER.get(v, 1) > _ORDER[worst]:
            worst = v if v in _ORDER else "unknown"
    return worst


def min_ready_problem(value):
    if isinstance(value, bool):
        return "must be a number of pods (2) or a percentage of the selected pods (\"100%\")"
    if isinstance(value, int):
        return None if value >= 0 else "must not be negative"
    if isinstance(value, str):
        m = re.match(r"^\s*(\d+)\s*(%?)\s*$", value)
        if m and (not m.group(2) or int(m.group(1)) <= 100):
            return None
    return "must be a number of pods (2) or a percentage of the selected pods (\"100%\")"


def required_ready(min_ready, selected):
    if isinstance(min_ready, str) and min_ready.strip().endswith("%"):
        return int(math.ceil(int(min_ready.strip()[:-1]) * selected / 100.0))
    return int(min_ready)


def pods_verdict(selected, ready, min_ready):
    need = required_ready(min_ready, selected)
    if selected == 0:
        return "failed", "no pod is selected"
    if ready >= max(need, 1):
        return "passed", "%d of %d selected pods are Ready (need %s)" % (ready, selected, min_ready)
    return "failed", "%d of %d selected pods are Ready, %d needed (min_ready %s)" % (ready, selected, need, min_ready)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?\s*$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(value):
    return value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def parse_prometheus(text):
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = {}
        if m.group(3):
            pos, body = 0, m.group(3)
            while pos < len(body):
                lm = _LABEL.match(body, pos)
                if not lm:
                    break
                labels[lm.group(1)] = _unescape(lm.group(2))
                pos = lm.end()
        try:
            value = float(m.group(4))
        except ValueError:
            continue
        out.append((m.group(1), labels, value))
    return out


def select_samples(samples, metric, labels=None):
    labels = labels or {}
    return [val for name, lbls, val in samples
            if name == metric and all(lbls.get(k) == str(want) for k, want in labels.items())]


def aggregate(values, how="sum"):
    if how == "count":
        return float(len(values))
    if not values:
        return None
    if how == "max":
        return max(values)
    if how == "min":
        return min(values)
    if how == "avg":
        return sum(values) / len(values)
    return sum(values)


def json_value(doc, path):
    cur = doc
    for part in [p for p in str(path).split(".") if p != ""]:
        if isinstance(cur, list):
            cur = cur[int(part)]
        elif isinstance(cur, dict):
            cur = cur[part]
        else:
            raise KeyError(part)
    return cur


def to_number(value):
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    n = float(value)
    if math.isnan(n):
        raise ValueError("NaN")
    return n


def threshold_verdict(value, minimum=None, maximum=None, what="value"):
    if value is None:
        return "unknown", "%s has no value" % what
    if minimum is not None and value < float(minimum):
        return "failed", "%s is %s, below the minimum %s" % (what, _fmt(value), minimum)
    if maximum is not None and value > float(maximum):
        return "failed", "%s is %s, above the maximum %s" % (what, _fmt(value), maximum)
    bounds = " and ".join(b for b in ("at least %s" % minimum if minimum is not None else "",
                                      "at most %s" % maximum if maximum is not None else "") if b)
    return "passed", "%s is %s (%s)" % (what, _fmt(value), bounds or "no bound")


def _fmt(value):
    return ("%d" % value) if float(value).is_integer() else ("%g" % value)
