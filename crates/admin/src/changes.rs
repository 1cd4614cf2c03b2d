//! Change notification: after every successful management write the data plane must see the new
//! state before the caller gets its answer, so a revocation (deleted AppCode, reset secret,
//! cancelled authorization) is in force for the very next API call.
//!
//! Handlers whose write concerns only some apps say so by returning [`ChangedApps`] as a
//! response part (or [`ChangedQuota`] for the terms of one quota); the data plane then patches
//! just that instead of reloading everything. A `POST` that only reads returns
//! [`NothingChanged`].
//!
//! Every request runs inside [`apigw_store::revision::track`], so the event also names the
//! configuration revisions the request committed; other nodes use them to tell whether they
//! have missed a change (see `apigw_store::revision`).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponseParts, Response, ResponseParts};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use crate::AppState;

/// What a committed write changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only the data-plane state of these apps (created, changed or deleted).
    Apps(Vec<String>),
    /// Only what is routed: API groups, environments, APIs and their publication.
    Routes,
    /// Only the terms of this app quota (changed, or deleted with its bindings), for every app
    /// bound to it at once.
    Quota(String),
    /// Only the features of this gateway instance (its app authentication modes).
    Features(String),
    /// Anything else within one gateway instance (its settings, its deletion): a data plane
    /// serving another instance has nothing to do.
    Instance(String),
    /// Anything else (projects, restores, new instances...).
    Everything,
}

