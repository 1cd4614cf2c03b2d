"""The data plane against an independent signer: APIs are defined, published and authorized
through the management API, then called through apigw's gateway listener with requests signed
by the OFFICIAL Huawei Python signer (huaweicloudsdkcore.signer.Signer, SDK-HMAC-SHA256, keyed
with the AppKey/AppSecret) and with an AppCode; a real HTTP backend (http.server) answers.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import pytest
import requests
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm
from huaweicloudsdkcore.signer.signer import Signer

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        out = json.dumps({"method": self.command, "path": self.path, "body": body,
                          "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def backend():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()


class _Creds:
    __slots__ = ("ak", "sk")

    def __init__(self, ak, sk):
        self.ak, self.sk = ak, sk


def official_sign(method, url, key, secret, body=b"", headers=None):
    """Headers of a request signed by the official huaweicloudsdkcore Signer."""
    parts = urlsplit(url)
    # The SDK hands the signer decoded query pairs (it never parses a URL itself).
    query = [tuple(unquote(x) for x in (p.split("=", 1) if "=" in p else (p, "")))
             for p in parts.query.split("&") if p]
    req = SdkRequest(method=method, schema=parts.scheme, host=parts.netloc, resource_path=parts.path,
                     query_params=query, header_params=dict(headers or {}), body=body or None,
                     signing_algorithm=SigningAlgorithm.HMAC_SHA256)
    Signer(_Creds(key, secret)).sign(req)
    return req.header_params


@pytest.fixture(scope="module")
def published(server, admin_token, project_id, instance_id, backend):
    """An APP-auth API (`POST|GET /dp/{item}` → backend `/items/{item}`), published in RELEASE,
    and an app with an AppCode authorized for it."""
    base = "%s/v2/%s/apigw/instances/%s" % (server.base_url, project_id, instance_id)
    h = {"X-Auth-Token": admin_token}

    def call(method, path, body=None, want=(200, 201)):
        r = requests.request(method, base + path, headers=h, json=body, timeout=10)
        assert r.status_code in want, "%s %s: %s %s" % (method, path, r.status_code, r.text[:300])
        return r.json() if r.text else None

    group = [g for g in call("GET", "/api-groups")["groups"] if g["is_default"] == 1][0]["id"]
    api = call("POST", "/apis", {
        "group_id": group, "name": "sdk_data_plane", "type": 1, "req_protocol": "BOTH",
        "req_method": "ANY", "req_uri": "/dp/{item}", "auth_type": "APP",
        "auth_opt": {"app_code_auth_type": "HEADER"}, "backend_type": "HTTP",
        "backend_api": {"url_domain": "127.0.0.1:%d" % backend, "req_protocol": "HTTP",
                        "req_method": "ANY", "req_uri": "/items/{item}", "timeout": 5000},
        "backend_params": [{"name": "item", "value": "item", "location": "PATH", "origin": "REQUEST"},
                           {"name": "X-Caller-App", "value": "$context.appId", "location": "HEADER",
                            "origin": "SYSTEM"}]})
    call("POST", "/apis/action", {"action": "online", "env_id": RELEASE, "api_id": api["id"]})
    app = call("POST", "/apps", {"name": "sdk_dp_app"})
    code = call("PUT", "/apps/%s/app-codes" % app["id"])
    call("POST", "/app-auths", {"env_id": RELEASE, "app_ids": [app["id"]], "api_ids": [api["id"]]})
    return {"app": app, "code": code["app_code"], "gateway": server.gateway_url}


def test_get_signed_by_the_official_signer_reaches_the_backend(published):
    app, gw = published["app"], published["gateway"]
    url = gw + "/dp/book-1?lang=en&x=a%20b"
    headers = official_sign("GET", url, app["app_key"], app["app_secret"],
                            headers={"Content-Type": "application/json"})
    r = requests.get(url, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["path"].startswith("/items/book-1?")
    assert "lang=en" in seen["path"]
    assert seen["headers"]["x-caller-app"] == app["id"]
    assert "authorization" not in seen["headers"]
    assert seen["headers"]["x-request-id"] == r.headers["X-Request-Id"]


def test_post_with_body_signed_by_the_official_signer(published):
    app, gw = published["app"], published["gateway"]
    body = json.dumps({"name": "demo", "tags": ["ä", "b"]}).encode()
    url = gw + "/dp/orders"
    headers = official_sign("POST", url, app["app_key"], app["app_secret"], body=body,
                            headers={"Content-Type": "application/json;charset=utf-8", "X-Stage": "RELEASE"})
    r = requests.post(url, headers=headers, data=body, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["method"] == "POST"
    assert json.loads(r.json()["body"]) == {"name": "demo", "tags": ["ä", "b"]}


def test_official_signature_with_a_wrong_secret_or_changed_body_is_refused(published):
    app, gw = published["app"], published["gateway"]
    url = gw + "/dp/orders"
    headers = official_sign("POST", url, app["app_key"], "not-the-secret", body=b"{}",
                            headers={"Content-Type": "application/json"})
    r = requests.post(url, headers=headers, data=b"{}", timeout=10)
    assert r.status_code == 401
    err = r.json()
    assert err["error_code"] == "APIG.0303"
    assert err["error_msg"].startswith("Incorrect app authentication information: verify signature fail")
    assert err["request_id"] == r.headers["X-Request-Id"]
    good = official_sign("POST", url, app["app_key"], app["app_secret"], body=b'{"a":1}',
                         headers={"Content-Type": "application/json"})
    r = requests.post(url, headers=good, data=b'{"a":2}', timeout=10)
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0303"


def test_app_code_and_unauthorized_and_unknown_route(published):
    gw = published["gateway"]
    r = requests.get(gw + "/dp/x", headers={"X-Apig-AppCode": published["code"]}, timeout=10)
    assert r.status_code == 200, r.text
    r = requests.get(gw + "/dp/x", headers={"X-Apig-AppCode": "0" * 64}, timeout=10)
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0303"
    r = requests.get(gw + "/not-published", timeout=10)
    assert r.status_code == 404 and r.json()["error_code"] == "APIG.0101"


def test_instance_features_through_the_official_sdk_turn_on_the_clear_secret_modes(
        published, apig, instance_id):
    """CreateFeatureV2 / ListFeaturesV2 / ListInstanceFeatures with the official SDK's models;
    then the app_secret (X-HW-ID / X-HW-AppKey) and app_basic (requests' own HTTP Basic auth)
    modes through the gateway; both are off before and after."""
    from huaweicloudsdkapig.v2 import (
        CreateFeatureV2Request, FeatureToggle, ListFeaturesV2Request, ListInstanceFeaturesRequest)
    app, gw = published["app"], published["gateway"]
    key, secret = app["app_key"], app["app_secret"]
    hw = {"X-HW-ID": key, "X-HW-AppKey": secret}
    basic = requests.auth.HTTPBasicAuth(key, secret)

    def configure(name, enable, config):
        req = CreateFeatureV2Request(instance_id=instance_id,
                                     body=FeatureToggle(name=name, enable=enable, config=config))
        return apig.create_feature_v2(req)

    supported = apig.list_instance_features(ListInstanceFeaturesRequest(instance_id=instance_id))
    assert supported.features == ["app_secret", "app_basic", "app_api_key", "app_token",
                                  "app_auth_header", "backend_sign_header", "app_route",
                                  "real_ip_from_xff",
                                  "request_body_size", "backend_timeout", "ratelimit"]
    assert (supported.total, supported.size) == (11, 11)

    for r in (requests.get(gw + "/dp/hw", headers=hw, timeout=10),
              requests.get(gw + "/dp/basic", auth=basic, timeout=10)):
        assert r.status_code == 401 and r.json()["error_code"] == "APIG.0303", r.text

    try:
        created = configure("app_secret", True, "on")
        assert created.name == "app_secret" and created.enable is True and created.config == "on"
        assert created.instance_id == instance_id and len(created.id) == 32
        assert created.update_time is not None
        configure("app_basic", True, "on")
        listed = apig.list_features_v2(ListFeaturesV2Request(instance_id=instance_id))
        assert listed.total == 2
        assert {(f.name, f.enable, f.config) for f in listed.features} == {
            ("app_secret", True, "on"), ("app_basic", True, "on")}

        r = requests.get(gw + "/dp/hw", headers=hw, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["headers"]["x-caller-app"] == app["id"]
        assert "x-hw-appkey" not in r.json()["headers"] and "x-hw-id" not in r.json()["headers"]
        r = requests.get(gw + "/dp/basic", auth=basic, timeout=10)
        assert r.status_code == 200, r.text
        assert "authorization" not in r.json()["headers"]
        r = requests.get(gw + "/dp/basic", auth=requests.auth.HTTPBasicAuth(key, "Wrong_secret1"),
                         timeout=10)
        assert r.status_code == 401 and r.json()["error_code"] == "APIG.0303", r.text
    finally:
        configure("app_secret", False, "off")
        configure("app_basic", False, "off")

    for r in (requests.get(gw + "/dp/hw", headers=hw, timeout=10),
              requests.get(gw + "/dp/basic", auth=basic, timeout=10)):
        assert r.status_code == 401 and r.json()["error_code"] == "APIG.0303", r.text

    # request_body_size through the SDK: a body a little over 1 MB passes the node's 12 MB,
    # not the instance's 1 MB once configured (little over: the refused rest still fits the
    # sockets' buffers, so the client reads the answer instead of a reset).
    big = b"x" * (1024 * 1024 + 1000)
    r = requests.post(gw + "/dp/big", data=big, headers={"X-Apig-AppCode": published["code"]},
                      timeout=30)
    assert r.status_code == 200, r.text[:200]
    try:
        limited = configure("request_body_size", True, "1048576")
        assert (limited.name, limited.config) == ("request_body_size", "1048576")
        r = requests.post(gw + "/dp/big", data=big,
                          headers={"X-Apig-AppCode": published["code"]}, timeout=30)
        assert r.status_code == 413 and r.json()["error_code"] == "APIG.0201", r.text
    finally:
        configure("request_body_size", False, "1048576")


def test_app_tokens_fetched_by_an_oauth2_library_call_apis_configured_with_the_official_sdk(
        published, apig, instance_id, server):
    """app_token turned on with the official SDK (CreateFeatureV2); requests-oauthlib, an
    independent OAuth 2.0 client, fetches a token with the client credentials grant (its own
    Basic client authentication, over the HTTPS listener) and calls the API with it as a
    Bearer token; a wrong secret gets APIG.1009; app_api_key takes the AppKey alone."""
    from huaweicloudsdkapig.v2 import CreateFeatureV2Request, FeatureToggle
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session
    app = published["app"]
    key, secret = app["app_key"], app["app_secret"]
    https = "https://%s" % server.gateway_tls_address
    token_url = https + "/oauth2/token"

    def configure(name, enable, config):
        req = CreateFeatureV2Request(instance_id=instance_id,
                                     body=FeatureToggle(name=name, enable=enable, config=config))
        return apig.create_feature_v2(req)

    try:
        shown = configure("app_token", True, json.dumps(
            {"enable": "on", "app_token_expire_time": 600, "app_token_uri": "/oauth2/token"}))
        assert json.loads(shown.config) == {
            "enable": True, "app_token_expire_time": 600, "refresh_token_expire_time": 7200,
            "app_token_uri": "/oauth2/token"}
        session = OAuth2Session(client=BackendApplicationClient(client_id=key))
        token = session.fetch_token(token_url=token_url, client_id=key, client_secret=secret,
                                    verify=server.gateway_cert)
        assert token["token_type"] == "Bearer" and token["expires_in"] == 600
        assert token["refresh_token"] != token["access_token"]
        r = session.get(https + "/dp/oauth", verify=server.gateway_cert, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["headers"]["x-caller-app"] == app["id"]
        assert "authorization" not in r.json()["headers"]
        # The same token through the plain listener (this server allows credentials in clear).
        r = requests.get(published["gateway"] + "/dp/oauth",
                         headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10)
        assert r.status_code == 200, r.text
        r = requests.post(token_url, data={"grant_type": "client_credentials"},
                          auth=requests.auth.HTTPBasicAuth(key, "Wrong_secret1"),
                          verify=server.gateway_cert,
                          timeout=10)
        assert r.status_code == 400 and r.json()["error_code"] == "APIG.1009", r.text
        assert r.json()["error_msg"] == "AppKey or AppSecret is invalid"

        configure("app_api_key", True, "on")
        r = requests.get(published["gateway"] + "/dp/apikey", headers={"apikey": key}, timeout=10)
        assert r.status_code == 200, r.text
        assert "apikey" not in r.json()["headers"]
    finally:
        configure("app_token", False, json.dumps({"enable": "off"}))
        configure("app_api_key", False, "off")
    r = requests.get(published["gateway"] + "/dp/oauth",
                     headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10)
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0303", r.text
    r = requests.get(published["gateway"] + "/dp/apikey", headers={"apikey": key}, timeout=10)
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0303", r.text


def test_app_auth_header_carries_the_official_signers_signature_and_frees_authorization(
        published, apig, instance_id):
    """app_auth_header set with the official SDK: the official signer's Authorization value,
    sent in X-Apig-Auth, authenticates; the caller's own Authorization reaches the backend."""
    from huaweicloudsdkapig.v2 import CreateFeatureV2Request, FeatureToggle
    app, gw = published["app"], published["gateway"]
    url = gw + "/dp/moved"

    def configure(enable, config):
        body = FeatureToggle(name="app_auth_header", enable=enable, config=config)
        return apig.create_feature_v2(CreateFeatureV2Request(instance_id=instance_id, body=body))

    def moved():
        headers = official_sign("GET", url, app["app_key"], app["app_secret"])
        headers["X-Apig-Auth"] = headers.pop("Authorization")
        headers["Authorization"] = "Bearer the-end-users-own"
        return headers

    assert configure(True, "X-Apig-Auth").config == "X-Apig-Auth"
    try:
        r = requests.get(url, headers=moved(), timeout=10)
        assert r.status_code == 200, r.text
        seen = r.json()["headers"]
        assert seen["authorization"] == "Bearer the-end-users-own"
        assert "x-apig-auth" not in seen and seen["x-caller-app"] == app["id"]
    finally:
        configure(False, "X-Apig-Auth")
    r = requests.get(url, headers=moved(), timeout=10)
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0303", r.text


def default_group(server, admin_token, project_id, instance_id):
    """The id of the instance's DEFAULT API group."""
    base = "%s/v2/%s/apigw/instances/%s" % (server.base_url, project_id, instance_id)
    groups = requests.get(base + "/api-groups", headers={"X-Auth-Token": admin_token},
                          timeout=10).json()["groups"]
    return [g for g in groups if g["is_default"] == 1][0]["id"]


def sdk_publish(apig, instance_id, api_id):
    """Publishes an API in RELEASE through the SDK (CreateOrDeletePublishRecordForApiV2)."""
    from huaweicloudsdkapig.v2 import ApiActionInfo, CreateOrDeletePublishRecordForApiV2Request
    apig.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
        instance_id=instance_id, body=ApiActionInfo(action="online", env_id=RELEASE, api_id=api_id)))


