//! Wiring of the data plane: builds the gateway's [`GatewayConfig`] of one instance from the
//! store (published APIs with their environments' variables filled in, app credentials,
//! authorizations, ACLs, quotas, signature keys, plug-ins, the instance's features), starts the gateway listeners, and
//! refreshes the in-memory snapshot after every management change.

use anyhow::Context;
use apigw_admin::changes::Change;
use apigw_domain::api::{
    self, ApiBackend, ApiDefinition, AuthType, BackendTarget, BackendValue, HttpMethod, MatchMode,
    ParamLocation, ParamType, ReqProtocol, SystemParam,
};
use apigw_domain::authz::AclType;
use apigw_domain::certificate::TrustedRootCa;
use apigw_domain::env_variable::{substitute, Undefined};
use apigw_domain::plugin::{
    BreakerPlugin, Downgrade, DowngradeTarget, PluginContent, RateLimitPlugin,
};
use apigw_domain::sign_key::{SignKeySpec, SignType};
use apigw_domain::throttle::SpecialObjectType;
use apigw_domain::vpc_channel;
use apigw_domain::FeatureName;
use apigw_gateway::{
    ApiAuth, ApiPlugins, AppAcl, AppCodeHasher, AppCredential, AppPatch, AppQuota, AppTokenConfig,
    AppUpdate, Backend, BackendParam, BackendPolicy, BackendRetries, BackendSigning,
    BalanceStrategy, BoundCertificate, BreakerConfig, ChannelConfig, ChannelMember, ChannelTarget,
    ClientCaFingerprint, ConditionSubject, ConditionTest, DowngradeConfig, ErrorResponses, Gateway,
    GatewayConfig, GroupConfig, GroupDomain, HealthCheckConfig, HttpBackend, InstanceFeatures,
    IpAcl, ListenerCertificate, MockAnswer, ParamValue, PolicyCondition, ProbeProtocol, Protocol,
    PublishedApi, QuotaLimit, ReqMethod, RequestParam, ThrottlePolicy, ValueRules,
};
use apigw_store::group_domains::BoundDomain;
use apigw_store::revision::Coverage;
use apigw_store::vpc_channels::VpcChannel;
use apigw_store::Store;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

fn method(m: HttpMethod) -> anyhow::Result<ReqMethod> {
    if m == HttpMethod::Any {
        return Ok(ReqMethod::Any);
    }
    Ok(ReqMethod::Only(
        m.as_str().parse().context("stored method")?,
    ))
}

/// Where a parameter travels, in the gateway's terms.
fn location(l: ParamLocation) -> apigw_gateway::ParamLocation {
    match l {
        ParamLocation::Path => apigw_gateway::ParamLocation::Path,
        ParamLocation::Query => apigw_gateway::ParamLocation::Query,
        ParamLocation::Header => apigw_gateway::ParamLocation::Header,
    }
}

/// The rules `valid_enable` turns on for a parameter: bounds on numbers for `NUMBER`, on
/// lengths for `STRING` (as APIG applies each), the enumeration for both.
fn value_rules(rp: &api::ReqParam) -> ValueRules {
    let r = &rp.rules;
    let number = rp.param_type == ParamType::Number;
    let chars = |n: Option<u32>| n.filter(|_| !number).map(|n| n as usize);
    ValueRules {
        one_of: r.enumerations.clone(),
        min: r.min_num.filter(|_| number),
        max: r.max_num.filter(|_| number),
        min_chars: chars(r.min_size),
        max_chars: chars(r.max_size),
    }
}

/// The values of one group's variables in one environment, by name.
type Variables = HashMap<String, String>;

/// The instance's VPC channels as the gateway takes them, by id.
type Channels = HashMap<String, Arc<ChannelConfig>>;

/// The gateway responses of an instance that change some answer, by id (a group's default
/// response has the group's id).
type ResponseSets = HashMap<String, Arc<ErrorResponses>>;

/// Reads instance `instance_id`'s gateway responses that change some answer.
async fn response_sets(store: &dyn Store, instance_id: &str) -> anyhow::Result<ResponseSets> {
    Ok(store
        .instance_gateway_responses(instance_id)
        .await?
        .into_iter()
        .filter_map(|r| Some((r.id, Arc::new(ErrorResponses::new(&r.rules)?))))
        .collect())
}

/// What the refusals of an API of group `group_id` defined as `d` are answered with: the
/// response it names, else its group's default.
fn api_responses(
    sets: &ResponseSets,
    d: &ApiDefinition,
    group_id: &str,
) -> Option<Arc<ErrorResponses>> {
    sets.get(d.response_id().unwrap_or(group_id)).cloned()
}

/// A stored channel as the gateway spreads calls over it: its enabled members only.
fn channel_config(c: VpcChannel) -> ChannelConfig {
    let port = c.spec.port;
    // A group's weight, when set, is each of its servers' weight.
    let group_weight = |group_id: Option<&str>| {
        let group = c.groups.iter().find(|g| Some(g.id.as_str()) == group_id)?;
        group.spec.weight
    };
    ChannelConfig {
        strategy: match c.spec.balance_strategy {
            vpc_channel::BalanceStrategy::WeightedRoundRobin => BalanceStrategy::RoundRobin,
            vpc_channel::BalanceStrategy::WeightedLeastConnections => {
                BalanceStrategy::LeastConnections
            }
            vpc_channel::BalanceStrategy::SourceHash => BalanceStrategy::SourceHash,
            vpc_channel::BalanceStrategy::UriHash => BalanceStrategy::UriHash,
        },
        members: c
            .members
            .into_iter()
            .filter(|m| m.spec.enabled)
            .map(|m| ChannelMember {
                weight: group_weight(m.group_id.as_deref()).unwrap_or(m.spec.weight),
                id: m.id,
                port: m.spec.port_or(port),
                host: m.spec.host,
                backup: m.spec.is_backup,
            })
            .collect(),
        health_check: c.spec.health.map(|h| HealthCheckConfig {
            protocol: match h.protocol {
                vpc_channel::HealthProtocol::Tcp => ProbeProtocol::Tcp,
                vpc_channel::HealthProtocol::Http => ProbeProtocol::Http,
                vpc_channel::HealthProtocol::Https => ProbeProtocol::Https,
            },
            path: h.path,
            method: h.method,
            port: h.port,
            healthy_threshold: h.threshold_normal,
            unhealthy_threshold: h.threshold_abnormal,
            interval: Duration::from_secs(u64::from(h.interval_s)),
            timeout: Duration::from_secs(u64::from(h.timeout_s)),
            codes: h.http_codes.ranges().to_vec(),
        }),
        id: c.id,
    }
}

