"""The local simulated GPU cluster: real components, fake kubelets.

    cluster.py up        build (cached) and start everything, or reuse a running cluster;
                         prints the kubeconfig path as the last line
    cluster.py down      stop every process this script started (recorded PIDs, not names)
    cluster.py status    say whether it runs, and where
    cluster.py stop NAME / start NAME   stop one component, start it again with its recorded
                         command line (fault tests: tests/faults)

Components, all on 127.0.0.1: etcd 3.6, kube-apiserver / kube-controller-manager /
kube-scheduler 1.36, the KWOK controller (fake kubelets: Nodes and Pods without containers),
Kueue 0.19 (webhooks, conversion webhooks and the visibility API; Job and JobSet integrations),
the JobSet 0.12 controller (and its webhooks), Karpenter 1.14 with its KWOK cloud provider and GPU
instance types, and the CRDs of Gateway API and its Inference Extension.

How the API server reaches Kueue without leaving loopback: webhooks, CRD conversion and the
aggregated visibility API all name Services of type ExternalName whose externalName is
127.0.0.1. The API server's default service resolver turns an ExternalName service into
https://<externalName>:<port> (the Endpoints/EndpointSlice route would refuse loopback
addresses), and Kueue's own certificate rotator issues the serving certificate for
<service>.<namespace>.svc, which is the TLS server name the API server verifies.

State lives in .cluster/ (or $GPUAAS_CLUSTER_DIR): PKI, configs, logs, pids, etcd data.
"""
import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STATE = Path(os.environ.get("GPUAAS_CLUSTER_DIR", REPO / ".cluster"))
HOST = "127.0.0.1"
CONTEXT = "gpuaas-local"

PORTS = {
    "etcd": 23790,
    "etcd-peer": 23800,
    "apiserver": 26443,
    "controller-manager": 26257,
    "scheduler": 26259,
    "kwok": 26080,
    "kueue-webhook": 26943,
    "kueue-metrics": 26980,
    "kueue-health": 26981,
    "kueue-visibility": 26982,
    "jobset-webhook": 26944,
    "jobset-health": 26945,
    "karpenter-metrics": 26990,
    "karpenter-health": 26991,
}
# GPUAAS_PORT_OFFSET moves every port, so that a second checkout (a CI dry run, say) can run
# its own cluster beside this one.
_OFFSET = int(os.environ.get("GPUAAS_PORT_OFFSET", "0"))
PORTS = {name: port + _OFFSET for name, port in PORTS.items()}
# Start order; `down` stops in reverse.
COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
              "kueue", "jobset", "karpenter"]


def log(msg):
    print(f"[cluster] {msg}", file=sys.stderr, flush=True)


def versions():
    out = {}
    for line in (HERE / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k] = v
    return out


# ----------------------------------------------------------------------------- processes

def pid_file(name):
    return STATE / "pids" / f"{name}.pid"


def read_pid(name):
    """The recorded PID of a component, if that process still runs the recorded binary."""
    try:
        pid, exe = pid_file(name).read_text().split("\n", 1)
        pid = int(pid)
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return None
    # Guard against PID reuse: the process must still be the binary we started.
    return pid if cmdline == exe.strip() else None


_STARTED = {}


def start(name, argv, env=None):
    logf = open(STATE / "logs" / f"{name}.log", "ab")
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=full_env, start_new_session=True, cwd=STATE)
    pid_file(name).write_text(f"{proc.pid}\n{argv[0]}\n")
    # the command line, so that `cluster.py start NAME` can start it again the same way (fault tests)
    (STATE / "pids" / f"{name}.cmd.json").write_text(json.dumps({"argv": list(argv), "env": env or {}}))
    _STARTED[name] = proc
    return proc


def stop_component(name):
    """Stop one component (fault tests: the API server restarted, Kueue or Karpenter down)."""
    if name not in COMPONENTS:
        raise SystemExit(f"unknown component {name!r}; one of {', '.join(COMPONENTS)}")
    log(f"{name}: {'stopped' if stop(name) else 'was not running'}")


def start_component(name, timeout=90):
    """Start one stopped component again with its recorded command line; wait until it serves."""
    if read_pid(name):
        log(f"{name}: already running")
        return
    recorded = json.loads((STATE / "pids" / f"{name}.cmd.json").read_text())
    start(name, recorded["argv"], env=recorded["env"])
    if name == "kube-apiserver":
        wait_for("kube-apiserver /readyz", lambda: api_ready(STATE / "pki"), timeout, name)
    elif name == "kueue":
        wait_for("Kueue readiness probe", lambda: _http_ok(PORTS["kueue-health"], "/readyz"), timeout, name)
    elif name == "karpenter":
        wait_for("Karpenter readiness probe", lambda: _http_ok(PORTS["karpenter-health"], "/readyz"), timeout, name)
    log(f"{name}: started again")