def test_an_api_with_cors_made_by_the_official_sdk_admits_browser_pages(
        published, apig, instance_id, backend, server, admin_token, project_id):
    """CreateApiV2 with `cors=True` (the SDK's own models), published and authorized through the
    SDK; then what a browser does: the preflight (answered by the gateway, no credentials) and
    the call, readable from any origin; an API without CORS gives neither."""
    from huaweicloudsdkapig.v2 import (
        ApiAuthCreate, ApiCreate, AuthOpt, BackendApiCreate, BackendParamBase,
        CreateApiV2Request, CreateAuthorizingAppsV2Request)
    group = default_group(server, admin_token, project_id, instance_id)
    created = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group, name="sdk_cors_api", type=1, req_protocol="BOTH", req_method="POST",
        req_uri="/browser/{item}", auth_type="APP", auth_opt=AuthOpt(app_code_auth_type="HEADER"),
        cors=True, backend_type="HTTP",
        backend_params=[BackendParamBase(origin="REQUEST", name="item", location="PATH",
                                         value="item")],
        backend_api=BackendApiCreate(url_domain="127.0.0.1:%d" % backend, req_protocol="HTTP",
                                     req_method="POST", req_uri="/items/{item}", timeout=5000))))
    assert created.cors is True and created.name == "sdk_cors_api"
    sdk_publish(apig, instance_id, created.id)
    apig.create_authorizing_apps_v2(CreateAuthorizingAppsV2Request(
        instance_id=instance_id, body=ApiAuthCreate(env_id=RELEASE, app_ids=[published["app"]["id"]],
                                                    api_ids=[created.id])))
    gw, origin = published["gateway"], "https://page.example"

    pre = requests.options(gw + "/browser/b1", timeout=10, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-apig-appcode"})
    assert pre.status_code == 200, pre.text
    assert pre.text == ""
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"].split(",")
    assert pre.headers["Access-Control-Allow-Headers"] == "content-type,x-apig-appcode"
    assert pre.headers["Access-Control-Max-Age"] == "172800"

    r = requests.post(gw + "/browser/b1", json={"n": 1}, timeout=10,
                      headers={"Origin": origin, "X-Apig-AppCode": published["code"]})
    assert r.status_code == 200, r.text
    assert r.json()["path"] == "/items/b1" and json.loads(r.json()["body"]) == {"n": 1}
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-Id" in r.headers["Access-Control-Expose-Headers"].split(",")
    r = requests.post(gw + "/browser/b1", timeout=10, headers={"Origin": origin})
    assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == "*", r.text

    # The API of the module's fixture has no CORS: no preflight answer, no mark.
    pre = requests.options(gw + "/dp/b1", timeout=10, headers={
        "Origin": origin, "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in pre.headers
    r = requests.get(gw + "/dp/b1", timeout=10,
                     headers={"Origin": origin, "X-Apig-AppCode": published["code"]})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


def test_a_mock_api_made_by_the_official_sdk_is_answered_by_the_gateway(
        published, apig, instance_id, server, admin_token, project_id):
    """CreateApiV2 with `backend_type=MOCK` and the SDK's ApiMockCreate; the SDK reads the answer
    (`mock_info` with its id and times) into its ApiMock model; the gateway answers calls with
    the mock's content, no backend anywhere."""
    from huaweicloudsdkapig.v2 import ApiCreate, ApiMockCreate, CreateApiV2Request
    group = default_group(server, admin_token, project_id, instance_id)
    created = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group, name="sdk_mock_api", type=1, req_protocol="BOTH", req_method="GET",
        req_uri="/mock/status", auth_type="NONE", backend_type="MOCK",
        mock_info=ApiMockCreate(result_content='{"status":"up"}', version="v2", remark="stub"))))
    assert created.backend_type == "MOCK" and created.backend_api is None
    assert created.mock_info.result_content == '{"status":"up"}'
    assert created.mock_info.version == "v2" and len(created.mock_info.id) == 32
    assert created.mock_info.register_time is not None
    sdk_publish(apig, instance_id, created.id)
    r = requests.get(published["gateway"] + "/mock/status", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "up"}
    assert r.headers["Content-Type"] == "application/json"
    assert len(r.headers["X-Request-Id"]) == 32


