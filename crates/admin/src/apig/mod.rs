//! The APIG v2 management families: gateway instances and their features, apps (credentials)
//! and AppCodes, the latter also under the ROMA Connect prefix `/v2/{project_id}/apic/instances/...`.

pub mod acls;
pub mod apis;
pub mod app_codes;
pub mod apps;
pub mod authz;
pub mod certificates;
pub mod features;
pub mod instances;
pub mod plugins;
pub mod signs;
pub mod throttles;
pub mod views;
pub mod vpc_channels;

use crate::AppState;
use axum::routing::{get, post, put};
use axum::Router;

/// All APIG v2 routes.
pub fn routes() -> Router<AppState> {
    let base = "/v2/{project_id}/apigw/instances/{instance_id}";
    let codes = |prefix: &str, r: Router<AppState>| {
        r.route(
            &format!("{prefix}/apps/{{app_id}}/app-codes"),
            get(app_codes::list)
                .post(app_codes::create)
                .put(app_codes::generate),
        )
        .route(
            &format!("{prefix}/apps/{{app_id}}/app-codes/{{app_code_id}}"),
            get(app_codes::show).delete(app_codes::delete),
        )
    };
    let r = Router::new()
        .route(
            "/v2/{project_id}/apigw/instances",
            get(instances::list).post(instances::create),
        )
        .route(base, get(instances::show).delete(instances::delete))
        .route(
            "/v2/{project_id}/apigw/certificates",
            get(certificates::list).post(certificates::create),
        )
        .route(
            "/v2/{project_id}/apigw/certificates/{certificate_id}",
            get(certificates::show)
                .put(certificates::update)
                .delete(certificates::delete),
        )
        .route(
            "/v2/{project_id}/apigw/certificates/{certificate_id}/attached-domains",
            get(certificates::attached_domains),
        )
        .route(
            "/v2/{project_id}/apigw/certificates/{certificate_id}/domains/attach",
            post(certificates::attach_to_names),
        )
        .route(
            "/v2/{project_id}/apigw/certificates/{certificate_id}/domains/detach",
            post(certificates::detach_from_names),
        )
        .route(&format!("{base}/apps"), get(apps::list).post(apps::create))
        .route(
            &format!("{base}/apps/{{app_id}}"),
            get(apps::show).put(apps::update).delete(apps::delete),
        )
        .route(
            &format!("{base}/apps/secret/{{app_id}}"),
            put(apps::reset_secret),
        )
        .route(
            &format!("{base}/apps/validation/{{app_id}}"),
            get(apps::verify),
        )
        .route(
            &format!("{base}/resources/outline/apps"),
            get(apps::quantities),
        )
        .route(
            &format!("{base}/features"),
            get(features::list).post(features::configure),
        )
        .route(
            &format!("{base}/instance-features"),
            get(features::supported),
        );
    let r = codes(base, r);
    codes("/v2/{project_id}/apic/instances/{instance_id}", r)
        .merge(apis::routes())
        .merge(authz::routes())
        .merge(throttles::routes())
        .merge(acls::routes())
        .merge(signs::routes())
        .merge(plugins::routes())
        .merge(vpc_channels::routes())
}
