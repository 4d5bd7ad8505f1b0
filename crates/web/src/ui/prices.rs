//! Settings › Customer prices (issue 23): the partner's markup rules, what each applies to, and a form to add one
//! (the same services as `/v1/pricing/markuprules`).

use super::format::{self, filters};
use super::{page, Nav, OrPage, Signed, SignedForm, UiResult};
use crate::extract::parse_id;
use crate::i18n::tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use domain::catalog::ProductType;
use domain::customer_price::{Markup, MarkupRule, MarkupRuleDraft};
use domain::policy::Action;
use serde::Deserialize;
use services::sessions::SessionActor;

pub struct RuleRow {
    pub id: String,
    pub applies_to: String,
    pub basis: String,
    pub markup: String,
    pub from: String,
}

impl From<&MarkupRule> for RuleRow {
    fn from(r: &MarkupRule) -> RuleRow {
        let mut scope = Vec::new();
        if let Some(c) = r.customer_id {
            scope.push(tr!("prices-for-customer", customer = c.to_string()));
        }
        if let Some(t) = r.product_type {
            scope.push(format::words(t.as_str()));
        }
        if let Some(p) = &r.product_id {
            scope.push(tr!("prices-for-product", product = p.clone()));
        }
        RuleRow {
            id: r.id.to_string(),
            applies_to: if scope.is_empty() { tr!("prices-everything") } else { format::list(scope) },
            basis: match r.basis {
                domain::customer_price::Basis::Cost => tr!("prices-basis-cost"),
                domain::customer_price::Basis::List => tr!("prices-basis-list"),
            },
            markup: match &r.markup {
                Markup::Percent(p) => tr!("prices-percent", percent = p.to_string()),
                Markup::Fixed { amount, currency } => format::money(*amount, currency),
            },
            from: format::when(r.effective_from),
        }
    }
}

#[derive(Template)]
#[template(path = "prices.html")]
struct PricesPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    nav_csrf: String,
    error: Option<String>,
    rules: Vec<RuleRow>,
    types: Vec<&'static str>,
}

async fn prices_page(state: &AppState, s: &SessionActor, error: Option<String>) -> UiResult {
    let rules = state.services.list_markup_rules(&s.actor).await.or_page(s)?;
    Ok(page(&PricesPage {
        title: tr!("prices-heading"),
        section: "settings",
        nav: Some(Nav::of(s)),
        nav_csrf: s.csrf.clone(),
        error,
        rules: rules.iter().map(RuleRow::from).collect(),
        types: ProductType::ALL.iter().map(|t| t.as_str()).collect(),
    }))
}

async fn prices(State(state): State<AppState>, Signed(s): Signed) -> UiResult {
    prices_page(&state, &s, None).await
}

#[derive(Deserialize, Default)]
struct RuleForm {
    basis: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    product_type: String,
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    effective_from: String,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

async fn add_rule(State(state): State<AppState>, SignedForm { session: s, form }: SignedForm<RuleForm>) -> UiResult {
    let customer_id = match some(&form.customer_id) {
        Some(c) => Some(parse_id(&c).or_page(&s)?),
        None => None,
    };
    let fixed = form.kind == "amount";
    let draft = MarkupRuleDraft {
        customer_id,
        product_type: some(&form.product_type),
        product_id: some(&form.product_id),
        basis: form.basis.clone(),
        percent: if fixed { None } else { Some(form.value.clone()) },
        amount: if fixed { Some(form.value.clone()) } else { None },
        currency_code: some(&form.currency),
        effective_from: some(&form.effective_from),
    };
    match state.services.create_markup_rule(&s.actor, draft, None).await {
        Ok(_) => Ok(Redirect::to("/settings/prices").into_response()),
        Err(services::Error::Domain(d @ domain::DomainError::InvalidRequest(_))) => {
            prices_page(&state, &s, Some(d.to_string())).await
        }
        Err(e) => Err(super::UiError(e, Some(Box::new(Nav::of(&s))))),
    }
}

async fn delete_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { session: s, .. }: SignedForm<serde::de::IgnoredAny>,
) -> UiResult {
    state.services.delete_markup_rule(&s.actor, parse_id(&id).or_page(&s)?).await.or_page(&s)?;
    Ok(Redirect::to("/settings/prices").into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/prices", get(prices).merge(super::post_requiring(Action::ManagePrices, add_rule)))
        .route("/settings/prices/{rule_id}/delete", super::post_requiring(Action::ManagePrices, delete_rule))
}
