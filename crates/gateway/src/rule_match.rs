//! Plug-ins' parameter-based rules on the request path (`rate_limit`'s `rules`, `breaker`'s
//! `downgrade_rules`): which rule, if any, a call meets. The rules are tried in order; the
//! first whose condition the call meets takes it.
//!
//! The parameters the rules test are resolved when the routes are built (a header's name
//! parsed, a pattern compiled) and each is read at most once per call, however many rules
//! test it, as backend policies read theirs (the two share [`Subject`] and [`read`]).

use crate::policy::{read, CallFacts, Subject};
use apigw_domain::plugin::{ParameterSource, RuleCondition, RuleParameter, RuleTest, SystemValue};
use http::HeaderName;
use regex::Regex;
use smallvec::SmallVec;
use std::borrow::Cow;

/// The conditions of one plug-in's rules over its parameters, prepared.
#[derive(Debug)]
pub(crate) struct RuleMatcher {
    /// What the rules read, one per declared parameter (conditions refer to them by index).
    subjects: Box<[Subject]>,
    /// The rules' conditions, in the order they are tried.
    conditions: Box<[Condition]>,
}

impl RuleMatcher {
    /// The conditions over `parameters`, in order; `None` when a header name or pattern does
    /// not compile (the management API checked both, so only content stored under an older
    /// rule can).
    pub(crate) fn new<'c>(
        parameters: &[RuleParameter],
        conditions: impl IntoIterator<Item = &'c RuleCondition>,
    ) -> Option<Self> {
        let subjects = parameters
            .iter()
            .map(|p| {
                Some(match &p.source {
                    ParameterSource::Header(name) => {
                        Subject::Header(HeaderName::from_bytes(name.as_bytes()).ok()?, None)
                    }
                    ParameterSource::Query(name) => Subject::Query(name.as_str().into(), None),
                    ParameterSource::Path => Subject::Path,
                    ParameterSource::Method => Subject::Method,
                    ParameterSource::System(SystemValue::SourceIp) => Subject::ClientAddress,
                    ParameterSource::System(SystemValue::ServerName) => Subject::ServerName,
                })
            })
            .collect::<Option<Box<[_]>>>()?;
        let conditions = conditions
            .into_iter()
            .map(Condition::new)
            .collect::<Option<Box<[_]>>>()?;
        Some(Self {
            subjects,
            conditions,
        })
    }

    /// The index of the first rule `call` meets, if any. Out of line: only APIs with rules
    /// run it.
    #[inline(never)]
    pub(crate) fn matching(&self, call: &CallFacts<'_, '_>) -> Option<usize> {
        let mut values: SmallVec<[Option<Option<Cow<'_, str>>>; 4]> =
            SmallVec::from_elem(None, self.subjects.len());
        self.conditions
            .iter()
            .position(|c| c.holds(call, &self.subjects, &mut values))
    }
}

#[derive(Debug)]
enum Condition {
    Test { subject: usize, test: Test },
    All(Box<[Condition]>),
    Any(Box<[Condition]>),
}

#[derive(Debug)]
enum Test {
    Equals(Box<str>),
    NotEquals(Box<str>),
    Pattern(Regex),
    OneOf(Box<[Box<str>]>),
}

impl Condition {
    fn new(condition: &RuleCondition) -> Option<Self> {
        let all = |parts: &[RuleCondition]| -> Option<Box<[Condition]>> {
            parts.iter().map(Self::new).collect()
        };
        Some(match condition {
            RuleCondition::All(parts) => Self::All(all(parts)?),
            RuleCondition::Any(parts) => Self::Any(all(parts)?),
            RuleCondition::Test { parameter, test } => Self::Test {
                subject: *parameter,
                test: match test {
                    RuleTest::Equals(v) => Test::Equals(v.as_str().into()),
                    RuleTest::NotEquals(v) => Test::NotEquals(v.as_str().into()),
                    RuleTest::Pattern(p) => {
                        Test::Pattern(apigw_domain::api::policy::compile_pattern(p).ok()?)
                    }
                    RuleTest::OneOf(vs) => {
                        Test::OneOf(vs.iter().map(|v| v.as_str().into()).collect())
                    }
                },
            },
        })
    }

    /// Whether `call` meets the condition; `values` keeps what was read of each subject.
    fn holds<'c>(
        &self,
        call: &'c CallFacts<'_, '_>,
        subjects: &'c [Subject],
        values: &mut SmallVec<[Option<Option<Cow<'c, str>>>; 4]>,
    ) -> bool {
        match self {
            Self::All(parts) => parts.iter().all(|c| c.holds(call, subjects, values)),
            Self::Any(parts) => parts.iter().any(|c| c.holds(call, subjects, values)),
            Self::Test { subject, test } => {
                let Some(slot) = values.get_mut(*subject) else {
                    return false;
                };
                let value = slot.get_or_insert_with(|| read(call, &subjects[*subject]));
                // A call without the parameter is equal to nothing, so not equal to anything.
                match (test, value.as_deref()) {
                    (Test::NotEquals(v), value) => value != Some(&**v),
                    (_, None) => false,
                    (Test::Equals(v), Some(value)) => **v == *value,
                    (Test::Pattern(re), Some(value)) => re.is_match(value),
                    (Test::OneOf(vs), Some(value)) => vs.iter().any(|v| **v == *value),
                }
            }
        }
    }
}