def stop(name, timeout=15):
    pid = read_pid(name)
    if pid is None:
        pid_file(name).unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.time() + timeout
    while time.time() < deadline and Path(f"/proc/{pid}").exists():
        if _is_zombie(pid):
            break
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
        log(f"{name} (pid {pid}) ignored SIGTERM for {timeout}s: SIGKILL")
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        time.sleep(0.2)
    pid_file(name).unlink(missing_ok=True)
    return True


def _is_zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((HOST, port)) == 0


def wait_for(what, check, timeout, name=None):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - keep polling; report the last error
            last = exc
        if name and name in _STARTED and _STARTED[name].poll() is not None:
            raise SystemExit(f"{name} exited while waiting for {what}; see {STATE}/logs/{name}.log:\n"
                             + tail(STATE / "logs" / f"{name}.log"))
        time.sleep(0.25)
    raise SystemExit(f"timed out after {timeout}s waiting for {what} (last error: {last})"
                     + (f"; see {STATE}/logs/{name}.log:\n" + tail(STATE / "logs" / f"{name}.log")
                        if name else ""))


def tail(path, n=25):
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


# ----------------------------------------------------------------------------- PKI

def openssl(*args, **kw):
    subprocess.run(["openssl", *args], check=True, capture_output=True, **kw)


def make_cert(pki, name, cn, ca="ca", org=None, sans=None, client=False):
    key, crt = pki / f"{name}.key", pki / f"{name}.crt"
    if crt.exists():
        return
    subj = f"/CN={cn}" + (f"/O={org}" if org else "")
    # PKCS#1 keys: Kueue's certificate rotator parses no other format.
    openssl("genrsa", "-traditional", "-out", str(key), "2048")
    openssl("req", "-new", "-key", str(key), "-subj", subj, "-out", str(pki / f"{name}.csr"))
    ext = pki / f"{name}.ext"
    lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
             "extendedKeyUsage=" + ("clientAuth" if client else "serverAuth,clientAuth")]
    if sans:
        lines.append("subjectAltName=" + ",".join(sans))
    ext.write_text("\n".join(lines) + "\n")
    openssl("x509", "-req", "-in", str(pki / f"{name}.csr"), "-CA", str(pki / f"{ca}.crt"),
            "-CAkey", str(pki / f"{ca}.key"), "-CAcreateserial", "-days", "3650",
            "-extfile", str(ext), "-out", str(crt))


def make_pki():
    pki = STATE / "pki"
    pki.mkdir(parents=True, exist_ok=True)
    # Kueue's rotator accepts a CA only if it verifies for the DNS name "kueue-ca".
    for ca, subj, ext in (("ca", "/CN=gpuaas-local-ca", []),
                          ("front-proxy-ca", "/CN=gpuaas-local-front-proxy-ca", []),
                          ("kueue-ca", "/O=kueue/CN=kueue-ca",
                           ["-addext", "subjectAltName=DNS:kueue-ca"])):
        if not (pki / f"{ca}.crt").exists():
            openssl("genrsa", "-traditional", "-out", str(pki / f"{ca}.key"), "2048")
            openssl("req", "-x509", "-new", "-key", str(pki / f"{ca}.key"), "-subj", subj, *ext,
                    "-days", "3650", "-out", str(pki / f"{ca}.crt"))
    make_cert(pki, "apiserver", "kube-apiserver", sans=[
        "IP:127.0.0.1", "IP:10.96.0.1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"])
    make_cert(pki, "admin", "gpuaas-admin", org="system:masters", client=True)
    make_cert(pki, "front-proxy-client", "front-proxy-client", ca="front-proxy-ca", client=True)
    make_cert(pki, "kueue-webhook", "kueue-webhook-service.kueue-system.svc", ca="kueue-ca", sans=[
        "DNS:kueue-webhook-service.kueue-system.svc",
        "DNS:kueue-webhook-service.kueue-system.svc.cluster.local"])
    make_cert(pki, "jobset-webhook", "jobset-webhook-service.jobset-system.svc", sans=[
        "DNS:jobset-webhook-service.jobset-system.svc",
        "DNS:jobset-webhook-service.jobset-system.svc.cluster.local"])
    if not (pki / "sa.key").exists():
        openssl("genrsa", "-out", str(pki / "sa.key"), "2048")
        openssl("rsa", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))
    return pki


def write_kubeconfig(pki):
    path = STATE / "kubeconfig"
    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
        "clusters": [{"name": CONTEXT, "cluster": {
            "server": f"https://{HOST}:{PORTS['apiserver']}",
            "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": "gpuaas-admin", "user": {
            "client-certificate": str(pki / "admin.crt"), "client-key": str(pki / "admin.key")}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "gpuaas-admin"}}],
    }
    path.write_text(json.dumps(cfg, indent=2))
    return path


# ----------------------------------------------------------------------------- API access

