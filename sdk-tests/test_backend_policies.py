"""Backend policies with the official SDK: an API created with `CreateApiV2` carrying
`policy_https` (`ApiPolicyHttpCreate` with `ApiConditionBase` conditions), read back with
`ShowDetailsOfApiV2` (the SDK parses `ApiPolicyHttpResp` and `CoditionResp`), published, and
called through apigw's gateway listener: a call that meets a policy's conditions reaches the
policy's backend, any other the API's own; a MOCK API's `policy_mocks`
(`ApiPolicyMockCreate`) answer the calls they take; a bad condition is refused with
APIG.2011."""
import pytest
import requests
from huaweicloudsdkapig.v2 import (
    ApiActionInfo,
    ApiConditionBase,
    ApiCreate,
    ApiGroupCreate,
    ApiMockCreate,
    ApiPolicyHttpCreate,
    ApiPolicyMockCreate,
    BackendApiCreate,
    BackendParamBase,
    CreateApiGroupV2Request,
    CreateApiV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    ReqParamBase,
    ShowDetailsOfApiV2Request,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from apigw_sdk_helpers import start_path_echo

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"


def _api(group_id, default_port, policies):
    return ApiCreate(
        group_id=group_id, name="sdk_policy_api", type=1, req_protocol="BOTH", req_method="GET",
        req_uri="/routed/{item}", auth_type="NONE", backend_type="HTTP",
        req_params=[ReqParamBase(name="X-Tier", type="STRING", location="HEADER", required=2)],
        backend_api=BackendApiCreate(url_domain="127.0.0.1:%d" % default_port,
                                     req_protocol="HTTP", req_method="GET",
                                     req_uri="/default/{item}", timeout=5000),
        backend_params=[BackendParamBase(name="item", value="item", location="PATH",
                                         origin="REQUEST")],
        policy_https=policies)


def _policy(port, conditions):
    return ApiPolicyHttpCreate(
        name="canary_policy", effect_mode="ANY", conditions=conditions,
        url_domain="127.0.0.1:%d" % port, req_protocol="HTTP", req_method="GET",
        req_uri="/canary/{item}", timeout=3000,
        backend_params=[BackendParamBase(name="item", value="item", location="PATH",
                                         origin="REQUEST")])


@pytest.fixture(scope="module")
def backends():
    servers = {tag: start_path_echo(backend=tag) for tag in ("default", "canary")}
    yield {tag: s.server_address[1] for tag, s in servers.items()}
    for s in servers.values():
        s.shutdown()


def test_policy_backends_created_shown_and_routed(server, apig, instance_id, backends):
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_backend_policies")))
    conditions = [
        ApiConditionBase(condition_origin="param", req_param_name="X-Tier",
                         condition_type="EXACT", condition_value="canary"),
        ApiConditionBase(condition_origin="system", sys_param_name="req_path",
                         condition_type="PATTERN", condition_value="^/routed/beta-"),
    ]
    created = apig.create_api_v2(CreateApiV2Request(
        instance_id=instance_id,
        body=_api(group.id, backends["default"], [_policy(backends["canary"], conditions)])))
    assert len(created.policy_https) == 1
    policy = created.policy_https[0]
    assert policy.name == "canary_policy" and policy.effect_mode == "ANY"
    assert policy.url_domain == "127.0.0.1:%d" % backends["canary"]
    assert policy.req_uri == "/canary/{item}" and policy.timeout == 3000
    assert len(policy.id) == 32
    assert [c.condition_origin for c in policy.conditions] == ["param", "system"]
    assert policy.conditions[0].req_param_name == "X-Tier"
    assert policy.conditions[0].req_param_location == "HEADER"
    assert policy.conditions[1].sys_param_name == "req_path"
    assert all(len(c.id) == 32 for c in policy.conditions)

    shown = apig.show_details_of_api_v2(ShowDetailsOfApiV2Request(
        instance_id=instance_id, api_id=created.id))
    assert shown.policy_https[0].id == policy.id
    assert shown.policy_https[0].conditions[1].condition_value == "^/routed/beta-"

    apig.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
        instance_id=instance_id,
        body=ApiActionInfo(action="online", env_id=RELEASE, api_id=created.id)))

    def call(path, **headers):
        headers["Host"] = group.sl_domain
        r = requests.get(server.gateway_url + path, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    assert call("/routed/7") == {"backend": "default", "path": "/default/7"}
    assert call("/routed/7", **{"X-Tier": "canary"}) == {"backend": "canary",
                                                         "path": "/canary/7"}
    assert call("/routed/beta-7") == {"backend": "canary", "path": "/canary/beta-7"}
    assert call("/routed/7", **{"X-Tier": "stable"})["backend"] == "default"


def test_a_mock_api_answers_from_its_mock_policy(server, apig, instance_id):
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_mock_policies")))
    created = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group.id, name="sdk_mock_policy_api", type=1, req_protocol="BOTH",
        req_method="GET", req_uri="/mocked", auth_type="NONE", backend_type="MOCK",
        mock_info=ApiMockCreate(result_content='{"who":"everyone"}'),
        policy_mocks=[ApiPolicyMockCreate(
            name="cookie_policy", effect_mode="ALL", result_content='{"who":"testers"}',
            conditions=[ApiConditionBase(condition_origin="cookie", cookie_param_name="tester",
                                         condition_type="ENUM", condition_value="qa,dev")])])))
    assert created.policy_mocks[0].result_content == '{"who":"testers"}'
    assert created.policy_mocks[0].conditions[0].cookie_param_name == "tester"
    apig.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
        instance_id=instance_id,
        body=ApiActionInfo(action="online", env_id=RELEASE, api_id=created.id)))

    def who(cookie=None):
        headers = {"Host": group.sl_domain}
        if cookie:
            headers["Cookie"] = cookie
        r = requests.get(server.gateway_url + "/mocked", headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["who"]

    assert who() == "everyone"
    assert who("tester=qa") == "testers"
    assert who("tester=ops") == "everyone"


def test_a_bad_condition_is_refused(apig, instance_id, backends):
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_bad_backend_policies")))
    bad = [ApiConditionBase(condition_origin="param", req_param_name="undeclared",
                            condition_type="EXACT", condition_value="x")]
    with pytest.raises(ClientRequestException) as refused:
        apig.create_api_v2(CreateApiV2Request(
            instance_id=instance_id,
            body=_api(group.id, backends["default"], [_policy(backends["canary"], bad)])))
    assert refused.value.status_code == 400
    assert refused.value.error_code == "APIG.2011"
    assert "policy_https[0].conditions[0].req_param_name" in refused.value.error_msg
