//! How the pages write values for people, in the request's locale (`crate::i18n`): money with its currency's
//! symbol and thousands separators, terms in words, dates and times in UTC without microseconds, machine names in
//! words. The patterns (date order, month names, currency symbols, plural forms) come from the catalogs, so a new
//! language brings its own; the API and CSV files keep the machine forms.

use crate::i18n::{self, tr, Locale};
use domain::money::Money;
use domain::Timestamp;

/// The currencies whose symbol each catalog writes (`currency-USD = $` in English, `US$` in Traditional Chinese);
/// any other is written with its ISO code and a space (`DKK 4,900.00`).
pub const SYMBOLS: [&str; 10] = ["USD", "TWD", "AUD", "CAD", "NZD", "GBP", "EUR", "JPY", "BRL", "INR"];

/// `¥1,092,600`, `A$11,931.90`, `-$12.30`, `DKK 4,900.00`, `NT$1,234.00`: every decimal of the money's scale,
/// never a float.
pub fn money(m: Money, currency: &str) -> String {
    money_in(i18n::current(), m, currency)
}

fn money_in(locale: Locale, m: Money, currency: &str) -> String {
    let plain = m.format();
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let mut grouped = group_thousands(whole);
    if let Some(f) = fraction {
        grouped.push('.');
        grouped.push_str(f);
    }
    if SYMBOLS.contains(&currency) {
        let symbol = i18n::message(locale, &format!("currency-{currency}"), None);
        format!("{sign}{symbol}{grouped}")
    } else {
        format!("{sign}{currency} {grouped}")
    }
}

/// `1234567` → `1,234,567` (both languages group by three with a comma).
pub fn group_thousands(whole: &str) -> String {
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

/// Items of a list in the page's language: `A, B` / `A、B`.
pub fn list(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(&tr!("list-comma"))
}

/// `Nov 2026` / `2026年11月`: an invoice's month.
pub fn month(year: i32, month: u8) -> String {
    let name = i18n::t(&format!("month-{month}"));
    tr!("format-month", year = year.to_string(), month = month.to_string(), month_name = name)
}

/// `P1Y` → `1 year` / `1 年`, `P3Y` → `3 years`, `P1M` → `1 month` / `1 個月`; no term → `perpetual` / `永久`; an
/// unknown form as it is.
pub fn term(iso: Option<&str>) -> String {
    let Some(iso) = iso else { return tr!("term-perpetual") };
    let parsed = iso.strip_prefix('P').and_then(|rest| {
        let (n, unit) = rest.split_at(rest.len().checked_sub(1)?);
        let n: u32 = n.parse().ok()?;
        match unit {
            "Y" => Some(tr!("term-years", n = n)),
            "M" => Some(tr!("term-months", n = n)),
            _ => None,
        }
    });
    parsed.unwrap_or_else(|| iso.to_string())
}

/// `Nov 24, 2026` / `2026年11月24日`
pub fn date(d: time::Date) -> String {
    let month = u8::from(d.month());
    let name = i18n::t(&format!("month-{month}"));
    tr!(
        "format-date",
        year = d.year().to_string(),
        month = month.to_string(),
        month_name = name,
        day = d.day().to_string()
    )
}

/// `Nov 24, 2026, 10:15 UTC` / `2026年11月24日 10:15 (UTC)`: to the minute, the time zone said.
pub fn when(t: Timestamp) -> String {
    let dt = t.to_datetime();
    tr!("format-when", date = date(dt.date()), time = format!("{:02}:{:02}", dt.hour(), dt.minute()))
}

/// A machine name in words: the catalog's `term-<code>` where it has one (`download_software` → `Download
/// software` / `下載軟體`, `global_admin` → `Global admin` / `全域管理員`), else words made from the name
/// (`csp_purchase_refund` → `CSP purchase refund`).
pub fn words(code: &str) -> String {
    let key = format!("term-{}", code.replace('.', "-"));
    if i18n::has(i18n::current(), &key) {
        return i18n::t(&key);
    }
    plain_words(code)
}

/// Words made from a machine name, in English: the fallback of `words`.
pub fn plain_words(code: &str) -> String {
    let mut out = Vec::new();
    for (i, w) in code.split(['_', '.', '-']).filter(|w| !w.is_empty()).enumerate() {
        let lower = w.to_lowercase();
        out.push(match lower.as_str() {
            "csp" | "api" | "esu" | "csv" | "url" | "id" | "sku" | "ip" => lower.to_uppercase(),
            _ if i == 0 => {
                let mut c = lower.chars();
                c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
            }
            _ => lower,
        });
    }
    out.join(" ")
}

/// A camelCase key of an activity record's details in words: the catalog's `detail-<key>` where it has one
/// (`fileName` → `File name` / `檔案名稱`), else words made from it (`softwareItemId` → `Software item ID`).
pub fn key_words(key: &str) -> String {
    let catalog_key = format!("detail-{key}");
    if i18n::has(i18n::current(), &catalog_key) {
        return i18n::t(&catalog_key);
    }
    let mut snake = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_uppercase() {
            snake.push('_');
        }
        snake.push(c);
    }
    plain_words(&snake)
}

/// The same for templates: `{{ "nav-customers"|t }}`, `{{ "orders-placed"|t1("date", o.date) }}`, `{{ role|term
/// }}` (bring `format::filters` into the template's module). The locale is the request's, not a template field.
pub mod filters {
    use crate::i18n::{self, Arg};
    use fluent_bundle::{FluentArgs, FluentValue};
    use std::fmt::Display;