def test_request_parameters_declared_with_the_official_sdk_are_enforced(
        published, apig, instance_id, server, admin_token, project_id):
    """ReqParamBase (required, NUMBER, valid_enable with a range and an enumeration) on an API
    made with the SDK: a call without the required parameter, or with a value that is not a
    number, out of range or not enumerated, is refused with APIG.0106 before the (mock) backend
    answers."""
    from huaweicloudsdkapig.v2 import ApiCreate, ApiMockCreate, CreateApiV2Request, ReqParamBase
    group = default_group(server, admin_token, project_id, instance_id)
    created = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group, name="sdk_params_api", type=1, req_protocol="BOTH", req_method="GET",
        req_uri="/params/check", auth_type="NONE", backend_type="MOCK",
        mock_info=ApiMockCreate(result_content="checked"),
        req_params=[ReqParamBase(name="count", type="NUMBER", location="QUERY", required=1,
                                 valid_enable=1, min_num=1, max_num=100),
                    ReqParamBase(name="order", type="STRING", location="QUERY", required=2,
                                 valid_enable=1, enumerations="asc,desc"),
                    ReqParamBase(name="X-Client", type="STRING", location="HEADER", required=2)])))
    assert [(p.name, p.required, p.valid_enable) for p in created.req_params] == [
        ("count", 1, 1), ("order", 2, 1), ("X-Client", 2, 2)]
    assert (created.req_params[0].min_num, created.req_params[0].max_num) == (1, 100)
    assert created.req_params[1].enumerations == "asc,desc"
    sdk_publish(apig, instance_id, created.id)
    url = published["gateway"] + "/params/check"
    for query in ("", "?count=", "?count=many", "?count=101", "?count=5&order=up"):
        r = requests.get(url + query, timeout=10)
        assert r.status_code == 400, r.text
        assert r.json()["error_code"] == "APIG.0106" and r.json()["error_msg"] == "Orchestration error."
    r = requests.get(url + "?count=12&order=desc", timeout=10)
    assert (r.status_code, r.text) == (200, "checked")


