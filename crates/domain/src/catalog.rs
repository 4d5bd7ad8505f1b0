//! The catalog document of SPEC §5 (products, SKUs, prices per market), product types and terms, target
//! views, stable availability ids, and R1 market availability.

use crate::cancellation::CancellationPolicy;
use crate::error::DomainError;
use crate::market::MarketCode;
use crate::money::Money;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use time::{Date, Month};

/// The five product types of SPEC §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductType {
    SoftwareSubscription,
    PerpetualSoftware,
    ExtendedSecurityUpdate,
    SoftwarePlan,
    AzureReservation,
}

impl ProductType {
    pub const ALL: [ProductType; 5] = [
        ProductType::SoftwareSubscription,
        ProductType::PerpetualSoftware,
        ProductType::ExtendedSecurityUpdate,
        ProductType::SoftwarePlan,
        ProductType::AzureReservation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductType::SoftwareSubscription => "software_subscription",
            ProductType::PerpetualSoftware => "perpetual_software",
            ProductType::ExtendedSecurityUpdate => "extended_security_update",
            ProductType::SoftwarePlan => "software_plan",
            ProductType::AzureReservation => "azure_reservation",
        }
    }

    /// Exact snake_case names only.
    pub fn parse(s: &str) -> Option<ProductType> {
        ProductType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether a line needs an activation key from stock at checkout.
    pub fn has_keys(self) -> bool {
        matches!(
            self,
            ProductType::SoftwareSubscription | ProductType::PerpetualSoftware | ProductType::ExtendedSecurityUpdate
        )
    }

    /// Whether the publisher uploads installation files for this type (SPEC §5: subscriptions and perpetual
    /// software have keys and downloads; ESU has keys only; plans and reservations neither).
    pub fn has_downloads(self) -> bool {
        matches!(self, ProductType::SoftwareSubscription | ProductType::PerpetualSoftware)
    }

    /// Whether a SKU of this type has a term (every type but perpetual software).
    pub fn has_term(self) -> bool {
        self != ProductType::PerpetualSoftware
    }

    /// Whether the type appears on the Software page (every type but reservations).
    pub fn is_software(self) -> bool {
        self != ProductType::AzureReservation
    }

    /// R9's defaults: a 60-day window, except ESU (support request) and software plans (none).
    pub fn default_policy(self) -> CancellationPolicy {
        match self {
            ProductType::ExtendedSecurityUpdate => CancellationPolicy::SupportRequest,
            ProductType::SoftwarePlan => CancellationPolicy::None,
            _ => CancellationPolicy::DEFAULT_WINDOW,
        }
    }
}

impl std::fmt::Display for ProductType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const YEAR_TERMS: [&str; 5] = ["P1Y", "P2Y", "P3Y", "P4Y", "P5Y"];
#[rustfmt::skip]
const MONTH_TERMS: [&str; 60] = [
    "P1M", "P2M", "P3M", "P4M", "P5M", "P6M", "P7M", "P8M", "P9M", "P10M", "P11M", "P12M",
    "P13M", "P14M", "P15M", "P16M", "P17M", "P18M", "P19M", "P20M", "P21M", "P22M", "P23M", "P24M",
    "P25M", "P26M", "P27M", "P28M", "P29M", "P30M", "P31M", "P32M", "P33M", "P34M", "P35M", "P36M",
    "P37M", "P38M", "P39M", "P40M", "P41M", "P42M", "P43M", "P44M", "P45M", "P46M", "P47M", "P48M",
    "P49M", "P50M", "P51M", "P52M", "P53M", "P54M", "P55M", "P56M", "P57M", "P58M", "P59M", "P60M",
];

/// A SKU's term: an ISO 8601 duration `P<n>Y` (1..=5) or `P<n>M` (1..=60), kept as written (`P12M` ≠ `P1Y`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Term {
    count: u8,
    years: bool,
}

impl Term {
    pub const P1M: Term = Term { count: 1, years: false };
    pub const P1Y: Term = Term { count: 1, years: true };
    pub const P3Y: Term = Term { count: 3, years: true };

