"""VPC channels with the official SDK (CreateVpcChannelV2, ListVpcChannelsV2,
ShowDetailsOfVpcChannelV2, UpdateVpcChannelV2, DeleteVpcChannelV2, AddingBackendInstancesV2,
UpdateBackendInstancesV2, ListBackendInstancesV2, DeleteBackendInstanceV2, BatchEnableMembers,
BatchDisableMembers, UpdateHealthCheck): an API created with the SDK on a channel
(`vpc_channel_status` 1) has its calls spread over the channel's real backends, by weight,
without the servers the SDK disabled."""
import collections
import time

import pytest
import requests
from huaweicloudsdkapig.v2 import (
    AddingBackendInstancesV2Request,
    ApiActionInfo,
    ApiBackendVpcReq,
    ApiCreate,
    BackendApiCreate,
    BatchDisableMembersRequest,
    BatchEnableMembersRequest,
    CreateApiV2Request,
    CreateMemberGroupRequest,
    CreateOrDeletePublishRecordForApiV2Request,
    CreateVpcChannelV2Request,
    DeleteApiV2Request,
    DeleteBackendInstanceV2Request,
    DeleteMemberGroupRequest,
    DeleteVpcChannelV2Request,
    ListApiGroupsV2Request,
    ListBackendInstancesV2Request,
    ListMemberGroupsRequest,
    ListVpcChannelsV2Request,
    MemberGroupCreate,
    MemberGroupCreateBatch,
    MemberInfo,
    MembersBatchEnableOrDisable,
    ShowDetailsOfMemberGroupRequest,
    ShowDetailsOfVpcChannelV2Request,
    UpdateBackendInstancesV2Request,
    UpdateHealthCheckRequest,
    UpdateMemberGroupRequest,
    UpdateVpcChannelV2Request,
    VpcCreate,
    VpcHealthConfig,
    VpcMemberCreate,
    VpcMemberModify,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from apigw_sdk_helpers import start_path_echo

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"


def _error(call):
    with pytest.raises(ClientRequestException) as refused:
        call()
    return refused.value


def _publish_channel_api(apig, instance_id, name, uri, channel_id):
    """Creates an API `GET uri` without authentication on channel `channel_id` (backend path
    `/spread`) with the SDK and publishes it in RELEASE; returns it."""
    groups = apig.list_api_groups_v2(ListApiGroupsV2Request(instance_id=instance_id))
    group = [g for g in groups.groups if g.is_default == 1][0]
    api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group.id, name=name, type=1, req_protocol="BOTH",
        req_method="GET", req_uri=uri, auth_type="NONE", backend_type="HTTP",
        backend_api=BackendApiCreate(
            vpc_channel_status=1,
            vpc_channel_info=ApiBackendVpcReq(vpc_channel_id=channel_id),
            req_protocol="HTTP", req_method="GET", req_uri="/spread", timeout=5000))))
    apig.create_or_delete_publish_record_for_api_v2(
        CreateOrDeletePublishRecordForApiV2Request(
            instance_id=instance_id,
            body=ApiActionInfo(action="online", env_id=RELEASE, api_id=api.id)))
    return api