/// The backend of a definition in the environment whose variables are `variables`: its
/// address and path with every `#name#` filled in, or `Missing` (500 `APIG.0103` for calls)
/// when a name is not defined there or the address it makes is none.
///
/// A backend on a VPC channel is sent to the channel's servers (`Missing` if the channel is
/// gone, which the store prevents while an API names it).
fn backend_in_env(
    b: &api::BackendApi,
    variables: Option<&Variables>,
    channels: &Channels,
) -> anyhow::Result<Backend> {
    let value = |name: &str| variables.and_then(|v| v.get(name)).map(String::as_str);
    let (address, channel) = match &b.target {
        BackendTarget::Address(domain) => match domain.address(value) {
            Ok(address) => (Some(address), None),
            Err(why) => {
                return Ok(Backend::Missing {
                    reason: format!("url_domain {:?}: {why}", domain.as_str()),
                })
            }
        },
        BackendTarget::Channel(r) => match channels.get(&r.channel_id) {
            Some(channel) => (
                None,
                Some(ChannelTarget {
                    channel: Arc::clone(channel),
                    proxy_host: r.proxy_host.clone(),
                }),
            ),
            None => {
                return Ok(Backend::Missing {
                    reason: format!("VPC channel {} does not exist", r.channel_id),
                })
            }
        },
    };
    let path = match substitute(b.req_uri.as_str(), value) {
        Ok(path) => path.into_owned(),
        Err(Undefined(name)) => {
            return Ok(Backend::Missing {
                reason: format!(
                    "req_uri {:?}: environment variable {name} is not defined",
                    b.req_uri.as_str()
                ),
            })
        }
    };
    Ok(Backend::Http(HttpBackend {
        https: b.req_protocol.is_tls(),
        grpc: b.req_protocol.is_grpc(),
        host: address
            .as_ref()
            .map(|a| a.host().to_owned())
            .unwrap_or_default(),
        port: address.map_or(0, |a| a.port_for(b.req_protocol)),
        method: method(b.req_method)?,
        path,
        timeout: Duration::from_millis(u64::from(b.timeout_ms)),
        retries: BackendRetries::from_retry_count(b.retry_count),
        channel,
    }))
}

/// The gateway's form of `params`, sent with calls of the API published as `p` (values fixed
/// for the route, such as `$context.apiId`, resolved here once instead of per request).
fn backend_params(
    params: &[api::BackendParam],
    p: &apigw_store::apis::PublishedApi,
) -> Vec<BackendParam> {
    params
        .iter()
        .map(|bp| BackendParam {
            name: bp.name.as_str().to_owned(),
            location: location(bp.location),
            value: match &bp.value {
                BackendValue::Constant(c) => ParamValue::Constant(c.clone()),
                BackendValue::Request(name) => ParamValue::Request(name.as_str().to_owned()),
                BackendValue::System(SystemParam::AppId) => {
                    ParamValue::System(apigw_gateway::SystemParam::AppId)
                }
                BackendValue::System(SystemParam::AppName) => {
                    ParamValue::System(apigw_gateway::SystemParam::AppName)
                }
                BackendValue::System(SystemParam::SourceIp) => {
                    ParamValue::System(apigw_gateway::SystemParam::SourceIp)
                }
                BackendValue::System(SystemParam::RequestId) => {
                    ParamValue::System(apigw_gateway::SystemParam::RequestId)
                }
                BackendValue::System(SystemParam::ApiId) => ParamValue::Constant(p.api_id.clone()),
                BackendValue::System(SystemParam::ApiName) => {
                    ParamValue::Constant(p.definition.name().as_str().to_owned())
                }
                BackendValue::System(SystemParam::Stage) => {
                    ParamValue::Constant(p.env_name.clone())
                }
            },
        })
        .collect()
}

/// The gateway's form of a backend policy's conditions.
fn policy_conditions(conditions: &[api::policy::PolicyCondition]) -> Vec<PolicyCondition> {
    use api::policy::{ConditionSubject as S, ConditionTest as T};
    conditions
        .iter()
        .map(|c| PolicyCondition {
            subject: match &c.subject {
                S::Param { name, location: at } => ConditionSubject::Param {
                    name: name.as_str().to_owned(),
                    location: location(*at),
                },
                S::SourceIp => ConditionSubject::SourceIp,
                S::Path(_) => ConditionSubject::Path,
                S::Method(_) => ConditionSubject::Method,
                S::Cookie(name) => ConditionSubject::Cookie(name.clone()),
            },
            test: match &c.test {
                T::Exact(v) => ConditionTest::Equals(v.clone()),
                T::OneOf(vs) => ConditionTest::OneOf(vs.clone()),
                T::Pattern(p) => ConditionTest::Pattern(p.clone()),
                T::Addresses(values) => ConditionTest::Addresses(
                    values
                        .as_slice()
                        .iter()
                        .filter_map(|v| AppAcl::parse_value(v))
                        .collect(),
                ),
            },
        })
        .collect()
}

