"""An AWX job, the way AWX (and Automation Platform's controller) runs one, without AWX.

What AWX does for a job, and what this does the same way:

* project sync: the project is an SCM checkout (here: the files git tracks), and its
  ``collections/requirements.yml`` is installed with ``ansible-galaxy collection install -r ...
  --collections-path <cache>/requirements_collections`` run in the checkout; AWX's command, with
  kubernetes.core already in that path (a previous sync's, as Galaxy is out of reach here).
* the job's private data dir, as ansible-runner takes it: ``project/``, ``inventory/hosts`` (an
  executable script printing the inventory as JSON, as AWX writes it), ``env/extravars`` (the AWX
  job variables, the template's extra_vars, the survey answers or a schedule's extra_data, the
  launch's variables), ``env/envvars`` (the credentials' injected variables and AWX's own paths),
  ``env/cmdline`` (``--check`` for the job type check).
* the credentials' injectors: the custom type of awx/credential_types/kubeconfig.yml rendered
  with Jinja as AWX renders it (files first, then ``tower.filename``), and the built-in
  "OpenShift or Kubernetes API Bearer Token" type's injection (K8S_AUTH_HOST, K8S_AUTH_API_KEY,
  K8S_AUTH_VERIFY_SSL, K8S_AUTH_SSL_CA_CERT).
* ``ansible-runner run`` with nothing of the caller's environment but PATH (the execution
  environment's Python) and HOME; the result from the runner's artifacts: rc, status, and the
  job events (per task and host results, the play recap).
"""
import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import jinja2
import yaml

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
TEMPLATES = {t["key"]: t for t in yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())["job_templates"]}
KUBECONFIG_TYPE = yaml.safe_load((REPO / "awx" / "credential_types" / "kubeconfig.yml").read_text())
_job_ids = itertools.count(int.from_bytes(os.urandom(2), "big") * 10)


def survey(key):
    return json.loads((REPO / "awx" / "surveys" / ("%s.json" % key)).read_text())


def survey_answers(key, answers=None):
    """The extra vars a survey launch adds: every question's default, replaced by ``answers``,
    validated as AWX validates an answer (type, choices, required, length), as AWX hands them
    over (multiple choice and text as strings, integers as numbers)."""
    out = {}
    answers = answers or {}
    spec = survey(key)["spec"]
    unknown = set(answers) - set(q["variable"] for q in spec)
    assert not unknown, "survey %s has no question for %s" % (key, sorted(unknown))
    for q in spec:
        value = answers.get(q["variable"], q.get("default"))
        if value in ("", None):
            assert not q["required"], "survey %s: %s is required" % (key, q["variable"])
            continue  # AWX leaves an unanswered optional question out
        if q["type"] == "multiplechoice":
            assert value in q["choices"], "survey %s: %r is not a choice of %s" % (key, value, q["variable"])
        elif q["type"] == "integer":
            assert isinstance(value, int) and q["min"] <= value <= q["max"], (key, q["variable"], value)
        elif q["type"] == "text":
            assert isinstance(value, str) and q["min"] <= len(value) <= q["max"], (key, q["variable"], value)
        out[q["variable"]] = value
    return out


def kubeconfig_credential_injection(inputs, env_dir):
    """What AWX injects for a credential of the custom type: its files written, its env rendered."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    namespace = dict((f["id"], inputs.get(f["id"], "")) for f in KUBECONFIG_TYPE["inputs"]["fields"])
    missing = [r for r in KUBECONFIG_TYPE["inputs"].get("required", []) if not namespace.get(r)]
    assert not missing, "the credential lacks required inputs %s" % missing
    filenames = {}
    for key, template in (KUBECONFIG_TYPE["injectors"].get("file") or {}).items():
        name = key.split(".", 1)[1]
        path = env_dir / ("tmp-%s-%s" % (name, os.urandom(3).hex()))
        path.write_text(env.from_string(template).render(**namespace))
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        filenames[name] = str(path)
    namespace["tower"] = {"filename": filenames}
    return dict((k, env.from_string(v).render(**namespace))
                for k, v in (KUBECONFIG_TYPE["injectors"].get("env") or {}).items())


def bearer_token_credential_injection(inputs, env_dir):
    """What AWX injects for its built-in Kubernetes bearer token credential type."""
    out = {"K8S_AUTH_HOST": inputs["host"], "K8S_AUTH_API_KEY": inputs["bearer_token"]}
    if inputs.get("verify_ssl") and inputs.get("ssl_ca_cert"):
        path = env_dir / ("tmp-ca-%s" % os.urandom(3).hex())
        path.write_text(inputs["ssl_ca_cert"])
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        out.update(K8S_AUTH_VERIFY_SSL="True", K8S_AUTH_SSL_CA_CERT=str(path))
    else:
        out["K8S_AUTH_VERIFY_SSL"] = "False"
    return out


class Project:
    """The project: an SCM checkout of the repository and its synced requirements."""

    def __init__(self, root):
        self.root = Path(root)
        self.checkout = self.root / "project"
        self.collections = self.root / "requirements_collections"

    def sync(self):
        files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True).stdout
        self.checkout.mkdir(parents=True)
        for rel in filter(None, files.decode().split("\0")):
            src, dst = REPO / rel, self.checkout / rel
            if src.is_file():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        core = REPO / "collections" / "ansible_collections" / "kubernetes" / "core"
        shutil.copytree(core.resolve(), self.collections / "ansible_collections" / "kubernetes" / "core")
        proc = subprocess.run(
            [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "-r", "collections/requirements.yml",
             "--collections-path", str(self.collections)],
            cwd=self.checkout, capture_output=True, text=True, check=False, timeout=300,
            env={"PATH": "%s:/usr/bin:/bin" % VENV_BIN, "HOME": os.environ.get("HOME", "/root"),
                 "ANSIBLE_COLLECTIONS_PATH": str(self.collections), "ANSIBLE_FORCE_COLOR": "false"})
        assert proc.returncode == 0, "project sync failed:\n%s\n%s" % (proc.stdout, proc.stderr)
        return proc.stdout


class JobResult:
    def __init__(self, rc, status, events, stdout):
        self.rc, self.status, self.events, self.stdout = rc, status, events, stdout

    @property
    def stats(self):
        for e in reversed(self.events):
            if e.get("event") == "playbook_on_stats":
                return e["event_data"]
        raise AssertionError("no play recap in the job's events:\n%s" % self.stdout[-4000:])

    def changed(self):
        return sum((self.stats.get("changed") or {}).values())

    def failures(self):
        return sum((self.stats.get("failures") or {}).values())

    def task_results(self, task_suffix):
        """Results (``res``) of the tasks whose names end with ``task_suffix``, in order."""
        return [e["event_data"]["res"] for e in self.events
                if e.get("event") in ("runner_on_ok", "runner_on_failed")
                and (e["event_data"].get("task") or "").endswith(task_suffix)]

    def __repr__(self):
        return "JobResult(rc=%s, status=%s)\n%s" % (self.rc, self.status, self.stdout[-6000:])


def inventory_script(groups_hosts, hostvars):
    """AWX's inventory: an executable that prints the inventory as JSON (``--list``)."""
    data = {"all": {"children": sorted(groups_hosts)}, "_meta": {"hostvars": hostvars}}
    for group, hosts in groups_hosts.items():
        data[group] = {"hosts": hosts}
    return "#!%s\nimport json, sys\nprint(json.dumps(%s) if '--list' in sys.argv else '{}')\n" % (
        sys.executable, json.dumps(data))


