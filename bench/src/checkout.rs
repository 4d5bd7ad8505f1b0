//! Checkout throughput: the same writes through the Store in-process (`store-checkout`, the ceiling) and through
//! the HTTP API (`api-checkout`: create a cart, then check it out, as a client does).

use crate::util::{cpu_seconds, emit, err, open_services_and_sql_store, percentile_ms, r3, Setup, StatementCounter};
use anyhow::Context;
use domain::ids::{CartId, OrderId, PartnerId, TenantId, UserId};
use domain::order::{price_order, validate_cart_lines, Cart, CartLineDraft, CartStatus};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::prelude::*;
use store::{Effects, PartnerScope, SqlStore};

fn report(
    kind: &str,
    orders: usize,
    elapsed: Duration,
    mut latencies: Vec<Duration>,
    concurrency: usize,
    extra: serde_json::Value,
) {
    latencies.sort();
    let mut doc = serde_json::json!({
        "kind": kind,
        "orders": orders,
        "concurrency": concurrency,
        "seconds": r3(elapsed.as_secs_f64()),
        "orders_per_s": r3(orders as f64 / elapsed.as_secs_f64()),
        "p50_ms": r3(percentile_ms(&latencies, 50.0)),
        "p99_ms": r3(percentile_ms(&latencies, 99.0)),
    });
    if let (Some(doc), serde_json::Value::Object(extra)) = (doc.as_object_mut(), extra) {
        doc.extend(extra);
    }
    emit(&doc);
}

/// One bench buyer: a partner's scope, its user's principal, its customers.
struct Buyer {
    scope: PartnerScope,
    principal: String,
    customers: Vec<domain::customer::Customer>,
}

/// One checkout's writes: `create_cart`, then `place_order`. Returns the time both took and the statements
/// `place_order` alone sent (meaningful when nothing else runs meanwhile).
async fn one_order(
    services: &services::Services,
    store: &SqlStore,
    catalog: &services::catalog::MarketCatalog,
    buyer: &Buyer,
    customer: &domain::customer::Customer,
    item: &str,
) -> anyhow::Result<(Duration, u64)> {
    let t0 = Instant::now();
    let now = services.clock.now();
    let draft = CartLineDraft {
        catalog_item_id: item.to_string(),
        quantity: 1,
        billing_cycle: "one_time".into(),
        ..Default::default()
    };
    let lines = validate_cart_lines(vec![draft], &catalog.products, &catalog.market)?;
    let cart = Cart {
        id: CartId::new(),
        customer_id: customer.tenant_id,
        status: CartStatus::Active,
        lines,
        order_id: None,
        created_at: now,
        updated_at: now,
    };
    store.create_cart(buyer.scope, &cart, Effects::default()).await?;
    let order = price_order(
        OrderId::new(),
        &cart,
        &catalog.products,
        &catalog.market,
        &domain::order::PriceBook::default(),
        now,
    )?;
    // The same writes as the API's checkout.
    let (items, audit) = services::orders::checkout_writes(&order, customer, &buyer.principal, now);
    let effects = Effects::audit(audit);
    let statements = StatementCounter::count();
    store
        .place_order(buyer.scope, &order, store::CartClaim::Stored { version: cart.updated_at }, &items, effects)
        .await?;
    Ok((t0.elapsed(), StatementCounter::count() - statements))
}

/// Checkouts placed one at a time after the run, to count the statements of one `place_order`.
const ALONE: usize = 20;

