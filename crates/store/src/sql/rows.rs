//! Row mapping, in one place: the column lists the queries select and the functions that turn a row into a domain
//! value (and back, for the few values stored as JSON or lists). A value the domain would refuse is
//! [`StoreError::Corrupt`], named by its column, through the one [`corrupt`] helper.

use super::*;
use domain::audit::OperationType;
use domain::cancellation::CancellationPolicy;
use domain::catalog::{Price, Sku, Term};
use domain::customer::Address;
use domain::ids::{ArtifactId, CartId, DeliveryId, InvoiceId, ServiceRequestId};
use domain::invoice::InvoiceLine;
use domain::money::{LinePricing, Money};
use domain::order::{CartStatus, LineStatus, OrderLine};
use domain::support::{topic, Contact, Severity};
use std::collections::HashMap;

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(super) fn uuid_col(row: &AnyRow, col: &str) -> StoreResult<uuid::Uuid> {
    let s: String = row.try_get(col)?;
    uuid::Uuid::parse_str(&s).map_err(|_| corrupt(col))
}

/// Booleans are stored as 0/1 on both databases.
pub(super) fn flag(row: &AnyRow, col: &str) -> StoreResult<bool> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

pub(super) fn ts(row: &AnyRow, col: &str) -> StoreResult<Timestamp> {
    Ok(Timestamp::from_micros(row.try_get::<i64, _>(col)?))
}

pub(super) fn partner_from(row: &AnyRow) -> StoreResult<Partner> {
    Ok(Partner {
        id: PartnerId(uuid_col(row, "p_id")?),
        name: row.try_get("p_name")?,
        sandbox: flag(row, "p_sandbox")?,
        clock_offset_micros: row.try_get("p_clock_offset_micros")?,
        created_at: ts(row, "p_created_at")?,
    })
}

pub(super) const PARTNER_COLS: &str = "p.id AS p_id, p.name AS p_name, p.sandbox AS p_sandbox, \
    p.clock_offset_micros AS p_clock_offset_micros, p.created_at AS p_created_at";

pub(super) const USER_COLS: &str = "u.id AS u_id, u.partner_id AS u_partner_id, u.email AS u_email, \
    u.display_name AS u_display_name, u.roles AS u_roles, u.disabled AS u_disabled, u.created_at AS u_created_at";

pub(super) fn user_from(row: &AnyRow) -> StoreResult<User> {
    let roles: String = row.try_get("u_roles")?;
    Ok(User {
        id: UserId(uuid_col(row, "u_id")?),
        partner_id: PartnerId(uuid_col(row, "u_partner_id")?),
        email: row.try_get("u_email")?,
        display_name: row.try_get("u_display_name")?,
        roles: RoleSet::from_stored(&roles).ok_or_else(|| corrupt("users.roles"))?,
        disabled: flag(row, "u_disabled")?,
        created_at: ts(row, "u_created_at")?,
    })
}

pub(super) fn token_from(row: &AnyRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: TokenId(uuid_col(row, "id")?),
        partner_id: PartnerId(uuid_col(row, "partner_id")?),
        user_id: UserId(uuid_col(row, "user_id")?),
        name: row.try_get("name")?,
        created_at: ts(row, "created_at")?,
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp::from_micros),
    })
}

pub(super) fn market_from(row: &AnyRow) -> StoreResult<Market> {
    let country: String = row.try_get("country")?;
    let code = MarketCode::parse(&country).ok_or_else(|| corrupt("markets.country"))?;
    let rate: String = row.try_get("tax_rate")?;
    Ok(Market {
        country: code,
        name: code.info().name,
        currency_code: row.try_get("currency_code")?,
        minor_units: u8::try_from(row.try_get::<i64, _>("minor_units")?).map_err(|_| corrupt("minor_units"))?,
        tax_rate: rate_from(&rate, "markets.tax_rate")?,
        tax_inclusive: flag(row, "tax_inclusive")?,
    })
}

