//! Partner price lists (issue 23): the publisher's lists, versions and assignments, and the list a checkout prices
//! a partner's cost from.

use crate::auth::Publisher;
use crate::catalog::currency_of;
use crate::idempotency::{completion, Keep};
use crate::{Result, Services};
use domain::ids::{PartnerId, PriceListId};
use domain::market::MarketCode;
use domain::operator::{OperatorAction, OperatorOperation};
use domain::paging::{Cursor, Page, PageSize};
use domain::partner::Partner;
use domain::pricelist::{
    parse_discount, parse_effective_from, validate_name, validate_prices, CostPriceDraft, PriceList, PriceListVersion,
};
use domain::DomainError;
use store::Effects;

/// The explicit prices of a cost CSV (`partnerhub pricelists import` and the console's form): a header naming the
/// columns `productId`, `skuId`, `country`, `currencyCode` and `cost` (any order, any case; others ignored), then one
/// row per price. Only the shape is checked here; the prices are checked as the API's are when the version is added.
pub fn parse_cost_csv(text: &[u8]) -> Result<Vec<CostPriceDraft>> {
    let invalid = |m: String| crate::Error::from(DomainError::InvalidRequest(m));
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text);
    let headers = reader.headers().map_err(|e| invalid(format!("the CSV's header: {e}")))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| invalid(format!("the CSV's header has no {name} column")))
    };
    let (product, sku, country, currency, cost) =
        (column("productId")?, column("skuId")?, column("country")?, column("currencyCode")?, column("cost")?);
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| invalid(format!("the CSV's row {}: {e}", i + 2)))?;
        let cell = |n: usize| record.get(n).unwrap_or_default().to_string();
        rows.push(CostPriceDraft {
            product_id: cell(product),
            sku_id: cell(sku),
            country: cell(country),
            currency_code: cell(currency),
            cost: cell(cost),
        });
    }
    Ok(rows)
}

/// A new version as the client wrote it.
#[derive(Debug, Clone, Default)]
pub struct VersionDraft {
    /// RFC 3339 or YYYY-MM-DD (midnight UTC); none: a draft.
    pub effective_from: Option<String>,
    pub discount_percent: Option<String>,
    pub prices: Vec<CostPriceDraft>,
}

impl Services {
    /// Publisher: a new, empty price list (the default one when `is_default`).
    #[tracing::instrument(skip_all)]
    pub async fn create_price_list(
        &self,
        publisher: &Publisher,
        name: &str,
        is_default: bool,
        keep: Option<&dyn Keep<PriceList>>,
    ) -> Result<PriceList> {
        publisher.authorize(OperatorAction::ManageCatalog)?;
        let list = PriceList {
            id: PriceListId::new(),
            name: validate_name(name)?,
            is_default,
            created_at: self.clock.now(),
            versions: Vec::new(),
        };
        let record = publisher
            .record(OperatorOperation::CreatePriceList, list.created_at)
            .data("priceListId", list.id.to_string())
            .data("name", list.name.clone())
            .data("isDefault", is_default.to_string());
        let effects = Effects::operator(record, completion(keep, &list)?);
        self.store.create_price_list(&list, effects).await?;
        Ok(list)
    }

    /// Publisher: adds the next version of a list: a rule (percent off the list price), explicit prices, or both
    /// (an explicit price wins); a draft until it has an `effectiveFrom`. Returns the list with it.
    #[tracing::instrument(skip_all)]
    pub async fn add_price_list_version(
        &self,
        publisher: &Publisher,
        id: PriceListId,
        draft: VersionDraft,
        keep: Option<&dyn Keep<PriceList>>,
    ) -> Result<PriceList> {
        publisher.authorize(OperatorAction::ManageCatalog)?;
        let mut list = self.store.get_price_list(id).await?.ok_or(DomainError::NotFound)?;
        let effective_from = draft.effective_from.as_deref().map(parse_effective_from).transpose()?;
        let discount_percent = draft.discount_percent.as_deref().map(parse_discount).transpose()?;
        let markets = self.store.list_markets().await?;
        let prices = validate_prices(draft.prices, &|code| currency_of(&markets, code))?;
        let version = PriceListVersion {
            number: list.versions.iter().map(|v| v.number).max().unwrap_or(0) + 1,
            effective_from,
            discount_percent,
            prices,
            created_at: self.clock.now(),
        };
        list.versions.push(version);
        let Some(version) = list.versions.last() else { return Err(DomainError::NotFound.into()) };
        let mut record = publisher
            .record(OperatorOperation::AddPriceListVersion, version.created_at)
            .data("priceListId", id.to_string())
            .data("version", version.number.to_string())
            .data("prices", version.prices.len().to_string());
        if let Some(at) = version.effective_from {
            record = record.data("effectiveFrom", at.to_string());
        }
        if let Some(d) = version.discount_percent {
            record = record.data("discountPercent", d.to_string());
        }
        let effects = Effects::operator(record, completion(keep, &list)?);
        self.store.add_price_list_version(id, version, effects).await?;
        Ok(list)
    }

