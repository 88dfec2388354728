//! What uploads cost in memory, with figures printed (no assertions): the peak resident memory
//! of an in-process server (and this client) while
//!
//! 1. a 45 MB PDF goes through the REST API (`POST /api/v1/documents`, multipart, streamed from
//!    disk by the client): spool, the form read back from the spool, the PDF checks and the
//!    completion dry run, encryption, the store;
//! 2. 16 hostile 1 MB Markdown uploads arrive at once through the REST API with one key (within
//!    its burst): a million tiny paragraphs, a table too wide, text that would run to thousands
//!    of pages, deep lists. Each is refused; the figure is the whole process's peak.
//!
//! `cargo bench -p attesta-server --bench uploads` (Linux: reads `/proc/self/status`).

use attesta_server::Application;
use attesta_server::config::Config;
use std::io::Write as _;
use std::time::Instant;

const MIB: usize = 1024 * 1024;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

/// Resident memory now and at its peak since the last reset, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn run() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.server.port = 0;
    config.server.site_root = data.path().join("site");
    config.database.url = format!("sqlite://{}", data.path().join("attesta.db").display()).into();
    config.evidence.log_key_file = data.path().join("log.key");
    config.evidence.log_name = "bench.attesta/log".to_owned();
    config.storage.path = data.path().join("blobs");
    config.storage.spool_dir = data.path().join("spool");
    config.storage.master_key_file = data.path().join("master.key");
    config.seal.dir = data.path().join("seal");
    config.log.filter = "error".to_owned();
    let app = Application::build(config).await.expect("server");
    let base = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    let ports = attesta_server::Ports::system();
    let instance = attesta_server::evidence::InstanceLog::new(app.evidence(), ports.clone());
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let client = reqwest::Client::builder()
        .default_headers({
            let mut h = reqwest::header::HeaderMap::new();
            h.insert("origin", base.parse().expect("origin"));
            h
        })
        .cookie_store(true)
        .build()
        .expect("client");
    let r = client
        .post(format!("{base}/api/setup"))
        .form(&[
            ("name", "Bench"),
            ("email", "bench@example.com"),
            ("password", "a long bench password"),
            ("password_confirm", "a long bench password"),
        ])
        .send()
        .await
        .expect("setup");
    assert!(r.status().is_success() || r.status().is_redirection());
    let owner: i64 = sqlx::query_scalar("SELECT id FROM users").fetch_one(&pool).await.expect("owner");
    let scopes = attesta_core::api_keys::Scopes::parse("send").expect("scopes");
    let by = attesta_core::evidence::Acting::operator();
    let (key, _) = attesta_server::api::keys::create(&instance, &*ports.entropy, &by, owner, "bench", &scopes, 1)
        .await
        .expect("key");
    let key = key.expose();

    large_pdf_through_the_api(&base, &key, data.path()).await;
    hostile_markdown_in_parallel(&base, &key).await;
}

