"""gRPC APIs through the gateway, with gRPC's own implementations on both sides: the API
(`req_protocol` GRPCS, `backend_type` GRPC) is created with the official huaweicloudsdkapig
client, a `grpcio` server is the backend (cleartext HTTP/2), and a `grpcio` client calls it
over the gateway's HTTPS listener with an AppCode in its metadata. Unary, server-streaming and
bidirectional calls, the backend's status and trailing metadata, and the gateway's refusals as
gRPC statuses whose message carries the APIG code (a call that reaches no API gets the plain
404, which gRPC reads as UNIMPLEMENTED); a gRPC API on a VPC channel retried on its other
server.
"""
import json
from concurrent import futures
from pathlib import Path

import grpc
import pytest
import requests
from huaweicloudsdkapig.v2 import (
    ApiCreate,
    ApiActionInfo,
    AuthOpt,
    BackendApiCreate,
    BackendParamBase,
    CreateApiV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    ShowDetailsOfApiV2Request,
)

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"
SERVICE = "apigw.test.Echo"
TIMEOUT = 10


def _say(request, context):
    """Unary: what the backend saw (path, metadata, message), and a trailer of its own."""
    context.set_trailing_metadata((("x-backend-trailer", "t1"),))
    seen = {"metadata": {k: v for k, v in context.invocation_metadata()},
            "message": request.decode()}
    return json.dumps(seen).encode()


def _count(request, context):
    """Server streaming: as many messages as the request says."""
    for i in range(int(request)):
        yield b"n%d" % i


def _chat(requests_iter, context):
    """Bidirectional streaming: an echo per message."""
    for message in requests_iter:
        yield b"echo:" + message


def _sum(requests_iter, context):
    """Client streaming: the number of messages and of bytes received."""
    sizes = [len(m) for m in requests_iter]
    return b"%d %d" % (len(sizes), sum(sizes))


def _fail(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")


def _serve(service, handlers, port=0):
    """A grpcio server on cleartext HTTP/2 (messages are raw bytes, no protobuf needed): the
    server and its port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    port = server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    return server, port


@pytest.fixture(scope="module")
def grpc_backend():
    server, port = _serve(SERVICE, {
        "Say": grpc.unary_unary_rpc_method_handler(_say),
        "Count": grpc.unary_stream_rpc_method_handler(_count),
        "Chat": grpc.stream_stream_rpc_method_handler(_chat),
        "Sum": grpc.stream_unary_rpc_method_handler(_sum),
        "Fail": grpc.unary_unary_rpc_method_handler(_fail),
    })
    yield port
    server.stop(None)


def _unused_port():
    """A port nothing listens on (bound, then closed), for a backend that is down."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def grpc_api(server, apig, admin_token, project_id, instance_id, grpc_backend):
    """The gRPC API, created and published with the official SDK; an app with an AppCode
    authorized for it, and one without the authorization."""
    base = "%s/v2/%s/apigw/instances/%s" % (server.base_url, project_id, instance_id)
    h = {"X-Auth-Token": admin_token}

    def call(method, path, body=None):
        r = requests.request(method, base + path, headers=h, json=body, timeout=TIMEOUT)
        assert r.status_code in (200, 201), "%s %s: %s %s" % (method, path, r.status_code, r.text)
        return r.json() if r.text else None

    group = [g for g in call("GET", "/api-groups")["groups"] if g["is_default"] == 1][0]["id"]

    def create(name, req_uri, match_mode, backend_port):
        body = ApiCreate(
            group_id=group, name=name, type=1, req_protocol="GRPCS", req_method="POST",
            req_uri=req_uri, match_mode=match_mode, auth_type="APP",
            auth_opt=AuthOpt(app_code_auth_type="HEADER"), backend_type="GRPC",
            backend_api=BackendApiCreate(url_domain="127.0.0.1:%d" % backend_port,
                                         req_protocol="GRPC", req_method="POST", req_uri="/",
                                         timeout=5000),
            backend_params=[BackendParamBase(origin="SYSTEM", name="x-caller-app",
                                             value="$context.appId", location="HEADER")])
        api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=body))
        apig.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
            instance_id=instance_id,
            body=ApiActionInfo(action="online", env_id=RELEASE, api_id=api.id)))
        return api

    api = create("sdk_grpc_echo", "/" + SERVICE, "SWA", grpc_backend)
    down_port = _unused_port()
    down = create("sdk_grpc_down", "/apigw.test.Down/Call", "NORMAL", down_port)
    app = call("POST", "/apps", {"name": "sdk_grpc_app"})
    code = call("PUT", "/apps/%s/app-codes" % app["id"])["app_code"]
    call("POST", "/app-auths", {"env_id": RELEASE, "app_ids": [app["id"]],
                                "api_ids": [api.id, down.id]})
    stranger = call("POST", "/apps", {"name": "sdk_grpc_stranger"})
    stranger_code = call("PUT", "/apps/%s/app-codes" % stranger["id"])["app_code"]
    # A second service on its own server, for the API on a VPC channel.
    live, live_port = _serve("apigw.test.Spread", {
        "Say": grpc.unary_unary_rpc_method_handler(lambda req, ctx: b"spread:" + req)})
    yield {"api": api, "app": app, "code": code, "stranger_code": stranger_code,
           "down_port": down_port, "live_port": live_port}
    live.stop(None)


