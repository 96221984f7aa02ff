"""Hostile input for every module's validation, generated with hypothesis.

Each module runs in-process (its ``main()``) with the arguments of its first documented
example, one value of which hypothesis replaces by something hostile: wrong types, negative and
huge numbers, very long strings, unicode, control characters, label selectors with injected
clauses, YAML and Jinja in strings, unknown keys. The Kubernetes API is not reached: the module's
client stops at its first request with ``ApiReached`` (the input passed validation; nothing was
sent), so what is tested is what happens before any request.

Properties, for every module and every input:
* the module ends with a result (exit or fail JSON), never an unhandled exception: no traceback,
  no message that is a bare Python error (``TypeError: ...``);
* a rejection names a field: the result's ``errors`` each carry a ``field``, or the message is
  Ansible's argument check naming the option, or it names one of the keys given;
* when the input was rejected, no request was sent at all.
"""
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import client as gclient
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import module as gmodule
from gpuaas_testlib import MODULES, first_example, value_paths, with_value

BARE_PYTHON_ERROR = re.compile(r"^(TypeError|KeyError|AttributeError|ValueError|IndexError|ZeroDivisionError|"
                               r"RecursionError|UnicodeError|UnicodeEncodeError|OverflowError|NameError|"
                               r"UnboundLocalError|AssertionError|StopIteration|RuntimeError)\b")
ANSIBLE_ARGSPEC = re.compile(r"argument|parameter|Unsupported|mutually exclusive|required|one of|must be one of|"
                             r"is of type|cannot be converted|Elements value", re.I)


class ApiReached(Exception):
    """The module sent its first request: its input passed validation."""


EXAMPLES = dict((m, first_example(m)) for m in MODULES)
# the example's window is closed most of the week: a refusal that is right, not a validation
EXAMPLES["maintenance_window"].pop("schedule", None)

HOSTILE_TEXT = st.one_of(
    st.text(min_size=0, max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=("Cs",)),
            min_size=1, max_size=20),
    st.sampled_from([
        "", " ", "a" * 5000, "x" * 64, "UPPER_case", "-leading", "trailing-", "a..b", "../../etc/passwd",
        "gpu=1,evil!=2", "gpu in (a,b),!c", "a=b&fieldSelector=metadata.name%3Dx", "name\nkind: Secret",
        "{{ lookup('env','HOME') }}", "${HOME}", "key: [unclosed", "\x00", "\u202egpu", "ｇｐｕ", "💥",
        "nvidia.com/gpu", "12x", "-5", "1e400", "NaN", "Infinity", "0x10", "true", "null", "~",
    ]))
HOSTILE = st.one_of(
    HOSTILE_TEXT,
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(),
    st.lists(HOSTILE_TEXT, max_size=3),
    st.dictionaries(HOSTILE_TEXT, HOSTILE_TEXT, max_size=3),
)


def keys_of(value):
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(str(k))
            out |= keys_of(v)
    elif isinstance(value, list):
        for v in value:
            out |= keys_of(v)
    return out


@st.composite
def hostile_args(draw, name):
    base = EXAMPLES[name]
    choice = draw(st.integers(min_value=0, max_value=9))
    if choice == 0:
        # an unknown option, somewhere
        where = draw(st.sampled_from([()] + [p for p in value_paths(base) if isinstance(_at(base, p), dict)]))
        target = _at(base, where)
        return with_value(base, where, dict(target, **{draw(HOSTILE_TEXT) or "x": draw(HOSTILE)}))
    path = draw(st.sampled_from(value_paths(base)))
    return with_value(base, path, draw(HOSTILE))


def _at(value, path):
    for key in path:
        value = value[key]
    return value


def run_module(name, args, monkeypatch, capsys):
    """``name``'s main() with ``args``; returns (result dict, requests sent)."""
    import importlib

    from ansible.module_utils import basic
    from ansible.module_utils.common import warnings as ansible_warnings
    from ansible.module_utils.common.text.converters import to_bytes
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})
    # ansible-core 2.21 logs the invocation to syslog first and fails on a NUL byte there ("Failed to
    # log to syslog", the controller's no_target_syslog turns it off), before the module's own
    # validation: without syslog, the module's validation meets the hostile value on every version.
    monkeypatch.setattr(basic.AnsibleModule, "_log_to_syslog", lambda self, msg: None)
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    sent = []

    def first_request(self, method, path, *rest, **kw):
        sent.append((method, path))
        raise ApiReached("%s %s" % (method, path))

    monkeypatch.setattr(gclient.Client, "_request_once", first_request)
    monkeypatch.setattr(gmodule, "get_client", lambda params, **kw: gclient.Client(None))
    mod = importlib.import_module("ansible_collections.gpuaas.orchestration.plugins.modules.%s" % name)
    capsys.readouterr()
    try:
        mod.main()
    except SystemExit:
        pass
    out = capsys.readouterr().out.strip().splitlines()
    assert out, "%s printed no result for %r" % (name, args)
    return json.loads(out[-1]), sent


def check_properties(name, args, result, sent):
    text = json.dumps(result)
    msg = str(result.get("msg", ""))
    assert "Traceback" not in text, (name, args, msg)
    assert not BARE_PYTHON_ERROR.match(msg), (name, args, msg)
    if not result.get("failed"):
        return "accepted"
    if ApiReached.__name__ in msg or "ApiReached" in text:
        return "reached the API"
    assert sent == [], (name, args, "rejected after sending", sent)
    errors = result.get("errors")
    if errors:
        assert all(e.get("field") for e in errors), (name, args, errors)
        return "rejected, field named"
    if ANSIBLE_ARGSPEC.search(msg):
        return "rejected by the argument spec"
    named = [k for k in keys_of(args) if k and k in msg]
    assert named, (name, args, "a rejection that names no field", msg)
    return "rejected, field named"


OUTCOMES = {}


@pytest.mark.parametrize("name", MODULES)
def test_hostile_input_is_rejected_naming_a_field_or_passed_safely(name, monkeypatch, capsys):
    @settings(max_examples=200, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(hostile_args(name))
    def prop(args):
        result, sent = run_module(name, args, monkeypatch, capsys)
        outcome = check_properties(name, args, result, sent)
        OUTCOMES.setdefault(name, {}).setdefault(outcome, 0)
        OUTCOMES[name][outcome] += 1
    prop()


def test_the_examples_themselves_pass_validation(monkeypatch, capsys):
    """The baseline is valid: each example reaches the API (or needs nothing from it)."""
    for name in MODULES:
        result, sent = run_module(name, EXAMPLES[name], monkeypatch, capsys)
        assert not result.get("failed") or "ApiReached" in json.dumps(result), (name, result.get("msg"))
