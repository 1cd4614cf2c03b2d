"""Debugging APIs with the official SDK (DebugApiV2 with its ApiDebugInfo): DEVELOPER mode
calls an API the SDK created, before it is published, without credentials; CONSUMER mode calls
it once published, as the SDK's app signs it; the SDK reads `request`, `response`, `latency`
and `log`, and a refused field comes back as the SDK's exception with APIG's code."""
import json

import pytest
from huaweicloudsdkapig.v2 import (
    ApiActionInfo,
    ApiAuthCreate,
    ApiCreate,
    ApiDebugInfo,
    AppCreate,
    AuthOpt,
    BackendApiCreate,
    CreateApiV2Request,
    CreateAnAppV2Request,
    CreateAuthorizingAppsV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    DebugApiV2Request,
    ListApiGroupsV2Request,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from apigw_sdk_helpers import start_path_echo, unique_name

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"


def _debug(apig, instance_id, api_id, **fields):
    return apig.debug_api_v2(DebugApiV2Request(
        instance_id=instance_id, api_id=api_id, body=ApiDebugInfo(**fields)))


def _body_of(response_text):
    head, body = response_text.split("\r\n\r\n", 1)
    return head, body


def test_an_api_is_debugged_before_and_after_it_is_published(apig, instance_id):
    backend = start_path_echo(debugged=True)
    try:
        groups = apig.list_api_groups_v2(ListApiGroupsV2Request(instance_id=instance_id))
        group = [g for g in groups.groups if g.is_default == 1][0]
        api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
            group_id=group.id, name="sdk_debugged_api", type=1, req_protocol="BOTH",
            req_method="GET", req_uri="/sdk-debug", auth_type="APP",
            auth_opt=AuthOpt(app_code_auth_type="HEADER"), backend_type="HTTP",
            backend_api=BackendApiCreate(
                url_domain="127.0.0.1:%d" % backend.server_address[1], req_protocol="HTTP",
                req_method="GET", req_uri="/debugged", timeout=5000))))

        # DEVELOPER: the definition, unpublished, without credentials.
        answer = _debug(apig, instance_id, api.id, mode="DEVELOPER", scheme="HTTP",
                        method="GET", path="/sdk-debug", query={"n": ["1"]},
                        header={"x-trace": ["abc"]})
        assert answer.request.startswith("GET /sdk-debug?n=1 HTTP/1.1\r\nHost: %s." % group.id)
        assert "\r\nX-Trace: abc\r\n" in answer.request
        head, body = _body_of(answer.response)
        assert head.startswith("HTTP/1.1 200 OK\r\n"), answer.response
        assert json.loads(body) == {"debugged": True, "path": "/debugged?n=1"}
        assert isinstance(answer.latency, int) and answer.latency >= 0
        assert answer.log.startswith("DEVELOPER mode: the current definition of API "
                                     "sdk_debugged_api")

        # CONSUMER before publication: the gateway's 404, shown in the response.
        answer = _debug(apig, instance_id, api.id, mode="CONSUMER", scheme="HTTPS",
                        method="GET", path="/sdk-debug")
        assert answer.response.startswith("HTTP/1.1 404 Not Found"), answer.response
        assert "APIG.0101" in answer.response

        apig.create_or_delete_publish_record_for_api_v2(
            CreateOrDeletePublishRecordForApiV2Request(
                instance_id=instance_id,
                body=ApiActionInfo(action="online", env_id=RELEASE, api_id=api.id)))
        app = apig.create_an_app_v2(CreateAnAppV2Request(
            instance_id=instance_id, body=AppCreate(name=unique_name("debugger"))))
        apig.create_authorizing_apps_v2(CreateAuthorizingAppsV2Request(
            instance_id=instance_id,
            body=ApiAuthCreate(env_id=RELEASE, app_ids=[app.id], api_ids=[api.id])))

        # CONSUMER, signed with the app the SDK created: the backend answers.
        answer = _debug(apig, instance_id, api.id, mode="CONSUMER", scheme="HTTPS",
                        method="GET", path="/sdk-debug", stage="RELEASE",
                        app_key=app.app_key, app_secret=app.app_secret)
        assert ("\r\nAuthorization: SDK-HMAC-SHA256 Access=%s, " % app.app_key) in answer.request
        assert app.app_secret not in answer.request
        head, body = _body_of(answer.response)
        assert head.startswith("HTTP/1.1 200 OK\r\n"), answer.response
        assert json.loads(body)["path"] == "/debugged"
        assert "signed with SDK-HMAC-SHA256" in answer.log
        # Without the app's credentials: the gateway's 401.
        answer = _debug(apig, instance_id, api.id, mode="CONSUMER", scheme="HTTPS",
                        method="GET", path="/sdk-debug")
        assert answer.response.startswith("HTTP/1.1 401 Unauthorized"), answer.response
        assert "APIG.0303" in answer.response

        # A field the rules refuse is the SDK's exception, with APIG's code and field.
        with pytest.raises(ClientRequestException) as refused:
            _debug(apig, instance_id, api.id, mode="CONSUMER", scheme="HTTP", method="GET",
                   path="/sdk-debug", header={"X-Stage": ["TEST"]})
        assert refused.value.status_code == 400
        assert refused.value.error_code == "APIG.2011"
        assert "header.X-Stage" in refused.value.error_msg
    finally:
        backend.shutdown()
