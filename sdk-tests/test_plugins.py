"""Plug-ins with the official SDK, all thirteen operations (CreatePlugin, ShowPlugin,
ListPlugins, UpdatePlugin, DeletePlugin, AttachApiToPlugin, AttachPluginToApi,
DetachApiFromPlugin, DetachPluginFromApi, ListPluginAttachedApis, ListPluginAttachableApis,
ListApiAttachedPlugins, ListApiAttachablePlugins): the SDK parses every answer into its
models, and what the plug-ins say is what the gateway's next answers carry (`requests` calls
the plain-HTTP gateway listener as a browser page's script would)."""
import json

import pytest
import requests
from huaweicloudsdkapig.v2 import (
    ApiActionInfo,
    ApiCreate,
    ApiOperPluginInfo,
    AttachApiToPluginRequest,
    AttachPluginToApiRequest,
    BackendApiCreate,
    CreateApiV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    CreatePluginRequest,
    DeletePluginRequest,
    DetachApiFromPluginRequest,
    DetachPluginFromApiRequest,
    ListApiAttachablePluginsRequest,
    ListApiAttachedPluginsRequest,
    ListApiGroupsV2Request,
    ListPluginAttachableApisRequest,
    ListPluginAttachedApisRequest,
    ListPluginsRequest,
    PluginCreate,
    PluginOperApiInfo,
    ShowPluginRequest,
    UpdatePluginRequest,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from apigw_sdk_helpers import start_path_echo

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"
ORIGIN = "https://shop.example"


@pytest.fixture(scope="module")
def open_api(apig, instance_id):
    """`GET /plugged` (no authentication) → a loopback echo backend, published in RELEASE."""
    httpd = start_path_echo()
    groups = apig.list_api_groups_v2(ListApiGroupsV2Request(instance_id=instance_id))
    group = [g for g in groups.groups if g.is_default == 1][0]
    api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group.id, name="sdk_plugged_api", type=1, req_protocol="BOTH",
        req_method="GET", req_uri="/plugged", auth_type="NONE", backend_type="HTTP",
        backend_api=BackendApiCreate(url_domain="127.0.0.1:%d" % httpd.server_address[1],
                                     req_protocol="HTTP", req_method="GET",
                                     req_uri="/backend/plugged", timeout=5000))))
    apig.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
        instance_id=instance_id, body=ApiActionInfo(action="online", env_id=RELEASE,
                                                    api_id=api.id)))
    yield api
    httpd.shutdown()


def _call(server, method="GET", headers=None):
    r = requests.request(method, server.gateway_url + "/plugged",
                         headers=dict({"Origin": ORIGIN}, **(headers or {})), timeout=10)
    return r


