//! Money and tax (R4): exact amounts in minor units, per-line tax rounded half away from zero, and the
//! proration of R10. Never a float.

use rust_decimal::{Decimal, RoundingStrategy};

/// The largest amount [`Money::parse`] accepts, in major units.
pub const MAX_MAJOR_UNITS: i64 = 10_000_000_000_000;
/// The largest number of decimals a currency may have here (ISO 4217 has none above 4).
pub const MAX_SCALE: u8 = 4;
/// The quantity bounds of one line.
pub const MAX_QUANTITY: i64 = 10_000;

/// An exact amount in minor units of a currency with `scale` decimals (0 for JPY, 2 for USD, 3 for BHD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Money {
    pub minor: i64,
    pub scale: u8,
}

fn pow10(scale: u8) -> i64 {
    10_i64.pow(u32::from(scale))
}

impl Money {
    pub fn zero(scale: u8) -> Money {
        Money { minor: 0, scale }
    }

    /// Parses "1234.50": digits, optional '.', at most `scale` decimals (fewer are padded), no sign, no exponent,
    /// no spaces, at most 10^13 in major units. Errors are plain messages (the caller adds the field name).
    pub fn parse(s: &str, scale: u8) -> Result<Money, String> {
        const SHAPE: &str = "expected an amount such as \"1234.50\" (digits, an optional '.', no sign)";
        if scale > MAX_SCALE {
            return Err(format!("unsupported number of decimals ({scale})"));
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return Err(SHAPE.to_string());
        }
        let frac = frac.unwrap_or("");
        if frac.len() > usize::from(scale) {
            return Err(match scale {
                0 => "must be a whole amount (no decimals)".to_string(),
                n => format!("has more than {n} decimals"),
            });
        }
        let int = int.trim_start_matches('0');
        // 10^13 has 14 digits: anything longer is too large, and this bound keeps the arithmetic in range.
        if int.len() > 14 {
            return Err(format!("must be at most {MAX_MAJOR_UNITS}"));
        }
        let major: i64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| SHAPE.to_string())? };
        let mut minor_part: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| SHAPE.to_string())? };
        for _ in frac.len()..usize::from(scale) {
            minor_part *= 10;
        }
        let minor = major * pow10(scale) + minor_part;
        if minor > MAX_MAJOR_UNITS * pow10(scale) {
            return Err(format!("must be at most {MAX_MAJOR_UNITS}"));
        }
        Ok(Money { minor, scale })
    }

    /// Always exactly `scale` decimals: "1234.50", "-12.30", "1200" for scale 0.
    pub fn format(self) -> String {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = u128::from(self.minor.unsigned_abs());
        if self.scale == 0 {
            return format!("{sign}{abs}");
        }
        let p = 10_u128.pow(u32::from(self.scale));
        let width = usize::from(self.scale);
        format!("{sign}{}.{:0width$}", abs / p, abs % p)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.minor, u32::from(self.scale))
    }

    pub fn checked_mul(self, quantity: i64) -> Option<Money> {
        self.minor.checked_mul(quantity).map(|minor| Money { minor, scale: self.scale })
    }

    /// `None` on scale mismatch or overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        if self.scale != other.scale {
            return None;
        }
        self.minor.checked_add(other.minor).map(|minor| Money { minor, scale: self.scale })
    }

    /// `None` on scale mismatch or overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        if self.scale != other.scale {
            return None;
        }
        self.minor.checked_sub(other.minor).map(|minor| Money { minor, scale: self.scale })
    }

    /// Saturates at `i64::MAX` for `i64::MIN` (never reached by parsed amounts).
    #[allow(clippy::should_implement_trait)]
    pub fn neg(self) -> Money {
        Money { minor: self.minor.saturating_neg(), scale: self.scale }
    }

    pub fn is_negative(self) -> bool {
        self.minor < 0
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.format())
    }
}

/// Money is a JSON string with the currency's decimals (SPEC §5).
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.format())
    }
}

/// Rounds half away from zero to `scale` decimals and returns minor units (saturating at the `i64` bounds).
pub fn round_half_away(value: Decimal, scale: u8) -> i64 {
    let rounded = value.round_dp_with_strategy(u32::from(scale), RoundingStrategy::MidpointAwayFromZero);
    // `rounded` has at most `scale` decimals; bring its mantissa to exactly `scale`.
    let mut mantissa = rounded.mantissa();
    let mut s = rounded.scale();
    while s < u32::from(scale) {
        mantissa = mantissa.saturating_mul(10);
        s += 1;
    }
    mantissa.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// One priced line (R4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinePricing {
    pub unit_price: Money,
    pub quantity: i64,
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
    pub tax_inclusive: bool,
}