/// A tax rate, stored as decimal text.
pub(super) fn rate_from(s: &str, col: &str) -> StoreResult<rust_decimal::Decimal> {
    rust_decimal::Decimal::from_str(s).map_err(|_| corrupt(col))
}

pub(super) const CUSTOMER_COLS: &str =
    "tenant_id, company_name, domain, billing_email, billing_company_name, address_json, \
    billing_json, profile_version, market, created_at, position";

pub(super) fn customer_from(row: &AnyRow) -> StoreResult<Customer> {
    let address: String = row.try_get("address_json")?;
    let address: Address = serde_json::from_str(&address).map_err(|_| corrupt("customers.address_json"))?;
    let billing: String = row.try_get("billing_json")?;
    let billing = serde_json::from_str(&billing).map_err(|_| corrupt("customers.billing_json"))?;
    let market: String = row.try_get("market")?;
    Ok(Customer {
        tenant_id: TenantId(uuid_col(row, "tenant_id")?),
        company_name: row.try_get("company_name")?,
        domain: row.try_get("domain")?,
        billing_email: row.try_get("billing_email")?,
        billing_company_name: row.try_get("billing_company_name")?,
        address,
        billing,
        profile_version: row.try_get("profile_version")?,
        market: MarketCode::parse(&market).ok_or_else(|| corrupt("customers.market"))?,
        created_at: ts(row, "created_at")?,
        position: row.try_get("position")?,
    })
}

pub(super) const AUDIT_COLS: &str = "id, partner_id, seq, customer_id, customer_name, customer_name_folded, \
    user_principal_name, resource_type, operation_type, operation_date, operation_status, customized_data, prev_hash, \
    hash";

