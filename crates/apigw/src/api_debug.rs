//! The node's data plane as the management API's debugger (`POST /apis/debug/{api_id}`):
//! a call for the instance this node's gateway serves runs through that gateway, on its
//! runtime (so it shares the listeners' backend connections), against the APIs in service or
//! against one definition alone.

use crate::data_plane;
use apigw_admin::debugger::{ApiDebugger, DebugOrder, DebugOutcome, DebugTarget, DebugUnavailable};
use apigw_gateway::{DebugCall, DebugRoutes, Gateway};
use apigw_store::Store;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::runtime::Handle;

/// Runs debugging calls through this node's gateway.
pub struct GatewayDebugger {
    /// The configuration store (a definition's VPC channel is read from it).
    pub store: Arc<dyn Store>,
    /// The gateway.
    pub gateway: Gateway,
    /// The instance it serves; calls for any other are refused.
    pub instance_id: String,
    /// The region (the group subdomains' suffix).
    pub region: String,
    /// The gateway runtime.
    pub runtime: Handle,
}

impl GatewayDebugger {
    async fn run(&self, order: DebugOrder) -> Result<DebugOutcome, DebugUnavailable> {
        if order.instance_id != self.instance_id {
            return Err(DebugUnavailable::NotServed);
        }
        let routes = match order.target {
            DebugTarget::Published => DebugRoutes::InService,
            DebugTarget::Definition(api) => {
                let (group, api) =
                    data_plane::definition_route(self.store.as_ref(), &api, &self.region)
                        .await
                        .map_err(|e| DebugUnavailable::Failed(format!("{e:#}")))?;
                DebugRoutes::Definition {
                    group,
                    api: Box::new(api),
                }
            }
        };
        let call = DebugCall {
            routes,
            request: order.request,
            peer: order.peer,
            tls: order.tls,
            max_body: order.max_body,
        };
        let answer = self
            .gateway
            .debug(&self.runtime, call)
            .await
            .map_err(|e| DebugUnavailable::Failed(format!("the gateway runtime: {e}")))?;
        Ok(DebugOutcome {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
            truncated: answer.truncated,
            latency: answer.latency,
            body_error: answer.body_error,
        })
    }
}

impl ApiDebugger for GatewayDebugger {
    fn debug(
        &self,
        order: DebugOrder,
    ) -> Pin<Box<dyn Future<Output = Result<DebugOutcome, DebugUnavailable>> + Send + '_>> {
        Box::pin(self.run(order))
    }
}
