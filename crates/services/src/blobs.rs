//! Blob storage for uploaded files (artifacts, attachments), through the `object_store` crate: a folder on the local
//! file system (`file://PATH`, by default `<data-dir>/blobs`) or an S3-compatible bucket (`s3://BUCKET[/PREFIX]`,
//! configured from the `AWS_*` environment variables as AWS's own tools are), chosen by URL ([`BlobLocation`]).
//! Bytes stream through in bounded chunks both ways; no file is ever held in memory whole: an upload is a multipart
//! upload whose parts are written as they fill, a download streams the object (or the requested range of it).

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as BlobPath;
use object_store::prefix::PrefixStore;
use object_store::{
    ClientOptions, GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt, WriteMultipart,
};
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// How much of an upload is buffered before it is written out as one part (at most two parts in flight, so an
/// upload holds at most three parts in memory). S3 refuses parts under 5 MiB except the last one.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Read size when serving a file from the local disk.
const READ_CHUNK: usize = 64 * 1024;
/// An S3 request whose response (or the next bytes of its body) does not come within this is retried or fails.
/// There is no limit on a whole request: a download streams at its customer's pace.
const S3_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Where blobs live, as `--blob-store` names it: `file://PATH` or `s3://BUCKET[/PREFIX]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    /// A folder (created when missing).
    File(PathBuf),
    /// Objects under `prefix` (none: the bucket's root) in an S3-compatible bucket.
    S3 { bucket: String, prefix: Option<String> },
}

impl BlobLocation {
    /// Parses `file://PATH` (relative or absolute: `file://./data/blobs`, `file:///var/lib/partnerhub/blobs`) or
    /// `s3://BUCKET[/PREFIX]`.
    pub fn parse(url: &str) -> Result<BlobLocation, String> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() {
                return Err(format!("{url:?}: file:// needs a folder, e.g. file:///var/lib/partnerhub/blobs"));
            }
            return Ok(BlobLocation::File(PathBuf::from(path)));
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = match rest.split_once('/') {
                Some((b, p)) => (b, p.trim_matches('/')),
                None => (rest, ""),
            };
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
            if !bucket_ok {
                return Err(format!(
                    "{url:?}: {bucket:?} is not a bucket name (3 to 63 lower-case letters, digits, '-' and '.')"
                ));
            }
            let prefix = if prefix.is_empty() {
                None
            } else {
                BlobPath::parse(prefix).map_err(|e| format!("{url:?}: the prefix {prefix:?}: {e}"))?;
                Some(prefix.to_string())
            };
            return Ok(BlobLocation::S3 { bucket: bucket.to_string(), prefix });
        }
        Err(format!("{url:?} is not a blob store URL: file://PATH or s3://BUCKET[/PREFIX]"))
    }
}

impl std::fmt::Display for BlobLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobLocation::File(path) => write!(f, "file://{}", path.display()),
            BlobLocation::S3 { bucket, prefix: None } => write!(f, "s3://{bucket}"),
            BlobLocation::S3 { bucket, prefix: Some(p) } => write!(f, "s3://{bucket}/{p}"),
        }
    }
}

pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The body went over the limit; nothing is kept.
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
    /// The client's body failed mid-way (a dropped connection); nothing is kept.
    #[error("the upload was interrupted: {0}")]
    Interrupted(std::io::Error),
    #[error("blob storage: {0}")]
    Storage(String),
}

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        BlobError::Storage(e.to_string())
    }
}

