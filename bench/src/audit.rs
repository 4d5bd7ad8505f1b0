//! The activity log: bulk seeding (`seed-audit`, SQLite), first-page latency (`audit-query`) and the streamed CSV
//! export with the server's memory (`audit-export`).

use crate::util::{emit, kib_to_mib, percentile_ms, proc_status_kib, r3, Setup};
use anyhow::Context;
use futures::StreamExt;
use rand::Rng;
use sqlx::Connection;
use std::time::{Duration, Instant};

/// Seeded records start here (2024-01-01T00:00:00Z) and come `per_day` a day, evenly spaced.
pub const SEED_START_S: i64 = 1_704_067_200;

fn day_of(offset_days: i64) -> String {
    #[allow(clippy::expect_used, reason = "the seed's days lie in 2026, far inside time's range")]
    let d = time::OffsetDateTime::from_unix_timestamp(SEED_START_S + offset_days * 86_400).expect("date");
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Appends `records` activity records to the first bench partner's log with one `INSERT … SELECT` over a recursive
/// CTE per million rows (SQLite). Rows look like checkout and download records (`create_order`,
/// `get_software_key`, `download_software` in turn) of the partner's first customer, `per_day` a day from
/// 2024-01-01; ids are UUID-shaped `0000beef-…-<seq>`; hashes are placeholders, so `audit verify` reports this
/// partner's chain as altered (the benchmark measures reads, not the chain). The partner's head seq is moved past
/// them so later appends continue the numbering.
pub async fn seed(database_url: &str, setup: &Setup, records: i64, per_day: i64) -> anyhow::Result<()> {
    anyhow::ensure!(database_url.starts_with("sqlite:"), "seed-audit seeds SQLite only");
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await?;
    let partner = &setup.partners[0];
    let customer = &partner.customers[0];
    let row =
        sqlx::query("SELECT audit_seq FROM partners WHERE id = $1").bind(&partner.id).fetch_one(&mut conn).await?;
    let base: i64 = sqlx::Row::try_get(&row, "audit_seq")?;
    let row = sqlx::query("SELECT user_principal_name, customer_name FROM audit_records WHERE partner_id = $1 AND customer_id = $2 LIMIT 1")
        .bind(&partner.id)
        .bind(customer)
        .fetch_one(&mut conn)
        .await
        .context("the bench customer's creation record")?;
    let upn: String = sqlx::Row::try_get(&row, "user_principal_name")?;
    let name: String = sqlx::Row::try_get(&row, "customer_name")?;
    let step_us = 86_400_000_000 / per_day;
    let started = Instant::now();
    let chunk = 1_000_000i64;
    let mut done = 0i64;
    sqlx::query("PRAGMA synchronous = OFF").execute(&mut conn).await?;
    while done < records {
        let n = chunk.min(records - done);
        let sql = "WITH RECURSIVE s(n) AS (SELECT $1 UNION ALL SELECT n + 1 FROM s WHERE n < $2) \
            INSERT INTO audit_records (partner_id, seq, id, customer_id, customer_name, customer_name_folded, \
              user_principal_name, resource_type, operation_type, operation_date, operation_status, customized_data, \
              prev_hash, hash) \
            SELECT $3, $4 + n, printf('0000beef-0000-7000-8000-%012x', $4 + n), $5, $6, lower($6), $7, \
              CASE n % 3 WHEN 0 THEN 'Order' ELSE 'SoftwareItem' END, \
              CASE n % 3 WHEN 0 THEN 'create_order' WHEN 1 THEN 'get_software_key' ELSE 'download_software' END, \
              $8 + (n - 1) * $9, 'succeeded', \
              '[[\"orderId\",\"' || printf('0000beef-0000-7000-9000-%012x', n / 3) || '\"],[\"productId\",\"BENCHSW\"]]', \
              printf('%064x', $4 + n - 1), printf('%064x', $4 + n) \
            FROM s";
        let mut tx = conn.begin().await?;
        sqlx::query(sql)
            .bind(done + 1)
            .bind(done + n)
            .bind(&partner.id)
            .bind(base)
            .bind(customer)
            .bind(&name)
            .bind(&upn)
            .bind(SEED_START_S * 1_000_000)
            .bind(step_us)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done += n;
        eprintln!("seed-audit: {done}/{records} records ({:.0} s)", started.elapsed().as_secs_f64());
    }
    let last = base + records;
    sqlx::query("UPDATE partners SET audit_seq = $1, audit_head = printf('%064x', $1) WHERE id = $2")
        .bind(last)
        .bind(&partner.id)
        .execute(&mut conn)
        .await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await?;
    conn.close().await?;
    emit(
        &serde_json::json!({"kind": "seed-audit", "records": records, "seconds": r3(started.elapsed().as_secs_f64())}),
    );
    Ok(())
}

/// `requests` first pages (size 100) of random `window_days`-day ranges within the seeded days, one client after
/// another (the latency of a query, not of a queue). Each page must hold 100 records and offer a next page.
pub async fn query(
    url: &str,
    setup: &Setup,
    records: i64,
    per_day: i64,
    requests: usize,
    window_days: i64,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let token = &setup.partners[0].token;
    let days = records / per_day;
    anyhow::ensure!(days > window_days, "{days} seeded days is too few for {window_days}-day windows");
    let mut rng = rand::thread_rng();
    let mut lat = Vec::with_capacity(requests);
    for i in 0..requests + 20 {
        let first = rng.gen_range(0..days - window_days);
        let (start, end) = (day_of(first), day_of(first + window_days - 1));
        let t0 = Instant::now();
        let res = http
            .get(format!("{url}/v1/auditrecords?startDate={start}&endDate={end}"))
            .bearer_auth(token)
            .send()
            .await?;
        let status = res.status();
        let body = res.bytes().await?;
        let took = t0.elapsed();
        anyhow::ensure!(status == 200, "auditrecords answered {status}: {}", String::from_utf8_lossy(&body));
        if i < 20 {
            // Warm-up requests (connection, caches) are checked but not counted.
            let v: serde_json::Value = serde_json::from_slice(&body)?;
            anyhow::ensure!(v["items"].as_array().map(Vec::len) == Some(100), "a first page without 100 records");
            anyhow::ensure!(!v["links"]["next"].is_null(), "a first page without a next link");
            continue;
        }
        lat.push(took);
    }
    lat.sort();
    emit(&serde_json::json!({"kind": "audit-query", "records": records, "requests": requests,
        "window_days": window_days, "p50_ms": r3(percentile_ms(&lat, 50.0)), "p99_ms": r3(percentile_ms(&lat, 99.0)),
        "max_ms": r3(percentile_ms(&lat, 100.0))}));
    Ok(())
}

/// Streams the CSV export of the first `export_records` seeded records (whole days), counting its lines, while
/// sampling the server's VmRSS every 10 ms; reports the server's VmHWM (its peak RSS since it started, absolute)
/// after the export, and its VmRSS before. The line count must match.
pub async fn export(url: &str, setup: &Setup, per_day: i64, export_records: i64, pid: u32) -> anyhow::Result<()> {
    anyhow::ensure!(export_records % per_day == 0, "export whole days");
    let days = export_records / per_day;
    let (start, end) = (day_of(0), day_of(days - 1));
    let rss_before = proc_status_kib(pid, "VmRSS")?;
    let http = reqwest::Client::new();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut max = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(kib) = proc_status_kib(pid, "VmRSS") {
                    max = max.max(kib);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            max
        })
    };
    let t0 = Instant::now();
    let res = http
        .get(format!("{url}/v1/auditrecords/export?startDate={start}&endDate={end}"))
        .bearer_auth(&setup.partners[0].token)
        .send()
        .await?;
    let status = res.status();
    anyhow::ensure!(status == 200, "export answered {status}: {}", res.text().await?);
    let mut lines = 0i64;
    let mut bytes = 0u64;
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("the export ended early")?;
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as i64;
    }
    let seconds = t0.elapsed().as_secs_f64();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let sampled_max = sampler.await?;
    let hwm = proc_status_kib(pid, "VmHWM")?;
    anyhow::ensure!(lines - 1 == export_records, "the export had {} records, expected {export_records}", lines - 1);
    emit(&serde_json::json!({"kind": "audit-export", "records": export_records, "seconds": r3(seconds),
        "bytes": bytes, "peak_rss_mib": kib_to_mib(hwm), "sampled_max_rss_mib": kib_to_mib(sampled_max),
        "rss_before_mib": kib_to_mib(rss_before)}));
    Ok(())
}
