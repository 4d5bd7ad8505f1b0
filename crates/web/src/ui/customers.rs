//! Customers: the searchable list and a customer's Software tab (files, keys and download links).

use super::{can, page, Nav, OrPage, Signed, SignedForm, UiResult};
use crate::extract::parse_id;
use crate::extract::Client;
use crate::i18n::tr;
use crate::ui::format::filters;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use domain::paging::{Cursor, PageSize};
use domain::policy::Action;
use domain::software::ArtifactSelection;
use serde::Deserialize;
use services::sessions::SessionActor;

#[derive(Clone)]
pub struct CustomerRow {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub market: String,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    /// R2: admin agents, sales agents and global admins add customers.
    can_add: bool,
    customers: Vec<CustomerRow>,
    field: String,
    q: String,
    next_page: Option<String>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    field: Option<String>,
    q: Option<String>,
    after: Option<String>,
}

async fn list(State(state): State<AppState>, Signed(s): Signed, Query(q): Query<ListQuery>) -> UiResult {
    let field = match q.field.as_deref() {
        Some(f @ ("CompanyName" | "Domain" | "TenantId")) => f.to_string(),
        _ => "CompanyName".to_string(),
    };
    let text = q.q.clone().unwrap_or_default();
    let filter = (!text.trim().is_empty())
        .then(|| serde_json::json!({"Field": field, "Value": text.trim(), "Operator": "substring"}).to_string());
    let after = q.after.as_deref().map(Cursor::decode).transpose().map_err(services::Error::from).or_page(&s)?;
    let size = PageSize::parse(Some(50)).map_err(services::Error::from).or_page(&s)?;
    let found = state.services.list_customers(&s.actor, filter.as_deref(), size, after).await.or_page(&s)?;
    let next_page = found.next.map(|c| {
        let mut url = form_urlencoded::Serializer::new(String::new());
        url.append_pair("field", &field).append_pair("q", &text).append_pair("after", &c.encode());
        format!("/customers?{}", url.finish())
    });
    Ok(page(&CustomersPage {
        title: tr!("nav-customers"),
        section: "customers",
        nav: Some(Nav::of(&s)),
        can_add: can(&s, Action::CreateCustomer),
        customers: found
            .items
            .iter()
            .map(|c| CustomerRow {
                id: c.tenant_id.to_string(),
                name: c.company_name.clone(),
                domain: c.domain.clone(),
                market: c.market.as_str().to_string(),
            })
            .collect(),
        field,
        q: text,
        next_page,
    }))
}

pub struct SoftwareRow {
    pub id: String,
    pub title: String,
    pub product_id: String,
    pub status: String,
    pub active: bool,
    pub order_id: String,
    pub purchased: String,
    pub term: String,
    pub expires: String,
    pub open: bool,
    pub versions: Vec<String>,
    pub languages: Vec<String>,
    pub file_types: Vec<String>,
    pub picked_version: String,
    pub picked_language: String,
    pub picked_file_type: String,
    pub matching: Vec<String>,
    /// The links issued for the item, when it is open and the role may manage them.
    pub issued: Vec<IssuedLinkRow>,
}

/// One issued link as the Software tab lists it.
pub struct IssuedLinkRow {
    pub id: String,
    pub file_name: String,
    /// Issued when and by whom, downloads made and left, expiry: one sentence.
    pub history: String,
    pub status: String,
    pub status_class: &'static str,
    pub revocable: bool,
}

impl IssuedLinkRow {
    fn of(l: &services::downloads::ListedLink) -> IssuedLinkRow {
        use domain::download::LinkStatus;
        let (status, status_class) = match l.status {
            LinkStatus::Active => (tr!("link-status-active"), "active"),
            LinkStatus::Expired => (tr!("link-status-expired"), "cancelled"),
            LinkStatus::UsedUp => (tr!("link-status-used-up"), "cancelled"),
            LinkStatus::Revoked => (tr!("link-status-revoked"), "cancelled"),
        };
        IssuedLinkRow {
            id: l.link.id.to_string(),
            file_name: l.link.artifact.file_name.clone(),
            history: tr!(
                "software-link-history",
                issued = super::format::when(l.link.state.issued_at),
                by = l.link.issued_by.as_str(),
                used = l.link.state.downloads,
                left = l.link.state.remaining(),
                expires = super::format::when(l.link.state.expires_at)
            ),
            status,
            status_class,
            revocable: l.status != LinkStatus::Revoked,
        }
    }
}

pub struct LinkRow {
    pub file_name: String,
    /// The file's SHA-256 (hex), so the customer can check what they downloaded.
    pub sha256: String,
    pub size: String,
    pub uri: String,
    pub expires_at: String,
    pub remaining: i64,
}

