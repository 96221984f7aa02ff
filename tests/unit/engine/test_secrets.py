"""core/secrets.py and the module base's no_log registration: which values of the auth options
are secrets, and that Ansible masks them in what a module returns."""
import json

import pytest

from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import module as gmodule
from ansible_collections.gpuaas.orchestration.plugins.module_utils.core import secrets

TOKEN = "tok-0123456789abcdef"
KEY = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCnNlY3JldA=="
CERT = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmNlcnQ="
CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmNhY2E="


def kubeconfig():
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "default",
        "clusters": [{"name": "default", "cluster": {
            "server": "https://127.0.0.1:6443", "certificate-authority-data": CA,
            "proxy-url": "http://proxyuser:proxypass@proxy:3128"}}],
        "users": [
            {"name": "default", "user": {"token": TOKEN, "client-key-data": KEY, "client-certificate-data": CERT,
                                         "username": "admin", "password": "hunter2-password"}},
            {"name": "oidc", "user": {"auth-provider": {"name": "oidc", "config": {
                "id-token": "idtoken-abcdef", "refresh-token": "refresh-abcdef", "client-secret": "csecret-abc"}}}},
            {"name": "exec", "user": {"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1",
                                               "args": ["eks", "--token=exec-arg-token"],
                                               "env": [{"name": "AWS_SECRET", "value": "env-secret-value"}]}}},
        ],
        "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default", "namespace": "default"}}],
    }


def test_kubeconfig_secrets_are_found_and_names_are_not():
    found = secrets.kubeconfig_secret_values(kubeconfig())
    for value in (TOKEN, KEY, CERT, CA, "hunter2-password", "idtoken-abcdef", "refresh-abcdef", "csecret-abc",
                  "--token=exec-arg-token", "env-secret-value", "proxyuser:proxypass"):
        assert value in found, value
    # names, the server, the user name and the exec command would blank out ordinary words
    for value in ("default", "oidc", "admin", "aws", "https://127.0.0.1:6443", "AWS_SECRET"):
        assert value not in found, value


@pytest.mark.parametrize("doc", [None, "a string", 7, [], {"users": None}, {"users": ["x", None, {"user": "y"}]},
                                 {"clusters": [{"cluster": None}]}])
def test_kubeconfig_secret_values_of_odd_documents_is_empty(doc):
    assert secrets.kubeconfig_secret_values(doc) == set()


def test_auth_secret_values_of_options_environment_and_files():
    files = {"/tmp/kc": json.dumps(kubeconfig())}
    got = secrets.auth_secret_values({"api_key": "apikey-123456", "kubeconfig": "/tmp/kc",
                                      "proxy_headers": {"proxy_basic_auth": "user:proxy-pw"}},
                                     {"K8S_AUTH_PASSWORD": "env-password"}, read_file=files.get)
    assert {"apikey-123456", "env-password", "user:proxy-pw", TOKEN, KEY}.issubset(got)
    # the file named in the environment when the option is not given
    got = secrets.auth_secret_values({}, {"K8S_AUTH_KUBECONFIG": "/tmp/kc"}, read_file=files.get)
    assert TOKEN in got
    # unreadable or unparsable files give nothing, and no exception

    def broken(path):
        raise IOError(path)
    assert secrets.auth_secret_values({"kubeconfig": "/nope"}, {}, read_file=broken) == set()
    assert secrets.auth_secret_values({"kubeconfig": "/x"}, {}, read_file=lambda p: ": : [") == set()
    # short values are not registered (Ansible would mask every occurrence of them)
    assert secrets.auth_secret_values({"api_key": "abc"}, {}) == set()


def test_auth_spec_makes_secret_options_no_log_and_not_kubeconfig():
    spec = gmodule.auth_spec()
    assert spec["api_key"]["no_log"] is True and spec["password"]["no_log"] is True
    assert spec["kubeconfig"]["no_log"] is False


def test_auth_spec_without_kubernetes_core(monkeypatch):
    # the fallback spec (kubernetes.core missing) gets the same treatment
    monkeypatch.setattr(gmodule, "AUTH_ARG_SPEC", dict((n, dict(type="raw")) for n in ("kubeconfig", "api_key", "password")))
    spec = gmodule.auth_spec()
    assert spec["api_key"]["no_log"] is True and spec["kubeconfig"]["no_log"] is False


def run_module(monkeypatch, capsys, args, body):
    """Run a GpuaasModule in-process (no cluster) and return its JSON output."""
    from ansible.module_utils import basic
    from ansible.module_utils.common import warnings as ansible_warnings
    from ansible.module_utils.common.text.converters import to_bytes
    # warnings are process-global in ansible-core: start each run without the last one's
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with pytest.raises(SystemExit):
        mod = gmodule.GpuaasModule(dict(name=dict(type="str")))
        body(mod)
    return capsys.readouterr().out


@pytest.mark.parametrize("outcome", ["exit", "fail", "invalid", "traceback"])
def test_module_output_masks_every_secret(monkeypatch, capsys, outcome):
    kc = kubeconfig()
    args = {"kubeconfig": kc, "name": "x"}
    if outcome == "invalid":
        args["unknown_option"] = 1   # fails inside argument validation, with the invocation

    def body(mod):
        text = "the token %s and key %s" % (TOKEN, KEY)
        mod.warn(text)
        if outcome == "fail":
            mod.fail_json(msg=text, diff={"before": {"k": KEY}, "after": {}})
        if outcome == "traceback":
            def boom(module):
                raise ValueError(text)
            mod.run(boom)
        mod.exit_json(changed=False, echo=text, kubeconfig_seen=mod.params["kubeconfig"])
    out = run_module(monkeypatch, capsys, args, body)
    assert out.strip()
    for secret in secrets.kubeconfig_secret_values(kc):
        assert secret not in out, secret
    # names are not masked, where the output carries the kubeconfig (exit_json's own value; the
    # invocation, which ansible-core 2.19 adds to failures and 2.21 no longer does)
    if outcome == "exit" or (outcome != "invalid" and '"invocation"' in out):
        assert "default" in out
    if outcome != "invalid":
        assert "the token ********" in out or "the token " in out