    /// Publisher: sets when a draft or scheduled version takes effect (refused once it has).
    #[tracing::instrument(skip_all)]
    pub async fn schedule_price_list_version(
        &self,
        publisher: &Publisher,
        id: PriceListId,
        number: u32,
        effective_from: &str,
        keep: Option<&dyn Keep<PriceList>>,
    ) -> Result<PriceList> {
        publisher.authorize(OperatorAction::ManageCatalog)?;
        let at = parse_effective_from(effective_from)?;
        let mut list = self.store.get_price_list(id).await?.ok_or(DomainError::NotFound)?;
        let version = list.versions.iter_mut().find(|v| v.number == number).ok_or(DomainError::NotFound)?;
        version.effective_from = Some(at);
        let now = self.clock.now();
        let record = publisher
            .record(OperatorOperation::SchedulePriceListVersion, now)
            .data("priceListId", id.to_string())
            .data("version", number.to_string())
            .data("effectiveFrom", at.to_string());
        let effects = Effects::operator(record, completion(keep, &list)?);
        self.store.schedule_price_list_version(id, number, at, now, effects).await?;
        Ok(list)
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_price_list(&self, publisher: &Publisher, id: PriceListId) -> Result<PriceList> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        Ok(self.store.get_price_list(id).await?.ok_or(DomainError::NotFound)?)
    }

    /// Publisher: a page of lists, oldest first, with their versions (without explicit prices).
    #[tracing::instrument(skip_all)]
    pub async fn page_price_lists(
        &self,
        publisher: &Publisher,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<PriceList>> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        let rows = self.store.page_price_lists(size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |l| Cursor { at: l.created_at, id: l.id.to_string() }))
    }

    /// Publisher: the partner follows this list from now on.
    #[tracing::instrument(skip_all)]
    pub async fn assign_price_list(
        &self,
        publisher: &Publisher,
        partner: PartnerId,
        list: PriceListId,
    ) -> Result<(Partner, PriceList)> {
        publisher.authorize(OperatorAction::ManageCatalog)?;
        let (partner, _) = self.publisher_scope(partner).await?;
        let list = self.store.get_price_list(list).await?.ok_or(DomainError::NotFound)?;
        let now = self.clock.now();
        let record = publisher
            .record(OperatorOperation::AssignPriceList, now)
            .partner(partner.id)
            .data("priceListId", list.id.to_string())
            .data("name", list.name.clone());
        self.store.assign_price_list(partner.id, list.id, now, Effects::operator(record, None)).await?;
        Ok((partner, list))
    }

    /// Publisher: the list a partner follows now (its own, else the default; none: list prices), without prices.
    #[tracing::instrument(skip_all)]
    pub async fn assigned_price_list(&self, publisher: &Publisher, partner: PartnerId) -> Result<Option<PriceList>> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        let (partner, _) = self.publisher_scope(partner).await?;
        Ok(self.store.assigned_price_list(partner.id).await?)
    }

    /// The operator's import (`partnerhub pricelists import`): adds a version to the list named `name`, creating
    /// the list first when there is none of that name. Returns the list with the new version.
    #[tracing::instrument(skip_all)]
    pub async fn import_price_list(
        &self,
        publisher: &Publisher,
        name: &str,
        is_default: bool,
        draft: VersionDraft,
    ) -> Result<PriceList> {
        let name = validate_name(name)?;
        let mut after = None;
        let existing = loop {
            let page = self.page_price_lists(publisher, PageSize::MAX, after).await?;
            if let Some(l) = page.items.into_iter().find(|l| l.name == name) {
                break Some(l);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break None,
            }
        };
        let list = match existing {
            Some(l) => l,
            None => self.create_price_list(publisher, &name, is_default, None).await?,
        };
        self.add_price_list_version(publisher, list.id, draft, None).await
    }

    /// The list a partner's checkout in `market` prices its cost from (its own, else the default; none: list prices).
    pub(crate) async fn partner_price_list(&self, partner: &Partner, market: MarketCode) -> Result<Option<PriceList>> {
        Ok(self.store.partner_price_list(partner.id, market).await?)
    }
}
