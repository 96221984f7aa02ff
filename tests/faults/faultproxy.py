"""A TLS proxy in front of the local API server that answers chosen requests itself: a 429 with
Retry-After, a 500 of a webhook, a 503, or a dropped connection - the transient answers a real
API server gives under load, during an upgrade or with a webhook away. Everything else goes
through to the API server with the administrator's client certificate. Every request is
recorded (method, path, what answered it), so a test counts the retries the module made.

    proxy = FaultProxy(state_dir)            # .cluster/ of the running cluster
    proxy.fail("GET", r"/clusterqueues/x$", status=429, times=2, retry_after=1)
    proxy.kubeconfig(path)                   # a kubeconfig that points at the proxy
    ... run a module with it ...
    proxy.seen("GET", r"/clusterqueues/x$")  # [(method, path, "429" | "proxied" | ...)]
"""
import http.client
import json
import re
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "content-length", "proxy-connection"}


class Rule:
    def __init__(self, method, path, status=None, times=1, retry_after=None, message=None, drop=False):
        self.method, self.path = method, re.compile(path)
        self.status, self.left, self.retry_after = status, times, retry_after
        self.message, self.drop = message, drop


class FaultProxy:
    def __init__(self, state_dir):
        self.state = Path(state_dir)
        self.pki = self.state / "pki"
        admin = yaml.safe_load((self.state / "kubeconfig").read_text())
        self.upstream = admin["clusters"][0]["cluster"]["server"].split("://", 1)[1]
        self.rules, self.log, self.lock = [], [], threading.Lock()
        self._cert()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert), str(self.key))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _cert(self):
        """A serving certificate for 127.0.0.1 signed by the cluster's CA (so kubeconfigs trust it)."""
        d = self.state / "faultproxy"
        d.mkdir(exist_ok=True)
        self.key, self.cert = d / "proxy.key", d / "proxy.crt"
        if self.cert.exists():
            return
        ext = d / "ext.cnf"
        ext.write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.key),
                        "-subj", "/CN=faultproxy", "-out", str(d / "proxy.csr")], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", str(d / "proxy.csr"), "-CA", str(self.pki / "ca.crt"),
                        "-CAkey", str(self.pki / "ca.key"), "-CAcreateserial", "-days", "2", "-out", str(self.cert),
                        "-extfile", str(ext)], check=True, capture_output=True)

    def fail(self, method, path, status=None, times=1, retry_after=None, message=None, drop=False):
        with self.lock:
            self.rules.append(Rule(method, path, status, times, retry_after, message, drop))

    def seen(self, method, path):
        pattern = re.compile(path)
        with self.lock:
            return [e for e in self.log if e[0] == method and pattern.search(e[1])]

    def kubeconfig(self, path):
        admin = yaml.safe_load((self.state / "kubeconfig").read_text())
        admin["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % self.port
        Path(path).write_text(yaml.safe_dump(admin))
        return str(path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _match(self, method, path):
        with self.lock:
            for rule in self.rules:
                if rule.left > 0 and rule.method == method and rule.path.search(path):
                    rule.left -= 1
                    return rule
        return None

    def _record(self, method, path, what):
        with self.lock:
            self.log.append((method, path, what))

    def _forward(self, method, path, headers, body):
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        host, port = self.upstream.rsplit(":", 1)
        conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                rule = proxy._match(self.command, self.path)
                if rule is not None and rule.drop:
                    proxy._record(self.command, self.path, "dropped")
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if rule is not None:
                    proxy._record(self.command, self.path, str(rule.status))
                    details = {"retryAfterSeconds": rule.retry_after} if rule.retry_after else {}
                    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": rule.status,
                              "reason": {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}
                              .get(rule.status, "Unknown"),
                              "message": rule.message or "injected by the fault proxy", "details": details}
                    data = json.dumps(status).encode()
                    self.send_response(rule.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    if rule.retry_after:
                        self.send_header("Retry-After", str(rule.retry_after))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in HOP_HEADERS)
                status, resp_headers, data = proxy._forward(self.command, self.path, headers, body)
                proxy._record(self.command, self.path, "proxied")
                self.send_response(status)
                for k, v in resp_headers:
                    if k.lower() not in HOP_HEADERS:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        return Handler