/// The backend a definition's `backend` is in the environment whose variables are
/// `variables`.
fn api_backend(
    backend: &ApiBackend,
    variables: Option<&Variables>,
    channels: &Channels,
) -> anyhow::Result<Backend> {
    Ok(match backend {
        ApiBackend::Http(b) | ApiBackend::Grpc(b) => backend_in_env(b, variables, channels)?,
        ApiBackend::Mock(mock) => Backend::Mock(MockAnswer {
            content: mock.result_content.clone(),
        }),
    })
}

/// Translates one published definition into the gateway's route entry, with its
/// environment's `variables` filled into the backend.
fn published(
    p: &apigw_store::apis::PublishedApi,
    variables: Option<&Variables>,
    channels: &Channels,
) -> anyhow::Result<PublishedApi> {
    let d: &ApiDefinition = &p.definition;
    let req_params = d
        .req_params()
        .iter()
        .map(|rp| RequestParam {
            name: rp.name.as_str().to_owned(),
            location: location(rp.location),
            required: rp.required,
            number: rp.param_type == ParamType::Number,
            default_value: rp.default_value.clone(),
            rules: if rp.valid_enable {
                value_rules(rp)
            } else {
                ValueRules::default()
            },
            pass_through: rp.pass_through,
        })
        .collect();
    Ok(PublishedApi {
        api_id: p.api_id.clone(),
        name: d.name().as_str().to_owned(),
        group_id: p.group.id.clone(),
        env_id: p.env_id.clone(),
        env_name: p.env_name.clone(),
        req_protocol: match d.req_protocol() {
            ReqProtocol::Http => Protocol::Http,
            ReqProtocol::Https => Protocol::Https,
            ReqProtocol::Both => Protocol::Both,
            ReqProtocol::Grpcs => Protocol::Grpcs,
        },
        req_method: method(d.req_method())?,
        req_uri: d.req_uri().as_str().to_owned(),
        match_mode: match d.match_mode() {
            MatchMode::Normal => apigw_gateway::MatchMode::Normal,
            MatchMode::Swa => apigw_gateway::MatchMode::Swa,
        },
        auth: match d.auth_type() {
            AuthType::None => ApiAuth::None,
            AuthType::App => ApiAuth::App {
                app_code_header: d.app_code_auth() == api::AppCodeAuth::Header,
            },
        },
        backend: api_backend(d.backend(), variables, channels)?,
        req_params,
        backend_params: backend_params(d.backend_params(), p),
        policies: d
            .policies()
            .iter()
            .map(|policy| {
                Ok(BackendPolicy {
                    name: policy.name.as_str().to_owned(),
                    match_all: policy.effect_mode == api::policy::EffectMode::All,
                    conditions: policy_conditions(&policy.conditions),
                    backend: match &policy.backend {
                        api::policy::PolicyBackend::Server(b) => {
                            match backend_in_env(b, variables, channels)? {
                                // The log names the policy whose backend is missing.
                                Backend::Missing { reason } => Backend::Missing {
                                    reason: format!("backend policy {}: {reason}", policy.name),
                                },
                                backend => backend,
                            }
                        }
                        api::policy::PolicyBackend::Mock(content) => Backend::Mock(MockAnswer {
                            content: content.clone(),
                        }),
                    },
                    backend_params: backend_params(&policy.backend_params, p),
                })
            })
            .collect::<anyhow::Result<_>>()?,
        cors: d.cors(),
        throttle: None,
        ip_acl: None,
        backend_signing: None,
        responses: None,
        plugins: Default::default(),
    })
}

/// The route entry of an API's current definition alone, for a `DEVELOPER` debugging call:
/// in an environment of its own ([`DEVELOPER_STAGE`](api::debug::DEVELOPER_STAGE)), callable
/// without credentials (its owner calls it), with nothing an environment binds, in a group
/// that any host reaches.
pub async fn definition_route(
    store: &dyn Store,
    api: &apigw_store::apis::Api,
    region: &str,
) -> anyhow::Result<(GroupConfig, PublishedApi)> {
    let on_channel = api
        .definition
        .servers()
        .any(|b| matches!(b.target, BackendTarget::Channel(_)));
    let channels: Channels = if on_channel {
        store
            .vpc_channels_in_force(&api.instance_id)
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), Arc::new(channel_config(c))))
            .collect()
    } else {
        Channels::new()
    };
    let group = apigw_store::apis::PublishedGroup {
        id: api.group.id.clone(),
        name: api.group.name.as_str().to_owned(),
        is_default: true,
        sl_domain_access: true,
    };
    let definition = apigw_store::apis::PublishedApi {
        env_id: api::debug::DEVELOPER_STAGE.to_owned(),
        env_name: api::debug::DEVELOPER_STAGE.to_owned(),
        group,
        api_id: api.id.clone(),
        publish_id: String::new(),
        version_id: String::new(),
        publish_time: api.update_time,
        definition: api.definition.clone(),
    };
    let mut route = published(&definition, None, &channels)?;
    route.auth = ApiAuth::None;
    let sets = response_sets(store, &api.instance_id).await?;
    route.responses = api_responses(&sets, &api.definition, &api.group.id);
    let group = GroupConfig {
        id: api.group.id.clone(),
        name: api.group.name.as_str().to_owned(),
        is_default: true,
        subdomain_open: true,
        domains: vec![api::sl_domain(&api.group.id, region).into()],
        responses: sets.get(&api.group.id).cloned(),
    };
    Ok((group, route))
}

