//! `apigw call`: signs one request with SDK-HMAC-SHA256 (AK/SK or AppKey/AppSecret), sends it
//! and prints the response body like curl (`-i` adds status and headers); `--dry-run` prints
//! the canonical request and the signed headers instead, for debugging a refused signature.

use crate::cli::CallArgs;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use std::io::Write;
use std::process::ExitCode;

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("apigw call: {msg}");
    ExitCode::from(2)
}

fn body(data: &Option<String>) -> Result<Vec<u8>, String> {
    match data.as_deref() {
        None => Ok(Vec::new()),
        Some(d) => match d.strip_prefix('@') {
            Some(path) => std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}")),
            None => Ok(d.as_bytes().to_vec()),
        },
    }
}

fn headers(raw: &[String]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for h in raw {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} is not 'Name: value'"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("bad header name in {h:?}"))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("bad header value in {h:?}"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// Runs the subcommand; exit 0 on a 2xx/3xx answer, 1 on 4xx/5xx, 2 on a local error.
pub fn run(args: CallArgs) -> ExitCode {
    let method = match Method::from_bytes(args.method.to_ascii_uppercase().as_bytes()) {
        Ok(m) => m,
        Err(_) => return fail(format!("bad method {}", args.method)),
    };
    let uri: Uri = match args.url.parse() {
        Ok(u) => u,
        Err(e) => return fail(format!("bad URL {}: {e}", args.url)),
    };
    let body = match body(&args.data) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let mut headers = match headers(&args.headers) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    if !body.is_empty() && !headers.contains_key(http::header::CONTENT_TYPE) {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let signed = match apigw_signing::sign_request(
        &method,
        &uri,
        &mut headers,
        &body,
        &args.key,
        &args.secret,
        time::OffsetDateTime::now_utc(),
    ) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if args.dry_run {
        println!("{method} {uri}");
        for (name, value) in &headers {
            println!("{}: {}", name, value.to_str().unwrap_or("<binary>"));
        }
        println!("\n--- canonical request ---\n{}", signed.canonical_request);
        println!("--- string to sign ---\n{}", signed.string_to_sign);
        return ExitCode::SUCCESS;
    }
    let client = match reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(args.insecure)
        .build()
    {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let response = match client
        .request(method, args.url.as_str())
        .headers(headers)
        .body(body)
        .send()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("request failed: {e}")),
    };
    let status = response.status();
    let mut out = std::io::stdout().lock();
    if args.include {
        let _ = writeln!(out, "{:?} {}", response.version(), status);
        for (name, value) in response.headers() {
            let _ = writeln!(out, "{}: {}", name, value.to_str().unwrap_or("<binary>"));
        }
        let _ = writeln!(out);
    }
    match response.bytes() {
        Ok(b) => {
            let _ = out.write_all(&b);
            if !b.ends_with(b"\n") {
                let _ = writeln!(out);
            }
        }
        Err(e) => return fail(format!("reading the response failed: {e}")),
    }
    if status.is_client_error() || status.is_server_error() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
