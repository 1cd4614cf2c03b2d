"""Fixtures for the SDK compatibility suite: start the apigw server, log in.

The server is started once per test session:

    $APIGW_BIN serve --admin-listen 127.0.0.1:PORT --data-dir <tmpdir>
    with APIGW_ADMIN_PASSWORD=<random> in its environment

APIGW_BIN defaults to <repo>/target/debug/apigw. The server's stdout/stderr go to <tmpdir>/server.log, whose
path is printed when the server does not come up, and again at the end.

Environment knobs:
    APIGW_BIN                     server binary (see above)
    APIGW_SDK_TESTS_STARTUP_SECS  how long to wait for GET /health (default 30)
    APIGW_SDK_TESTS_ALLOW_MISSING_BIN=1
                                  skip, instead of fail, when APIGW_BIN does not exist
"""
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests


def _first_import_of_huaweicloudsdkcore_with_throwaway_home():
    """huaweicloudsdkcore writes $HOME/.huaweicloud/application_id the first
    time huaweicloudsdkcore.http.user_agent is imported (auth/internal.py:39
    imports it, so any client import does). Do that first import with HOME
    pointing at a temporary directory, so the suite leaves $HOME alone."""
    import shutil
    import tempfile

    real = os.environ.get("HOME")
    tmp = tempfile.mkdtemp(prefix="apigw-sdk-tests-home-")
    os.environ["HOME"] = tmp
    try:
        import huaweicloudsdkcore.http.user_agent  # noqa: F401
    finally:
        if real is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = real
        shutil.rmtree(tmp, ignore_errors=True)


_first_import_of_huaweicloudsdkcore_with_throwaway_home()

from apigw_sdk_helpers import (
    ADMIN_DOMAIN,
    ADMIN_PROJECT,
    ADMIN_USER,
    ResponseRecorder,
    make_apig_client,
    password_auth_body,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_BIN = REPO / "target" / "debug" / "apigw"


class Server:
    def __init__(self, base_url, password, data_dir, log_path, proc):
        self.base_url = base_url          # http://127.0.0.1:PORT
        self.password = password
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = proc
        self.gateway_url = None           # http://127.0.0.1:PORT of the plain-HTTP gateway listener
        self.gateway_tls_address = None   # 127.0.0.1:PORT of the HTTPS gateway listener
        self.gateway_cert = None          # its self-signed certificate (PEM file in the data dir)

    def log_tail(self, n=60):
        try:
            lines = Path(self.log_path).read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])


# Log lines that announce the listeners (each carries `127.0.0.1:PORT`): the server binds
# port 0 and the harness reads the ports it got, so no other process can take a port between
# a probe and the bind.
LISTENING = {
    "admin": "management API listening",
    "gateway_http": "gateway listening (plain HTTP)",
    "gateway_https": "gateway listening (HTTPS)",
}


def _logged_ports(log_path):
    """{listener: port} of the listeners the server's log has announced so far."""
    try:
        text = Path(log_path).read_text(errors="replace")
    except OSError:
        return {}
    ports = {}
    for line in text.splitlines():
        for name, marker in LISTENING.items():
            if marker in line and name not in ports:
                m = re.search(r"127\.0\.0\.1:(\d+)", line)
                if m:
                    ports[name] = int(m.group(1))
    return ports


