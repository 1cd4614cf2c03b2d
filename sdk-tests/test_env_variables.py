"""Environment variables with the official SDK (CreateEnvironmentVariableV2,
ShowDetailsOfEnvironmentVariableV2, UpdateEnvironmentVariableV2,
ListEnvironmentVariablesV2, DeleteEnvironmentVariableV2): one API whose backend address and
path name variables, published in RELEASE and in a second environment, calls a different
backend in each through apigw's gateway listener; a changed value is in force for the next
call."""
import pytest
import requests
from huaweicloudsdkapig.v2 import (
    ApiActionInfo,
    ApiCreate,
    ApiGroupCreate,
    BackendApiCreate,
    BackendParamBase,
    CreateApiGroupV2Request,
    CreateApiV2Request,
    CreateEnvironmentV2Request,
    CreateEnvironmentVariableV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    DeleteEnvironmentVariableV2Request,
    EnvCreate,
    EnvVariableBase,
    EnvVariableCreate,
    ListEnvironmentVariablesV2Request,
    ShowDetailsOfEnvironmentVariableV2Request,
    UpdateEnvironmentVariableV2Request,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from apigw_sdk_helpers import start_path_echo

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"


@pytest.fixture(scope="module")
def staged(apig, instance_id):
    """A group with `GET /staged/{item}` → `#backend#` at `/#prefix#/{item}`, published in
    RELEASE and in a new environment SDKSTAGE; the group, that environment and two backends."""
    backends = {tag: start_path_echo(backend=tag) for tag in ("release", "stage")}
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_env_variables")))
    env = apig.create_environment_v2(CreateEnvironmentV2Request(
        instance_id=instance_id, body=EnvCreate(name="SDKSTAGE")))
    api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group.id, name="sdk_staged_api", type=1, req_protocol="BOTH", req_method="GET",
        req_uri="/staged/{item}", auth_type="NONE", backend_type="HTTP",
        backend_api=BackendApiCreate(url_domain="#backend#", req_protocol="HTTP",
                                     req_method="GET", req_uri="/#prefix#/{item}", timeout=5000),
        backend_params=[BackendParamBase(name="item", value="item", location="PATH",
                                         origin="REQUEST")])))
    assert api.backend_api.url_domain == "#backend#"
    for env_id in (RELEASE, env.id):
        apig.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
            instance_id=instance_id,
            body=ApiActionInfo(action="online", env_id=env_id, api_id=api.id)))
    yield group, env, backends
    for httpd in backends.values():
        httpd.shutdown()


def _call(server, group, stage):
    """`GET /staged/7` in environment `stage`, addressed to the group by its subdomain."""
    return requests.get(server.gateway_url + "/staged/7",
                        headers={"Host": group.sl_domain, "X-Stage": stage}, timeout=10)


def test_each_environment_calls_the_backend_its_variables_name(server, apig, instance_id, staged):
    group, env, backends = staged
    r = _call(server, group, "SDKSTAGE")
    assert r.status_code == 500 and r.json()["error_code"] == "APIG.0103", r.text

    def create(env_id, name, value):
        return apig.create_environment_variable_v2(CreateEnvironmentVariableV2Request(
            instance_id=instance_id, body=EnvVariableCreate(
                group_id=group.id, env_id=env_id, variable_name=name, variable_value=value)))

    port = {tag: httpd.server_address[1] for tag, httpd in backends.items()}
    create(RELEASE, "backend", "127.0.0.1:%d" % port["release"])
    create(RELEASE, "prefix", "v1")
    stage_backend = create(env.id, "backend", "127.0.0.1:%d" % port["release"])
    created = create(env.id, "prefix", "v2/beta")
    assert (created.group_id, created.env_id, created.variable_name, created.variable_value) == (
        group.id, env.id, "prefix", "v2/beta")
    assert len(created.id) == 32

    assert _call(server, group, "RELEASE").json() == {"backend": "release", "path": "/v1/7"}
    assert _call(server, group, "SDKSTAGE").json() == {"backend": "release", "path": "/v2/beta/7"}

    changed = apig.update_environment_variable_v2(UpdateEnvironmentVariableV2Request(
        instance_id=instance_id, env_variable_id=stage_backend.id,
        body=EnvVariableBase(variable_value="127.0.0.1:%d" % port["stage"])))
    assert changed.variable_value == "127.0.0.1:%d" % port["stage"]
    assert changed.variable_name == "backend"
    assert _call(server, group, "SDKSTAGE").json() == {"backend": "stage", "path": "/v2/beta/7"}
    assert _call(server, group, "RELEASE").json()["backend"] == "release"

    shown = apig.show_details_of_environment_variable_v2(ShowDetailsOfEnvironmentVariableV2Request(
        instance_id=instance_id, env_variable_id=stage_backend.id))
    assert shown.to_dict() == changed.to_dict()

    listed = apig.list_environment_variables_v2(ListEnvironmentVariablesV2Request(
        instance_id=instance_id, group_id=group.id, env_id=env.id))
    assert (listed.total, listed.size) == (2, 2)
    assert [v.variable_name for v in listed.variables] == ["backend", "prefix"]
    exact = apig.list_environment_variables_v2(ListEnvironmentVariablesV2Request(
        instance_id=instance_id, group_id=group.id, variable_name="prefix",
        precise_search="variable_name"))
    assert exact.total == 2 and {v.env_id for v in exact.variables} == {RELEASE, env.id}

    apig.delete_environment_variable_v2(DeleteEnvironmentVariableV2Request(
        instance_id=instance_id, env_variable_id=created.id))
    r = _call(server, group, "SDKSTAGE")
    assert r.status_code == 500 and r.json()["error_code"] == "APIG.0103", r.text
    with pytest.raises(ClientRequestException) as ei:
        apig.show_details_of_environment_variable_v2(ShowDetailsOfEnvironmentVariableV2Request(
            instance_id=instance_id, env_variable_id=created.id))
    assert (ei.value.status_code, ei.value.error_code) == (404, "APIG.3011")
    assert ei.value.error_msg == "The environment variable does not exist, id: %s" % created.id


def test_refusals_carry_huaweis_codes(apig, instance_id, staged):
    group, env, _ = staged
    apig.create_environment_variable_v2(CreateEnvironmentVariableV2Request(
        instance_id=instance_id, body=EnvVariableCreate(
            group_id=group.id, env_id=env.id, variable_name="taken", variable_value="v")))
    for body, status, code in [
        (EnvVariableCreate(group_id=group.id, env_id=env.id, variable_name="taken",
                           variable_value="10.0.0.1"), 400, "APIG.3303"),
        (EnvVariableCreate(group_id=group.id, env_id=RELEASE, variable_name="x",
                           variable_value="10.0.0.1"), 400, "APIG.2011"),
        (EnvVariableCreate(group_id=group.id, env_id=RELEASE, variable_name="spaced",
                           variable_value="a b"), 400, "APIG.2011"),
        (EnvVariableCreate(group_id="0" * 32, env_id=RELEASE, variable_name="other",
                           variable_value="v"), 404, "APIG.3001"),
        (EnvVariableCreate(group_id=group.id, env_id="0" * 32, variable_name="other",
                           variable_value="v"), 404, "APIG.3003"),
    ]:
        with pytest.raises(ClientRequestException) as ei:
            apig.create_environment_variable_v2(CreateEnvironmentVariableV2Request(
                instance_id=instance_id, body=body))
        assert (ei.value.status_code, ei.value.error_code) == (status, code), str(ei.value)
