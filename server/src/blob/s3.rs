//! The S3 adapter of the blob store port, for AWS S3 and the S3-compatible stores self-hosters
//! use: Cloudflare R2, MinIO, SeaweedFS, Garage, Ceph RGW.
//!
//! Design choices, and why:
//! - **Explicit configuration only.** The SDK client is built from [`S3Config`] alone, never through
//!   `aws-config`'s default chain, so an operator's `~/.aws`, `AWS_*` variables or an instance role
//!   can never silently decide which account receives signed contracts.
//! - **Flat memory.** Uploads stream from the file on disk (`ByteStream::from_path`), and downloads
//!   hand the SDK's body stream through chunk by chunk; a 1 GiB PDF costs a few buffers, not 1 GiB.
//! - **Atomic puts.** A single PUT and a completed multipart upload both become visible at once
//!   in S3's model; a failed multipart upload is aborted so no orphaned parts stay billed.
//! - **Integrity.** The SDK's default (`WhenSupported`) checksums are kept: every PUT and part carries a
//!   CRC32 the server verifies, and GETs of single-part objects are verified while streaming.

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use futures_core::Stream;
use secrecy::{ExposeSecret, SecretString};
use tokio::task::JoinSet;

use super::{BlobError, BlobKey, BlobStore, BlobStream};

/// Files larger than this go up as multipart uploads: a failed 16 MiB part is retried alone
/// instead of restarting the whole file, and single PUTs stay well below S3's 5 GiB limit.
const MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
/// Part size for multipart uploads (S3's minimum is 5 MiB, except for the last part).
const PART_SIZE: u64 = 16 * 1024 * 1024;
/// S3's upper bound on parts per upload; very large files get larger parts to stay under it.
const MAX_PARTS: u64 = 10_000;
/// Parts in flight at once. Each part streams from disk, so this bounds sockets, not memory.
const PART_CONCURRENCY: usize = 4;

/// A dead or firewalled endpoint should fail a request (and `/readyz`) quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// From sending a request to the first response byte. That includes uploading the request
/// body, so it must cover a whole 16 MiB part (or a 64 MiB single PUT) on a slow uplink.
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// One attempt of one operation, body upload included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(600);
/// An operation with all its retries. Download bodies are streamed after the operation returns,
/// so they are not bounded by this; the SDK's stalled-stream protection (on by default with the
/// latest behaviour version) fails a body that stops delivering bytes instead.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(1800);
/// Total attempts per request (the first one plus retries of throttling and transient errors).
const MAX_ATTEMPTS: u32 = 3;