/// A local file's `range` (the whole file when none), found, opened and measured in one blocking call; a file (or
/// range) of at most [`READ_CHUNK`] bytes is read whole in that same call and sent as one chunk (a download's common
/// case: one hop to a blocking thread instead of three), a larger one streams with [`READ_CHUNK`] reads. A missing
/// file, or one shorter than the range, fails here, before anything is counted or sent.
async fn local_get(file: PathBuf, range: Option<Range<u64>>) -> Result<ByteStream, BlobError> {
    let storage = |e: std::io::Error| BlobError::Storage(format!("{}: {e}", file.display()));
    let opened = tokio::task::spawn_blocking({
        let file = file.clone();
        move || -> std::io::Result<Result<Bytes, (std::fs::File, Range<u64>)>> {
            use std::io::{Read, Seek};
            let mut f = std::fs::File::open(&file)?;
            let len = f.metadata()?.len();
            let wanted = match range {
                Some(r) if r.start > len || r.start > r.end => {
                    return Err(std::io::Error::other(format!("range {r:?} is outside the file's {len} bytes")))
                }
                Some(r) => r.start..r.end.min(len),
                None => 0..len,
            };
            if wanted.end - wanted.start > READ_CHUNK as u64 {
                return Ok(Err((f, wanted)));
            }
            let mut buf = vec![0; (wanted.end - wanted.start) as usize];
            f.seek(std::io::SeekFrom::Start(wanted.start))?;
            f.read_exact(&mut buf)?;
            Ok(Ok(Bytes::from(buf)))
        }
    })
    .await
    .map_err(|e| BlobError::Storage(e.to_string()))?
    .map_err(storage)?;
    match opened {
        Ok(bytes) => Ok(futures::stream::once(async move { Ok(bytes) }).boxed()),
        Err((f, wanted)) => file_stream(tokio::fs::File::from_std(f), wanted).await,
    }
}

/// The bytes `wanted` of an open file, in [`READ_CHUNK`] reads on tokio's file I/O.
async fn file_stream(mut file: tokio::fs::File, wanted: Range<u64>) -> Result<ByteStream, BlobError> {
    file.seek(std::io::SeekFrom::Start(wanted.start)).await.map_err(|e| BlobError::Storage(e.to_string()))?;
    let reader = file.take(wanted.end - wanted.start);
    Ok(tokio_util::io::ReaderStream::with_capacity(reader, READ_CHUNK).boxed())
}

/// What a completed upload measured on the way through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
}

/// One stored file, as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    pub key: String,
    pub size: u64,
}

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// The same store when it is the local file system: downloads read its files directly (see [`Blobs::get`]).
    local: Option<Arc<LocalFileSystem>>,
}

