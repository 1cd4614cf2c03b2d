//! API definitions as OpenAPI documents (Swagger 2.0 or OpenAPI 3.0) with APIG's
//! `x-apigateway-*` extensions: what `POST /openapi/export` writes and `POST /openapi/import`
//! reads, so a group's APIs move between Huawei's APIG and apigw, or between instances, as one
//! file.
//!
//! The mapping (Huawei's "Extended Definition" pages): `info.title` is the group's name and
//! `info.description` its description; every operation is one API, `operationId` its name,
//! `x-apigateway-any-method` the method `ANY`; the operation's `security` names a scheme whose
//! `x-apigateway-auth-type` is `AppSigv1` (`APP`; with `x-apigateway-auth-opt.appcode-auth-type`
//! `header`, AppCodes too), none means `NONE`; `schemes` (2.0) or `servers` (3.0) give the
//! request protocol; `x-apigateway-backend` the backend (`HTTP` with `httpEndpoints`,
//! `HTTP-VPC` with `httpVpcEndpoints` naming a VPC channel, `MOCK` with `mockEndpoints`) and its
//! `parameters`; `x-apigateway-backend-policies` the backend policies, each a backend object
//! with `name`, `conditions` and (ours) `effectMode`.

mod export;
mod import;

pub use export::{write_document, Define, GroupHead};
pub use import::MAX_OPERATIONS;
pub use import::{read_document, ImportOptions, ImportedDocument, ImportedOperation};

use crate::ApiError;

/// Which OpenAPI generation a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OasVersion {
    /// Swagger 2.0 (`swagger: "2.0"`): `securityDefinitions`, `schemes`, inline parameter types.
    Swagger2,
    /// OpenAPI 3.0 (`openapi: "3.0.x"`): `components.securitySchemes`, `servers`, `schema`.
    OpenApi3,
}

impl OasVersion {
    /// Reads the `oas_version` query parameter of an export (`2.0`, the default, or `3.0`).
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "2.0" => Ok(Self::Swagger2),
            "3.0" => Ok(Self::OpenApi3),
            _ => Err(ApiError::invalid_param("oas_version")),
        }
    }
}

/// Name of the security scheme of `APP` APIs (signatures only).
const SCHEME_APP: &str = "apig-auth-app";
/// Name of the security scheme of `APP` APIs that also take AppCodes.
const SCHEME_APP_CODE: &str = "apig-auth-app-header";
/// Name of the security scheme of `IAM` APIs (written for Huawei's tools; apigw has no IAM
/// authentication of API calls).
const SCHEME_IAM: &str = "apig-auth-iam";
/// `x-apigateway-auth-type` of app authentication.
const AUTH_APP: &str = "AppSigv1";
/// The path item key of method `ANY`.
const ANY_METHOD: &str = "x-apigateway-any-method";
/// Our extension for the request protocol of gRPC APIs (`GRPCS`), which neither `schemes` nor
/// `servers` can say.
const REQUEST_PROTOCOL: &str = "x-apigateway-request-protocol";
/// Path item keys of the methods, in the order documents list them.
const METHODS: [(&str, &str); 8] = [
    ("get", "GET"),
    ("post", "POST"),
    ("put", "PUT"),
    ("delete", "DELETE"),
    ("head", "HEAD"),
    ("patch", "PATCH"),
    ("options", "OPTIONS"),
    (ANY_METHOD, "ANY"),
];
