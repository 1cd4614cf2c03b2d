//! Debugging calls (APIG `DebugApiV2`): one request that the management API describes, run
//! through the same phases as a request from a listener, either against the APIs in service
//! or against one API's definition alone, and its answer read back whole up to a limit.
//!
//! Exists so that an API can be tried before it is published, and a published one as a
//! consumer calls it, without a client of one's own; nothing here is on the path of the
//! listeners' requests.

use crate::body::{self, CallerBody};
use crate::config::{GroupConfig, PublishedApi};
use crate::pipeline::{Conn, ConnState};
use crate::Gateway;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// What a debugging call is routed among.
#[derive(Debug)]
pub enum DebugRoutes {
    /// The APIs this gateway serves, as published (APIG's `CONSUMER` mode).
    InService,
    /// One API's definition alone, in `group` (reached by any host), published nowhere else
    /// (APIG's `DEVELOPER` mode); the apps and features in service stay as they are.
    Definition {
        /// The API's group.
        group: GroupConfig,
        /// The definition, as a route entry of an environment of its own.
        api: Box<PublishedApi>,
    },
}

/// One debugging call.
#[derive(Debug)]
pub struct DebugCall {
    /// Among what the request is routed.
    pub routes: DebugRoutes,
    /// The request, its body whole.
    pub request: Request<Bytes>,
    /// The address the call comes from (what access control and `$context.sourceIp` see).
    pub peer: SocketAddr,
    /// Whether the call counts as arriving over HTTPS (which APIs and credentials it may use).
    pub tls: bool,
    /// How much of the answer's body to keep; the rest is read no further.
    pub max_body: usize,
}

/// The answer to a debugging call.
#[derive(Debug)]
pub struct DebugAnswer {
    /// Status code.
    pub status: StatusCode,
    /// Every header of the answer (the backend's and the gateway's).
    pub headers: HeaderMap,
    /// The body, at most `max_body` bytes of it.
    pub body: Bytes,
    /// Whether the body went on past `max_body`.
    pub truncated: bool,
    /// From the request's start to the end of the body kept.
    pub latency: Duration,
    /// Why the body ended early, if its stream failed.
    pub body_error: Option<String>,
}

impl Gateway {
    /// Runs a debugging call through the pipeline on `runtime` (the listeners' runtime, whose
    /// backend connections and timers it shares) and reads its answer.
    ///
    /// Spawned here rather than by the caller: the task's future, which holds the pipeline's,
    /// is then compiled in this crate only, with the listeners' (a second copy of the request
    /// path, compiled for another crate, would be inlined less well than one).
    pub fn debug(&self, runtime: &Handle, call: DebugCall) -> JoinHandle<DebugAnswer> {
        runtime.spawn(self.clone().run_debug(call))
    }

    async fn run_debug(self, call: DebugCall) -> DebugAnswer {
        let mut conn = Conn::new(call.peer, call.tls);
        if let DebugRoutes::Definition { group, api } = call.routes {
            let base = &self.inner.settings.base_domain;
            let in_service = self.inner.snapshot.load();
            conn.routes = Some(Arc::new(in_service.rerouted(vec![group], vec![*api], base)));
        }
        let mut state = ConnState::default();
        let request = call.request.map(|b| CallerBody::Whole(Some(b)));
        let started = Instant::now();
        let response = self.serve(request, &conn, &mut state).await;
        let (parts, mut answer) = body::with_backend_fields(response).into_parts();
        let mut kept = BytesMut::new();
        let mut truncated = false;
        let mut body_error = None;
        while let Some(frame) = answer.frame().await {
            match frame {
                Ok(frame) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers
                    };
                    let room = call.max_body - kept.len();
                    if data.len() > room {
                        kept.extend_from_slice(&data[..room]);
                        truncated = true;
                        break;
                    }
                    kept.extend_from_slice(&data);
                }
                Err(e) => {
                    body_error = Some(e.to_string());
                    break;
                }
            }
        }
        DebugAnswer {
            status: parts.status,
            headers: parts.headers,
            body: kept.freeze(),
            truncated,
            latency: started.elapsed(),
            body_error,
        }
    }
}
