"""A sample of hostile input through every module against the live cluster, in check mode (the
unit properties in tests/unit/properties cover thousands of inputs in-process; this sample
shows the same answers through Ansible and the real API server, whose own validation answers
the dry runs of what passes the modules' checks).

For every module: its first documented example with one value replaced by something hostile
(a fixed, seeded sample); every task ends with a result that is not a traceback, and a rejection
names a field (the module's ``errors``, Ansible's argument check, or the API's answer with its
causes).
"""
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import yaml

from gpuaas_testlib import MODULES, first_example, value_paths, with_value

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
PER_MODULE = 3
HOSTILE = ["", "a" * 300, "Bad_Name", "gpu=1,evil!=2", "a=b&fieldSelector=metadata.name%3Dx", "name\nkind: Secret",
           "${HOME}", "\u202egpu", "💥", "-5", "12x", -1, 2 ** 63, 1.5, True, None, [], {"x": {"y": "z"}}, ["a", 7]]


def sample():
    rng = random.Random(13)
    tasks = []
    for name in MODULES:
        base = first_example(name)
        base.pop("schedule", None)   # a maintenance window's closed schedule is a right refusal
        for n in range(PER_MODULE):
            path = rng.choice(value_paths(base))
            value = rng.choice(HOSTILE)
            tasks.append({"name": "%s %d %s" % (name, n, ".".join(map(str, path))), "ignore_errors": True,
                          "gpuaas.orchestration.%s" % name: with_value(base, path, value)})
    return tasks


def test_hostile_sample_through_every_module_in_check_mode(cluster, tmp_path):
    tasks = sample()
    pb = tmp_path / "hostile.yml"
    pb.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                   "tasks": tasks}]))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), str(pb), "--check"],
                          capture_output=True, text=True, env=cluster.env(), cwd=REPO, timeout=900, check=False)
    results = [(t["task"]["name"], t["hosts"]["localhost"]) for t in json.loads(proc.stdout)["plays"][0]["tasks"]]
    assert len(results) == len(tasks) == PER_MODULE * len(MODULES)
    outcomes = {"accepted": 0, "rejected by the module": 0, "rejected by the argument spec": 0,
                "refused by the API server": 0, "refused otherwise": 0}
    for name, r in results:
        text = json.dumps(r)
        assert "Traceback" not in text, (name, r.get("msg"))
        msg = str(r.get("msg", ""))
        assert not re.match(r"^(TypeError|KeyError|AttributeError|ValueError|IndexError|OverflowError)\b", msg), \
            (name, msg)
        if not r.get("failed"):
            outcomes["accepted"] += 1
        elif r.get("errors"):
            assert all(e.get("field") for e in r["errors"]), (name, r["errors"])
            outcomes["rejected by the module"] += 1
        elif re.search(r"argument|parameter|Unsupported|mutually exclusive|required|one of|is of type", msg, re.I):
            outcomes["rejected by the argument spec"] += 1
        elif r.get("api_error"):
            assert r["api_error"].get("status"), (name, r["api_error"])
            outcomes["refused by the API server"] += 1
        else:
            # refusals that are not about the input's shape (a node that does not exist, ...) say what
            assert msg.strip(), (name, r)
            outcomes["refused otherwise"] += 1
    print("hostile sample, %d inputs in check mode: %s" % (len(results), outcomes))
    assert outcomes["rejected by the module"] + outcomes["rejected by the argument spec"] >= len(results) // 3
