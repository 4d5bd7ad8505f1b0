//! Instants as microseconds since the Unix epoch: the precision both databases keep, so hashes agree.
//!
//! Every instant this server writes lies in [`Timestamp::MIN`, `Timestamp::MAX`] (years 0000 to 9999, what RFC 3339
//! can write). Arithmetic saturates (at the ends of `i64`) and conversion to a date clamps to those bounds: nothing
//! ever wraps or falls back to 1970. Inputs that could reach them (a test clock's start and moves) are refused well before, with a 400
//! (`domain::partner::CLOCK_MIN`/`CLOCK_MAX`).

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

impl Timestamp {
    /// 0000-01-01T00:00:00Z, the first instant RFC 3339 can write.
    pub const MIN: Timestamp = Timestamp(-62_167_219_200 * MICROS_PER_SECOND);
    /// 9999-12-31T23:59:59.999999Z, the last instant RFC 3339 can write.
    pub const MAX: Timestamp = Timestamp(253_402_300_800 * MICROS_PER_SECOND - 1);

    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }
    pub const fn micros(self) -> i64 {
        self.0
    }
    /// Truncates to the microsecond.
    pub fn from_datetime(dt: OffsetDateTime) -> Self {
        Timestamp((dt.unix_timestamp_nanos() / 1000) as i64)
    }
    /// Clamped to [`Timestamp::MIN`, `Timestamp::MAX`] (a stored or decoded value outside them reads as the bound,
    /// never as another date).
    pub fn to_datetime(self) -> OffsetDateTime {
        let micros = self.0.clamp(Self::MIN.0, Self::MAX.0);
        match OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000) {
            Ok(dt) => dt,
            // Unreachable: both bounds are in the time crate's range.
            Err(_) if micros < 0 => OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT),
            Err(_) => OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT),
        }
    }
    pub fn start_of_day(date: Date) -> Self {
        Self::from_datetime(date.midnight().assume_utc())
    }
    pub fn date(self) -> Date {
        self.to_datetime().to_offset(UtcOffset::UTC).date()
    }
    /// Saturates at the ends of `i64` (an instant past [`Timestamp::MAX`] reads as `MAX`, see `to_datetime`).
    pub fn plus_micros(self, micros: i64) -> Self {
        Timestamp(self.0.saturating_add(micros))
    }
    /// RFC 3339 in UTC, e.g. `2026-11-24T10:15:00Z` (fractional seconds only when present).
    pub fn to_rfc3339(self) -> String {
        self.to_datetime().format(&Rfc3339).unwrap_or_default()
    }
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        OffsetDateTime::parse(s, &Rfc3339).ok().map(Self::from_datetime)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 date-time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn truncates_to_microseconds_and_round_trips() {
        let t = Timestamp::from_datetime(datetime!(2026-11-24 10:15:00.123456789 UTC));
        assert_eq!(t.to_rfc3339(), "2026-11-24T10:15:00.123456Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
        assert_eq!(Timestamp::from_datetime(datetime!(2026-11-24 10:15:00 UTC)).to_rfc3339(), "2026-11-24T10:15:00Z");
    }

    #[test]
    fn bounds_are_what_rfc_3339_can_write() {
        assert_eq!(Timestamp::MIN.to_rfc3339(), "0000-01-01T00:00:00Z");
        assert_eq!(Timestamp::MAX.to_rfc3339(), "9999-12-31T23:59:59.999999Z");
        assert_eq!(Timestamp::from_datetime(datetime!(9999-12-31 23:59:59.999999 UTC)), Timestamp::MAX);
    }

    /// Issue 16: 9999-12-31 plus a day read 1970-01-01. Past the bounds, arithmetic and conversion saturate.
    #[test]
    fn arithmetic_saturates_and_never_falls_back_to_1970() {
        let late = Timestamp::parse_rfc3339("9999-12-31T00:00:00Z").unwrap();
        let later = late.plus_micros(MICROS_PER_DAY * 2);
        assert!(later > late);
        assert_eq!(later.to_rfc3339(), "9999-12-31T23:59:59.999999Z");
        assert_eq!(later.date(), time::macros::date!(9999 - 12 - 31));
        assert_eq!(late.plus_micros(i64::MAX), Timestamp::from_micros(i64::MAX));
        assert_eq!(Timestamp::MIN.plus_micros(i64::MIN), Timestamp::from_micros(i64::MIN));
        assert_eq!(Timestamp::from_micros(i64::MAX).to_rfc3339(), "9999-12-31T23:59:59.999999Z");
        assert_eq!(Timestamp::from_micros(i64::MIN).to_rfc3339(), "0000-01-01T00:00:00Z");
    }
}
