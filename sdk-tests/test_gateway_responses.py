"""Gateway responses with the official SDK: a group's default response listed with
`ListGatewayResponsesV2` (`ResponsesInfo` with `ResponseInfoResp` per error type), a response
created with `CreateGatewayResponseV2` (`ResponsesCreate` with `ResponseInfo` and
`ResponseInfoHeader`), one error type read, changed and restored
(`ShowDetailsOfGatewayResponseTypeV2`, `UpdateGatewayResponseTypeV2`,
`DeleteGatewayResponseTypeV2`), an API naming the response with `response_id`, and its refused
calls through apigw's gateway listener answered with it; a bad rule is refused with
APIG.2011 and a deleted response is gone (APIG.3081)."""
import pytest
import requests
from huaweicloudsdkapig.v2 import (
    ApiActionInfo,
    ApiCreate,
    ApiGroupCreate,
    BackendApiCreate,
    CreateApiGroupV2Request,
    CreateApiV2Request,
    CreateGatewayResponseV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    DeleteGatewayResponseTypeV2Request,
    DeleteGatewayResponseV2Request,
    ListGatewayResponsesV2Request,
    ResponseInfo,
    ResponseInfoHeader,
    ResponsesCreate,
    ShowDetailsOfGatewayResponseTypeV2Request,
    ShowDetailsOfGatewayResponseV2Request,
    UpdateGatewayResponseTypeV2Request,
    UpdateGatewayResponseV2Request,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"
DEFAULT_BODY = ('{"error_code":"$context.error.code","error_msg":"$context.error.message",'
                '"request_id":"$context.requestId"}')


def test_responses_created_changed_and_answering_refusals(server, apig, instance_id):
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_gateway_responses")))

    listed = apig.list_gateway_responses_v2(ListGatewayResponsesV2Request(
        instance_id=instance_id, group_id=group.id))
    assert listed.total == 1 and listed.size == 1
    default = listed.responses[0]
    assert default.id == group.id and default.name == "default" and default.default is True
    assert default.responses["NOT_FOUND"].status == 404
    assert default.responses["NOT_FOUND"].body == DEFAULT_BODY
    assert default.responses["NOT_FOUND"].default is True

    created = apig.create_gateway_response_v2(CreateGatewayResponseV2Request(
        instance_id=instance_id, group_id=group.id, body=ResponsesCreate(
            name="sdk_strict", responses={
                "AUTH_HEADER_MISSING": ResponseInfo(
                    status=401, body='{"need":"credentials","api":"$context.apiId"}',
                    headers=[ResponseInfoHeader(key="WWW-Authenticate",
                                                value="AppCode")]),
            })))
    assert len(created.id) == 32 and created.default is False
    rule = created.responses["AUTH_HEADER_MISSING"]
    assert rule.status == 401 and rule.default is False
    assert rule.headers[0].key == "WWW-Authenticate" and rule.headers[0].value == "AppCode"
    assert created.responses["THROTTLED"].default is True

    shown = apig.show_details_of_gateway_response_v2(ShowDetailsOfGatewayResponseV2Request(
        instance_id=instance_id, group_id=group.id, response_id=created.id))
    assert shown.name == "sdk_strict"
    assert shown.responses["AUTH_HEADER_MISSING"].body == rule.body

    # One type: set, read, restore.
    updated = apig.update_gateway_response_type_v2(UpdateGatewayResponseTypeV2Request(
        instance_id=instance_id, group_id=group.id, response_id=created.id,
        response_type="THROTTLED", body=ResponseInfo(status=503, body='{"slow":"down"}')))
    assert updated.body["THROTTLED"].status == 503
    one = apig.show_details_of_gateway_response_type_v2(
        ShowDetailsOfGatewayResponseTypeV2Request(
            instance_id=instance_id, group_id=group.id, response_id=created.id,
            response_type="THROTTLED"))
    assert one.body["THROTTLED"].body == '{"slow":"down"}'
    assert one.body["THROTTLED"].default is False
    apig.delete_gateway_response_type_v2(DeleteGatewayResponseTypeV2Request(
        instance_id=instance_id, group_id=group.id, response_id=created.id,
        response_type="THROTTLED"))
    one = apig.show_details_of_gateway_response_type_v2(
        ShowDetailsOfGatewayResponseTypeV2Request(
            instance_id=instance_id, group_id=group.id, response_id=created.id,
            response_type="THROTTLED"))
    assert one.body["THROTTLED"].default is True

    # An API naming it: a call without credentials gets its answer.
    api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group.id, name="sdk_response_api", type=1, req_protocol="BOTH",
        req_method="GET", req_uri="/guarded", auth_type="APP", backend_type="HTTP",
        response_id=created.id,
        backend_api=BackendApiCreate(url_domain="127.0.0.1:9", req_protocol="HTTP",
                                     req_method="GET", req_uri="/", timeout=5000))))
    assert api.response_id == created.id
    apig.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
        instance_id=instance_id,
        body=ApiActionInfo(action="online", env_id=RELEASE, api_id=api.id)))
    r = requests.get(server.gateway_url + "/guarded", headers={"Host": group.sl_domain},
                     timeout=10)
    assert r.status_code == 401, r.text
    assert r.json() == {"need": "credentials", "api": api.id}
    assert r.headers["WWW-Authenticate"] == "AppCode"
    # A call no API of the group takes: the group's default, unchanged.
    r = requests.get(server.gateway_url + "/nowhere", headers={"Host": group.sl_domain},
                     timeout=10)
    assert r.status_code == 404 and r.json()["error_code"] == "APIG.0101"

    # Renamed with its rules replaced.
    renamed = apig.update_gateway_response_v2(UpdateGatewayResponseV2Request(
        instance_id=instance_id, group_id=group.id, response_id=created.id,
        body=ResponsesCreate(name="sdk_strict2", responses={})))
    assert renamed.name == "sdk_strict2"
    assert renamed.responses["AUTH_HEADER_MISSING"].default is True


def test_a_bad_rule_is_refused_and_a_deleted_response_is_gone(apig, instance_id):
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_bad_gateway_responses")))
    with pytest.raises(ClientRequestException) as refused:
        apig.create_gateway_response_v2(CreateGatewayResponseV2Request(
            instance_id=instance_id, group_id=group.id, body=ResponsesCreate(
                name="bad", responses={"NOT_FOUND": ResponseInfo(status=444)})))
    assert refused.value.status_code == 400
    assert refused.value.error_code == "APIG.2011"
    assert "responses.NOT_FOUND.status" in refused.value.error_msg

    created = apig.create_gateway_response_v2(CreateGatewayResponseV2Request(
        instance_id=instance_id, group_id=group.id, body=ResponsesCreate(name="short_lived")))
    apig.delete_gateway_response_v2(DeleteGatewayResponseV2Request(
        instance_id=instance_id, group_id=group.id, response_id=created.id))
    with pytest.raises(ClientRequestException) as gone:
        apig.show_details_of_gateway_response_v2(ShowDetailsOfGatewayResponseV2Request(
            instance_id=instance_id, group_id=group.id, response_id=created.id))
    assert gone.value.status_code == 404
    assert gone.value.error_code == "APIG.3081"
