//! Gateway features (APIG "instance features", `POST /instances/{id}/features`): switches a
//! gateway instance turns on for all its APIs. apigw honours the app authentication modes of
//! spec §4.2 that carry an app's own key and secret:
//!
//! * `app_secret`: `X-HW-ID: <AppKey>` and `X-HW-AppKey: <AppSecret>` (sic: the header named
//!   AppKey carries the secret);
//! * `app_basic`: `Authorization: Basic base64(<AppKey>:<AppSecret>)`.
//!
//! Both are off until configured, as in APIG. A feature apigw does not implement is refused
//! rather than stored and ignored, so a configuration never claims what the gateway does not do.

use crate::ApiError;
use std::fmt;

/// A feature apigw implements, by its APIG name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureName {
    /// `app_secret`: the key and secret in `X-HW-ID` / `X-HW-AppKey`.
    AppSecret,
    /// `app_basic`: the key and secret as HTTP Basic credentials.
    AppBasic,
}

impl FeatureName {
    /// Every feature apigw implements (what `GET .../instance-features` lists).
    pub const ALL: [FeatureName; 2] = [FeatureName::AppSecret, FeatureName::AppBasic];

    /// The feature named `name`; 400 `APIG.2011` (`name`) for any other.
    pub fn parse(name: &str) -> Result<Self, ApiError> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| ApiError::invalid_body_field("name"))
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureName::AppSecret => "app_secret",
            FeatureName::AppBasic => "app_basic",
        }
    }
}

impl fmt::Display for FeatureName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `config` of an on/off feature.
const ON: &str = "on";
const OFF: &str = "off";

/// A feature's setting that passed its rules: the feature, `enable`, and its `config` as it is
/// stored and shown.
///
/// Both features apigw implements are switches whose `config` is `on` or `off` (APIG's
/// example: `{"name":"app_api_key","enable":true,"config":"on"}`). Without a `config` the
/// switch follows `enable`; the feature is in force only when `enable` is true and the switch
/// is `on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureSetting {
    name: FeatureName,
    enable: bool,
    config: &'static str,
}

impl FeatureSetting {
    /// Parses a request's `name`, `enable` and `config`; 400 `APIG.2011` naming the field
    /// that broke its rule.
    pub fn parse(name: &str, enable: bool, config: Option<&str>) -> Result<Self, ApiError> {
        let name = FeatureName::parse(name)?;
        let config = match config.map(str::trim) {
            None => {
                if enable {
                    ON
                } else {
                    OFF
                }
            }
            Some(c) if c.eq_ignore_ascii_case(ON) => ON,
            Some(c) if c.eq_ignore_ascii_case(OFF) => OFF,
            Some(_) => return Err(ApiError::invalid_body_field("config")),
        };
        Ok(Self {
            name,
            enable,
            config,
        })
    }

    /// The feature.
    pub fn name(&self) -> FeatureName {
        self.name
    }

    /// `enable` as configured.
    pub fn enable(&self) -> bool {
        self.enable
    }

    /// `config` as stored and shown (`on` or `off`).
    pub fn config(&self) -> &'static str {
        self.config
    }

    /// Whether the gateway applies the feature.
    pub fn in_force(&self) -> bool {
        self.enable && self.config == ON
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_implemented_features_parse() {
        assert_eq!(
            FeatureName::parse("app_secret").unwrap(),
            FeatureName::AppSecret
        );
        assert_eq!(
            FeatureName::parse("app_basic").unwrap(),
            FeatureName::AppBasic
        );
        for other in ["", "APP_BASIC", "app_api_key", "ratelimit", "app_basic "] {
            let e = FeatureName::parse(other).unwrap_err();
            assert_eq!((e.status, e.code), (400, "APIG.2011"), "{other:?}");
            assert!(e.message.contains("parameterName:name"), "{}", e.message);
        }
        for f in FeatureName::ALL {
            assert_eq!(FeatureName::parse(f.as_str()).unwrap(), f);
        }
    }

    #[test]
    fn a_switch_is_in_force_when_enabled_and_on() {
        let s = |enable, config| FeatureSetting::parse("app_basic", enable, config);
        let on = s(true, Some("on")).unwrap();
        assert!(on.in_force() && on.enable() && on.config() == "on");
        assert!(!s(true, Some("off")).unwrap().in_force());
        assert!(!s(false, Some("on")).unwrap().in_force());
        assert_eq!(s(true, None).unwrap().config(), "on");
        assert_eq!(s(false, None).unwrap().config(), "off");
        assert_eq!(s(true, Some(" ON ")).unwrap().config(), "on");
        for bad in ["", "true", "1", "{\"enable\":\"on\"}"] {
            let e = s(true, Some(bad)).unwrap_err();
            assert_eq!(e.code, "APIG.2011");
            assert!(e.message.contains("parameterName:config"), "{bad:?}");
        }
        assert!(FeatureSetting::parse("lts", true, Some("on")).is_err());
    }
}
