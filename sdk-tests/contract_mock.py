#!/usr/bin/env python3
"""Python stand-in for the apigw server, used ONLY to check the SDK test suite.

This is not the product and not a second implementation to keep in sync: it
is the smallest thing that lets `test_sdk_apig.py` be run end to end before
the Rust server exists, so that the suite itself (fixtures, SDK usage, the
assertions) is known to work. It implements the contract written in
NOTES.md ("What the server must do") and nothing else, and it verifies
SDK-HMAC-SHA256 signatures with the official huaweicloudsdkcore Signer.

Run the suite against it (from sdk-tests/, with the venv):

    APIGW_BIN=$PWD/contract_mock.py .venv/bin/python -m pytest -q

It takes the same command line as the real binary:

    contract_mock.py serve --admin-listen 127.0.0.1:PORT --data-dir DIR
    (password from $APIGW_ADMIN_PASSWORD)

Every request it receives is appended to DIR/requests.log (method, path,
headers), which is how NOTES.md's list of "requests the SDKs really make"
was made. Set APIGW_MOCK_NO_DISCOVERY=1 to answer 404 on GET /v3 (to see
what keystoneauth does without a version document).
"""
import argparse
import datetime
import json
import os
import re
import secrets
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

LOCK = threading.Lock()
STATE = {
    "tokens": {},       # token -> expiry
    "aksk": {},         # ak -> sk
    "apps": {},         # app id -> app dict
    "codes": {},        # code id -> code dict
}
DOMAIN = {"id": "default", "name": "Default"}
USER_ID = uuid.uuid4().hex
PROJECT_ID = uuid.uuid4().hex
INSTANCE_ID = uuid.uuid4().hex
NAME_RE = re.compile(r"^[A-Za-z\u4e00-\u9fa5][A-Za-z0-9_\u4e00-\u9fa5]{2,63}$")
APP_CODE_RE = re.compile(r"^[A-Za-z0-9+/][A-Za-z0-9+_!@#$%/=-]{63,179}$")


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Creds:
    def __init__(self, ak, sk):
        self.ak, self.sk = ak, sk


def parse_query(raw):
    out = []
    for piece in raw.split("&") if raw else []:
        if not piece:
            continue
        k, _, v = piece.partition("=")
        out.append((unquote(k), unquote(v)))
    return out