/// R4: amount = unit × quantity; inclusive: gross = amount, tax = round(gross × rate / (1 + rate)), net = gross − tax;
/// exclusive: net = amount, tax = round(net × rate), gross = net + tax. Quantity 1..=10_000; rate 0 ≤ r < 1.
pub fn price_line(unit_price: Money, quantity: i64, rate: Decimal, inclusive: bool) -> Result<LinePricing, String> {
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(format!("quantity must be between 1 and {MAX_QUANTITY}"));
    }
    if rate < Decimal::ZERO || rate >= Decimal::ONE {
        return Err("tax rate must be at least 0 and below 1".to_string());
    }
    if unit_price.is_negative() {
        return Err("unit price must not be negative".to_string());
    }
    let overflow = || "amount is too large".to_string();
    let amount = unit_price.checked_mul(quantity).ok_or_else(overflow)?;
    let scale = unit_price.scale;
    let minor = Decimal::from(amount.minor);
    let exact_tax = if inclusive {
        minor.checked_mul(rate).and_then(|x| x.checked_div(Decimal::ONE + rate))
    } else {
        minor.checked_mul(rate)
    }
    .ok_or_else(overflow)?;
    let tax = Money { minor: round_half_away(exact_tax, 0), scale };
    let (net, gross) = if inclusive {
        (amount.checked_sub(tax).ok_or_else(overflow)?, amount)
    } else {
        (amount, amount.checked_add(tax).ok_or_else(overflow)?)
    };
    Ok(LinePricing { unit_price, quantity, net, tax, gross, tax_inclusive: inclusive })
}

