//! Instants as microseconds since the Unix epoch: the precision both databases keep, so hashes agree.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

impl Timestamp {
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
    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
    pub fn start_of_day(date: Date) -> Self {
        Self::from_datetime(date.midnight().assume_utc())
    }
    pub fn date(self) -> Date {
        self.to_datetime().to_offset(UtcOffset::UTC).date()
    }
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
}
