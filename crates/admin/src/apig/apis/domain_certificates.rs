//! The SSL certificate of a bound domain name
//! (`/api-groups/{group_id}/domains/{domain_id}/certificate`): add (or replace), show, delete.
//! The gateway's HTTPS listener presents it to clients asking (SNI) for that name; the
//! private key is sealed at rest and never answered.

use super::domains::{refusal, DomainPath};
use super::views::bound_domain_info;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::PathArgs;
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::certificate::{
    CertificateDetails, CertificateName, DomainCertificate, TrustedRootCa,
};
use apigw_domain::{ApiError, Timestamp};
use apigw_store::group_domains::GroupDomainError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

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
    // It parsed when it was added; a stored chain that no longer does is the store's fault.
    let d = CertificateDetails::of_chain(&chain).map_err(|_| Error(ApiError::internal()))?;
    let time = Timestamp::from_unix_seconds;
    Ok(Json(json!({
        "id": stored.id,
        "name": stored.name.as_str(),
        "type": "instance",
        "instance_id": scope.instance_id,
        "project_id": scope.project_id,
        "create_time": stored.create_time.rfc3339_seconds(),
        "update_time": stored.update_time.rfc3339_seconds(),
        "common_name": d.common_name,
        "san": d.san,
        "version": d.version,
        "organization": d.organization,
        "organizational_unit": d.organizational_unit,
        "locality": d.locality,
        "state": d.state,
        "country": d.country,
        "not_before": time(d.not_before).rfc3339_seconds(),
        "not_after": time(d.not_after).rfc3339_seconds(),
        "serial_number": d.serial_number,
        "issuer": d.issuer,
        "signature_algorithm": d.signature_algorithm,
        "is_has_trusted_root_ca": stored.trusted_root_ca.is_some(),
    })))
}

/// `DELETE .../domains/{domain_id}/certificate/{certificate_id}`: 204; the name stays bound
/// and is served with the listener's own certificates again. 404 `APIG.3097` for another id.
pub async fn detach(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, domain_id, certificate_id)): CertificatePath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let domain_id = path_id(&domain_id, "domain_id")?;
    let certificate_id = path_id(&certificate_id, "certificate_id")?;
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
    tracing::info!(group_id = %group_id, domain_id = %domain_id, ssl_id = %certificate_id, "certificate removed from a bound domain");
    Ok(StatusCode::NO_CONTENT)
}