/// R10 proration: round(amount × remaining / total) half away from zero, 0 ≤ remaining ≤ total, total > 0.
/// Out-of-range inputs are clamped: `remaining` into `0..=total`; a `total` ≤ 0 gives zero.
pub fn prorate(amount: Money, remaining: i64, total: i64) -> Money {
    if total <= 0 {
        return Money::zero(amount.scale);
    }
    let remaining = remaining.clamp(0, total);
    let n = i128::from(amount.minor) * i128::from(remaining);
    let d = i128::from(total);
    let (mut q, r) = (n / d, n % d);
    if 2 * r.abs() >= d {
        q += n.signum();
    }
    Money {
        // |q| ≤ |amount.minor|, so this always fits.
        minor: q as i64,
        scale: amount.scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str, scale: u8) -> Money {
        Money::parse(s, scale).unwrap()
    }
    fn rate(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_format() {
        assert_eq!(m("1234.5", 2), Money { minor: 123450, scale: 2 });
        assert_eq!(m("1234.50", 2).format(), "1234.50");
        assert_eq!(m("1200", 0).format(), "1200");
        assert_eq!(m("0.005", 3).format(), "0.005");
        assert_eq!(m("7", 3).format(), "7.000");
        assert_eq!(m("0", 2), Money::zero(2));
        assert_eq!(Money { minor: -1230, scale: 2 }.format(), "-12.30");
        assert_eq!(Money { minor: -5, scale: 2 }.to_string(), "-0.05");
        assert_eq!(m("10000000000000", 2).minor, 1_000_000_000_000_000);
        assert_eq!(m("12.34", 2).to_decimal(), rate("12.34"));
        assert_eq!(serde_json::to_string(&m("5", 2)).unwrap(), "\"5.00\"".to_string());
    }

    #[test]
    fn parse_refusals() {
        for (s, scale) in [
            ("1.234", 2),
            ("1.0", 0),
            ("-1", 2),
            ("+1", 2),
            ("1e3", 2),
            ("", 2),
            ("1,00", 2),
            (" 1", 2),
            ("1 ", 2),
            (".5", 2),
            ("1.", 2),
            ("1.2.3", 2),
            ("NaN", 2),
            ("10000000000000.01", 2),
            ("99999999999999999999999", 2),
            ("1", 9),
        ] {
            assert!(Money::parse(s, scale).is_err(), "{s:?} at scale {scale}");
        }
        assert_eq!(Money::parse("1.234", 2).unwrap_err(), "has more than 2 decimals");
    }

    #[test]
    fn arithmetic() {
        let a = m("1.50", 2);
        assert_eq!(a.checked_mul(3), Some(m("4.50", 2)));
        assert_eq!(a.checked_add(m("0.50", 2)), Some(m("2.00", 2)));
        assert_eq!(a.checked_add(m("1", 0)), None);
        assert_eq!(Money { minor: i64::MAX, scale: 2 }.checked_add(a), None);
        assert_eq!(Money { minor: i64::MAX, scale: 2 }.checked_mul(2), None);
        assert_eq!(a.neg().format(), "-1.50");
        assert_eq!(a.neg().neg(), a);
    }

    #[test]
    fn rounding_half_away_from_zero() {
        assert_eq!(round_half_away(rate("1.005"), 2), 101);
        assert_eq!(round_half_away(rate("-1.005"), 2), -101);
        assert_eq!(round_half_away(rate("1.0049999"), 2), 100);
        assert_eq!(round_half_away(rate("-1.0049999"), 2), -100);
        assert_eq!(round_half_away(rate("2.5"), 0), 3);
        assert_eq!(round_half_away(rate("-2.5"), 0), -3);
        assert_eq!(round_half_away(rate("0.125"), 2), 13);
        assert_eq!(round_half_away(rate("-0.125"), 2), -13);
        assert_eq!(round_half_away(rate("3"), 3), 3000);
        assert_eq!(round_half_away(rate("0.0005"), 3), 1);
    }

    #[test]
    fn jpy_exclusive() {
        let p = price_line(m("1200", 0), 3, rate("0.10"), false).unwrap();
        assert_eq!((p.net.format(), p.tax.format(), p.gross.format()), ("3600".into(), "360".into(), "3960".into()));
        // 1234 × 0.08 = 98.72 → 99 yen.
        let p = price_line(m("1234", 0), 1, rate("0.08"), false).unwrap();
        assert_eq!((p.tax.minor, p.gross.minor), (99, 1333));
    }

    #[test]
    fn au_inclusive() {
        let p = price_line(m("1980.00", 2), 1, rate("0.10"), true).unwrap();
        assert_eq!(
            (p.gross.format(), p.tax.format(), p.net.format()),
            ("1980.00".into(), "180.00".into(), "1800.00".into())
        );
        assert!(p.tax_inclusive);
        assert_eq!(p.unit_price, m("1980.00", 2));
        // 99.99 × 3 = 299.97 gross; tax = 27.27 (27.2700…), net 272.70.
        let p = price_line(m("99.99", 2), 3, rate("0.10"), true).unwrap();
        assert_eq!(
            (p.gross.format(), p.tax.format(), p.net.format()),
            ("299.97".into(), "27.27".into(), "272.70".into())
        );
        // 0.11 × 0.1 / 1.1 = 0.01 exactly; 0.05 → 0.004545… → 0.00.
        assert_eq!(price_line(m("0.11", 2), 1, rate("0.1"), true).unwrap().tax, m("0.01", 2));
        assert_eq!(price_line(m("0.05", 2), 1, rate("0.1"), true).unwrap().tax, m("0", 2));
    }

    #[test]
    fn bhd_exclusive_three_decimals() {
        // 12.345 × 2 = 24.690; × 0.10 = 2.469.
        let p = price_line(m("12.345", 3), 2, rate("0.10"), false).unwrap();
        assert_eq!(
            (p.net.format(), p.tax.format(), p.gross.format()),
            ("24.690".into(), "2.469".into(), "27.159".into())
        );
        // 0.025 × 0.1 = 0.0025 → half away → 0.003.
        let p = price_line(m("0.025", 3), 1, rate("0.1"), false).unwrap();
        assert_eq!(p.tax.format(), "0.003");
        // 0.005 × 0.1 = 0.0005 BHD → 0.001.
        let p = price_line(m("0.005", 3), 1, rate("0.1"), false).unwrap();
        assert_eq!(p.tax.format(), "0.001");
    }

    #[test]
    fn price_line_refusals() {
        let u = m("10.00", 2);
        assert!(price_line(u, 0, Decimal::ZERO, false).is_err());
        assert!(price_line(u, 10_001, Decimal::ZERO, false).is_err());
        assert!(price_line(u, 10_000, Decimal::ZERO, false).is_ok());
        assert!(price_line(u, 1, Decimal::ONE, false).is_err());
        assert!(price_line(u, 1, rate("-0.01"), true).is_err());
        assert!(price_line(u.neg(), 1, Decimal::ZERO, false).is_err());
        let huge = Money { minor: i64::MAX / 2, scale: 2 };
        assert!(price_line(huge, 3, Decimal::ZERO, false).is_err());
        let top = Money { minor: i64::MAX - 10, scale: 2 };
        assert!(price_line(top, 1, rate("0.5"), false).is_err());
        assert!(price_line(top, 1, rate("0.5"), true).is_ok());
    }

    #[test]
    fn proration() {
        let a = m("365.00", 2);
        assert_eq!(prorate(a, 365, 365), a);
        assert_eq!(prorate(a, 0, 365), Money::zero(2));
        assert_eq!(prorate(a, 300, 365), m("300.00", 2));
        // 1.00 × 1/8 = 0.125 → 0.13; negative amounts round away from zero too.
        assert_eq!(prorate(m("1.00", 2), 1, 8), m("0.13", 2));
        assert_eq!(prorate(m("1.00", 2).neg(), 1, 8), m("0.13", 2).neg());
        assert_eq!(prorate(m("100", 0), 1, 3), m("33", 0));
        assert_eq!(prorate(m("100", 0), 2, 3), m("67", 0));
        // Clamping of out-of-range inputs.
        assert_eq!(prorate(a, 400, 365), a);
        assert_eq!(prorate(a, -1, 365), Money::zero(2));
        assert_eq!(prorate(a, 1, 0), Money::zero(2));
        let max = Money { minor: i64::MAX, scale: 2 };
        assert_eq!(prorate(max, 366, 366), max);
    }

    fn scale() -> impl Strategy<Value = u8> {
        0_u8..=3
    }
    fn tax_rate() -> impl Strategy<Value = Decimal> {
        (0_i64..1_000_000).prop_map(|r| Decimal::new(r, 6))
    }
    fn unit(scale: u8) -> impl Strategy<Value = Money> {
        (0_i64..=1_000_000_000 * pow10(scale)).prop_map(move |minor| Money { minor, scale })
    }

    proptest! {
        #[test]
        fn pricing_invariants(
            (u, q) in scale().prop_flat_map(|s| (unit(s), 1_i64..=MAX_QUANTITY)),
            r in tax_rate(),
            inclusive in any::<bool>(),
        ) {
            let p = price_line(u, q, r, inclusive).unwrap();
            prop_assert_eq!(p.net.checked_add(p.tax), Some(p.gross));
            prop_assert!(p.tax.minor >= 0);
            prop_assert!(p.net.minor >= 0);
            let amount = Decimal::from(u.minor) * Decimal::from(q);
            if inclusive {
                prop_assert_eq!(p.gross.minor, u.minor * q);
            } else {
                prop_assert_eq!(p.net.minor, u.minor * q);
            }
            let exact = if inclusive { amount * r / (Decimal::ONE + r) } else { amount * r };
            let diff = (Decimal::from(p.tax.minor) - exact).abs();
            prop_assert!(diff <= Decimal::new(5, 1), "tax {} exact {}", p.tax.minor, exact);
        }

        #[test]
        fn totals_do_not_depend_on_line_order(
            (lines, shuffled) in prop::collection::vec(
                (unit(2), 1_i64..=100, tax_rate(), any::<bool>()), 1..12)
                .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        ) {
            let total = |ls: &[(Money, i64, Decimal, bool)]| {
                let zero = Money::zero(2);
                ls.iter().fold((zero, zero, zero), |(n, t, g), &(u, q, r, i)| {
                    let p = price_line(u, q, r, i).unwrap();
                    (
                        n.checked_add(p.net).unwrap(),
                        t.checked_add(p.tax).unwrap(),
                        g.checked_add(p.gross).unwrap(),
                    )
                })
            };
            prop_assert_eq!(total(&lines), total(&shuffled));
        }

        #[test]
        fn prorate_properties(
            minor in -1_000_000_000_000_i64..=1_000_000_000_000,
            s in scale(),
            total in 1_i64..=3_660,
            a in 0_i64..=3_660,
            b in 0_i64..=3_660,
        ) {
            let amount = Money { minor, scale: s };
            let (lo, hi) = (a.min(b).min(total), a.max(b).min(total));
            let p_lo = prorate(amount, lo, total);
            let p_hi = prorate(amount, hi, total);
            prop_assert!(p_hi.minor.abs() <= minor.abs());
            prop_assert_eq!(p_hi.minor.signum() * minor.signum() >= 0, true);
            prop_assert!(p_lo.minor.abs() <= p_hi.minor.abs());
            prop_assert_eq!(prorate(amount, total, total), amount);
            prop_assert_eq!(prorate(amount, 0, total), Money::zero(s));
            prop_assert_eq!(p_hi.scale, s);
        }

        #[test]
        fn parse_format_round_trip(
            s in 0_u8..=MAX_SCALE,
            frac in 0_i64..10_000,
            major in 0_i64..=MAX_MAJOR_UNITS,
        ) {
            let minor = if major == MAX_MAJOR_UNITS {
                major * pow10(s)
            } else {
                major * pow10(s) + frac % pow10(s)
            };
            let money = Money { minor, scale: s };
            prop_assert_eq!(Money::parse(&money.format(), s), Ok(money));
        }

        #[test]
        fn negative_round_trips_through_decimal(minor in any::<i64>(), s in scale()) {
            let money = Money { minor, scale: s };
            prop_assert_eq!(round_half_away(money.to_decimal(), s), minor);
        }
    }
}
