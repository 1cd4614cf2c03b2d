"""Signature keys with the official SDK (CreateSignatureKeyV2, ListSignatureKeysV2,
UpdateSignatureKeyV2, DeleteSignatureKeyV2, AssociateSignatureKeyV2,
DisassociateSignatureKeyV2, ListApisBindedToSignatureKeyV2,
ListApisNotBoundWithSignatureKeyV2, ListSignatureKeysBindedToApiV2): a key bound to a
published API makes apigw's gateway sign the API's backend requests, and a backend verifies
them the way Huawei's backend-signature samples do, by signing the request it received again
with the OFFICIAL signer (huaweicloudsdkcore.signer.Signer) and comparing."""
import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import pytest
import requests
from huaweicloudsdkapig.v2 import (
    ApiActionInfo,
    ApiCreate,
    AssociateSignatureKeyV2Request,
    BackendApiCreate,
    BaseSignature,
    CreateApiV2Request,
    CreateOrDeletePublishRecordForApiV2Request,
    CreateSignatureKeyV2Request,
    DeleteSignatureKeyV2Request,
    DisassociateSignatureKeyV2Request,
    ListApiGroupsV2Request,
    ListApisBindedToSignatureKeyV2Request,
    ListApisNotBoundWithSignatureKeyV2Request,
    ListSignatureKeysBindedToApiV2Request,
    ListSignatureKeysV2Request,
    SignApiBinding,
    UpdateSignatureKeyV2Request,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm
from huaweicloudsdkcore.signer.signer import Signer

RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"
AUTH = re.compile(r"^SDK-HMAC-SHA256\s+Access=([^,]+),\s?SignedHeaders=([^,]+),\s?Signature=(\w+)$")


class _Creds:
    __slots__ = ("ak", "sk")

    def __init__(self, ak, sk):
        self.ak, self.sk = ak, sk


def verify_backend_request(method, target, headers, body, secrets):
    """What a backend protected by a signature key does: the key named in Authorization,
    the signed headers as received, the request signed again by the official signer with that
    key's secret; the verdict and why."""
    auth = headers.get("Authorization", "")
    m = AUTH.match(auth)
    if not m:
        return False, "no SDK-HMAC-SHA256 Authorization: %r" % auth
    access, signed_headers = m.group(1), m.group(2).split(";")
    if access not in secrets:
        return False, "unknown key %s" % access
    signed = {}
    for name in signed_headers:
        value = headers.get(name)
        if value is None:
            return False, "signed header %s missing" % name
        signed[name] = value
    parts = urlsplit(target)
    query = [tuple(unquote(x) for x in (p.split("=", 1) if "=" in p else (p, "")))
             for p in parts.query.split("&") if p]
    req = SdkRequest(method=method, schema="http", host=headers.get("Host"),
                     resource_path=parts.path, query_params=query, header_params=signed,
                     body=body or None, signing_algorithm=SigningAlgorithm.HMAC_SHA256)
    Signer(_Creds(access, secrets[access])).sign(req)
    if req.header_params["Authorization"] != auth:
        return False, "signature differs"
    return True, access


def start_verifying_backend(secrets):
    """A loopback backend that answers every request with its verdict on the gateway's
    signature (`secrets`: key → secret, read at each request)."""

    class Backend(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            ok, why = verify_backend_request(self.command, self.path, self.headers, body, secrets)
            out = json.dumps({"verified": ok, "why": why, "path": self.path,
                              "authorization": self.headers.get("Authorization"),
                              "body": body.decode()}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture(scope="module")
def signed_api(apig, instance_id):
    """`POST /signed/{item}` (no authentication) → the verifying backend, published in
    RELEASE: (api, publish id, the backend's secrets)."""
    secrets = {}
    httpd = start_verifying_backend(secrets)
    groups = apig.list_api_groups_v2(ListApiGroupsV2Request(instance_id=instance_id))
    group = [g for g in groups.groups if g.is_default == 1][0]
    api = apig.create_api_v2(CreateApiV2Request(instance_id=instance_id, body=ApiCreate(
        group_id=group.id, name="sdk_signed_api", type=1, req_protocol="BOTH",
        req_method="POST", req_uri="/signed", auth_type="NONE", backend_type="HTTP",
        backend_api=BackendApiCreate(url_domain="127.0.0.1:%d" % httpd.server_address[1],
                                     req_protocol="HTTP", req_method="POST",
                                     req_uri="/backend/signed", timeout=5000))))
    published = apig.create_or_delete_publish_record_for_api_v2(
        CreateOrDeletePublishRecordForApiV2Request(
            instance_id=instance_id,
            body=ApiActionInfo(action="online", env_id=RELEASE, api_id=api.id)))
    yield api, published.publish_id, secrets
    httpd.shutdown()


def _call(server, body=b'{"order": 7}'):
    r = requests.post(server.gateway_url + "/signed?z=1&a=b%20c", data=body,
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_bound_hmac_key_signs_backend_requests_the_official_signer_verifies(
        server, apig, instance_id, signed_api):
    api, publish_id, secrets = signed_api
    assert _call(server)["authorization"] is None

    key = apig.create_signature_key_v2(CreateSignatureKeyV2Request(
        instance_id=instance_id, body=BaseSignature(name="sdk_backend_key")))
    assert key.sign_type == "hmac" and len(key.sign_key) == 32 and len(key.sign_secret) == 32
    assert key.create_time is not None and key.update_time is not None
    secrets[key.sign_key] = key.sign_secret

    listed = apig.list_signature_keys_v2(ListSignatureKeysV2Request(
        instance_id=instance_id, name="sdk_backend_key", precise_search="name"))
    assert listed.total == 1 and listed.signs[0].id == key.id
    assert listed.signs[0].bind_num == 0
    shown = listed.signs[0].sign_secret
    assert shown == key.sign_secret[:3] + "************" + key.sign_secret[-3:]

    bound = apig.associate_signature_key_v2(AssociateSignatureKeyV2Request(
        instance_id=instance_id, body=SignApiBinding(sign_id=key.id, publish_ids=[publish_id])))
    binding = bound.bindings[0]
    assert binding.sign_id == key.id and binding.api_id == api.id
    assert binding.publish_id == publish_id and binding.env_name == "RELEASE"
    assert binding.sign_type == "hmac" and binding.sign_key == key.sign_key

    # In force for the next call; the official signer agrees with the gateway's signature,
    # over the query and the body.
    seen = _call(server)
    assert seen["verified"], seen
    assert seen["authorization"].startswith("SDK-HMAC-SHA256 Access=%s," % key.sign_key)
    assert seen["body"] == '{"order": 7}' and seen["path"] == "/backend/signed?z=1&a=b%20c"
    # A backend holding another secret refuses it.
    secrets[key.sign_key] = "not-the-secret-123"
    assert not _call(server)["verified"]

    # The three lists.
    bound_apis = apig.list_apis_binded_to_signature_key_v2(ListApisBindedToSignatureKeyV2Request(
        instance_id=instance_id, sign_id=key.id))
    assert bound_apis.total == 1 and bound_apis.bindings[0].api_name == "sdk_signed_api"
    assert bound_apis.bindings[0].id == binding.id
    unbound = apig.list_apis_not_bound_with_signature_key_v2(
        ListApisNotBoundWithSignatureKeyV2Request(instance_id=instance_id, sign_id=key.id))
    assert all(a.id != api.id for a in unbound.apis)
    of_api = apig.list_signature_keys_binded_to_api_v2(ListSignatureKeysBindedToApiV2Request(
        instance_id=instance_id, api_id=api.id))
    assert of_api.total == 1 and of_api.bindings[0].sign_name == "sdk_backend_key"

    # A new secret: the next call is signed with it.
    updated = apig.update_signature_key_v2(UpdateSignatureKeyV2Request(
        instance_id=instance_id, sign_id=key.id,
        body=BaseSignature(name="sdk_backend_key", sign_type="hmac",
                           sign_secret="rotated_secret_0123")))
    assert updated.sign_key == key.sign_key
    secrets[key.sign_key] = "rotated_secret_0123"
    assert _call(server)["verified"]

    # Bound, it cannot be deleted; unbound, the next call goes unsigned and it can.
    with pytest.raises(ClientRequestException) as refused:
        apig.delete_signature_key_v2(DeleteSignatureKeyV2Request(
            instance_id=instance_id, sign_id=key.id))
    assert refused.value.status_code == 400 and refused.value.error_code == "APIG.3448"
    apig.disassociate_signature_key_v2(DisassociateSignatureKeyV2Request(
        instance_id=instance_id, sign_bindings_id=binding.id))
    assert _call(server)["authorization"] is None
    apig.delete_signature_key_v2(DeleteSignatureKeyV2Request(
        instance_id=instance_id, sign_id=key.id))
    with pytest.raises(ClientRequestException) as missing:
        apig.update_signature_key_v2(UpdateSignatureKeyV2Request(
            instance_id=instance_id, sign_id=key.id, body=BaseSignature(name="gone_key")))
    assert missing.value.status_code == 404 and missing.value.error_code == "APIG.3017"
    assert missing.value.error_msg == "Signature key %s does not exist" % key.id


def test_a_bound_basic_key_sends_its_credentials_and_bad_keys_are_refused(
        server, apig, instance_id, signed_api):
    _, publish_id, _ = signed_api
    key = apig.create_signature_key_v2(CreateSignatureKeyV2Request(
        instance_id=instance_id, body=BaseSignature(
            name="sdk_basic_key", sign_type="basic", sign_key="gateway", sign_secret="pa55word")))
    assert (key.sign_key, key.sign_secret) == ("gateway", "pa55word")
    bound = apig.associate_signature_key_v2(AssociateSignatureKeyV2Request(
        instance_id=instance_id, body=SignApiBinding(sign_id=key.id, publish_ids=[publish_id])))
    seen = _call(server)
    assert seen["authorization"] == "Basic " + base64.b64encode(b"gateway:pa55word").decode()
    apig.disassociate_signature_key_v2(DisassociateSignatureKeyV2Request(
        instance_id=instance_id, sign_bindings_id=bound.bindings[0].id))
    apig.delete_signature_key_v2(DeleteSignatureKeyV2Request(
        instance_id=instance_id, sign_id=key.id))

    for body, code in [
        (BaseSignature(name="ab"), "APIG.2011"),
        (BaseSignature(name="sdk_aes_key", sign_type="aes", sign_algorithm="aes-128-cfb"),
         "APIG.2011"),
        (BaseSignature(name="sdk_short_key", sign_key="short"), "APIG.2011"),
    ]:
        with pytest.raises(ClientRequestException) as refused:
            apig.create_signature_key_v2(CreateSignatureKeyV2Request(
                instance_id=instance_id, body=body))
        assert refused.value.status_code == 400 and refused.value.error_code == code
