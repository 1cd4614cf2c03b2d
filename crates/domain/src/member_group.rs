//! Backend server groups of a VPC channel (APIG `member-groups`): named sets of a channel's
//! servers, so that servers can be managed together; a group with a weight gives that weight
//! to each of its servers.
//!
//! Only server channels (`type` 2) are served, so the microservice fields of a group
//! (`microservice_version`, `microservice_port`, `microservice_labels`) and a reference
//! channel's `reference_vpc_channel_id` are refused when they ask for something.

use crate::error::ApiError;
use crate::fields::Fields;
use serde_json::{json, Map, Value};

/// Most backend server groups one channel may have (our limit, as many as its servers).
pub const MAX_GROUPS_PER_CHANNEL: usize = crate::vpc_channel::MAX_MEMBERS_PER_CHANNEL;
/// Highest group weight.
pub const MAX_GROUP_WEIGHT: u16 = 100;
/// Longest group description.
const MAX_REMARK: usize = 255;

impl ApiError {
    /// 404 `APIG.3025` (our code): no backend server group with this id in the channel.
    pub fn vpc_member_group_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3025",
            format!("The VPC channel backend server group does not exist,id:{id}"),
        )
    }

    /// 403 `APIG.3110`: the channel would have more than [`MAX_GROUPS_PER_CHANNEL`] groups.
    pub fn vpc_member_group_limit() -> Self {
        Self::new(
            403,
            "APIG.3110",
            format!(
                "The number of backend server groups in the VPC channel exceeds the maximum allowed limit ({MAX_GROUPS_PER_CHANNEL})."
            ),
        )
    }
}

/// A backend server group's name: 3–64 characters, a letter (of any script) first, then
/// letters, digits, `-`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupName(String);