    /// Exact spelling only: upper case, no leading zeros, no mixed units.
    pub fn parse(s: &str) -> Option<Term> {
        let find = |table: &[&str]| table.iter().position(|t| *t == s);
        if let Some(i) = find(&YEAR_TERMS) {
            return Some(Term { count: i as u8 + 1, years: true });
        }
        find(&MONTH_TERMS).map(|i| Term { count: i as u8 + 1, years: false })
    }

    pub fn as_str(self) -> &'static str {
        let i = usize::from(self.count) - 1;
        if self.years {
            YEAR_TERMS[i]
        } else {
            MONTH_TERMS[i]
        }
    }

    pub fn months(self) -> u32 {
        u32::from(self.count) * if self.years { 12 } else { 1 }
    }

    /// The same day `months()` later on the UTC calendar; a day the target month lacks clamps to its last day
    /// (2024-02-29 + P1Y = 2025-02-28, 2025-01-31 + P1M = 2025-02-28).
    pub fn end_date(self, start: Date) -> Date {
        let total = i64::from(start.year()) * 12 + i64::from(u8::from(start.month())) - 1 + i64::from(self.months());
        let Ok(year) = i32::try_from(total.div_euclid(12)) else {
            return Date::MAX;
        };
        let Ok(month) = Month::try_from(total.rem_euclid(12) as u8 + 1) else {
            return Date::MAX;
        };
        let day = start.day().min(month.length(year));
        Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
    }

    /// The days from `start` to [`Term::end_date`] (365 or 366 for `P1Y`): R10's `term_days`.
    pub fn days(self, start: Date) -> i64 {
        (self.end_date(start) - start).whole_days()
    }
}

impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Term {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Partner Center's `targetView` of a catalog request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetView {
    Software,
    SoftwareSubscriptions,
    SoftwarePerpetual,
    SoftwareSUSELinux,
    AzureReservations,
}

impl TargetView {
    pub const ALL: [TargetView; 5] = [
        TargetView::Software,
        TargetView::SoftwareSubscriptions,
        TargetView::SoftwarePerpetual,
        TargetView::SoftwareSUSELinux,
        TargetView::AzureReservations,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetView::Software => "Software",
            TargetView::SoftwareSubscriptions => "SoftwareSubscriptions",
            TargetView::SoftwarePerpetual => "SoftwarePerpetual",
            TargetView::SoftwareSUSELinux => "SoftwareSUSELinux",
            TargetView::AzureReservations => "AzureReservations",
        }
    }

    /// Exact spelling only.
    pub fn parse(s: &str) -> Option<TargetView> {
        TargetView::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn includes_type(self, t: ProductType) -> bool {
        match self {
            TargetView::Software => t.is_software(),
            TargetView::SoftwareSubscriptions => {
                matches!(t, ProductType::SoftwareSubscription | ProductType::ExtendedSecurityUpdate)
            }
            TargetView::SoftwarePerpetual => t == ProductType::PerpetualSoftware,
            TargetView::SoftwareSUSELinux => t == ProductType::SoftwarePlan,
            TargetView::AzureReservations => t == ProductType::AzureReservation,
        }
    }

    pub fn includes(self, product: &Product) -> bool {
        self.includes_type(product.product_type)
    }
}

impl std::fmt::Display for TargetView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A catalog product, as parsed from the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: String,
    pub title: String,
    pub publisher_name: String,
    pub product_type: ProductType,
    pub policy: CancellationPolicy,
    /// An allow-list that replaces the type-level list (sorted, deduplicated).
    pub available_markets: Option<Vec<MarketCode>>,
    /// A deny-list that replaces the type-level list (sorted, deduplicated).
    pub unavailable_markets: Option<Vec<MarketCode>>,
    pub skus: Vec<Sku>,
}

