"""The AWX definitions of awx/ hold together: surveys generated from the roles' argument specs and
up to date, every answer a survey offers (as AWX hands it over: strings for choices and text) and
every schedule's extra_data accepted by the role's own argument spec, playbooks that exist and
run the role, a credential type whose injector AWX can render, and a project requirements file
that installs this checkout with the dependency galaxy.yml declares. The jobs themselves run in
tests/integration/awx."""
import json
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "scripts"))
from awx_surveys import load_templates, role_options  # noqa: E402  pylint: disable=wrong-import-position

TEMPLATES = load_templates()
BY_KEY = dict((t["key"], t) for t in TEMPLATES)
KEYS = list(BY_KEY)
AWX_SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


def survey(key):
    return json.loads((REPO / "awx" / "surveys" / ("%s.json" % key)).read_text())


def validate(role, answers):
    """The role's argument spec, restricted to the answered options, on the answers: its errors."""
    options = role_options(role)
    spec = dict((k, dict(options[k], required=False)) for k in answers)
    return ArgumentSpecValidator(spec).validate(answers).error_messages


def test_surveys_are_up_to_date():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "awx_surveys.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("key", KEYS)
def test_template_runs_a_playbook_of_its_role(key):
    template = BY_KEY[key]
    playbook = REPO / template["playbook"]
    assert playbook.is_file(), template["playbook"]
    text = playbook.read_text()
    assert "gpuaas.orchestration.%s" % template["survey"]["role"] in text, (key, template["survey"]["role"])
    assert template["job_type"] in ("run", "check")
    if template.get("schedule"):
        assert re.match(r"^DTSTART;TZID=[\w/]+:\d{8}T\d{6} RRULE:FREQ=\w+", template["schedule"]["rrule"])


@pytest.mark.parametrize("key", KEYS)
def test_every_answer_a_survey_offers_is_accepted_by_the_role(key):
    template = BY_KEY[key]
    role = template["survey"]["role"]
    spec = survey(key)["spec"]
    assert spec and all(q["type"] in AWX_SURVEY_TYPES for q in spec)
    assert len(set(q["variable"] for q in spec)) == len(spec)
    for q in spec:
        answers = list(q.get("choices") or []) + ([q["default"]] if q["default"] not in ("", None) else [])
        for answer in answers:
            assert not validate(role, {q["variable"]: answer}), (key, q["variable"], answer)
        if q["type"] == "multiplechoice":
            assert q["default"] in q["choices"] or not q["default"], q
        if q["required"]:
            assert q["type"] != "text" or q["min"] >= 1, q


@pytest.mark.parametrize("key", [t["key"] for t in TEMPLATES if t.get("schedule")])
def test_schedule_answers_and_template_variables_are_accepted_by_the_role(key):
    template = BY_KEY[key]
    role = template["survey"]["role"]
    given = dict(template.get("extra_vars") or {})
    given.update(template["schedule"].get("extra_data") or {})
    assert not validate(role, given), given
    # a scheduled launch has nobody to answer a required question: the schedule does
    for q in survey(key)["spec"]:
        if q["required"] and not q["default"]:
            assert q["variable"] in given, (key, q["variable"])


def test_bool_answers_are_read_as_bools_by_the_roles():
    """AWX answers a bool question with the string "true" or "false": a role that tests such a
    variable bare (``when: drift_correct``) would take "false" for true (and ansible-core 2.19
    refuses a string as a condition). Every bool offered by a survey is read through ``| bool``."""
    for t in TEMPLATES:
        role = t["survey"]["role"]
        bools = [q["variable"] for q in survey(t["key"])["spec"] if q.get("choices") == ["true", "false"]]
        for path in (REPO / "roles" / role / "tasks").glob("*.yml"):
            for lineno, line in enumerate(path.read_text().splitlines(), 1):
                # the expressions of the line: {{ ... }} and a condition
                exprs = re.findall(r"\{\{(.*?)\}\}", line)
                if re.match(r"^\s*(- )?(when|failed_when|changed_when|until):", line):
                    exprs.append(line.split(":", 1)[1])
                for expr in exprs:
                    for var in bools:
                        # handed as it is to a module option of type bool is fine (the module converts)
                        if expr.strip() != var and re.search(r"\b%s\b(?!\s*\|\s*bool)" % var, expr):
                            raise AssertionError("%s:%d reads %s without | bool: %s"
                                                 % (path.relative_to(REPO), lineno, var, line.strip()))


