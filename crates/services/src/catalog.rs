//! The catalog (SPEC §5) and R1 availability: what the publisher imports, what a market may buy.

use crate::auth::Publisher;
use crate::{Actor, Result, Services};
use domain::catalog::{is_available, parse_catalog, MarketRule, Product, ProductType, TargetView};
use domain::catalog_diff::{diff_catalog, CatalogDiff};
use domain::customer::Customer;
use domain::ids::TenantId;
use domain::market::{Market, MarketCode};
use domain::operator::{OperatorAction, OperatorOperation};
use domain::policy::Action;
use domain::DomainError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{CatalogCounts, Effects};

/// How long another server process's catalog change may go unseen here.
pub const CATALOG_TTL: Duration = Duration::from_secs(1);

/// Products, R1 rules and markets, read whole and kept for a moment: every cart and checkout needs them and they
/// change only when the publisher edits them. An edit through this process clears the cache at once; one through
/// another process (several servers on one PostgreSQL) shows within [`CATALOG_TTL`].
#[derive(Clone, Default)]
pub struct CatalogCache(Arc<Mutex<CacheState>>);

#[derive(Default)]
struct CacheState {
    snapshot: Option<(Instant, Arc<CatalogSnapshot>)>,
    /// Bumped by every edit: a read that began before an edit must not store what it read.
    generation: u64,
}

pub struct CatalogSnapshot {
    products: Vec<Product>,
    rules: Vec<(ProductType, MarketRule)>,
    markets: Vec<Market>,
}

impl CatalogCache {
    fn state(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh snapshot, or the generation a new read starts at.
    fn fresh(&self) -> std::result::Result<Arc<CatalogSnapshot>, u64> {
        let state = self.state();
        match &state.snapshot {
            Some((at, s)) if at.elapsed() < CATALOG_TTL => Ok(s.clone()),
            _ => Err(state.generation),
        }
    }

    fn keep(&self, read_at_generation: u64, snapshot: Arc<CatalogSnapshot>) {
        let mut state = self.state();
        if state.generation == read_at_generation {
            state.snapshot = Some((Instant::now(), snapshot));
        }
    }

    pub fn clear(&self) {
        let mut state = self.state();
        state.snapshot = None;
        state.generation += 1;
    }
}

/// The catalog as one market sees it.
#[derive(Debug, Clone)]
pub struct MarketCatalog {
    pub market: Market,
    /// Products available in the market with at least one SKU priced there; SKUs not priced there are removed.
    pub products: Vec<Product>,
}

impl MarketCatalog {
    pub fn product(&self, id: &str) -> Result<&Product> {
        self.products.iter().find(|p| p.id == id).ok_or_else(|| DomainError::NotFound.into())
    }
}

/// A market's currency and its minor units, from the market table (the country's own when it has no row).
pub(crate) fn currency_of(markets: &[Market], code: MarketCode) -> (String, u8) {
    markets
        .iter()
        .find(|m| m.country == code)
        .map(|m| (m.currency_code.clone(), m.minor_units))
        .unwrap_or_else(|| (code.info().currency.to_string(), code.info().minor_units))
}

pub fn parse_target_view(s: Option<&str>) -> Result<Option<TargetView>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => TargetView::parse(v).map(Some).ok_or_else(|| {
            DomainError::invalid(
                "targetView",
                format!(
                    "'{v}' is not one of {}",
                    TargetView::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
            .into()
        }),
    }
}

impl Services {
    /// Publisher: upserts the products of a catalog document (whole products; others stay as they are).
    #[tracing::instrument(skip_all)]
    pub async fn import_catalog(&self, publisher: &Publisher, document: &[u8]) -> Result<CatalogCounts> {
        publisher.authorize(OperatorAction::ManageCatalog)?;
        let products = self.parse_document(document).await?;
        let now = self.clock.now();
        let record = publisher
            .record(OperatorOperation::ImportCatalog, now)
            .data("products", products.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(","));
        let counts = self.store.put_catalog(&products, now, Effects::operator(record, None)).await;
        self.catalog_cache.clear();
        Ok(counts?)
    }

    /// A catalog document's products, priced in the markets' currencies as stored.
    async fn parse_document(&self, document: &[u8]) -> Result<Vec<Product>> {
        let markets = self.store.list_markets().await?;
        Ok(parse_catalog(document, &|code| currency_of(&markets, code))?)
    }

    /// Publisher: what importing a catalog document would change (added, changed, withdrawn), read against the
    /// stored catalog; writes nothing. A document that would not import is refused with the same error.
    #[tracing::instrument(skip_all)]
    pub async fn preview_catalog(&self, publisher: &Publisher, document: &[u8]) -> Result<CatalogDiff> {
        publisher.authorize(OperatorAction::ManageCatalog)?;
        let products = self.parse_document(document).await?;
        let stored = self.store.list_products().await?;
        Ok(diff_catalog(&stored, &products))
    }

    /// Publisher: the stored catalog, every product with its SKUs and prices (not filtered by market), and the
    /// market table.
    #[tracing::instrument(skip_all)]
    pub async fn publisher_catalog(&self, publisher: &Publisher) -> Result<(Vec<Product>, Vec<Market>)> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        Ok((self.store.list_products().await?, self.store.list_markets().await?))
    }