impl Product {
    pub fn sku(&self, sku_id: &str) -> Option<&Sku> {
        self.skus.iter().find(|s| s.id == sku_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku {
    pub id: String,
    pub title: String,
    /// `None` exactly for perpetual software.
    pub term: Option<Term>,
    /// At most one per country; a SKU is offered only where it has a price.
    pub prices: Vec<Price>,
}

impl Sku {
    pub fn price_for(&self, country: MarketCode) -> Option<&Price> {
        self.prices.iter().find(|p| p.country == country)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub country: MarketCode,
    /// The market's currency (upper case).
    pub currency: String,
    pub list_price: Money,
}

/// The longest title accepted for a product or SKU, in characters.
pub const MAX_TITLE_CHARS: usize = 256;
/// The longest id accepted for a product or SKU.
pub const MAX_ID_CHARS: usize = 64;
/// The bounds of a `window` policy's days.
pub const WINDOW_DAYS: std::ops::RangeInclusive<i64> = 1..=3650;

/// Checks a product or SKU id: 1..=64 characters of `[A-Za-z0-9._-]`.
pub fn validate_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    if id.len() > MAX_ID_CHARS {
        return Err(format!("must be at most {MAX_ID_CHARS} characters"));
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return Err("may only contain letters, digits, '.', '_' and '-'".into());
    }
    Ok(())
}

fn err(path: &str, message: impl std::fmt::Display) -> DomainError {
    DomainError::invalid(path, message)
}

/// A present, non-null member of `obj`.
fn member<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, DomainError> {
    v.as_object().ok_or_else(|| err(path, "expected an object"))
}

fn required<'a>(obj: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a Value, DomainError> {
    member(obj, key).ok_or_else(|| err(&format!("{path}.{key}"), "missing"))
}

fn required_str<'a>(obj: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a str, DomainError> {
    required(obj, key, path)?.as_str().ok_or_else(|| err(&format!("{path}.{key}"), "expected a string"))
}

fn required_array<'a>(obj: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a Vec<Value>, DomainError> {
    required(obj, key, path)?.as_array().ok_or_else(|| err(&format!("{path}.{key}"), "expected an array"))
}

fn text_field(obj: &Map<String, Value>, key: &str, path: &str) -> Result<String, DomainError> {
    let t = required_str(obj, key, path)?.trim();
    if t.is_empty() {
        return Err(err(&format!("{path}.{key}"), "must not be empty"));
    }
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(err(&format!("{path}.{key}"), format_args!("must be at most {MAX_TITLE_CHARS} characters")));
    }
    Ok(t.to_string())
}

fn country(v: &Value, path: &str) -> Result<MarketCode, DomainError> {
    let s = v.as_str().ok_or_else(|| err(path, "expected a country code such as \"US\""))?;
    // MarketCode::parse trims and upper-cases; the document must spell the code itself.
    if s.len() != 2 {
        return Err(err(path, format_args!("unknown country '{s}'")));
    }
    MarketCode::parse(s).ok_or_else(|| err(path, format_args!("unknown country '{s}'")))
}

fn market_list(v: &Value, path: &str) -> Result<Vec<MarketCode>, DomainError> {
    let items = v.as_array().ok_or_else(|| err(path, "expected an array of country codes"))?;
    let mut set = BTreeSet::new();
    for (k, item) in items.iter().enumerate() {
        set.insert(country(item, &format!("{path}[{k}]"))?);
    }
    Ok(set.into_iter().collect())
}

fn policy(obj: &Map<String, Value>, product_type: ProductType, path: &str) -> Result<CancellationPolicy, DomainError> {
    let Some(v) = member(obj, "cancellationPolicy") else {
        return Ok(product_type.default_policy());
    };
    let path = format!("{path}.cancellationPolicy");
    let p = object(v, &path)?;
    match required_str(p, "kind", &path)? {
        "window" => {
            let Some(days) = member(p, "days") else {
                return Ok(CancellationPolicy::DEFAULT_WINDOW);
            };
            match days.as_i64() {
                Some(d) if WINDOW_DAYS.contains(&d) => Ok(CancellationPolicy::Window { days: d as u32 }),
                _ => Err(err(
                    &format!("{path}.days"),
                    format_args!(
                        "must be a whole number of days between {} and {}",
                        WINDOW_DAYS.start(),
                        WINDOW_DAYS.end()
                    ),
                )),
            }
        }
        "support_request" => Ok(CancellationPolicy::SupportRequest),
        "none" => Ok(CancellationPolicy::None),
        other => Err(err(
            &format!("{path}.kind"),
            format_args!("unknown policy kind '{other}' (expected window, support_request or none)"),
        )),
    }
}