pub struct KeysShown {
    pub title: String,
    pub activation_key: Option<String>,
    pub links: Vec<LinkRow>,
}

#[derive(Template)]
#[template(path = "software.html")]
struct SoftwarePage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    head: TabHead,
    customer_id: String,
    csrf: String,
    can_keys: bool,
    can_cancel: bool,
    items: Vec<SoftwareRow>,
    keys: Option<KeysShown>,
}

/// The top of a customer's page: who, which tab, what the role may open, and a notice after an action.
pub struct TabHead {
    pub customer: CustomerRow,
    pub tab: &'static str,
    pub can_buy: bool,
    /// May open the customer's statement (the roles that see billing).
    pub can_bill: bool,
    pub notice: Option<String>,
    /// The customer's open cart and its number of lines (for those who may buy): the cart indicator on every tab.
    pub cart: Option<(String, usize)>,
}

impl TabHead {
    pub async fn new(
        state: &AppState,
        s: &SessionActor,
        customer: CustomerRow,
        tab: &'static str,
        notice: Option<String>,
    ) -> TabHead {
        let can_buy = can(s, Action::BuyForCustomer);
        let cart = match (can_buy, parse_id(&customer.id)) {
            // The indicator is a convenience: a failed read leaves it out rather than failing the page.
            (true, Ok(id)) => state.services.open_cart(&s.actor, id).await.ok().flatten(),
            _ => None,
        };
        let cart = cart.map(|c| (c.id.to_string(), c.lines.len()));
        let can_bill = can(s, Action::ReadInvoices);
        TabHead { customer, tab, can_buy, can_bill, notice, cart }
    }
}

#[derive(Deserialize, Default)]
struct SoftwareQuery {
    /// Set after a cancel: the order that was cancelled (only an order id is shown, never free text).
    cancelled: Option<String>,
    /// The line just cancelled (the API's numbering).
    line: Option<String>,
    /// Set after a link was revoked: its file name is looked up again, never taken from the address.
    revoked: Option<String>,
    item: Option<String>,
    version: Option<String>,
    language: Option<String>,
    #[serde(rename = "fileType")]
    file_type: Option<String>,
}

/// The notice after a cancel: the lines of the order in the address that are cancelled (the one just cancelled
/// when `line` names it), each with its product and credit; only what the order says is shown, never free text.
pub async fn cancelled_notice(
    state: &AppState,
    s: &SessionActor,
    customer_id: &str,
    order: Option<&str>,
    line: Option<&str>,
) -> Option<String> {
    let order = state.services.get_order(&s.actor, parse_id(customer_id).ok()?, parse_id(order?).ok()?).await.ok()?;
    let only: Option<u32> = line.and_then(|l| l.parse().ok());
    let now = state.services.partner_now(&s.actor.partner);
    let named: Vec<String> = order
        .lines
        .iter()
        .filter(|l| l.status == domain::order::LineStatus::Cancelled && only.is_none_or(|n| n == l.line_number))
        .map(|l| {
            let credit = super::format::money(super::orders::cancel_credit(&order, l, now), &order.currency);
            tr!("cancelled-line", line = l.line_number + 1, product = l.title.as_str(), credit = credit)
        })
        .collect();
    if named.is_empty() {
        return None;
    }
    Some(tr!("cancelled-notice", order = order.id.to_string(), lines = named.join(tr!("list-separator").as_str())))
}

pub(crate) fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.0} KiB", b as f64 / 1024.0),
        b => tr!("size-bytes", n = b),
    }
}

pub async fn customer_row(state: &AppState, s: &SessionActor, id: &str) -> Result<CustomerRow, super::UiError> {
    Ok(CustomerRow::of(&state.services.get_customer(&s.actor, parse_id(id).or_page(s)?).await.or_page(s)?))
}

impl CustomerRow {
    pub fn of(c: &domain::customer::Customer) -> CustomerRow {
        CustomerRow {
            id: c.tenant_id.to_string(),
            name: c.company_name.clone(),
            domain: c.domain.clone(),
            market: c.market.as_str().to_string(),
        }
    }
}