def api_ready(pki):
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    with urllib.request.urlopen(f"https://{HOST}:{PORTS['apiserver']}/readyz", context=ctx,
                                timeout=3) as r:
        return r.status == 200


def kubectl(bin_dir, *args, input=None, check=True):
    kc = str(STATE / "kubeconfig")
    proc = subprocess.run([str(bin_dir / "kubectl"), "--kubeconfig", kc, *args], input=input,
                          capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def apply(bin_dir, docs, server_side=True):
    """Apply YAML/JSON documents (list of dicts) with server-side apply."""
    payload = "\n---\n".join(json.dumps(d) for d in docs)
    args = ["apply", "-f", "-"]
    if server_side:
        args += ["--server-side", "--force-conflicts", "--field-manager=gpuaas-cluster"]
    kubectl(bin_dir, *args, input=payload)


def load_yaml_docs(path):
    import yaml
    return [d for d in yaml.safe_load_all(Path(path).read_text()) if d]


def go_module_dir(module, version):
    out = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"})
    return Path(json.loads(out.stdout)["Dir"])


# ----------------------------------------------------------------------------- components

def start_etcd(bin_dir):
    data = STATE / "etcd"
    start("etcd", [str(bin_dir / "etcd"), "--name=gpuaas-local", f"--data-dir={data}",
                   f"--listen-client-urls=http://{HOST}:{PORTS['etcd']}",
                   f"--advertise-client-urls=http://{HOST}:{PORTS['etcd']}",
                   f"--listen-peer-urls=http://{HOST}:{PORTS['etcd-peer']}",
                   f"--initial-advertise-peer-urls=http://{HOST}:{PORTS['etcd-peer']}",
                   f"--initial-cluster=gpuaas-local=http://{HOST}:{PORTS['etcd-peer']}",
                   "--listen-metrics-urls=", "--quota-backend-bytes=4294967296",
                   "--unsafe-no-fsync=true", "--log-level=warn"])
    wait_for("etcd", lambda: port_open(PORTS["etcd"]), 30, "etcd")


# The main resources (not their status) whose write requests the tests count: the API server's
# apiserver_request_total counts them per resource, and the audit log says which object each
# write was for, so that a test can tell its own writes from those of the tests running beside it
# (tests/gpuaas_testlib.py WriteCounter).
AUDITED_WRITES = {
    "": ["namespaces", "configmaps"],
    "kueue.x-k8s.io": ["resourceflavors", "clusterqueues", "localqueues", "cohorts", "workloadpriorityclasses",
                       "admissionchecks", "topologies", "workloads"],
    "karpenter.sh": ["nodepools", "nodeclaims"],
    "scheduling.k8s.io": ["priorityclasses"],
    "rbac.authorization.k8s.io": ["roles", "rolebindings"],
    "batch": ["jobs"],
    "jobset.x-k8s.io": ["jobsets"],
    "gateway.networking.k8s.io": ["httproutes"],
    "inference.networking.k8s.io": ["inferencepools"],
}

AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
    "rules": [
        # What the collection's ServiceAccounts (rbac/serviceaccounts.yaml) send:
        # tests/integration/security compares it with the ClusterRoles' rules.
        {"level": "Metadata", "userGroups": ["system:serviceaccounts:gpuaas-system"]},
        # Writes to the counted resources, by anyone.
        {"level": "Metadata", "verbs": ["create", "update", "patch", "delete", "deletecollection"],
         "resources": [{"group": g, "resources": r} for g, r in AUDITED_WRITES.items()]},
        {"level": "None"}],
}


def start_apiserver(bin_dir, pki):
    policy = STATE / "audit-policy.json"
    policy.write_text(json.dumps(AUDIT_POLICY))
    start("kube-apiserver", [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers=http://{HOST}:{PORTS['etcd']}",
        f"--bind-address={HOST}", f"--advertise-address={HOST}",
        f"--secure-port={PORTS['apiserver']}",
        f"--tls-cert-file={pki}/apiserver.crt", f"--tls-private-key-file={pki}/apiserver.key",
        f"--client-ca-file={pki}/ca.crt",
        f"--service-account-key-file={pki}/sa.pub",
        f"--service-account-signing-key-file={pki}/sa.key",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range=10.96.0.0/16",
        "--authorization-mode=RBAC",
        # KWOK pods run no containers: no service account tokens to mount, and no race between
        # a new namespace and its default ServiceAccount.
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        # Aggregation layer (Kueue's visibility API).
        f"--requestheader-client-ca-file={pki}/front-proxy-ca.crt",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-username-headers=X-Remote-User",
        f"--proxy-client-cert-file={pki}/front-proxy-client.crt",
        f"--proxy-client-key-file={pki}/front-proxy-client.key",
        # Tests and benchmarks burst: no client-side throttling surprises from the server.
        "--max-requests-inflight=1000", "--max-mutating-requests-inflight=500",
        f"--audit-policy-file={policy}", f"--audit-log-path={STATE / 'logs' / 'audit.log'}",
        "--audit-log-maxsize=100", "--audit-log-format=json",
        "--profiling=false", "--v=1",
    ])
    wait_for("kube-apiserver /readyz", lambda: api_ready(pki), 60, "kube-apiserver")


