"""DOCUMENTATION, EXAMPLES and RETURN of the Karpenter modules parse, and the documented options
match the argument specs (names, types, required, defaults, choices, elements, suboptions) the way
ansible-test's validate-modules checks them."""
import importlib

import pytest
import yaml

MODULES = ["karpenter_nodepool", "karpenter_capacity", "karpenter_disruption", "karpenter_info"]
AUTH = {"kubeconfig", "context", "host", "api_key", "username", "password", "validate_certs", "ca_cert",
        "client_cert", "client_key", "proxy", "no_proxy", "proxy_headers", "persist_config",
        "impersonate_user", "impersonate_groups"}


def load(name):
    return importlib.import_module("ansible_collections.gpuaas.orchestration.plugins.modules." + name)


def compare(doc_opts, spec, path, problems):
    if set(doc_opts) != set(spec):
        problems.append("%s: documented %s, argument spec %s" % (path, sorted(doc_opts), sorted(spec)))
    for key in set(doc_opts) & set(spec):
        d, s = doc_opts[key], spec[key]
        where = "%s.%s" % (path, key) if path else key
        if d.get("type", "str") != s.get("type", "str"):
            problems.append("%s: type %s vs %s" % (where, d.get("type"), s.get("type")))
        if bool(d.get("required")) != bool(s.get("required")):
            problems.append("%s: required differs" % where)
        if d.get("default") != s.get("default"):
            problems.append("%s: default %r vs %r" % (where, d.get("default"), s.get("default")))
        if d.get("choices") != s.get("choices"):
            problems.append("%s: choices differ" % where)
        if d.get("elements") != s.get("elements"):
            problems.append("%s: elements %r vs %r" % (where, d.get("elements"), s.get("elements")))
        if not d.get("description"):
            problems.append("%s: no description" % where)
        if d.get("suboptions") or s.get("options"):
            compare(d.get("suboptions") or {}, s.get("options") or {}, where, problems)


@pytest.mark.parametrize("name", MODULES)
def test_docs_match_argument_spec(name):
    mod = load(name)
    doc = yaml.safe_load(mod.DOCUMENTATION)
    yaml.safe_load(mod.EXAMPLES)
    ret = yaml.safe_load(mod.RETURN)
    assert doc["module"] == name
    assert doc["extends_documentation_fragment"] == ["kubernetes.core.k8s_auth_options"]
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] in ("full", "none")
    assert "changed" in ret or name == "karpenter_info"
    problems = []
    compare(doc["options"], mod.argument_spec(), "", problems)
    assert not problems, "\n".join(problems)
    assert not (set(doc["options"]) & AUTH)


@pytest.mark.parametrize("name", MODULES)
def test_examples_use_documented_options(name):
    mod = load(name)
    doc = yaml.safe_load(mod.DOCUMENTATION)
    for task in yaml.safe_load(mod.EXAMPLES):
        args = task.get("gpuaas.orchestration." + name)
        if args is None:
            continue
        unknown = set(args) - set(doc["options"])
        assert not unknown, "%s: %s" % (task.get("name"), unknown)
