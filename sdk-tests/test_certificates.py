"""SSL certificates of a project with the official SDK (CreateCertificateV2,
ListCertificatesV2, ShowDetailsOfCertificateV2, UpdateCertificateV2, DeleteCertificateV2),
attached to a bound name (BatchAssociateCertsV2, ListAttachedDomainsV2,
BatchDisassociateCertsV2, and from the certificate's side BatchAssociateDomainsV2,
BatchDisassociateDomainsV2): certificates made by the openssl command, the one presented for the
name read by a TLS client (OpenSSL through Python's ssl) asking for it."""
import ssl

import pytest
from huaweicloudsdkapig.v2 import (
    ApiGroupCreate,
    AssociateDomainV2Request,
    AttachOrDetachCertsReqBody,
    AttachOrDetachDomainInfo,
    AttachOrDetachDomainsReqBody,
    BatchAssociateDomainsV2Request,
    BatchDisassociateDomainsV2Request,
    BatchAssociateCertsV2Request,
    BatchDisassociateCertsV2Request,
    CertificateForm,
    CreateApiGroupV2Request,
    CreateCertificateV2Request,
    DeleteApiGroupV2Request,
    DeleteCertificateV2Request,
    ListAttachedDomainsV2Request,
    ListCertificatesV2Request,
    ShowDetailsOfApiGroupV2Request,
    ShowDetailsOfCertificateV2Request,
    UpdateCertificateV2Request,
    UrlDomainCreate,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from apigw_sdk_helpers import openssl_pair, presented_for_name

NAME = "certs.sdk-shop.example"


def _refused(call, status, code):
    with pytest.raises(ClientRequestException) as ei:
        call()
    assert (ei.value.status_code, ei.value.error_code) == (status, code), str(ei.value)


def test_a_certificate_of_the_project_is_attached_replaced_and_deleted(
        server, apig, project_id, instance_id, tmp_path):
    cert, key = openssl_pair(tmp_path, NAME)
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_certs_shop")))
    bound = apig.associate_domain_v2(AssociateDomainV2Request(
        instance_id=instance_id, group_id=group.id, body=UrlDomainCreate(url_domain=NAME)))
    default = presented_for_name(server, NAME)

    created = apig.create_certificate_v2(CreateCertificateV2Request(body=CertificateForm(
        name="sdk_global_cert", cert_content=cert, private_key=key, type="global",
        algorithm_type="ECC")))
    assert len(created.id) == 32
    assert (created.type, created.instance_id, created.project_id) == ("global", "common",
                                                                        project_id)
    assert (created.common_name, created.san) == (NAME, [NAME])
    assert created.organization == ["SDK Shop"] and created.country == ["DE"]
    assert created.algorithm_type == "ECC" and created.signature_algorithm == "ECDSA-SHA256"
    assert created.is_has_trusted_root_ca is False
    assert created.not_after > created.not_before  # the SDK reads both as datetimes
    _refused(lambda: apig.create_certificate_v2(CreateCertificateV2Request(body=CertificateForm(
        name="sdk_bad_cert", cert_content="garbage", private_key=key))), 400, "APIG.2106")
    _refused(lambda: apig.create_certificate_v2(CreateCertificateV2Request(body=CertificateForm(
        name="sdk_own_cert", cert_content=cert, private_key=key, type="instance"))),
        400, "APIG.2001")

    own = apig.create_certificate_v2(CreateCertificateV2Request(body=CertificateForm(
        name="sdk_own_cert", cert_content=cert, private_key=key, type="instance",
        instance_id=instance_id)))
    assert (own.type, own.instance_id) == ("instance", instance_id)
    try:
        listed = apig.list_certificates_v2(ListCertificatesV2Request(instance_id=instance_id))
        ours = [c for c in listed.certs if c.id in (created.id, own.id)]
        assert [c.name for c in ours] == ["sdk_global_cert", "sdk_own_cert"]
        assert listed.total == listed.size == len(listed.certs)
        only_own = apig.list_certificates_v2(ListCertificatesV2Request(
            instance_id=instance_id, type="instance", name="sdk_own"))
        assert [c.id for c in only_own.certs] == [own.id]
        # An RSA pair is told apart by its key; naming another family is refused.
        rsa_dir = tmp_path / "rsa"
        rsa_dir.mkdir()
        rsa_cert, rsa_key = openssl_pair(rsa_dir, NAME, rsa=True)
        _refused(lambda: apig.create_certificate_v2(CreateCertificateV2Request(
            body=CertificateForm(name="sdk_rsa_cert", cert_content=rsa_cert,
                                 private_key=rsa_key, algorithm_type="ECC"))), 400, "APIG.2011")
        rsa = apig.create_certificate_v2(CreateCertificateV2Request(body=CertificateForm(
            name="sdk_rsa_cert", cert_content=rsa_cert, private_key=rsa_key)))
        assert (rsa.algorithm_type, rsa.signature_algorithm) == ("RSA", "SHA256-RSA")
        rsa_only = apig.list_certificates_v2(ListCertificatesV2Request(
            instance_id=instance_id, algorithm_type="RSA"))
        assert [c.id for c in rsa_only.certs] == [rsa.id]
        apig.delete_certificate_v2(DeleteCertificateV2Request(certificate_id=rsa.id))

        shown = apig.show_details_of_certificate_v2(
            ShowDetailsOfCertificateV2Request(certificate_id=created.id))
        assert (shown.name, shown.serial_number) == ("sdk_global_cert", created.serial_number)
        _refused(lambda: apig.show_details_of_certificate_v2(
            ShowDetailsOfCertificateV2Request(certificate_id="0" * 32)), 404, "APIG.3021")

        # Attached to the name: presented for it from the next handshake, listed both ways.
        def attach(certificate_id, verify=None):
            return apig.batch_associate_certs_v2(BatchAssociateCertsV2Request(
                instance_id=instance_id, group_id=group.id, domain_id=bound.id,
                body=AttachOrDetachCertsReqBody(certificate_ids=[certificate_id],
                                                verified_client_certificate_enabled=verify)))
        attach(created.id)
        assert presented_for_name(server, NAME, ca=cert) == ssl.PEM_cert_to_DER_cert(cert)
        detail = apig.show_details_of_api_group_v2(ShowDetailsOfApiGroupV2Request(
            instance_id=instance_id, group_id=group.id))
        (domain,) = detail.url_domains
        assert (domain.ssl_id, domain.ssl_name) == (created.id, "sdk_global_cert")
        (info,) = domain.ssl_infos
        assert (info.ssl_id, info.type, info.algorithm_type) == (created.id, 2, "ECC")
        attached = apig.list_attached_domains_v2(ListAttachedDomainsV2Request(
            certificate_id=created.id))
        assert attached.total == 1
        (ref,) = attached.bound_domains
        assert (ref.id, ref.url_domain, ref.api_group_id, ref.api_group_name, ref.instance_id) \
            == (bound.id, NAME, group.id, "sdk_certs_shop", instance_id)
        _refused(lambda: attach(created.id, verify=True), 400, "APIG.2011")
        _refused(lambda: apig.delete_certificate_v2(DeleteCertificateV2Request(
            certificate_id=created.id)), 400, "APIG.3449")

        # Replaced in place: same id, the name presents the new chain.
        renewed_dir = tmp_path / "renewed"
        renewed_dir.mkdir()
        renewed_cert, renewed_key = openssl_pair(renewed_dir, NAME, days=60)
        updated = apig.update_certificate_v2(UpdateCertificateV2Request(
            certificate_id=created.id, body=CertificateForm(
                name="sdk_global_cert_2", cert_content=renewed_cert, private_key=renewed_key)))
        assert (updated.id, updated.name, updated.type) == (created.id, "sdk_global_cert_2",
                                                            "global")
        assert presented_for_name(server, NAME) == ssl.PEM_cert_to_DER_cert(renewed_cert)
        other_cert, other_key = openssl_pair(tmp_path, "other.sdk-shop.example")
        _refused(lambda: apig.update_certificate_v2(UpdateCertificateV2Request(
            certificate_id=created.id, body=CertificateForm(
                name="sdk_global_cert_3", cert_content=other_cert, private_key=other_key))),
            400, "APIG.2103")

        # Detached: the listener's own certificate again; then it can be deleted.
        def detach(certificate_id):
            return apig.batch_disassociate_certs_v2(BatchDisassociateCertsV2Request(
                instance_id=instance_id, group_id=group.id, domain_id=bound.id,
                body=AttachOrDetachCertsReqBody(certificate_ids=[certificate_id])))
        _refused(lambda: detach(own.id), 404, "APIG.3097")
        detach(created.id)
        assert presented_for_name(server, NAME) == default
        assert apig.list_attached_domains_v2(ListAttachedDomainsV2Request(
            certificate_id=created.id)).total == 0
    finally:
        # The group first: its names go with it, so no certificate is left attached.
        apig.delete_api_group_v2(DeleteApiGroupV2Request(instance_id=instance_id,
                                                         group_id=group.id))
        for certificate_id in (created.id, own.id):
            apig.delete_certificate_v2(DeleteCertificateV2Request(certificate_id=certificate_id))
    _refused(lambda: apig.show_details_of_certificate_v2(
        ShowDetailsOfCertificateV2Request(certificate_id=created.id)), 404, "APIG.3021")


def test_a_certificate_is_attached_to_names_from_its_side(server, apig, instance_id, tmp_path):
    name = "side.sdk-shop.example"
    cert, key = openssl_pair(tmp_path, name)
    group = apig.create_api_group_v2(CreateApiGroupV2Request(
        instance_id=instance_id, body=ApiGroupCreate(name="sdk_certs_side")))
    apig.associate_domain_v2(AssociateDomainV2Request(
        instance_id=instance_id, group_id=group.id, body=UrlDomainCreate(url_domain=name)))
    default = presented_for_name(server, name)
    created = apig.create_certificate_v2(CreateCertificateV2Request(body=CertificateForm(
        name="sdk_side_cert", cert_content=cert, private_key=key)))

    def side(call, request, **target):
        return call(request(certificate_id=created.id, body=AttachOrDetachDomainsReqBody(
            domains=[AttachOrDetachDomainInfo(**target)])))
    try:
        _refused(lambda: side(apig.batch_associate_domains_v2, BatchAssociateDomainsV2Request,
                              domain="none.sdk-shop.example"), 404, "APIG.3020")
        side(apig.batch_associate_domains_v2, BatchAssociateDomainsV2Request, domain=name,
             instance_ids=[instance_id])
        assert presented_for_name(server, name, ca=cert) == ssl.PEM_cert_to_DER_cert(cert)
        attached = apig.list_attached_domains_v2(ListAttachedDomainsV2Request(
            certificate_id=created.id, url_domain="side"))
        assert [d.url_domain for d in attached.bound_domains] == [name]
        side(apig.batch_disassociate_domains_v2, BatchDisassociateDomainsV2Request, domain=name)
        assert presented_for_name(server, name) == default
        _refused(lambda: side(apig.batch_disassociate_domains_v2,
                              BatchDisassociateDomainsV2Request, domain=name), 404, "APIG.3097")
    finally:
        apig.delete_api_group_v2(DeleteApiGroupV2Request(instance_id=instance_id,
                                                         group_id=group.id))
        apig.delete_certificate_v2(DeleteCertificateV2Request(certificate_id=created.id))
