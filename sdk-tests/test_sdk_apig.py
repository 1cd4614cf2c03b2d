"""apigw's APIG v2 App / AppCode API, driven by the real public SDKs.

Part 1 uses huaweicloudsdkapig.v2.ApigClient signed with AK/SK
(SDK-HMAC-SHA256), with the SDK's own request/response models.
Part 2 uses otcextensions' `conn.apig` after a Keystone v3 password login.

See NOTES.md for what the server has to do for these to pass and why.
"""
import datetime
import re
import uuid

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkapig.v2 import (
    AppCodeCreate,
    AppCreate,
    AppResetCreate,
    CheckAppV2Request,
    CreateAnAppV2Request,
    CreateAppCodeAutoV2Request,
    CreateAppCodeV2Request,
    DeleteAppCodeV2Request,
    DeleteAppV2Request,
    ListAppCodesV2Request,
    ListAppsV2Request,
    ResettingAppSecretV2Request,
    ShowDetailsOfAppCodeV2Request,
    ShowDetailsOfAppV2Request,
    UpdateAppV2Request,
)

from apigw_sdk_helpers import make_apig_client, password_auth_body, unique_name

HEX64 = re.compile(r"^[0-9a-f]{64}$")
BAD_NAME_MSG = ("Invalid parameter value,parameterName:name. "
                "Please refer to the support documentation")


def app_code_value():
    """A valid custom AppCode: 64 chars, starts with a letter."""
    return "A" + uuid.uuid4().hex + uuid.uuid4().hex[:31]


def missing_id():
    return uuid.uuid4().hex


# ======================================================= huaweicloudsdkapig ==

def create_app(apig, instance_id, name=None, remark="created by sdk-tests", **kw):
    req = CreateAnAppV2Request(instance_id=instance_id,
                               body=AppCreate(name=name or unique_name(), remark=remark, **kw))
    return apig.create_an_app_v2(req)


def assert_sdk_error(excinfo, recorder, status, code, msg=None):
    """Check a ClientRequestException against the raw response it came from."""
    e = excinfo.value
    assert e.status_code == status, str(e)
    assert e.error_code == code, str(e)
    if msg is not None:
        assert e.error_msg == msg, str(e)
    else:
        assert e.error_msg, str(e)
    assert e.request_id, "request_id is empty: the response had no X-Request-Id header"
    raw = recorder.last
    assert raw is not None and raw.status_code == status
    assert raw.headers.get("X-Request-Id") == e.request_id
    body = raw.json()
    assert body["error_code"] == code and body["error_msg"] == e.error_msg


def assert_time(value):
    # huaweicloudsdkcore parses 'datetime' fields with dateutil (after
    # appending "Z" when missing); on a format it cannot parse it warns and
    # leaves the string, which this catches.
    assert isinstance(value, datetime.datetime), "not a parseable time: %r" % (value,)


