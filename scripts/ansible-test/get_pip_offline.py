"""Stand-in for ansible-test's pip bootstrap script (get-pip.py) on machines without internet.

ansible-test creates a virtualenv per sanity test and bootstraps pip in it by downloading
get-pip.py from ci-files.testing.ansible.com. Where that host is out of reach but a package
index is not, this script does the same job: pip from the interpreter's bundled wheel
(ensurepip), then the requested pip version from the package index.
"""
import ensurepip
import os
import subprocess
import sys

# get-pip.py's own flags, which `pip install` does not know.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap(upgrade=False)
# ensurepip sets PIP_CONFIG_FILE=/dev/null in this process; the install below must see the
# machine's pip configuration (index, certificates) like any other pip run.
env = {k: v for k, v in os.environ.items() if k != "PIP_CONFIG_FILE"}
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "-q", *args], env=env))
