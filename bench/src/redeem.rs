//! `redeem-setup`: files and download links for the redemption benchmark, made through the HTTP API as an
//! operator and a partner would: the publisher uploads `files` identical 1 KiB artifacts (one version, language and
//! file type), a partner buys the product, then "Get keys and downloads" is called until `links` links exist
//! (each call issues one link per matching file). Writes the paths (`/download/<token>`) one per line.

use crate::util::Setup;
use anyhow::Context;
use futures::StreamExt;
use std::path::Path;

pub async fn run(
    url: &str,
    publisher_token: &str,
    setup: &Setup,
    file: &Path,
    files: usize,
    links: usize,
    out: &Path,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    for _ in 0..files {
        let res = http
            .post(format!(
                "{url}/v1/publisher/products/{}/artifacts?version=2026&language=en-us&fileType=ISO&fileName=bench.bin",
                setup.product_id
            ))
            .bearer_auth(publisher_token)
            .header("Content-Type", "application/octet-stream")
            .body(bytes.clone())
            .send()
            .await?;
        let status = res.status();
        anyhow::ensure!(status == 201, "artifact upload answered {status}: {}", res.text().await?);
    }
    let partner = &setup.partners[0];
    let customer = &partner.customers[0];
    let cart_body = serde_json::json!({"lineItems": [
        {"catalogItemId": setup.catalog_item_id, "quantity": 1, "billingCycle": "one_time"}]});
    let res = http
        .post(format!("{url}/v1/customers/{customer}/carts"))
        .bearer_auth(&partner.token)
        .json(&cart_body)
        .send()
        .await?;
    anyhow::ensure!(res.status() == 201, "create cart: {}", res.text().await?);
    let cart: serde_json::Value = res.json().await?;
    let cart = cart["id"].as_str().context("cart id")?;
    let res = http
        .post(format!("{url}/v1/customers/{customer}/carts/{cart}/checkout"))
        .bearer_auth(&partner.token)
        .send()
        .await?;
    anyhow::ensure!(res.status() == 201, "checkout: {}", res.text().await?);
    let res = http.get(format!("{url}/v1/customers/{customer}/software")).bearer_auth(&partner.token).send().await?;
    anyhow::ensure!(res.status() == 200, "software: {}", res.text().await?);
    let sw: serde_json::Value = res.json().await?;
    let item = sw["items"][0]["id"].as_str().context("a software item")?.to_string();
    let calls = links.div_ceil(files);
    let body = serde_json::json!({"version": "2026", "language": "en-us", "fileType": "ISO"});
    let results: Vec<anyhow::Result<Vec<String>>> = futures::stream::iter(0..calls)
        .map(|_| {
            let (http, body, item) = (http.clone(), body.clone(), item.clone());
            async move {
                let res = http
                    .post(format!("{url}/v1/customers/{customer}/software/{item}/keysanddownloads"))
                    .bearer_auth(&partner.token)
                    .json(&body)
                    .send()
                    .await?;
                let status = res.status();
                let text = res.text().await?;
                anyhow::ensure!(status == 201, "keysanddownloads answered {status}: {text}");
                let v: serde_json::Value = serde_json::from_str(&text)?;
                let mut paths = Vec::new();
                for d in v["downloads"].as_array().context("downloads")? {
                    let uri = d["link"]["uri"].as_str().context("link uri")?;
                    let token = uri.rsplit('/').next().context("token")?;
                    paths.push(format!("/download/{token}"));
                }
                anyhow::ensure!(paths.len() == files, "expected {files} links per call, got {}", paths.len());
                Ok(paths)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    std::fs::write(out, all.join("\n") + "\n")?;
    eprintln!("issued {} download links ({} files × {calls} calls) into {}", all.len(), files, out.display());
    Ok(())
}