/// The writes of one checkout through the Store alone: `create_cart`, then `place_order` with the order priced by
/// the same domain function and the same activity record the service writes. No HTTP, no authentication, no
/// catalog reads (the catalog is read once up front): what the storage layer sustains.
///
/// Also reports the statements sent to the database per order during the run (cart and checkout, as sqlx logs
/// them), the statements of one `place_order` placed alone afterwards, the CPU seconds per 1,000 orders of this
/// process and of the database server (`db_pid`: PostgreSQL's postmaster and its backends), and on SQLite the
/// writer's commits: orders per commit.
pub async fn store_checkout(
    database_url: &str,
    data_dir: &Path,
    setup: &Setup,
    orders: usize,
    concurrency: usize,
    db_pid: Option<u32>,
) -> anyhow::Result<()> {
    StatementCounter::install()?;
    let (services, store) = open_services_and_sql_store(database_url, data_dir).await?;
    let market = domain::market::MarketCode::parse("US").context("US is a market")?;
    let catalog = Arc::new(services.market_catalog(market, None).await.map_err(err)?);
    let mut buyers = Vec::new();
    for p in &setup.partners {
        let scope = PartnerScope::authenticated(PartnerId::parse(&p.id).context("partner id")?);
        let user = store
            .get_user(scope, UserId::parse(&p.user_id).context("user id")?)
            .await?
            .context("bench user missing")?;
        let partner = store.get_partner(scope.partner_id()).await?.context("bench partner missing")?;
        let actor = services.act_as(&services.operator_on_this_machine(), partner, user);
        let mut customers = Vec::new();
        for c in &p.customers {
            let tenant = TenantId::parse(c).context("tenant id")?;
            let customer = store.get_customer(scope, tenant).await?.context("bench customer missing")?;
            customers.push(customer);
        }
        buyers.push(Buyer { scope, principal: actor.principal().to_string(), customers });
    }
    let buyers = Arc::new(buyers);
    let next = Arc::new(AtomicUsize::new(0));
    let pids: Vec<u32> = std::iter::once(std::process::id()).chain(db_pid).collect();
    let cpu0 = (cpu_seconds(&pids[..1])?, cpu_seconds(&pids[1..])?);
    let statements0 = StatementCounter::count();
    let commits0 = store.writer_stats().map(|w| w.snapshot());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (services, store, catalog, buyers, next) =
            (services.clone(), store.clone(), catalog.clone(), buyers.clone(), next.clone());
        let item = setup.catalog_item_id.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let buyer = &buyers[w % buyers.len()];
            let mut n = w / buyers.len();
            while next.fetch_add(1, Ordering::Relaxed) < orders {
                let customer = &buyer.customers[n % buyer.customers.len()];
                n += 1;
                lat.push(one_order(&services, &store, &catalog, buyer, customer, &item).await?.0);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = started.elapsed();
    let cpu = (cpu_seconds(&pids[..1])? - cpu0.0, cpu_seconds(&pids[1..])? - cpu0.1);
    let statements = StatementCounter::count() - statements0;
    let commits = store.writer_stats().map(|w| w.snapshot());
    anyhow::ensure!(latencies.len() == orders, "placed {} orders of {orders}", latencies.len());
    let mut alone = 0;
    for i in 0..ALONE {
        let buyer = &buyers[i % buyers.len()];
        alone += one_order(&services, &store, &catalog, buyer, &buyer.customers[0], &setup.catalog_item_id).await?.1;
    }
    let per_1000 = |s: f64| r3(s * 1000.0 / orders as f64);
    let mut extra = serde_json::json!({
        "statements_per_order": r3(statements as f64 / orders as f64),
        "statements_per_checkout_alone": r3(alone as f64 / ALONE as f64),
        "cpu_s_per_1000_orders": per_1000(cpu.0),
    });
    if db_pid.is_some() {
        extra["db_cpu_s_per_1000_orders"] = per_1000(cpu.1).into();
    }
    if let (Some((c0, j0)), Some((c1, j1))) = (commits0, commits) {
        extra["commits"] = (c1 - c0).into();
        extra["writes_per_commit"] = r3((j1 - j0) as f64 / (c1 - c0).max(1) as f64).into();
        extra["orders_per_commit"] = r3(orders as f64 / (c1 - c0).max(1) as f64).into();
    }
    report("store", orders, elapsed, latencies, concurrency, extra);
    Ok(())
}

/// Orders through HTTP: `POST /v1/customers/{c}/carts` (201) then `POST …/carts/{id}/checkout` (201), each worker
/// in turn. Any other status stops the run with the response. p99 is that of the checkout request.
///
/// Also reports the CPU seconds per 1,000 orders of the server (`server_pid`) and of the database server
/// (`db_pid`), both as measured from outside.
pub async fn api_checkout(
    url: &str,
    setup: &Setup,
    orders: usize,
    concurrency: usize,
    server_pid: Option<u32>,
    db_pid: Option<u32>,
) -> anyhow::Result<()> {
    let cpu0 = (cpu_seconds(&Vec::from_iter(server_pid))?, cpu_seconds(&Vec::from_iter(db_pid))?);
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let batches0 = write_batches(&http, url).await?;
    let setup = Arc::new(setup.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (http, setup, next, url) = (http.clone(), setup.clone(), next.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let partner = &setup.partners[w % setup.partners.len()];
            let mut n = w / setup.partners.len();
            let cart_body = serde_json::json!({"lineItems": [
                {"catalogItemId": setup.catalog_item_id, "quantity": 1, "billingCycle": "one_time"}]});
            while next.fetch_add(1, Ordering::Relaxed) < orders {
                let customer = &partner.customers[n % partner.customers.len()];
                n += 1;
                let res = http
                    .post(format!("{url}/v1/customers/{customer}/carts"))
                    .bearer_auth(&partner.token)
                    .json(&cart_body)
                    .send()
                    .await?;
                let status = res.status();
                let body: serde_json::Value = res.json().await.unwrap_or_default();
                anyhow::ensure!(status == 201, "create cart answered {status}: {body}");
                let cart = body["id"].as_str().context("cart id")?.to_string();
                let t0 = Instant::now();
                let res = http
                    .post(format!("{url}/v1/customers/{customer}/carts/{cart}/checkout"))
                    .bearer_auth(&partner.token)
                    .send()
                    .await?;
                let status = res.status();
                let text = res.text().await?;
                anyhow::ensure!(status == 201, "checkout answered {status}: {text}");
                lat.push(t0.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = started.elapsed();
    anyhow::ensure!(latencies.len() == orders, "placed {} orders of {orders}", latencies.len());
    let cpu = (cpu_seconds(&Vec::from_iter(server_pid))? - cpu0.0, cpu_seconds(&Vec::from_iter(db_pid))? - cpu0.1);
    let per_1000 = |s: f64| r3(s * 1000.0 / orders as f64);
    let mut extra = serde_json::json!({});
    if server_pid.is_some() {
        extra["cpu_s_per_1000_orders"] = per_1000(cpu.0).into();
    }
    if db_pid.is_some() {
        extra["db_cpu_s_per_1000_orders"] = per_1000(cpu.1).into();
    }
    // SQLite: the server's group commit, from its /metrics (every write of the run: carts, checkouts, their
    // idempotency rows and activity records).
    if let (Some((b0, w0)), Some((b1, w1))) = (batches0, write_batches(&http, url).await?) {
        extra["orders_per_commit"] = r3(orders as f64 / (b1 - b0).max(1) as f64).into();
        extra["writes_per_commit"] = r3((w1 - w0) as f64 / (b1 - b0).max(1) as f64).into();
    }
    report("api", orders, elapsed, latencies, concurrency, extra);
    Ok(())
}

/// The server's SQLite write counters from `/metrics`: (batches committed, writes in them); `None` on PostgreSQL.
async fn write_batches(http: &reqwest::Client, url: &str) -> anyhow::Result<Option<(u64, u64)>> {
    let text = http.get(format!("{url}/metrics")).send().await?.error_for_status()?.text().await?;
    let counter = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok());
    Ok(counter("partnerhub_sqlite_write_batches_total ").zip(counter("partnerhub_sqlite_writes_total ")))
}
