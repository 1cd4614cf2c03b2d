"""Helpers shared by conftest.py and the tests (kept out of conftest so they can be imported)."""
import json
import socket
import ssl
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADMIN_USER = "admin"
ADMIN_DOMAIN = "Default"
ADMIN_PROJECT = "admin"


def password_auth_body(password, user=ADMIN_USER, domain=ADMIN_DOMAIN, project=ADMIN_PROJECT):
    return {"auth": {
        "identity": {"methods": ["password"],
                     "password": {"user": {"name": user, "password": password,
                                           "domain": {"name": domain}}}},
        "scope": {"project": {"name": project, "domain": {"name": domain}}},
    }}


class ResponseRecorder:
    """huaweicloudsdkcore response handler that keeps the last raw response."""

    def __init__(self):
        self.last = None

    def __call__(self, **kwargs):
        self.last = kwargs.get("response")


def make_apig_client(base_url, ak, sk, project_id, recorder=None):
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkcore.http.http_handler import HttpHandler
    from huaweicloudsdkapig.v2 import ApigClient

    config = HttpConfig.get_default_config()
    config.timeout = (5, 30)
    # A fixed User-Agent (instead of the SDK's os/python/app-uuid one); it
    # still goes out as "huaweicloud-usdk-python/3.0; <this>" and is signed.
    config.user_agent = "apigw-sdk-tests os/Linux#test python/%d.%d" % sys.version_info[:2]
    handler = HttpHandler()
    if recorder is not None:
        handler.add_response_handler(recorder)
    return (ApigClient.new_builder()
            .with_http_config(config)
            .with_credentials(BasicCredentials(ak, sk, project_id))
            .with_endpoints([base_url])
            .with_http_handler(handler)
            .build())


def unique_name(prefix="sdk"):
    """An App name valid for APIG: starts with a letter, [A-Za-z0-9_], 3..64 chars."""
    return "%s_%s" % (prefix, uuid.uuid4().hex[:12])


def start_path_echo(host="127.0.0.1", **fields):
    """A loopback backend on `host` (any of 127.0.0.0/8) answering every GET with the JSON
    object `{"path": <the request's path and query>, **fields}`; returns the server (port:
    `server_address[1]`; stop it with `shutdown()`)."""

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            out = json.dumps(dict(fields, path=self.path)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer((host, 0), Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def openssl_pair(tmp_path, name, days=30, rsa=False):
    """A self-signed ECDSA (or, with `rsa`, RSA) certificate for `name` and its key, made by
    the openssl command."""
    cert, key = tmp_path / (name + ".crt"), tmp_path / (name + ".key")
    newkey = ["rsa:2048"] if rsa else ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", *newkey,
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", str(days),
         "-subj", "/CN=%s/O=SDK Shop/C=DE" % name, "-addext", "subjectAltName=DNS:%s" % name],
        check=True, capture_output=True)
    return cert.read_text(), key.read_text()


def presented_for_name(server, name, ca=None):
    """The certificate (DER) the HTTPS listener presents to a client asking for `name`; with
    `ca`, the handshake verifies it against that certificate alone and the name."""
    host, port = server.gateway_tls_address.split(":")
    ctx = ssl.create_default_context(cadata=ca) if ca else ssl._create_unverified_context()
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            return tls.getpeercert(binary_form=True)
