//! The SSL certificate of a bound domain name
//! (`/api-groups/{group_id}/domains/{domain_id}/certificate`): add (or replace), show, delete;
//! and attaching a certificate of the project (`.../certificates/attach`, `.../detach`).
//! The gateway's HTTPS listener presents it to clients asking (SNI) for that name; the
//! private key is sealed at rest and never answered.

use super::domains::{refusal, DomainPath};
use super::views::bound_domain_info;
use crate::apig::certificates::certificate_info;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::PathArgs;
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::certificate::{
    CertificateName, CertificateType, DomainCertificate, TrustedRootCa,
};
use apigw_domain::{ApiError, ResourceId, Timestamp};
use apigw_store::certificates::StoredCertificate;
use apigw_store::group_domains::GroupDomainError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::Value;

type CertificatePath = PathArgs<(String, String, String, String, String)>;

/// `POST .../domains/{domain_id}/certificate`: 201 with the binding and its new `ssl_id`.
/// The chain and key must parse, belong together, be valid now and cover the bound name
/// (Huawei's `APIG.21xx` errors otherwise); a certificate the domain had is replaced. With a
/// `trusted_root_ca` (PEM CA certificates) the name verifies its HTTPS callers' client
/// certificates from then on (`verified_client_certificate_enabled`), as Huawei's default.
pub async fn attach(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, domain_id)): DomainPath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let domain_id = path_id(&domain_id, "domain_id")?;
    let name = CertificateName::parse(body.req_str("name")?)?;
    let cert_content = body.req_str("cert_content")?;
    let private_key = body.req_str("private_key")?;
    // An empty `trusted_root_ca` is none (SDKs send the field as an empty string).
    let trusted_root_ca = body.opt_str("trusted_root_ca")?.filter(|ca| !ca.is_empty());
    let refused = |e| refusal(e, &instance_id, group_id.as_str());
    let domain = state
        .store
        .bound_domain(&scope, group_id.as_str(), domain_id.as_str())
        .await
        .map_err(refused)?;
    let now = Timestamp::now().unix_seconds();
    let certificate = DomainCertificate::parse(cert_content, private_key, &domain.domain, now)?;
    let trusted_root_ca = trusted_root_ca
        .map(|ca| TrustedRootCa::parse(ca, now))
        .transpose()?;
    let bound = state
        .store
        .attach_certificate(
            &scope,
            group_id.as_str(),
            domain_id.as_str(),
            &name,
            &certificate,
            trusted_root_ca.as_ref(),
        )
        .await
        .map_err(refused)?;
    let replaced = domain.certificate.as_ref().map(|c| c.id.as_str());
    tracing::info!(group_id = %group_id, domain_id = %domain_id, domain = bound.domain.as_str(), ssl_id = bound.certificate.as_ref().map(|c| c.id.as_str()), replaced, not_after = %Timestamp::from_unix_seconds(certificate.details().not_after).rfc3339_seconds(), verify_client_certificate = bound.verify_client_certificate, "certificate added to a bound domain");
    let mut answer = bound_domain_info(&bound);
    if let Value::Object(fields) = &mut answer {
        fields.insert("instance_id".into(), scope.instance_id.clone().into());
        fields.insert("api_group_id".into(), group_id.as_str().into());
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `GET .../domains/{domain_id}/certificate/{certificate_id}`: what the certificate says of
/// itself (`ShowDetailsOfDomainNameCertificateV2`); 404 `APIG.3021` for another id.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, domain_id, certificate_id)): CertificatePath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let domain_id = path_id(&domain_id, "domain_id")?;
    let certificate_id = path_id(&certificate_id, "certificate_id")?;
    let (domain, chain) = state
        .store
        .domain_certificate(
            &scope,
            group_id.as_str(),
            domain_id.as_str(),
            certificate_id.as_str(),
        )
        .await
        .map_err(|e| refusal(e, &instance_id, group_id.as_str()))?;
    let Some(stored) = domain.certificate else {
        return Err(Error(ApiError::ssl_certificate_not_found()));
    };
    let certificate = StoredCertificate {
        instance_id: match stored.certificate_type {
            CertificateType::Global => None,
            CertificateType::Instance => Some(scope.instance_id),
        },
        id: stored.id,
        project_id: scope.project_id,
        name: stored.name,
        chain_pem: chain,
        trusted_root_ca: stored.trusted_root_ca,
        create_time: stored.create_time,
        update_time: stored.update_time,
    };
    Ok(Json(certificate_info(&certificate)?))
}