def test_plugins_through_the_official_sdk_shape_the_gateway_s_answers(
        server, apig, instance_id, open_api):
    plain = _call(server)
    assert plain.status_code == 200, plain.text
    assert "Access-Control-Allow-Origin" not in plain.headers
    assert plain.headers["Content-Type"] == "application/json"

    cors = apig.create_plugin(CreatePluginRequest(instance_id=instance_id, body=PluginCreate(
        plugin_name="sdk_cors", plugin_type="cors", plugin_scope="global",
        plugin_content=json.dumps({"allow_origin": ORIGIN, "allow_methods": "GET,PUT",
                                   "allow_headers": "Content-Type,X-Apig-AppCode",
                                   "expose_headers": "X-Request-Id", "max_age": 3600,
                                   "allow_credentials": True}),
        remark="the shop's pages")))
    assert len(cors.plugin_id) == 32 and cors.plugin_type == "cors"
    assert cors.plugin_scope == "global" and cors.remark == "the shop's pages"
    assert cors.create_time is not None and cors.update_time is not None
    assert json.loads(cors.plugin_content)["max_age"] == 3600
    fields = apig.create_plugin(CreatePluginRequest(instance_id=instance_id, body=PluginCreate(
        plugin_name="sdk_fields", plugin_type="set_resp_headers", plugin_scope="global",
        plugin_content=json.dumps({"response_headers": [
            {"name": "X-Shop", "value": "blue", "action": "add"},
            {"name": "Content-Type", "value": "application/vnd.shop+json",
             "action": "override"}]}))))

    shown = apig.show_plugin(ShowPluginRequest(instance_id=instance_id,
                                               plugin_id=cors.plugin_id))
    assert shown.plugin_name == "sdk_cors" and shown.plugin_content == cors.plugin_content
    listed = apig.list_plugins(ListPluginsRequest(instance_id=instance_id,
                                                  plugin_name="sdk_fields",
                                                  precise_search="plugin_name"))
    assert listed.total == 1 and listed.plugins[0].plugin_id == fields.plugin_id
    assert apig.list_plugins(ListPluginsRequest(instance_id=instance_id,
                                                plugin_type="cors")).total == 1

    # Unsupported types are refused in the SDK's error shape.
    with pytest.raises(ClientRequestException) as refused:
        apig.create_plugin(CreatePluginRequest(instance_id=instance_id, body=PluginCreate(
            plugin_name="sdk_kafka", plugin_type="kafka_log", plugin_scope="global",
            plugin_content="{}")))
    assert refused.value.status_code == 400 and refused.value.error_code == "APIG.2011"

    # Attached from both sides; in force for the next call.
    attached = apig.attach_api_to_plugin(AttachApiToPluginRequest(
        instance_id=instance_id, plugin_id=cors.plugin_id,
        body=PluginOperApiInfo(env_id=RELEASE, api_ids=[open_api.id])))
    a = attached.attached_plugins[0]
    assert a.plugin_id == cors.plugin_id and a.api_id == open_api.id
    assert a.env_name == "RELEASE" and a.plugin_attach_id and a.attached_time is not None
    apig.attach_plugin_to_api(AttachPluginToApiRequest(
        instance_id=instance_id, api_id=open_api.id,
        body=ApiOperPluginInfo(env_id=RELEASE, plugin_ids=[fields.plugin_id])))

    pre = _call(server, "OPTIONS", {"Access-Control-Request-Method": "PUT"})
    # No PUT API at the path: the preflight is routed as the OPTIONS it is, which no API has.
    assert pre.status_code == 404, pre.text
    pre = _call(server, "OPTIONS", {"Access-Control-Request-Method": "GET"})
    assert pre.status_code == 200, pre.text
    assert pre.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert pre.headers["Access-Control-Allow-Methods"] == "GET,PUT"
    assert pre.headers["Access-Control-Allow-Credentials"] == "true"
    assert pre.headers["Access-Control-Max-Age"] == "3600"
    ok = _call(server)
    assert ok.status_code == 200, ok.text
    assert ok.json()["path"] == "/backend/plugged"
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert ok.headers["Access-Control-Expose-Headers"] == "X-Request-Id"
    assert ok.headers["X-Shop"] == "blue"
    assert ok.headers["Content-Type"] == "application/vnd.shop+json"
    other = _call(server, headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in other.headers

    # The four lists.
    on_cors = apig.list_plugin_attached_apis(ListPluginAttachedApisRequest(
        instance_id=instance_id, plugin_id=cors.plugin_id))
    assert on_cors.total == 1 and on_cors.apis[0].api_id == open_api.id
    assert on_cors.apis[0].req_uri == "/plugged" and on_cors.apis[0].env_id == RELEASE
    assert on_cors.apis[0].plugin_attach_id == a.plugin_attach_id
    attachable = apig.list_plugin_attachable_apis(ListPluginAttachableApisRequest(
        instance_id=instance_id, plugin_id=cors.plugin_id, env_id=RELEASE))
    assert all(api.api_id != open_api.id for api in attachable.apis)
    of_api = apig.list_api_attached_plugins(ListApiAttachedPluginsRequest(
        instance_id=instance_id, api_id=open_api.id))
    assert sorted(p.plugin_name for p in of_api.plugins) == ["sdk_cors", "sdk_fields"]
    assert all(p.env_name == "RELEASE" for p in of_api.plugins)
    could = apig.list_api_attachable_plugins(ListApiAttachablePluginsRequest(
        instance_id=instance_id, api_id=open_api.id, env_id=RELEASE))
    assert all(p.plugin_id not in (cors.plugin_id, fields.plugin_id) for p in could.plugins)

    # A replaced content is in force for the next call, without publishing again.
    apig.update_plugin(UpdatePluginRequest(
        instance_id=instance_id, plugin_id=fields.plugin_id, body=PluginCreate(
            plugin_name="sdk_fields", plugin_type="set_resp_headers", plugin_scope="global",
            plugin_content=json.dumps({"response_headers": [
                {"name": "X-Shop", "value": "green", "action": "override"}]}))))
    ok = _call(server)
    assert ok.headers["X-Shop"] == "green"
    assert ok.headers["Content-Type"] == "application/json"

    # Attached, a plug-in cannot be deleted; detached (from either side), it can, and the
    # API answers as before.
    with pytest.raises(ClientRequestException) as refused:
        apig.delete_plugin(DeletePluginRequest(instance_id=instance_id,
                                               plugin_id=cors.plugin_id))
    assert refused.value.status_code == 409 and refused.value.error_code == "APIG.3462"
    apig.detach_api_from_plugin(DetachApiFromPluginRequest(
        instance_id=instance_id, plugin_id=cors.plugin_id,
        body=PluginOperApiInfo(env_id=RELEASE, api_ids=[open_api.id])))
    apig.detach_plugin_from_api(DetachPluginFromApiRequest(
        instance_id=instance_id, api_id=open_api.id,
        body=ApiOperPluginInfo(env_id=RELEASE, plugin_ids=[fields.plugin_id])))
    for plugin in (cors, fields):
        apig.delete_plugin(DeletePluginRequest(instance_id=instance_id,
                                               plugin_id=plugin.plugin_id))
    with pytest.raises(ClientRequestException) as missing:
        apig.show_plugin(ShowPluginRequest(instance_id=instance_id, plugin_id=cors.plugin_id))
    assert missing.value.status_code == 404 and missing.value.error_code == "APIG.3068"
    plain = _call(server)
    assert "Access-Control-Allow-Origin" not in plain.headers and "X-Shop" not in plain.headers
    assert plain.headers["Content-Type"] == "application/json"


def test_a_rate_limit_plugin_through_the_official_sdk_throttles_by_its_rule(
        server, apig, instance_id, open_api):
    # Request throttling 2.0: a generous API limit, and one call a day for the free tier.
    limits = apig.create_plugin(CreatePluginRequest(instance_id=instance_id, body=PluginCreate(
        plugin_name="sdk_limits", plugin_type="rate_limit", plugin_scope="global",
        plugin_content=json.dumps({
            "scope": "basic", "api_limit": 1000, "default_interval": 1,
            "default_time_unit": "day", "algorithm": "counter",
            "parameters": [{"type": "header", "name": "tier", "value": "X-Shop-Tier"}],
            "rules": [{"rule_name": "free", "match_regex": '["tier","==","free"]',
                       "time_unit": "day", "interval": 1, "limit": 1}]}))))
    assert limits.plugin_type == "rate_limit"
    content = json.loads(limits.plugin_content)
    assert content["rules"][0]["limit"] == 1 and content["parameters"][0]["value"] == "x-shop-tier"
    apig.attach_plugin_to_api(AttachPluginToApiRequest(
        instance_id=instance_id, api_id=open_api.id,
        body=ApiOperPluginInfo(env_id=RELEASE, plugin_ids=[limits.plugin_id])))

    free = {"X-Shop-Tier": "free"}
    assert _call(server, headers=free).status_code == 200
    refused = _call(server, headers=free)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error_code"] == "APIG.0308"
    # Another tier is not the rule's: the API limit counts it.
    assert _call(server, headers={"X-Shop-Tier": "gold"}).status_code == 200

    # A bad rule is refused in the SDK's error shape, naming its field.
    with pytest.raises(ClientRequestException) as bad:
        apig.update_plugin(UpdatePluginRequest(
            instance_id=instance_id, plugin_id=limits.plugin_id, body=PluginCreate(
                plugin_name="sdk_limits", plugin_type="rate_limit", plugin_scope="global",
                plugin_content=json.dumps({"api_limit": 10, "rules": [
                    {"rule_name": "r", "match_regex": '["nope","==","x"]', "limit": 1}]}))))
    assert bad.value.status_code == 400 and bad.value.error_code == "APIG.2011"
    assert "plugin_content.rules.match_regex" in bad.value.error_msg

    apig.detach_plugin_from_api(DetachPluginFromApiRequest(
        instance_id=instance_id, api_id=open_api.id,
        body=ApiOperPluginInfo(env_id=RELEASE, plugin_ids=[limits.plugin_id])))
    assert _call(server, headers=free).status_code == 200
    apig.delete_plugin(DeletePluginRequest(instance_id=instance_id,
                                           plugin_id=limits.plugin_id))


def test_a_breaker_plugin_through_the_official_sdk_opens_and_answers_in_the_backend_s_place(
        server, apig, instance_id, open_api):
    # Every answer slower than 0 ms is unhealthy: the second one opens the breaker for a
    # minute, and an open breaker answers 418 with a body of its own.
    guard = apig.create_plugin(CreatePluginRequest(instance_id=instance_id, body=PluginCreate(
        plugin_name="sdk_guard", plugin_type="breaker", plugin_scope="global",
        plugin_content=json.dumps({
            "scope": "basic",
            "breaker_condition": {
                "breaker_type": "condition", "breaker_mode": "counter",
                "unhealthy_condition": '["$context.backendResponseTime",">=",0]',
                "unhealthy_threshold": 2, "time_window": 60, "open_breaker_time": 60},
            "downgrade_default": {"type": "mock", "mock_info": {
                "status_code": 418, "result_content": '{"resting":true}',
                "headers": [{"key": "Retry-After", "value": "60"}]}}}))))
    assert guard.plugin_type == "breaker"
    content = json.loads(guard.plugin_content)
    assert content["breaker_condition"]["unhealthy_condition"] == \
        '["$context.backendResponseTime",">=",0]'
    assert content["downgrade_default"]["mock_info"]["status_code"] == 418
    apig.attach_plugin_to_api(AttachPluginToApiRequest(
        instance_id=instance_id, api_id=open_api.id,
        body=ApiOperPluginInfo(env_id=RELEASE, plugin_ids=[guard.plugin_id])))

    assert _call(server).json()["path"] == "/backend/plugged"
    assert _call(server).json()["path"] == "/backend/plugged"
    resting = _call(server)
    assert resting.status_code == 418, resting.text
    assert resting.json() == {"resting": True}
    assert resting.headers["Retry-After"] == "60"

    # A bad condition is refused in the SDK's error shape, naming its field.
    with pytest.raises(ClientRequestException) as bad:
        apig.update_plugin(UpdatePluginRequest(
            instance_id=instance_id, plugin_id=guard.plugin_id, body=PluginCreate(
                plugin_name="sdk_guard", plugin_type="breaker", plugin_scope="global",
                plugin_content=json.dumps({"breaker_condition": {
                    "breaker_type": "condition", "unhealthy_condition": '["$context.size",">",1]',
                    "unhealthy_threshold": 1, "time_window": 1, "open_breaker_time": 1}}))))
    assert bad.value.status_code == 400 and bad.value.error_code == "APIG.2011"
    assert "plugin_content.breaker_condition.unhealthy_condition" in bad.value.error_msg

    apig.detach_plugin_from_api(DetachPluginFromApiRequest(
        instance_id=instance_id, api_id=open_api.id,
        body=ApiOperPluginInfo(env_id=RELEASE, plugin_ids=[guard.plugin_id])))
    assert _call(server).status_code == 200
    apig.delete_plugin(DeletePluginRequest(instance_id=instance_id, plugin_id=guard.plugin_id))
