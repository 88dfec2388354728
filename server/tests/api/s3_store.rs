//! The S3 adapter against a real S3 server (SeaweedFS from `scripts/services/s3.sh`):
//!
//! ```sh
//! scripts/services/s3.sh start && eval "$(scripts/services/s3.sh env)" && cargo test; scripts/services/s3.sh stop
//! ```
//!
//! Without the `ATTESTA_TEST_S3_*` variables each test prints why it is skipped and passes, so a
//! plain `cargo test` still works on a machine without the server.

use std::io::Write;
use std::path::Path;

use attesta_server::blob::s3::{S3BlobStore, S3Config};
use attesta_server::blob::{BlobError, BlobKey, BlobStore};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const MIB: usize = 1024 * 1024;

struct Server {
    endpoint: String,
    bucket: String,
    access_key: String,
    secret_key: String,
    region: String,
}

/// The test server from the environment, or `None` (after saying so) when it is not configured.
fn server(test: &str) -> Option<Server> {
    let var = |name: &str| std::env::var(format!("ATTESTA_TEST_S3_{name}")).ok().filter(|v| !v.is_empty());
    let server = (|| {
        Some(Server {
            endpoint: var("ENDPOINT")?,
            bucket: var("BUCKET")?,
            access_key: var("ACCESS_KEY")?,
            secret_key: var("SECRET_KEY")?,
            region: var("REGION").unwrap_or_else(|| "us-east-1".into()),
        })
    })();
    if server.is_none() {
        eprintln!(
            "SKIPPED {test}: ATTESTA_TEST_S3_ENDPOINT/BUCKET/ACCESS_KEY/SECRET_KEY are not set; run \
             `scripts/services/s3.sh start && eval \"$(scripts/services/s3.sh env)\"` first"
        );
    }
    server
}

impl Server {
    /// A store confined to a prefix unique to this test run, so runs never see each other's objects.
    fn config(&self) -> S3Config {
        // Random, not time-based: the wall clock is read only through the Clock port, and the
        // prefix must be unique across runs against the shared store (so not a seeded source).
        let nanos: u64 = attesta_core::entropy::EntropyExt::u64(&attesta_server::entropy::OsEntropy);
        S3Config {
            endpoint: Some(self.endpoint.clone()),
            region: self.region.clone(),
            bucket: self.bucket.clone(),
            access_key_id: self.access_key.clone(),
            secret_access_key: SecretString::from(self.secret_key.clone()),
            path_style: true,
            prefix: format!("it/{}-{nanos}", std::process::id()),
        }
    }

    fn store(&self) -> Result<S3BlobStore, BlobError> {
        S3BlobStore::new(self.config())
    }

    /// A raw SDK client, to look at what the adapter left in the bucket.
    fn raw_client(&self) -> aws_sdk_s3::Client {
        use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(Credentials::new(&self.access_key, &self.secret_key, None, None, "test"))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

/// Writes `len` pseudo-random bytes (1 MiB at a time) and returns their SHA-256, so big files
/// never sit in memory and the content is not trivially compressible or repetitive.
fn write_file(path: &Path, len: usize, seed: u64) -> std::io::Result<[u8; 32]> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    let mut state = seed | 1;
    let mut chunk = vec![0u8; MIB];
    let mut left = len;
    while left > 0 {
        let n = left.min(MIB);
        for byte in &mut chunk[..n] {
            // xorshift64: fast, deterministic, good enough to make every byte position distinct.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = (state >> 24) as u8;
        }
        hasher.update(&chunk[..n]);
        file.write_all(&chunk[..n])?;
        left -= n;
    }
    file.flush()?;
    Ok(hasher.finalize().into())
}

/// Reads the object chunk by chunk into a hasher: returns its SHA-256, its length and the
/// largest chunk seen (which shows the body really streamed).
async fn read_digest(store: &S3BlobStore, key: &BlobKey) -> Result<([u8; 32], usize, usize), BlobError> {
    let mut stream = store.get(key).await?;
    let mut hasher = Sha256::new();
    let (mut len, mut largest) = (0, 0);
    while let Some(chunk) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        let chunk = chunk.map_err(|e| BlobError::Backend(format!("reading body: {e}")))?;
        hasher.update(&chunk);
        len += chunk.len();
        largest = largest.max(chunk.len());
    }
    Ok((hasher.finalize().into(), len, largest))
}

