//! Debugging an API (`POST /apis/debug/{api_id}`) runs one call through a gateway; the
//! management API only describes the call and shows its outcome. The binary lends its data
//! plane through [`ApiDebugger`]; a server whose gateway does not serve the instance says so.

use apigw_store::apis::Api;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

/// What a debugging call runs against.
#[derive(Debug)]
pub enum DebugTarget {
    /// The APIs published in the environment the request's `X-Stage` names (`CONSUMER`).
    Published,
    /// This API's current definition alone, published or not (`DEVELOPER`).
    Definition(Box<Api>),
}

/// One debugging call, described.
#[derive(Debug)]
pub struct DebugOrder {
    /// The gateway instance of the API.
    pub instance_id: String,
    /// Against what the call runs.
    pub target: DebugTarget,
    /// The request, its body whole.
    pub request: Request<Bytes>,
    /// The management caller's address, which the call comes from.
    pub peer: SocketAddr,
    /// Whether the call arrives as over HTTPS.
    pub tls: bool,
    /// How much of the answer's body to keep.
    pub max_body: usize,
}

/// What came back.
#[derive(Debug)]
pub struct DebugOutcome {
    /// Status code.
    pub status: StatusCode,
    /// Every header of the answer.
    pub headers: HeaderMap,
    /// The body kept.
    pub body: Bytes,
    /// Whether the body went on past the part kept.
    pub truncated: bool,
    /// From the start of the call to the end of the body kept.
    pub latency: Duration,
    /// Why the body ended early, if its stream failed.
    pub body_error: Option<String>,
}

/// Why no call was made.
#[derive(Debug)]
pub enum DebugUnavailable {
    /// This server runs no gateway for the instance (no listener, or another instance).
    NotServed,
    /// The call could not be prepared or run (details for the log).
    Failed(String),
}

/// Something that runs debugging calls (the node's data plane).
pub trait ApiDebugger: Send + Sync + 'static {
    /// Runs `order` and reads its answer.
    fn debug(
        &self,
        order: DebugOrder,
    ) -> Pin<Box<dyn Future<Output = Result<DebugOutcome, DebugUnavailable>> + Send + '_>>;
}

/// The debugger of a server without a data plane.
pub struct NoGateway;

impl ApiDebugger for NoGateway {
    fn debug(
        &self,
        _: DebugOrder,
    ) -> Pin<Box<dyn Future<Output = Result<DebugOutcome, DebugUnavailable>> + Send + '_>> {
        Box::pin(std::future::ready(Err(DebugUnavailable::NotServed)))
    }
}
