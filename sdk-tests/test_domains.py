"""Independent domain names bound to an API group with the official SDK
(AssociateDomainV2, UpdateDomainV2, DisassociateDomainV2, ShowDetailsOfApiGroupV2), then
called through apigw's gateway listeners with that name as Host; and a certificate added to a
name (AssociateCertificateV2, ShowDetailsOfDomainNameCertificateV2, DisassociateCertificateV2),
made by the openssl command and verified by a TLS client asking for that name."""
import socket
import ssl
import subprocess

import pytest
import requests
from huaweicloudsdkapig.v2 import (
    ApiActionInfo,
    ApiCreate,
    ApiGroupCreate,
    AssociateCertificateV2Request,
    AssociateDomainV2Request,
    BackendApiCreate,
    CertForm,
    CreateApiGroupV2Request,
    CreateApiV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    DisassociateCertificateV2Request,
    DisassociateDomainV2Request,
    ListApisV2Request,
    ShowDetailsOfApiGroupV2Request,
    ShowDetailsOfDomainNameCertificateV2Request,
    UpdateDomainV2Request,
    UrlDomainCreate,
    UrlDomainModify,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from apigw_sdk_helpers import start_path_echo

# The gateway's certificate names 127.0.0.1, not the bound name these calls send as Host.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"
NAME = "api.sdk-shop.example"


@pytest.fixture(scope="module")
def shop(apig, instance_id):
    """A group with one published API (`GET /shop` → backend `/items`, no authentication)."""
    httpd = start_path_echo()
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
    apis = apig.list_apis_v2(ListApisV2Request(instance_id=instance_id, group_id=shop.id))
    assert [d.domain for d in apis.apis[0].api_group_info.url_domains] == [NAME]

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


def _openssl_pair(tmp_path, name, days=30):
    """A self-signed ECDSA certificate for `name` and its key, made by the openssl command."""
    cert, key = tmp_path / (name + ".crt"), tmp_path / (name + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", str(days),
         "-subj", "/CN=%s/O=SDK Shop/C=DE" % name, "-addext", "subjectAltName=DNS:%s" % name],
        check=True, capture_output=True)
    return cert.read_text(), key.read_text()


def _presented(server, name, ca=None):
    """The certificate (DER) the HTTPS listener presents to a client asking for `name`; with
    `ca`, the handshake verifies it against that certificate alone and the name."""
    host, port = server.gateway_tls_address.split(":")
    ctx = ssl.create_default_context(cadata=ca) if ca else ssl._create_unverified_context()
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            return tls.getpeercert(binary_form=True)


def test_a_certificate_added_to_a_name_is_presented_for_it(server, apig, instance_id, shop,
                                                          tmp_path):
    name = "tls.sdk-shop.example"
    bound = apig.associate_domain_v2(AssociateDomainV2Request(
        instance_id=instance_id, group_id=shop.id, body=UrlDomainCreate(url_domain=name)))
    try:
        default = _presented(server, name)
        cert, key = _openssl_pair(tmp_path, name)
        added = apig.associate_certificate_v2(AssociateCertificateV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
            body=CertForm(name="sdk_cert", cert_content=cert, private_key=key)))
        assert (added.id, added.url_domain, added.ssl_name) == (bound.id, name, "sdk_cert")
        assert len(added.ssl_id) == 32 and added.api_group_id == shop.id
        ours = ssl.PEM_cert_to_DER_cert(cert)
        assert _presented(server, name) == ours != default
        # A client trusting only that certificate verifies it for the name.
        assert _presented(server, name, ca=cert) == ours

        details = apig.show_details_of_domain_name_certificate_v2(
            ShowDetailsOfDomainNameCertificateV2Request(
                instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
                certificate_id=added.ssl_id))
        assert (details.id, details.name, details.type) == (added.ssl_id, "sdk_cert", "instance")
        assert details.common_name == name and details.san == [name]
        assert details.organization == ["SDK Shop"] and details.country == ["DE"]
        assert details.version == 3 and details.signature_algorithm == "ECDSA-SHA256"
        assert details.not_after.endswith("Z") and details.serial_number.isdigit()
        shown = apig.show_details_of_api_group_v2(ShowDetailsOfApiGroupV2Request(
            instance_id=instance_id, group_id=shop.id))
        listed = [d for d in shown.url_domains if d.id == bound.id][0]
        assert (listed.ssl_id, listed.ssl_name) == (added.ssl_id, "sdk_cert")

        other_cert, other_key = _openssl_pair(tmp_path, "other.sdk-shop.example")
        for form, code in [
            (CertForm(name="sdk_cert", cert_content=other_cert, private_key=other_key),
             "APIG.2103"),
            (CertForm(name="sdk_cert", cert_content=cert, private_key=other_key), "APIG.2101"),
            (CertForm(name="sdk_cert", cert_content="garbage", private_key=key), "APIG.2106"),
            (CertForm(name="x", cert_content=cert, private_key=key), "APIG.2011"),
        ]:
            with pytest.raises(ClientRequestException) as ei:
                apig.associate_certificate_v2(AssociateCertificateV2Request(
                    instance_id=instance_id, group_id=shop.id, domain_id=bound.id, body=form))
            assert (ei.value.status_code, ei.value.error_code) == (400, code), str(ei.value)
        assert _presented(server, name) == ours

        apig.disassociate_certificate_v2(DisassociateCertificateV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
            certificate_id=added.ssl_id))
        assert _presented(server, name) == default
        with pytest.raises(ClientRequestException) as ei:
            apig.show_details_of_domain_name_certificate_v2(
                ShowDetailsOfDomainNameCertificateV2Request(
                    instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
                    certificate_id=added.ssl_id))
        assert (ei.value.status_code, ei.value.error_code) == (404, "APIG.3021")
    finally:
        apig.disassociate_domain_v2(DisassociateDomainV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id))