class TestApigClientApps:
    def test_create_app(self, apig, instance_id, project_id):
        name = unique_name()
        r = create_app(apig, instance_id, name=name, remark="first app")
        assert r.status_code == 201
        assert r.id
        assert r.name == name
        assert r.remark == "first app"
        assert r.app_key and r.app_secret
        assert r.app_key != r.app_secret
        assert r.status == 1
        assert r.creator == "USER"
        assert_time(r.register_time)
        assert_time(r.update_time)

    def test_create_app_with_own_key_and_secret(self, apig, instance_id):
        key = "key" + uuid.uuid4().hex
        secret = "Sec_" + uuid.uuid4().hex
        r = create_app(apig, instance_id, app_key=key, app_secret=secret)
        assert r.status_code == 201
        assert r.app_key == key
        assert r.app_secret == secret

    def test_show_app(self, apig, instance_id):
        created = create_app(apig, instance_id, remark="to show")
        r = apig.show_details_of_app_v2(
            ShowDetailsOfAppV2Request(instance_id=instance_id, app_id=created.id))
        assert r.status_code == 200
        assert r.id == created.id
        assert r.name == created.name
        assert r.remark == "to show"
        assert r.app_key == created.app_key
        assert r.app_secret == created.app_secret
        assert r.status == 1
        assert r.creator == "USER"
        # Huawei answers a create with nanoseconds and later reads with whole seconds (spec §0).
        assert r.register_time == created.register_time.replace(microsecond=0)

    def test_update_app(self, apig, instance_id):
        created = create_app(apig, instance_id)
        new_name = unique_name("upd")
        r = apig.update_app_v2(UpdateAppV2Request(
            instance_id=instance_id, app_id=created.id,
            body=AppCreate(name=new_name, remark="changed")))
        assert r.status_code == 200
        assert r.id == created.id
        assert r.name == new_name
        assert r.remark == "changed"
        assert r.app_key == created.app_key
        assert_time(r.update_time)
        assert r.update_time >= created.register_time
        shown = apig.show_details_of_app_v2(
            ShowDetailsOfAppV2Request(instance_id=instance_id, app_id=created.id))
        assert shown.name == new_name and shown.remark == "changed"

    def test_list_apps(self, apig, instance_id):
        prefix = "lst_%s" % uuid.uuid4().hex[:8]
        ids = [create_app(apig, instance_id, name="%s_%d" % (prefix, i)).id for i in range(3)]

        r = apig.list_apps_v2(ListAppsV2Request(instance_id=instance_id, name=prefix))
        assert r.status_code == 200
        assert r.total == 3 and r.size == 3
        assert sorted(a.id for a in r.apps) == sorted(ids)
        for a in r.apps:
            assert a.name.startswith(prefix)
            assert a.app_key and a.status == 1
            assert a.bind_num == 0

        page1 = apig.list_apps_v2(ListAppsV2Request(instance_id=instance_id, name=prefix,
                                                    offset=0, limit=2))
        page2 = apig.list_apps_v2(ListAppsV2Request(instance_id=instance_id, name=prefix,
                                                    offset=2, limit=2))
        assert (page1.total, page1.size, page2.total, page2.size) == (3, 2, 3, 1)
        assert sorted(a.id for a in page1.apps + page2.apps) == sorted(ids)

        exact = apig.list_apps_v2(ListAppsV2Request(instance_id=instance_id,
                                                    name="%s_1" % prefix, precise_search="name"))
        assert exact.total == 1 and [a.id for a in exact.apps] == [ids[1]]

        everything = apig.list_apps_v2(ListAppsV2Request(instance_id=instance_id, limit=500))
        assert set(ids) <= {a.id for a in everything.apps}
        assert everything.total >= 3

    def test_reset_app_secret(self, apig, instance_id):
        created = create_app(apig, instance_id)
        # No body at all: the SDK sends PUT with an empty body; a new secret is generated.
        r = apig.resetting_app_secret_v2(
            ResettingAppSecretV2Request(instance_id=instance_id, app_id=created.id))
        assert r.status_code == 200
        assert r.id == created.id
        assert r.app_key == created.app_key
        assert r.app_secret and r.app_secret != created.app_secret

        mine = "Sec_" + uuid.uuid4().hex
        r2 = apig.resetting_app_secret_v2(ResettingAppSecretV2Request(
            instance_id=instance_id, app_id=created.id, body=AppResetCreate(app_secret=mine)))
        assert r2.status_code == 200
        assert r2.app_secret == mine
        shown = apig.show_details_of_app_v2(
            ShowDetailsOfAppV2Request(instance_id=instance_id, app_id=created.id))
        assert shown.app_secret == mine

    def test_check_app(self, apig, instance_id):
        created = create_app(apig, instance_id, remark="check me")
        r = apig.check_app_v2(CheckAppV2Request(instance_id=instance_id, app_id=created.id))
        assert r.status_code == 200
        assert (r.id, r.name, r.remark) == (created.id, created.name, "check me")

    def test_delete_app(self, apig, instance_id, recorder):
        created = create_app(apig, instance_id)
        r = apig.delete_app_v2(DeleteAppV2Request(instance_id=instance_id, app_id=created.id))
        assert r.status_code == 204
        with pytest.raises(ClientRequestException) as ei:
            apig.show_details_of_app_v2(
                ShowDetailsOfAppV2Request(instance_id=instance_id, app_id=created.id))
        assert_sdk_error(ei, recorder, 404, "APIG.3004", "App %s does not exist" % created.id)

    def test_query_needing_encoding_is_signed_correctly(self, apig, instance_id, recorder):
        # The SDK signs and sends the query as quote(v, safe='~'): ' ' -> %20,
        # '+' -> %2B, '~' kept, non-ASCII as UTF-8 %XX. A server that
        # canonicalises the query differently answers 401 here.
        try:
            r = apig.list_apps_v2(ListAppsV2Request(
                instance_id=instance_id, name="a b+c~d/é*", offset=0, limit=5))
            assert r.status_code == 200
            assert r.total == 0
        except ClientRequestException as e:
            assert e.status_code == 400, "signature over an encoded query rejected: %s" % e


