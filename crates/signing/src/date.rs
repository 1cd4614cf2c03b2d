//! The `X-Sdk-Date` format, `YYYYMMDD'T'HHMMSS'Z'` in UTC (e.g. `20240416T095341Z`).
//!
//! Parsed by hand: it is on the verifier's per-request path and the format is fixed-width.

use std::fmt;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// An `X-Sdk-Date` value that is not `YYYYMMDDTHHMMSSZ` or not a real date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidDate;

impl fmt::Display for InvalidDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid x-sdk-date, expected format YYYYMMDDTHHMMSSZ")
    }
}

impl std::error::Error for InvalidDate {}

/// Parses an `X-Sdk-Date` value (exactly 16 characters, UTC).
///
/// Exists for the verifier's clock-skew check and for clients that set the header themselves.
pub fn parse_date(value: &str) -> Result<OffsetDateTime, InvalidDate> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return Err(InvalidDate);
    }
    let digits = |range: std::ops::Range<usize>| -> Result<u32, InvalidDate> {
        b[range].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit()
                .then(|| acc * 10 + u32::from(c - b'0'))
                .ok_or(InvalidDate)
        })
    };
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    // Each value has at most four digits, so the narrowing casts cannot truncate.
    let month = Month::try_from(month as u8).map_err(|_| InvalidDate)?;
    let date = Date::from_calendar_date(year as i32, month, day as u8).map_err(|_| InvalidDate)?;
    let time = Time::from_hms(hour as u8, minute as u8, second as u8).map_err(|_| InvalidDate)?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}

/// Formats an instant as an `X-Sdk-Date` value (converted to UTC, seconds truncated).
///
/// Exists for the signer and for Huawei's `signature expired` message, which shows both times
/// in this format.
pub fn format_date(t: OffsetDateTime) -> String {
    SdkDate(t).to_string()
}

/// Displays an instant in the `X-Sdk-Date` format without allocating.
pub(crate) struct SdkDate(pub(crate) OffsetDateTime);

impl fmt::Display for SdkDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0.to_offset(UtcOffset::UTC);
        write!(
            f,
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn round_trips() {
        let t = parse_date("20240416T095341Z").unwrap();
        assert_eq!(t, datetime!(2024-04-16 09:53:41 UTC));
        assert_eq!(format_date(t), "20240416T095341Z");
    }

    #[test]
    fn formats_in_utc() {
        assert_eq!(
            format_date(datetime!(2023-05-27 10:06:08 +08:00)),
            "20230527T020608Z"
        );
    }

    #[test]
    fn rejects_other_shapes_and_impossible_values() {
        for bad in [
            "",
            "20240416T095341",
            "20240416 095341Z",
            "2024-04-16T09:53:41Z",
            "20240416T095341z",
            "2024041aT095341Z",
            "20241316T095341Z",
            "20240230T095341Z",
            "20240416T245341Z",
            "20240416T096041Z",
            "+0240416T095341Z",
        ] {
            assert_eq!(parse_date(bad), Err(InvalidDate), "{bad:?}");
        }
    }
}
