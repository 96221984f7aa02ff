from decimal import Decimal

import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core.quantity import (
    add_quantities, compare_quantities, format_quantity, is_quantity, parse_quantity,
    quantities_equal, quantity_problem,
)


@pytest.mark.parametrize("text,value", [
    ("0", 0), ("4", 4), (4, 4), ("500m", Decimal("0.5")), ("1.5", Decimal("1.5")),
    ("1Ki", 1024), ("16Gi", 16 * 2 ** 30), ("2k", 2000), ("1M", 10 ** 6), ("1e3", 1000),
    ("1E3", 1000), ("100n", Decimal("1e-7")), ("+3", 3), ("-2", -2), (".5", Decimal("0.5")),
    ("3u", Decimal("3e-6")), ("1Ei", 2 ** 60), (2.5, Decimal("2.5")),
])
def test_parse(text, value):
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize("bad", ["12x", "", "Gi", "1.2.3", "1 Gi", " 1", "1gi", None, True, [], "1Kii", "e3"])
def test_parse_rejects(bad):
    assert not is_quantity(bad)
    assert "quantity" in (quantity_problem(bad) or "")
    with pytest.raises(ValueError):
        parse_quantity(bad)


def test_equal_and_compare():
    assert quantities_equal("1Gi", "1024Mi")
    assert quantities_equal("1", "1000m")
    assert quantities_equal(8, "8")
    assert not quantities_equal("1G", "1Gi")
    assert quantities_equal("abc", "abc")  # not quantities: plain equality
    assert compare_quantities("500m", "1") == -1
    assert compare_quantities("2Gi", "2048Mi") == 0
    assert compare_quantities("3", "2") == 1
    assert add_quantities("500m", "1500m", None, 2) == 4


@pytest.mark.parametrize("value,text", [
    ("0", "0"), ("1000m", "1"), ("0.5", "500m"), (2 ** 30, "1Gi"), ("1024Mi", "1Gi"),
    ("2000", "2k"), ("8", "8"), ("1536Mi", "1536Mi"), ("-1", "-1"), ("1.25", "1250m"),
])
def test_format(value, text):
    assert format_quantity(value) == text