def test_request_throttling_made_with_the_official_sdk_refuses_calls_past_its_limits(
        published, apig, instance_id):
    """The throttling calls of the official SDK with its own models: a policy
    (CreateRequestThrottlingPolicyV2), an app's exception (CreateSpecialThrottlingConfigurationV2),
    a binding to a published MOCK API (AssociateRequestThrottlingPolicyV2), the lists read into
    ThrottlesInfo / ApiForThrottle / ThrottleForApi / ThrottleSpecialInfo, then calls through the
    gateway refused with 429 APIG.0308 past the app's own limit and the API's; unbound in bulk
    (BatchDisassociateThrottlingPolicyV2), the API answers again."""
    from huaweicloudsdkapig.v2 import (
        ApiAuthCreate, ApiCreate, ApiMockCreate, AssociateRequestThrottlingPolicyV2Request,
        BatchDisassociateThrottlingPolicyV2Request, CreateApiV2Request,
        CreateAuthorizingAppsV2Request, CreateRequestThrottlingPolicyV2Request,
        CreateSpecialThrottlingConfigurationV2Request, DeleteRequestThrottlingPolicyV2Request,
        ListApisBindedToRequestThrottlingPolicyV2Request,
        ListRequestThrottlingPoliciesBindedToApiV2Request, ListRequestThrottlingPolicyV2Request,
        ListSpecialThrottlingConfigurationsV2Request, ShowDetailsOfRequestThrottlingPolicyV2Request,
        ThrottleApiBindingCreate, ThrottleBaseInfo, ThrottleBindingBatchDelete,
        ThrottleSpecialCreate, UpdateRequestThrottlingPolicyV2Request, AuthOpt,
        ListApiGroupsV2Request, ListApisUnbindedToRequestThrottlingPolicyV2Request)
    groups = apig.list_api_groups_v2(ListApiGroupsV2Request(instance_id=instance_id)).groups
    group = [g for g in groups if g.is_default == 1][0].id
    api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group, name="sdk_throttled_api", type=1, req_protocol="BOTH", req_method="GET",
        req_uri="/throttled", auth_type="APP", auth_opt=AuthOpt(app_code_auth_type="HEADER"),
        backend_type="MOCK", mock_info=ApiMockCreate(result_content="fine"))))
    sdk_publish(apig, instance_id, api.id)
    app = published["app"]
    apig.create_authorizing_apps_v2(CreateAuthorizingAppsV2Request(
        instance_id=instance_id, body=ApiAuthCreate(env_id=RELEASE, app_ids=[app["id"]],
                                                    api_ids=[api.id])))

    policy = apig.create_request_throttling_policy_v2(CreateRequestThrottlingPolicyV2Request(
        instance_id=instance_id, body=ThrottleBaseInfo(
            name="sdk_policy", api_call_limits=5, app_call_limits=1, time_interval=1,
            time_unit="DAY", remark="made by the SDK", type=1)))
    assert (policy.api_call_limits, policy.app_call_limits, policy.user_call_limits) == (5, 1, 0)
    assert policy.bind_num == 0 and policy.is_inclu_special_throttle == 2
    assert policy.enable_adaptive_control == "FALSE" and policy.create_time is not None
    special = apig.create_special_throttling_configuration_v2(
        CreateSpecialThrottlingConfigurationV2Request(
            instance_id=instance_id, throttle_id=policy.id,
            body=ThrottleSpecialCreate(object_type="APP", object_id=app["id"], call_limits=3)))
    assert (special.app_id, special.app_name, special.call_limits) == (app["id"], "sdk_dp_app", 3)
    bound_apis = None
    try:
        unbound = apig.list_apis_unbinded_to_request_throttling_policy_v2(
            ListApisUnbindedToRequestThrottlingPolicyV2Request(
                instance_id=instance_id, throttle_id=policy.id, api_name="sdk_throttled_api"))
        assert unbound.total == 1
        publish_id = unbound.apis[0].publish_id
        bound = apig.associate_request_throttling_policy_v2(
            AssociateRequestThrottlingPolicyV2Request(instance_id=instance_id, body=ThrottleApiBindingCreate(
                strategy_id=policy.id, publish_ids=[publish_id])))
        binding = bound.throttle_applys[0]
        assert (binding.publish_id, binding.strategy_id, binding.scope) == (publish_id, policy.id, 1)
        bound_apis = apig.list_apis_binded_to_request_throttling_policy_v2(
            ListApisBindedToRequestThrottlingPolicyV2Request(instance_id=instance_id,
                                                             throttle_id=policy.id))
        assert [(a.id, a.throttle_apply_id, a.throttle_name, a.run_env_name)
                for a in bound_apis.apis] == [(api.id, binding.id, "sdk_policy", "RELEASE")]
        of_api = apig.list_request_throttling_policies_binded_to_api_v2(
            ListRequestThrottlingPoliciesBindedToApiV2Request(instance_id=instance_id, api_id=api.id))
        assert [(t.id, t.bind_id, t.env_name) for t in of_api.throttles] == [
            (policy.id, binding.id, "RELEASE")]
        specials = apig.list_special_throttling_configurations_v2(
            ListSpecialThrottlingConfigurationsV2Request(instance_id=instance_id,
                                                         throttle_id=policy.id))
        assert [(s.id, s.object_type) for s in specials.throttle_specials] == [(special.id, "APP")]
        shown = apig.show_details_of_request_throttling_policy_v2(
            ShowDetailsOfRequestThrottlingPolicyV2Request(instance_id=instance_id,
                                                          throttle_id=policy.id))
        assert (shown.bind_num, shown.is_inclu_special_throttle) == (1, 1)

        gw, code = published["gateway"], {"X-Apig-AppCode": published["code"]}
        for _ in range(3):
            r = requests.get(gw + "/throttled", headers=code, timeout=10)
            assert (r.status_code, r.text) == (200, "fine")
        r = requests.get(gw + "/throttled", headers=dict(code, **{"X-Apig-Mode": "debug"}),
                         timeout=10)
        assert r.status_code == 429 and r.json()["error_code"] == "APIG.0308", r.text
        assert r.headers["X-Apig-RateLimit-app"] == "remain:0,limit:3,time:1 day"

        # Replaced through the SDK (ThrottleBaseInfo again): the API limit of 2 is used up.
        apig.update_request_throttling_policy_v2(UpdateRequestThrottlingPolicyV2Request(
            instance_id=instance_id, throttle_id=policy.id, body=ThrottleBaseInfo(
                name="sdk_policy", api_call_limits=3, time_interval=1, time_unit="DAY")))
        listed = apig.list_request_throttling_policy_v2(
            ListRequestThrottlingPolicyV2Request(instance_id=instance_id, name="sdk_policy"))
        assert [(t.api_call_limits, t.app_call_limits) for t in listed.throttles] == [(3, 0)]
        r = requests.get(gw + "/throttled", headers=code, timeout=10)
        assert r.status_code == 429, r.text
    finally:
        if bound_apis is not None:
            done = apig.batch_disassociate_throttling_policy_v2(
                BatchDisassociateThrottlingPolicyV2Request(
                    instance_id=instance_id, action="delete",
                    body=ThrottleBindingBatchDelete(
                        throttle_bindings=[a.throttle_apply_id for a in bound_apis.apis])))
            assert done.success_count == 1 and not done.failure
        apig.delete_request_throttling_policy_v2(DeleteRequestThrottlingPolicyV2Request(
            instance_id=instance_id, throttle_id=policy.id))
    r = requests.get(published["gateway"] + "/throttled",
                     headers={"X-Apig-AppCode": published["code"]}, timeout=10)
    assert (r.status_code, r.text) == (200, "fine")