def _stop(proc):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    binary = os.environ.get("APIGW_BIN") or str(DEFAULT_BIN)
    if not Path(binary).exists():
        msg = ("apigw server binary not found at %s (build it with `cargo build`, "
               "or set APIGW_BIN)" % binary)
        if os.environ.get("APIGW_SDK_TESTS_ALLOW_MISSING_BIN") == "1":
            pytest.skip(msg)
        pytest.fail(msg, pytrace=False)

    data_dir = tmp_path_factory.mktemp("apigw-data")
    log_path = data_dir.parent / (data_dir.name + "-server.log")
    password = "Pw-" + secrets.token_urlsafe(18)
    startup = float(os.environ.get("APIGW_SDK_TESTS_STARTUP_SECS", "30"))

    env = dict(os.environ)
    env["APIGW_ADMIN_PASSWORD"] = password
    # Make sure nothing between us and 127.0.0.1 is a proxy.
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

    database = None
    if os.environ.get("APIGW_TEST_DATABASE") == "postgres":
        # The same suite on PostgreSQL: a database of its own, dropped at the end.
        server_url = os.environ.get("APIGW_TEST_POSTGRES_URL",
                                    "postgres://postgres@127.0.0.1:5432/postgres")
        database = "apigw_sdk_%s" % secrets.token_hex(8)
        subprocess.run(["psql", server_url, "-qc", "CREATE DATABASE %s" % database], check=True)
        env["APIGW_DATABASE_URL"] = server_url.rsplit("/", 1)[0] + "/" + database
        env["APIGW_MASTER_KEY_FILE"] = str(data_dir / "master.key")

    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [binary, "serve", "--admin-listen", "127.0.0.1:0", "--data-dir", str(data_dir),
             "--gateway-http-listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0",
             "--allow-app-code-over-http"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    srv = Server(None, password, str(data_dir), str(log_path), proc)
    deadline = time.monotonic() + startup
    last_err = "the listeners were not announced in the log"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            last_err = "server exited with code %s before answering GET /health" % proc.returncode
            break
        ports = _logged_ports(log_path)
        if len(ports) == len(LISTENING):
            srv.base_url = "http://127.0.0.1:%d" % ports["admin"]
            srv.gateway_url = "http://127.0.0.1:%d" % ports["gateway_http"]
            srv.gateway_tls_address = "127.0.0.1:%d" % ports["gateway_https"]
            srv.gateway_cert = str(data_dir / "gateway-cert.pem")
            try:
                r = requests.get(srv.base_url + "/health", timeout=2)
                if r.status_code == 200:
                    break
                last_err = "GET /health answered %s" % r.status_code
            except requests.RequestException as e:
                last_err = "GET /health: %s" % e
        time.sleep(0.1)
    else:
        _stop(proc)
        pytest.fail("apigw did not answer GET /health = 200 within %.0fs (%s).\n"
                    "command: %s\nlog %s:\n%s" % (startup, last_err, " ".join(proc.args),
                                                  log_path, srv.log_tail()), pytrace=False)
    if proc.poll() is not None:
        pytest.fail("apigw could not be started: %s\ncommand: %s\nlog %s:\n%s"
                    % (last_err, " ".join(proc.args), log_path, srv.log_tail()), pytrace=False)

    try:
        yield srv
    finally:
        _stop(proc)
        if database:
            subprocess.run(["psql", server_url, "-qc",
                            "DROP DATABASE IF EXISTS %s WITH (FORCE)" % database], check=False)
        sys.stderr.write("\napigw server log: %s\n" % log_path)


# ---------------------------------------------------------------- identity --

@pytest.fixture(scope="session")
def admin_login(server):
    """(token, token body) of a password login of admin, project-scoped to admin."""
    r = requests.post(server.base_url + "/v3/auth/tokens",
                      json=password_auth_body(server.password), timeout=10)
    assert r.status_code == 201, "POST /v3/auth/tokens: %s %s" % (r.status_code, r.text[:500])
    token = r.headers.get("X-Subject-Token")
    assert token, "POST /v3/auth/tokens: no X-Subject-Token header"
    return token, r.json()


@pytest.fixture(scope="session")
def admin_token(admin_login):
    return admin_login[0]


@pytest.fixture(scope="session")
def project_id(admin_login):
    return admin_login[1]["token"]["project"]["id"]


@pytest.fixture(scope="session")
def user_id(admin_login):
    return admin_login[1]["token"]["user"]["id"]


@pytest.fixture(scope="session")
def instance_id(server, admin_token, project_id):
    r = requests.get("%s/v2/%s/apigw/instances" % (server.base_url, project_id),
                     headers={"X-Auth-Token": admin_token}, timeout=10)
    assert r.status_code == 200, "GET instances: %s %s" % (r.status_code, r.text[:500])
    instances = r.json()["instances"]
    default = [i for i in instances if i.get("instance_name") == "default"]
    assert default, "no instance named 'default' in %r" % instances
    return default[0]["id"]


@pytest.fixture(scope="session")
def aksk(server, admin_token, user_id):
    """A fresh permanent access key of admin: (access, secret)."""
    r = requests.post(server.base_url + "/v3.0/OS-CREDENTIAL/credentials",
                      json={"credential": {"user_id": user_id, "description": "sdk"}},
                      headers={"X-Auth-Token": admin_token}, timeout=10)
    assert r.status_code == 201, "POST credentials: %s %s" % (r.status_code, r.text[:500])
    cred = r.json()["credential"]
    assert cred["access"] and cred["secret"]
    return cred["access"], cred["secret"]


# ------------------------------------------------------------ SDK clients --

@pytest.fixture(scope="session")
def recorder():
    return ResponseRecorder()


@pytest.fixture(scope="session")
def apig(server, aksk, project_id, recorder):
    """huaweicloudsdkapig.v2.ApigClient signed with admin's AK/SK."""
    return make_apig_client(server.base_url, aksk[0], aksk[1], project_id, recorder)


@pytest.fixture(scope="session")
def otc_conn(server):
    """openstacksdk Connection with the otcextensions services registered."""
    import openstack
    from otcextensions import sdk as otc_sdk

    conn = openstack.connect(
        auth_url=server.base_url + "/v3",
        username=ADMIN_USER,
        password=server.password,
        user_domain_name=ADMIN_DOMAIN,
        project_name=ADMIN_PROJECT,
        project_domain_name=ADMIN_DOMAIN,
        load_yaml_config=False,
        load_envvars=False,
        app_name="apigw-sdk-tests",
    )
    otc_sdk.register_otc_extensions(conn)
    yield conn
    conn.close()