def launch(project, work, key, inventory, credential_env, job_type=None, answers=None, schedule=False,
           extra_vars=None, timeout=900):
    """Launch job template ``key`` of awx/job_templates.yml; return a JobResult.

    ``inventory``: (groups -> hosts, hostvars); ``credential_env``: a function of the job's env
    dir returning what the credentials inject; ``answers``: the survey's answers (the rest default);
    ``schedule``: launched by the template's schedule (its extra_data instead of survey answers);
    ``extra_vars``: the launch's variables (a template asking for them)."""
    template = TEMPLATES[key]
    job_id = next(_job_ids)
    job_type = job_type or template["job_type"]
    assert job_type == template["job_type"] or template.get("ask_job_type_on_launch"), \
        "template %s does not ask for the job type" % key
    assert not extra_vars or template.get("ask_variables_on_launch"), "template %s does not ask for variables" % key
    pdd = Path(work) / ("job-%d" % job_id)
    (pdd / "env").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    hosts = pdd / "inventory" / "hosts"
    hosts.write_text(inventory_script(*inventory))
    hosts.chmod(0o700)
    variables = {
        "awx_job_id": job_id, "tower_job_id": job_id, "awx_job_launch_type": "scheduled" if schedule else "manual",
        "awx_job_template_name": template["name"], "tower_job_template_name": template["name"],
        "awx_user_name": "platform-admin", "awx_inventory_name": "gpu-clusters",
    }
    variables.update(template.get("extra_vars") or {})
    if schedule:
        variables["awx_schedule_name"] = template["schedule"]["name"]
    if template.get("survey"):
        if schedule:
            # a schedule's extra_data answers the survey (the rest keeps its defaults) and may
            # carry other variables too
            questions = set(q["variable"] for q in survey(key)["spec"])
            data = template["schedule"].get("extra_data") or {}
            answers = dict((k, v) for k, v in data.items() if k in questions)
            variables.update((k, v) for k, v in data.items() if k not in questions)
        variables.update(survey_answers(key, answers))
    variables.update(extra_vars or {})
    (pdd / "env" / "extravars").write_text(json.dumps(variables))
    env = {
        # AWX: the synced collections first, then the project's own ansible.cfg paths and the defaults
        "ANSIBLE_COLLECTIONS_PATH": "%s:./collections:~/.ansible/collections:/usr/share/ansible/collections" % (
            project.collections),
        "ANSIBLE_ROLES_PATH": "%s:./roles:~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles" % (
            project.root / "requirements_roles"),
        "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_FORCE_COLOR": "False",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "JOB_ID": str(job_id), "AWX_HOST": "https://awx.example.com",
    }
    env.update(credential_env(pdd / "env"))
    (pdd / "env" / "envvars").write_text(json.dumps(env))
    if job_type == "check":
        (pdd / "env" / "cmdline").write_text("--check --diff")
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-runner"), "run", str(pdd), "-p", template["playbook"],
         "--project-dir", str(project.checkout), "--ident", "job", "-q"],
        capture_output=True, text=True, check=False, timeout=timeout,
        env={"PATH": "%s:/usr/bin:/bin" % VENV_BIN, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"})
    artifacts = pdd / "artifacts" / "job"
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else proc.stdout + proc.stderr
    # job_events/<counter>-<uuid>.json, in the order the events happened
    event_files = sorted((artifacts / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-", 1)[0]))
    events = [json.loads(p.read_text()) for p in event_files]
    status = (artifacts / "status").read_text().strip() if (artifacts / "status").exists() else "error"
    rc = int((artifacts / "rc").read_text()) if (artifacts / "rc").exists() else proc.returncode
    return JobResult(rc, status, events, stdout)
