//! The worked test vectors of spec §4.3 (a)–(d), reproduced exactly: canonical request,
//! string to sign, signature; the verifier accepts each at its date and refuses it 16 minutes
//! either side.

use apigw_signing::{
    canonical_request, parse_date, sign_request, sign_string, string_to_sign, Authorization,
    PayloadHash, Signed, Verifier, VerifyError,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use sha2::{Digest, Sha256};
use std::time::Duration;

struct Vector {
    method: Method,
    url: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
    key: &'static str,
    secret: &'static str,
    date: &'static str,
}

impl Vector {
    fn headers(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in self.headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn uri(&self) -> Uri {
        self.url.parse().unwrap()
    }

    /// Signs with the vector's date; returns the signing output and the signed headers.
    fn sign(&self) -> (Signed, HeaderMap) {
        let mut headers = self.headers();
        let now = parse_date(self.date).unwrap();
        let signed = sign_request(
            &self.method,
            &self.uri(),
            &mut headers,
            self.body,
            self.key,
            self.secret,
            now,
        )
        .unwrap();
        (signed, headers)
    }

    /// Checks the signature the way the server does, at the vector's date shifted by `shift`.
    fn verify_at(&self, headers: &HeaderMap, shift: time::Duration) -> Result<(), String> {
        let uri = self.uri();
        let value = headers[http::header::AUTHORIZATION].to_str().unwrap();
        let auth = Authorization::parse(value).unwrap();
        assert_eq!(auth.access, self.key);
        let now = parse_date(self.date).unwrap() + shift;
        Verifier::default()
            .verify(
                &auth,
                &self.method,
                &uri,
                headers,
                PayloadHash::for_verification(&auth, headers, self.body),
                &apigw_signing::SigningKey::new(self.secret.as_bytes()),
                now,
            )
            .map_err(|e| {
                assert!(matches!(e, VerifyError::Expired { .. }), "{e}");
                e.to_string()
            })
    }

    /// Everything the vectors promise besides their own numbers.
    fn check_round_trip(&self, signed: &Signed, headers: &HeaderMap) {
        // The public building blocks agree with the signer.
        let payload = PayloadHash::from_request(headers, self.body).to_hex();
        let text = canonical_request(
            &self.method,
            &self.uri(),
            headers,
            &signed.signed_headers,
            &payload,
        );
        assert_eq!(text, signed.canonical_request);
        let hash = hex::encode(Sha256::digest(text.as_bytes()));
        let sts = string_to_sign(self.date, &hash);
        assert_eq!(sts, signed.string_to_sign);
        assert_eq!(
            hex::encode(sign_string(self.secret.as_bytes(), &sts)),
            signed.signature
        );

        assert_eq!(self.verify_at(headers, time::Duration::ZERO), Ok(()));
        assert_eq!(self.verify_at(headers, time::Duration::minutes(15)), Ok(()));
        let later = self
            .verify_at(headers, time::Duration::minutes(16))
            .unwrap_err();
        let earlier = self
            .verify_at(headers, time::Duration::minutes(-16))
            .unwrap_err();
        assert!(later.starts_with(&format!(
            "signature expired, signature time:{},server time:",
            self.date
        )));
        assert!(earlier.starts_with("signature expired"));
    }
}

/// The last line of the string to sign.
fn hash_line(signed: &Signed) -> &str {
    signed.string_to_sign.rsplit('\n').next().unwrap()
}

#[test]
fn a_huawei_published_example() {
    let v = Vector {
        method: Method::GET,
        url: "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
        headers: &[
            ("Content-Type", "application/json"),
            ("Host", "service.region.example.com"),
            ("X-Sdk-Date", "20191115T033655Z"),
        ],
        body: b"",
        key: "QTWAOYTTINDUT2QVKYUC",
        secret: "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
        date: "20191115T033655Z",
    };
    let (signed, headers) = v.sign();
    assert_eq!(
        signed.canonical_request,
        "GET\n\
         /v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n\
         limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n\
         content-type:application/json\n\
         host:service.region.example.com\n\
         x-sdk-date:20191115T033655Z\n\
         \n\
         content-type;host;x-sdk-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        signed.string_to_sign,
        "SDK-HMAC-SHA256\n\
         20191115T033655Z\n\
         b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    );
    assert_eq!(
        signed.authorization,
        "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, \
         Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
    );
    assert_eq!(
        headers[http::header::AUTHORIZATION],
        signed.authorization.as_str()
    );
    v.check_round_trip(&signed, &headers);
}

#[test]
fn b_app_call_with_body_repeated_query_key_and_stage() {
    let v = Vector {
        method: Method::POST,
        url: "https://30030113-3657-4fb6-a7ef-90764239b038.apigw.example.com/app1?a=1&b=3&b=2",
        headers: &[
            ("Content-Type", "application/json"),
            ("X-Stage", "RELEASE"),
            ("X-Sdk-Date", "20240416T095341Z"),
        ],
        body: br#"{"name":"demo"}"#,
        key: "apigateway_sdk_demo_key",
        secret: "apigateway_sdk_demo_secret",
        date: "20240416T095341Z",
    };
    let (signed, headers) = v.sign();
    assert_eq!(
        signed.canonical_request,
        "POST\n\
         /app1/\n\
         a=1&b=2&b=3\n\
         content-type:application/json\n\
         host:30030113-3657-4fb6-a7ef-90764239b038.apigw.example.com\n\
         x-sdk-date:20240416T095341Z\n\
         x-stage:RELEASE\n\
         \n\
         content-type;host;x-sdk-date;x-stage\n\
         d7d234f759ec34fd6298b7e32318614760070aaef9f4e92ced928324b49a0602"
    );
    assert_eq!(
        hash_line(&signed),
        "ef11591f2e3a90593354e2fbcf6680a6364a4aef59e5a6fd72cef398eff4676a"
    );
    assert_eq!(
        signed.signature,
        "ae74faf473e7f6cb76c8c1299f32501ac4a896ddd35089ebf849bc1724b03380"
    );
    v.check_round_trip(&signed, &headers);
}

#[test]
fn c_encoding_edge_cases() {
    // `http::Uri` carries the path `/v1/hello world/ä` and the value `a b/c` percent-encoded;
    // the signer decodes before re-encoding, exactly as for the raw form.
    let v = Vector {
        method: Method::GET,
        url: "/v1/hello%20world/%C3%A4?q=a%20b/c&empty=",
        headers: &[
            ("Host", "api.example.com"),
            ("X-Sdk-Date", "20240416T095341Z"),
        ],
        body: b"",
        key: "apigateway_sdk_demo_key",
        secret: "apigateway_sdk_demo_secret",
        date: "20240416T095341Z",
    };
    let (signed, headers) = v.sign();
    assert_eq!(
        signed.canonical_request,
        "GET\n\
         /v1/hello%20world/%C3%A4/\n\
         empty=&q=a%20b%2Fc\n\
         host:api.example.com\n\
         x-sdk-date:20240416T095341Z\n\
         \n\
         host;x-sdk-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        signed.signature,
        "39aa1cfc507e04148c8dc8ff629c5ce07d3c5ff61bfb5e1b8cc0af8dccc75e6b"
    );
    v.check_round_trip(&signed, &headers);
}

#[test]
fn d_unsigned_payload() {
    let v = Vector {
        method: Method::PUT,
        url: "https://api.example.com/upload",
        headers: &[
            ("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD"),
            ("X-Sdk-Date", "20240416T095341Z"),
        ],
        body: b"whatever",
        key: "apigateway_sdk_demo_key",
        secret: "apigateway_sdk_demo_secret",
        date: "20240416T095341Z",
    };
    let (signed, headers) = v.sign();
    assert_eq!(
        signed.canonical_request,
        "PUT\n\
         /upload/\n\
         \n\
         host:api.example.com\n\
         x-sdk-content-sha256:UNSIGNED-PAYLOAD\n\
         x-sdk-date:20240416T095341Z\n\
         \n\
         host;x-sdk-content-sha256;x-sdk-date\n\
         UNSIGNED-PAYLOAD"
    );
    assert_eq!(
        signed.signature,
        "ed55f537941be68859f7c2437a3fd7418f76d7b0bc9ce216fec704ae89a540d1"
    );
    v.check_round_trip(&signed, &headers);
}

#[test]
fn default_skew_is_fifteen_minutes() {
    assert_eq!(Verifier::default().max_skew, Duration::from_secs(900));
}