def _management(server, project_id, instance_id, admin_token):
    """The instance's management base URL, the token header and its default group's id."""
    base = "%s/v2/%s/apigw/instances/%s" % (server.base_url, project_id, instance_id)
    h = {"X-Auth-Token": admin_token}
    groups = requests.get(base + "/api-groups", headers=h, timeout=TIMEOUT).json()["groups"]
    return base, h, [g for g in groups if g["is_default"] == 1][0]["id"]


def _publish_and_authorize(apig, instance_id, management, api, app_id):
    """Publishes `api` in RELEASE with the SDK and authorizes app `app_id` for it there."""
    base, h, _ = management
    apig.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
        instance_id=instance_id,
        body=ApiActionInfo(action="online", env_id=RELEASE, api_id=api.id)))
    auth = requests.post(base + "/app-auths", headers=h, timeout=TIMEOUT, json={
        "env_id": RELEASE, "app_ids": [app_id], "api_ids": [api.id]})
    assert auth.status_code == 201, auth.text


@pytest.fixture(scope="module")
def channel(server):
    """A gRPC channel over TLS to the gateway's HTTPS listener, trusting its certificate."""
    creds = grpc.ssl_channel_credentials(root_certificates=Path(server.gateway_cert).read_bytes())
    ch = grpc.secure_channel(server.gateway_tls_address, creds,
                             options=(("grpc.ssl_target_name_override", "localhost"),
                                      ("grpc.default_authority", "localhost")))
    yield ch
    ch.close()


def _unary(ch, method):
    return ch.unary_unary("/%s/%s" % (SERVICE, method))


def test_the_api_is_stored_as_a_grpc_api(apig, instance_id, grpc_api):
    shown = apig.show_details_of_api_v2(ShowDetailsOfApiV2Request(
        instance_id=instance_id, api_id=grpc_api["api"].id))
    assert shown.req_protocol == "GRPCS"
    assert shown.backend_type == "GRPC"
    assert shown.backend_api.req_protocol == "GRPC"
    assert shown.backend_api.req_uri == "/"
    assert shown.match_mode == "SWA"


def test_a_unary_call_with_an_appcode_reaches_the_grpc_backend(channel, grpc_api):
    reply, call = _unary(channel, "Say").with_call(
        b"hello", metadata=(("x-apig-appcode", grpc_api["code"]), ("x-custom", "kept")),
        timeout=TIMEOUT)
    seen = json.loads(reply)
    assert seen["message"] == "hello"
    metadata = seen["metadata"]
    assert metadata["x-caller-app"] == grpc_api["app"]["id"]
    assert metadata["x-custom"] == "kept"
    assert "x-apig-appcode" not in metadata, "the AppCode must not reach the backend"
    request_id = dict(call.initial_metadata())["x-request-id"]
    assert metadata["x-request-id"] == request_id
    assert call.code() == grpc.StatusCode.OK
    assert ("x-backend-trailer", "t1") in call.trailing_metadata()