fn blank(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The Software tab; `keys` is what "Get keys and downloads" just returned, if anything.
async fn software_page(
    state: &AppState,
    s: &SessionActor,
    customer_id: &str,
    q: &SoftwareQuery,
    keys: Option<KeysShown>,
) -> UiResult {
    let customer = customer_row(state, s, customer_id).await?;
    let size = PageSize::parse(Some(500)).map_err(services::Error::from).or_page(s)?;
    let items =
        state.services.software_with_options(&s.actor, parse_id(customer_id).or_page(s)?, size).await.or_page(s)?;
    let mut rows = Vec::new();
    for (i, options) in items {
        let id = i.id.to_string();
        let open = q.item.as_deref() == Some(id.as_str());
        let active = i.status == domain::order::LineStatus::Active;
        // A cancelled item offers no files.
        let options = if active { options } else { domain::software::DownloadOptions::default() };
        let pick = |v: &Option<String>| if open { blank(v).unwrap_or_default() } else { String::new() };
        let selection = ArtifactSelection {
            version: blank(&q.version).filter(|_| open),
            language: blank(&q.language).filter(|_| open),
            file_type: blank(&q.file_type).filter(|_| open),
        };
        let matching = options
            .artifacts
            .iter()
            .filter(|a| selection.matches(a))
            .map(|a| format!("{} — {} {} {} ({})", a.file_name, a.version, a.language, a.file_type, human_size(a.size)))
            .collect();
        let issued = if open && active && can(s, Action::GetKeysAndDownloads) {
            let links =
                state.services.item_links(&s.actor, parse_id(customer_id).or_page(s)?, i.id).await.or_page(s)?;
            links.iter().map(IssuedLinkRow::of).collect()
        } else {
            Vec::new()
        };
        rows.push(SoftwareRow {
            issued,
            title: i.title.clone(),
            product_id: i.product_id.clone(),
            status: i.status.as_str().to_string(),
            active,
            order_id: i.order_id.to_string(),
            purchased: super::format::date(i.purchased_at.date()),
            term: super::format::term(i.term.map(|t| t.as_str())),
            expires: i.expiry_date().map(super::format::date).unwrap_or_else(|| "—".into()),
            open,
            versions: options.versions,
            languages: options.languages,
            file_types: options.file_types,
            picked_version: pick(&q.version),
            picked_language: pick(&q.language),
            picked_file_type: pick(&q.file_type),
            matching,
            id,
        });
    }
    let revoked = q.revoked.as_deref().and_then(|id| {
        let link = rows.iter().flat_map(|r| &r.issued).find(|l| l.id == id && !l.revocable)?;
        Some(tr!("link-revoked-notice", file = link.file_name.as_str()))
    });
    let notice = match revoked {
        Some(n) => Some(n),
        None => cancelled_notice(state, s, customer_id, q.cancelled.as_deref(), q.line.as_deref()).await,
    };
    Ok(page(&SoftwarePage {
        title: format!("{} · {}", customer.name, tr!("tab-software")),
        section: "customers",
        nav: Some(Nav::of(s)),
        customer_id: customer.id.clone(),
        head: TabHead::new(state, s, customer, "software", notice).await,
        csrf: s.csrf.clone(),
        can_keys: can(s, Action::GetKeysAndDownloads),
        can_cancel: can(s, Action::CancelPurchase),
        items: rows,
        keys,
    }))
}

async fn software(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(customer_id): Path<String>,
    Query(q): Query<SoftwareQuery>,
) -> UiResult {
    software_page(&state, &s, &customer_id, &q, None).await
}

#[derive(Deserialize)]
struct KeysForm {
    version: Option<String>,
    language: Option<String>,
    #[serde(rename = "fileType")]
    file_type: Option<String>,
}

/// "Get keys and downloads" (admin agents): shows the key and fresh links on the Software tab.
async fn get_keys(
    State(state): State<AppState>,
    Path((customer_id, item_id)): Path<(String, String)>,
    Client(client): Client,
    SignedForm { session: s, form }: SignedForm<KeysForm>,
) -> UiResult {
    let selection = ArtifactSelection {
        version: blank(&form.version),
        language: blank(&form.language),
        file_type: blank(&form.file_type),
    };
    let result = state
        .services
        .keys_and_downloads(
            &s.actor,
            parse_id(&customer_id).or_page(&s)?,
            parse_id(&item_id).or_page(&s)?,
            &selection,
            &client,
            None,
        )
        .await
        .or_page(&s)?;
    let keys = KeysShown {
        title: result.item.title.clone(),
        activation_key: result.activation_key.clone(),
        links: result
            .downloads
            .iter()
            .map(|d| LinkRow {
                file_name: d.artifact.file_name.clone(),
                sha256: d.artifact.sha256.clone(),
                size: human_size(d.artifact.size),
                uri: d.uri.clone(),
                expires_at: super::format::when(d.state.expires_at),
                remaining: d.state.remaining(),
            })
            .collect(),
    };
    let q = SoftwareQuery {
        cancelled: None,
        line: None,
        revoked: None,
        item: Some(item_id),
        version: form.version,
        language: form.language,
        file_type: form.file_type,
    };
    software_page(&state, &s, &customer_id, &q, Some(keys)).await
}

/// Revokes one issued link (admin agents), then shows the item's links again (post/redirect/get).
async fn revoke_link(
    State(state): State<AppState>,
    Path((customer_id, item_id, link_id)): Path<(String, String, String)>,
    Client(client): Client,
    SignedForm { session: s, .. }: SignedForm<serde::de::IgnoredAny>,
) -> UiResult {
    let (customer, item, link) =
        (parse_id(&customer_id).or_page(&s)?, parse_id(&item_id).or_page(&s)?, parse_id(&link_id).or_page(&s)?);
    state.services.revoke_link(&s.actor, customer, item, link, &client).await.or_page(&s)?;
    let path: String = form_urlencoded::byte_serialize(customer_id.as_bytes()).collect();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("item", &item_id)
        .append_pair("revoked", &link_id)
        .finish();
    Ok(axum::response::Redirect::to(&format!("/customers/{path}/software?{query}#links")).into_response())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list))
        .route(
            "/customers/new",
            get(new_customer_page).merge(super::post_requiring(domain::policy::Action::CreateCustomer, add_customer)),
        )
        .route("/customers/{customer_id}", get(software))
        .route("/customers/{customer_id}/software", get(software))
        .route(
            "/customers/{customer_id}/software/{item_id}/keys",
            super::post_requiring(domain::policy::Action::GetKeysAndDownloads, get_keys),
        )
        .route(
            "/customers/{customer_id}/software/{item_id}/links/{link_id}/revoke",
            super::post_requiring(domain::policy::Action::GetKeysAndDownloads, revoke_link),
        )
}