class ApiError(Exception):
    def __init__(self, status, code, msg):
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "apigw-contract-mock"

    def log_message(self, *args):
        pass

    # ---- plumbing ---------------------------------------------------------
    def _reply(self, status, obj=None, headers=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("X-Request-Id", self.request_id)
        self.send_header("X-Openstack-Request-Id", self.request_id)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        self.request_id = uuid.uuid4().hex
        n = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(n) if n else b""
        parts = urlsplit(self.path)
        self.rawpath, self.rawquery = parts.path, parts.query
        self.query = dict(parse_query(parts.query))
        with open(os.path.join(self.server.data_dir, "requests.log"), "a") as f:
            f.write("%s %s\n%s    body: %r\n\n" % (
                self.command, self.path,
                "".join("    %s: %s\n" % kv for kv in self.headers.items()), self.body[:500]))
        try:
            self._route()
        except ApiError as e:
            self._reply(e.status, {"error_code": e.code, "error_msg": e.msg})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def _json(self):
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(400, "APIG.2012", "Invalid parameter value,parameterName:body. "
                           "Please refer to the support documentation")

    # ---- auth --------------------------------------------------------------
    def _authenticated(self):
        tok = self.headers.get("X-Auth-Token")
        if tok:
            exp = STATE["tokens"].get(tok)
            return exp is not None and exp > now()
        auth = self.headers.get("Authorization", "")
        m = re.match(r"^SDK-HMAC-SHA256 Access=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]+)$", auth)
        if not m:
            return False
        ak, signed, sig = m.groups()
        sk = STATE["aksk"].get(ak)
        if sk is None:
            return False
        names = signed.split(";")
        hdrs = {}
        for name in names:
            v = self.headers.get(name)
            if v is None:
                return False
            hdrs[name] = v
        date = self.headers.get("X-Sdk-Date")
        if not date:
            return False
        t = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        if abs((now() - t).total_seconds()) > 15 * 60:
            return False
        req = SdkRequest(method=self.command, schema="http", host=self.headers.get("Host"),
                         resource_path=self.rawpath, query_params=parse_query(self.rawquery),
                         header_params=hdrs, body=self.body or None)
        Signer(_Creds(ak, sk)).sign(req)
        expect = req.header_params["Authorization"]
        return secrets.compare_digest(expect, auth)

    def _require_auth(self):
        if not self._authenticated():
            raise ApiError(401, "APIG.1000", "Incorrect IAM authentication information")

    # ---- routing -----------------------------------------------------------
    def _route(self):
        p, c = self.rawpath, self.command
        if p == "/health" and c == "GET":
            return self._reply(200, {"status": "ok"})
        if p.rstrip("/") == "/v3" and c == "GET":
            if os.environ.get("APIGW_MOCK_NO_DISCOVERY"):
                return self._reply(404, {"error": {"code": 404, "message": "not found"}})
            base = self.server.public_url
            return self._reply(200, {"version": {
                "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": base + "/v3/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.identity-v3+json"}]}})
        if p == "/v3/auth/tokens" and c == "POST":
            return self._tokens()
        if p == "/v3.0/OS-CREDENTIAL/credentials" and c == "POST":
            self._require_auth()
            ak = uuid.uuid4().hex[:20].upper()
            sk = secrets.token_hex(20)
            with LOCK:
                STATE["aksk"][ak] = sk
            cred = self._json().get("credential", {})
            return self._reply(201, {"credential": {
                "access": ak, "secret": sk, "user_id": cred.get("user_id", USER_ID),
                "status": "active", "description": cred.get("description", ""),
                "create_time": ts(now())}})
        m = re.match(r"^/v2/([^/]+)/apigw/instances(/.*)?$", p)
        if m:
            self._require_auth()
            if m.group(1) != PROJECT_ID:
                raise ApiError(403, "APIG.1005", "No permissions to request this method")
            rest = m.group(2) or ""
            if rest in ("", "/") and c == "GET":
                return self._reply(200, {"total": 1, "size": 1, "instances": [{
                    "id": INSTANCE_ID, "instance_name": "default", "project_id": PROJECT_ID,
                    "status": "Running", "instance_status": 6, "type": "apig", "spec": "BASIC",
                    "create_time": 0, "enterprise_project_id": "0", "eip_address": None}]})
            m2 = re.match(r"^/([^/]+)(/.*)$", rest)
            if not m2 or m2.group(1) != INSTANCE_ID:
                raise ApiError(404, "APIG.3030", "The instance does not exist")
            return self._apig(m2.group(2), c)
        raise ApiError(404, "APIG.0101", "The API does not exist or has not been published in the environment")

    def _tokens(self):
        b = self._json()
        ident = b.get("auth", {}).get("identity", {})
        user = ident.get("password", {}).get("user", {})
        if (ident.get("methods") != ["password"] or user.get("name") != "admin"
                or user.get("password") != self.server.password
                or user.get("domain", {}).get("name") != "Default"):
            return self._reply(401, {"error": {"code": 401, "title": "Unauthorized",
                                               "message": "The request you have made requires authentication."}})
        tok = secrets.token_urlsafe(32)
        issued = now()
        expires = issued + datetime.timedelta(hours=24)
        with LOCK:
            STATE["tokens"][tok] = expires
        base = self.server.public_url

        def svc(t, name, url):
            return {"type": t, "name": name, "id": uuid.uuid5(uuid.NAMESPACE_URL, t).hex,
                    "endpoints": [{"id": uuid.uuid5(uuid.NAMESPACE_URL, t + "/public").hex,
                                   "interface": "public", "region": "RegionOne",
                                   "region_id": "RegionOne", "url": url}]}

        body = {"token": {
            "methods": ["password"],
            "user": {"id": USER_ID, "name": "admin", "domain": DOMAIN, "password_expires_at": None},
            "project": {"id": PROJECT_ID, "name": "admin", "domain": DOMAIN},
            "roles": [{"id": uuid.uuid5(uuid.NAMESPACE_URL, "admin").hex, "name": "admin"}],
            "catalog": [svc("identity", "keystone", base + "/v3"),
                        svc("apigv2", "apig", base + "/v2"),
                        svc("apig", "apig", base + "/v2")],
            "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "audit_ids": [secrets.token_urlsafe(16)],
            "is_domain": False,
        }}
        return self._reply(201, body, {"X-Subject-Token": tok})

    # ---- APIG apps / app codes --------------------------------------------
    def _app(self, app_id):
        a = STATE["apps"].get(app_id)
        if a is None:
            raise ApiError(404, "APIG.3004", "App %s does not exist" % app_id)
        return a

    def _check_name(self, name):
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ApiError(400, "APIG.2011", "Invalid parameter value,parameterName:name. "
                           "Please refer to the support documentation")
        return name

    def _apig(self, rest, c):
        with LOCK:
            if rest == "/apps" and c == "POST":
                b = self._json()
                name = self._check_name(b.get("name"))
                if any(a["name"] == name for a in STATE["apps"].values()):
                    raise ApiError(400, "APIG.3203", "App name %s already exists" % name)
                t = ts(now())
                a = {"id": uuid.uuid4().hex, "name": name, "remark": b.get("remark", ""),
                     "creator": "USER", "update_time": t, "register_time": t,
                     "app_key": b.get("app_key") or uuid.uuid4().hex,
                     "app_secret": b.get("app_secret") or secrets.token_hex(16),
                     "status": 1, "app_type": "apig"}
                STATE["apps"][a["id"]] = a
                return self._reply(201, a)
            if rest == "/apps" and c == "GET":
                apps = sorted(STATE["apps"].values(), key=lambda a: a["register_time"])
                q = self.query
                if "name" in q:
                    if q.get("precise_search") == "name":
                        apps = [a for a in apps if a["name"] == q["name"]]
                    else:
                        apps = [a for a in apps if q["name"] in a["name"]]
                for k in ("id", "app_key", "creator"):
                    if k in q:
                        apps = [a for a in apps if a[k] == q[k]]
                off, lim = int(q.get("offset", 0)), int(q.get("limit", 20))
                page = [dict(a, bind_num=0) for a in apps[off:off + lim]]
                return self._reply(200, {"total": len(apps), "size": len(page), "apps": page})
            m = re.match(r"^/apps/secret/([^/]+)$", rest)
            if m and c == "PUT":
                a = self._app(m.group(1))
                a["app_secret"] = self._json().get("app_secret") or secrets.token_hex(16)
                a["update_time"] = ts(now())
                return self._reply(200, a)
            m = re.match(r"^/apps/validation/([^/]+)$", rest)
            if m and c == "GET":
                a = self._app(m.group(1))
                return self._reply(200, {"id": a["id"], "name": a["name"], "remark": a["remark"]})
            m = re.match(r"^/apps/([^/]+)$", rest)
            if m:
                a = self._app(m.group(1))
                if c == "GET":
                    return self._reply(200, a)
                if c == "PUT":
                    b = self._json()
                    # a PUT without "name" keeps the name: openstacksdk sends
                    # only the changed attributes (see NOTES.md)
                    name = self._check_name(b.get("name", a["name"]))
                    if any(x["name"] == name and x["id"] != a["id"] for x in STATE["apps"].values()):
                        raise ApiError(400, "APIG.3203", "App name %s already exists" % name)
                    a["name"] = name
                    for k in ("remark", "app_key", "app_secret"):
                        if b.get(k) is not None:
                            a[k] = b[k]
                    a["update_time"] = ts(now())
                    return self._reply(200, a)
                if c == "DELETE":
                    del STATE["apps"][a["id"]]
                    for cid in [k for k, v in STATE["codes"].items() if v["app_id"] == a["id"]]:
                        del STATE["codes"][cid]
                    return self._reply(204)
            m = re.match(r"^/apps/([^/]+)/app-codes$", rest)
            if m:
                a = self._app(m.group(1))
                if c in ("POST", "PUT"):
                    if c == "POST":
                        code = self._json().get("app_code")
                        if not isinstance(code, str) or not APP_CODE_RE.match(code):
                            raise ApiError(400, "APIG.2011", "Invalid parameter value,parameterName:app_code. "
                                           "Please refer to the support documentation")
                    else:
                        code = secrets.token_hex(32)
                    ac = {"id": uuid.uuid4().hex, "app_id": a["id"], "app_code": code,
                          "create_time": ts(now())}
                    STATE["codes"][ac["id"]] = ac
                    return self._reply(201, ac)
                if c == "GET":
                    codes = [v for v in STATE["codes"].values() if v["app_id"] == a["id"]]
                    off, lim = int(self.query.get("offset", 0)), int(self.query.get("limit", 20))
                    page = codes[off:off + lim]
                    return self._reply(200, {"total": len(codes), "size": len(page), "app_codes": page})
            m = re.match(r"^/apps/([^/]+)/app-codes/([^/]+)$", rest)
            if m:
                a = self._app(m.group(1))
                ac = STATE["codes"].get(m.group(2))
                if ac is None or ac["app_id"] != a["id"]:
                    raise ApiError(404, "APIG.3082", "AppCode %s does not exist" % m.group(2))
                if c == "GET":
                    return self._reply(200, ac)
                if c == "DELETE":
                    del STATE["codes"][ac["id"]]
                    return self._reply(204)
        raise ApiError(404, "APIG.0101", "The API does not exist or has not been published in the environment")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--admin-listen", required=True)
    s.add_argument("--data-dir", required=True)
    args = ap.parse_args()
    host, _, port = args.admin_listen.rpartition(":")
    os.makedirs(args.data_dir, exist_ok=True)
    srv = ThreadingHTTPServer((host, int(port)), Handler)
    srv.data_dir = args.data_dir
    srv.password = os.environ.get("APIGW_ADMIN_PASSWORD", "")
    srv.public_url = "http://%s:%d" % (host, srv.server_address[1])
    sys.stderr.write("listening on %s\n" % srv.public_url)
    srv.serve_forever()


if __name__ == "__main__":
    main()