fn list_price(obj: &Map<String, Value>, currency: &str, minor_units: u8, path: &str) -> Result<Money, DomainError> {
    let path = format!("{path}.listPrice");
    let s = member(obj, "listPrice")
        .ok_or_else(|| err(&path, "missing"))?
        .as_str()
        .ok_or_else(|| err(&path, "expected a string such as \"1234.50\""))?;
    Money::parse(s, minor_units).map_err(|message| {
        let too_many_decimals = s.split_once('.').is_some_and(|(i, f)| {
            f.len() > usize::from(minor_units)
                && !f.is_empty()
                && f.bytes().all(|b| b.is_ascii_digit())
                && i.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit())
        });
        if s.trim_start().starts_with('-') {
            err(&path, "must not be negative")
        } else if too_many_decimals {
            err(&path, format_args!("has more decimals than {currency} allows ({minor_units})"))
        } else {
            err(&path, message)
        }
    })
}

fn parse_sku(
    v: &Value,
    product_type: ProductType,
    market: &dyn Fn(MarketCode) -> (String, u8),
    path: &str,
) -> Result<Sku, DomainError> {
    let obj = object(v, path)?;
    let id = required_str(obj, "id", path)?;
    validate_id(id).map_err(|m| err(&format!("{path}.id"), m))?;
    let title = text_field(obj, "title", path)?;
    let term_path = format!("{path}.termDuration");
    let term = match (member(obj, "termDuration"), product_type.has_term()) {
        (None, false) => None,
        (Some(_), false) => return Err(err(&term_path, "perpetual software has no term")),
        (None, true) => {
            return Err(err(&term_path, format_args!("missing: a {product_type} SKU needs a term such as \"P1Y\"")))
        }
        (Some(t), true) => {
            let s = t.as_str().ok_or_else(|| err(&term_path, "expected a string such as \"P1Y\""))?;
            Some(Term::parse(s).ok_or_else(|| {
                err(&term_path, format_args!("unknown term '{s}' (expected P1Y to P5Y or P1M to P60M)"))
            })?)
        }
    };
    let mut prices: Vec<Price> = Vec::new();
    for (k, pv) in required_array(obj, "prices", path)?.iter().enumerate() {
        let ppath = format!("{path}.prices[{k}]");
        let p = object(pv, &ppath)?;
        let c = country(required(p, "country", &ppath)?, &format!("{ppath}.country"))?;
        if prices.iter().any(|q| q.country == c) {
            return Err(err(&format!("{ppath}.country"), format_args!("a second price for {c} in this SKU")));
        }
        let (currency, minor_units) = market(c);
        let given = required_str(p, "currencyCode", &ppath)?;
        if !given.eq_ignore_ascii_case(&currency) {
            return Err(err(
                &format!("{ppath}.currencyCode"),
                format_args!("'{given}' is not the currency of market {c} ({currency})"),
            ));
        }
        let list_price = list_price(p, &currency, minor_units, &ppath)?;
        prices.push(Price { country: c, currency, list_price });
    }
    Ok(Sku { id: id.to_string(), title, term, prices })
}