#[tokio::test]
async fn round_trips_small_medium_and_multipart_files() -> TestResult {
    let Some(server) = server("round_trips_small_medium_and_multipart_files") else { return Ok(()) };
    let config = server.config();
    // The adapter separates a prefix from the key with a '/'.
    let prefix = format!("{}/", config.prefix);
    let store = S3BlobStore::new(config)?;
    let dir = tempfile::tempdir()?;
    for (name, len) in [("empty", 0), ("one-byte", 1), ("five-mib", 5 * MIB), ("seventy-mib", 70 * MIB)] {
        let path = dir.path().join(name);
        let expected = write_file(&path, len, len as u64 + 42)?;
        let key = BlobKey::parse(&format!("round-trip/{name}.bin"))?;

        store.put_file(&key, &path).await?;
        assert!(path.exists(), "put_file must not delete its input");

        let (digest, read_len, largest_chunk) = read_digest(&store, &key).await?;
        assert_eq!(read_len, len, "{name}: length");
        assert_eq!(digest, expected, "{name}: SHA-256 of the content");
        assert!(largest_chunk <= 4 * MIB, "{name}: body arrived in a {largest_chunk}-byte chunk, not streamed");

        // Putting the same content again is allowed (the port permits identical overwrites).
        if len <= MIB {
            store.put_file(&key, &path).await?;
            assert_eq!(read_digest(&store, &key).await?.0, expected, "{name}: after identical overwrite");
        }
    }

    // The 70 MiB file went up as a multipart upload: S3 ETags of those end in "-<part count>".
    let raw = server.raw_client();
    let head =
        raw.head_object().bucket(&server.bucket).key(format!("{prefix}round-trip/seventy-mib.bin")).send().await?;
    assert_eq!(head.content_length(), Some(70 * MIB as i64));
    let e_tag = head.e_tag().unwrap_or_default().trim_matches('"').to_owned();
    assert!(e_tag.ends_with("-5"), "70 MiB in 16 MiB parts is 5 parts; ETag {e_tag}");
    let single =
        raw.head_object().bucket(&server.bucket).key(format!("{prefix}round-trip/five-mib.bin")).send().await?;
    assert!(!single.e_tag().unwrap_or_default().contains('-'), "5 MiB must be a single PUT");

    // And no multipart upload was left unfinished.
    let pending = raw.list_multipart_uploads().bucket(&server.bucket).prefix(&prefix).send().await?;
    assert!(pending.uploads().is_empty(), "unfinished uploads: {:?}", pending.uploads());

    for name in ["empty", "one-byte", "five-mib", "seventy-mib"] {
        store.delete(&BlobKey::parse(&format!("round-trip/{name}.bin"))?).await?;
    }
    Ok(())
}

#[tokio::test]
async fn missing_key_is_not_found() -> TestResult {
    let Some(server) = server("missing_key_is_not_found") else { return Ok(()) };
    let store = server.store()?;
    match store.get(&BlobKey::parse("never/written.pdf")?).await {
        Err(BlobError::NotFound(key)) => assert_eq!(key, "never/written.pdf"),
        Err(other) => panic!("expected NotFound, got {other}"),
        Ok(_) => panic!("expected NotFound, got a body"),
    }
    Ok(())
}

#[tokio::test]
async fn delete_is_idempotent() -> TestResult {
    let Some(server) = server("delete_is_idempotent") else { return Ok(()) };
    let store = server.store()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("doc");
    write_file(&path, 1000, 7)?;
    let key = BlobKey::parse("retention/doc.pdf")?;

    store.put_file(&key, &path).await?;
    store.delete(&key).await?;
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound(_))), "deleted object must be gone");
    store.delete(&key).await?;
    store.delete(&BlobKey::parse("retention/never-existed")?).await?;
    Ok(())
}

