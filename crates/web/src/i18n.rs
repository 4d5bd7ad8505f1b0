//! The languages of the pages people read (the dashboard, sign-in, a download link's page): one Project Fluent
//! catalog per locale in `crates/web/locales/`, with plurals and variables. The API, CSV files and webhook bodies
//! stay in English (Partner Center's API is English); nothing here is used by them.
//!
//! The locale of a request is chosen once, by `choose` (the language switch's cookie, else the browser's
//! `Accept-Language`, else English) and then by the signed-in user's saved preference (`Signed`), and held in a
//! task-local for the request, so that the templates' `t` filters and the handlers' `tr!` read it without every
//! view struct carrying it. Outside a request (unit tests, the benchmarks) it is English.
//!
//! Adding a language is adding its catalog file and one line to `LANGUAGES`; the tests in `tests.rs` fail until its
//! catalog has every key the others have.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::cell::Cell;
use std::sync::LazyLock;

/// Every language: its BCP 47 tag and its catalog. The first is the default and the fallback for a missing key.
const LANGUAGES: &[(&str, &str)] =
    &[("en", include_str!("../locales/en.ftl")), ("zh-TW", include_str!("../locales/zh-TW.ftl"))];

/// The cookie the language switch sets (for pages seen before signing in; a signed-in user's choice is saved).
pub const COOKIE: &str = "ph_lang";

/// One of `LANGUAGES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locale(usize);

impl Locale {
    pub const DEFAULT: Locale = Locale(0);

    pub fn all() -> impl Iterator<Item = Locale> {
        (0..LANGUAGES.len()).map(Locale)
    }

    /// `en`, `zh-TW`: what `<html lang>` and the saved preference hold.
    pub fn tag(self) -> &'static str {
        LANGUAGES[self.0].0
    }

    /// The language's own name, for the switch (`English`, `繁體中文`).
    pub fn name(self) -> String {
        message(self, "language-name", None)
    }

    /// A tag as stored or posted, exactly (ignoring case): `zh-tw` → zh-TW; anything else → `None`.
    pub fn parse(tag: &str) -> Option<Locale> {
        Locale::all().find(|l| l.tag().eq_ignore_ascii_case(tag.trim()))
    }

    /// The best of ours for an `Accept-Language` header: entries by weight (`q=0` refuses), an exact tag first,
    /// else the same language (`zh-Hant-TW`, `zh-HK`, `zh` → zh-TW; `en-GB` → en); `None` when nothing matches.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut wanted: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|entry| {
                let mut parts = entry.split(';');
                let tag = parts.next()?.trim();
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (!tag.is_empty() && tag != "*" && q > 0.0).then_some((q, tag))
            })
            .collect();
        // Stable: equal weights keep the browser's order.
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        wanted.iter().find_map(|(_, tag)| {
            Locale::parse(tag).or_else(|| {
                let language = tag.split(['-', '_']).next()?;
                Locale::all()
                    .find(|l| l.tag().split('-').next().is_some_and(|ours| ours.eq_ignore_ascii_case(language)))
            })
        })
    }
}

static BUNDLES: LazyLock<Vec<FluentBundle<FluentResource>>> = LazyLock::new(|| {
    LANGUAGES
        .iter()
        .map(|(tag, source)| {
            let resource = FluentResource::try_new((*source).to_string())
                .unwrap_or_else(|(_, errors)| panic!("the {tag} catalog does not parse: {errors:?}"));
            let id = tag.parse().unwrap_or_else(|e| panic!("{tag} is not a language tag: {e}"));
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // The pages are HTML with `lang` set; Unicode isolation marks around variables would only get in the way
            // of copying ids and amounts.
            bundle.set_use_isolating(false);
            bundle.add_resource(resource).unwrap_or_else(|e| panic!("the {tag} catalog repeats a key: {e:?}"));
            bundle
        })
        .collect()
});

