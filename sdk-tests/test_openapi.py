"""API definitions as OpenAPI documents with the official SDK: ImportApiDefinitionsV2 (a
multipart form with the document as a file, built by huaweicloudsdkcore) creates a group and its
APIs, ListApisV2 shows them, ExportApiDefinitionsV2 (a streamed file) writes them back, and the
export imports again into an existing group (api_mode override). And what a console asks before
writing or shows of an API in service: CheckApisV2, CheckApiGroupsV2, ListApiRuntimeDefinitionV2,
ListApiQuantitiesV2, ListTagsV2."""
import json

import pytest
import yaml
from huaweicloudsdkapig.v2 import (
    ApiActionInfo,
    ApiCheckInfoV2,
    ApiGroupCheck,
    CheckApiGroupsV2Request,
    CheckApisV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    ExportApiDefinitionsV2Request,
    ExportOpenApiReq,
    ImportApiDefinitionsV2Request,
    ImportApiDefinitionsV2RequestBody,
    ListApiQuantitiesV2Request,
    ListApiRuntimeDefinitionV2Request,
    ListApisV2Request,
    ListTagsV2Request,
    ShowDetailsOfApiGroupV2Request,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.formdata import FormFile

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"

DOCUMENT = """
swagger: "2.0"
info:
  title: sdk_imported_shop
  description: imported with the SDK
  version: "1.0"
paths:
  /orders/{orderId}:
    get:
      operationId: getOrder
      tags: [orders]
      security:
      - apig-auth-app: []
      parameters:
      - {name: orderId, in: path, type: string, required: true}
      - {name: verbose, in: query, type: string, enum: ["yes", "no"]}
      x-apigateway-backend:
        type: HTTP
        httpEndpoints: {address: "orders.internal:8080", scheme: http, method: GET,
                        path: "/orders/{orderId}", timeout: 2500}
        parameters:
        - {name: orderId, value: orderId, in: path, origin: REQUEST}
  /ping:
    get:
      operationId: ping
      x-apigateway-backend:
        type: MOCK
        mockEndpoints: {result-content: pong}
securityDefinitions:
  apig-auth-app: {in: header, name: Authorization, type: apiKey, x-apigateway-auth-type: AppSigv1}
"""


def _import(apig, instance_id, tmp_path, text, **form):
    path = tmp_path / "apis.yaml"
    path.write_text(text)
    body = ImportApiDefinitionsV2RequestBody(
        file_name=FormFile(str(path), "application/octet-stream"), **form)
    return apig.import_api_definitions_v2(
        ImportApiDefinitionsV2Request(instance_id=instance_id, body=body))


def _export(apig, instance_id, oas_version="2.0", **body):
    response = apig.export_api_definitions_v2(ExportApiDefinitionsV2Request(
        instance_id=instance_id, oas_version=oas_version, body=ExportOpenApiReq(**body)))
    chunks = []
    response.consume_download_stream(lambda stream: chunks.append(stream.content))
    return b"".join(chunks)


def test_an_import_and_its_export_through_the_sdk(apig, instance_id, tmp_path):
    imported = _import(apig, instance_id, tmp_path, DOCUMENT, is_create_group=True)
    assert imported.failure == [] and imported.ignore == []
    assert sorted((s.method, s.path, s.action) for s in imported.success) == [
        ("GET", "/orders/{orderId}", "create"), ("GET", "/ping", "create")]
    assert len(imported.swagger.id) == 32
    group = apig.show_details_of_api_group_v2(ShowDetailsOfApiGroupV2Request(
        instance_id=instance_id, group_id=imported.group_id))
    assert (group.name, group.remark) == ("sdk_imported_shop", "imported with the SDK")
    apis = apig.list_apis_v2(ListApisV2Request(instance_id=instance_id,
                                               group_id=imported.group_id)).apis
    order = next(a for a in apis if a.name == "getOrder")
    assert (order.auth_type, order.backend_type) == ("APP", "HTTP")
    assert (order.backend_api.url_domain, order.backend_api.timeout) == ("orders.internal:8080",
                                                                         2500)
    verbose = next(p for p in order.req_params if p.name == "verbose")
    assert (verbose.location, verbose.enumerations, verbose.valid_enable) == ("QUERY", "yes,no",
                                                                              1)

    exported = yaml.safe_load(_export(apig, instance_id, "3.0", group_id=imported.group_id,
                                      define="dev", type="yaml"))
    assert exported["openapi"] == "3.0.1"
    assert exported["info"]["title"] == "sdk_imported_shop"
    op = exported["paths"]["/orders/{orderId}"]["get"]
    assert op["operationId"] == "getOrder"
    assert op["x-apigateway-backend"]["httpEndpoints"]["timeout"] == 2500
    assert op["security"] == [{"apig-auth-app": []}]

    # Changed and imported again into the same group: the APIs are replaced in place.
    op["x-apigateway-backend"]["httpEndpoints"]["timeout"] = 9000
    again = _import(apig, instance_id, tmp_path, json.dumps(exported), is_create_group=False,
                    group_id=imported.group_id, api_mode="override")
    assert sorted(s.action for s in again.success) == ["update", "update"]
    assert {s.id for s in again.success} == {s.id for s in imported.success}
    apis = apig.list_apis_v2(ListApisV2Request(instance_id=instance_id,
                                               group_id=imported.group_id)).apis
    assert next(a for a in apis if a.name == "getOrder").backend_api.timeout == 9000

    with pytest.raises(ClientRequestException) as refused:
        _export(apig, instance_id, group_id=imported.group_id, define="proxy")
    assert (refused.value.status_code, refused.value.error_code) == (400, "APIG.2011")


def test_checks_runtime_definition_and_counts_through_the_sdk(apig, instance_id, tmp_path):
    """CheckApisV2, CheckApiGroupsV2, ListApiRuntimeDefinitionV2, ListApiQuantitiesV2, ListTagsV2."""
    text = DOCUMENT.replace("sdk_imported_shop", "sdk_checked_shop")
    imported = _import(apig, instance_id, tmp_path, text)
    group_id = imported.group_id
    order = next(s for s in imported.success if s.path == "/orders/{orderId}")

    def refused(call):
        with pytest.raises(ClientRequestException) as e:
            call()
        return e.value.status_code, e.value.error_code

    check = lambda **fields: apig.check_apis_v2(  # noqa: E731
        CheckApisV2Request(instance_id=instance_id, body=ApiCheckInfoV2(**fields)))
    assert refused(lambda: check(type="name", name="getOrder", group_id=group_id)) == (
        400, "APIG.3202")
    assert refused(lambda: check(type="path", req_method="GET", req_uri="/orders/{id}",
                                 match_mode="NORMAL", group_id=group_id)) == (400, "APIG.3301")
    check(type="name", name="getOrder", group_id=group_id, api_id=order.id)
    check(type="path", req_method="DELETE", req_uri="/orders/{id}", match_mode="NORMAL",
          group_id=group_id)
    group_check = lambda name: apig.check_api_groups_v2(  # noqa: E731
        CheckApiGroupsV2Request(instance_id=instance_id, body=ApiGroupCheck(group_name=name)))
    assert refused(lambda: group_check("sdk_checked_shop")) == (400, "APIG.3201")
    group_check("sdk_unused_name")

    runtime = lambda: apig.list_api_runtime_definition_v2(  # noqa: E731
        ListApiRuntimeDefinitionV2Request(instance_id=instance_id, api_id=order.id,
                                          env_id=RELEASE))
    assert refused(runtime) == (404, "APIG.3015")
    before = apig.list_api_quantities_v2(ListApiQuantitiesV2Request(instance_id=instance_id))
    apig.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
        instance_id=instance_id, body=ApiActionInfo(action="online", api_id=order.id,
                                                    env_id=RELEASE)))
    definition = runtime()
    assert (definition.id, definition.name, definition.run_env_name) == (order.id, "getOrder",
                                                                         "RELEASE")
    assert {p.name for p in definition.req_params} == {"orderId", "verbose"}
    after = apig.list_api_quantities_v2(ListApiQuantitiesV2Request(instance_id=instance_id))
    assert after.instance_num == before.instance_num
    assert after.nums_on_release == before.nums_on_release + 1
    assert after.nums_off_release == before.nums_off_release - 1

    tags = apig.list_tags_v2(ListTagsV2Request(instance_id=instance_id))
    assert "orders" in tags.tags and tags.total == len(tags.tags) == tags.size