class TestApigClientAppCodes:
    def test_app_code_lifecycle(self, apig, instance_id, recorder):
        app = create_app(apig, instance_id)
        value = app_code_value()

        c = apig.create_app_code_v2(CreateAppCodeV2Request(
            instance_id=instance_id, app_id=app.id, body=AppCodeCreate(app_code=value)))
        assert c.status_code == 201
        assert c.id and c.app_id == app.id and c.app_code == value
        assert c.create_time  # a string in this model

        g = apig.create_app_code_auto_v2(
            CreateAppCodeAutoV2Request(instance_id=instance_id, app_id=app.id))
        assert g.status_code == 201
        assert g.id and g.id != c.id and g.app_id == app.id
        assert HEX64.match(g.app_code), g.app_code

        lst = apig.list_app_codes_v2(ListAppCodesV2Request(instance_id=instance_id, app_id=app.id))
        assert lst.status_code == 200
        assert lst.total == 2 and lst.size == 2
        assert {x.id: x.app_code for x in lst.app_codes} == {c.id: value, g.id: g.app_code}
        assert all(x.app_id == app.id and x.create_time for x in lst.app_codes)

        one = apig.list_app_codes_v2(ListAppCodesV2Request(
            instance_id=instance_id, app_id=app.id, offset=1, limit=1))
        assert one.total == 2 and one.size == 1

        shown = apig.show_details_of_app_code_v2(ShowDetailsOfAppCodeV2Request(
            instance_id=instance_id, app_id=app.id, app_code_id=c.id))
        assert shown.status_code == 200
        assert (shown.id, shown.app_id, shown.app_code) == (c.id, app.id, value)
        # Create answers carry nanoseconds, reads whole seconds (spec §0): same second.
        assert shown.create_time[:19] == c.create_time[:19]

        d = apig.delete_app_code_v2(DeleteAppCodeV2Request(
            instance_id=instance_id, app_id=app.id, app_code_id=c.id))
        assert d.status_code == 204
        with pytest.raises(ClientRequestException) as ei:
            apig.show_details_of_app_code_v2(ShowDetailsOfAppCodeV2Request(
                instance_id=instance_id, app_id=app.id, app_code_id=c.id))
        assert_sdk_error(ei, recorder, 404, "APIG.3082")

        lst2 = apig.list_app_codes_v2(ListAppCodesV2Request(instance_id=instance_id, app_id=app.id))
        assert lst2.total == 1 and [x.id for x in lst2.app_codes] == [g.id]


class TestApigClientErrors:
    @pytest.mark.parametrize("op", ["show", "update", "delete", "reset", "check",
                                    "list_codes", "create_code", "generate_code"])
    def test_missing_app(self, apig, instance_id, recorder, op):
        aid = missing_id()
        calls = {
            "show": lambda: apig.show_details_of_app_v2(
                ShowDetailsOfAppV2Request(instance_id=instance_id, app_id=aid)),
            "update": lambda: apig.update_app_v2(UpdateAppV2Request(
                instance_id=instance_id, app_id=aid, body=AppCreate(name=unique_name()))),
            "delete": lambda: apig.delete_app_v2(
                DeleteAppV2Request(instance_id=instance_id, app_id=aid)),
            "reset": lambda: apig.resetting_app_secret_v2(
                ResettingAppSecretV2Request(instance_id=instance_id, app_id=aid)),
            "check": lambda: apig.check_app_v2(CheckAppV2Request(instance_id=instance_id, app_id=aid)),
            "list_codes": lambda: apig.list_app_codes_v2(
                ListAppCodesV2Request(instance_id=instance_id, app_id=aid)),
            "create_code": lambda: apig.create_app_code_v2(CreateAppCodeV2Request(
                instance_id=instance_id, app_id=aid, body=AppCodeCreate(app_code=app_code_value()))),
            "generate_code": lambda: apig.create_app_code_auto_v2(
                CreateAppCodeAutoV2Request(instance_id=instance_id, app_id=aid)),
        }
        with pytest.raises(ClientRequestException) as ei:
            calls[op]()
        assert_sdk_error(ei, recorder, 404, "APIG.3004", "App %s does not exist" % aid)

    @pytest.mark.parametrize("bad", ["#$%", "1abc", "a b", "x" * 65])
    def test_bad_name_on_create(self, apig, instance_id, recorder, bad):
        with pytest.raises(ClientRequestException) as ei:
            create_app(apig, instance_id, name=bad)
        assert_sdk_error(ei, recorder, 400, "APIG.2011", BAD_NAME_MSG)

    def test_bad_name_on_update(self, apig, instance_id, recorder):
        app = create_app(apig, instance_id)
        with pytest.raises(ClientRequestException) as ei:
            apig.update_app_v2(UpdateAppV2Request(
                instance_id=instance_id, app_id=app.id, body=AppCreate(name="#$%")))
        assert_sdk_error(ei, recorder, 400, "APIG.2011", BAD_NAME_MSG)

    def test_duplicate_name(self, apig, instance_id, recorder):
        app = create_app(apig, instance_id)
        with pytest.raises(ClientRequestException) as ei:
            create_app(apig, instance_id, name=app.name)
        assert_sdk_error(ei, recorder, 400, "APIG.3203")

        other = create_app(apig, instance_id)
        with pytest.raises(ClientRequestException) as ei:
            apig.update_app_v2(UpdateAppV2Request(
                instance_id=instance_id, app_id=other.id, body=AppCreate(name=app.name)))
        assert_sdk_error(ei, recorder, 400, "APIG.3203")

    def test_missing_app_code(self, apig, instance_id, recorder):
        app = create_app(apig, instance_id)
        for call, req_cls in ((apig.show_details_of_app_code_v2, ShowDetailsOfAppCodeV2Request),
                              (apig.delete_app_code_v2, DeleteAppCodeV2Request)):
            with pytest.raises(ClientRequestException) as ei:
                call(req_cls(instance_id=instance_id, app_id=app.id, app_code_id=missing_id()))
            assert_sdk_error(ei, recorder, 404, "APIG.3082")

    def test_wrong_secret_key_is_rejected(self, server, aksk, project_id, instance_id):
        bad = make_apig_client(server.base_url, aksk[0], aksk[1][:-1] + ("x" if aksk[1][-1] != "x" else "y"),
                               project_id)
        with pytest.raises(ClientRequestException) as ei:
            bad.list_apps_v2(ListAppsV2Request(instance_id=instance_id))
        assert ei.value.status_code == 401, str(ei.value)
        assert ei.value.request_id

    def test_unknown_access_key_is_rejected(self, server, project_id, instance_id):
        bad = make_apig_client(server.base_url, "NOSUCHACCESSKEY00000", "x" * 40, project_id)
        with pytest.raises(ClientRequestException) as ei:
            bad.list_apps_v2(ListAppsV2Request(instance_id=instance_id))
        assert ei.value.status_code == 401, str(ei.value)


