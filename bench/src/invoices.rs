//! `invoice-run`: `partners` production partners (made through the services), `lines` ledger charges spread
//! evenly over them and over last month (one `INSERT … SELECT` over a recursive CTE, SQLite), then the product's
//! own invoice run for last month, timed in-process (`Services::run_invoices`, what `partnerhub invoices run` and
//! `POST /v1/publisher/invoiceruns` call). The result is checked: one invoice per partner, every line invoiced once,
//! totals equal to the seeded amounts.

use crate::util::{emit, err, open_services, r3};
use anyhow::Context;
use sqlx::Connection;
use std::path::Path;
use std::time::Instant;

pub async fn run(database_url: &str, data_dir: &Path, partners: usize, lines: i64) -> anyhow::Result<()> {
    anyhow::ensure!(database_url.starts_with("sqlite:"), "invoice-run seeds SQLite only");
    anyhow::ensure!(lines % partners as i64 == 0, "lines must split evenly over partners");
    let services = open_services(database_url, data_dir).await?;
    let t_seed = Instant::now();
    let mut ids = Vec::with_capacity(partners);
    for p in 0..partners {
        let partner = services
            .create_partner(&services.operator_on_this_machine(), &format!("Invoice bench {p}"), false, None, None)
            .await
            .map_err(err)?;
        ids.push(partner.id.to_string());
    }
    // Last month on the real clock (production partners use it).
    let today = time::OffsetDateTime::now_utc().date();
    let first_of_this = today.replace_day(1)?;
    let last_month = first_of_this.previous_day().context("a previous day")?;
    let period = format!("{:04}-{:02}", last_month.year(), u8::from(last_month.month()));
    let start_us = last_month.replace_day(1)?.midnight().assume_utc().unix_timestamp() * 1_000_000;
    let per_partner = lines / partners as i64;
    let step_us = 28 * 86_400_000_000 / per_partner;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await?;
    sqlx::query("CREATE TEMP TABLE bench_partners (k INTEGER PRIMARY KEY, id TEXT NOT NULL)")
        .execute(&mut conn)
        .await?;
    for (k, id) in ids.iter().enumerate() {
        sqlx::query("INSERT INTO bench_partners (k, id) VALUES ($1, $2)")
            .bind(k as i64)
            .bind(id)
            .execute(&mut conn)
            .await?;
    }
    // Line n belongs to partner n % partners and is its (n / partners)-th charge of the month: 1 × 1899.00 USD net,
    // 10% tax.
    let mut tx = conn.begin().await?;
    sqlx::query(
        "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < $1) \
         INSERT INTO ledger (id, partner_id, currency_code, scale, at, kind, customer_id, order_id, line_number, \
           quantity, unit_price_minor, net_minor, tax_minor, gross_minor, invoice_id, reference) \
         SELECT printf('0000beef-0000-7000-a000-%012x', n), (SELECT id FROM bench_partners WHERE k = n % $2), \
           'USD', 2, $3 + (n / $2) * $4, 'new', printf('0000beef-0000-7000-b000-%012x', n % ($2 * 10)), \
           printf('0000beef-0000-7000-c000-%012x', n), 1, 1, 189900, 189900, 18990, 208890, NULL, NULL FROM s",
    )
    .bind(lines)
    .bind(partners as i64)
    .bind(start_us)
    .bind(step_us)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    conn.close().await?;
    let seeded_s = t_seed.elapsed().as_secs_f64();
    eprintln!("invoice-run: seeded {partners} partners and {lines} ledger lines for {period} in {seeded_s:.1} s");
    let t0 = Instant::now();
    let run = services.run_invoices(&services.operator_on_this_machine(), &period).await.map_err(err)?;
    let seconds = t0.elapsed().as_secs_f64();
    anyhow::ensure!(run.invoices.len() == partners, "{} invoices for {partners} partners", run.invoices.len());
    let invoiced: i64 = run.invoices.iter().map(|i| i.line_count).sum();
    anyhow::ensure!(invoiced == lines, "{invoiced} lines invoiced of {lines}");
    for i in &run.invoices {
        anyhow::ensure!(
            i.total_charges.minor == 208_890 * per_partner,
            "invoice {} totals {} for {per_partner} lines",
            i.id,
            i.total_charges.format()
        );
    }
    emit(&serde_json::json!({"kind": "invoice-run", "period": period, "partners": partners, "order_lines": lines,
        "seconds": r3(seconds), "seed_seconds": r3(seeded_s)}));
    Ok(())
}