#[tokio::test]
async fn wrong_secret_is_rejected_by_the_server() -> TestResult {
    let Some(server) = server("wrong_secret_is_rejected_by_the_server") else { return Ok(()) };
    let wrong = "definitely-not-the-secret-0123456789";
    let store = S3BlobStore::new(S3Config { secret_access_key: SecretString::from(wrong), ..server.config() })?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("doc");
    write_file(&path, 1000, 9)?;

    let Err(BlobError::Backend(message)) = store.put_file(&BlobKey::parse("auth/doc")?, &path).await else {
        panic!("a PUT signed with the wrong secret must fail");
    };
    eprintln!("wrong secret, PUT: {message}");
    assert!(message.contains("SignatureDoesNotMatch"), "{message}");
    assert!(message.contains("secret access key is wrong"), "{message}");
    assert!(!message.contains(wrong) && !message.contains(&server.secret_key), "secret leaked: {message}");

    let Err(BlobError::Backend(message)) = store.check().await else {
        panic!("HeadBucket signed with the wrong secret must fail");
    };
    eprintln!("wrong secret, check: {message}");
    assert!(message.contains("HTTP 403"), "{message}");
    assert!(!message.contains(wrong) && !message.contains(&server.secret_key), "secret leaked: {message}");
    Ok(())
}

#[tokio::test]
async fn check_passes_on_the_bucket_and_fails_on_a_missing_one() -> TestResult {
    let Some(server) = server("check_passes_on_the_bucket_and_fails_on_a_missing_one") else { return Ok(()) };
    server.store()?.check().await?;
    assert_eq!(server.store()?.kind(), "s3");

    let missing = S3BlobStore::new(S3Config { bucket: "attesta-no-such-bucket".into(), ..server.config() })?;
    let Err(BlobError::Backend(message)) = missing.check().await else {
        panic!("check() of a missing bucket must fail");
    };
    eprintln!("missing bucket, check: {message}");
    assert!(message.contains("attesta-no-such-bucket") && message.contains("404"), "{message}");
    assert!(message.contains("bucket does not exist"), "{message}");

    // A missing bucket is a configuration error, never a missing document.
    let got = missing.get(&BlobKey::parse("a")?).await;
    assert!(matches!(got, Err(BlobError::Backend(_))), "{:?}", got.err());
    Ok(())
}

#[tokio::test]
async fn unreadable_source_file_is_a_backend_error() -> TestResult {
    let Some(server) = server("unreadable_source_file_is_a_backend_error") else { return Ok(()) };
    let store = server.store()?;
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("nope");
    let Err(BlobError::Backend(message)) = store.put_file(&BlobKey::parse("x")?, &missing).await else {
        panic!("a missing source file must fail");
    };
    assert!(message.contains("nope"), "{message}");
    let Err(BlobError::Backend(message)) = store.put_file(&BlobKey::parse("x")?, dir.path()).await else {
        panic!("a directory is not a file");
    };
    assert!(message.contains("not a regular file"), "{message}");
    Ok(())
}

/// A `put_file` whose caller goes away mid-upload (a cancelled request) must not leave a
/// multipart upload behind: its parts would be stored, and billed, until someone aborts it.
#[tokio::test]
async fn cancelled_multipart_upload_is_aborted() -> TestResult {
    let Some(server) = server("cancelled_multipart_upload_is_aborted") else { return Ok(()) };
    let config = server.config();
    let prefix = format!("{}/", config.prefix);
    let store = S3BlobStore::new(config)?;
    let raw = server.raw_client();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("big");
    // Sparse: 256 MiB of zeros that cost no disk and take a few seconds to upload.
    std::fs::File::create(&path)?.set_len(256 * MIB as u64)?;
    let key = BlobKey::parse("cancel/big.bin")?;

    let pending = |raw: aws_sdk_s3::Client| {
        let (bucket, prefix) = (server.bucket.clone(), prefix.clone());
        async move {
            let listed = raw.list_multipart_uploads().bucket(bucket).prefix(prefix).send().await?;
            Ok::<usize, Box<dyn std::error::Error>>(listed.uploads().len())
        }
    };
    let upload_started = async {
        loop {
            if pending(raw.clone()).await? > 0 {
                return Ok::<(), Box<dyn std::error::Error>>(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        result = store.put_file(&key, &path) => panic!("the upload finished before it could be cancelled: {result:?}"),
        seen = upload_started => seen?,
    }
    // The put_file future is dropped here; its guard aborts the upload in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pending(raw.clone()).await? > 0 {
        assert!(std::time::Instant::now() < deadline, "the cancelled multipart upload was not aborted");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound(_))), "no object may appear");
    Ok(())
}
