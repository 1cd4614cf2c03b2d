//! Time as APIG writes it: nanosecond RFC 3339 in create/update answers, whole seconds in later
//! reads, epoch milliseconds in ModelArts answers.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// A point in time stored as nanoseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// From nanoseconds since the epoch (as stored).
    pub fn from_nanos(n: i64) -> Self {
        Self(n)
    }

    /// From seconds since the epoch (X.509 validity times).
    pub fn from_unix_seconds(secs: i64) -> Self {
        Self(secs.saturating_mul(1_000_000_000))
    }

    /// Whole seconds since the epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// From a `time` value.
    pub fn from_datetime(t: OffsetDateTime) -> Self {
        Self(t.unix_timestamp_nanos() as i64)
    }

    /// Nanoseconds since the epoch (for storage).
    pub fn nanos(self) -> i64 {
        self.0
    }

    /// Milliseconds since the epoch (ModelArts `created_at`/`updated_at`).
    pub fn millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// This time plus `secs` seconds.
    pub fn plus_seconds(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1_000_000_000)))
    }

    fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// `2020-08-03T13:09:13.122211909Z`, as create and update answers show it.
    pub fn rfc3339_nanos(self) -> String {
        let f = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
        );
        self.datetime().format(&f).unwrap_or_default()
    }

    /// `2020-08-03T13:09:13Z`, as get and list answers show it.
    pub fn rfc3339_seconds(self) -> String {
        let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        self.datetime().format(&f).unwrap_or_default()
    }

    /// `2023-07-11-19:54:22` (UTC), as APIG's exports write `info.version` when none is given.
    pub fn document_version(self) -> String {
        let f = format_description!("[year]-[month]-[day]-[hour]:[minute]:[second]");
        self.datetime().format(&f).unwrap_or_default()
    }

    /// `20200803112749` (UTC to the second), as APIG numbers an API's versions (`version_no`).
    pub fn compact_utc(self) -> String {
        let f = format_description!("[year][month][day][hour][minute][second]");
        self.datetime().format(&f).unwrap_or_default()
    }

    /// `2015-11-09T01:42:57.527363Z`, as Keystone writes `expires_at` and `issued_at`.
    pub fn keystone(self) -> String {
        let f = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        );
        self.datetime().format(&f).unwrap_or_default()
    }

    /// Parses an RFC 3339 time (for tests and imports).
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(Self::from_datetime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = Timestamp::parse_rfc3339("2020-08-03T13:09:13.122211909Z").unwrap();
        assert_eq!(t.rfc3339_nanos(), "2020-08-03T13:09:13.122211909Z");
        assert_eq!(t.rfc3339_seconds(), "2020-08-03T13:09:13Z");
        assert_eq!(t.keystone(), "2020-08-03T13:09:13.122211Z");
        assert_eq!(t.millis(), 1_596_460_153_122);
    }
}
