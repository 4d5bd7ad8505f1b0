//! Markets: the publisher's tax table (R4).

use crate::auth::Publisher;
use crate::{Result, Services};
use domain::market::{Market, MarketCode, MarketUpdate};
use domain::DomainError;

impl Services {
    #[tracing::instrument(skip_all)]
    pub async fn list_markets(&self, _publisher: &Publisher) -> Result<Vec<Market>> {
        Ok(self.store.list_markets().await?)
    }

    /// Publisher only (the caller is checked by the API's publisher extractor).
    #[tracing::instrument(skip_all)]
    pub async fn put_market(
        &self,
        _publisher: &Publisher,
        country: &str,
        currency: &str,
        tax_rate: &str,
        inclusive: bool,
    ) -> Result<Market> {
        let code = MarketCode::parse(country)
            .ok_or_else(|| DomainError::invalid("country", format!("'{country}' is not an ISO 3166-1 alpha-2 code")))?;
        let update = MarketUpdate::parse(currency, tax_rate, inclusive)?;
        let put = self.store.put_market(code, &update, self.clock.now()).await;
        self.catalog_cache.clear();
        Ok(put?)
    }
}