/// An app's credentials as the gateway takes them (AppCode hashes decoded from hex).
fn credential(a: apigw_store::AppCredentials) -> anyhow::Result<AppCredential> {
    let hashes = a
        .app_code_hashes
        .iter()
        .map(|h| AppCodeHasher::parse_hex(h).context("stored AppCode index is not 32 bytes of hex"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(AppCredential {
        app_id: a.app_id,
        app_name: a.app_name,
        app_key: a.app_key.into_inner(),
        app_secret: a.app_secret.into_inner(),
        app_code_hashes: hashes,
    })
}

/// An app ACL as inclusive address ranges.
fn acl(acl: &apigw_store::authz::AppAcl) -> AppAcl {
    AppAcl {
        app_id: acl.app_id.clone(),
        permit: acl.rule.acl_type == AclType::Permit,
        ranges: acl
            .rule
            .values
            .as_slice()
            .iter()
            .filter_map(|v| AppAcl::parse_value(v))
            .collect(),
    }
}

/// What a quota allows, as the gateway counts it.
fn quota_limit(limits: &apigw_domain::authz::QuotaLimits) -> QuotaLimit {
    QuotaLimit {
        call_limit: u64::from(limits.call_limits.get()),
        interval: Duration::from_secs(limits.window_seconds()),
        reset_at_ms: limits
            .reset_time
            .map(|t| t.timestamp().nanos().div_euclid(1_000_000)),
    }
}

/// An app quota binding as a call limit per window.
fn quota(q: &apigw_store::authz::AppQuotaLimits) -> AppQuota {
    AppQuota {
        app_id: q.app_id.clone(),
        quota_id: q.app_quota_id.clone(),
        limit: quota_limit(&q.limits),
    }
}

/// The complete data-plane state of one app, or its removal when it no longer exists.
async fn app_patch(store: &dyn Store, instance_id: &str, app_id: &str) -> anyhow::Result<AppPatch> {
    let Some(found) = store.app_credential(instance_id, app_id).await? else {
        return Ok(AppPatch::Remove(app_id.to_owned()));
    };
    let authz = store.app_authz(instance_id, app_id).await?;
    Ok(AppPatch::Upsert(AppUpdate {
        credential: credential(found)?,
        auths: authz
            .auths
            .into_iter()
            .map(|(_, api, env)| (api, env))
            .collect(),
        acl: authz.acls.first().map(acl),
        quota: authz.quotas.first().map(quota),
    }))
}

/// The data plane's form of a policy bound to a published API: its exceptions resolved (an
/// app's own limit by app; the tenant's own user limit when it is the instance's project).
fn throttle_policy(t: apigw_store::throttles::ThrottledApi) -> ThrottlePolicy {
    let limits = &t.limits;
    let own = |kind: SpecialObjectType| {
        t.specials
            .iter()
            .filter(move |(k, _, _)| *k == kind)
            .map(|(_, id, limit)| (id, *limit))
    };
    let user_limit = own(SpecialObjectType::User)
        .find(|(id, _)| **id == t.project_id)
        .map(|(_, limit)| limit)
        .or(limits.user.map(|n| n.get()));
    ThrottlePolicy {
        throttle_id: t.throttle_id.clone(),
        shared: t.shared,
        window: Duration::from_millis(limits.window_ms()),
        api_limit: Some(limits.api.get()),
        user_limit,
        app_limit: limits.app.map(|n| n.get()),
        app_exceptions: own(SpecialObjectType::App)
            .map(|(id, limit)| (id.clone(), limit))
            .collect(),
        ip_limit: limits.ip.map(|n| n.get()),
        parameter_rules: None,
    }
}

/// The data plane's form of a `rate_limit` plug-in attached to a published API: a request
/// throttling policy of its own (its counters apart from every policy's and every other
/// plug-in's), its excluded tenant resolved as a policy's is.
fn plugin_throttle(plugin_id: &str, project_id: &str, plugin: RateLimitPlugin) -> ThrottlePolicy {
    let user_limit = plugin
        .user_specials
        .iter()
        .find(|(tenant, _)| tenant == project_id)
        .map(|(_, limit)| *limit)
        .or(plugin.user_limit);
    ThrottlePolicy {
        throttle_id: format!("plugin:{plugin_id}"),
        shared: plugin.shared,
        window: Duration::from_millis(plugin.window_ms()),
        api_limit: plugin.api_limit,
        user_limit,
        app_limit: plugin.app_limit,
        app_exceptions: plugin.app_specials.clone(),
        ip_limit: plugin.ip_limit,
        parameter_rules: (!plugin.rules.is_empty()).then(|| Arc::new(plugin)),
    }
}

/// The circuit breaker of the `breaker` plug-in `plugin_id` attached to `api`: its counts
/// shared by every API the plug-in is attached to (`share`), or the API's own in this
/// environment (`basic`); each breaker's downgrade resolved (a `passthrough` one is the API's
/// own backend with the fields added, an `http_vpc` one the channel's servers).
fn breaker_config(
    plugin_id: &str,
    plugin: BreakerPlugin,
    api: &PublishedApi,
    channels: &Channels,
) -> BreakerConfig {
    let key = if plugin.shared {
        format!("plugin:{plugin_id}")
    } else {
        format!("plugin:{plugin_id}:{}:{}", api.api_id, api.env_id)
    };
    let downgrade = |d: Option<&Downgrade>| match d {
        None => DowngradeConfig::Unavailable,
        Some(Downgrade::Mock(answer)) => DowngradeConfig::Mock(answer.clone()),
        Some(Downgrade::Passthrough(fields)) => DowngradeConfig::Backend {
            backend: api.backend.clone(),
            params: api
                .backend_params
                .iter()
                .cloned()
                .chain(fields.iter().map(|(name, value)| BackendParam {
                    name: name.clone(),
                    location: apigw_gateway::ParamLocation::Header,
                    value: ParamValue::Constant(value.clone()),
                }))
                .collect(),
        },
        Some(Downgrade::Http(b)) => {
            let channel = match &b.target {
                DowngradeTarget::Address(_) => None,
                DowngradeTarget::Channel(id) => match channels.get(id) {
                    Some(channel) => Some(ChannelTarget {
                        channel: Arc::clone(channel),
                        proxy_host: None,
                    }),
                    None => {
                        let reason =
                            format!("VPC channel {id} of circuit breaker {key} does not exist");
                        return DowngradeConfig::Backend {
                            backend: Backend::Missing { reason },
                            params: Vec::new(),
                        };
                    }
                },
            };
            let (host, port) = match &b.target {
                DowngradeTarget::Address(a) => (a.host().to_owned(), a.port_for(b.protocol())),
                DowngradeTarget::Channel(_) => (String::new(), 0),
            };
            let method = match b.method {
                HttpMethod::Any => ReqMethod::Any,
                m => ReqMethod::Only(m.as_str().parse().unwrap_or(http::Method::GET)),
            };
            DowngradeConfig::Backend {
                backend: Backend::Http(HttpBackend {
                    https: b.https,
                    grpc: false,
                    host,
                    port,
                    method,
                    path: b.path.clone(),
                    timeout: Duration::from_millis(u64::from(b.timeout_ms)),
                    retries: BackendRetries::default(),
                    channel,
                }),
                params: Vec::new(),
            }
        }
    };
    let mut downgrades = vec![downgrade(plugin.downgrade.as_ref())];
    for rule in &plugin.rules {
        downgrades.push(downgrade(
            rule.downgrade.as_ref().or(plugin.downgrade.as_ref()),
        ));
    }
    BreakerConfig {
        key,
        plugin: Arc::new(plugin),
        downgrades,
    }
}

/// Reads what instance `instance_id` routes: its groups with published APIs, and those APIs.
async fn load_routes(
    store: &dyn Store,
    instance_id: &str,
    region: &str,
) -> anyhow::Result<(Vec<GroupConfig>, Vec<PublishedApi>)> {
    let published_apis = store.published_apis(instance_id).await?;
    let mut throttles: HashMap<(String, String), ThrottlePolicy> = store
        .throttled_apis(instance_id)
        .await?
        .into_iter()
        .map(|t| ((t.api_id.clone(), t.env_id.clone()), throttle_policy(t)))
        .collect();
    let mut ip_acls: HashMap<(String, String), IpAcl> = store
        .acl_bound_apis(instance_id)
        .await?
        .into_iter()
        .map(|a| {
            let acl = IpAcl {
                permit: a.acl_type == AclType::Permit,
                ranges: a
                    .values
                    .iter()
                    .filter_map(|v| AppAcl::parse_value(v))
                    .collect(),
            };
            ((a.api_id, a.env_id), acl)
        })
        .collect();
    let mut signing: HashMap<(String, String), BackendSigning> = store
        .signed_backends(instance_id)
        .await?
        .into_iter()
        .map(|b| {
            let SignKeySpec {
                sign_type,
                key,
                secret,
                ..
            } = b.key;
            let signing = match sign_type {
                SignType::Hmac => BackendSigning::Hmac { key, secret },
                SignType::Basic => BackendSigning::Basic { key, secret },
            };
            ((b.api_id, b.env_id), signing)
        })
        .collect();
    let mut plugins: HashMap<(String, String), ApiPlugins> = HashMap::new();
    // Breakers are resolved once the API's backend is known (a passthrough downgrade is it).
    let mut breakers: HashMap<(String, String), (String, BreakerPlugin)> = HashMap::new();
    for attached in store.attached_plugins(instance_id).await? {
        let key = (attached.api_id, attached.env_id);
        let entry = plugins.entry(key.clone()).or_default();
        match attached.content {
            PluginContent::Cors(cors) => entry.cors = Some(cors),
            PluginContent::SetRespHeaders(rules) => entry.response_headers = Some(rules),
            // In force in place of a request throttling policy bound to the same API (APIG's
            // rule: the policy becomes invalid).
            PluginContent::RateLimit(limits) => {
                let policy = plugin_throttle(&attached.plugin_id, &attached.project_id, limits);
                throttles.insert(key, policy);
            }
            PluginContent::Breaker(breaker) => {
                breakers.insert(key, (attached.plugin_id, breaker));
            }
        }
    }
    // Group id → environment id → the values there.
    let mut variables: HashMap<String, HashMap<String, Variables>> = HashMap::new();
    for v in store.instance_env_variables(instance_id).await? {
        variables
            .entry(v.group_id)
            .or_default()
            .entry(v.env_id)
            .or_default()
            .insert(v.name.as_str().to_owned(), v.value.as_str().to_owned());
    }
    let channels: Channels = store
        .vpc_channels_in_force(instance_id)
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), Arc::new(channel_config(c))))
        .collect();
    let sets = response_sets(store, instance_id).await?;
    // Every group, also one with nothing published: its subdomain leads to it (its callers get
    // its 404 and its gateway response, not the DEFAULT group's APIs).
    let mut groups: BTreeMap<String, GroupConfig> = BTreeMap::new();
    let all_groups = store.instance_groups(instance_id).await?;
    for g in all_groups
        .iter()
        .chain(published_apis.iter().map(|p| &p.group))
    {
        // A closed subdomain is routed nowhere, under either of its names.
        groups.entry(g.id.clone()).or_insert_with(|| GroupConfig {
            id: g.id.clone(),
            name: g.name.clone(),
            is_default: g.is_default,
            subdomain_open: g.sl_domain_access,
            domains: if g.sl_domain_access {
                vec![api::sl_domain(&g.id, region).into()]
            } else {
                Vec::new()
            },
            responses: sets.get(&g.id).cloned(),
        });
    }
    let mut apis = Vec::with_capacity(published_apis.len());
    for p in &published_apis {
        let env_variables = variables.get(&p.group.id).and_then(|e| e.get(&p.env_id));
        let mut api = published(p, env_variables, &channels)?;
        let key = (p.api_id.clone(), p.env_id.clone());
        api.throttle = throttles.remove(&key);
        api.ip_acl = ip_acls.remove(&key);
        api.backend_signing = signing.remove(&key);
        api.plugins = plugins.remove(&key).unwrap_or_default();
        if let Some((plugin_id, breaker)) = breakers.remove(&key) {
            api.plugins.breaker = Some(breaker_config(&plugin_id, breaker, &api, &channels));
        }
        api.responses = api_responses(&sets, &p.definition, &p.group.id);
        apis.push(api);
    }
    // Bound names route to their group even while it has nothing published (its callers get
    // 404, not the DEFAULT group's APIs).
    for d in store.instance_domains(instance_id).await? {
        let group = groups
            .entry(d.group_id.clone())
            .or_insert_with(|| GroupConfig {
                id: d.group_id.clone(),
                name: d.group_id.clone(),
                is_default: false,
                subdomain_open: true,
                domains: vec![api::sl_domain(&d.group_id, region).into()],
                responses: sets.get(&d.group_id).cloned(),
            });
        group.domains.push(GroupDomain {
            name: d.domain.as_str().to_owned(),
            redirect_to_https: d.redirect_to_https,
            // -1 (no HTTPS port) and 443 leave the port out of the redirect.
            https_port: u16::try_from(d.ingress_ports.https)
                .ok()
                .filter(|&port| port != 443),
            // -1: "no port, the protocol is not supported" for this name.
            on_http: d.ingress_ports.http != -1,
            on_https: d.ingress_ports.https != -1,
            client_ca: client_ca(&d),
        });
    }
    Ok((groups.into_values().collect(), apis))
}