    pub fn term(code: impl Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::words(&code.to_string()))
    }

    pub fn t(key: impl Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(i18n::t(&key.to_string()))
    }

    /// The message with its variables, named in the template next to their values.
    fn with<const N: usize>(key: impl Display, args: [(&str, FluentValue<'static>); N]) -> askama::Result<String> {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            fluent.set(name.to_string(), value);
        }
        Ok(i18n::t_args(&key.to_string(), &fluent))
    }

    pub fn t1(key: impl Display, _: &dyn askama::Values, n1: &str, v1: impl Arg) -> askama::Result<String> {
        with(key, [(n1, v1.to_arg())])
    }

    pub fn t2(
        key: impl Display,
        _: &dyn askama::Values,
        n1: &str,
        v1: impl Arg,
        n2: &str,
        v2: impl Arg,
    ) -> askama::Result<String> {
        with(key, [(n1, v1.to_arg()), (n2, v2.to_arg())])
    }

    #[allow(clippy::too_many_arguments)]
    pub fn t3(
        key: impl Display,
        _: &dyn askama::Values,
        n1: &str,
        v1: impl Arg,
        n2: &str,
        v2: impl Arg,
        n3: &str,
        v3: impl Arg,
    ) -> askama::Result<String> {
        with(key, [(n1, v1.to_arg()), (n2, v2.to_arg()), (n3, v3.to_arg())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(minor: i64, scale: u8) -> Money {
        Money { minor, scale }
    }

    fn in_locale<R>(tag: &str, f: impl FnOnce() -> R) -> R {
        i18n::sync_scope(Locale::parse(tag).unwrap(), f)
    }

    #[test]
    fn money_has_its_symbol_and_thousands_separators() {
        in_locale("en", || {
            assert_eq!(money(m(1_092_600, 0), "JPY"), "¥1,092,600");
            assert_eq!(money(m(1_193_190, 2), "AUD"), "A$11,931.90");
            assert_eq!(money(m(120_000, 2), "USD"), "$1,200.00");
            assert_eq!(money(m(-1_230, 2), "USD"), "-$12.30");
            assert_eq!(money(m(490_000, 2), "DKK"), "DKK 4,900.00");
            assert_eq!(money(m(5, 2), "GBP"), "£0.05");
            assert_eq!(money(m(999, 0), "JPY"), "¥999");
            assert_eq!(money(m(100_000_000, 2), "EUR"), "€1,000,000.00");
            assert_eq!(money(m(123_400, 2), "TWD"), "NT$1,234.00");
        });
    }

    #[test]
    fn money_in_traditional_chinese_names_the_dollar() {
        in_locale("zh-TW", || {
            assert_eq!(money(m(123_400, 2), "TWD"), "NT$1,234.00");
            assert_eq!(money(m(123_400, 2), "USD"), "US$1,234.00");
            assert_eq!(money(m(-1_230, 2), "USD"), "-US$12.30");
            assert_eq!(money(m(1_092_600, 0), "JPY"), "¥1,092,600");
            assert_eq!(money(m(490_000, 2), "DKK"), "DKK 4,900.00");
        });
    }

    #[test]
    fn terms_dates_and_names_in_words() {
        in_locale("en", || {
            assert_eq!(term(Some("P1Y")), "1 year");
            assert_eq!(term(Some("P3Y")), "3 years");
            assert_eq!(term(Some("P1M")), "1 month");
            assert_eq!(term(None), "perpetual");
            assert_eq!(term(Some("odd")), "odd");
            let t = Timestamp::parse_rfc3339("2026-11-24T10:15:42.123456Z").unwrap();
            assert_eq!(when(t), "Nov 24, 2026, 10:15 UTC");
            assert_eq!(date(t.date()), "Nov 24, 2026");
            assert_eq!(month(2026, 11), "Nov 2026");
            assert_eq!(list(["A".to_string(), "B".to_string()]), "A, B");
            assert_eq!(words("download_software"), "Download software");
            assert_eq!(key_words("fileName"), "File name");
            assert_eq!(key_words("softwareItemId"), "Software item ID");
            assert_eq!(words("global_admin"), "Global admin");
            assert_eq!(words("csp_purchase_refund"), "CSP purchase refund");
            assert_eq!(words("customer.created"), "Customer created");
        });
    }

    #[test]
    fn terms_dates_and_names_in_traditional_chinese() {
        in_locale("zh-TW", || {
            assert_eq!(term(Some("P1Y")), "1 年");
            assert_eq!(term(Some("P3Y")), "3 年");
            assert_eq!(term(Some("P1M")), "1 個月");
            assert_eq!(term(None), "永久授權");
            let t = Timestamp::parse_rfc3339("2026-12-01T10:15:42Z").unwrap();
            assert_eq!(date(t.date()), "2026年12月1日");
            assert_eq!(when(t), "2026年12月1日 10:15（UTC）");
            assert_eq!(month(2026, 11), "2026年11月");
            assert_eq!(list(["甲".to_string(), "乙".to_string()]), "甲、乙");
            assert_eq!(words("download_software"), "下載軟體");
            assert_eq!(words("global_admin"), "全域管理員");
            assert_eq!(key_words("fileName"), "檔案名稱");
            // A machine name the catalog does not know is still words, not an id.
            assert_eq!(words("some_new_thing"), "Some new thing");
        });
    }
}