/// A valid two-page PDF of about `size` bytes, most of it an uncompressed image.
fn large_pdf(path: &std::path::Path, size: usize) {
    let side = ((size as f64 / 3.0).sqrt() as usize).max(1);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut written = 0usize;
    let mut offsets = Vec::new();
    let mut put = |file: &mut std::io::BufWriter<std::fs::File>, bytes: &[u8]| {
        file.write_all(bytes).expect("write");
        written += bytes.len();
        written
    };
    let mut at = put(&mut file, b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
    let draw = "q 400 0 0 400 100 300 cm /Im1 Do Q";
    let mut x: u32 = 0x9E37_79B9;
    let mut row = vec![0u8; side * 3];
    for (number, body) in [
        (1, "<< /Type /Catalog /Pages 2 0 R >>".to_owned()),
        (2, "<< /Type /Pages /Kids [5 0 R 6 0 R] /Count 2 >>".to_owned()),
        (3, String::new()),
        (4, format!("<< /Length {} >>\nstream\n{draw}\nendstream", draw.len())),
        (5, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im1 3 0 R >> >> /Contents 4 0 R >>".to_owned()),
        (6, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_owned()),
    ] {
        offsets.push(at);
        if number == 3 {
            put(
                &mut file,
                format!(
                    "3 0 obj\n<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length {} >>\nstream\n",
                    side * side * 3
                )
                .as_bytes(),
            );
            for _ in 0..side {
                for byte in &mut row {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    *byte = x as u8;
                }
                put(&mut file, &row);
            }
            at = put(&mut file, b"\nendstream\nendobj\n");
        } else {
            at = put(&mut file, format!("{number} 0 obj\n{body}\nendobj\n").as_bytes());
        }
    }
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for o in &offsets {
        tail.push_str(&format!("{o:010} 00000 n \n"));
    }
    tail.push_str(&format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{at}\n%%EOF\n", offsets.len() + 1));
    put(&mut file, tail.as_bytes());
    file.flush().expect("flush");
}

async fn large_pdf_through_the_api(base: &str, key: &str, dir: &std::path::Path) {
    let path = dir.join("large.pdf");
    large_pdf(&path, 45 * MIB);
    let size = std::fs::metadata(&path).expect("size").len();
    let client = reqwest::Client::new();
    reset_peak();
    let (before, _) = memory();
    let started = Instant::now();
    let file = tokio::fs::File::open(&path).await.expect("open");
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024));
    let part = reqwest::multipart::Part::stream_with_length(body, size)
        .file_name("large.pdf")
        .mime_str("application/pdf")
        .expect("mime");
    let form = reqwest::multipart::Form::new().text("document", r#"{"title":"Large"}"#).part("file", part);
    let r =
        client.post(format!("{base}/api/v1/documents")).bearer_auth(key).multipart(form).send().await.expect("post");
    let status = r.status();
    let text = r.text().await.expect("body");
    let elapsed = started.elapsed();
    let (_, peak) = memory();
    assert_eq!(status, 201, "{text}");
    println!(
        "REST API upload of a {:.1} MB PDF: {:.2} s; resident memory {before:.0} MiB before, peak {peak:.0} MiB (+{:.0} MiB)",
        size as f64 / MIB as f64,
        elapsed.as_secs_f64(),
        peak - before
    );
}

/// Four kinds of hostile Markdown, about 1 MB each.
fn hostile(kind: usize) -> String {
    match kind % 4 {
        // Half a million one-letter paragraphs.
        0 => "a\n\n".repeat(MIB / 3),
        // A table 5,000 columns wide, many rows.
        1 => {
            let header = format!("{}|\n{}|\n", "|h".repeat(5000), "|-".repeat(5000));
            let row = format!("{}|\n", "|x".repeat(5000));
            header + &row.repeat(MIB / row.len())
        }
        // Plain prose running to far more pages than allowed.
        2 => "The party of the first part agrees with the party of the second part. ".repeat(MIB / 72),
        // Lists nested as deep as Markdown allows, over and over.
        _ => {
            let mut block = String::new();
            for depth in 0..40 {
                block.push_str(&"  ".repeat(depth));
                block.push_str("- item\n");
            }
            block.repeat(MIB / block.len())
        }
    }
}

async fn hostile_markdown_in_parallel(base: &str, key: &str) {
    let client = reqwest::Client::new();
    let bodies: Vec<String> = (0..16).map(hostile).collect();
    reset_peak();
    let (before, _) = memory();
    let started = Instant::now();
    let requests = bodies.into_iter().map(|markdown| {
        let client = client.clone();
        let url = format!("{base}/api/v1/documents");
        let key = key.to_owned();
        async move {
            let part = reqwest::multipart::Part::bytes(markdown.into_bytes()).mime_str("text/markdown").expect("mime");
            let form = reqwest::multipart::Form::new().text("document", "{}").part("markdown", part);
            let r = client.post(url).bearer_auth(key).multipart(form).send().await.expect("post");
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            (status, body["error"]["code"].as_str().unwrap_or("").to_owned())
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let elapsed = started.elapsed();
    let (_, peak) = memory();
    let mut counts = std::collections::BTreeMap::new();
    for answer in &answers {
        *counts.entry(answer.clone()).or_insert(0) += 1;
    }
    println!(
        "16 hostile 1 MB Markdown uploads at once: answered in {:.2} s {counts:?}; resident memory {before:.0} MiB before, peak {peak:.0} MiB",
        elapsed.as_secs_f64()
    );
}