impl Blobs {
    /// The storage at `location`. For S3, the client is configured from the environment the way AWS's tools are:
    /// `AWS_ENDPOINT_URL` (an S3-compatible service; AWS itself when unset), `AWS_REGION`, `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` (else the instance's or container's role), `AWS_ALLOW_HTTP=true` for an endpoint
    /// without TLS. Nothing is contacted yet ([`Blobs::check`] does).
    pub fn open(location: &BlobLocation) -> Result<Blobs, BlobError> {
        match location {
            BlobLocation::File(dir) => Blobs::local(dir),
            BlobLocation::S3 { bucket, prefix } => {
                // The S3 client's TLS (reqwest 0.13's rustls) takes the process's provider: ring, as everywhere else
                // here. Err only means one is installed already.
                let _ = rustls::crypto::ring::default_provider().install_default();
                // Our timeouts first, then the environment (`AmazonS3Builder::from_env` without replacing the
                // client options it read, e.g. AWS_ALLOW_HTTP), then the bucket.
                let options = ClientOptions::new().with_timeout_disabled().with_read_timeout(S3_READ_TIMEOUT);
                let mut builder = AmazonS3Builder::new().with_client_options(options);
                for (key, value) in std::env::vars_os() {
                    if let (Some(key), Some(value)) = (key.to_str(), value.to_str()) {
                        if let Some(key) = key.strip_prefix("AWS_").and_then(|_| key.to_ascii_lowercase().parse().ok())
                        {
                            builder = builder.with_config(key, value);
                        }
                    }
                }
                let s3 = builder
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| BlobError::Storage(format!("{location}: {e}")))?;
                let store: Arc<dyn ObjectStore> = match prefix {
                    Some(p) => Arc::new(PrefixStore::new(s3, BlobPath::parse(p)?)),
                    None => Arc::new(s3),
                };
                Ok(Blobs { store, local: None })
            }
        }
    }

    /// Files under `dir` (created when missing), each written to a temporary name, fsynced, then renamed into place,
    /// so a crash mid-upload never leaves a half file under a real name.
    pub fn local(dir: &Path) -> Result<Blobs, BlobError> {
        std::fs::create_dir_all(dir).map_err(|e| BlobError::Storage(format!("{}: {e}", dir.display())))?;
        let fs = Arc::new(LocalFileSystem::new_with_prefix(dir)?.with_fsync(true));
        Ok(Blobs { store: fs.clone(), local: Some(fs) })
    }

    pub fn new(store: Arc<dyn ObjectStore>) -> Blobs {
        Blobs { store, local: None }
    }

    /// Streams `body` to `key`, counting and hashing it on the way. Over `limit` bytes, or if the body fails, the
    /// partial upload is aborted and nothing is left behind.
    #[tracing::instrument(skip_all)]
    pub async fn put(&self, key: &str, mut body: ByteStream, limit: u64) -> Result<Stored, BlobError> {
        let path = BlobPath::parse(key)?;
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut hash = Sha256::new();
        let mut size: u64 = 0;
        let failure = loop {
            let chunk = match body.next().await {
                None => break None,
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => break Some(BlobError::Interrupted(e)),
            };
            size += chunk.len() as u64;
            if size > limit {
                break Some(BlobError::TooLarge(limit));
            }
            hash.update(&chunk);
            if let Err(e) = writer.wait_for_capacity(2).await {
                break Some(e.into());
            }
            writer.write(&chunk);
        };
        if let Some(e) = failure {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, key, "could not remove a failed upload's parts");
            }
            return Err(e);
        }
        writer.finish().await?;
        Ok(Stored { size, sha256: hex::encode(hash.finalize()) })
    }

    /// The bytes of `range` (the whole file when none) as a stream.
    #[tracing::instrument(skip_all)]
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<ByteStream, BlobError> {
        let path = BlobPath::parse(key)?;
        if let Some(fs) = &self.local {
            return local_get(fs.path_to_filesystem(&path)?, range).await;
        }
        let options = GetOptions { range: range.clone().map(GetRange::Bounded), ..Default::default() };
        let result = self.store.get_opts(&path, options).await?;
        let wanted = result.range.clone();
        match result.payload {
            // A local file: read it with large chunks on tokio's file I/O rather than object_store's 8 KiB reads.
            GetResultPayload::File(file, _) => Ok(file_stream(tokio::fs::File::from_std(file), wanted).await?),
            GetResultPayload::Stream(s) => Ok(s.map(|r| r.map_err(std::io::Error::other)).boxed()),
        }
    }

    /// Readiness: the storage answers a listing of its top level (a bucket that does not exist, credentials it
    /// refuses or an endpoint that does not answer fail here).
    #[tracing::instrument(skip_all)]
    pub async fn check(&self) -> Result<(), BlobError> {
        self.store.list_with_delimiter(None).await?;
        Ok(())
    }

    /// Every stored file (for `partnerhub blobs migrate`), in no particular order.
    #[tracing::instrument(skip_all)]
    pub async fn list(&self) -> Result<Vec<BlobEntry>, BlobError> {
        let entries: Vec<_> = self.store.list(None).try_collect().await?;
        Ok(entries.into_iter().map(|m| BlobEntry { key: m.location.to_string(), size: m.size }).collect())
    }

    /// The size of `key`, or `None` when there is no such file.
    #[tracing::instrument(skip_all)]
    pub async fn size_of(&self, key: &str) -> Result<Option<u64>, BlobError> {
        let path = BlobPath::parse(key)?;
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Copies `key` to the same key in `to`, streaming (a multipart upload there), and reports each chunk's length
    /// to `progress`; returns the size and SHA-256 of the bytes copied.
    #[tracing::instrument(skip_all)]
    pub async fn copy_to(
        &self,
        key: &str,
        to: &Blobs,
        progress: impl Fn(u64) + Send + 'static,
    ) -> Result<Stored, BlobError> {
        let body = self.get(key, None).await?.inspect_ok(move |chunk| progress(chunk.len() as u64)).boxed();
        to.put(key, body, u64::MAX).await
    }

    /// The SHA-256 of `key`'s bytes, read through.
    #[tracing::instrument(skip_all)]
    pub async fn sha256_of(&self, key: &str) -> Result<String, BlobError> {
        let mut body = self.get(key, None).await?;
        let mut hash = Sha256::new();
        while let Some(chunk) = body.next().await {
            hash.update(chunk.map_err(|e| BlobError::Storage(format!("{key}: {e}")))?);
        }
        Ok(hex::encode(hash.finalize()))
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = BlobPath::parse(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl From<object_store::path::Error> for BlobError {
    fn from(e: object_store::path::Error) -> Self {
        BlobError::Storage(e.to_string())
    }
}
