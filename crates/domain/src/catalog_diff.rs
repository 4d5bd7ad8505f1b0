//! What importing a catalog document would change (the console's preview and `POST /v1/publisher/catalog/preview`):
//! the stored catalog compared with the document, product by product, by the import's own rule — a product the
//! document names replaces the stored one whole (its SKUs and prices), a product it does not name stays as it is.
//! So a product is never withdrawn by an import; its SKUs and prices are, when the document leaves them out.

use crate::catalog::{Price, Product, Sku};
use crate::market::MarketCode;

/// What happens to one product, SKU or price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Added,
    Changed,
    Withdrawn,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Withdrawn => "withdrawn",
        }
    }
}

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeLevel {
    Product,
    Sku,
    Price,
}

impl ChangeLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeLevel::Product => "product",
            ChangeLevel::Sku => "sku",
            ChangeLevel::Price => "price",
        }
    }
}

/// One line of the preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogChange {
    pub level: ChangeLevel,
    pub kind: ChangeKind,
    pub product_id: String,
    pub sku_id: Option<String>,
    pub country: Option<MarketCode>,
    /// The fields that differ, for a change (`title`, `termDuration`, `listPrice`…; empty otherwise).
    pub fields: Vec<&'static str>,
    /// A price as it was and as it will be (`USD 1200.00`); a product's or SKU's title.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// How many products, SKUs or prices each kind of change touches; `unchanged` counts those the document names
/// (or, for products, keeps) as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub added: usize,
    pub changed: usize,
    pub withdrawn: usize,
    pub unchanged: usize,
}

impl Tally {
    fn count(&mut self, kind: ChangeKind) {
        match kind {
            ChangeKind::Added => self.added += 1,
            ChangeKind::Changed => self.changed += 1,
            ChangeKind::Withdrawn => self.withdrawn += 1,
        }
    }
}

/// The whole preview: every change in document order (a product, then its SKUs, each followed by its prices),
/// and the counts per level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogDiff {
    pub changes: Vec<CatalogChange>,
    pub products: Tally,
    pub skus: Tally,
    pub prices: Tally,
}

impl CatalogDiff {
    /// Whether importing the document would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    fn push(&mut self, change: CatalogChange) {
        match change.level {
            ChangeLevel::Product => self.products.count(change.kind),
            ChangeLevel::Sku => self.skus.count(change.kind),
            ChangeLevel::Price => self.prices.count(change.kind),
        }
        self.changes.push(change);
    }

    fn product(&mut self, kind: ChangeKind, p: &Product, fields: Vec<&'static str>, before: Option<&Product>) {
        self.push(CatalogChange {
            level: ChangeLevel::Product,
            kind,
            product_id: p.id.clone(),
            sku_id: None,
            country: None,
            fields,
            before: before.map(|b| b.title.clone()),
            after: (kind != ChangeKind::Withdrawn).then(|| p.title.clone()),
        });
    }

    fn sku(&mut self, kind: ChangeKind, product: &str, s: &Sku, fields: Vec<&'static str>, before: Option<&Sku>) {
        self.push(CatalogChange {
            level: ChangeLevel::Sku,
            kind,
            product_id: product.to_string(),
            sku_id: Some(s.id.clone()),
            country: None,
            fields,
            before: before.map(|b| b.title.clone()),
            after: (kind != ChangeKind::Withdrawn).then(|| s.title.clone()),
        });
    }

    fn price(&mut self, kind: ChangeKind, product: &str, sku: &str, before: Option<&Price>, after: Option<&Price>) {
        let Some(country) = after.or(before).map(|p| p.country) else { return };
        let fields = match (before, after) {
            (Some(b), Some(a)) => {
                differing(&[("currencyCode", b.currency == a.currency), ("listPrice", b.list_price == a.list_price)])
            }
            _ => Vec::new(),
        };
        self.push(CatalogChange {
            level: ChangeLevel::Price,
            kind,
            product_id: product.to_string(),
            sku_id: Some(sku.to_string()),
            country: Some(country),
            fields,
            before: before.map(price_text),
            after: after.map(price_text),
        });
    }

    /// Every price of a SKU, all added or all withdrawn.
    fn prices_of(&mut self, kind: ChangeKind, product: &str, s: &Sku) {
        for p in &s.prices {
            let (before, after) = if kind == ChangeKind::Withdrawn { (Some(p), None) } else { (None, Some(p)) };
            self.price(kind, product, &s.id, before, after);
        }
    }
}