def test_an_access_control_policy_made_with_the_official_sdk_refuses_other_addresses(
        published, apig, instance_id):
    """Access control policies through the official SDK's models: CreateAclStrategyV2 with
    ApiAclCreate, CreateApiAclBindingV2 with AclApiBindingCreate (the publication record read
    from ListApisUnbindedToAclPolicyV2), the lists read into ApiAclInfoWithBindNum /
    AclBindApiInfo / ApiBindAclInfo, UpdateAclStrategyV2; calls from loopback refused by a
    whitelist without it (403 APIG.0402) and admitted once it is listed; then unbound
    (BatchDeleteApiAclBindingV2) and deleted (DeleteAclV2)."""
    from huaweicloudsdkapig.v2 import (
        AclApiBindingCreate, AclBindingBatchDelete, ApiAclCreate, BatchDeleteApiAclBindingV2Request,
        CreateAclStrategyV2Request, CreateApiAclBindingV2Request, DeleteAclV2Request,
        ListAclPolicyBindedToApiV2Request, ListAclStrategiesV2Request,
        ListApisBindedToAclPolicyV2Request, ListApisUnbindedToAclPolicyV2Request,
        UpdateAclStrategyV2Request)
    gw, code = published["gateway"], {"X-Apig-AppCode": published["code"]}
    policy = apig.create_acl_strategy_v2(CreateAclStrategyV2Request(
        instance_id=instance_id, body=ApiAclCreate(
            acl_name="sdk_office", acl_type="PERMIT", acl_value="203.0.113.0/24",
            entity_type="IP")))
    assert (policy.acl_type, policy.acl_value, policy.entity_type) == (
        "PERMIT", "203.0.113.0/24", "IP")
    bindings = None
    try:
        unbound = apig.list_apis_unbinded_to_acl_policy_v2(ListApisUnbindedToAclPolicyV2Request(
            instance_id=instance_id, acl_id=policy.id, api_name="sdk_data_plane"))
        publish_id = unbound.apis[0].publish_id
        api_id = unbound.apis[0].id
        bindings = apig.create_api_acl_binding_v2(CreateApiAclBindingV2Request(
            instance_id=instance_id,
            body=AclApiBindingCreate(acl_id=policy.id, publish_ids=[publish_id]))).acl_bindings
        assert [(b.acl_id, b.api_id) for b in bindings] == [(policy.id, api_id)]
        listed = apig.list_acl_strategies_v2(ListAclStrategiesV2Request(
            instance_id=instance_id, name="sdk_office"))
        assert [(p.id, p.bind_num) for p in listed.acls] == [(policy.id, 1)]
        apis = apig.list_apis_binded_to_acl_policy_v2(ListApisBindedToAclPolicyV2Request(
            instance_id=instance_id, acl_id=policy.id))
        assert [(a.api_id, a.bind_id) for a in apis.apis] == [(api_id, bindings[0].id)]
        of_api = apig.list_acl_policy_binded_to_api_v2(ListAclPolicyBindedToApiV2Request(
            instance_id=instance_id, api_id=api_id))
        assert [(a.acl_id, a.acl_type) for a in of_api.acls] == [(policy.id, "PERMIT")]

        r = requests.get(gw + "/dp/acl", headers=code, timeout=10)
        assert r.status_code == 403 and r.json()["error_code"] == "APIG.0402", r.text
        apig.update_acl_strategy_v2(UpdateAclStrategyV2Request(
            instance_id=instance_id, acl_id=policy.id, body=ApiAclCreate(
                acl_name="sdk_office", acl_type="PERMIT", acl_value="203.0.113.0/24,127.0.0.1",
                entity_type="IP")))
        r = requests.get(gw + "/dp/acl", headers=code, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        if bindings:
            done = apig.batch_delete_api_acl_binding_v2(BatchDeleteApiAclBindingV2Request(
                instance_id=instance_id, action="delete",
                body=AclBindingBatchDelete(acl_bindings=[b.id for b in bindings])))
            assert done.success_count == 1
        apig.delete_acl_v2(DeleteAclV2Request(instance_id=instance_id, acl_id=policy.id))
    r = requests.get(gw + "/dp/acl", headers=code, timeout=10)
    assert r.status_code == 200, r.text