/// The CA set a bound name's callers must present a client certificate from, if it verifies
/// them. The store sets the flag only while the certificate has a CA; were it set without one,
/// the name would take no call (no connection is verified against an all-zero fingerprint).
fn client_ca(d: &BoundDomain) -> Option<ClientCaFingerprint> {
    if !d.verify_client_certificate {
        return None;
    }
    Some(
        d.trusted_root_ca()
            .map_or([0; 32], TrustedRootCa::fingerprint),
    )
}

/// Presents the certificates added to instance `instance_id`'s bound domains on the HTTPS
/// listener, in place of those presented before.
pub async fn present_domain_certificates(
    store: &dyn Store,
    instance_id: &str,
    listener: &ListenerCertificate,
) -> anyhow::Result<()> {
    let pairs: Vec<BoundCertificate> = store
        .instance_domain_certificates(instance_id)
        .await?
        .into_iter()
        .map(|p| BoundCertificate {
            name: p.domain.as_str().to_owned(),
            id: p.certificate_id,
            chain_pem: p.chain_pem,
            key_pem: p.key_pem,
            client_ca: p.client_ca,
        })
        .collect();
    for (domain, e) in listener.set_bound(&pairs) {
        tracing::error!(%domain, error = %e, "a bound domain's stored certificate cannot be used; the name gets the listener's own certificate");
    }
    Ok(())
}

