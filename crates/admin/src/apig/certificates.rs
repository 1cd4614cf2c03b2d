//! SSL certificates of a project (`/v2/{project_id}/apigw/certificates`): create, list, show,
//! replace, delete, and the bound domain names each is attached to. A certificate is kept
//! once and attached to names with `.../domains/{domain_id}/certificates/attach`; the gateway's
//! HTTPS listener presents it for them. Its private key is sealed at rest and never answered.

use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::certificate::{
    CertificateAlgorithm, CertificateDetails, CertificateName, CertificateType, DomainCertificate,
    TrustedRootCa,
};
use apigw_domain::group_domain::GroupDomainName;
use apigw_domain::{ApiError, Page, ResourceId, Timestamp};
use apigw_store::certificates::{
    CertificateContent, CertificateError, NameTarget, StoredCertificate,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type CertificatePath = PathArgs<(String, String)>;

/// `instance_id` of a global certificate in answers (Huawei's placeholder).
const GLOBAL_INSTANCE_ID: &str = "common";

/// A `CertificateForm` that passed every rule: what create and update store.
struct CertificateForm {
    name: CertificateName,
    certificate: DomainCertificate,
    trusted_root_ca: Option<TrustedRootCa>,
    certificate_type: Option<CertificateType>,
    instance_id: Option<ResourceId>,
}

impl CertificateForm {
    /// Parses the body at `now` (Unix seconds): the name's rule (2011), the chain and key
    /// (Huawei's 21xx codes, see [`DomainCertificate::parse_unbound`]), the CA set, `type`,
    /// `instance_id` (needed for `instance`, 2001 without) and `algorithm_type`, which must
    /// name the key's family (`SM2` is not supported: 2011).
    fn parse(body: &JsonObject, now: i64) -> ApiResult<Self> {
        let name = CertificateName::parse(body.req_str("name")?)?;
        let cert_content = body.req_str("cert_content")?;
        let private_key = body.req_str("private_key")?;
        let present = |field| -> ApiResult<Option<&str>> {
            Ok(body.opt_str(field)?.filter(|v| !v.is_empty()))
        };
        let certificate_type = present("type")?.map(CertificateType::parse).transpose()?;
        let instance_id = present("instance_id")?
            .map(|id| ResourceId::parse(id, "instance_id"))
            .transpose()?;
        let algorithm = present("algorithm_type")?
            .map(CertificateAlgorithm::parse)
            .transpose()?;
        let certificate = DomainCertificate::parse_unbound(cert_content, private_key, now)?;
        if algorithm.is_some_and(|a| a != certificate.algorithm()) {
            return Err(Error(ApiError::invalid_body_field("algorithm_type")));
        }
        let trusted_root_ca = present("trusted_root_ca")?
            .map(|ca| TrustedRootCa::parse(ca, now))
            .transpose()?;
        Ok(Self {
            name,
            certificate,
            trusted_root_ca,
            certificate_type,
            instance_id,
        })
    }

    fn content(&self) -> CertificateContent<'_> {
        CertificateContent {
            name: &self.name,
            certificate: &self.certificate,
            trusted_root_ca: self.trusted_root_ca.as_ref(),
        }
    }
}

fn refusal(e: CertificateError, instance_id: Option<&str>) -> Error {
    Error(match e {
        CertificateError::NotFound => ApiError::ssl_certificate_not_found(),
        CertificateError::InstanceNotFound => {
            ApiError::instance_not_found(instance_id.unwrap_or_default())
        }
        CertificateError::InUse => ApiError::certificate_attached(),
        CertificateError::Refused(e) => e,
        CertificateError::NameNotBound(_) => ApiError::url_domain_not_found(),
        CertificateError::NotAttached(_) => ApiError::ssl_certificate_binding_not_found(),
        CertificateError::NoTrustedRootCa => {
            ApiError::invalid_body_field("verified_client_certificate_enabled")
        }
        CertificateError::Store(other) => return other.into(),
    })
}

/// What a stored certificate's leaf says of itself. It parsed when it was stored; a stored
/// chain that no longer does is the store's fault (500).
fn details_of(c: &StoredCertificate) -> ApiResult<CertificateDetails> {
    CertificateDetails::of_chain(&c.chain_pem).map_err(|_| Error(ApiError::internal()))
}

/// A certificate with everything its leaf says of itself (create, show, update).
pub(crate) fn certificate_info(c: &StoredCertificate) -> ApiResult<Value> {
    Ok(certificate_view(c, &details_of(c)?, true))
}