def test_server_and_bidirectional_streams_pass_through(channel, grpc_api):
    md = (("x-apig-appcode", grpc_api["code"]),)
    count = channel.unary_stream("/%s/Count" % SERVICE)
    assert list(count(b"5", metadata=md, timeout=TIMEOUT)) == [b"n0", b"n1", b"n2", b"n3", b"n4"]
    chat = channel.stream_stream("/%s/Chat" % SERVICE)
    replies = chat(iter([b"a", b"b", b"c"]), metadata=md, timeout=TIMEOUT)
    assert list(replies) == [b"echo:a", b"echo:b", b"echo:c"]


def test_the_body_size_limit_holds_each_message_not_the_whole_stream(
        server, admin_token, project_id, instance_id, channel, grpc_api):
    """With `request_body_size` at 1 MB, a client stream of three 600 kB messages (1.8 MB in
    all) passes, and one message of 1.2 MB is RESOURCE_EXHAUSTED."""
    features = "%s/v2/%s/apigw/instances/%s/features" % (server.base_url, project_id, instance_id)

    def configure(enable):
        r = requests.post(features, headers={"X-Auth-Token": admin_token}, timeout=TIMEOUT,
                          json={"name": "request_body_size", "enable": enable,
                                "config": "1048576"})
        assert r.status_code in (200, 201), r.text

    md = (("x-apig-appcode", grpc_api["code"]),)
    total = channel.stream_unary("/%s/Sum" % SERVICE)
    configure(True)
    try:
        piece = b"p" * 600_000
        assert total(iter([piece] * 3), metadata=md, timeout=TIMEOUT) == b"3 1800000"
        with pytest.raises(grpc.RpcError) as e:
            total(iter([b"q" * 1_200_000]), metadata=md, timeout=TIMEOUT)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.value.details()
        assert e.value.details().startswith("APIG.0201: "), e.value.details()
    finally:
        configure(False)


def test_the_backends_status_and_message_reach_the_caller(channel, grpc_api):
    with pytest.raises(grpc.RpcError) as e:
        _unary(channel, "Fail")(b"", metadata=(("x-apig-appcode", grpc_api["code"]),),
                                timeout=TIMEOUT)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == "no such thing"


@pytest.mark.parametrize("metadata, status, apig_code", [
    ((), grpc.StatusCode.UNAUTHENTICATED, "APIG.0303"),
    ((("x-apig-appcode", "not-an-appcode-of-anyone"),), grpc.StatusCode.UNAUTHENTICATED,
     "APIG.0303"),
    ("stranger", grpc.StatusCode.PERMISSION_DENIED, "APIG.0304"),
])
def test_the_gateways_refusals_reach_grpc_callers_as_grpc_statuses(channel, grpc_api, metadata,
                                                                   status, apig_code):
    if metadata == "stranger":
        metadata = (("x-apig-appcode", grpc_api["stranger_code"]),)
    with pytest.raises(grpc.RpcError) as e:
        _unary(channel, "Say")(b"x", metadata=metadata, timeout=TIMEOUT)
    assert e.value.code() == status, e.value.details()
    assert e.value.details().startswith(apig_code + ": "), e.value.details()
    assert dict(e.value.trailing_metadata()).get("x-request-id")


def test_a_path_outside_the_api_is_unimplemented(channel, grpc_api):
    with pytest.raises(grpc.RpcError) as e:
        channel.unary_unary("/other.Service/Say")(
            b"x", metadata=(("x-apig-appcode", grpc_api["code"]),), timeout=TIMEOUT)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_backend_down_is_unavailable_and_reached_again_once_it_is_back(channel, grpc_api):
    call = channel.unary_unary("/apigw.test.Down/Call")
    md = (("x-apig-appcode", grpc_api["code"]),)
    with pytest.raises(grpc.RpcError) as e:
        call(b"x", metadata=md, timeout=TIMEOUT)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert e.value.details() == "APIG.0202: Backend unavailable"
    # The backend comes up, goes away (closing the gateway's connection) and comes back: the
    # gateway opens a new connection each time.
    for generation in (b"first", b"second"):
        handlers = {"Call": grpc.unary_unary_rpc_method_handler(lambda req, ctx, g=generation: g + req)}
        backend, _ = _serve("apigw.test.Down", handlers, grpc_api["down_port"])
        try:
            assert call(b":x", metadata=md, timeout=TIMEOUT) == generation + b":x"
        finally:
            backend.stop(None).wait()


