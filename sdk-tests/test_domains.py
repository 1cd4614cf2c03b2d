"""Independent domain names bound to an API group with the official SDK
(AssociateDomainV2, UpdateDomainV2, DisassociateDomainV2, ShowDetailsOfApiGroupV2), then
called through apigw's gateway listeners with that name as Host."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from huaweicloudsdkapig.v2 import (
    ApiActionInfo,
    ApiCreate,
    ApiGroupCreate,
    AssociateDomainV2Request,
    BackendApiCreate,
    CreateApiGroupV2Request,
    CreateApiV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    DisassociateDomainV2Request,
    ShowDetailsOfApiGroupV2Request,
    UpdateDomainV2Request,
    UrlDomainCreate,
    UrlDomainModify,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

# The gateway's certificate names 127.0.0.1, not the bound name these calls send as Host.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"
NAME = "api.sdk-shop.example"


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        out = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def shop(apig, instance_id):
    """A group with one published API (`GET /shop` → backend `/items`, no authentication)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_domain_shop")))
    api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group.id, name="sdk_domain_api", type=1, req_protocol="BOTH", req_method="GET",
        req_uri="/shop", auth_type="NONE", backend_type="HTTP",
        backend_api=BackendApiCreate(url_domain="127.0.0.1:%d" % httpd.server_address[1],
                                     req_protocol="HTTP", req_method="GET", req_uri="/items",
                                     timeout=5000))))
    apig.create_or_delete_publish_record_for_api_v2(CreateOrDeletePublishRecordForApiV2Request(
        instance_id=instance_id, body=ApiActionInfo(action="online", env_id=RELEASE, api_id=api.id)))
    yield group
    httpd.shutdown()


def _get(server, host, https=False):
    if https:
        url = "https://%s/shop" % server.gateway_tls_address
        return requests.get(url, headers={"Host": host}, verify=False, timeout=10,
                            allow_redirects=False)
    return requests.get(server.gateway_url + "/shop", headers={"Host": host}, timeout=10,
                        allow_redirects=False)


def test_a_bound_name_routes_to_the_group_until_it_is_unbound(server, apig, instance_id, shop):
    assert _get(server, NAME).status_code == 404
    bound = apig.associate_domain_v2(AssociateDomainV2Request(
        instance_id=instance_id, group_id=shop.id, body=UrlDomainCreate(url_domain=NAME.upper())))
    assert bound.url_domain == NAME
    assert bound.status == 3 and bound.min_ssl_version == "TLSv1.1"
    assert bound.is_http_redirect_to_https is False
    assert (bound.ingress_http_port, bound.ingress_https_port) == (80, 443)

    shown = apig.show_details_of_api_group_v2(ShowDetailsOfApiGroupV2Request(
        instance_id=instance_id, group_id=shop.id))
    assert [(d.id, d.domain) for d in shown.url_domains] == [(bound.id, NAME)]

    r = _get(server, NAME)
    assert r.status_code == 200 and r.json()["path"] == "/items", r.text

    changed = apig.update_domain_v2(UpdateDomainV2Request(
        instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
        body=UrlDomainModify(min_ssl_version="TLSv1.2", is_http_redirect_to_https=True)))
    assert changed.is_http_redirect_to_https is True and changed.min_ssl_version == "TLSv1.2"
    r = _get(server, NAME)
    assert r.status_code == 301 and r.headers["Location"] == "https://%s/shop" % NAME
    r = _get(server, NAME, https=True)
    assert r.status_code == 200, r.text

    apig.disassociate_domain_v2(DisassociateDomainV2Request(
        instance_id=instance_id, group_id=shop.id, domain_id=bound.id))
    assert _get(server, NAME, https=True).status_code == 404
    shown = apig.show_details_of_api_group_v2(ShowDetailsOfApiGroupV2Request(
        instance_id=instance_id, group_id=shop.id))
    assert shown.url_domains == []


def test_refusals_carry_huaweis_codes(apig, instance_id, shop):
    bound = apig.associate_domain_v2(AssociateDomainV2Request(
        instance_id=instance_id, group_id=shop.id,
        body=UrlDomainCreate(url_domain="once.sdk-shop.example")))
    try:
        for body, status, code in [
            (UrlDomainCreate(url_domain="once.sdk-shop.example"), 400, "APIG.3305"),
            (UrlDomainCreate(url_domain="not a name"), 400, "APIG.2011"),
            (UrlDomainCreate(url_domain="x.sdk-shop.example", min_ssl_version="SSLv3"), 400,
             "APIG.2011"),
        ]:
            with pytest.raises(ClientRequestException) as ei:
                apig.associate_domain_v2(AssociateDomainV2Request(
                    instance_id=instance_id, group_id=shop.id, body=body))
            assert (ei.value.status_code, ei.value.error_code) == (status, code), str(ei.value)
        with pytest.raises(ClientRequestException) as ei:
            apig.disassociate_domain_v2(DisassociateDomainV2Request(
                instance_id=instance_id, group_id=shop.id,
                domain_id="0" * 32))
        assert (ei.value.status_code, ei.value.error_code) == (404, "APIG.3020")
    finally:
        apig.disassociate_domain_v2(DisassociateDomainV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id))