/// Something that must learn about configuration changes (the gateway's in-memory index).
pub trait ChangeListener: Send + Sync + 'static {
    /// Called after a write committed `revisions` (possibly none); the management answer waits
    /// until it returns.
    fn changed(
        &self,
        change: Change,
        revisions: Vec<i64>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The listener of a server without a data plane: nothing to refresh.
pub struct NoDataPlane;

impl ChangeListener for NoDataPlane {
    fn changed(&self, _: Change, _: Vec<i64>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

/// A response part naming the apps a write changed (and nothing else).
#[derive(Debug, Clone)]
pub struct ChangedApps(pub Vec<String>);

impl ChangedApps {
    /// One app changed.
    pub fn one(app_id: impl Into<String>) -> Self {
        Self(vec![app_id.into()])
    }
}

/// Both change parts travel to the middleware as response extensions.
macro_rules! response_part {
    ($part:ty) => {
        impl IntoResponseParts for $part {
            type Error = Infallible;

            fn into_response_parts(
                self,
                mut res: ResponseParts,
            ) -> Result<ResponseParts, Self::Error> {
                res.extensions_mut().insert(self);
                Ok(res)
            }
        }
    };
}

response_part!(ChangedApps);
response_part!(ChangedQuota);
response_part!(NothingChanged);

/// A response part saying a `POST` only read (a check, an export): unless it committed a
/// configuration revision after all, the data plane is not asked to refresh.
#[derive(Debug, Clone, Copy)]
pub struct NothingChanged;

/// A response part naming the app quota a write changed (its terms, or its deletion).
#[derive(Debug, Clone)]
pub struct ChangedQuota(pub String);

/// Whether `path` is a write target that changes only routing: `.../instances/{id}/api-groups`,
/// `/envs`, `/env-variables` or `/apis` (publication included), and the request throttling
/// policies the routes carry (`/throttles`, their exceptions, `/throttle-bindings`, `/acls`,
/// `/acl-bindings`, `/signs`, `/sign-bindings`) and the VPC channels APIs use
/// (`/vpc-channels`), the plug-ins APIs run (`/plugins`; attaching from the API's side is
/// under `/apis`), and imports of API definitions (`/openapi`).
fn routes_only(path: &str) -> bool {
    let mut segs = path.split('/').skip(1);
    matches!(
        (segs.next(), segs.nth(2), segs.nth(1)),
        (
            Some("v2"),
            Some("instances"),
            Some(
                "api-groups"
                    | "envs"
                    | "env-variables"
                    | "apis"
                    | "throttles"
                    | "throttle-bindings"
                    | "acls"
                    | "acl-bindings"
                    | "signs"
                    | "sign-bindings"
                    | "plugins"
                    | "vpc-channels"
                    | "openapi"
            )
        )
    )
}

/// Whether `path` is one of the project's SSL certificates (`/v2/{project_id}/apigw/certificates`
/// and below): what they change is what bound names present, read with the routes.
fn certificates(path: &str) -> bool {
    let mut segs = path.split('/').skip(1);
    matches!(
        (segs.next(), segs.nth(1), segs.next()),
        (Some("v2"), Some("apigw"), Some("certificates"))
    )
}

/// Whether `path` is a write target that changes only an instance's features:
/// `/v2/{project_id}/apigw/instances/{instance_id}/features`.
fn features_only(path: &str) -> bool {
    let mut segs = path.split('/').skip(1);
    matches!(
        (segs.next(), segs.nth(2), segs.nth(1), segs.next()),
        (Some("v2"), Some("instances"), Some("features"), None)
    )
}

/// The gateway instance a management path addresses:
/// `/v2/{project_id}/apigw/instances/{instance_id}[/...]` (or `apic`).
fn instance_in_path(path: &str) -> Option<&str> {
    let mut segs = path.split('/').skip(1);
    match (segs.next(), segs.nth(1), segs.next(), segs.next()) {
        (Some("v2"), Some("apigw" | "apic"), Some("instances"), Some(id)) if !id.is_empty() => {
            Some(id)
        }
        _ => None,
    }
}

/// What a successful write's path says it changed, when the path alone tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathScope {
    /// Routing only (`/api-groups`, `/envs`, `/apis`, `/throttles`, `/throttle-bindings`, the
    /// project's `/certificates`).
    Routes,
    /// The instance's features only (`/features`).
    Features,
    /// Nothing narrower than the instance (or everything).
    Other,
}

impl PathScope {
    fn of(path: &str) -> Self {
        if routes_only(path) || certificates(path) {
            PathScope::Routes
        } else if features_only(path) {
            PathScope::Features
        } else {
            PathScope::Other
        }
    }
}

/// What a request changed, from the parts its handler returned and the path it addressed
/// (`scope`, its instance): the narrowest change that covers it, and the whole instance (or
/// everything) when in doubt (a failed request that still committed something).
fn classify(
    apps: Option<ChangedApps>,
    quota: Option<ChangedQuota>,
    scope: PathScope,
    succeeded: bool,
    instance: Option<&str>,
) -> Change {
    let whole = || instance.map_or(Change::Everything, |id| Change::Instance(id.to_owned()));
    match (apps, quota, succeeded.then_some(scope)) {
        (Some(ChangedApps(apps)), None, Some(_)) => Change::Apps(apps),
        (None, Some(ChangedQuota(id)), Some(_)) => Change::Quota(id),
        (None, None, Some(PathScope::Routes)) => Change::Routes,
        (None, None, Some(PathScope::Features)) => instance
            .map(|id| Change::Features(id.to_owned()))
            .unwrap_or_else(whole),
        _ => whole(),
    }
}

/// Middleware: after a successful write under `/v1` or `/v2`, or any request that committed a
/// configuration revision, waits for the listener.
pub async fn notify(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let write = !matches!(*req.method(), http::Method::GET | http::Method::HEAD);
    let gateway_object =
        req.uri().path().starts_with("/v2/") || req.uri().path().starts_with("/v1/");
    let scope = PathScope::of(req.uri().path());
    let instance = instance_in_path(req.uri().path()).map(str::to_owned);
    let (mut response, revisions) = apigw_store::revision::track(next.run(req)).await;
    let succeeded = response.status().is_success();
    let read_only = response
        .extensions_mut()
        .remove::<NothingChanged>()
        .is_some();
    if (write && !read_only && gateway_object && succeeded) || !revisions.is_empty() {
        let apps = response.extensions_mut().remove::<ChangedApps>();
        let quota = response.extensions_mut().remove::<ChangedQuota>();
        let change = classify(apps, quota, scope, succeeded, instance.as_deref());
        state.changes.changed(change, revisions).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_the_narrowest_that_covers_the_write() {
        let apps = || Some(ChangedApps::one("a"));
        let quota = || Some(ChangedQuota("q".into()));
        let i = Some("i");
        let whole = || Change::Instance("i".into());
        let just_a = Change::Apps(vec!["a".into()]);
        let (routes, features, other) = (PathScope::Routes, PathScope::Features, PathScope::Other);
        assert_eq!(classify(apps(), None, other, true, i), just_a);
        assert_eq!(
            classify(None, quota(), other, true, i),
            Change::Quota("q".into())
        );
        assert_eq!(classify(None, None, routes, true, i), Change::Routes);
        assert_eq!(classify(None, None, routes, false, i), whole());
        assert_eq!(
            classify(None, None, features, true, i),
            Change::Features("i".into())
        );
        assert_eq!(classify(None, None, features, false, i), whole());
        assert_eq!(classify(None, None, other, true, i), whole());
        assert_eq!(classify(None, None, other, true, None), Change::Everything);
        assert_eq!(classify(apps(), quota(), other, true, i), whole());
        assert_eq!(classify(apps(), None, other, false, i), whole());
        assert_eq!(
            classify(None, quota(), other, false, None),
            Change::Everything
        );
    }

    #[test]
    fn certificates_of_the_project_change_what_is_routed() {
        for path in [
            "/v2/p/apigw/certificates",
            "/v2/p/apigw/certificates/c",
            "/v2/p/apigw/certificates/c/domains/attach",
        ] {
            assert_eq!(PathScope::of(path), PathScope::Routes, "{path}");
        }
        assert_eq!(PathScope::of("/v2/p/apigw/instances"), PathScope::Other);
        assert_eq!(PathScope::of("/v2/p/apic/certificates"), PathScope::Other);
    }

    #[test]
    fn the_instance_is_read_from_the_path() {
        assert_eq!(instance_in_path("/v2/p/apigw/instances/i1"), Some("i1"));
        assert_eq!(
            instance_in_path("/v2/p/apigw/instances/i1/apps/a"),
            Some("i1")
        );
        assert_eq!(instance_in_path("/v2/p/apic/instances/i2/apps"), Some("i2"));
        assert_eq!(instance_in_path("/v2/p/apigw/instances"), None);
        assert_eq!(instance_in_path("/v2/p/apigw/instances/"), None);
        assert_eq!(instance_in_path("/v1/p/apps"), None);
        assert_eq!(instance_in_path("/v3/projects"), None);
    }

    #[test]
    fn feature_writes_are_recognised_by_path() {
        assert!(features_only("/v2/p/apigw/instances/i/features"));
        assert!(!features_only("/v2/p/apigw/instances/i/features/x"));
        assert!(!features_only("/v2/p/apigw/instances/i/instance-features"));
        assert!(!features_only("/v2/p/apigw/instances/i/apps"));
        assert_eq!(
            PathScope::of("/v2/p/apigw/instances/i/features"),
            PathScope::Features
        );
        assert_eq!(
            PathScope::of("/v2/p/apigw/instances/i/apis"),
            PathScope::Routes
        );
        assert_eq!(PathScope::of("/v2/p/apigw/instances/i"), PathScope::Other);
    }

    #[test]
    fn routing_writes_are_recognised_by_path() {
        assert!(routes_only("/v2/p/apigw/instances/i/apis/action"));
        assert!(routes_only(
            "/v2/p/apigw/instances/i/vpc-channels/c/members/batch-disable"
        ));
        assert!(routes_only("/v2/p/apigw/instances/i/apis"));
        assert!(routes_only("/v2/p/apigw/instances/i/envs/e"));
        assert!(routes_only("/v2/p/apigw/instances/i/env-variables/v"));
        assert!(routes_only("/v2/p/apigw/instances/i/api-groups/g"));
        assert!(routes_only(
            "/v2/p/apigw/instances/i/throttles/t/throttle-specials"
        ));
        assert!(routes_only("/v2/p/apigw/instances/i/throttle-bindings"));
        assert!(routes_only("/v2/p/apigw/instances/i/acl-bindings"));
        assert!(routes_only("/v2/p/apigw/instances/i/signs/s"));
        assert!(routes_only("/v2/p/apigw/instances/i/sign-bindings/b"));
        assert!(routes_only("/v2/p/apigw/instances/i/plugins/g/attach"));
        assert!(routes_only("/v2/p/apigw/instances/i/apis/a/plugins/detach"));
        assert!(routes_only("/v2/p/apigw/instances/i/acls/a"));
        assert!(!routes_only("/v2/p/apigw/instances/i/apps/a"));
        assert!(!routes_only("/v2/p/apigw/instances/i/app-auths"));
        assert!(!routes_only("/v2/p/apigw/instances/i"));
        assert!(!routes_only("/v1/p/app-auth/apps"));
    }
}