/// A certificate as the list shows it (`CertBase`), or `detailed`, with `d`, its leaf's
/// details.
fn certificate_view(c: &StoredCertificate, d: &CertificateDetails, detailed: bool) -> Value {
    let time = |secs| Timestamp::from_unix_seconds(secs).rfc3339_seconds();
    let mut v = json!({
        "id": c.id,
        "name": c.name.as_str(),
        "type": c.certificate_type().as_str(),
        "instance_id": c.instance_id.as_deref().unwrap_or(GLOBAL_INSTANCE_ID),
        "project_id": c.project_id,
        "common_name": d.common_name,
        "san": d.san,
        "not_after": time(d.not_after),
        "signature_algorithm": d.signature_algorithm,
        "create_time": c.create_time.rfc3339_seconds(),
        "update_time": c.update_time.rfc3339_seconds(),
        "is_has_trusted_root_ca": c.trusted_root_ca.is_some(),
        "algorithm_type": d.algorithm.map_or("", CertificateAlgorithm::as_str),
    });
    if detailed {
        if let Value::Object(fields) = &mut v {
            for (key, value) in [
                ("version", json!(d.version)),
                ("organization", json!(d.organization)),
                ("organizational_unit", json!(d.organizational_unit)),
                ("locality", json!(d.locality)),
                ("state", json!(d.state)),
                ("country", json!(d.country)),
                ("not_before", json!(time(d.not_before))),
                ("serial_number", json!(d.serial_number)),
                ("issuer", json!(d.issuer)),
            ] {
                fields.insert(key.into(), value);
            }
        }
    }
    v
}

/// `POST /v2/{project_id}/apigw/certificates` (`CreateCertificateV2`): 200 with the
/// certificate's details. Global unless `type` is `instance`, which needs an `instance_id` of
/// the project (404 `APIG.3030` otherwise).
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(project_id): PathArgs<String>,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    scope::check_project(&caller, &project_id, Access::Write)?;
    let form = CertificateForm::parse(&body, Timestamp::now().unix_seconds())?;
    let instance_id = match form.certificate_type.unwrap_or(CertificateType::Global) {
        CertificateType::Global => None,
        CertificateType::Instance => Some(
            form.instance_id
                .as_ref()
                .ok_or_else(|| Error(ApiError::missing_field("instance_id")))?
                .as_str(),
        ),
    };
    let created = state
        .store
        .create_certificate(&project_id, instance_id, form.content())
        .await
        .map_err(|e| refusal(e, instance_id))?;
    tracing::info!(certificate_id = %created.id, name = created.name.as_str(), r#type = created.certificate_type().as_str(), instance_id, not_after = %Timestamp::from_unix_seconds(form.certificate.details().not_after).rfc3339_seconds(), trusted_root_ca = created.trusted_root_ca.is_some(), "certificate created");
    Ok(Json(certificate_info(&created)?))
}

/// `GET /v2/{project_id}/apigw/certificates` (`ListCertificatesV2`): oldest first, paged.
/// `instance_id` keeps the certificates usable there (that instance's and the global ones);
/// `name` and `common_name` match a substring, `type`, `signature_algorithm` and
/// `algorithm_type` the whole value.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(project_id): PathArgs<String>,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    scope::check_project(&caller, &project_id, Access::Read)?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let name = q.filter("name", 255)?;
    let common_name = q.filter("common_name", 255)?;
    let signature_algorithm = q.filter("signature_algorithm", 64)?;
    let instance_id = q.filter("instance_id", 64)?;
    let certificate_type = q
        .filter("type", 16)?
        .map(|t| CertificateType::parse(t).map_err(|_| Error(ApiError::invalid_param("type"))))
        .transpose()?;
    let algorithm = q
        .filter("algorithm_type", 16)?
        .map(|a| {
            CertificateAlgorithm::parse(a)
                .map_err(|_| Error(ApiError::invalid_param("algorithm_type")))
        })
        .transpose()?;
    let mut matching = Vec::new();
    for c in state.store.certificates(&project_id).await? {
        let d = details_of(&c)?;
        let keep = name.is_none_or(|n| c.name.as_str().contains(n))
            && common_name.is_none_or(|n| d.common_name.contains(n))
            && signature_algorithm.is_none_or(|a| d.signature_algorithm == a)
            && certificate_type.is_none_or(|t| c.certificate_type() == t)
            && algorithm.is_none_or(|a| d.algorithm == Some(a))
            && instance_id.is_none_or(|i| c.instance_id.as_deref().is_none_or(|own| own == i));
        if keep {
            matching.push((c, d));
        }
    }
    let certs: Vec<Value> = page
        .of(&matching)
        .iter()
        .map(|(c, d)| certificate_view(c, d, false))
        .collect();
    Ok(Json(json!({
        "total": matching.len(),
        "size": certs.len(),
        "certs": certs,
    })))
}