/// `USD 1200.00`.
pub fn price_text(p: &Price) -> String {
    format!("{} {}", p.currency, p.list_price)
}

/// The names of the fields whose two values differ.
fn differing(fields: &[(&'static str, bool)]) -> Vec<&'static str> {
    fields.iter().filter(|(_, same)| !same).map(|(name, _)| *name).collect()
}

fn product_fields(before: &Product, after: &Product) -> Vec<&'static str> {
    differing(&[
        ("title", before.title == after.title),
        ("publisherName", before.publisher_name == after.publisher_name),
        ("productType", before.product_type == after.product_type),
        ("cancellationPolicy", before.policy == after.policy),
        ("availableMarkets", before.available_markets == after.available_markets),
        ("unavailableMarkets", before.unavailable_markets == after.unavailable_markets),
    ])
}

fn sku_fields(before: &Sku, after: &Sku) -> Vec<&'static str> {
    differing(&[("title", before.title == after.title), ("termDuration", before.term == after.term)])
}

fn diff_skus(diff: &mut CatalogDiff, product: &str, stored: &[Sku], document: &[Sku]) {
    for s in document {
        match stored.iter().find(|o| o.id == s.id) {
            None => {
                diff.sku(ChangeKind::Added, product, s, Vec::new(), None);
                diff.prices_of(ChangeKind::Added, product, s);
            }
            Some(old) => {
                let fields = sku_fields(old, s);
                if fields.is_empty() {
                    diff.skus.unchanged += 1;
                } else {
                    diff.sku(ChangeKind::Changed, product, s, fields, Some(old));
                }
                for p in &s.prices {
                    match old.price_for(p.country) {
                        None => diff.price(ChangeKind::Added, product, &s.id, None, Some(p)),
                        Some(q) if q != p => diff.price(ChangeKind::Changed, product, &s.id, Some(q), Some(p)),
                        Some(_) => diff.prices.unchanged += 1,
                    }
                }
                for q in old.prices.iter().filter(|q| s.price_for(q.country).is_none()) {
                    diff.price(ChangeKind::Withdrawn, product, &s.id, Some(q), None);
                }
            }
        }
    }
    for old in stored.iter().filter(|o| !document.iter().any(|s| s.id == o.id)) {
        diff.sku(ChangeKind::Withdrawn, product, old, Vec::new(), Some(old));
        diff.prices_of(ChangeKind::Withdrawn, product, old);
    }
}

/// What importing `document` over `stored` would change. Pure: the import itself writes exactly this.
pub fn diff_catalog(stored: &[Product], document: &[Product]) -> CatalogDiff {
    let mut diff = CatalogDiff::default();
    for p in document {
        match stored.iter().find(|o| o.id == p.id) {
            None => {
                diff.product(ChangeKind::Added, p, Vec::new(), None);
                for s in &p.skus {
                    diff.sku(ChangeKind::Added, &p.id, s, Vec::new(), None);
                    diff.prices_of(ChangeKind::Added, &p.id, s);
                }
            }
            Some(old) => {
                let fields = product_fields(old, p);
                if fields.is_empty() {
                    diff.products.unchanged += 1;
                } else {
                    diff.product(ChangeKind::Changed, p, fields, Some(old));
                }
                diff_skus(&mut diff, &p.id, &old.skus, &p.skus);
            }
        }
    }
    diff.products.unchanged += stored.iter().filter(|o| !document.iter().any(|p| p.id == o.id)).count();
    diff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_catalog;

    fn catalog(json: &str) -> Vec<Product> {
        parse_catalog(json.as_bytes(), &|c: MarketCode| (c.info().currency.to_string(), c.info().minor_units)).unwrap()
    }

    const STORED: &str = r#"{"products": [
      {"id": "A", "title": "A", "publisherName": "P", "productType": "perpetual_software",
       "skus": [{"id": "1", "title": "One", "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "10.00"},
                                                        {"country": "AU", "currencyCode": "AUD", "listPrice": "15.00"}]},
                {"id": "2", "title": "Two", "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "20.00"}]}]},
      {"id": "B", "title": "B", "publisherName": "P", "productType": "perpetual_software",
       "skus": [{"id": "1", "title": "One", "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "5.00"}]}]}
    ]}"#;

    #[test]
    fn the_same_document_changes_nothing() {
        let stored = catalog(STORED);
        let diff = diff_catalog(&stored, &stored);
        assert!(diff.is_empty());
        assert_eq!(diff.products, Tally { unchanged: 2, ..Tally::default() });
        assert_eq!(diff.skus.unchanged, 3);
        assert_eq!(diff.prices.unchanged, 4);
    }

    #[test]
    fn added_changed_and_withdrawn_at_every_level() {
        let stored = catalog(STORED);
        let document = catalog(
            r#"{"products": [
          {"id": "A", "title": "A renamed", "publisherName": "P", "productType": "perpetual_software",
           "skus": [{"id": "1", "title": "One", "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "12.00"},
                                                            {"country": "JP", "currencyCode": "JPY", "listPrice": "1500"}]},
                    {"id": "3", "title": "Three", "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "30.00"}]}]},
          {"id": "C", "title": "C", "publisherName": "P", "productType": "perpetual_software",
           "skus": [{"id": "1", "title": "One", "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "1.00"}]}]}
        ]}"#,
        );
        let diff = diff_catalog(&stored, &document);
        // B is not named: kept. A changed, C added.
        assert_eq!(diff.products, Tally { added: 1, changed: 1, withdrawn: 0, unchanged: 1 });
        // A/1 unchanged, A/3 added, A/2 withdrawn, C/1 added.
        assert_eq!(diff.skus, Tally { added: 2, changed: 0, withdrawn: 1, unchanged: 1 });
        // A/1 US changed, JP added, AU withdrawn; A/3 US added; A/2 US withdrawn; C/1 US added.
        assert_eq!(diff.prices, Tally { added: 3, changed: 1, withdrawn: 2, unchanged: 0 });
        let a = &diff.changes[0];
        assert_eq!((a.level, a.kind, a.fields.clone()), (ChangeLevel::Product, ChangeKind::Changed, vec!["title"]));
        let us = diff.changes.iter().find(|c| c.level == ChangeLevel::Price && c.kind == ChangeKind::Changed).unwrap();
        assert_eq!(us.before.as_deref(), Some("USD 10.00"));
        assert_eq!(us.after.as_deref(), Some("USD 12.00"));
        assert_eq!(us.fields, vec!["listPrice"]);
        let withdrawn =
            diff.changes.iter().find(|c| c.level == ChangeLevel::Sku && c.kind == ChangeKind::Withdrawn).unwrap();
        assert_eq!((withdrawn.product_id.as_str(), withdrawn.sku_id.as_deref()), ("A", Some("2")));
        assert_eq!(withdrawn.after, None);
    }

    #[test]
    fn a_sku_title_or_term_change_is_a_change() {
        let stored = catalog(STORED);
        let mut document = stored.clone();
        document[1].skus[0].title = "Uno".into();
        let diff = diff_catalog(&stored, &document[1..]);
        assert_eq!(diff.skus.changed, 1);
        assert_eq!(diff.changes[0].fields, vec!["title"]);
        assert_eq!(diff.changes[0].before.as_deref(), Some("One"));
        assert_eq!(diff.changes[0].after.as_deref(), Some("Uno"));
    }
}