/// `DELETE .../domains/{domain_id}/certificate/{certificate_id}`: 204; the name stays bound
/// and is served with the listener's own certificates again. 404 `APIG.3097` for another id.
pub async fn detach(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, domain_id, certificate_id)): CertificatePath,
) -> ApiResult<StatusCode> {
    let certificate_id = path_id(&certificate_id, "certificate_id")?;
    let domain = (project_id, instance_id, group_id, domain_id);
    detach_from(&state, &caller, domain, certificate_id).await
}

/// Makes binding `domain` (its path: project, instance, group, binding) stop presenting
/// certificate `certificate_id`: 204, or 404 `APIG.3097` when it does not present it.
async fn detach_from(
    state: &AppState,
    caller: &Caller,
    (project_id, instance_id, group_id, domain_id): (String, String, String, String),
    certificate_id: ResourceId,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(state, caller, &project_id, &instance_id, Access::Write).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let domain_id = path_id(&domain_id, "domain_id")?;
    state
        .store
        .detach_certificate(
            &scope,
            group_id.as_str(),
            domain_id.as_str(),
            certificate_id.as_str(),
        )
        .await
        .map_err(|e| match e {
            GroupDomainError::CertificateNotFound => {
                Error(ApiError::ssl_certificate_binding_not_found())
            }
            other => refusal(other, &instance_id, group_id.as_str()),
        })?;
    tracing::info!(group_id = %group_id, domain_id = %domain_id, ssl_id = %certificate_id, "certificate detached from a bound domain");
    Ok(StatusCode::NO_CONTENT)
}

/// The one certificate id of an attach or detach body (`certificate_ids`: Huawei takes
/// exactly one per call; 400 `APIG.2011` naming the field otherwise).
fn one_certificate_id(body: &JsonObject) -> ApiResult<ResourceId> {
    match body.req_str_array("certificate_ids")?.as_slice() {
        [id] => path_id(id, "certificate_ids")
            .map_err(|_| Error(ApiError::invalid_body_field("certificate_ids"))),
        _ => Err(Error(ApiError::invalid_body_field("certificate_ids"))),
    }
}

/// `POST .../domains/{domain_id}/certificates/attach` (`BatchAssociateCertsV2`): 204; the
/// name presents certificate `certificate_ids[0]` of the project (global, or of this
/// instance: 404 `APIG.3021` otherwise) in place of the one it had. The certificate must
/// cover the name and be valid (400 `APIG.2103`, `APIG.2102`).
/// `verified_client_certificate_enabled` defaults to whether it has a trusted root CA;
/// asking for it without one is 400 `APIG.2011`. Attaching the certificate a name already
/// presents changes only the verification.
pub async fn attach_stored(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, domain_id)): DomainPath,
    body: JsonObject,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let domain_id = path_id(&domain_id, "domain_id")?;
    let certificate_id = one_certificate_id(&body)?;
    let verify = body.opt_bool("verified_client_certificate_enabled")?;
    let bound = state
        .store
        .attach_stored_certificate(
            &scope,
            group_id.as_str(),
            domain_id.as_str(),
            certificate_id.as_str(),
            verify,
            Timestamp::now().unix_seconds(),
        )
        .await
        .map_err(|e| refusal(e, &instance_id, group_id.as_str()))?;
    tracing::info!(group_id = %group_id, domain_id = %domain_id, domain = bound.domain.as_str(), ssl_id = %certificate_id, verify_client_certificate = bound.verify_client_certificate, "certificate attached to a bound domain");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST .../domains/{domain_id}/certificates/detach` (`BatchDisassociateCertsV2`): 204; the
/// name stops presenting certificate `certificate_ids[0]` (404 `APIG.3097` when it does not
/// present it), which stays a certificate of the project.
pub async fn detach_stored(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(domain): DomainPath,
    body: JsonObject,
) -> ApiResult<StatusCode> {
    let certificate_id = one_certificate_id(&body)?;
    detach_from(&state, &caller, domain, certificate_id).await
}