def test_a_grpcs_api_is_not_served_on_the_plain_listener(server, grpc_api):
    address = server.gateway_url.replace("http://", "")
    with grpc.insecure_channel(address) as plain:
        with pytest.raises(grpc.RpcError) as e:
            _unary(plain, "Say")(b"x", metadata=(("x-apig-appcode", grpc_api["code"]),),
                                 timeout=TIMEOUT)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_signature_key_signs_grpc_backend_calls_without_holding_their_streams(
        server, apig, instance_id, admin_token, project_id, channel, grpc_api, grpc_backend):
    """An hmac signature key bound to the gRPC API: the backend's metadata carries the
    gateway's SDK-HMAC-SHA256 signature with `x-sdk-content-sha256: UNSIGNED-PAYLOAD` (the
    stream is not read whole), which the OFFICIAL signer reproduces; streams still flow."""
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm
    from huaweicloudsdkcore.signer.signer import Signer

    base = "%s/v2/%s/apigw/instances/%s" % (server.base_url, project_id, instance_id)
    h = {"X-Auth-Token": admin_token}
    key = requests.post(base + "/signs", headers=h, json={"name": "sdk_grpc_sign"}, timeout=TIMEOUT)
    assert key.status_code == 201, key.text
    key = key.json()
    api = requests.get(base + "/apis/" + grpc_api["api"].id, headers=h, timeout=TIMEOUT).json()
    bound = requests.post(base + "/sign-bindings", headers=h, timeout=TIMEOUT,
                          json={"sign_id": key["id"], "publish_ids": [api["publish_id"]]})
    assert bound.status_code == 201, bound.text
    try:
        reply, _ = _unary(channel, "Say").with_call(
            b"hello", metadata=(("x-apig-appcode", grpc_api["code"]),), timeout=TIMEOUT)
        md = json.loads(reply)["metadata"]
        assert md["x-sdk-content-sha256"] == "UNSIGNED-PAYLOAD"
        auth = md["authorization"]
        assert auth.startswith("SDK-HMAC-SHA256 Access=%s, SignedHeaders="
                               "host;x-sdk-content-sha256;x-sdk-date, Signature=" % key["sign_key"])

        class Creds:
            ak, sk = key["sign_key"], key["sign_secret"]

        # The backend's own address is the Host the gateway signed; a non-empty body makes the
        # signer take the declared payload hash, as for any streamed body.
        req = SdkRequest(method="POST", schema="http", host="127.0.0.1:%d" % grpc_backend,
                         resource_path="/%s/Say" % SERVICE, query_params=[],
                         header_params={"Host": "127.0.0.1:%d" % grpc_backend,
                                        "X-Sdk-Date": md["x-sdk-date"],
                                        "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"},
                         body=b"stream", signing_algorithm=SigningAlgorithm.HMAC_SHA256)
        Signer(Creds()).sign(req)
        assert req.header_params["Authorization"] == auth
        code = (("x-apig-appcode", grpc_api["code"]),)
        count = channel.unary_stream("/%s/Count" % SERVICE)
        assert list(count(b"3", metadata=code, timeout=TIMEOUT)) == [b"n0", b"n1", b"n2"]
    finally:
        binding = bound.json()["bindings"][0]["id"]
        requests.delete(base + "/sign-bindings/" + binding, headers=h, timeout=TIMEOUT)
        requests.delete(base + "/signs/" + key["id"], headers=h, timeout=TIMEOUT)


