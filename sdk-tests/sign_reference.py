#!/usr/bin/env python3
"""Reference signer for the differential test of the Rust SDK-HMAC-SHA256 signer.

Reads JSON lines on stdin, one request per line:

    {"method": "GET", "url": "https://host/path?query", "headers": {...},
     "body_b64": "...", "ak": "...", "sk": "...",
     "query": [["k", "v"], ...]}          # optional, see below

and writes one JSON line per input line on stdout (flushed per line), in order:

    {"authorization": "SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...",
     "canonical_request": "...", "string_to_sign": "...",
     "signed_headers": "a;b;c", "uri": "/path?canonical-query",
     "headers": {... headers after signing, as the SDK would send them ...}}

On a bad line it writes {"error": "..."} instead, and goes on; blank lines
are skipped (no output). `sign_reference.py --check` signs the published
example vector and exits non-zero if the signature differs.

Run it with sdk-tests/.venv/bin/python (it needs huaweicloudsdkcore).

The signing itself is done by the OFFICIAL class
huaweicloudsdkcore.signer.signer.Signer (huaweicloudsdkcore/signer/signer.py),
on a huaweicloudsdkcore.sdk_request.SdkRequest, exactly as
Credentials.sign_request -> Signer.sign does inside the SDK. This program only
builds the SdkRequest from the JSON line, and reads the intermediate strings
(canonical request, string to sign) back by wrapping two of the signer's own
methods; it never recomputes anything itself.

How the JSON line is mapped onto the SdkRequest (this is the part the Rust
side must mirror; the SDK itself never parses a URL, it is handed a decoded
resource path and a list of decoded (key, value) query tuples):

* method            -> SdkRequest.method (the signer upper-cases it).
* url               -> scheme, host (netloc, with port if any), resource_path
                       (the path exactly as written, still percent-encoded:
                       the signer itself unquotes it and re-quotes each
                       segment).
* query             -> if the line has "query": [[k, v], ...], those decoded
                       pairs are used as-is (this is what the SDK itself has).
                       Otherwise the raw query string of "url" is split on
                       '&' (empty pieces dropped), each piece on the first
                       '=' (a piece without '=' gets the value ""), and key
                       and value are percent-decoded with
                       urllib.parse.unquote (UTF-8, errors='replace'; '+' is
                       NOT turned into a space).
* headers           -> header_params, a dict in the given order; names are
                       kept as given (the signer lower-cases them itself).
* body_b64          -> body bytes (None when absent or empty).
* X-Sdk-Date        -> should be present in "headers" for determinism; when
                       absent the signer uses the current UTC time.
"""
import base64
import json
import sys
from urllib.parse import unquote, urlsplit

from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm
from huaweicloudsdkcore.signer.signer import Signer


class _Creds:
    """The Signer only reads .ak and .sk from its credentials object."""

    __slots__ = ("ak", "sk")

    def __init__(self, ak, sk):
        self.ak = ak
        self.sk = sk


class _TracingSigner(Signer):
    """The official Signer, with its intermediate strings recorded.

    Only wraps; the wrapped methods are called unchanged.
    """

    def _process_canonical_request(self, request, signed_headers):
        cr = super()._process_canonical_request(request, signed_headers)
        self.last_canonical_request = cr
        return cr

    def _process_string_to_sign(self, canonical_request, time):
        sts = super()._process_string_to_sign(canonical_request, time)
        self.last_string_to_sign = sts
        return sts


def parse_query(raw):
    params = []
    if not raw:
        return params
    for piece in raw.split("&"):
        if piece == "":
            continue
        if "=" in piece:
            k, v = piece.split("=", 1)
        else:
            k, v = piece, ""
        params.append((unquote(k), unquote(v)))
    return params


def build_request(obj):
    parts = urlsplit(obj["url"])
    if "query" in obj and obj["query"] is not None:
        query = [(str(k), str(v)) for k, v in obj["query"]]
    else:
        query = parse_query(parts.query)
    body_b64 = obj.get("body_b64")
    body = base64.b64decode(body_b64) if body_b64 else None
    headers = dict(obj.get("headers") or {})
    return SdkRequest(
        method=obj.get("method", "GET"),
        schema=parts.scheme,
        host=parts.netloc,
        resource_path=parts.path,
        query_params=query,
        header_params=headers,
        body=body,
        signing_algorithm=SigningAlgorithm.HMAC_SHA256,
    )


def sign_line(line):
    obj = json.loads(line)
    request = build_request(obj)
    signer = _TracingSigner(_Creds(obj["ak"], obj["sk"]))
    signer.last_canonical_request = None
    signer.last_string_to_sign = None
    signer.sign(request)
    auth = request.header_params["Authorization"]
    signed = auth.split("SignedHeaders=", 1)[1].split(",", 1)[0]
    return {
        "authorization": auth,
        "canonical_request": signer.last_canonical_request,
        "string_to_sign": signer.last_string_to_sign,
        "signed_headers": signed,
        "uri": request.uri,
        "headers": request.header_params,
    }


# Published example (Huawei Cloud API signing docs); `--check` verifies it.
KNOWN_VECTOR = {
    "method": "GET",
    "url": "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
           "?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
    "headers": {"Content-Type": "application/json", "Host": "service.region.example.com",
                "X-Sdk-Date": "20191115T033655Z"},
    "ak": "QTWAOYTTINDUT2QVKYUC",
    "sk": "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
}
KNOWN_SIGNATURE = "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"


def check():
    got = sign_line(json.dumps(KNOWN_VECTOR))["authorization"]
    want = ("SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
            "Signature=" + KNOWN_SIGNATURE)
    if got != want:
        sys.stderr.write("sign_reference.py: known vector FAILED\n got: %s\nwant: %s\n" % (got, want))
        return 1
    sys.stdout.write("sign_reference.py: known vector OK\n")
    return 0


def main():
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            result = sign_line(line)
        except Exception as e:  # report and go on: one bad line must not stop a 10,000-line run
            result = {"error": "%s: %s" % (type(e).__name__, e)}
        out.write(json.dumps(result, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        out.flush()


if __name__ == "__main__":
    main()
