"""Independent domain names bound to an API group with the official SDK
(AssociateDomainV2, UpdateDomainV2, DisassociateDomainV2, ShowDetailsOfApiGroupV2), then
called through apigw's gateway listeners with that name as Host; and a certificate added to a
name (AssociateCertificateV2, ShowDetailsOfDomainNameCertificateV2, DisassociateCertificateV2),
made by the openssl command and verified by a TLS client asking for that name; a name whose
certificate came with a trusted root CA verifies its callers' client certificates
(UpdateDomainV2's verified_client_certificate_enabled, the group's is_has_trusted_root_ca),
checked with OpenSSL (Python's ssl) as the client. And the group's debugging subdomain closed
and opened again (UpdateSlDomainSettingV2)."""
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
    SlDomainAccessSetting,
    UpdateDomainV2Request,
    UpdateSlDomainSettingV2Request,
    UrlDomainCreate,
    UrlDomainModify,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from apigw_sdk_helpers import openssl_pair, presented_for_name, start_path_echo

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


def test_a_certificate_added_to_a_name_is_presented_for_it(server, apig, instance_id, shop,
                                                          tmp_path):
    name = "tls.sdk-shop.example"
    bound = apig.associate_domain_v2(AssociateDomainV2Request(
        instance_id=instance_id, group_id=shop.id, body=UrlDomainCreate(url_domain=name)))
    try:
        default = presented_for_name(server, name)
        cert, key = openssl_pair(tmp_path, name)
        added = apig.associate_certificate_v2(AssociateCertificateV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
            body=CertForm(name="sdk_cert", cert_content=cert, private_key=key)))
        assert (added.id, added.url_domain, added.ssl_name) == (bound.id, name, "sdk_cert")
        assert len(added.ssl_id) == 32 and added.api_group_id == shop.id
        ours = ssl.PEM_cert_to_DER_cert(cert)
        assert presented_for_name(server, name) == ours != default
        # A client trusting only that certificate verifies it for the name.
        assert presented_for_name(server, name, ca=cert) == ours

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

        other_cert, other_key = openssl_pair(tmp_path, "other.sdk-shop.example")
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
        assert presented_for_name(server, name) == ours

        apig.disassociate_certificate_v2(DisassociateCertificateV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
            certificate_id=added.ssl_id))
        assert presented_for_name(server, name) == default
        with pytest.raises(ClientRequestException) as ei:
            apig.show_details_of_domain_name_certificate_v2(
                ShowDetailsOfDomainNameCertificateV2Request(
                    instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
                    certificate_id=added.ssl_id))
        assert (ei.value.status_code, ei.value.error_code) == (404, "APIG.3021")
    finally:
        apig.disassociate_domain_v2(DisassociateDomainV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id))


def _openssl_ca(tmp_path, name):
    """A CA certificate (PEM text) and the paths of it and its key, made by openssl."""
    cert, key = tmp_path / "ca.crt", tmp_path / "ca.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=" + name,
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        check=True, capture_output=True)
    return cert.read_text(), cert, key


def _openssl_client(tmp_path, ca_cert, ca_key, who):
    """The paths of a client certificate for `who` issued by the CA, and of its key."""
    key, csr, cert = (tmp_path / (who + ext) for ext in (".key", ".csr", ".crt"))
    ext = tmp_path / (who + ".ext")
    ext.write_text("extendedKeyUsage=clientAuth\n")
    subprocess.run(
        ["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(csr), "-subj", "/CN=" + who],
        check=True, capture_output=True)
    subprocess.run(
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(cert), "-days", "30", "-extfile", str(ext)],
        check=True, capture_output=True)
    return cert, key