/// Where and how to reach the bucket. Everything is explicit: nothing is read from the
/// environment or `~/.aws`.
#[derive(Clone)]
pub struct S3Config {
    /// `None` means AWS S3 itself (the endpoint follows from `region`); otherwise the base URL,
    /// e.g. `https://<account>.r2.cloudflarestorage.com` or `http://127.0.0.1:18333`.
    pub endpoint: Option<String>,
    /// The signing region. R2 uses `auto`; MinIO and SeaweedFS accept `us-east-1`.
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`. MinIO and SeaweedFS
    /// usually need it; AWS and R2 work either way.
    pub path_style: bool,
    /// Prepended to every key so that several installs (or the tests) can share a bucket. May be
    /// empty; a non-empty prefix without a trailing '/' gets one.
    pub prefix: String,
}

/// Written by hand so that no `{:?}` of a config can ever print the secret (SecretString already
/// redacts, this also keeps the access key id out of logs).
impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &"[redacted]")
            .field("secret_access_key", &"[redacted]")
            .field("path_style", &self.path_style)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// The S3 blob store. Cheap to clone (the SDK client is reference-counted).
#[derive(Clone, Debug)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3BlobStore {
    /// Builds the client. Makes no request: a wrong endpoint or credential shows up in
    /// [`BlobStore::check`], which the server runs at startup and on `/readyz`.
    pub fn new(config: S3Config) -> Result<Self, BlobError> {
        let S3Config { endpoint, region, bucket, access_key_id, secret_access_key, path_style, prefix } = config;
        let invalid = |what: &str| Err(BlobError::Backend(format!("invalid S3 configuration: {what}")));
        if region.trim().is_empty() {
            return invalid("region is empty (use \"auto\" for R2, \"us-east-1\" for MinIO/SeaweedFS)");
        }
        if bucket.trim().is_empty() {
            return invalid("bucket is empty");
        }
        if access_key_id.trim().is_empty() || secret_access_key.expose_secret().is_empty() {
            return invalid("access key id and secret access key are required");
        }
        if let Some(url) = &endpoint
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return invalid(&format!("endpoint {url:?} must start with https:// or http://"));
        }
        if prefix.starts_with('/') {
            return invalid("prefix must not start with '/'");
        }
        let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix } else { format!("{prefix}/") };

        // Static credentials handed straight to the client: with no `aws-config` in the build,
        // there is no default provider chain that could fall back to the environment.
        let credentials =
            Credentials::new(access_key_id, secret_access_key.expose_secret(), None, None, "attesta-config");
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let mut sdk_config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(credentials)
            .force_path_style(path_style)
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        sdk_config.set_endpoint_url(endpoint);
        Ok(Self { client: Client::from_conf(sdk_config.build()), bucket, prefix })
    }

    fn object_key(&self, key: &BlobKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    async fn put_single(&self, object_key: &str, path: &Path, len: u64) -> Result<(), BlobError> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| BlobError::Backend(format!("reading {}: {e}", path.display())))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(object_key)
            .content_type("application/octet-stream")
            .content_length(content_length(len)?)
            .body(body)
            .send()
            .await
            .map_err(|e| BlobError::Backend(describe("PutObject", object_key, &e)))?;
        Ok(())
    }

    /// Uploads `len` bytes of `path` as a multipart upload, aborting it on any failure (and, via
    /// [`AbortOnDrop`], when the caller drops this future half-way).
    async fn put_multipart(&self, object_key: &str, path: &Path, len: u64) -> Result<(), BlobError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(object_key)
            .content_type("application/octet-stream")
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .map_err(|e| BlobError::Backend(describe("CreateMultipartUpload", object_key, &e)))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| BlobError::Backend(format!("CreateMultipartUpload {object_key}: no upload id returned")))?
            .to_owned();
        let mut guard = AbortOnDrop {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: object_key.to_owned(),
            upload_id: upload_id.clone(),
            armed: true,
        };

        let result = match self.upload_parts(object_key, &upload_id, path, len).await {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(object_key)
                .upload_id(&upload_id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| BlobError::Backend(describe("CompleteMultipartUpload", object_key, &e))),
            Err(e) => Err(e),
        };
        if result.is_err() {
            // Best effort: the original error is the one worth reporting. A bucket lifecycle rule
            // (AbortIncompleteMultipartUpload) is the safety net for an abort that fails too.
            let _ = guard.abort().await;
        }
        guard.armed = false;
        result
    }

    async fn upload_parts(
        &self,
        object_key: &str,
        upload_id: &str,
        path: &Path,
        len: u64,
    ) -> Result<Vec<CompletedPart>, BlobError> {
        let part_size = PART_SIZE.max(len.div_ceil(MAX_PARTS));
        let part_count = len.div_ceil(part_size);
        let mut in_flight = JoinSet::new();
        let mut parts = Vec::with_capacity(usize::try_from(part_count).unwrap_or(0));
        let mut next: u64 = 0;
        loop {
            while in_flight.len() < PART_CONCURRENCY && next < part_count {
                let offset = next * part_size;
                let part = PartUpload {
                    client: self.client.clone(),
                    bucket: self.bucket.clone(),
                    key: object_key.to_owned(),
                    upload_id: upload_id.to_owned(),
                    path: path.to_path_buf(),
                    number: i32::try_from(next + 1).map_err(|_| BlobError::Backend("too many parts".into()))?,
                    offset,
                    size: part_size.min(len - offset),
                };
                in_flight.spawn(part.send());
                next += 1;
            }
            // Returning early drops the JoinSet, which cancels the parts still in flight.
            match in_flight.join_next().await {
                None => break,
                Some(Ok(part)) => parts.push(part?),
                Some(Err(join_error)) => {
                    return Err(BlobError::Backend(format!("UploadPart {object_key}: task failed: {join_error}")));
                }
            }
        }
        parts.sort_by_key(|p| p.part_number());
        Ok(parts)
    }
}

/// One part of a multipart upload, owned so it can run on its own task.
struct PartUpload {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    path: PathBuf,
    number: i32,
    offset: u64,
    size: u64,
}

impl PartUpload {
    async fn send(self) -> Result<CompletedPart, BlobError> {
        let what = format!("{} part {}", self.key, self.number);
        // A path-backed body re-opens the file at `offset` for every retry, so retries need no copy.
        let body = ByteStream::read_from()
            .path(&self.path)
            .offset(self.offset)
            .length(Length::Exact(self.size))
            .build()
            .await
            .map_err(|e| BlobError::Backend(format!("reading {} for {what}: {e}", self.path.display())))?;
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(self.number)
            .content_length(content_length(self.size)?)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(body)
            .send()
            .await
            .map_err(|e| BlobError::Backend(describe("UploadPart", &what, &e)))?;
        let e_tag = out.e_tag().ok_or_else(|| BlobError::Backend(format!("UploadPart {what}: no ETag returned")))?;
        Ok(CompletedPart::builder()
            .part_number(self.number)
            .e_tag(e_tag)
            .set_checksum_crc32(out.checksum_crc32().map(str::to_owned))
            .build())
    }
}

/// Aborts a multipart upload that was neither completed nor aborted, for instance because the
/// request that ran `put_file` was cancelled. Parts of an unfinished upload are invisible but
/// stored (and billed) until aborted.
struct AbortOnDrop {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    armed: bool,
}

impl AbortOnDrop {
    async fn abort(&self) -> Result<(), BlobError> {
        abort_upload(self.client.clone(), self.bucket.clone(), self.key.clone(), self.upload_id.clone()).await
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Drop cannot await; hand the abort to the runtime if there still is one.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let upload =
                abort_upload(self.client.clone(), self.bucket.clone(), self.key.clone(), self.upload_id.clone());
            runtime.spawn(async move {
                let _ = upload.await;
            });
        }
    }
}

async fn abort_upload(client: Client, bucket: String, key: String, upload_id: String) -> Result<(), BlobError> {
    client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(&key)
        .upload_id(upload_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| BlobError::Backend(describe("AbortMultipartUpload", &key, &e)))
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    async fn put_file(&self, key: &BlobKey, path: &Path) -> Result<(), BlobError> {
        let object_key = self.object_key(key);
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| BlobError::Backend(format!("reading {}: {e}", path.display())))?;
        if !meta.is_file() {
            return Err(BlobError::Backend(format!("{} is not a regular file", path.display())));
        }
        if meta.len() > MULTIPART_THRESHOLD {
            self.put_multipart(&object_key, path, meta.len()).await
        } else {
            self.put_single(&object_key, path, meta.len()).await
        }
    }

    async fn get(&self, key: &BlobKey) -> Result<BlobStream, BlobError> {
        let object_key = self.object_key(key);
        let out = self.client.get_object().bucket(&self.bucket).key(&object_key).send().await.map_err(|e| {
            if e.as_service_error().is_some_and(|se| se.is_no_such_key()) || is_missing_object(&e) {
                BlobError::NotFound(key.as_str().to_owned())
            } else {
                BlobError::Backend(describe("GetObject", &object_key, &e))
            }
        })?;
        Ok(Box::pin(BodyStream(out.body)))
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        let object_key = self.object_key(key);
        match self.client.delete_object().bucket(&self.bucket).key(&object_key).send().await {
            Ok(_) => Ok(()),
            // S3 answers 204 for a missing key; some compatible stores answer 404 NoSuchKey.
            Err(e) if is_missing_object(&e) => Ok(()),
            Err(e) => Err(BlobError::Backend(describe("DeleteObject", &object_key, &e))),
        }
    }

    async fn list(&self) -> Result<Vec<super::Listed>, BlobError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| BlobError::Backend(describe("ListObjectsV2", &self.prefix, &e)))?;
            for object in page.contents() {
                let Some(name) = object.key().and_then(|k| k.strip_prefix(self.prefix.as_str())) else { continue };
                let Ok(key) = BlobKey::parse(name) else { continue };
                let modified_micros = object
                    .last_modified()
                    .and_then(|t| t.to_millis().ok())
                    .map_or(i64::MAX, |ms| ms.saturating_mul(1000));
                out.push(super::Listed { key, modified_micros });
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    /// Aborts multipart uploads under the prefix that were begun before `before_micros` and
    /// never completed (a process that died mid-upload; the abort on drop never ran).
    async fn remove_partials(&self, before_micros: i64) -> Result<u64, BlobError> {
        let mut stale = Vec::new();
        let (mut key_marker, mut upload_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(upload_marker.take())
                .send()
                .await
                .map_err(|e| BlobError::Backend(describe("ListMultipartUploads", &self.prefix, &e)))?;
            for upload in page.uploads() {
                let begun = upload.initiated().and_then(|t| t.to_millis().ok()).map(|ms| ms.saturating_mul(1000));
                if let (Some(key), Some(id), Some(begun)) = (upload.key(), upload.upload_id(), begun)
                    && begun < before_micros
                {
                    stale.push((key.to_owned(), id.to_owned()));
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            upload_marker = page.next_upload_id_marker().map(str::to_owned);
            if key_marker.is_none() && upload_marker.is_none() {
                break;
            }
        }
        let mut removed = 0;
        for (key, id) in stale {
            abort_upload(self.client.clone(), self.bucket.clone(), key, id).await?;
            removed += 1;
        }
        Ok(removed)
    }

    /// HeadBucket: proves the endpoint answers, the credentials sign correctly and the bucket
    /// exists, in one cheap request. It does not write: a probe object on every `/readyz` would
    /// cost a billed PUT each time and still not prove much about the next real upload.
    async fn check(&self) -> Result<(), BlobError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| BlobError::Backend(describe("HeadBucket", &self.bucket, &e)))
    }

    fn kind(&self) -> &'static str {
        "s3"
    }
}

/// Adapts the SDK's body to the port's stream without buffering: each chunk the connection
/// delivers is handed on as it arrives.
struct BodyStream(ByteStream);

impl Stream for BodyStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0).poll_next(cx).map(|item| item.map(|chunk| chunk.map_err(std::io::Error::from)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

fn content_length(len: u64) -> Result<i64, BlobError> {
    i64::try_from(len).map_err(|_| BlobError::Backend(format!("file of {len} bytes is too large")))
}

/// Every operation of this client fails with the SDK's HTTP response type.
type HttpResponse = aws_sdk_s3::config::http::HttpResponse;

/// A 404 that is about the object, not the bucket: a missing bucket is a configuration error
/// and must never read as "this document does not exist".
fn is_missing_object<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(se) => {
            let code = se.err().code();
            code == Some("NoSuchKey") || (code != Some("NoSuchBucket") && se.raw().status().as_u16() == 404)
        }
        _ => false,
    }
}

/// A one-line description of a failed request for logs and `/readyz`: the operation, the object,
/// the HTTP status, S3's error code and message, and a hint for the usual misconfigurations.
/// It never contains the secret key: the SDK's errors do not carry credentials.
fn describe<E>(operation: &str, target: &str, err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let SdkError::ServiceError(service_error) = err else {
        // Connection refused, DNS, TLS, timeouts: the source chain says which.
        return format!("{operation} {target}: {}", error_chain(err));
    };
    let status = service_error.raw().status().as_u16();
    let e = service_error.err();
    let code = e.code().unwrap_or("");
    let mut text = format!("{operation} {target}: HTTP {status}");
    if !code.is_empty() {
        text.push(' ');
        text.push_str(code);
    }
    if let Some(message) = e.message().filter(|m| !m.is_empty()) {
        text.push_str(": ");
        text.push_str(message);
    }
    // HEAD responses have no body, so HeadBucket errors arrive with no code: the hint carries it.
    let hint = if code == "SignatureDoesNotMatch" {
        Some("the secret access key is wrong: the request signature did not verify")
    } else if code == "InvalidAccessKeyId" {
        Some("the access key id is unknown to the store")
    } else if code == "NoSuchBucket" || (operation == "HeadBucket" && status == 404) {
        Some("the bucket does not exist: create it or fix the bucket name")
    } else if matches!(code, "AuthorizationHeaderMalformed" | "PermanentRedirect") || status == 301 {
        Some("the region or endpoint does not match the bucket")
    } else if status == 403 {
        Some("access denied: check the access key, the secret key and the bucket's permissions")
    } else {
        None
    };
    if let Some(hint) = hint {
        text.push_str(" (");
        text.push_str(hint);
        text.push(')');
    }
    text
}

/// "outer: cause: root cause", without the SDK's `Debug` dump that `DisplayErrorContext` appends.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        // Wrappers often repeat their cause's text; say each thing once.
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> S3Config {
        S3Config {
            endpoint: Some("http://127.0.0.1:1".into()),
            region: "us-east-1".into(),
            bucket: "b".into(),
            access_key_id: "id".into(),
            secret_access_key: SecretString::from("super-secret-value"),
            path_style: true,
            prefix: String::new(),
        }
    }

    #[test]
    fn rejects_incomplete_configuration() {
        for (name, broken) in [
            ("region", S3Config { region: " ".into(), ..config() }),
            ("bucket", S3Config { bucket: String::new(), ..config() }),
            ("access key", S3Config { access_key_id: String::new(), ..config() }),
            ("secret", S3Config { secret_access_key: SecretString::from(""), ..config() }),
            ("endpoint", S3Config { endpoint: Some("127.0.0.1:9000".into()), ..config() }),
            ("prefix", S3Config { prefix: "/x".into(), ..config() }),
        ] {
            assert!(matches!(S3BlobStore::new(broken), Err(BlobError::Backend(_))), "{name}");
        }
    }

    #[test]
    fn prefix_gets_a_separator() -> Result<(), BlobError> {
        let key = BlobKey::parse("a/b")?;
        let store = S3BlobStore::new(S3Config { prefix: "tenant".into(), ..config() })?;
        assert_eq!(store.object_key(&key), "tenant/a/b");
        let store = S3BlobStore::new(S3Config { prefix: "tenant/".into(), ..config() })?;
        assert_eq!(store.object_key(&key), "tenant/a/b");
        let store = S3BlobStore::new(config())?;
        assert_eq!(store.object_key(&key), "a/b");
        Ok(())
    }

    #[test]
    fn debug_output_hides_credentials() -> Result<(), BlobError> {
        let config = config();
        assert!(!format!("{config:?}").contains("super-secret-value"));
        let store = S3BlobStore::new(config)?;
        assert!(!format!("{store:?}").contains("super-secret-value"));
        Ok(())
    }

    #[tokio::test]
    async fn unreachable_endpoint_fails_fast_with_a_readable_error() -> Result<(), BlobError> {
        let store = S3BlobStore::new(config())?;
        let started = std::time::Instant::now();
        let Err(BlobError::Backend(message)) = store.check().await else { panic!("port 1 must not answer") };
        assert!(message.starts_with("HeadBucket b: "), "{message}");
        assert!(message.contains("dispatch failure") || message.contains("connect"), "{message}");
        assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
        Ok(())
    }

    /// An https endpoint really goes through rustls (the lean feature set must keep TLS): a server
    /// that answers in plain HTTP fails the TLS handshake.
    #[tokio::test]
    async fn https_endpoints_speak_tls() -> Result<(), Box<dyn std::error::Error>> {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
            }
        });
        let store = S3BlobStore::new(S3Config { endpoint: Some(format!("https://127.0.0.1:{port}")), ..config() })?;
        let Err(BlobError::Backend(message)) = store.check().await else { panic!("plain HTTP must fail TLS") };
        assert!(message.contains("TLS handshake failed"), "{message}");
        assert!(!message.contains("DispatchFailure {"), "no Debug dumps in messages: {message}");
        Ok(())
    }

    /// A multipart upload whose part cannot be read (the file is shorter than announced) must
    /// fail and leave no unfinished upload behind. Runs against the test server when configured.
    #[tokio::test]
    async fn failed_multipart_upload_is_aborted() -> Result<(), Box<dyn std::error::Error>> {
        let Some(config) = test_server_config() else {
            eprintln!("SKIPPED: ATTESTA_TEST_S3_* not set (start scripts/services/s3.sh)");
            return Ok(());
        };
        let store = S3BlobStore::new(config)?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("short");
        std::fs::write(&path, vec![7u8; 1024 * 1024])?;
        let object_key = format!("{}aborted-{}", store.prefix, std::process::id());

        // First show that this server lists unfinished uploads at all, or the check below proves nothing.
        let probe = store.client.create_multipart_upload().bucket(&store.bucket).key(&object_key).send().await?;
        let listed = store.client.list_multipart_uploads().bucket(&store.bucket).prefix(&object_key).send().await?;
        assert_eq!(listed.uploads().len(), 1, "the server must list the unfinished probe upload");
        let probe_id = probe.upload_id().unwrap_or_default().to_owned();
        abort_upload(store.client.clone(), store.bucket.clone(), object_key.clone(), probe_id).await?;

        let result = store.put_multipart(&object_key, &path, 3 * PART_SIZE).await;
        assert!(matches!(result, Err(BlobError::Backend(_))), "{result:?}");

        let listed = store.client.list_multipart_uploads().bucket(&store.bucket).prefix(&object_key).send().await?;
        assert!(listed.uploads().is_empty(), "left behind: {:?}", listed.uploads());
        let head = store.client.head_object().bucket(&store.bucket).key(&object_key).send().await;
        assert!(head.is_err(), "no object may appear");
        Ok(())
    }

    fn test_server_config() -> Option<S3Config> {
        let var = |name: &str| std::env::var(format!("ATTESTA_TEST_S3_{name}")).ok();
        Some(S3Config {
            endpoint: Some(var("ENDPOINT")?),
            region: var("REGION").unwrap_or_else(|| "us-east-1".into()),
            bucket: var("BUCKET")?,
            access_key_id: var("ACCESS_KEY")?,
            secret_access_key: SecretString::from(var("SECRET_KEY")?),
            path_style: true,
            prefix: "unit-tests/".into(),
        })
    }
}