# ============================================================ otcextensions ==

class TestKeystoneForOpenstackSdk:
    """Checks the token response shape keystoneauth1 relies on, with clear messages."""

    def test_version_document(self, server):
        r = requests.get(server.base_url + "/v3", headers={"Accept": "application/json"}, timeout=10)
        assert r.status_code == 200, r.text[:300]
        v = r.json()["version"]
        assert v["id"].startswith("v3") and v["status"] == "stable"
        selfs = [link["href"] for link in v["links"] if link.get("rel") == "self"]
        assert selfs and selfs[0].rstrip("/") == server.base_url + "/v3"

    def test_token_body(self, server, admin_login):
        token, body = admin_login
        t = body["token"]
        assert t["methods"] == ["password"]
        assert t["user"]["id"] and t["user"]["name"] == "admin"
        assert t["user"]["domain"]["name"] == "Default" and t["user"]["domain"]["id"]
        assert t["project"]["id"] and t["project"]["name"] == "admin"
        assert t["project"]["domain"]["name"] == "Default" and t["project"]["domain"]["id"]
        assert isinstance(t["roles"], list) and all(r["id"] and r["name"] for r in t["roles"])
        now = datetime.datetime.now(datetime.timezone.utc)
        issued = datetime.datetime.fromisoformat(t["issued_at"].replace("Z", "+00:00"))
        expires = datetime.datetime.fromisoformat(t["expires_at"].replace("Z", "+00:00"))
        assert t["expires_at"].endswith("Z") and t["issued_at"].endswith("Z")
        assert issued <= now + datetime.timedelta(minutes=1)
        assert expires > now + datetime.timedelta(minutes=10)
        types = {}
        for svc in t["catalog"]:
            for ep in svc["endpoints"]:
                assert {"id", "interface", "url"} <= set(ep)
                types.setdefault(svc["type"], {})[ep["interface"]] = ep["url"]
        assert types["apigv2"]["public"].rstrip("/") in (
            server.base_url + "/v2", "%s/v2/%s" % (server.base_url, t["project"]["id"]))
        assert types["identity"]["public"].rstrip("/") == server.base_url + "/v3"

    def test_wrong_password(self, server):
        r = requests.post(server.base_url + "/v3/auth/tokens",
                          json=password_auth_body(server.password + "x"), timeout=10)
        assert r.status_code == 401
        assert "X-Subject-Token" not in r.headers