def start_controllers(bin_dir, pki):
    kc = str(STATE / "kubeconfig")
    common = [f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
              f"--authorization-kubeconfig={kc}", f"--bind-address={HOST}", "--leader-elect=false",
              "--profiling=false"]
    start("kube-controller-manager", [
        str(bin_dir / "kube-controller-manager"), *common,
        f"--secure-port={PORTS['controller-manager']}",
        f"--service-account-private-key-file={pki}/sa.key", f"--root-ca-file={pki}/ca.crt",
        f"--cluster-signing-cert-file={pki}/ca.crt", f"--cluster-signing-key-file={pki}/ca.key",
        "--use-service-account-credentials=false",
        # taint-eviction-controller: KWOK registers Karpenter's nodes within milliseconds, and
        # the controller's informer can still see the karpenter.sh/unregistered:NoExecute taint
        # on a node the scheduler just bound a pod to (the taint was already removed), then
        # deletes that pod at once. Real kubelets register slowly enough never to show this; here
        # it made provisioning tests flaky. Nothing in the simulated fleet relies on NoExecute
        # eviction (drains use the eviction API; Karpenter drains nodes itself).
        "--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle,-taint-eviction-controller",
        "--kube-api-qps=200", "--kube-api-burst=400", "--concurrent-gc-syncs=50",
        "--v=1",
    ])
    start("kube-scheduler", [
        str(bin_dir / "kube-scheduler"), *common, f"--secure-port={PORTS['scheduler']}", "--v=1",
    ])
    stages = STATE / "kwok-stages.yaml"
    stages.write_text("\n".join(f.read_text() for f in sorted((HERE / "kwok-stages").glob("*.yaml"))))
    start("kwok", [
        str(bin_dir / "kwok"), f"--kubeconfig={kc}", f"--config={stages}",
        "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        f"--server-address={HOST}:{PORTS['kwok']}", "--node-lease-duration-seconds=40",
        "--cidr=10.0.0.1/16", "--node-ip=10.255.0.1",
    ])


def install_crds(bin_dir, v):
    kueue = go_module_dir("sigs.k8s.io/kueue", v["KUEUE_VERSION"])
    karpenter = go_module_dir("sigs.k8s.io/karpenter", v["KARPENTER_VERSION"])
    gateway = go_module_dir("sigs.k8s.io/gateway-api", v["GATEWAY_API_VERSION"])
    gie = go_module_dir("sigs.k8s.io/gateway-api-inference-extension",
                        v["INFERENCE_EXTENSION_VERSION"])
    jobset = go_module_dir("sigs.k8s.io/jobset", v["JOBSET_VERSION"])
    docs = []
    ca_bundle = base64.b64encode((STATE / "pki" / KUEUE_CERT_FILES["ca.crt"]).read_bytes()).decode()
    conversion = {p.name.replace("webhook_in_", "").replace(".yaml", "")
                  for p in (kueue / "config/components/crd/patches").glob("webhook_in_*.yaml")}
    for f in sorted((kueue / "config/components/crd/bases").glob("*.yaml")):
        for d in load_yaml_docs(f):
            plural = d["metadata"]["name"].split(".")[0]
            if plural in conversion:
                # The conversion webhook Kueue's kustomization patches in, pointed at our service,
                # with our CA: Kueue's certificate rotator injects it into some of these CRDs but
                # not into resourceflavors (v0.19.2), and without it the API server cannot convert
                # stored ResourceFlavors to v1beta1 once it restarts (its v1beta1 watch cache
                # then retries a failing list every second; fault tests restart it).
                d["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {
                    "conversionReviewVersions": ["v1"],
                    "clientConfig": {"caBundle": ca_bundle,
                                     "service": {"namespace": "kueue-system",
                                                 "name": "kueue-webhook-service",
                                                 "path": "/convert",
                                                 "port": PORTS["kueue-webhook"]}}}}
            docs.append(d)
    for f in sorted((karpenter / "pkg/apis/crds").glob("karpenter.sh_*.yaml")):
        docs += load_yaml_docs(f)
    docs += load_yaml_docs(karpenter / "kwok/apis/crds/karpenter.kwok.sh_kwoknodeclasses.yaml")
    # JobSet serves one version (v1alpha2): no conversion webhook.
    docs += load_yaml_docs(jobset / "config/components/crd/bases/jobset.x-k8s.io_jobsets.yaml")
    std = gateway / "config/crd/standard"
    for f in sorted(std.glob("*.yaml")):
        docs += [d for d in load_yaml_docs(f) if d.get("kind") == "CustomResourceDefinition"]
    for f in sorted((gie / "config/crd/bases").glob("*.yaml")):
        docs += [d for d in load_yaml_docs(f) if d.get("kind") == "CustomResourceDefinition"]
    apply(bin_dir, docs)
    names = [d["metadata"]["name"] for d in docs]
    kubectl(bin_dir, "wait", "--for=condition=Established", "--timeout=60s",
            *[f"crd/{n}" for n in names])
    return kueue, jobset