def test_kubeconfig_credential_type_renders_as_awx_renders_it():
    ctype = yaml.safe_load((REPO / "awx" / "credential_types" / "kubeconfig.yml").read_text())
    assert ctype["kind"] == "cloud"
    fields = dict((f["id"], f) for f in ctype["inputs"]["fields"])
    assert fields["kubeconfig"]["secret"] and fields["kubeconfig"]["multiline"]
    assert set(ctype["inputs"]["required"]) <= set(fields)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    # AWX renders an input that was not given as an empty string; files first, then the env
    namespace = {"kubeconfig": "apiVersion: v1\nkind: Config\n"}
    files = dict((k.split(".", 1)[1], env.from_string(v).render(**namespace))
                 for k, v in ctype["injectors"]["file"].items())
    assert files == {"kubeconfig": namespace["kubeconfig"]}
    namespace["tower"] = {"filename": {"kubeconfig": "/runner/env/tmpabc"}}
    rendered = dict((k, env.from_string(v).render(**namespace)) for k, v in ctype["injectors"]["env"].items())
    # no K8S_AUTH_CONTEXT: an empty one would name a context "" (the inventory names each host's)
    assert rendered == {"K8S_AUTH_KUBECONFIG": "/runner/env/tmpabc"}


def test_project_requirements_install_this_checkout_and_the_declared_dependency():
    reqs = yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())["collections"]
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    by_name = dict((r["name"], r) for r in reqs)
    assert by_name["gpuaas.orchestration"] == {"name": "gpuaas.orchestration", "type": "dir", "source": "."}
    for dep, version in galaxy["dependencies"].items():
        assert by_name[dep]["version"] == version, dep


def awx_module_options(module):
    """The options of an awx.awx module (the ansible package pinned for the tests carries it)."""
    mod = pytest.importorskip("ansible_collections.awx.awx.plugins.modules.%s" % module)
    return set(yaml.safe_load(mod.DOCUMENTATION)["options"])


# keys of awx/job_templates.yml that are not awx.awx.job_template options: the file's own
KEYS_OF_THE_FILE = {"key", "survey", "schedule"}


@pytest.mark.parametrize("key", KEYS)
def test_templates_and_schedules_are_what_awx_awx_takes(key):
    template = BY_KEY[key]
    assert set(template) - KEYS_OF_THE_FILE <= awx_module_options("job_template"), template
    if template.get("schedule"):
        assert set(template["schedule"]) <= awx_module_options("schedule"), template["schedule"]
    ctype = yaml.safe_load((REPO / "awx" / "credential_types" / "kubeconfig.yml").read_text())
    assert set(ctype) <= awx_module_options("credential_type")


@pytest.mark.parametrize("key", [t["key"] for t in TEMPLATES if t.get("schedule")])
def test_schedule_rrules_parse_as_awx_parses_them(key):
    """AWX parses a schedule's rrule with dateutil (DTSTART with its time zone, then the RRULE)."""
    import datetime
    from dateutil import rrule, tz
    template = BY_KEY[key]
    dtstart, rule = template["schedule"]["rrule"].split(" ", 1)
    zone, start = re.match(r"DTSTART;TZID=([\w/]+):(\d{8}T\d{6})$", dtstart).groups()
    first = datetime.datetime.strptime(start, "%Y%m%dT%H%M%S").replace(tzinfo=tz.gettz(zone))
    occurrences = list(rrule.rrulestr(rule.split(":", 1)[1], dtstart=first).xafter(first, count=3, inc=True))
    assert len(occurrences) == 3
    if key == "maintenance_window":
        # every one a Saturday 22:00 UTC, where the template's allowed hours begin
        window = template["extra_vars"]["maintenance_window_schedule"]
        assert all(o.strftime("%a") in window["days"] and o.strftime("%H:%M") == window["start"] for o in occurrences)


def test_the_guide_creates_what_the_files_define():
    """The playbook in docs/docsite/rst/awx.rst that creates the AWX objects: it parses, passes
    ansible-playbook --syntax-check with awx.awx installed, and sets every option the files hold."""
    text = (REPO / "docs" / "docsite" / "rst" / "awx.rst").read_text()
    block = re.search(r"Creating them as code\n-+\n.*?\.\. code-block:: yaml\n\n(.*?)(?:\n\S|\Z)", text, re.S).group(1)
    playbook = yaml.safe_load("\n".join(line[3:] for line in block.splitlines()))
    tasks = dict((t["name"], t) for t in playbook[0]["tasks"])
    jt = tasks["The job templates"]["awx.awx.job_template"]
    for template in TEMPLATES:
        for option in set(template) - KEYS_OF_THE_FILE:
            assert option in jt, "the guide's playbook does not set %s" % option
    assert set(tasks["The schedules"]["awx.awx.schedule"]) >= {"name", "rrule", "extra_data", "unified_job_template"}
    pytest.importorskip("ansible_collections.awx.awx")
    path = Path(__file__).parent / ".awx-guide-playbook.yml"
    path.write_text(yaml.safe_dump(playbook))
    try:
        proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check", str(path)],
                              capture_output=True, text=True, check=False, cwd=REPO)
    finally:
        path.unlink()
    assert proc.returncode == 0, proc.stdout + proc.stderr