def _spread(server, uri, n):
    """How many of `n` calls to `uri` through the gateway each backend (`server` tag) got."""
    counts = collections.Counter()
    for _ in range(n):
        r = requests.get(server.gateway_url + uri, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["path"] == "/spread"
        counts[r.json()["server"]] += 1
    return counts


def test_a_channel_made_with_the_sdk_spreads_an_api_s_calls_over_its_servers(
        server, apig, instance_id):
    servers = [start_path_echo(host="127.0.0.%d" % (10 + i), server=i) for i in range(3)]
    try:
        members = [MemberInfo(host="127.0.0.%d" % (10 + i), port=s.server_address[1],
                              weight=w)
                   for i, (s, w) in enumerate(zip(servers, [2, 1, 1]))]
        channel = apig.create_vpc_channel_v2(CreateVpcChannelV2Request(
            instance_id=instance_id, body=VpcCreate(
                name="sdk_channel", port=80, balance_strategy=1, member_type="ip", type=2,
                members=members[:2],
                vpc_health_config=VpcHealthConfig(
                    protocol="TCP", threshold_normal=2, threshold_abnormal=2,
                    time_interval=5, timeout=2))))
        assert channel.name == "sdk_channel" and channel.balance_strategy == 1
        assert channel.member_type == "ip" and channel.type == 2 and channel.status == 1
        assert channel.create_time is not None and channel.member_groups == []

        listed = apig.list_vpc_channels_v2(ListVpcChannelsV2Request(
            instance_id=instance_id, name="sdk_channel", precise_search="name"))
        assert listed.total == 1 and listed.vpc_channels[0].id == channel.id
        assert apig.list_vpc_channels_v2(ListVpcChannelsV2Request(
            instance_id=instance_id, member_host="127.0.0.11")).total == 1

        # A third server, added; the details show all three and the health check.
        added = apig.adding_backend_instances_v2(AddingBackendInstancesV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id,
            body=VpcMemberCreate(members=[members[2]])))
        assert added.total == 3
        details = apig.show_details_of_vpc_channel_v2(ShowDetailsOfVpcChannelV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id))
        assert [m.host for m in details.members] == ["127.0.0.10", "127.0.0.11", "127.0.0.12"]
        assert [m.weight for m in details.members] == [2, 1, 1]
        assert all(m.status == 1 and m.vpc_channel_id == channel.id for m in details.members)
        assert details.vpc_health_config.protocol == "TCP"
        assert details.vpc_health_config.time_interval == 5
        # No published API uses the channel yet: no gateway checks its servers.
        assert [m.health_status for m in details.members] == ["unknown"] * 3
        ids = [m.id for m in details.members]

        # An API on the channel, created and published with the SDK.
        api = _publish_channel_api(apig, instance_id, "sdk_channel_api", "/sdk-channel",
                                   channel.id)
        assert api.backend_api.vpc_channel_status == 1
        assert api.backend_api.vpc_channel_info.vpc_channel_id == channel.id

        def spread(n):
            return _spread(server, "/sdk-channel", n)

        assert spread(8) == {0: 4, 1: 2, 2: 2}

        # The gateway's TCP check finds the three servers up; the SDK reads what it decided.
        deadline = time.monotonic() + 10
        while True:
            page = apig.list_backend_instances_v2(ListBackendInstancesV2Request(
                instance_id=instance_id, vpc_channel_id=channel.id))
            statuses = [m.health_status for m in page.members]
            if statuses == ["healthy"] * 3:
                break
            assert time.monotonic() < deadline, statuses
            time.sleep(0.1)

        # Disabled with the SDK: no more calls; enabled again: calls again.
        apig.batch_disable_members(BatchDisableMembersRequest(
            instance_id=instance_id, vpc_channel_id=channel.id,
            body=MembersBatchEnableOrDisable(member_ids=[ids[0]])))
        assert spread(4) == {1: 2, 2: 2}
        apig.batch_enable_members(BatchEnableMembersRequest(
            instance_id=instance_id, vpc_channel_id=channel.id,
            body=MembersBatchEnableOrDisable(member_ids=[ids[0]])))
        assert 0 in spread(4)

        # Removed, then the whole list replaced; the listing follows.
        apig.delete_backend_instance_v2(DeleteBackendInstanceV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id, member_id=ids[2]))
        assert set(spread(4)) == {0, 1}
        replaced = apig.update_backend_instances_v2(UpdateBackendInstancesV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id,
            body=VpcMemberModify(members=[members[1]])))
        assert replaced.total == 1 and replaced.members[0].id == ids[1]
        assert spread(3) == {1: 3}
        page = apig.list_backend_instances_v2(ListBackendInstancesV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id))
        assert page.total == 1 and page.members[0].host == "127.0.0.11"

        # The health check, then the channel replaced (source hashing over two servers).
        health = apig.update_health_check(UpdateHealthCheckRequest(
            instance_id=instance_id, vpc_channel_id=channel.id,
            body=VpcHealthConfig(protocol="HTTP", path="/health", method="GET",
                                 threshold_normal=1, threshold_abnormal=3, time_interval=10,
                                 timeout=5, http_code="200")))
        assert health.protocol == "HTTP" and health.vpc_channel_id == channel.id
        updated = apig.update_vpc_channel_v2(UpdateVpcChannelV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id, body=VpcCreate(
                name="sdk_channel", port=80, balance_strategy=3, member_type="ip",
                members=members[:2])))
        assert updated.balance_strategy == 3
        assert len(spread(6)) == 1, "one caller, one server"

        # Refusals with Huawei's codes.
        taken = _error(lambda: apig.create_vpc_channel_v2(CreateVpcChannelV2Request(
            instance_id=instance_id, body=VpcCreate(
                name="sdk_channel", port=80, balance_strategy=1, member_type="ip"))))
        assert (taken.status_code, taken.error_code) == (400, "APIG.3208")
        in_use = _error(lambda: apig.delete_vpc_channel_v2(DeleteVpcChannelV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id)))
        assert (in_use.status_code, in_use.error_code) == (403, "APIG.3414")
        bad = _error(lambda: apig.adding_backend_instances_v2(AddingBackendInstancesV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id,
            body=VpcMemberCreate(members=[MemberInfo(host="127.0.0.20", weight=20000)]))))
        assert (bad.status_code, bad.error_code) == (400, "APIG.2011")

        # Offline and deleted, the API lets the channel go.
        apig.create_or_delete_publish_record_for_api_v2(
            CreateOrDeletePublishRecordForApiV2Request(
                instance_id=instance_id,
                body=ApiActionInfo(action="offline", env_id=RELEASE, api_id=api.id)))
        apig.delete_api_v2(DeleteApiV2Request(instance_id=instance_id, api_id=api.id))
        apig.delete_vpc_channel_v2(DeleteVpcChannelV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id))
        gone = _error(lambda: apig.show_details_of_vpc_channel_v2(
            ShowDetailsOfVpcChannelV2Request(instance_id=instance_id, vpc_channel_id=channel.id)))
        assert (gone.status_code, gone.error_code) == (404, "APIG.3023")
        assert gone.error_msg == "The VPC channel does not exist,id:%s" % channel.id
    finally:
        for s in servers:
            s.shutdown()