fn parse_product(
    v: &Value,
    index: usize,
    seen: &mut HashMap<String, usize>,
    market: &dyn Fn(MarketCode) -> (String, u8),
) -> Result<Product, DomainError> {
    let bare = format!("products[{index}]");
    let obj = object(v, &bare)?;
    let id = required_str(obj, "id", &bare)?;
    validate_id(id).map_err(|m| err(&format!("{bare}.id"), m))?;
    let path = format!("{bare} ({id})");
    if let Some(first) = seen.insert(id.to_string(), index) {
        return Err(err(&format!("{path}.id"), format_args!("duplicate product id (also products[{first}])")));
    }
    let title = text_field(obj, "title", &path)?;
    let publisher_name = text_field(obj, "publisherName", &path)?;
    let type_name = required_str(obj, "productType", &path)?;
    let product_type = ProductType::parse(type_name).ok_or_else(|| {
        err(
            &format!("{path}.productType"),
            format_args!(
                "unknown product type '{type_name}' (expected one of {})",
                ProductType::ALL.map(ProductType::as_str).join(", ")
            ),
        )
    })?;
    let policy = policy(obj, product_type, &path)?;
    let (available, unavailable) = (member(obj, "availableMarkets"), member(obj, "unavailableMarkets"));
    if available.is_some() && unavailable.is_some() {
        return Err(err(
            &format!("{path}.unavailableMarkets"),
            "give availableMarkets or unavailableMarkets, not both",
        ));
    }
    let available_markets = available.map(|v| market_list(v, &format!("{path}.availableMarkets"))).transpose()?;
    let unavailable_markets = unavailable.map(|v| market_list(v, &format!("{path}.unavailableMarkets"))).transpose()?;
    let sku_values = required_array(obj, "skus", &path)?;
    if sku_values.is_empty() {
        return Err(err(&format!("{path}.skus"), "a product needs at least one SKU"));
    }
    let mut skus: Vec<Sku> = Vec::with_capacity(sku_values.len());
    for (j, sv) in sku_values.iter().enumerate() {
        let spath = format!("{path}.skus[{j}]");
        let sku = parse_sku(sv, product_type, market, &spath)?;
        if let Some(first) = skus.iter().position(|s| s.id == sku.id) {
            return Err(err(
                &format!("{spath}.id"),
                format_args!("duplicate SKU id '{}' (also skus[{first}])", sku.id),
            ));
        }
        skus.push(sku);
    }
    Ok(Product {
        id: id.to_string(),
        title,
        publisher_name,
        product_type,
        policy,
        available_markets,
        unavailable_markets,
        skus,
    })
}

/// Parses and validates a catalog document `{"products": [...]}` (SPEC §5). `market(country)` gives the market's
/// currency and its minor units. Every error is `InvalidRequest` whose message starts with the path of the
/// offending field, naming the product: `products[2] (SQL2019STD).skus[0].prices[1].listPrice: …`.
/// Unknown JSON fields are ignored; a `null` counts as absent.
pub fn parse_catalog(json: &[u8], market: &dyn Fn(MarketCode) -> (String, u8)) -> Result<Vec<Product>, DomainError> {
    let root: Value = serde_json::from_slice(json)
        .map_err(|e| DomainError::InvalidRequest(format!("catalog: not a valid JSON document ({e})")))?;
    let root = root.as_object().ok_or_else(|| err("catalog", "expected an object {\"products\": [...]}"))?;
    let values = member(root, "products")
        .ok_or_else(|| err("products", "missing"))?
        .as_array()
        .ok_or_else(|| err("products", "expected an array"))?;
    let mut seen = HashMap::new();
    values.iter().enumerate().map(|(i, v)| parse_product(v, i, &mut seen, market)).collect()
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, upper case, no padding.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0_u32, 0_u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The id of a SKU's availability in one market, stable across imports: the first 12 characters of the
/// upper-case base32 (RFC 4648, no padding) of SHA-256("{product}|{sku}|{country}").
pub fn availability_id(product_id: &str, sku_id: &str, country: MarketCode) -> String {
    let digest = Sha256::digest(format!("{product_id}|{sku_id}|{country}").as_bytes());
    // 8 bytes give 12 full base32 characters plus a partial one.
    let mut id = base32(&digest[..8]);
    id.truncate(12);
    id
}

/// `"{product}:{sku}:{availability}"` (SPEC §5).
pub fn catalog_item_id(product_id: &str, sku_id: &str, availability_id: &str) -> String {
    format!("{product_id}:{sku_id}:{availability_id}")
}

/// The inverse of [`catalog_item_id`]: exactly three non-empty parts.
pub fn parse_catalog_item_id(s: &str) -> Option<(String, String, String)> {
    let mut parts = s.split(':');
    let (p, k, a) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || p.is_empty() || k.is_empty() || a.is_empty() {
        return None;
    }
    Some((p.to_string(), k.to_string(), a.to_string()))
}

/// The article's list (a copy of `shared/seed/…`, kept in the crate so the product builds on its own).
const UNAVAILABLE_MARKETS_CSV: &str = include_str!("../data/azure-reservations-unavailable-markets.csv");

/// R1's seed: the markets where Azure reservations are not available (106 codes, sorted, deduplicated).
pub fn reservation_unavailable_markets() -> Vec<MarketCode> {
    let csv = UNAVAILABLE_MARKETS_CSV.trim_start_matches('\u{feff}');
    let codes: BTreeSet<MarketCode> = csv
        .lines()
        .skip(1)
        .filter_map(|line| {
            // The name is quoted and may contain a comma; the code, last, never does.
            let code = line.rsplit(',').next()?.trim().trim_matches('"');
            MarketCode::parse(code)
        })
        .collect();
    codes.into_iter().collect()
}

/// A product type's market list (R1), as the publisher sets it: a deny-list or an allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarketRule {
    UnavailableIn(Vec<MarketCode>),
    AvailableOnlyIn(Vec<MarketCode>),
}

