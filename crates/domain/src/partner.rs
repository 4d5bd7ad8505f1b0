//! Partners and their clocks (SPEC §3 test clock).

use crate::error::DomainError;
use crate::ids::PartnerId;
use crate::timestamp::{Timestamp, MICROS_PER_DAY, MICROS_PER_SECOND};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: PartnerId,
    pub name: String,
    pub sandbox: bool,
    /// Added to the server's clock to give the partner's time; always 0 for production partners.
    pub clock_offset_micros: i64,
    pub created_at: Timestamp,
}

impl Partner {
    /// The partner's current time, given the server's.
    pub fn now(&self, server_now: Timestamp) -> Timestamp {
        server_now.plus_micros(self.clock_offset_micros)
    }

    pub fn new(
        name: &str,
        sandbox: bool,
        clock_start: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Partner, DomainError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 256 {
            return Err(DomainError::invalid("name", "must have 1 to 256 characters"));
        }
        let clock_offset_micros = match (sandbox, clock_start) {
            (_, None) => 0,
            (true, Some(start)) if !(CLOCK_MIN..=CLOCK_MAX).contains(&start) => {
                return Err(DomainError::invalid("clockStart", CLOCK_RANGE))
            }
            (true, Some(start)) => start.micros() - now.micros(),
            (false, Some(_)) => {
                return Err(DomainError::invalid("clockStart", "only a sandbox partner has a test clock"))
            }
        };
        Ok(Partner { id: PartnerId::new(), name: name.to_string(), sandbox, clock_offset_micros, created_at: now })
    }
}

/// The first instant a test clock may start at: 2000-01-01T00:00:00Z.
pub const CLOCK_MIN: Timestamp = Timestamp::from_micros(946_684_800 * MICROS_PER_SECOND);
/// The last instant a test clock may start at or be moved to: 2999-12-31T23:59:59Z. Terms, windows, link expiry
/// and real time elapsing add at most years to it, far from [`Timestamp::MAX`] (9999-12-31).
pub const CLOCK_MAX: Timestamp = Timestamp::from_micros(32_503_680_000 * MICROS_PER_SECOND - MICROS_PER_SECOND);
const CLOCK_RANGE: &str = "a test clock reads from 2000-01-01T00:00:00Z to 2999-12-31T23:59:59Z";

/// Checks that a test clock now at `now` may move by `micros` (from [`clock_advance`]): it may not pass
/// [`CLOCK_MAX`]. Returns the partner's time after the move.
pub fn clock_after_advance(now: Timestamp, micros: i64) -> Result<Timestamp, DomainError> {
    match now.micros().checked_add(micros) {
        Some(after) if after <= CLOCK_MAX.micros() => Ok(Timestamp::from_micros(after)),
        _ => Err(clock_passes_its_end()),
    }
}

/// The refusal of a move that would take a test clock past [`CLOCK_MAX`].
pub fn clock_passes_its_end() -> DomainError {
    DomainError::invalid("days", format!("{CLOCK_RANGE}; this move would pass its end"))
}

/// The longest single move of a test clock: ten years, far past any window, term or link, and far from overflow.
pub const MAX_ADVANCE_MICROS: i64 = 3660 * MICROS_PER_DAY;

/// Validates a test clock move: forward only, by days and seconds.
pub fn clock_advance(days: i64, seconds: i64) -> Result<i64, DomainError> {
    if days < 0 || seconds < 0 {
        return Err(DomainError::invalid("days", "the test clock only moves forward"));
    }
    let micros = days
        .checked_mul(MICROS_PER_DAY)
        .and_then(|d| seconds.checked_mul(MICROS_PER_SECOND).and_then(|s| d.checked_add(s)))
        .filter(|m| *m <= MAX_ADVANCE_MICROS)
        .ok_or_else(|| DomainError::invalid("days", "at most 3660 days in one move"))?;
    if micros == 0 {
        return Err(DomainError::invalid("days", "give a number of days or seconds greater than 0"));
    }
    Ok(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_clock_starts_where_asked() {
        let now = Timestamp::from_micros(1_000_000_000);
        let start = CLOCK_MIN.plus_micros(5_000_000_000);
        let p = Partner::new("Fabrikam", true, Some(start), now).unwrap();
        assert_eq!(p.now(now), start);
        assert_eq!(p.now(now.plus_micros(7)), start.plus_micros(7));
        assert!(Partner::new("Prod", false, Some(now), now).is_err());
        assert!(Partner::new(" ", true, None, now).is_err());
    }

    #[test]
    fn clock_dates_are_bounded() {
        assert_eq!(CLOCK_MIN.to_rfc3339(), "2000-01-01T00:00:00Z");
        assert_eq!(CLOCK_MAX.to_rfc3339(), "2999-12-31T23:59:59Z");
        let now = Timestamp::from_micros(1_000_000_000);
        for bad in ["9999-12-31T00:00:00Z", "3000-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"] {
            let start = Timestamp::parse_rfc3339(bad).unwrap();
            assert!(Partner::new("S", true, Some(start), now).is_err(), "{bad}");
        }
        assert!(Partner::new("S", true, Some(CLOCK_MAX), now).is_ok());
        assert!(Partner::new("S", true, Some(CLOCK_MIN), now).is_ok());
        assert_eq!(clock_after_advance(CLOCK_MAX.plus_micros(-MICROS_PER_DAY), MICROS_PER_DAY).unwrap(), CLOCK_MAX);
        assert!(clock_after_advance(CLOCK_MAX, 1).is_err());
        assert!(clock_after_advance(Timestamp::MAX, MAX_ADVANCE_MICROS).is_err());
    }

    #[test]
    fn advance_is_forward_and_bounded() {
        assert_eq!(clock_advance(1, 30).unwrap(), MICROS_PER_DAY + 30 * MICROS_PER_SECOND);
        assert!(clock_advance(-1, 0).is_err());
        assert!(clock_advance(0, -5).is_err());
        assert!(clock_advance(0, 0).is_err());
        assert!(clock_advance(i64::MAX, 0).is_err());
        assert!(clock_advance(3661, 0).is_err());
    }
}
