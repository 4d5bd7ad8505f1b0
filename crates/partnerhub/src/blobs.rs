//! `partnerhub blobs migrate`: every file of one blob store copied to another, each copy read back and its SHA-256
//! checked against the source's.

use anyhow::Context;
use services::blobs::{BlobLocation, Blobs};

/// Copies every file from `from` to `to` (streaming: multipart uploads there), with a progress bar on a terminal
/// and a line per 100 files otherwise. A file already at `to` with the same size is verified, not copied again.
pub async fn migrate(from: &BlobLocation, to: &BlobLocation) -> anyhow::Result<()> {
    if from == to {
        anyhow::bail!("the blob store is already {to}");
    }
    let source = Blobs::open(from).with_context(|| format!("the blob store {from}"))?;
    let target = Blobs::open(to).with_context(|| format!("the blob store {to}"))?;
    target.check().await.with_context(|| format!("{to} does not answer"))?;
    let files = source.list().await.with_context(|| format!("listing {from}"))?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    eprintln!("{} files, {total} bytes, from {from} to {to}", files.len());
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({bytes_per_sec}, {eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (mut copied, mut present) = (0usize, 0usize);
    for (n, file) in files.iter().enumerate() {
        bar.set_message(format!("{}/{} files", n + 1, files.len()));
        if bar.is_hidden() && n % 100 == 0 && n > 0 {
            eprintln!("{n}/{} files", files.len());
        }
        let key = &file.key;
        let source_sha = if target.size_of(key).await? == Some(file.size) {
            // There already (an earlier run): the copy must hold the same bytes.
            let (theirs, ours) = (target.sha256_of(key).await?, source.sha256_of(key).await?);
            if theirs == ours {
                present += 1;
                bar.inc(file.size);
                continue;
            }
            ours
        } else {
            String::new()
        };
        let progress = bar.clone();
        let stored =
            source.copy_to(key, &target, move |n| progress.inc(n)).await.with_context(|| format!("copying {key}"))?;
        if !source_sha.is_empty() && stored.sha256 != source_sha {
            anyhow::bail!("{key} changed while it was copied: run the migration again");
        }
        let copy = target.sha256_of(key).await.with_context(|| format!("reading {key} back from {to}"))?;
        if copy != stored.sha256 {
            bar.abandon();
            anyhow::bail!("{key}: the copy's SHA-256 is {copy}, the source's {}", stored.sha256);
        }
        copied += 1;
    }
    bar.finish();
    println!(
        "{copied} files copied, {present} already there, {total} bytes in all: every file's SHA-256 verified at {to}"
    );
    println!("next: point every server's --blob-store (PARTNERHUB_BLOB_STORE) at {to} and restart it");
    Ok(())
}