def test_backend_server_groups_made_with_the_sdk_lend_their_weight(server, apig, instance_id):
    servers = [start_path_echo(host="127.0.0.%d" % (20 + i), server=i) for i in range(2)]
    try:
        # A channel with two groups given with it; each server names one.
        channel = apig.create_vpc_channel_v2(CreateVpcChannelV2Request(
            instance_id=instance_id, body=VpcCreate(
                name="sdk_grouped", port=80, balance_strategy=1, member_type="ip", type=2,
                member_groups=[MemberGroupCreate(member_group_name="heavy",
                                                 member_group_weight=3),
                               MemberGroupCreate(member_group_name="light",
                                                 member_group_remark="one share")],
                members=[MemberInfo(host="127.0.0.20", port=servers[0].server_address[1],
                                    member_group_name="heavy"),
                         MemberInfo(host="127.0.0.21", port=servers[1].server_address[1],
                                    member_group_name="light")])))
        assert [g.member_group_name for g in channel.member_groups] == ["heavy", "light"]
        heavy, light = (g.member_group_id for g in channel.member_groups)
        members = apig.list_backend_instances_v2(ListBackendInstancesV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id)).members
        assert [(m.member_group_name, m.member_group_id) for m in members] == [
            ("heavy", heavy), ("light", light)]

        # An API on it: the heavy group's weight is its server's.
        api = _publish_channel_api(apig, instance_id, "sdk_grouped_api", "/sdk-grouped",
                                   channel.id)

        def spread(n):
            return _spread(server, "/sdk-grouped", n)

        assert spread(8) == {0: 6, 1: 2}

        # The group calls with the SDK's own models.
        added = apig.create_member_group(CreateMemberGroupRequest(
            instance_id=instance_id, vpc_channel_id=channel.id,
            body=MemberGroupCreateBatch(member_groups=[
                MemberGroupCreate(member_group_name="spare", dict_code="spare-code")])))
        assert added.total == 3
        page = apig.list_member_groups(ListMemberGroupsRequest(
            instance_id=instance_id, vpc_channel_id=channel.id, member_group_name="spare",
            precise_search="member_group_name"))
        assert page.total == 1 and page.member_groups[0].dict_code == "spare-code"
        shown = apig.show_details_of_member_group(ShowDetailsOfMemberGroupRequest(
            instance_id=instance_id, vpc_channel_id=channel.id, member_group_id=light))
        assert shown.member_group_remark == "one share" and shown.create_time is not None
        updated = apig.update_member_group(UpdateMemberGroupRequest(
            instance_id=instance_id, vpc_channel_id=channel.id, member_group_id=heavy,
            body=MemberGroupCreate(member_group_name="heavy", member_group_weight=1)))
        assert updated.member_group_weight == 1
        assert spread(4) == {0: 2, 1: 2}
        apig.delete_member_group(DeleteMemberGroupRequest(
            instance_id=instance_id, vpc_channel_id=channel.id, member_group_id=heavy))
        missing = _error(lambda: apig.show_details_of_member_group(
            ShowDetailsOfMemberGroupRequest(instance_id=instance_id,
                                            vpc_channel_id=channel.id,
                                            member_group_id=heavy)))
        assert (missing.status_code, missing.error_code) == (404, "APIG.3025")
        members = apig.list_backend_instances_v2(ListBackendInstancesV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id)).members
        assert [m.member_group_name for m in members] == ["", "light"]
        # Replaced within one group (VpcMemberModify's member_group_name): the light group
        # ends empty, the server without a group stays.
        replaced = apig.update_backend_instances_v2(UpdateBackendInstancesV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id,
            body=VpcMemberModify(member_group_name="light", members=[])))
        assert [m.host for m in replaced.members] == ["127.0.0.20"]

        apig.create_or_delete_publish_record_for_api_v2(
            CreateOrDeletePublishRecordForApiV2Request(
                instance_id=instance_id,
                body=ApiActionInfo(action="offline", env_id=RELEASE, api_id=api.id)))
        apig.delete_api_v2(DeleteApiV2Request(instance_id=instance_id, api_id=api.id))
        apig.delete_vpc_channel_v2(DeleteVpcChannelV2Request(
            instance_id=instance_id, vpc_channel_id=channel.id))
    finally:
        for s in servers:
            s.shutdown()