/// `GET /v2/{project_id}/apigw/certificates/{certificate_id}` (`ShowDetailsOfCertificateV2`):
/// 200 with the details, 404 `APIG.3021` for an id the project does not have.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, certificate_id)): CertificatePath,
) -> ApiResult<Json<Value>> {
    scope::check_project(&caller, &project_id, Access::Read)?;
    let certificate_id = path_id(&certificate_id, "certificate_id")?;
    let c = state
        .store
        .certificate(&project_id, certificate_id.as_str())
        .await
        .map_err(|e| refusal(e, None))?;
    Ok(Json(certificate_info(&c)?))
}

/// `PUT /v2/{project_id}/apigw/certificates/{certificate_id}` (`UpdateCertificateV2`): 200
/// with the details. The whole form again (name, chain, key, CA set); every name the
/// certificate is attached to presents the new chain from the next handshake on, so it must
/// cover each of them (400 `APIG.2103`). The scope cannot change (`type`, `instance_id`:
/// 400 `APIG.2011` for another value). Without a CA set client verification stops.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, certificate_id)): CertificatePath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    scope::check_project(&caller, &project_id, Access::Write)?;
    let certificate_id = path_id(&certificate_id, "certificate_id")?;
    let form = CertificateForm::parse(&body, Timestamp::now().unix_seconds())?;
    let current = state
        .store
        .certificate(&project_id, certificate_id.as_str())
        .await
        .map_err(|e| refusal(e, None))?;
    if form
        .certificate_type
        .is_some_and(|t| t != current.certificate_type())
    {
        return Err(Error(ApiError::invalid_body_field("type")));
    }
    if let (Some(asked), Some(own)) = (&form.instance_id, &current.instance_id) {
        if asked.as_str() != own {
            return Err(Error(ApiError::invalid_body_field("instance_id")));
        }
    }
    let updated = state
        .store
        .update_certificate(&project_id, certificate_id.as_str(), form.content())
        .await
        .map_err(|e| refusal(e, None))?;
    tracing::info!(certificate_id = %updated.id, name = updated.name.as_str(), not_after = %Timestamp::from_unix_seconds(form.certificate.details().not_after).rfc3339_seconds(), trusted_root_ca = updated.trusted_root_ca.is_some(), "certificate replaced");
    Ok(Json(certificate_info(&updated)?))
}