/// One field of the Add customer form, with what was typed and its problem.
pub struct NewCustomerField {
    pub name: &'static str,
    pub label: String,
    pub required: bool,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "customer_new.html")]
struct NewCustomerPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    csrf: String,
    fields: Vec<NewCustomerField>,
    problem: Option<super::FieldProblem>,
}

/// What the Add customer form sends (field names as the API's, so a refusal lands on its field).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NewCustomerForm {
    #[serde(default)]
    company_name: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    address_line1: String,
    #[serde(default)]
    postal_code: String,
}

fn new_customer_form(
    s: &SessionActor,
    form: &NewCustomerForm,
    problem: Option<super::FieldProblem>,
) -> axum::response::Response {
    let field = |name: &'static str, label: String, required: bool, value: &str| NewCustomerField {
        name,
        label,
        required,
        value: value.to_string(),
        error: problem.as_ref().filter(|p| p.on(name)).map(|p| p.message.clone()),
    };
    let fields = vec![
        field("companyName", tr!("customer-field-company"), true, &form.company_name),
        field("domain", tr!("customer-field-domain"), true, &form.domain),
        field("email", tr!("customer-field-email"), true, &form.email),
        field("country", tr!("customer-field-country"), true, &form.country),
        field("city", tr!("customer-field-city"), true, &form.city),
        field("addressLine1", tr!("customer-field-address"), true, &form.address_line1),
        field("postalCode", tr!("customer-field-postal-code"), false, &form.postal_code),
    ];
    let status = problem.as_ref().map(|p| p.status);
    let mut res = page(&NewCustomerPage {
        title: tr!("customer-add"),
        section: "customers",
        nav: Some(Nav::of(s)),
        csrf: s.csrf.clone(),
        fields,
        problem,
    });
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    res
}

async fn new_customer_page(Signed(s): Signed) -> UiResult {
    if let Err(refused) = domain::policy::authorize(&s.actor.user.roles, Action::CreateCustomer) {
        return Err(super::UiError(refused.into(), Some(Box::new(Nav::of(&s)))));
    }
    Ok(new_customer_form(&s, &NewCustomerForm::default(), None))
}

/// Adds a customer through the same use case as `POST /v1/customers`; a refusal comes back on its field with what
/// was typed, a success goes to the new customer's page.
async fn add_customer(
    State(state): State<AppState>,
    SignedForm { session: s, form }: SignedForm<NewCustomerForm>,
) -> UiResult {
    let draft = domain::customer::CustomerDraft {
        tenant_id: None,
        company_name: form.company_name.clone(),
        domain: form.domain.clone(),
        billing: domain::customer::BillingDraft {
            email: form.email.clone(),
            company_name: None,
            contact: Default::default(),
            address: domain::customer::Address {
                country: form.country.clone(),
                city: form.city.clone(),
                address_line1: form.address_line1.clone(),
                postal_code: Some(form.postal_code.clone()),
                ..Default::default()
            },
        },
    };
    match state.services.create_customer(&s.actor, draft, None).await {
        Ok(c) => Ok(axum::response::Redirect::to(&format!("/customers/{}", c.tenant_id)).into_response()),
        Err(e) => match super::form_problem(&e) {
            Some(problem) => Ok(new_customer_form(&s, &form, Some(problem))),
            None => Err(e).or_page(&s),
        },
    }
}
