"""API versions with the official SDK (ListApiVersionsV2, ChangeApiVersionV2,
ListApiVersionDetailV2, DeleteApiByVersionIdV2): every publication is kept as a version;
switching to an earlier one rolls the gateway back to it without editing the API; taking the
version in force offline takes the API offline. And publishing in a batch
(BatchPublishOrOfflineApiV2), by ids and by group."""
import pytest
import requests
from huaweicloudsdkapig.v2 import (
    ApiActionInfo,
    ApiBatchPublish,
    ApiCreate,
    ApiGroupCreate,
    ApiVersion,
    BackendApiCreate,
    BatchPublishOrOfflineApiV2Request,
    ChangeApiVersionV2Request,
    CreateApiGroupV2Request,
    CreateApiV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    DeleteApiByVersionIdV2Request,
    ListApiVersionDetailV2Request,
    ListApiVersionsV2Request,
    UpdateApiV2Request,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from apigw_sdk_helpers import start_path_echo

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"


@pytest.fixture(scope="module")
def backend():
    httpd = start_path_echo()
    yield httpd.server_address[1]
    httpd.shutdown()


def test_a_rollback_to_an_earlier_version(server, apig, instance_id, backend):
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_versions")))

    def definition(path):
        return ApiCreate(
            group_id=group.id, name="sdk_versioned_api", type=1, req_protocol="BOTH",
            req_method="GET", req_uri="/versioned", auth_type="NONE", backend_type="HTTP",
            backend_api=BackendApiCreate(url_domain="127.0.0.1:%d" % backend,
                                         req_protocol="HTTP", req_method="GET", req_uri=path,
                                         timeout=5000))

    def publish(api_id, remark):
        return apig.create_or_delete_publish_record_for_api_v2(
            CreateOrDeletePublishRecordForApiV2Request(
                instance_id=instance_id,
                body=ApiActionInfo(action="online", env_id=RELEASE, api_id=api_id,
                                   remark=remark)))

    def call():
        return requests.get(server.gateway_url + "/versioned",
                            headers={"Host": group.sl_domain}, timeout=10)

    api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id,
                                                body=definition("/v1")))
    first = publish(api.id, "first")
    apig.update_api_v2(UpdateApiV2Request(instance_id=instance_id, api_id=api.id,
                                          body=definition("/v2")))
    second = publish(api.id, "second")
    assert call().json() == {"path": "/v2"}

    listed = apig.list_api_versions_v2(ListApiVersionsV2Request(
        instance_id=instance_id, api_id=api.id, env_id=RELEASE))
    assert (listed.total, listed.size) == (2, 2)
    assert [(v.version_id, v.status, v.remark) for v in listed.api_versions] == [
        (second.version_id, 1, "second"), (first.version_id, 2, "first")]
    assert listed.api_versions[0].env_name == "RELEASE"
    assert len(listed.api_versions[0].version_no) == 14

    switched = apig.change_api_version_v2(ChangeApiVersionV2Request(
        instance_id=instance_id, api_id=api.id, body=ApiVersion(version_id=first.version_id)))
    assert (switched.version_id, switched.api_id, switched.env_id) == (
        first.version_id, api.id, RELEASE)
    assert call().json() == {"path": "/v1"}

    detail = apig.list_api_version_detail_v2(ListApiVersionDetailV2Request(
        instance_id=instance_id, version_id=first.version_id))
    assert detail.version_id == first.version_id and detail.id == api.id
    assert detail.backend_api.req_uri == "/v1"
    assert detail.run_env_name == "RELEASE" and detail.sl_domain == group.sl_domain

    apig.delete_api_by_version_id_v2(DeleteApiByVersionIdV2Request(
        instance_id=instance_id, version_id=first.version_id))
    r = call()
    assert r.status_code == 404 and r.json()["error_code"] == "APIG.0101", r.text

    with pytest.raises(ClientRequestException) as ei:
        apig.change_api_version_v2(ChangeApiVersionV2Request(
            instance_id=instance_id, api_id=api.id, body=ApiVersion(version_id="0" * 32)))
    assert (ei.value.status_code, ei.value.error_code) == (404, "APIG.3022")
    assert ei.value.error_msg == "The API version does not exist,id:%s" % ("0" * 32)


def test_a_batch_publication(server, apig, instance_id, backend):
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_batch")))
    ids = []
    for n in ("one", "two"):
        api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
            group_id=group.id, name="sdk_batch_" + n, type=1, req_protocol="BOTH",
            req_method="GET", req_uri="/" + n, auth_type="NONE", backend_type="HTTP",
            backend_api=BackendApiCreate(url_domain="127.0.0.1:%d" % backend,
                                         req_protocol="HTTP", req_method="GET", req_uri="/" + n,
                                         timeout=5000))))
        ids.append(api.id)
    answer = apig.batch_publish_or_offline_api_v2(BatchPublishOrOfflineApiV2Request(
        instance_id=instance_id, action="online",
        body=ApiBatchPublish(apis=ids + ["0" * 32], env_id=RELEASE, remark="together")))
    assert [(s.api_id, s.remark) for s in answer.success] == [(i, "together") for i in ids]
    assert [(f.api_id, f.error_code) for f in answer.failure] == [("0" * 32, "APIG.3002")]
    for n in ("one", "two"):
        r = requests.get(server.gateway_url + "/" + n, headers={"Host": group.sl_domain},
                         timeout=10)
        assert r.json() == {"path": "/" + n}, r.text
    answer = apig.batch_publish_or_offline_api_v2(BatchPublishOrOfflineApiV2Request(
        instance_id=instance_id, action="offline",
        body=ApiBatchPublish(group_id=group.id, env_id=RELEASE)))
    assert sorted(s.api_id for s in answer.success) == sorted(ids) and answer.failure == []
