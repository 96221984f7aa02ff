"""Every role ships what Galaxy / Automation Hub import and a new user need: a README whose variables
section matches the argument spec, metadata with the collection's license, and an example playbook that
the role's own argument spec accepts (so the README cannot show an option the role refuses)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO = Path(__file__).resolve().parents[3]
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks" / "main.yml").exists())


def test_generated_variables_sections_are_up_to_date():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "role_docs.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("role", ROLES)
def test_role_has_readme_and_metadata(role):
    readme = (REPO / "roles" / role / "README.md").read_text()
    assert readme.startswith("# gpuaas.orchestration.%s\n" % role)
    for section in ("## Requirements", "## Example playbook", "## Role variables", "## License"):
        assert section in readme, (role, section)
    assert "GPL-3.0-or-later" in readme
    meta = yaml.safe_load((REPO / "roles" / role / "meta" / "main.yml").read_text())
    assert meta["galaxy_info"]["license"] == "GPL-3.0-or-later"
    assert meta["galaxy_info"]["min_ansible_version"] == "2.19"
    assert meta["dependencies"] == []
    # every option of the argument spec is in the README
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    for name in spec["argument_specs"]["main"]["options"]:
        assert "| `%s` |" % name in readme, (role, name)


def spec_for_validation(options):
    """A role argument spec as ArgumentSpecValidator takes it (descriptions out)."""
    out = {}
    for name, opt in options.items():
        o = {k: v for k, v in opt.items() if k not in ("description", "version_added")}
        if "options" in o:
            o["options"] = spec_for_validation(o["options"])
        out[name] = o
    return out


@pytest.mark.parametrize("role", ROLES)
def test_readme_example_passes_the_role_argument_spec(role):
    readme = (REPO / "roles" / role / "README.md").read_text()
    (example,) = re.findall(r"## Example playbook\n\n```yaml\n(.*?)```", readme, re.S)
    (play,) = yaml.safe_load(example)
    (entry,) = [r for r in play["roles"] if r["role"] == "gpuaas.orchestration.%s" % role]
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = spec_for_validation(spec["argument_specs"]["main"]["options"])
    # the role's defaults fill what the example leaves out (drift_plan comes from the inventory)
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    params = {k: v for k, v in defaults.items() if "{{" not in str(v)}
    params.update(entry.get("vars") or {})
    if role == "drift":
        params.setdefault("drift_plan", {"name": "prod-eu-1"})
    result = ArgumentSpecValidator(options).validate(params)
    assert not result.error_messages, (role, result.error_messages)
