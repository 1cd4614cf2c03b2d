//! The APIG domain: values that parse (a value that exists passed the APIG rules), the error
//! catalogue with Huawei's codes and messages, credential generation and wire formats for time
//! and pagination. No I/O lives here, so every rule is unit-testable and shared by all front ends.

pub mod acl_policy;
pub mod api;
pub mod authz;
pub mod certificate;
pub mod env_variable;
pub mod error;
pub mod feature;
mod fields;
pub mod gateway_response;
pub mod generate;
pub mod group_domain;
pub mod identity;
pub mod member_group;
pub mod names;
pub mod openapi;
pub mod page;
pub mod plugin;
pub mod sign_key;
pub mod throttle;
pub mod timestamp;
pub mod vpc_channel;

pub use error::ApiError;
pub use feature::{FeatureName, FeatureSetting};
pub use names::{
    AppCodeValue, AppKey, AppName, AppRemark, AppSecret, InstanceDescription, InstanceName,
    ResourceId,
};
pub use page::Page;
pub use timestamp::Timestamp;
