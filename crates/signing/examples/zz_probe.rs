use apigw_signing::*;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method, Uri};
use std::hint::black_box;
use std::time::Instant;
const KEY: &str = "4f1d3c2b9a8e4f6a8b7c6d5e4f3a2b1c";
const SECRET: &str = "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c";
fn main() {
    let method = Method::POST;
    let uri: Uri = "/v1/orders/12345/items?limit=10&offset=20&sort=created_at".parse().unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in [("host", "30030113-3657-4fb6-a7ef-90764239b038.apigw.example.com"),("content-type", "application/json"),("accept", "application/json"),("user-agent", "apig-sdk-python/2.0"),("x-stage", "RELEASE")] { headers.insert(name, HeaderValue::from_static(value)); }
    let now = parse_date("20240416T095341Z").unwrap();
    let signed = sign_request(&method, &uri, &mut headers, b"", KEY, SECRET, now).unwrap();
    let v = Verifier::default();
    let what = std::env::args().nth(1).unwrap_or_default();
    let n: u32 = std::env::args().nth(2).map_or(300_000, |a| a.parse().unwrap());
    let mut best = f64::INFINITY;
    for _round in 0..9 {
    let t = Instant::now();
    for _ in 0..n {
        let headers = black_box(&headers);
        match what.as_str() {
            "parse" => { black_box(Authorization::parse(black_box(headers[AUTHORIZATION].to_str().unwrap())).unwrap()); }
            "canon" => { black_box(hash_canonical_request(&method, black_box(&uri), headers, black_box(&signed.signed_headers), black_box("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))); }
            "sha" => { use sha2::Digest; black_box(sha2::Sha256::digest(black_box(signed.canonical_request.as_bytes()))); }
            "text" => { black_box(canonical_request(&method, black_box(&uri), headers, black_box(&signed.signed_headers), black_box("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))); }
            "lookup" => { for n in ["accept","content-type","host","user-agent","x-sdk-date","x-stage"] { black_box(headers.get_all(black_box(n)).iter().next()); } }
            _ => {
                let auth = Authorization::parse(headers[AUTHORIZATION].to_str().unwrap()).unwrap();
                v.verify(&auth, &method, black_box(&uri), headers, PayloadHash::from_request(headers, b""), SECRET.as_bytes(), now).unwrap();
            }
        }
    }
    best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    println!("{what}: {:.0} ns", best);
    println!("{}", signed.canonical_request.len());
}