class TestOtcExtensions:
    def test_endpoint(self, otc_conn, server, project_id):
        assert otc_conn.current_project_id == project_id
        # otcextensions sets apigv2_endpoint_override = <catalog url>/%(project_id)s
        # (left as is when the catalog URL already ends in the project id);
        # keystoneauth fills it in per request.
        r = otc_conn.apig.get("/apigw/instances")
        assert r.status_code == 200, r.text[:300]
        assert r.url == "%s/v2/%s/apigw/instances" % (server.base_url, project_id)
        assert r.request.headers.get("X-Auth-Token")
        assert [i["id"] for i in r.json()["instances"] if i["instance_name"] == "default"]

    def test_app_lifecycle(self, otc_conn, instance_id):
        apig = otc_conn.apig
        name = unique_name("otc")
        a = apig.create_app(instance_id, name=name, remark="otc app")
        assert a.id and a.name == name and a.remark == "otc app"
        assert a.app_key and a.app_secret and a.status == 1

        got = apig.get_app(instance_id, a.id)
        assert (got.id, got.name, got.app_key, got.app_secret) == (a.id, name, a.app_key, a.app_secret)

        new_name = unique_name("otcu")
        upd = apig.update_app(instance_id, a.id, name=new_name, remark="changed")
        assert upd.name == new_name and upd.remark == "changed"

        listed = list(apig.apps(instance_id, name=new_name))
        assert [x.id for x in listed] == [a.id]
        assert listed[0].bind_num == 0

        v = apig.verify_app(instance_id, a.id)
        assert (v.id, v.name, v.remark) == (a.id, new_name, "changed")

        r = apig.reset_app_secret(instance_id, a.id)   # body "{}"
        assert r.app_secret and r.app_secret != a.app_secret
        mine = "Sec_" + uuid.uuid4().hex
        r2 = apig.reset_app_secret(instance_id, a.id, app_secret=mine)
        assert r2.app_secret == mine

        apig.delete_app(instance_id, a.id)
        from openstack import exceptions as os_exc
        with pytest.raises(os_exc.NotFoundException):
            apig.get_app(instance_id, a.id)
        apig.delete_app(instance_id, a.id, ignore_missing=True)

    def test_app_codes(self, otc_conn, instance_id):
        apig = otc_conn.apig
        a = apig.create_app(instance_id, name=unique_name("otcc"))
        value = app_code_value()
        c = apig.create_app_code(instance_id, a.id, app_code=value)
        assert c.id and c.app_code == value
        g = apig.generate_app_code(instance_id, a.id)   # PUT with body "{}"
        assert g.id and HEX64.match(g.app_code)
        codes = {x.id: x.app_code for x in apig.app_codes(instance_id, a.id)}
        assert codes == {c.id: value, g.id: g.app_code}
        got = apig.get_app_code(instance_id, a.id, c.id)
        assert got.app_code == value
        apig.delete_app_code(instance_id, a.id, c.id)
        from openstack import exceptions as os_exc
        with pytest.raises(os_exc.NotFoundException):
            apig.get_app_code(instance_id, a.id, c.id)
        assert [x.id for x in apig.app_codes(instance_id, a.id)] == [g.id]

    def test_errors(self, otc_conn, instance_id):
        from openstack import exceptions as os_exc
        apig = otc_conn.apig
        aid = missing_id()
        with pytest.raises(os_exc.NotFoundException) as ei:
            apig.get_app(instance_id, aid)
        e = ei.value
        assert e.status_code == 404
        # otcextensions' raise_from_response puts error_code into details
        assert e.details == "APIG.3004"
        body = e.response.json()
        assert body["error_code"] == "APIG.3004"
        assert body["error_msg"] == "App %s does not exist" % aid
        assert e.response.headers.get("X-Request-Id")

        with pytest.raises(os_exc.BadRequestException) as ei:
            apig.create_app(instance_id, name="#$%")
        assert ei.value.status_code == 400 and ei.value.details == "APIG.2011"
        assert ei.value.response.json()["error_msg"] == BAD_NAME_MSG

    def test_error_request_id(self, otc_conn, instance_id):
        """openstacksdk reads request_id from X-Openstack-Request-Id only (NOTES.md, R11)."""
        from openstack import exceptions as os_exc
        with pytest.raises(os_exc.NotFoundException) as ei:
            otc_conn.apig.get_app(instance_id, missing_id())
        e = ei.value
        assert e.request_id, "no X-Openstack-Request-Id header on the error response"
        assert e.request_id == e.response.headers.get("X-Request-Id")