def kueue_objects(kueue):
    """Namespace, ExternalName services, webhook configurations and the visibility APIService."""
    ns = "kueue-system"
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            # Kueue's certificate rotator keeps this Secret and expects the kubelet to mount it
            # into its cert dir. There is no kubelet here: we issue the certificate ourselves,
            # put it in the Secret (the rotator finds it valid and only injects the CA bundle
            # into the webhook configurations and CRDs) and write the same files to the dir.
            {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"name": "kueue-webhook-server-cert", "namespace": ns},
             "data": {k: base64.b64encode((STATE / "pki" / f).read_bytes()).decode()
                      for k, f in KUEUE_CERT_FILES.items()}}]
    for name, port in (("kueue-webhook-service", PORTS["kueue-webhook"]),
                       ("kueue-visibility-server", PORTS["kueue-visibility"])):
        docs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": name, "namespace": ns},
                     "spec": {"type": "ExternalName", "externalName": HOST,
                              "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}})
    # Only the webhooks of what this cluster runs: Kueue's own kinds, batch/v1 Jobs and JobSets.
    keep_groups = {"kueue.x-k8s.io", "batch", "jobset.x-k8s.io"}
    for d in load_yaml_docs(kueue / "config/components/webhook/manifests.yaml"):
        d["metadata"]["name"] = "kueue-" + d["metadata"]["name"]
        hooks = []
        for h in d["webhooks"]:
            if not set(h["rules"][0]["apiGroups"]) & keep_groups:
                continue
            svc = h["clientConfig"]["service"]
            svc.update(namespace=ns, name="kueue-webhook-service", port=PORTS["kueue-webhook"])
            hooks.append(h)
        d["webhooks"] = hooks
        docs.append(d)
    for version in ("v1beta2", "v1beta1"):
        f = kueue / f"config/components/visibility/apiservice_{version}.yaml"
        if not f.exists():
            continue
        for d in load_yaml_docs(f):
            d["spec"]["service"] = {"name": "kueue-visibility-server", "namespace": ns,
                                    "port": PORTS["kueue-visibility"]}
            docs.append(d)
    return docs


KUEUE_CERT_FILES = {"ca.crt": "kueue-ca.crt", "ca.key": "kueue-ca.key", "tls.crt": "kueue-webhook.crt",
                    "tls.key": "kueue-webhook.key"}


def start_kueue(bin_dir, kueue):
    certs = STATE / "kueue" / "webhook-certs"
    certs.mkdir(parents=True, exist_ok=True)
    for name, src in KUEUE_CERT_FILES.items():
        (certs / name).write_bytes((STATE / "pki" / src).read_bytes())
    config = STATE / "kueue" / "config.yaml"
    config.write_text(json.dumps({
        "apiVersion": "config.kueue.x-k8s.io/v1beta2", "kind": "Configuration",
        "namespace": "kueue-system",
        "health": {"healthProbeBindAddress": f"{HOST}:{PORTS['kueue-health']}"},
        "metrics": {"bindAddress": f"{HOST}:{PORTS['kueue-metrics']}"},
        "webhook": {"host": HOST, "port": PORTS["kueue-webhook"], "certDir": str(certs)},
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": True, "webhookServiceName": "kueue-webhook-service",
                                   "webhookSecretName": "kueue-webhook-server-cert"},
        "visibilityServer": {"bindAddress": HOST, "bindPort": PORTS["kueue-visibility"]},
        "clientConnection": {"qps": 100, "burst": 200},
        "integrations": {"frameworks": ["batch/job", "jobset.x-k8s.io/jobset"]},
        "waitForPodsReady": None,
    }, indent=1))
    start("kueue", [str(bin_dir / "kueue"), f"--config={config}",
                    f"--kubeconfig={STATE / 'kubeconfig'}", "--zap-log-level=info"],
          env={"NAMESPACE": "kueue-system", "KUBECONFIG": str(STATE / "kubeconfig")})
    wait_for("Kueue readiness probe", lambda: _http_ok(PORTS["kueue-health"], "/readyz"), 90, "kueue")

    def webhook_serves():
        # A server-side dry-run create goes through the mutating and validating webhooks.
        rf = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor",
              "metadata": {"name": "cluster-up-probe"}}
        return kubectl(bin_dir, "create", "--dry-run=server", "-f", "-",
                       input=json.dumps(rf), check=False).returncode == 0
    wait_for("Kueue webhooks to admit a dry-run ResourceFlavor", webhook_serves,
             int(os.environ.get("GPUAAS_KUEUE_TIMEOUT", "90")), "kueue")


