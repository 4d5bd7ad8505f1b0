//! Blob storage for uploaded files (artifacts, attachments), through the `object_store` crate: the local file
//! system under the data folder by default, so an S3-compatible store is a matter of configuration, not code.
//! Bytes stream through in bounded chunks both ways; no file is ever held in memory whole.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as BlobPath;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// How much of an upload is buffered before it is written out (per part; at most two parts in flight).
const PART_SIZE: usize = 4 * 1024 * 1024;
/// Read size when serving a file from the local disk.
const READ_CHUNK: usize = 64 * 1024;

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

/// What a completed upload measured on the way through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
}

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl Blobs {
    /// Files under `dir` (created when missing), each written to a temporary name, fsynced, then renamed into place,
    /// so a crash mid-upload never leaves a half file under a real name.
    pub fn local(dir: &Path) -> Result<Blobs, BlobError> {
        std::fs::create_dir_all(dir).map_err(|e| BlobError::Storage(format!("{}: {e}", dir.display())))?;
        let fs = LocalFileSystem::new_with_prefix(dir)?.with_fsync(true);
        Ok(Blobs { store: Arc::new(fs) })
    }

    pub fn new(store: Arc<dyn ObjectStore>) -> Blobs {
        Blobs { store }
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
        let options = GetOptions { range: range.clone().map(GetRange::Bounded), ..Default::default() };
        let result = self.store.get_opts(&path, options).await?;
        let wanted = result.range.clone();
        match result.payload {
            // A local file: read it with large chunks on tokio's file I/O rather than object_store's 8 KiB reads.
            GetResultPayload::File(file, _) => {
                let mut file = tokio::fs::File::from_std(file);
                file.seek(std::io::SeekFrom::Start(wanted.start))
                    .await
                    .map_err(|e| BlobError::Storage(e.to_string()))?;
                let reader = file.take(wanted.end - wanted.start);
                Ok(tokio_util::io::ReaderStream::with_capacity(reader, READ_CHUNK).boxed())
            }
            GetResultPayload::Stream(s) => Ok(s.map(|r| r.map_err(std::io::Error::other)).boxed()),
        }
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