/// Reads everything instance `instance_id` serves into one gateway configuration.
pub async fn load_config(
    store: &dyn Store,
    instance_id: &str,
    region: &str,
) -> anyhow::Result<GatewayConfig> {
    let (groups, apis) = load_routes(store, instance_id, region).await?;
    let apps = store
        .app_credentials(instance_id)
        .await?
        .into_iter()
        .map(credential)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let authz = store.authz_snapshot(instance_id).await?;
    let acls = authz.acls.iter().map(acl).collect();
    let quotas = authz.quotas.iter().map(quota).collect();
    let features = store.instance_features(instance_id).await?;
    Ok(GatewayConfig {
        groups,
        apis,
        apps,
        auths: authz.auths,
        acls,
        quotas,
        features: features_in_force(&features),
    })
}

/// The header a feature names in place of `Authorization`; `authorization` itself, or a name
/// HTTP cannot carry, leaves `Authorization`.
fn instead_of_authorization(f: &apigw_store::InstanceFeature) -> Option<http::HeaderName> {
    f.setting
        .header_name()
        .and_then(|name| http::HeaderName::try_from(name).ok())
        .filter(|name| *name != http::header::AUTHORIZATION)
}

/// What an instance's configured features put in force.
fn features_in_force(features: &[apigw_store::InstanceFeature]) -> InstanceFeatures {
    let mut in_force = InstanceFeatures::default();
    for f in features.iter().filter(|f| f.setting.in_force()) {
        match f.setting.name() {
            FeatureName::AppSecret => in_force.app_secret = true,
            FeatureName::AppBasic => in_force.app_basic = true,
            FeatureName::AppApiKey => in_force.app_api_key = true,
            FeatureName::AppRoute => in_force.app_route = true,
            FeatureName::AppAuthHeader => in_force.app_auth_header = instead_of_authorization(f),
            FeatureName::BackendSignHeader => {
                in_force.backend_sign_header = instead_of_authorization(f)
            }
            FeatureName::AppToken => {
                in_force.app_token = f.setting.app_token().map(|terms| {
                    Arc::new(AppTokenConfig {
                        uri: terms.uri().to_owned(),
                        access_ttl: Duration::from_secs(terms.access_ttl_secs().into()),
                        refresh_ttl: Duration::from_secs(terms.refresh_ttl_secs().into()),
                        key_digest: terms.key_digest(),
                    })
                })
            }
            FeatureName::RealIpFromXff => in_force.client_ip_xff_index = f.setting.xff_index(),
            FeatureName::RequestBodySize => in_force.max_body_bytes = f.setting.body_limit(),
            FeatureName::BackendTimeout => {
                in_force.max_backend_timeout = f
                    .setting
                    .max_backend_timeout_ms()
                    .map(|ms| Duration::from_millis(u64::from(ms)))
            }
            FeatureName::RateLimit => {
                in_force.api_calls_per_second = f.setting.api_calls_per_second()
            }
        }
    }
    in_force
}

