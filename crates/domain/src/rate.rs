//! Rate limits (SPEC §5, 429 `rate_limited`): the generic cell rate algorithm, as a pure function of a key's state
//! and the time. A rate of `per_minute` requests with a `burst` lets a quiet client send `burst` at once, then one
//! every `60 s / per_minute`.

/// A limit: `per_minute` requests on average, up to `burst` at once. `per_minute == 0` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    pub const OFF: Rate = Rate { per_minute: 0, burst: 0 };

    pub fn is_off(self) -> bool {
        self.per_minute == 0
    }

    /// Microseconds between requests at the sustained rate.
    fn interval(self) -> i64 {
        60_000_000 / i64::from(self.per_minute.max(1))
    }
}

/// Decides a request at `now` (µs) for a key whose theoretical arrival time is `tat` (`None` for a key not seen
/// or forgotten). `Ok(new tat)` admits it; `Err(µs)` refuses it and says how long until one would be admitted.
pub fn admit(tat: Option<i64>, now: i64, rate: Rate) -> Result<i64, i64> {
    if rate.is_off() {
        return Ok(now);
    }
    let interval = rate.interval();
    let tolerance = interval.saturating_mul(i64::from(rate.burst.max(1) - 1));
    let tat = tat.unwrap_or(now).max(now);
    if tat - now > tolerance {
        return Err(tat - tolerance - now);
    }
    Ok(tat.saturating_add(interval))
}

/// Whether a key's state may be forgotten at `now`: its bucket is full again, so forgetting it changes nothing.
pub fn is_idle(tat: i64, now: i64) -> bool {
    tat <= now
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    #[test]
    fn a_burst_is_admitted_then_one_per_interval() {
        let rate = Rate { per_minute: 60, burst: 3 };
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(admit(tat, 0, rate).expect("within the burst"));
        }
        assert_eq!(admit(tat, 0, rate), Err(SECOND), "the fourth waits a second");
        assert_eq!(admit(tat, SECOND / 2, rate), Err(SECOND / 2));
        tat = Some(admit(tat, SECOND, rate).expect("one more after a second"));
        assert!(admit(tat, SECOND, rate).is_err());
        // After a long pause the whole burst is back, and the key may be forgotten.
        assert!(is_idle(tat.unwrap(), 10 * SECOND));
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(admit(tat, 10 * SECOND, rate).unwrap());
        }
        assert!(admit(tat, 10 * SECOND, rate).is_err());
    }

    #[test]
    fn a_sustained_rate_is_held_exactly() {
        let rate = Rate { per_minute: 600, burst: 1 };
        let mut tat = None;
        let mut admitted = 0;
        // A request every 10 ms for a minute: one in ten is admitted (600 per minute).
        for i in 0..6000 {
            if let Ok(t) = admit(tat, i * 10_000, rate) {
                tat = Some(t);
                admitted += 1;
            }
        }
        assert_eq!(admitted, 600);
    }

    #[test]
    fn no_limit_admits_everything() {
        assert_eq!(admit(Some(i64::MAX), 5, Rate::OFF), Ok(5));
    }
}