    /// Publisher: sets a product type's market list (R1).
    #[tracing::instrument(skip_all)]
    pub async fn put_type_availability(
        &self,
        publisher: &Publisher,
        product_type: &str,
        available: Option<&[String]>,
        unavailable: Option<&[String]>,
    ) -> Result<MarketRule> {
        publisher.authorize(OperatorAction::ManageCatalog)?;
        let t = ProductType::parse(product_type)
            .ok_or_else(|| DomainError::invalid("productType", format!("'{product_type}' is not a product type")))?;
        let rule = MarketRule::parse(available, unavailable)?;
        let now = self.clock.now();
        let (mode, markets) = rule.to_stored();
        let record = publisher
            .record(OperatorOperation::UpdateAvailability, now)
            .data("productType", t.as_str())
            .data(mode, markets);
        let put = self.store.put_type_availability(t, &rule, now, Effects::operator(record, None)).await;
        self.catalog_cache.clear();
        put?;
        Ok(rule)
    }

    /// Publisher: sets a product's own market list (R1), which replaces its type's; with neither list, the product
    /// follows its type's again. Returns the product's own rule, if any.
    #[tracing::instrument(skip_all)]
    pub async fn put_product_availability(
        &self,
        publisher: &Publisher,
        product_id: &str,
        available: Option<&[String]>,
        unavailable: Option<&[String]>,
    ) -> Result<Option<MarketRule>> {
        publisher.authorize(OperatorAction::ManageCatalog)?;
        let rule = match (available, unavailable) {
            (None, None) => None,
            _ => Some(MarketRule::parse(available, unavailable)?),
        };
        let now = self.clock.now();
        let record = publisher.record(OperatorOperation::UpdateAvailability, now).data("productId", product_id);
        let record = match &rule {
            Some(r) => {
                let (mode, markets) = r.to_stored();
                record.data(mode, markets)
            }
            None => record.data("rule", "productType"),
        };
        let put = self.store.put_product_availability(product_id, rule.as_ref(), now, Effects::operator(record, None));
        let put = put.await;
        self.catalog_cache.clear();
        if !put? {
            return Err(DomainError::NotFound.into());
        }
        Ok(rule)
    }

    /// The catalog as stored, from the cache when it is fresh.
    #[tracing::instrument(skip_all)]
    pub async fn catalog_snapshot(&self) -> Result<Arc<CatalogSnapshot>> {
        let generation = match self.catalog_cache.fresh() {
            Ok(s) => return Ok(s),
            Err(generation) => generation,
        };
        let snapshot = Arc::new(CatalogSnapshot {
            products: self.store.list_products().await?,
            rules: self.store.type_availability().await?,
            markets: self.store.list_markets().await?,
        });
        self.catalog_cache.keep(generation, snapshot.clone());
        Ok(snapshot)
    }

    #[tracing::instrument(skip_all)]
    pub async fn type_availability(&self, publisher: &Publisher) -> Result<Vec<(ProductType, MarketRule)>> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        Ok(self.store.type_availability().await?)
    }

    /// The catalog for one market and view (R1: what is unavailable there is left out).
    #[tracing::instrument(skip_all)]
    pub async fn market_catalog(&self, market: MarketCode, view: Option<TargetView>) -> Result<MarketCatalog> {
        let snapshot = self.catalog_snapshot().await?;
        let market = snapshot.markets.iter().find(|m| m.country == market).cloned().ok_or(DomainError::NotFound)?;
        let rules = &snapshot.rules;
        let products = snapshot
            .products
            .iter()
            .filter(|p| view.is_none_or(|v| v.includes(p)))
            .filter(|p| {
                let denied = rules
                    .iter()
                    .find(|(t, _)| *t == p.product_type)
                    .map(|(_, r)| r.unavailable_list())
                    .unwrap_or_default();
                is_available(p, &denied, market.country)
            })
            .cloned()
            .filter_map(|mut p| {
                // A price in another currency or precision than the market's (the publisher changed the market
                // since the import) is not offered: it would be charged in the wrong currency.
                p.skus.retain(|s| {
                    s.price_for(market.country).is_some_and(|price| {
                        price.currency == market.currency_code && price.list_price.scale == market.minor_units
                    })
                });
                (!p.skus.is_empty()).then_some(p)
            })
            .collect::<Vec<_>>();
        // Byte order, the order the API pages by, whatever the database's collation.
        let mut products = products;
        products.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(MarketCatalog { market, products })
    }

    /// The catalog for a country (`GET /v1/products?country=`), any role.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn country_catalog(&self, actor: &Actor, country: &str, view: Option<&str>) -> Result<MarketCatalog> {
        actor.authorize(Action::ViewCatalog)?;
        let code = MarketCode::parse(country)
            .ok_or_else(|| DomainError::invalid("country", format!("'{country}' is not an ISO 3166-1 alpha-2 code")))?;
        self.market_catalog(code, parse_target_view(view)?).await
    }

    /// The catalog for a customer's market, any role.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn customer_catalog(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        view: Option<&str>,
    ) -> Result<(Customer, MarketCatalog)> {
        actor.authorize(Action::ViewCatalog)?;
        let view = parse_target_view(view)?;
        let customer = self.get_customer(actor, customer_id).await?;
        let catalog = self.market_catalog(customer.market, view).await?;
        Ok((customer, catalog))
    }
}