/// Brings the gateway's snapshot up to date after each change: a change that concerns only
/// some apps patches just those apps, a quota change replaces that quota's terms (both
/// microseconds, whatever the number of credentials);
/// anything else rebuilds the snapshot from the store. Reads and swaps are serialised so an
/// older read can never overwrite a newer state. A store failure keeps the last snapshot serving
/// (DESIGN: never turn a store fault into 401/403) and leaves the change uncovered, so the next
/// sync check reloads once the store is back.
pub struct Refresher {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The instance the gateway serves.
    pub instance_id: String,
    /// Region, for group subdomains.
    pub region: String,
    /// The gateway whose snapshot is replaced.
    pub gateway: Gateway,
    /// The HTTPS listener's certificates, if it listens: bound domains' certificates are
    /// routing data, put in force with the routes.
    pub certificate: Option<Arc<ListenerCertificate>>,
    /// Which committed revisions the snapshot reflects; its lock serialises read-then-apply.
    pub coverage: tokio::sync::Mutex<Coverage>,
}

impl Refresher {
    /// Applies one change that committed `revisions`.
    pub async fn apply(&self, change: Change, revisions: &[i64]) {
        let mut coverage = self.coverage.lock().await;
        let applied = match &change {
            Change::Routes => self.reroute().await,
            Change::Apps(ids) => self.patch(ids).await,
            Change::Quota(id) => self.set_quota(id).await,
            Change::Features(id) if id.eq_ignore_ascii_case(&self.instance_id) => {
                self.set_features().await
            }
            // Another instance's settings or deletion: nothing this data plane serves.
            Change::Features(id) | Change::Instance(id)
                if !id.eq_ignore_ascii_case(&self.instance_id) =>
            {
                tracing::debug!(instance_id = %id, "a change of another instance; nothing to reload");
                true
            }
            Change::Features(_) | Change::Instance(_) | Change::Everything => false,
        };
        if applied {
            coverage.cover(revisions);
        } else {
            self.reload(&mut coverage).await;
        }
    }

    /// Reloads everything unless the snapshot already has every revision up to `n`.
    pub async fn ensure_covers(&self, n: i64) {
        let mut coverage = self.coverage.lock().await;
        if !coverage.covers(n) {
            tracing::info!(
                applied = coverage.base(),
                committed = n,
                "the data plane missed a change; reloading everything"
            );
            self.reload(&mut coverage).await;
        }
    }

    /// Reloads everything (after a lost connection to the other nodes).
    pub async fn reload_all(&self) {
        let mut coverage = self.coverage.lock().await;
        self.reload(&mut coverage).await;
    }

    /// Re-reads the routes (and the bound domains' certificates) only; false if that failed.
    async fn reroute(&self) -> bool {
        match load_routes(self.store.as_ref(), &self.instance_id, &self.region).await {
            Ok((groups, apis)) => {
                self.gateway.replace_routes(groups, apis).await;
                self.present_certificates().await
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot read the routes; reloading everything");
                false
            }
        }
    }