def _tls_get(server, name, server_pem, client=None):
    """`GET /shop` for `name` over a TLS connection asking (SNI) for it, verifying the
    listener's certificate against `server_pem`, presenting `client` (cert, key) if given:
    the status, or the error that ended the exchange."""
    host, port = server.gateway_tls_address.split(":")
    ctx = ssl.create_default_context(cadata=server_pem)
    if client:
        ctx.load_cert_chain(str(client[0]), str(client[1]))
    try:
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as tls:
                tls.sendall(("GET /shop HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                             % name).encode())
                head = tls.recv(1024)
                if not head:
                    return ConnectionError("closed without an answer")
                return int(head.split(b" ", 2)[1])
    except (ssl.SSLError, OSError) as e:
        return e


def test_a_trusted_root_ca_makes_the_name_verify_client_certificates(
        server, apig, instance_id, project_id, admin_token, shop, tmp_path):
    name = "mtls.sdk-shop.example"
    bound = apig.associate_domain_v2(AssociateDomainV2Request(
        instance_id=instance_id, group_id=shop.id, body=UrlDomainCreate(url_domain=name)))
    try:
        cert, key = openssl_pair(tmp_path, name)
        ca_pem, ca_cert, ca_key = _openssl_ca(tmp_path, "SDK clients CA")
        alice = _openssl_client(tmp_path, ca_cert, ca_key, "alice")
        # Verification needs a certificate with a CA first.
        with pytest.raises(ClientRequestException) as ei:
            apig.update_domain_v2(UpdateDomainV2Request(
                instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
                body=UrlDomainModify(verified_client_certificate_enabled=True)))
        assert (ei.value.status_code, ei.value.error_code) == (400, "APIG.2011"), str(ei.value)

        # This SDK version's CertForm has no `trusted_root_ca`: the same call, by hand.
        r = requests.post(
            "%s/v2/%s/apigw/instances/%s/api-groups/%s/domains/%s/certificate"
            % (server.base_url, project_id, instance_id, shop.id, bound.id),
            json={"name": "sdk_mtls", "cert_content": cert, "private_key": key,
                  "trusted_root_ca": ca_pem},
            headers={"X-Auth-Token": admin_token}, timeout=10)
        assert r.status_code == 201, r.text
        assert r.json()["verified_client_certificate_enabled"] is True
        shown = apig.show_details_of_api_group_v2(ShowDetailsOfApiGroupV2Request(
            instance_id=instance_id, group_id=shop.id))
        listed = [d for d in shown.url_domains if d.id == bound.id][0]
        assert listed.verified_client_certificate_enabled is True
        assert listed.is_has_trusted_root_ca is True
        assert listed.ssl_infos[0].is_has_trusted_root_ca is True

        # OpenSSL as the client: with alice's certificate through, without one refused.
        assert _tls_get(server, name, cert, alice) == 200
        assert isinstance(_tls_get(server, name, cert), Exception)
        # The name as Host on a connection opened for another name: 403 APIG.0306.
        r = _get(server, name, https=True)
        assert r.status_code == 403 and r.json()["error_code"] == "APIG.0306", r.text

        changed = apig.update_domain_v2(UpdateDomainV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
            body=UrlDomainModify(verified_client_certificate_enabled=False)))
        assert changed.verified_client_certificate_enabled is False
        assert _tls_get(server, name, cert) == 200
        changed = apig.update_domain_v2(UpdateDomainV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
            body=UrlDomainModify(verified_client_certificate_enabled=True)))
        assert changed.verified_client_certificate_enabled is True
        assert isinstance(_tls_get(server, name, cert), Exception)
        assert _tls_get(server, name, cert, alice) == 200

        apig.disassociate_certificate_v2(DisassociateCertificateV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id,
            certificate_id=listed.ssl_id))
        shown = apig.show_details_of_api_group_v2(ShowDetailsOfApiGroupV2Request(
            instance_id=instance_id, group_id=shop.id))
        listed = [d for d in shown.url_domains if d.id == bound.id][0]
        assert listed.verified_client_certificate_enabled is False
        assert _get(server, name, https=True).status_code == 200
    finally:
        apig.disassociate_domain_v2(DisassociateDomainV2Request(
            instance_id=instance_id, group_id=shop.id, domain_id=bound.id))


def test_the_debugging_subdomain_is_closed_and_opened_again(server, apig, instance_id, shop):
    """UpdateSlDomainSettingV2: a closed subdomain routes nowhere; ShowDetailsOfApiGroupV2
    shows the setting."""
    subdomain = shop.sl_domain
    assert _get(server, subdomain).status_code == 200

    def set_access(open_):
        apig.update_sl_domain_setting_v2(UpdateSlDomainSettingV2Request(
            instance_id=instance_id, group_id=shop.id,
            body=SlDomainAccessSetting(sl_domain_access_enabled=open_)))

    def shown():
        return apig.show_details_of_api_group_v2(ShowDetailsOfApiGroupV2Request(
            instance_id=instance_id, group_id=shop.id)).sl_domain_access_enabled

    set_access(False)
    assert shown() is False
    r = _get(server, subdomain)
    assert (r.status_code, r.json()["error_code"]) == (404, "APIG.0101"), r.text
    set_access(True)
    assert shown() is True
    assert _get(server, subdomain).status_code == 200

    with pytest.raises(ClientRequestException) as refused:
        apig.update_sl_domain_setting_v2(UpdateSlDomainSettingV2Request(
            instance_id=instance_id, group_id="0" * 32,
            body=SlDomainAccessSetting(sl_domain_access_enabled=False)))
    assert (refused.value.status_code, refused.value.error_code) == (404, "APIG.3001")