def jobset_objects(jobset):
    """Namespace, the ExternalName webhook service and JobSet's webhook configurations.

    JobSet's certificate rotator writes to a fixed /tmp path, which two clusters of this project
    would share; so its internal certificate management is off, the cluster CA issues the serving
    certificate, and the CA bundle goes into the webhook configurations here."""
    ns = "jobset-system"
    ca_bundle = base64.b64encode((STATE / "pki" / "ca.crt").read_bytes()).decode()
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": "jobset-webhook-service", "namespace": ns},
             "spec": {"type": "ExternalName", "externalName": HOST,
                      "ports": [{"name": "https", "port": PORTS["jobset-webhook"], "protocol": "TCP"}]}}]
    for d in load_yaml_docs(jobset / "config/components/webhook/manifests.yaml"):
        d["metadata"]["name"] = "jobset-" + d["metadata"]["name"]
        for h in d["webhooks"]:
            h["clientConfig"]["service"].update(namespace=ns, name="jobset-webhook-service",
                                                port=PORTS["jobset-webhook"])
            h["clientConfig"]["caBundle"] = ca_bundle
            if h["rules"][0]["resources"] == ["pods"]:
                # JobSet's kustomize patch: its pod webhooks see only the pods of JobSets.
                h["objectSelector"] = {"matchExpressions": [
                    {"key": "jobset.sigs.k8s.io/jobset-name", "operator": "Exists"}]}
        docs.append(d)
    return docs


def start_jobset(bin_dir):
    certs = STATE / "jobset" / "webhook-certs"
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "tls.crt").write_bytes((STATE / "pki" / "jobset-webhook.crt").read_bytes())
    (certs / "tls.key").write_bytes((STATE / "pki" / "jobset-webhook.key").read_bytes())
    config = STATE / "jobset" / "config.yaml"
    config.write_text(json.dumps({
        "apiVersion": "config.jobset.x-k8s.io/v1alpha1", "kind": "Configuration",
        "webhook": {"host": HOST, "port": PORTS["jobset-webhook"], "certDir": str(certs)},
        "health": {"healthProbeBindAddress": f"{HOST}:{PORTS['jobset-health']}"},
        "metrics": {"bindAddress": "0"},  # "0": no metrics server (it would bind every interface)
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        "clientConnection": {"qps": 100, "burst": 200},
    }, indent=1))
    start("jobset", [str(bin_dir / "jobset-controller"), f"--config={config}",
                     f"--kubeconfig={STATE / 'kubeconfig'}", "--zap-devel=false"],
          env={"KUBECONFIG": str(STATE / "kubeconfig")})
    wait_for("JobSet readiness probe", lambda: _http_ok(PORTS["jobset-health"], "/readyz"), 90, "jobset")

    def webhook_serves():
        js = {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
              "metadata": {"name": "cluster-up-probe", "namespace": "default"},
              "spec": {"replicatedJobs": [{"name": "w", "replicas": 1, "template": {"spec": {
                  "template": {"spec": {"restartPolicy": "Never",
                                        "containers": [{"name": "c", "image": "probe"}]}}}}}]}}
        return kubectl(bin_dir, "create", "--dry-run=server", "-f", "-",
                       input=json.dumps(js), check=False).returncode == 0
    wait_for("JobSet webhooks to admit a dry-run JobSet", webhook_serves, 60, "jobset")


def _http_ok(port, path):
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=2) as r:
            return r.status == 200
    except Exception:  # noqa: BLE001
        return False


INSTANCE_TYPES = [
    # name, GPUs, GPU product, cpu, memory, on-demand price
    ("gpu-1x-l4", 1, "NVIDIA-L4", "8", "32Gi", 0.8),
    ("gpu-4x-l4", 4, "NVIDIA-L4", "48", "192Gi", 3.4),
    ("gpu-8x-a100", 8, "NVIDIA-A100-SXM4-80GB", "96", "1152Gi", 32.7),
]
ZONES = ["local-a", "local-b"]


def instance_types_file():
    out = []
    for name, gpus, product, cpu, mem, price in INSTANCE_TYPES:
        offerings = []
        for zone in ZONES:
            for ctype, factor in (("on-demand", 1.0), ("spot", 0.4)):
                requirements = [
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [ctype]},
                    {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]},
                    # Offering requirements become node labels and well-known scheduling
                    # keys: the GPU labels a GPU cloud sets.
                    {"key": "nvidia.com/gpu.product", "operator": "In", "values": [product]},
                    {"key": "nvidia.com/gpu.count", "operator": "In", "values": [str(gpus)]},
                ]
                offerings.append({"Price": round(price * factor, 4), "Available": True,
                                  "Requirements": requirements})
        out.append({"name": name, "offerings": offerings, "architecture": "amd64",
                    "operatingSystems": ["linux"],
                    "resources": {"cpu": cpu, "memory": mem, "pods": "110",
                                  "nvidia.com/gpu": str(gpus)}})
    path = STATE / "instance-types.json"
    path.write_text(json.dumps(out, indent=1))
    return path