impl GroupName {
    /// `s` if it follows the rule.
    pub fn parse(s: &str) -> Option<Self> {
        let count = s.chars().count();
        let mut chars = s.chars();
        let first = chars.next()?;
        ((3..=64).contains(&count)
            && first.is_alphabetic()
            && chars.all(|c| c.is_alphanumeric() || "-_.".contains(c)))
        .then(|| Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A backend server group, as created or updated (`MemberGroupCreate`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberGroupSpec {
    /// Unique in its channel.
    pub name: GroupName,
    /// Description, at most 255 characters (may be empty).
    pub remark: String,
    /// The weight each of its servers takes instead of its own (0–100), if set.
    pub weight: Option<u16>,
    /// Free label (`dict_code`: 3–64 letters, digits, `-`, `_`, `.`), if any.
    pub dict_code: Option<String>,
}

impl MemberGroupSpec {
    /// Reads a group body (`UpdateMemberGroup`).
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        Self::read(&Fields::new(body, ""))
    }

    /// Reads one group object (`f` names its fields).
    fn read(f: &Fields<'_>) -> Result<Self, ApiError> {
        let name = f.opt_str("member_group_name")?.and_then(GroupName::parse);
        let name = name.ok_or_else(|| f.bad("member_group_name"))?;
        let remark = f
            .opt_text("member_group_remark", MAX_REMARK)?
            .unwrap_or_default();
        let weight = f
            .opt_int_in("member_group_weight", 0..=i64::from(MAX_GROUP_WEIGHT))?
            .map(|w| w as u16);
        let dict_code = match f.opt_str("dict_code")?.filter(|c| !c.is_empty()) {
            Some(c) if is_dict_code(c) => Some(c.to_owned()),
            Some(_) => return Err(f.bad("dict_code")),
            None => None,
        };
        // Microservice and reference channels only: refused when they ask for anything.
        let asks = |field: &str| match f.get(field) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Number(n)) => n.as_i64() != Some(0),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            Some(Value::Bool(_)) => true,
        };
        for field in [
            "microservice_version",
            "microservice_port",
            "microservice_labels",
            "reference_vpc_channel_id",
        ] {
            if asks(field) {
                return Err(ApiError::new(
                    400,
                    "APIG.2011",
                    format!(
                        "Parameter value does not match the rules,parameterName:{}. Backend server groups of microservice or reference VPC channels are not supported by this gateway.",
                        f.name(field)
                    ),
                ));
            }
        }
        Ok(Self {
            name,
            remark,
            weight,
            dict_code,
        })
    }

    /// The wire object (`MemberGroupInfo` without ids and times).
    pub fn to_json(&self) -> Map<String, Value> {
        let Value::Object(mut m) = json!({
            "member_group_name": self.name.as_str(),
            "member_group_remark": self.remark,
            "dict_code": self.dict_code.as_deref().unwrap_or(""),
            "microservice_version": "",
            "microservice_port": 0,
            "microservice_labels": [],
            "reference_vpc_channel_id": "",
        }) else {
            unreachable!()
        };
        if let Some(w) = self.weight {
            m.insert("member_group_weight".into(), json!(w));
        }
        m
    }

    /// A stored group, checked again (`None`: the row is corrupt).
    pub fn from_stored(
        name: &str,
        remark: String,
        weight: Option<i64>,
        dict_code: Option<String>,
    ) -> Option<Self> {
        let weight = match weight {
            None => None,
            Some(w) => Some(u16::try_from(w).ok().filter(|w| *w <= MAX_GROUP_WEIGHT)?),
        };
        Some(Self {
            name: GroupName::parse(name)?,
            remark,
            weight,
            dict_code: dict_code.filter(|c| is_dict_code(c)),
        })
    }
}

/// Whether `s` is a `dict_code`: 3–64 letters, digits, `-`, `_` and `.`.
fn is_dict_code(s: &str) -> bool {
    (3..=64).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
}

/// Reads `member_groups` (a create body's, or a channel's): at most
/// [`MAX_GROUPS_PER_CHANNEL`]; a name given twice keeps its first definition (APIG's rule).
pub fn parse_member_groups(items: &[Value]) -> Result<Vec<MemberGroupSpec>, ApiError> {
    if items.len() > MAX_GROUPS_PER_CHANNEL {
        return Err(ApiError::vpc_member_group_limit());
    }
    let mut groups: Vec<MemberGroupSpec> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("member_groups[{i}]");
        let Value::Object(m) = item else {
            return Err(ApiError::invalid_body_field(&field));
        };
        let group = MemberGroupSpec::read(&Fields::new(m, &format!("{field}.")))?;
        if !groups.iter().any(|g| g.name == group.name) {
            groups.push(group);
        }
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn group_names_follow_apig_s_rule() {
        for good in ["abc", "group-1_a.b", "服务器组", "a12"] {
            assert!(GroupName::parse(good).is_some(), "{good}");
        }
        for bad in ["ab", "1abc", "-abc", "a b c", &"a".repeat(65), ""] {
            assert!(GroupName::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_group_is_read_with_its_rules() {
        let g = MemberGroupSpec::parse(&body(json!({"member_group_name": "blue",
            "member_group_remark": "the blue half", "member_group_weight": 3,
            "microservice_port": 0, "microservice_labels": []})))
        .unwrap();
        assert_eq!(g.name.as_str(), "blue");
        assert_eq!(g.weight, Some(3));
        assert_eq!(g.to_json()["member_group_weight"], 3);
        let unweighted = MemberGroupSpec::parse(&body(json!({"member_group_name": "green"})));
        assert!(unweighted
            .unwrap()
            .to_json()
            .get("member_group_weight")
            .is_none());
        for (bad, field) in [
            (json!({"member_group_name": "x"}), "member_group_name"),
            (
                json!({"member_group_name": "blue", "member_group_weight": 101}),
                "member_group_weight",
            ),
            (
                json!({"member_group_name": "blue", "dict_code": "a b"}),
                "dict_code",
            ),
            (
                json!({"member_group_name": "blue", "member_group_remark": "r".repeat(256)}),
                "member_group_remark",
            ),
            (
                json!({"member_group_name": "blue", "microservice_version": "v1"}),
                "microservice_version",
            ),
        ] {
            let e = MemberGroupSpec::parse(&body(bad)).unwrap_err();
            assert!(
                e.message.contains(&format!("parameterName:{field}")),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn a_name_given_twice_keeps_its_first_definition() {
        let groups = parse_member_groups(&[
            json!({"member_group_name": "blue", "member_group_weight": 1}),
            json!({"member_group_name": "blue", "member_group_weight": 9}),
        ])
        .unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].weight, Some(1));
        let e = parse_member_groups(&[json!(1)]).unwrap_err();
        assert!(e.message.contains("member_groups[0]"));
    }
}