pub(super) fn audit_from(row: &AnyRow) -> StoreResult<AuditRecord> {
    let customer_id: Option<String> = row.try_get("customer_id")?;
    let data: String = row.try_get("customized_data")?;
    Ok(AuditRecord {
        id: domain::ids::AuditRecordId(uuid_col(row, "id")?),
        partner_id: PartnerId(uuid_col(row, "partner_id")?),
        seq: row.try_get("seq")?,
        customer_id: match customer_id {
            Some(s) => Some(TenantId::parse(&s).ok_or_else(|| corrupt("audit_records.customer_id"))?),
            None => None,
        },
        customer_name: row.try_get("customer_name")?,
        customer_name_folded: row.try_get("customer_name_folded")?,
        user_principal_name: row.try_get("user_principal_name")?,
        resource_type: row.try_get("resource_type")?,
        operation_type: row.try_get("operation_type")?,
        operation_date: ts(row, "operation_date")?,
        operation_status: row.try_get("operation_status")?,
        customized_data: serde_json::from_str(&data).map_err(|_| corrupt("audit_records.customized_data"))?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// An id column, parsed by `make`.
pub(super) fn id_of<T>(row: &AnyRow, col: &str, make: fn(&str) -> Option<T>) -> StoreResult<T> {
    let s: String = row.try_get(col)?;
    make(&s).ok_or_else(|| corrupt(col))
}

pub(super) const CART_COLS: &str = "id, customer_id, status, line_items, order_id, created_at, updated_at";

pub(super) fn cart_from(row: &AnyRow) -> StoreResult<Cart> {
    let lines: String = row.try_get("line_items")?;
    let status: String = row.try_get("status")?;
    let order_id: Option<String> = row.try_get("order_id")?;
    Ok(Cart {
        id: id_of(row, "id", CartId::parse)?,
        customer_id: id_of(row, "customer_id", TenantId::parse)?,
        status: CartStatus::parse(&status).ok_or_else(|| corrupt("carts.status"))?,
        lines: serde_json::from_str::<Vec<CartLine>>(&lines).map_err(|_| corrupt("carts.line_items"))?,
        order_id: order_id.map(|o| OrderId::parse(&o).ok_or_else(|| corrupt("carts.order_id"))).transpose()?,
        created_at: Timestamp::from_micros(row.try_get("created_at")?),
        updated_at: Timestamp::from_micros(row.try_get("updated_at")?),
    })
}

pub(super) fn lines_json(lines: &[CartLine]) -> StoreResult<String> {
    serde_json::to_string(lines).map_err(|_| corrupt("cart lines"))
}

pub(super) const ORDER_COLS: &str = "id, customer_id, cart_id, currency_code, created_at";

pub(super) const LINE_COLS: &str = "order_id, line_number, product_id, sku_id, availability_id, product_type, title, \
    friendly_name, term, quantity, scale, unit_price_minor, net_minor, tax_minor, gross_minor, tax_inclusive, tax_rate, \
    policy_kind, policy_days, status, cancelled_at, provisioning_context, list_unit_minor, list_net_minor, list_tax_minor, \
    list_gross_minor, customer_unit_minor, customer_net_minor, customer_tax_minor, customer_gross_minor, price_list_id, \
    price_list_version";

pub(super) fn order_from(row: &AnyRow, lines: Vec<OrderLine>) -> StoreResult<Order> {
    Ok(Order {
        id: id_of(row, "id", OrderId::parse)?,
        customer_id: id_of(row, "customer_id", TenantId::parse)?,
        cart_id: id_of(row, "cart_id", CartId::parse)?,
        currency: row.try_get("currency_code")?,
        created_at: Timestamp::from_micros(row.try_get("created_at")?),
        lines,
    })
}

pub(super) fn order_line_from(row: &AnyRow) -> StoreResult<(String, OrderLine)> {
    let scale = u8::try_from(row.try_get::<i64, _>("scale")?).map_err(|_| corrupt("order_lines.scale"))?;
    let money = |col: &str| -> StoreResult<Money> { Ok(Money { minor: row.try_get(col)?, scale }) };
    let product_type: String = row.try_get("product_type")?;
    let term: Option<String> = row.try_get("term")?;
    let rate: String = row.try_get("tax_rate")?;
    let kind: String = row.try_get("policy_kind")?;
    let days: Option<i64> = row.try_get("policy_days")?;
    let status: String = row.try_get("status")?;
    let provisioning: Option<String> = row.try_get("provisioning_context")?;
    let policy = policy_from(&kind, days, "order_lines")?;
    let pricing = LinePricing {
        unit_price: money("unit_price_minor")?,
        quantity: row.try_get("quantity")?,
        net: money("net_minor")?,
        tax: money("tax_minor")?,
        gross: money("gross_minor")?,
        tax_inclusive: row.try_get::<i64, _>("tax_inclusive")? != 0,
    };
    // A side's four amounts, or (lines from before price lists) the charged ones.
    let side = |prefix: &str| -> StoreResult<LinePricing> {
        let unit: Option<i64> = row.try_get(format!("{prefix}_unit_minor").as_str())?;
        let Some(unit) = unit else { return Ok(pricing) };
        let amount = |col: &str| -> StoreResult<Money> {
            let minor: Option<i64> = row.try_get(format!("{prefix}_{col}_minor").as_str())?;
            Ok(Money { minor: minor.ok_or_else(|| corrupt("order_lines.customer or list amounts"))?, scale })
        };
        Ok(LinePricing {
            unit_price: Money { minor: unit, scale },
            net: amount("net")?,
            tax: amount("tax")?,
            gross: amount("gross")?,
            ..pricing
        })
    };
    let price_list_id: Option<String> = row.try_get("price_list_id")?;
    let price_list = match price_list_id {
        None => None,
        Some(id) => Some(domain::pricelist::PriceListRef {
            id: domain::ids::PriceListId::parse(&id).ok_or_else(|| corrupt("order_lines.price_list_id"))?,
            version: u32::try_from(row.try_get::<Option<i64>, _>("price_list_version")?.unwrap_or(-1))
                .map_err(|_| corrupt("order_lines.price_list_version"))?,
        }),
    };
    let line = OrderLine {
        line_number: u32::try_from(row.try_get::<i64, _>("line_number")?).map_err(|_| corrupt("line_number"))?,
        product_id: row.try_get("product_id")?,
        sku_id: row.try_get("sku_id")?,
        availability_id: row.try_get("availability_id")?,
        product_type: ProductType::parse(&product_type).ok_or_else(|| corrupt("order_lines.product_type"))?,
        title: row.try_get("title")?,
        friendly_name: row.try_get("friendly_name")?,
        term: term.map(|t| Term::parse(&t).ok_or_else(|| corrupt("order_lines.term"))).transpose()?,
        pricing,
        list: side("list")?,
        customer: side("customer")?,
        price_list,
        tax_rate: rate_from(&rate, "order_lines.tax_rate")?,
        policy,
        status: LineStatus::parse(&status).ok_or_else(|| corrupt("order_lines.status"))?,
        cancelled_at: row.try_get::<Option<i64>, _>("cancelled_at")?.map(Timestamp::from_micros),
        provisioning_context: provisioning
            .map(|p| serde_json::from_str(&p).map_err(|_| corrupt("order_lines.provisioning_context")))
            .transpose()?,
    };
    Ok((row.try_get("order_id")?, line))
}

pub(super) const SOFTWARE_COLS: &str = "s.id AS id, s.customer_id AS customer_id, s.order_id AS order_id, \
    s.line_number AS line_number, s.product_id AS product_id, s.sku_id AS sku_id, s.key_id AS key_id, \
    s.status AS status, s.purchased_at AS purchased_at, l.title AS title, l.term AS term, l.product_type AS product_type";

pub(super) fn software_from(row: &AnyRow) -> StoreResult<domain::software::SoftwareItem> {
    let status: String = row.try_get("status")?;
    let term: Option<String> = row.try_get("term")?;
    let product_type: String = row.try_get("product_type")?;
    let key_id: Option<String> = row.try_get("key_id")?;
    Ok(domain::software::SoftwareItem {
        id: id_of(row, "id", domain::ids::SoftwareItemId::parse)?,
        customer_id: id_of(row, "customer_id", TenantId::parse)?,
        order_id: id_of(row, "order_id", OrderId::parse)?,
        line_number: u32::try_from(row.try_get::<i64, _>("line_number")?).map_err(|_| corrupt("line_number"))?,
        product_id: row.try_get("product_id")?,
        sku_id: row.try_get("sku_id")?,
        title: row.try_get("title")?,
        product_type: ProductType::parse(&product_type).ok_or_else(|| corrupt("order_lines.product_type"))?,
        term: term.map(|t| Term::parse(&t).ok_or_else(|| corrupt("order_lines.term"))).transpose()?,
        status: LineStatus::parse(&status).ok_or_else(|| corrupt("software_items.status"))?,
        purchased_at: Timestamp::from_micros(row.try_get("purchased_at")?),
        has_key: key_id.is_some(),
    })
}

pub(super) fn markets_text(markets: &Option<Vec<MarketCode>>) -> Option<String> {
    markets.as_ref().map(|v| v.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(","))
}

pub(super) fn markets_from_text(s: Option<String>) -> StoreResult<Option<Vec<MarketCode>>> {
    s.map(|s| {
        s.split(',')
            .filter(|c| !c.is_empty())
            .map(|c| MarketCode::parse(c).ok_or_else(|| corrupt("products markets")))
            .collect()
    })
    .transpose()
}

/// A cancellation policy, stored as its kind and (for a window) its days, in `table` (products or order lines).
pub(super) fn policy_from(kind: &str, days: Option<i64>, table: &str) -> StoreResult<CancellationPolicy> {
    match (kind, days) {
        ("window", Some(d)) => Ok(CancellationPolicy::Window {
            days: u32::try_from(d).map_err(|_| corrupt(&format!("{table}.policy_days")))?,
        }),
        ("support_request", _) => Ok(CancellationPolicy::SupportRequest),
        ("none", _) => Ok(CancellationPolicy::None),
        _ => Err(corrupt(&format!("{table}.policy_kind"))),
    }
}

pub(super) fn assemble(products: Vec<AnyRow>, skus: Vec<AnyRow>, prices: Vec<AnyRow>) -> StoreResult<Vec<Product>> {
    let mut price_map: HashMap<(String, String), Vec<Price>> = HashMap::new();
    for r in &prices {
        let country: String = r.try_get("country")?;
        let scale = u8::try_from(r.try_get::<i64, _>("scale")?).map_err(|_| corrupt("prices.scale"))?;
        price_map.entry((r.try_get("product_id")?, r.try_get("sku_id")?)).or_default().push(Price {
            country: MarketCode::parse(&country).ok_or_else(|| corrupt("prices.country"))?,
            currency: r.try_get("currency_code")?,
            list_price: Money { minor: r.try_get("list_price_minor")?, scale },
        });
    }
    let mut sku_map: HashMap<String, Vec<Sku>> = HashMap::new();
    for r in &skus {
        let product_id: String = r.try_get("product_id")?;
        let id: String = r.try_get("id")?;
        let term: Option<String> = r.try_get("term")?;
        let mut prices = price_map.remove(&(product_id.clone(), id.clone())).unwrap_or_default();
        prices.sort_by_key(|p| p.country);
        sku_map.entry(product_id).or_default().push(Sku {
            id,
            title: r.try_get("title")?,
            term: term.map(|t| Term::parse(&t).ok_or_else(|| corrupt("skus.term"))).transpose()?,
            prices,
        });
    }
    products
        .iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let t: String = r.try_get("product_type")?;
            let kind: String = r.try_get("policy_kind")?;
            Ok(Product {
                skus: sku_map.remove(&id).unwrap_or_default(),
                id,
                title: r.try_get("title")?,
                publisher_name: r.try_get("publisher_name")?,
                product_type: ProductType::parse(&t).ok_or_else(|| corrupt("products.product_type"))?,
                policy: policy_from(&kind, r.try_get("policy_days")?, "products")?,
                available_markets: markets_from_text(r.try_get("available_markets")?)?,
                unavailable_markets: markets_from_text(r.try_get("unavailable_markets")?)?,
            })
        })
        .collect()
}

pub(super) fn rule_from(row: &AnyRow) -> StoreResult<(ProductType, MarketRule)> {
    let t: String = row.try_get("product_type")?;
    let mode: String = row.try_get("mode")?;
    let markets: String = row.try_get("markets")?;
    Ok((
        ProductType::parse(&t).ok_or_else(|| corrupt("type_availability.product_type"))?,
        MarketRule::from_stored(&mode, &markets).ok_or_else(|| corrupt("type_availability.markets"))?,
    ))
}

pub(super) const ARTIFACT_COLS: &str = "a.id AS a_id, a.product_id AS a_product_id, a.version AS a_version, \
    a.language AS a_language, a.file_type AS a_file_type, a.file_name AS a_file_name, a.size AS a_size, \
    a.sha256 AS a_sha256, a.blob_key AS a_blob_key, a.created_at AS a_created_at";

pub(super) fn artifact_from(row: &AnyRow) -> StoreResult<Artifact> {
    Ok(Artifact {
        id: ArtifactId(uuid_col(row, "a_id")?),
        product_id: row.try_get("a_product_id")?,
        version: row.try_get("a_version")?,
        language: row.try_get("a_language")?,
        file_type: row.try_get("a_file_type")?,
        file_name: row.try_get("a_file_name")?,
        size: u64::try_from(row.try_get::<i64, _>("a_size")?).map_err(|_| corrupt("artifacts.size"))?,
        sha256: row.try_get("a_sha256")?,
        blob_key: row.try_get("a_blob_key")?,
        created_at: ts(row, "a_created_at")?,
    })
}

/// The columns of a link's state, from `table` (an alias, or "" for RETURNING).
pub(super) fn link_state_cols(table: &str) -> String {
    ["issued_at", "expires_at", "downloads", "max_downloads", "revoked_at"]
        .iter()
        .map(|c| format!("{table}{c} AS l_{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn link_state_from(row: &AnyRow) -> StoreResult<LinkState> {
    Ok(LinkState {
        issued_at: ts(row, "l_issued_at")?,
        expires_at: ts(row, "l_expires_at")?,
        downloads: row.try_get("l_downloads")?,
        max_downloads: row.try_get("l_max_downloads")?,
        revoked: row.try_get::<Option<i64>, _>("l_revoked_at")?.is_some(),
    })
}

pub(super) const INVOICE_COLS: &str =
    "id, partner_id, period, currency_code, scale, subtotal_minor, tax_minor, total_minor, \
    line_count, issued_at";

pub(super) fn invoice_from(row: &AnyRow) -> StoreResult<Invoice> {
    let scale = u8::try_from(row.try_get::<i64, _>("scale")?).map_err(|_| corrupt("invoices.scale"))?;
    let money = |col: &str| -> StoreResult<Money> { Ok(Money { minor: row.try_get(col)?, scale }) };
    let period: String = row.try_get("period")?;
    Ok(Invoice {
        id: InvoiceId(uuid_col(row, "id")?),
        partner_id: PartnerId(uuid_col(row, "partner_id")?),
        period: Period::parse(&period).map_err(|_| corrupt("invoices.period"))?,
        currency: row.try_get("currency_code")?,
        subtotal: money("subtotal_minor")?,
        tax_total: money("tax_minor")?,
        total_charges: money("total_minor")?,
        line_count: row.try_get("line_count")?,
        issued_at: ts(row, "issued_at")?,
    })
}

pub(super) fn invoice_line_from(row: &AnyRow) -> StoreResult<InvoiceLine> {
    let scale = u8::try_from(row.try_get::<i64, _>("scale")?).map_err(|_| corrupt("ledger.scale"))?;
    let money = |col: &str| -> StoreResult<Money> { Ok(Money { minor: row.try_get(col)?, scale }) };
    let opt_uuid = |col: &str| -> StoreResult<Option<uuid::Uuid>> {
        row.try_get::<Option<String>, _>(col)?.map(|s| uuid::Uuid::parse_str(&s).map_err(|_| corrupt(col))).transpose()
    };
    Ok(InvoiceLine {
        id: row.try_get("id")?,
        at: ts(row, "at")?,
        charge_type: LedgerKind::parse(&row.try_get::<String, _>("kind")?).ok_or_else(|| corrupt("ledger.kind"))?,
        customer_id: opt_uuid("customer_id")?.map(TenantId),
        customer_domain: row.try_get("customer_domain")?,
        order_id: opt_uuid("order_id")?.map(OrderId),
        line_number: row
            .try_get::<Option<i64>, _>("line_number")?
            .map(|n| u32::try_from(n).map_err(|_| corrupt("ledger.line_number")))
            .transpose()?,
        order_date: row.try_get::<Option<i64>, _>("order_date")?.map(Timestamp::from_micros),
        product_id: row.try_get("product_id")?,
        sku_id: row.try_get("sku_id")?,
        product_name: row.try_get("title")?,
        unit_price: money("unit_price_minor")?,
        quantity: row.try_get("quantity")?,
        subtotal: money("net_minor")?,
        tax_total: money("tax_minor")?,
        total: money("gross_minor")?,
        currency: row.try_get("currency_code")?,
    })
}

pub(super) const REQUEST_COLS: &str =
    "id, partner_id, locale, title, description, severity, topic_id, status, contact, refund, \
    created_by, created_at, updated_at, customer_id, closed_at";

pub(super) fn request_from(row: &AnyRow) -> StoreResult<ServiceRequest> {
    let severity: String = row.try_get("severity")?;
    let status: String = row.try_get("status")?;
    let contact: String = row.try_get("contact")?;
    let refund: Option<String> = row.try_get("refund")?;
    let topic_code: String = row.try_get("topic_id")?;
    let customer: Option<String> = row.try_get("customer_id")?;
    let closed_at: Option<i64> = row.try_get("closed_at")?;
    Ok(ServiceRequest {
        id: ServiceRequestId(uuid_col(row, "id")?),
        partner_id: PartnerId(uuid_col(row, "partner_id")?),
        locale: row.try_get("locale")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        severity: Severity::parse(&severity).ok_or_else(|| corrupt("service_requests.severity"))?,
        // The column keeps the topic's machine name, which never changes (its number is found from it).
        topic: topic(&topic_code).ok_or_else(|| corrupt("service_requests.topic_id"))?,
        status: RequestStatus::parse(&status).ok_or_else(|| corrupt("service_requests.status"))?,
        contact: serde_json::from_str::<Contact>(&contact).map_err(|_| corrupt("service_requests.contact"))?,
        customer_id: customer
            .map(|c| TenantId::parse(&c).ok_or_else(|| corrupt("service_requests.customer_id")))
            .transpose()?,
        refund: refund.map(|r| serde_json::from_str(&r).map_err(|_| corrupt("service_requests.refund"))).transpose()?,
        created_by: row.try_get("created_by")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
        closed_at: closed_at.map(Timestamp::from_micros),
        notes: Vec::new(),
        attachments: Vec::new(),
    })
}

pub(super) const ENDPOINT_COLS: &str = "e.id, e.partner_id, e.url, e.operation_types, e.created_by, e.created_at, \
    e.failing_since, e.disabled_at, e.disabled_reason";

pub(super) fn endpoint_from(row: &AnyRow) -> StoreResult<WebhookEndpoint> {
    let kinds: String = row.try_get("operation_types")?;
    let operation_types = kinds
        .split(',')
        .filter(|k| !k.is_empty())
        // A kind this version does not know (written by a newer one) is skipped rather than failing the read.
        .filter_map(OperationType::parse)
        .collect();
    Ok(WebhookEndpoint {
        id: WebhookId(uuid_col(row, "id")?),
        partner_id: PartnerId(uuid_col(row, "partner_id")?),
        url: row.try_get("url")?,
        operation_types,
        created_by: row.try_get("created_by")?,
        created_at: ts(row, "created_at")?,
        failing_since: opt_ts(row, "failing_since")?,
        disabled_at: opt_ts(row, "disabled_at")?,
        disabled_reason: row.try_get("disabled_reason")?,
    })
}

pub(super) fn opt_ts(row: &AnyRow, col: &str) -> StoreResult<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(Timestamp::from_micros))
}

pub(super) fn attempt_count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(super) fn claimed_from(row: &AnyRow) -> StoreResult<ClaimedDelivery> {
    Ok(ClaimedDelivery {
        id: DeliveryId(uuid_col(row, "id")?),
        endpoint_id: WebhookId(uuid_col(row, "endpoint_id")?),
        partner_id: PartnerId(uuid_col(row, "partner_id")?),
        url: row.try_get("url")?,
        sealed_secret: row.try_get("secret")?,
        body: row.try_get("body")?,
        operation_type: row.try_get("operation_type")?,
        is_test: row.try_get::<Option<String>, _>("record_id")?.is_none(),
        attempts: attempt_count(row.try_get("attempts")?),
        first_attempt_at: opt_ts(row, "first_attempt_at")?,
        failing_since: opt_ts(row, "failing_since")?,
        held_until: ts(row, "claimed_until")?,
    })
}
