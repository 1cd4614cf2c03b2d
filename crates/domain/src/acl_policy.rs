//! Access control policies (APIG `acls`): lists of client addresses allowed (`PERMIT`) or
//! refused (`DENY`) by the published APIs bound to them, and the errors of these resources.
//!
//! apigw implements the `IP` restriction type. APIG's account restrictions (`DOMAIN`,
//! `DOMAIN_ID`) apply only to APIs that authenticate IAM users, which apigw does not serve, so
//! they are refused (400 `APIG.2011`, `entity_type`) rather than stored and never applied.

use crate::authz::{AclType, AclValues};
use crate::throttle::is_policy_name;
use crate::ApiError;
use serde_json::Value;

/// Most addresses, ranges and blocks one policy lists (APIG: 100).
pub const MAX_ACL_POLICY_VALUES: usize = 100;

impl ApiError {
    /// 404 `APIG.3006`: no access control policy with this id in this project and instance.
    pub fn acl_policy_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3006",
            format!("Access control policy {id} does not exist"),
        )
    }

    /// 400 `APIG.3206`: another access control policy of the instance has this name.
    pub fn acl_policy_name_exists() -> Self {
        Self::new(
            400,
            "APIG.3206",
            "The access control policy name already exists.",
        )
    }

    /// 400 `APIG.3447`: a policy still bound to APIs cannot be deleted (Huawei's code).
    pub fn acl_policy_bound() -> Self {
        Self::new(
            400,
            "APIG.3447",
            "The access control policy has been bound to APIs",
        )
    }

    /// 404 `APIG.3010`: no access control binding record with this id.
    pub fn acl_binding_not_found() -> Self {
        Self::new(
            404,
            "APIG.3010",
            "The access control policy binding record does not exist",
        )
    }

    /// 400 `APIG.3354` (our code; APIG allows one policy of a restriction type per API and
    /// environment and does not document the refusal): the published API is bound to another
    /// IP policy.
    pub fn api_bound_to_other_acl(publish_id: &str) -> Self {
        Self::new(
            400,
            "APIG.3354",
            format!(
                "The API of publication record {publish_id} is already bound to another access control policy of this type in this environment"
            ),
        )
    }
}

/// An access control policy as created or replaced (`PUT` replaces every field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclPolicySpec {
    /// `acl_name`: unique in the instance, the rule of every APIG policy name.
    pub name: String,
    /// Allowed or refused.
    pub acl_type: AclType,
    /// `acl_value`: the addresses, as the comma-separated text given, parsed.
    pub values: AclValues,
}

impl AclPolicySpec {
    /// Reads a create or replace body (`get` gives a body field by name); `entity_type` must
    /// be `IP`.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a Value>) -> Result<Self, ApiError> {
        let text = |field: &str| {
            get(field)
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::invalid_body_field(field))
        };
        let name = text("acl_name")?;
        if !is_policy_name(name) {
            return Err(ApiError::invalid_body_field("acl_name"));
        }
        let acl_type = AclType::from_wire(text("acl_type")?)
            .ok_or_else(|| ApiError::invalid_body_field("acl_type"))?;
        if text("entity_type")? != "IP" {
            return Err(ApiError::invalid_body_field("entity_type"));
        }
        let values = Self::parse_values(text("acl_value")?)?;
        Ok(Self {
            name: name.to_owned(),
            acl_type,
            values,
        })
    }

    /// `acl_value`: comma-separated addresses (`192.168.1.5`), ranges (`192.168.12.12-192.168.12.19`)
    /// and blocks (`192.168.10.0/24`), IPv4 or IPv6, 1 to [`MAX_ACL_POLICY_VALUES`] distinct.
    pub fn parse_values(text: &str) -> Result<AclValues, ApiError> {
        let values: Vec<&str> = text.split(',').map(str::trim).collect();
        AclValues::parse_field(&values, "acl_value", MAX_ACL_POLICY_VALUES)
    }

    /// `acl_value` as stored and shown: the values joined by commas.
    pub fn value_text(&self) -> String {
        self.values.as_slice().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(body: Value) -> Result<AclPolicySpec, ApiError> {
        AclPolicySpec::parse(|k| body.get(k))
    }

    #[test]
    fn a_policy_lists_addresses_ranges_and_blocks() {
        let s = spec(
            json!({"acl_name": "acl_demo", "acl_type": "PERMIT", "entity_type": "IP",
            "acl_value": "192.168.1.5, 192.168.10.0/24,192.168.12.12-192.168.12.19,2001:db8::/32"}),
        )
        .unwrap();
        assert_eq!(s.acl_type, AclType::Permit);
        assert_eq!(
            s.value_text(),
            "192.168.1.5,192.168.10.0/24,192.168.12.12-192.168.12.19,2001:db8::/32"
        );
        assert!(s.values.matcher().contains("192.168.10.7".parse().unwrap()));
        let many = (0..101).map(|i| format!("10.0.0.{i}")).collect::<Vec<_>>();
        for (body, field) in [
            (
                json!({"acl_name": "ab", "acl_type": "DENY", "entity_type": "IP", "acl_value": "1.2.3.4"}),
                "acl_name",
            ),
            (
                json!({"acl_name": "abc", "acl_type": "ALLOW", "entity_type": "IP", "acl_value": "1.2.3.4"}),
                "acl_type",
            ),
            (
                json!({"acl_name": "abc", "acl_type": "DENY", "entity_type": "DOMAIN", "acl_value": "acct"}),
                "entity_type",
            ),
            (
                json!({"acl_name": "abc", "acl_type": "DENY", "acl_value": "1.2.3.4"}),
                "entity_type",
            ),
            (
                json!({"acl_name": "abc", "acl_type": "DENY", "entity_type": "IP", "acl_value": "1.2.3"}),
                "acl_value",
            ),
            (
                json!({"acl_name": "abc", "acl_type": "DENY", "entity_type": "IP", "acl_value": ""}),
                "acl_value",
            ),
            (
                json!({"acl_name": "abc", "acl_type": "DENY", "entity_type": "IP", "acl_value": "1.2.3.4,1.2.3.4"}),
                "acl_value",
            ),
            (
                json!({"acl_name": "abc", "acl_type": "DENY", "entity_type": "IP", "acl_value": many.join(",")}),
                "acl_value",
            ),
        ] {
            let e = spec(body).unwrap_err();
            assert_eq!(e.code, "APIG.2011");
            assert!(
                e.message.contains(&format!("parameterName:{field}")),
                "{}",
                e.message
            );
        }
    }
}
