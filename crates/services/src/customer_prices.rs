//! Customer prices (issue 23): a partner's markup rules and explicit per-customer prices, the price book a checkout
//! prices from, and the price sheet (list price, customer price, and cost and margin for the roles that see
//! billing).

use crate::catalog::MarketCatalog;
use crate::idempotency::{completion, Keep};
use crate::{Actor, Result, Services};
use domain::catalog::ProductType;
use domain::customer::Customer;
use domain::customer_price::{
    margin, validate_rule, MarkupRule, MarkupRuleDraft, PriceOverride, PriceOverrideDraft, PriceSource, UnitFacts,
};
use domain::ids::{MarkupRuleId, TenantId};
use domain::money::Money;
use domain::order::PriceBook;
use domain::policy::Action;
use domain::pricelist::{parse_effective_from, partner_cost};
use domain::{DomainError, Timestamp};
use store::Effects;

/// One SKU of a customer's market as the partner sells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetLine {
    pub product_id: String,
    pub product_title: String,
    pub product_type: ProductType,
    pub sku_id: String,
    pub sku_title: String,
    pub currency: String,
    pub tax_inclusive: bool,
    pub list: Money,
    pub customer: Money,
    pub source: PriceSource,
    /// The partner's cost and margin, for the roles that see billing only.
    pub cost: Option<Money>,
    pub margin: Option<Money>,
}

impl Services {
    /// What a checkout for `customer` prices from now: the partner's price list, its rules and the customer's
    /// explicit prices.
    pub(crate) async fn price_book(&self, actor: &Actor, customer: &Customer) -> Result<PriceBook> {
        let scope = actor.authorize(Action::ViewCatalog)?;
        let price_list = self.partner_price_list(&actor.partner, customer.market).await?;
        let rules = self.store.list_markup_rules(scope).await?;
        let overrides = self.store.list_price_overrides(scope, customer.tenant_id).await?;
        Ok(PriceBook { price_list, customer: domain::customer_price::CustomerPrices { rules, overrides } })
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn create_markup_rule(
        &self,
        actor: &Actor,
        draft: MarkupRuleDraft,
        keep: Option<&dyn Keep<MarkupRule>>,
    ) -> Result<MarkupRule> {
        let scope = actor.authorize(Action::ManagePrices)?;
        if let Some(c) = draft.customer_id {
            self.get_customer(actor, c).await?;
        }
        let markets = self.store.list_markets().await?;
        let scale_of = |c: &str| markets.iter().find(|m| m.currency_code == c).map(|m| m.minor_units);
        let rule = validate_rule(draft, &scale_of, self.partner_now(&actor.partner))?;
        let effects = Effects { audit: vec![], idempotency: completion(keep, &rule)?, ..Effects::default() };
        self.store.create_markup_rule(scope, &rule, effects).await?;
        Ok(rule)
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_markup_rules(&self, actor: &Actor) -> Result<Vec<MarkupRule>> {
        let scope = actor.authorize(Action::ManagePrices)?;
        Ok(self.store.list_markup_rules(scope).await?)
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn delete_markup_rule(&self, actor: &Actor, id: MarkupRuleId) -> Result<()> {
        let scope = actor.authorize(Action::ManagePrices)?;
        Ok(self.store.delete_markup_rule(scope, id, Effects::default()).await?)
    }

    /// An explicit unit price of a SKU for one customer, in its market's currency, from `effective_from` (default:
    /// now on the partner's clock); it overrides every rule.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn put_price_override(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        draft: PriceOverrideDraft,
        keep: Option<&dyn Keep<PriceOverride>>,
    ) -> Result<PriceOverride> {
        let PriceOverrideDraft { product_id, sku_id, unit_price, effective_from } = draft;
        let scope = actor.authorize(Action::ManagePrices)?;
        let customer = self.get_customer(actor, customer_id).await?;
        let catalog = self.market_catalog(customer.market, None).await?;
        let product = catalog.product(product_id.trim())?;
        let sku = product.sku(sku_id.trim()).ok_or(DomainError::NotFound)?;
        let scale = catalog.market.minor_units;
        let unit_price = Money::parse(unit_price.trim(), scale).map_err(|m| DomainError::invalid("unitPrice", m))?;
        let now = self.partner_now(&actor.partner);
        let price = PriceOverride {
            customer_id: customer.tenant_id,
            product_id: product.id.clone(),
            sku_id: sku.id.clone(),
            currency: catalog.market.currency_code.clone(),
            unit_price,
            effective_from: effective_from.as_deref().map(parse_effective_from).transpose()?.unwrap_or(now),
            created_at: now,
        };
        let effects = Effects { audit: vec![], idempotency: completion(keep, &price)?, ..Effects::default() };
        self.store.put_price_override(scope, &price, effects).await?;
        Ok(price)
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_price_overrides(&self, actor: &Actor, customer_id: TenantId) -> Result<Vec<PriceOverride>> {
        let scope = actor.authorize(Action::ManagePrices)?;
        let customer = self.get_customer(actor, customer_id).await?;
        Ok(self.store.list_price_overrides(scope, customer.tenant_id).await?)
    }

    /// The customer's market as the partner sells it now: every SKU's list price and customer price, and the
    /// partner's cost and margin when the actor may see billing (any role may see the rest).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn price_sheet(
        &self,
        actor: &Actor,
        customer: &Customer,
        catalog: &MarketCatalog,
    ) -> Result<Vec<SheetLine>> {
        let book = self.price_book(actor, customer).await?;
        let billing = actor.authorize(Action::ViewMargins).is_ok();
        let now = self.partner_now(&actor.partner);
        let market = &catalog.market;
        let mut lines = Vec::new();
        for p in &catalog.products {
            for s in &p.skus {
                let Some(price) = s.price_for(market.country) else { continue };
                let (cost, _) = partner_cost(book.price_list.as_ref(), &p.id, &s.id, price, now);
                let facts = UnitFacts {
                    customer: customer.tenant_id,
                    product_id: &p.id,
                    product_type: p.product_type,
                    sku_id: &s.id,
                    currency: &market.currency_code,
                    list: price.list_price,
                    cost,
                };
                let (unit, source) = book.customer.unit_price(&facts, now);
                lines.push(SheetLine {
                    product_id: p.id.clone(),
                    product_title: p.title.clone(),
                    product_type: p.product_type,
                    sku_id: s.id.clone(),
                    sku_title: s.title.clone(),
                    currency: market.currency_code.clone(),
                    tax_inclusive: market.tax_inclusive,
                    list: price.list_price,
                    customer: unit,
                    source,
                    cost: billing.then_some(cost),
                    margin: billing.then(|| margin(unit, cost)),
                });
            }
        }
        Ok(lines)
    }

    /// The price sheet of a customer, for the roles that see billing (the route's action).
    pub async fn customer_price_sheet(
        &self,
        actor: &Actor,
        customer_id: TenantId,
    ) -> Result<(Customer, Vec<SheetLine>, Timestamp)> {
        actor.authorize(Action::ViewMargins)?;
        let (customer, catalog) = self.customer_catalog(actor, customer_id, None).await?;
        let lines = self.price_sheet(actor, &customer, &catalog).await?;
        Ok((customer, lines, self.partner_now(&actor.partner)))
    }
}