def test_a_grpc_api_on_a_vpc_channel_retries_on_the_channel_s_other_server(
        server, apig, admin_token, project_id, instance_id, channel, grpc_api):
    """A channel of a server that is down and the live backend, round robin, and a gRPC API
    with `retry_count` 1 on it: every call succeeds, the failed connection retried on the
    other server over HTTP/2."""
    from huaweicloudsdkapig.v2 import ApiBackendVpcReq
    management = _management(server, project_id, instance_id, admin_token)
    base, h, group = management
    live_port = grpc_api["live_port"]
    r = requests.post(base + "/vpc-channels", headers=h, timeout=TIMEOUT, json={
        "name": "grpc_servers", "port": 80, "balance_strategy": 1, "member_type": "ip",
        "members": [{"host": "127.0.0.3", "port": _unused_port()},
                    {"host": "127.0.0.1", "port": live_port}]})
    assert r.status_code == 201, r.text
    api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group, name="sdk_grpc_channel", type=1, req_protocol="GRPCS",
        req_method="POST", req_uri="/apigw.test.Spread", match_mode="SWA", auth_type="APP",
        auth_opt=AuthOpt(app_code_auth_type="HEADER"), backend_type="GRPC",
        backend_api=BackendApiCreate(
            vpc_channel_status=1, vpc_channel_info=ApiBackendVpcReq(vpc_channel_id=r.json()["id"]),
            req_protocol="GRPC", req_method="POST", req_uri="/", timeout=5000,
            retry_count="1"))))
    _publish_and_authorize(apig, instance_id, management, api, grpc_api["app"]["id"])
    call = channel.unary_unary("/apigw.test.Spread/Say")
    md = (("x-apig-appcode", grpc_api["code"]),)
    for i in range(4):
        assert call(b"m%d" % i, metadata=md, timeout=TIMEOUT) == b"spread:m%d" % i


def test_a_grpc_api_s_backend_policy_sends_calls_with_its_metadata_to_another_server(
        server, apig, admin_token, project_id, instance_id, channel, grpc_api):
    """A gRPC API with a backend policy (`ApiPolicyHttpCreate`, a `GRPC` backend) on a
    declared header: calls whose metadata carries `x-tier: canary` reach the policy's server,
    the others the API's own."""
    from huaweicloudsdkapig.v2 import ApiConditionBase, ApiPolicyHttpCreate, ReqParamBase
    service = "apigw.test.Routed"
    servers = [_serve(service, {"Say": grpc.unary_unary_rpc_method_handler(
        lambda req, ctx, tag=tag: tag + b":" + req)}) for tag in (b"default", b"canary")]
    (_, default_port), (_, canary_port) = servers
    management = _management(server, project_id, instance_id, admin_token)
    group = management[2]

    def grpc_backend_at(port):
        return dict(url_domain="127.0.0.1:%d" % port, req_protocol="GRPC", req_method="POST",
                    req_uri="/", timeout=5000)

    api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group, name="sdk_grpc_routed", type=1, req_protocol="GRPCS",
        req_method="POST", req_uri="/" + service, match_mode="SWA", auth_type="APP",
        auth_opt=AuthOpt(app_code_auth_type="HEADER"), backend_type="GRPC",
        req_params=[ReqParamBase(name="x-tier", type="STRING", location="HEADER", required=2)],
        backend_api=BackendApiCreate(**grpc_backend_at(default_port)),
        policy_https=[ApiPolicyHttpCreate(
            name="grpc_canary", effect_mode="ANY", **grpc_backend_at(canary_port),
            conditions=[ApiConditionBase(condition_origin="param", req_param_name="x-tier",
                                         condition_type="EXACT", condition_value="canary")])])))
    assert api.policy_https[0].req_protocol == "GRPC"
    _publish_and_authorize(apig, instance_id, management, api, grpc_api["app"]["id"])
    say = channel.unary_unary("/%s/Say" % service)
    code = ("x-apig-appcode", grpc_api["code"])
    try:
        assert say(b"a", metadata=(code,), timeout=TIMEOUT) == b"default:a"
        assert say(b"b", metadata=(code, ("x-tier", "canary")), timeout=TIMEOUT) == b"canary:b"
        assert say(b"c", metadata=(code, ("x-tier", "stable")), timeout=TIMEOUT) == b"default:c"
    finally:
        for s, _ in servers:
            s.stop(None)