def start_karpenter(bin_dir):
    start("karpenter", [str(bin_dir / "karpenter-kwok")], env={
        "KUBECONFIG": str(STATE / "kubeconfig"),
        "DISABLE_LEADER_ELECTION": "true",
        "SYSTEM_NAMESPACE": "kube-system",
        "METRICS_PORT": str(PORTS["karpenter-metrics"]),
        "HEALTH_PROBE_PORT": str(PORTS["karpenter-health"]),
        "INSTANCE_TYPES_FILE_PATH": str(instance_types_file()),
        "LOG_LEVEL": "info",
        # Tests want quick decisions; Karpenter's defaults are tuned for clouds.
        "BATCH_MAX_DURATION": "2s", "BATCH_IDLE_DURATION": "500ms",
        "KUBE_CLIENT_QPS": "100", "KUBE_CLIENT_BURST": "200",
    })
    wait_for("Karpenter readiness probe", lambda: _http_ok(PORTS["karpenter-health"], "/readyz"),
             90, "karpenter")


STATIC_NODES = [
    # name, pool, instance type, zone, GPUs, product
    ("gpu-a100-0", "train-a100", "p4d.24xlarge", "local-a", 8, "NVIDIA-A100-SXM4-80GB"),
    ("gpu-a100-1", "train-a100", "p4d.24xlarge", "local-b", 8, "NVIDIA-A100-SXM4-80GB"),
    ("gpu-l4-0", "infer-l4", "g6.12xlarge", "local-a", 4, "NVIDIA-L4"),
    ("gpu-l4-1", "infer-l4", "g6.12xlarge", "local-b", 4, "NVIDIA-L4"),
    ("cpu-0", "system", "m7i.4xlarge", "local-a", 0, None),
]


def static_node(name, pool, itype, zone, gpus, product):
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": itype,
              "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "local",
              "type": "kwok", "gpuaas.io/pool": pool}
    res = {"cpu": "96", "memory": "1152Gi", "pods": "250", "ephemeral-storage": "1Ti"}
    if gpus:
        labels.update({"nvidia.com/gpu.present": "true", "nvidia.com/gpu.product": product,
                       "nvidia.com/gpu.count": str(gpus)})
        res["nvidia.com/gpu"] = str(gpus)
    else:
        res.update(cpu="16", memory="64Gi")
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels,
                         "annotations": {"kwok.x-k8s.io/node": "fake",
                                         "node.alpha.kubernetes.io/ttl": "0"}},
            "status": {"capacity": res, "allocatable": res}}


def base_fleet(bin_dir):
    nodes = [static_node(*n) for n in STATIC_NODES]
    # Node status is a subresource: create the objects, then set capacity through /status.
    apply(bin_dir, [{k: v for k, v in n.items() if k != "status"} for n in nodes])
    for n in nodes:
        kubectl(bin_dir, "patch", "node", n["metadata"]["name"], "--subresource=status",
                "--type=merge", "-p", json.dumps({"status": n["status"]}))
    apply(bin_dir, [
        {"apiVersion": "karpenter.kwok.sh/v1alpha1", "kind": "KWOKNodeClass",
         "metadata": {"name": "default"}},
        {"apiVersion": "karpenter.sh/v1", "kind": "NodePool",
         "metadata": {"name": "gpu-on-demand"},
         "spec": {
             "template": {
                 "metadata": {"labels": {"gpuaas.io/pool": "gpu-on-demand"}},
                 "spec": {
                     "nodeClassRef": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass",
                                      "name": "default"},
                     "requirements": [
                         {"key": "node.kubernetes.io/instance-type", "operator": "In",
                          "values": [t[0] for t in INSTANCE_TYPES]},
                         {"key": "karpenter.sh/capacity-type", "operator": "In",
                          "values": ["on-demand"]}],
                     # Only pods that tolerate this taint make Karpenter provision, so pending
                     # pods of unrelated tests never buy nodes.
                     "taints": [{"key": "gpuaas.io/on-demand", "value": "true",
                                 "effect": "NoSchedule"}],
                     "expireAfter": "Never"}},
             "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized",
                            "consolidateAfter": "30s"},
             "limits": {"nvidia.com/gpu": "32"}}},
    ])
    wait_for("base nodes Ready", lambda: _nodes_ready(bin_dir, [n[0] for n in STATIC_NODES]), 60,
             "kwok")
    wait_for("NodePool gpu-on-demand Ready", lambda: _condition(
        bin_dir, "nodepool/gpu-on-demand", "Ready"), 60, "karpenter")


