# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gpuaas.orchestration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes resource quantities (pure functions).

Public API
----------
``parse_quantity(value) -> decimal.Decimal``
    Parses ``"500m"``, ``"1.5Gi"``, ``"2e3"``, ``4``, ``"8"``; raises ``ValueError`` with a reason.
``is_quantity(value) -> bool``
``quantity_problem(value) -> str or None``
    ``None`` when valid, else ``"must be a Kubernetes quantity"``-style text for error messages.
``quantities_equal(a, b) -> bool``
    Numeric equality (``"1Gi" == "1024Mi"``, ``"1" == "1000m"``); falls back to ``==``.
``compare_quantities(a, b) -> -1 | 0 | 1``
``format_quantity(value, binary=None) -> str``
    Canonical short form: ``Decimal('1.5') -> '1500m'``, ``1073741824 -> '1Gi'``.
``add_quantities(*values) -> Decimal``, ``sub_quantities(a, b) -> Decimal``
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}
_RE = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")


def parse_quantity(value):
    """Return the quantity as a Decimal; raise ValueError when it is not a quantity."""
    if isinstance(value, bool) or value is None:
        raise ValueError("must be a Kubernetes quantity such as 4, 500m, 16Gi")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("must be a finite number")
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise ValueError("must be a Kubernetes quantity such as 4, 500m, 16Gi")
    text = value.strip()
    m = _RE.match(text)
    if not m or text != value:
        raise ValueError("must be a Kubernetes quantity such as 4, 500m, 16Gi")
    try:
        number = Decimal(m.group(1))
    except InvalidOperation:
        raise ValueError("must be a Kubernetes quantity such as 4, 500m, 16Gi")
    suffix = m.group(2) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    # exponent form
    return number * (Decimal(10) ** int(suffix[1:]))


def quantity_problem(value):
    try:
        parse_quantity(value)
    except ValueError as e:
        return str(e)
    return None


def is_quantity(value):
    return quantity_problem(value) is None


def quantities_equal(a, b):
    try:
        return parse_quantity(a) == parse_quantity(b)
    except ValueError:
        return a == b


def compare_quantities(a, b):
    x, y = parse_quantity(a), parse_quantity(b)
    return (x > y) - (x < y)


def add_quantities(*values):
    total = Decimal(0)
    for v in values:
        if v is None:
            continue
        total += parse_quantity(v)
    return total


def sub_quantities(a, b):
    return parse_quantity(a) - parse_quantity(b)


def _strip(d):
    text = format(d.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_quantity(value, binary=None):
    """Format a quantity in a short canonical form.

    ``binary=None`` picks binary suffixes when the value is a whole multiple of 1Ki and has no
    short decimal form, decimal suffixes otherwise.
    """
    d = parse_quantity(value)
    if d == 0:
        return "0"
    sign = "-" if d < 0 else ""
    d = abs(d)
    if d == d.to_integral_value():
        n = int(d)
        if binary is not False:
            best = None
            for suf, mult in sorted(_BINARY.items(), key=lambda kv: -kv[1]):
                if n % mult == 0:
                    best = (suf, n // mult)
                    break
            dec = None
            for suf in ("E", "P", "T", "G", "M", "k"):
                mult = int(_DECIMAL[suf])
                if n % mult == 0:
                    dec = (suf, n // mult)
                    break
            if best and (binary or dec is None):
                return "%s%d%s" % (sign, best[1], best[0])
            if dec:
                return "%s%d%s" % (sign, dec[1], dec[0])
            return "%s%d" % (sign, n)
        for suf in ("E", "P", "T", "G", "M", "k"):
            mult = int(_DECIMAL[suf])
            if n % mult == 0:
                return "%s%d%s" % (sign, n // mult, suf)
        return "%s%d" % (sign, n)
    for suf in ("m", "u", "n"):
        scaled = d / _DECIMAL[suf]
        if scaled == scaled.to_integral_value():
            return "%s%d%s" % (sign, int(scaled), suf)
    return sign + _strip(d)


def quantity_or_none(value):
    """A quantity that may be missing or unreadable (live status): Decimal or None."""
    try:
        return None if value is None else parse_quantity(value)
    except ValueError:
        return None