impl MarketRule {
    /// Parses `{"unavailableMarkets": [...]}` or `{"availableMarkets": [...]}` (exactly one).
    pub fn parse(available: Option<&[String]>, unavailable: Option<&[String]>) -> Result<MarketRule, DomainError> {
        let codes = |field: &str, list: &[String]| -> Result<Vec<MarketCode>, DomainError> {
            let mut v = list
                .iter()
                .map(|c| {
                    MarketCode::parse(c)
                        .ok_or_else(|| DomainError::invalid(field, format!("'{c}' is not an ISO 3166-1 alpha-2 code")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            v.sort();
            v.dedup();
            Ok(v)
        };
        match (available, unavailable) {
            (Some(a), None) => Ok(MarketRule::AvailableOnlyIn(codes("availableMarkets", a)?)),
            (None, Some(u)) => Ok(MarketRule::UnavailableIn(codes("unavailableMarkets", u)?)),
            _ => Err(DomainError::invalid(
                "unavailableMarkets",
                "give exactly one of unavailableMarkets or availableMarkets",
            )),
        }
    }

    /// The markets where the type is not offered, whichever way the rule was written.
    pub fn unavailable_list(&self) -> Vec<MarketCode> {
        match self {
            MarketRule::UnavailableIn(v) => v.clone(),
            MarketRule::AvailableOnlyIn(allowed) => crate::market_data::COUNTRIES
                .iter()
                .filter_map(|c| MarketCode::parse(c.code))
                .filter(|m| !allowed.contains(m))
                .collect(),
        }
    }

    /// Stored form: mode and comma-separated codes.
    pub fn to_stored(&self) -> (&'static str, String) {
        let join = |v: &[MarketCode]| v.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(",");
        match self {
            MarketRule::UnavailableIn(v) => ("unavailable", join(v)),
            MarketRule::AvailableOnlyIn(v) => ("available", join(v)),
        }
    }

    pub fn from_stored(mode: &str, markets: &str) -> Option<MarketRule> {
        let codes: Option<Vec<MarketCode>> =
            markets.split(',').filter(|s| !s.is_empty()).map(MarketCode::parse).collect();
        match mode {
            "unavailable" => Some(MarketRule::UnavailableIn(codes?)),
            "available" => Some(MarketRule::AvailableOnlyIn(codes?)),
            _ => None,
        }
    }
}

/// R1: a product's own allow-list (`available_markets`) or deny-list (`unavailable_markets`) replaces the
/// type-level deny-list; otherwise `type_unavailable` applies.
pub fn is_available(product: &Product, type_unavailable: &[MarketCode], market: MarketCode) -> bool {
    if let Some(allowed) = &product.available_markets {
        allowed.contains(&market)
    } else if let Some(denied) = &product.unavailable_markets {
        !denied.contains(&market)
    } else {
        !type_unavailable.contains(&market)
    }
}

#[cfg(test)]
mod tests;