def _nodes_ready(bin_dir, names):
    out = json.loads(kubectl(bin_dir, "get", "nodes", "-o", "json").stdout)
    ready = {n["metadata"]["name"] for n in out["items"]
             if any(c["type"] == "Ready" and c["status"] == "True"
                    for c in n.get("status", {}).get("conditions", []))}
    return set(names) <= ready


def _condition(bin_dir, ref, ctype, namespace=None):
    args = ["get", ref, "-o", "json"] + (["-n", namespace] if namespace else [])
    obj = json.loads(kubectl(bin_dir, *args).stdout)
    return any(c["type"] == ctype and c["status"] == "True"
               for c in obj.get("status", {}).get("conditions", []))


def visibility_ready(bin_dir):
    proc = kubectl(bin_dir, "get", "--raw",
                   "/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/none/pendingworkloads",
                   check=False)
    # 404 for an unknown ClusterQueue means the aggregated API answered.
    return proc.returncode == 0 or "NotFound" in proc.stderr or "not found" in proc.stderr


# ----------------------------------------------------------------------------- commands

def running():
    return all(read_pid(c) is not None for c in COMPONENTS)


def up():
    v = versions()
    pki_exists = (STATE / "kubeconfig").exists()
    if running() and pki_exists:
        try:
            if api_ready(STATE / "pki"):
                log("already running")
                print(STATE / "kubeconfig")
                return
        except Exception:  # noqa: BLE001
            pass
    if any(read_pid(c) for c in COMPONENTS):
        log("partially running: stopping the rest first")
        down(quiet=True)
    busy = [f"{n}={p}" for n, p in PORTS.items() if port_open(p)]
    if busy:
        raise SystemExit(f"ports already in use on {HOST}: {', '.join(busy)} "
                         "(another cluster of this project? run `make cluster-down` in its checkout)")
    t0 = time.time()
    bin_dir = Path(subprocess.run(["bash", str(HERE / "build.sh"), "all"], check=True,
                                  stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1])
    (STATE / "env").parent.mkdir(parents=True, exist_ok=True)
    for d in ("pids", "logs"):
        (STATE / d).mkdir(parents=True, exist_ok=True)
    subprocess.run(["rm", "-rf", str(STATE / "etcd"), str(STATE / "kueue"), str(STATE / "jobset")], check=True)
    (STATE / "env").write_text(f"GPUAAS_BIN={bin_dir}\nKUBECONFIG={STATE / 'kubeconfig'}\n")
    t1 = time.time()
    pki = make_pki()
    write_kubeconfig(pki)
    start_etcd(bin_dir)
    start_apiserver(bin_dir, pki)
    start_controllers(bin_dir, pki)
    kueue, jobset = install_crds(bin_dir, v)
    apply(bin_dir, kueue_objects(kueue) + jobset_objects(jobset))
    start_kueue(bin_dir, kueue)
    wait_for("Kueue visibility API through the aggregator", lambda: visibility_ready(bin_dir), 60,
             "kueue")
    start_jobset(bin_dir)
    start_karpenter(bin_dir)
    base_fleet(bin_dir)
    log(f"up in {time.time() - t1:.1f}s (+{t1 - t0:.1f}s build/cache check); "
        f"logs in {STATE}/logs")
    print(STATE / "kubeconfig")


def down(quiet=False):
    stopped = [c for c in reversed(COMPONENTS) if stop(c)]
    if not quiet:
        log("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


def status():
    states = {c: read_pid(c) for c in COMPONENTS}
    for c, pid in states.items():
        print(f"{c:26s} {'running pid ' + str(pid) if pid else 'stopped'}")
    if all(states.values()):
        print(f"kubeconfig: {STATE / 'kubeconfig'} (context {CONTEXT})")
        env = STATE / "env"
        if env.exists():
            print(env.read_text().strip())
        return 0
    return 1


def main(argv):
    cmd = argv[1] if len(argv) > 1 else "status"
    STATE.mkdir(parents=True, exist_ok=True)
    if cmd in ("up", "down"):
        # Serialize: test sessions may call `up` at the same time; the second one waits and then
        # finds the cluster running.
        import fcntl
        lock = open(STATE / ".lock", "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
    if cmd == "up":
        try:
            up()
        except BaseException:
            if os.environ.get("GPUAAS_KEEP_ON_FAILURE"):
                log(f"cluster-up failed; left running for inspection; logs in {STATE}/logs")
                raise
            log(f"cluster-up failed; logs are in {STATE}/logs; stopping what was started")
            down(quiet=True)
            raise
        return 0
    if cmd == "down":
        down()
        return 0
    if cmd == "status":
        return status()
    if cmd in ("stop", "start") and len(argv) > 2:
        (stop_component if cmd == "stop" else start_component)(argv[2])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