/// The message `key` in `locale` with `args`; a key missing from the locale's catalog falls back to the default
/// language's (logged), and a key missing everywhere shows as itself (the completeness tests keep both from
/// happening).
pub fn message(locale: Locale, key: &str, args: Option<&FluentArgs>) -> String {
    let found = |l: Locale| {
        let bundle = &BUNDLES[l.0];
        bundle.get_message(key).and_then(|m| m.value()).map(|pattern| {
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors).into_owned();
            if !errors.is_empty() {
                tracing::warn!(key, locale = l.tag(), ?errors, "a message did not format cleanly");
            }
            text
        })
    };
    found(locale)
        .or_else(|| {
            tracing::warn!(key, locale = locale.tag(), "a message is missing from the catalog");
            found(Locale::DEFAULT)
        })
        .unwrap_or_else(|| key.to_string())
}

/// Whether the catalog of `locale` has `key` (for terms that fall back to words made from a machine name).
pub fn has(locale: Locale, key: &str) -> bool {
    BUNDLES[locale.0].has_message(key)
}

tokio::task_local! {
    static CURRENT: Cell<Locale>;
}

/// The locale of the request being served (English outside one).
pub fn current() -> Locale {
    CURRENT.try_with(Cell::get).unwrap_or(Locale::DEFAULT)
}

/// Changes the current request's locale (the signed-in user's saved preference outranks the browser's).
pub fn set_current(locale: Locale) {
    let _ = CURRENT.try_with(|c| c.set(locale));
}

/// Runs `f` with `locale` as the current one.
pub async fn scope<F: std::future::Future>(locale: Locale, f: F) -> F::Output {
    CURRENT.scope(Cell::new(locale), f).await
}

/// The same for synchronous code (a page rendered outside the dashboard's middleware).
pub fn sync_scope<R>(locale: Locale, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(Cell::new(locale), f)
}

/// The message `key` in the current locale.
pub fn t(key: &str) -> String {
    message(current(), key, None)
}

/// The message `key` in the current locale, with variables.
pub fn t_args(key: &str, args: &FluentArgs) -> String {
    message(current(), key, Some(args))
}

/// A value for a message's variable: numbers stay numbers (so plurals select on them), the rest is text.
pub trait Arg {
    fn to_arg(&self) -> FluentValue<'static>;
}

macro_rules! number_args {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            fn to_arg(&self) -> FluentValue<'static> {
                FluentValue::from(*self)
            }
        }
    )*};
}
number_args!(i32, i64, u8, u16, u32, u64, usize);

impl Arg for str {
    fn to_arg(&self) -> FluentValue<'static> {
        FluentValue::from(self.to_string())
    }
}

impl Arg for String {
    fn to_arg(&self) -> FluentValue<'static> {
        FluentValue::from(self.clone())
    }
}

impl<T: Arg + ?Sized> Arg for &T {
    fn to_arg(&self) -> FluentValue<'static> {
        (**self).to_arg()
    }
}

/// `tr!("key")` or `tr!("key", name = value, …)`: the message in the current locale. The completeness test finds
/// the keys a handler uses by this macro's name, so keys are literals.
macro_rules! tr {
    ($key:literal) => {
        $crate::i18n::t($key)
    };
    ($key:literal, $($name:ident = $value:expr),+ $(,)?) => {{
        let mut args = fluent_bundle::FluentArgs::new();
        $(args.set(stringify!($name), $crate::i18n::Arg::to_arg(&$value));)+
        $crate::i18n::t_args($key, &args)
    }};
}
pub(crate) use tr;

/// The choice before any session is known: the switch's cookie, else `Accept-Language`, else the default; the
/// rest of the request runs in it.
pub async fn choose(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let locale = from_headers(req.headers());
    let (mut res, spoken) = scope(locale, async { (next.run(req).await, current()) }).await;
    res.headers_mut().insert(axum::http::header::CONTENT_LANGUAGE, axum::http::HeaderValue::from_static(spoken.tag()));
    res
}

/// The cookie, then the browser's languages, then the default.
pub fn from_headers(headers: &axum::http::HeaderMap) -> Locale {
    crate::ui::cookie(headers, COOKIE)
        .and_then(Locale::parse)
        .or_else(|| browser_locale(headers))
        .unwrap_or(Locale::DEFAULT)
}

/// What the browser asks for (`Accept-Language`) alone: the customer-facing link page follows it.
pub fn browser_locale(headers: &axum::http::HeaderMap) -> Option<Locale> {
    headers
        .get_all(axum::http::header::ACCEPT_LANGUAGE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(Locale::from_accept_language)
}

#[cfg(test)]
mod tests;
