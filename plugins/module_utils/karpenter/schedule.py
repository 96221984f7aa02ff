# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Karpenter's time syntax: cron schedules and durations of disruption budgets (pure functions).

Public API
----------
``parse_cron(expression)`` -> five value sets and the day-restriction flags; raises ``ValueError``
    naming the bad field (the standard 5-field syntax robfig/cron parses for Karpenter's budgets,
    with ``@daily``-style descriptors; no seconds, no time zones).
``cron_problem(expression) -> str or None``   the reason it is malformed, for validation messages.
``cron_matches(parsed, moment) -> bool``
``duration_seconds(value)``   ``"1h30m"`` -> 5400; ``"Never"`` or None -> None.
``budget_active(budget, now=None) -> bool``   always without a schedule, else within ``duration``
    of a schedule hit (UTC).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.validate import parse_duration

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


def cron_problem(expression):
    try:
        parse_cron(expression)
    except ValueError as exc:
        return "malformed cron schedule: %s" % exc
    return None


def cron_matches(parsed, moment):
    minutes, hours, doms, months, dows, (dom_restricted, dow_restricted) = parsed
    if moment.minute not in minutes or moment.hour not in hours or moment.month not in months:
        return False
    dow = (moment.weekday() + 1) % 7  # Python Monday=0 -> cron Sunday=0
    dom_ok, dow_ok = moment.day in doms, dow in dows
    if dom_restricted and dow_restricted:
        return dom_ok or dow_ok
    return dom_ok and dow_ok


def duration_seconds(value):
    """'1h30m' -> 5400; 'Never' or None -> None (durations are validated before they get here)."""
    if value is None or value == "Never":
        return None
    return int(parse_duration(value))


def budget_active(budget, now=None):
    """True when a budget applies now: always without a schedule, else within duration of a hit."""
    schedule, duration = budget.get("schedule"), budget.get("duration")
    if not schedule:
        return True
    now = now or datetime.datetime.now(datetime.timezone.utc)
    parsed = parse_cron(schedule)
    seconds = duration_seconds(duration) or 0
    moment = now.replace(second=0, microsecond=0)
    for _i in range(seconds // 60 + 1):
        if cron_matches(parsed, moment) and (now - moment).total_seconds() < seconds:
            return True
        moment -= datetime.timedelta(minutes=1)
    return False