/// `DELETE /v2/{project_id}/apigw/certificates/{certificate_id}` (`DeleteCertificateV2`):
/// 204; a certificate still attached to a name is refused (400 `APIG.3449`).
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, certificate_id)): CertificatePath,
) -> ApiResult<StatusCode> {
    scope::check_project(&caller, &project_id, Access::Write)?;
    let certificate_id = path_id(&certificate_id, "certificate_id")?;
    state
        .store
        .delete_certificate(&project_id, certificate_id.as_str())
        .await
        .map_err(|e| refusal(e, None))?;
    tracing::info!(certificate_id = %certificate_id, "certificate deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/{project_id}/apigw/certificates/{certificate_id}/attached-domains`
/// (`ListAttachedDomainsV2`): the bound names presenting the certificate, oldest binding
/// first, paged; `url_domain` matches a substring.
pub async fn attached_domains(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, certificate_id)): CertificatePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    scope::check_project(&caller, &project_id, Access::Read)?;
    let certificate_id = path_id(&certificate_id, "certificate_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let url_domain = q.filter("url_domain", 255)?;
    let attached = state
        .store
        .attached_domains(&project_id, certificate_id.as_str())
        .await
        .map_err(|e| refusal(e, None))?;
    let matching: Vec<_> = attached
        .iter()
        .filter(|a| url_domain.is_none_or(|n| a.domain.domain.as_str().contains(n)))
        .collect();
    let bound_domains: Vec<Value> = page
        .of(&matching)
        .iter()
        .map(|a| {
            let mut v = super::apis::views::bound_domain_info(&a.domain);
            if let Value::Object(fields) = &mut v {
                fields.insert("instance_id".into(), a.instance_id.clone().into());
                fields.insert("api_group_id".into(), a.domain.group_id.clone().into());
                fields.insert("api_group_name".into(), a.group_name.clone().into());
            }
            v
        })
        .collect();
    Ok(Json(json!({
        "total": matching.len(),
        "size": bound_domains.len(),
        "bound_domains": bound_domains,
    })))
}

/// Most names one attach or detach call from the certificate's side takes.
const MAX_NAME_TARGETS: usize = 100;

/// One `AttachOrDetachDomainInfo` of a body, parsed: the name, the instances (if named) and
/// `verified_client_certificate_enabled`.
struct NameTargetForm {
    domain: GroupDomainName,
    instance_ids: Option<Vec<String>>,
    verify: Option<bool>,
}

/// Parses `domains` (1 to [`MAX_NAME_TARGETS`] objects; 400 `APIG.2011` naming the field at
/// fault).
fn name_targets(body: &JsonObject) -> ApiResult<Vec<NameTargetForm>> {
    let invalid = |field: &str| Error(ApiError::invalid_body_field(field));
    let Some(Value::Array(items)) = body.0.get("domains") else {
        return Err(invalid("domains"));
    };
    if items.is_empty() || items.len() > MAX_NAME_TARGETS {
        return Err(invalid("domains"));
    }
    items
        .iter()
        .map(|item| {
            let Value::Object(fields) = item else {
                return Err(invalid("domains"));
            };
            let item = JsonObject(fields.clone());
            let domain =
                GroupDomainName::parse(item.req_str("domain")?).map_err(|_| invalid("domain"))?;
            let instance_ids = match item.0.get("instance_ids") {
                None | Some(Value::Null) => None,
                Some(Value::Array(ids)) if !ids.is_empty() => Some(
                    ids.iter()
                        .map(|id| {
                            id.as_str()
                                .and_then(|id| ResourceId::parse(id, "instance_ids").ok())
                                .map(|id| id.as_str().to_owned())
                                .ok_or_else(|| invalid("instance_ids"))
                        })
                        .collect::<ApiResult<Vec<_>>>()?,
                ),
                Some(_) => return Err(invalid("instance_ids")),
            };
            let verify = item.opt_bool("verified_client_certificate_enabled")?;
            Ok(NameTargetForm {
                domain,
                instance_ids,
                verify,
            })
        })
        .collect()
}

fn as_targets(forms: &[NameTargetForm]) -> Vec<NameTarget<'_>> {
    forms
        .iter()
        .map(|f| NameTarget {
            domain: &f.domain,
            instance_ids: f.instance_ids.as_deref(),
            verify: f.verify,
        })
        .collect()
}

/// `POST /v2/{project_id}/apigw/certificates/{certificate_id}/domains/attach`
/// (`BatchAssociateDomainsV2`): 204; every binding of each named `domain` (in the instances
/// of `instance_ids` when given, and only where the certificate may be used) presents the
/// certificate, all or none: a name bound nowhere there is 404 `APIG.3020`, one the
/// certificate does not cover 400 `APIG.2103`.
pub async fn attach_to_names(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, certificate_id)): CertificatePath,
    body: JsonObject,
) -> ApiResult<StatusCode> {
    scope::check_project(&caller, &project_id, Access::Write)?;
    let certificate_id = path_id(&certificate_id, "certificate_id")?;
    let forms = name_targets(&body)?;
    state
        .store
        .attach_to_names(
            &project_id,
            certificate_id.as_str(),
            &as_targets(&forms),
            Timestamp::now().unix_seconds(),
        )
        .await
        .map_err(|e| refusal(e, None))?;
    let names: Vec<&str> = forms.iter().map(|f| f.domain.as_str()).collect();
    tracing::info!(certificate_id = %certificate_id, domains = ?names, "certificate attached to domain names");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v2/{project_id}/apigw/certificates/{certificate_id}/domains/detach`
/// (`BatchDisassociateDomainsV2`): 204; the bindings of each named `domain` that present the
/// certificate stop, all or none (404 `APIG.3097` for a name presenting it nowhere asked).
pub async fn detach_from_names(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, certificate_id)): CertificatePath,
    body: JsonObject,
) -> ApiResult<StatusCode> {
    scope::check_project(&caller, &project_id, Access::Write)?;
    let certificate_id = path_id(&certificate_id, "certificate_id")?;
    let forms = name_targets(&body)?;
    state
        .store
        .detach_from_names(&project_id, certificate_id.as_str(), &as_targets(&forms))
        .await
        .map_err(|e| refusal(e, None))?;
    let names: Vec<&str> = forms.iter().map(|f| f.domain.as_str()).collect();
    tracing::info!(certificate_id = %certificate_id, domains = ?names, "certificate detached from domain names");
    Ok(StatusCode::NO_CONTENT)
}
