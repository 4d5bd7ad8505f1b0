//! How the dashboard writes values for people (English, for now): money with its currency's symbol and thousands
//! separators, terms in words, dates and times in UTC without microseconds, machine names in words. Pure
//! functions, so a later translation can swap this one module; the API and CSV files keep the machine forms.

use domain::money::Money;
use domain::Timestamp;

/// The symbol written before an amount, for currencies whose symbol is unambiguous to our users; others get their
/// ISO code and a space (`DKK 4,900.00`).
fn symbol(currency: &str) -> Option<&'static str> {
    Some(match currency {
        "USD" => "$",
        "AUD" => "A$",
        "CAD" => "CA$",
        "NZD" => "NZ$",
        "GBP" => "£",
        "EUR" => "€",
        "JPY" => "¥",
        "BRL" => "R$",
        "INR" => "₹",
        _ => return None,
    })
}

/// `¥1,092,600`, `A$11,931.90`, `-$12.30`, `DKK 4,900.00`: every decimal of the money's scale, never a float.
pub fn money(m: Money, currency: &str) -> String {
    let plain = m.format();
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if let Some(f) = fraction {
        grouped.push('.');
        grouped.push_str(f);
    }
    match symbol(currency) {
        Some(s) => format!("{sign}{s}{grouped}"),
        None => format!("{sign}{currency} {grouped}"),
    }
}

/// `P1Y` → `1 year`, `P3Y` → `3 years`, `P1M` → `1 month`; no term → `perpetual`; an unknown form as it is.
pub fn term(iso: Option<&str>) -> String {
    let Some(iso) = iso else { return "perpetual".into() };
    let parsed = iso.strip_prefix('P').and_then(|rest| {
        let (n, unit) = rest.split_at(rest.len().checked_sub(1)?);
        let n: u32 = n.parse().ok()?;
        let unit = match unit {
            "Y" => "year",
            "M" => "month",
            _ => return None,
        };
        Some(if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") })
    });
    parsed.unwrap_or_else(|| iso.to_string())
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `24 Nov 2026`
pub fn date(d: time::Date) -> String {
    format!("{} {} {}", d.day(), MONTHS[usize::from(u8::from(d.month())) - 1], d.year())
}

/// `24 Nov 2026, 10:15 UTC`: to the minute, UTC said.
pub fn when(t: Timestamp) -> String {
    let dt = t.to_datetime();
    format!("{}, {:02}:{:02} UTC", date(dt.date()), dt.hour(), dt.minute())
}

/// A machine name in words: `download_software` → `Download software`, `global_admin` → `Global admin`,
/// `csp_purchase_refund` → `CSP purchase refund`, `customer.created` → `Customer created`.
pub fn words(code: &str) -> String {
    let mut out = Vec::new();
    for (i, w) in code.split(['_', '.', '-']).filter(|w| !w.is_empty()).enumerate() {
        let lower = w.to_lowercase();
        out.push(match lower.as_str() {
            "csp" | "api" | "esu" | "csv" | "url" | "id" | "sku" => lower.to_uppercase(),
            _ if i == 0 => {
                let mut c = lower.chars();
                c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
            }
            _ => lower,
        });
    }
    out.join(" ")
}

/// A camelCase key in words: `fileName` → `File name`, `softwareItemId` → `Software item ID`.
pub fn key_words(key: &str) -> String {
    let mut snake = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_uppercase() {
            snake.push('_');
        }
        snake.push(c);
    }
    words(&snake)
}

/// The same for templates: `{{ role|words }}` (bring `format::filters` into the template's module).
pub mod filters {
    pub fn words(code: impl std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::words(&code.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(minor: i64, scale: u8) -> Money {
        Money { minor, scale }
    }

    #[test]
    fn money_has_its_symbol_and_thousands_separators() {
        assert_eq!(money(m(1_092_600, 0), "JPY"), "¥1,092,600");
        assert_eq!(money(m(1_193_190, 2), "AUD"), "A$11,931.90");
        assert_eq!(money(m(120_000, 2), "USD"), "$1,200.00");
        assert_eq!(money(m(-1_230, 2), "USD"), "-$12.30");
        assert_eq!(money(m(490_000, 2), "DKK"), "DKK 4,900.00");
        assert_eq!(money(m(5, 2), "GBP"), "£0.05");
        assert_eq!(money(m(999, 0), "JPY"), "¥999");
        assert_eq!(money(m(100_000_000, 2), "EUR"), "€1,000,000.00");
    }

    #[test]
    fn terms_dates_and_names_in_words() {
        assert_eq!(term(Some("P1Y")), "1 year");
        assert_eq!(term(Some("P3Y")), "3 years");
        assert_eq!(term(Some("P1M")), "1 month");
        assert_eq!(term(None), "perpetual");
        assert_eq!(term(Some("odd")), "odd");
        let t = Timestamp::parse_rfc3339("2026-11-24T10:15:42.123456Z").unwrap();
        assert_eq!(when(t), "24 Nov 2026, 10:15 UTC");
        assert_eq!(date(t.date()), "24 Nov 2026");
        assert_eq!(words("download_software"), "Download software");
        assert_eq!(key_words("fileName"), "File name");
        assert_eq!(key_words("softwareItemId"), "Software item ID");
        assert_eq!(words("global_admin"), "Global admin");
        assert_eq!(words("csp_purchase_refund"), "CSP purchase refund");
        assert_eq!(words("customer.created"), "Customer created");
    }
}
