//! Markets: the publisher's tax table (R4).

use crate::auth::Publisher;
use crate::{Result, Services};
use domain::market::{Market, MarketCode, MarketUpdate};
use domain::operator::{OperatorAction, OperatorOperation};
use domain::DomainError;
use store::Effects;

impl Services {
    #[tracing::instrument(skip_all)]
    pub async fn list_markets(&self, publisher: &Publisher) -> Result<Vec<Market>> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        Ok(self.store.list_markets().await?)
    }

    /// Sets a market's currency and tax rule (catalog managers).
    #[tracing::instrument(skip_all)]
    pub async fn put_market(
        &self,
        publisher: &Publisher,
        country: &str,
        currency: &str,
        tax_rate: &str,
        inclusive: bool,
    ) -> Result<Market> {
        let code = MarketCode::parse(country)
            .ok_or_else(|| DomainError::invalid("country", format!("'{country}' is not an ISO 3166-1 alpha-2 code")))?;
        publisher.authorize(OperatorAction::ManageCatalog)?;
        let update = MarketUpdate::parse(currency, tax_rate, inclusive)?;
        let now = self.clock.now();
        let record = publisher
            .record(OperatorOperation::UpdateMarket, now)
            .data("country", code.as_str())
            .data("currency", update.currency_code.clone())
            .data("taxRate", update.tax_rate.to_string())
            .data("taxInclusive", update.tax_inclusive.to_string());
        let put = self.store.put_market(code, &update, now, Effects::operator(record, None)).await;
        self.catalog_cache.clear();
        Ok(put?)
    }
}