    /// Re-reads the bound domains' certificates for the HTTPS listener; false if that failed.
    async fn present_certificates(&self) -> bool {
        let Some(listener) = &self.certificate else {
            return true;
        };
        match present_domain_certificates(self.store.as_ref(), &self.instance_id, listener).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot read the bound domains' certificates; reloading everything");
                false
            }
        }
    }

    /// Re-reads the named apps and patches them in; false if that failed.
    async fn patch(&self, ids: &[String]) -> bool {
        let started = std::time::Instant::now();
        let mut patches = Vec::with_capacity(ids.len());
        for id in ids {
            match app_patch(self.store.as_ref(), &self.instance_id, id).await {
                Ok(p) => patches.push(p),
                Err(e) => {
                    tracing::error!(app_id = %id, error = %format!("{e:#}"), "cannot read an app for the data plane; reloading everything");
                    return false;
                }
            }
        }
        self.gateway.patch(patches).await;
        tracing::debug!(
            apps = ids.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "data plane patched"
        );
        true
    }

    /// Re-reads one quota and puts its terms in force for every app bound to it (or lifts it
    /// when it is gone); false if that failed.
    async fn set_quota(&self, quota_id: &str) -> bool {
        match self.store.quota_limits(&self.instance_id, quota_id).await {
            Ok(limits) => {
                let limit = limits.as_ref().map(quota_limit);
                self.gateway.set_quota(quota_id, limit).await;
                true
            }
            Err(e) => {
                tracing::error!(app_quota_id = %quota_id, error = %format!("{e:#}"), "cannot read a quota for the data plane; reloading everything");
                false
            }
        }
    }

    /// Re-reads the instance's features and puts them in force; false if that failed.
    async fn set_features(&self) -> bool {
        match self.store.instance_features(&self.instance_id).await {
            Ok(features) => {
                self.gateway
                    .set_features(features_in_force(&features))
                    .await;
                true
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot read the instance's features; reloading everything");
                false
            }
        }
    }

    /// Loads the whole configuration and swaps it in; on success the snapshot covers every
    /// revision committed before the load began.
    async fn reload(&self, coverage: &mut Coverage) {
        let started = std::time::Instant::now();
        let loaded = async {
            let revision = self.store.revision().await?;
            let config = load_config(self.store.as_ref(), &self.instance_id, &self.region).await?;
            anyhow::Ok((revision, config))
        };
        match loaded.await {
            Ok((revision, config)) => {
                let (apis, apps) = (config.apis.len(), config.apps.len());
                self.gateway.replace(config).await;
                if !self.present_certificates().await {
                    return;
                }
                *coverage = Coverage::reloaded(revision);
                tracing::debug!(
                    apis,
                    apps,
                    revision,
                    elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "data plane snapshot replaced"
                );
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot reload the data plane configuration; serving the previous snapshot");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apigw_domain::plugin::PluginType;

    fn rate_limit(content: serde_json::Value) -> RateLimitPlugin {
        match PluginContent::parse(PluginType::RateLimit, &content.to_string()).unwrap() {
            PluginContent::RateLimit(p) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_rate_limit_plugin_becomes_a_policy_of_its_own_with_its_tenant_resolved() {
        let plugin = rate_limit(serde_json::json!({
            "scope": "share", "api_limit": -1, "user_limit": 50, "app_limit": 5,
            "default_interval": 2, "default_time_unit": "minute",
            "specials": [
                {"type": "user", "policies": [{"key": "other", "limit": 1}, {"key": "proj", "limit": 9}]},
                {"type": "app", "policies": [{"key": "vip", "limit": 7}]}
            ]
        }));
        let policy = plugin_throttle("p1", "proj", plugin.clone());
        assert_eq!(policy.throttle_id, "plugin:p1");
        assert!(policy.shared);
        assert_eq!(policy.window, Duration::from_secs(120));
        assert_eq!(policy.api_limit, None);
        // The instance's own tenant is excluded; another tenant's entry changes nothing.
        assert_eq!(policy.user_limit, Some(9));
        assert_eq!(policy.app_limit, Some(5));
        assert_eq!(policy.app_exceptions, [("vip".to_owned(), 7)]);
        assert_eq!(policy.parameter_rules, None, "no rules, nothing to match");
        assert_eq!(
            plugin_throttle("p1", "elsewhere", plugin).user_limit,
            Some(50)
        );

        let with_rule = rate_limit(serde_json::json!({
            "api_limit": 10,
            "parameters": [{"type": "method", "name": "m", "value": "method"}],
            "rules": [{"rule_name": "r", "match_regex": "[\"m\",\"==\",\"GET\"]", "limit": 1}]
        }));
        let policy = plugin_throttle("p2", "proj", with_rule.clone());
        assert!(!policy.shared);
        assert_eq!(policy.parameter_rules.as_deref(), Some(&with_rule));
    }

    #[test]
    fn a_breaker_plugin_s_downgrades_are_resolved_against_the_api_and_its_channels() {
        let content = serde_json::json!({
            "scope": "basic",
            "breaker_condition": {"breaker_type": "timeout", "unhealthy_threshold": 1,
                "time_window": 1, "open_breaker_time": 1},
            "downgrade_default": {"type": "passthrough",
                "passthrough_infos": [{"key": "X-Degraded", "value": "1"}]},
            "downgrade_parameters": [{"type": "method", "name": "m", "value": "method"}],
            "downgrade_rules": [
                {"rule_name": "vpc", "match_regex": "[\"m\",\"==\",\"PUT\"]",
                 "downgrade_backend": {"type": "http_vpc", "http_vpc_info": {"vpc_channel_id": "ch1",
                     "scheme": "HTTPS", "method": "POST", "path": "/spare", "timeout": 800}}},
                {"rule_name": "gone", "match_regex": "[\"m\",\"==\",\"DELETE\"]",
                 "downgrade_backend": {"type": "http", "http_info": {"isVpc": true, "vpc_channel_id": "nope"}}},
                {"rule_name": "same", "match_regex": "[\"m\",\"==\",\"GET\"]"}
            ]
        });
        let PluginContent::Breaker(plugin) =
            PluginContent::parse(PluginType::Breaker, &content.to_string()).unwrap()
        else {
            panic!()
        };
        let own = Backend::Mock(MockAnswer {
            content: "own".into(),
        });
        let api = PublishedApi {
            api_id: "a1".into(),
            name: "a".into(),
            group_id: "g".into(),
            env_id: "e1".into(),
            env_name: "RELEASE".into(),
            req_protocol: Protocol::Both,
            req_method: ReqMethod::Any,
            req_uri: "/a".into(),
            match_mode: apigw_gateway::MatchMode::Normal,
            auth: ApiAuth::None,
            backend: own.clone(),
            req_params: Vec::new(),
            backend_params: Vec::new(),
            policies: Vec::new(),
            cors: false,
            throttle: None,
            ip_acl: None,
            backend_signing: None,
            responses: None,
            plugins: ApiPlugins::default(),
        };
        let channel = Arc::new(ChannelConfig {
            id: "ch1".into(),
            strategy: BalanceStrategy::RoundRobin,
            members: Vec::new(),
            health_check: None,
        });
        let channels: Channels = [("ch1".to_owned(), Arc::clone(&channel))].into();
        let config = breaker_config("p9", plugin, &api, &channels);
        assert_eq!(config.key, "plugin:p9:a1:e1");
        let header = BackendParam {
            name: "x-degraded".into(),
            location: apigw_gateway::ParamLocation::Header,
            value: ParamValue::Constant("1".into()),
        };
        let passthrough = DowngradeConfig::Backend {
            backend: own,
            params: vec![header],
        };
        assert_eq!(config.downgrades.len(), 4);
        assert_eq!(config.downgrades[0], passthrough);
        let DowngradeConfig::Backend {
            backend: Backend::Http(spare),
            ..
        } = &config.downgrades[1]
        else {
            panic!("{:?}", config.downgrades[1])
        };
        assert_eq!(spare.channel.as_ref().map(|c| &c.channel), Some(&channel));
        assert!(spare.https);
        assert_eq!(
            (spare.path.as_str(), spare.timeout),
            ("/spare", Duration::from_millis(800))
        );
        assert!(matches!(
            &config.downgrades[2],
            DowngradeConfig::Backend { backend: Backend::Missing { reason }, .. } if reason.contains("nope")
        ));
        // A rule without a downgrade of its own takes the plug-in's.
        assert_eq!(config.downgrades[3], passthrough);
    }
}
