//! Documents under load, with figures printed (no assertions on time):
//!
//! 1. Uploading and downloading a 100 MB PDF through the real HTTP endpoints: throughput, and how
//!    far the process's peak resident memory rises above where it started (it should stay flat:
//!    the file streams through spool, parse-by-map, encryption and the store).
//! 2. The documents list over 10,000 documents: median and p95 latency of the server function
//!    the list page calls, for the default view, a search, a status filter, a title sort and a
//!    deep page.
//!
//! `cargo bench -p attesta-server --bench documents` (add `-- --quick` for fewer rounds).

use attesta_server::Application;
use attesta_server::config::Config;
use futures_util::StreamExt as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

const FILE_MB: usize = 100;
const DOCUMENTS: usize = 10_000;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(quick));
}

async fn run(quick: bool) {
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
    config.documents.max_upload_bytes = 200 * 1024 * 1024;
    config.log.filter = "error".to_owned();
    let app = Application::build(config).await.expect("server");
    let base = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers({
            let mut h = reqwest::header::HeaderMap::new();
            h.insert("origin", base.parse().expect("origin"));
            h
        })
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

    large_file(&client, &base, data.path()).await;
    list(&client, &base, &pool, if quick { 10 } else { 40 }).await;
}

/// A valid one-page PDF of about `mb` megabytes: the page's content stream is padded with a
/// comment, the way scans are mostly image data.
fn big_pdf(path: &std::path::Path, mb: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let text = b"BT /F1 24 Tf 72 720 Td (A large document) Tj ET\n";
    let padding = mb * 1024 * 1024;
    let length = text.len() + padding + 1;
    let mut offsets = Vec::new();
    let mut written = 0usize;
    let put = |file: &mut std::io::BufWriter<std::fs::File>, bytes: &[u8], written: &mut usize| {
        file.write_all(bytes).expect("write");
        *written += bytes.len();
    };
    put(&mut file, b"%PDF-1.7\n", &mut written);
    for body in [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            .to_owned(),
    ] {
        offsets.push(written);
        put(&mut file, format!("{} 0 obj\n{body}\nendobj\n", offsets.len()).as_bytes(), &mut written);
    }
    offsets.push(written);
    put(&mut file, format!("4 0 obj\n<< /Length {length} >>\nstream\n").as_bytes(), &mut written);
    put(&mut file, text, &mut written);
    put(&mut file, b"%", &mut written);
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..mb {
        put(&mut file, &chunk, &mut written);
    }
    put(&mut file, b"\nendstream\nendobj\n", &mut written);
    offsets.push(written);
    put(&mut file, b"5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n", &mut written);
    let xref = written;
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for o in &offsets {
        tail.push_str(&format!("{o:010} 00000 n \n"));
    }
    tail.push_str(&format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", offsets.len() + 1));
    put(&mut file, tail.as_bytes(), &mut written);
    file.flush().expect("flush");
}

/// Resident memory now and at its peak, in MiB (Linux).
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

/// Resets the peak so the next reading covers only what follows.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn large_file(client: &reqwest::Client, base: &str, dir: &std::path::Path) {
    let path = dir.join("big.pdf");
    big_pdf(&path, FILE_MB);
    let size = std::fs::metadata(&path).expect("size").len();
    let mb = size as f64 / 1_048_576.0;

    reset_peak();
    let (before, _) = memory();
    let started = Instant::now();
    let file = tokio::fs::File::open(&path).await.expect("open");
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024));
    let r = client
        .post(format!("{base}/api/documents?filename=big.pdf"))
        .header("content-type", "application/pdf")
        .header("content-length", size)
        .body(body)
        .send()
        .await
        .expect("upload");
    let upload_time = started.elapsed();
    let status = r.status();
    let json: serde_json::Value = r.json().await.expect("json");
    assert_eq!(status, 201, "{json}");
    let (_, peak) = memory();
    println!(
        "upload {mb:.0} MB: {:.2} s ({:.0} MB/s); resident memory {before:.0} MiB before, peak {peak:.0} MiB (+{:.0} MiB)",
        upload_time.as_secs_f64(),
        mb / upload_time.as_secs_f64(),
        peak - before
    );

    let id = json["id"].as_str().expect("id");
    reset_peak();
    let (before, _) = memory();
    let started = Instant::now();
    let r = client.get(format!("{base}/documents/{id}/file")).send().await.expect("download");
    let mut stream = r.bytes_stream();
    let mut received = 0u64;
    while let Some(chunk) = stream.next().await {
        received += chunk.expect("chunk").len() as u64;
    }
    let download_time = started.elapsed();
    let (_, peak) = memory();
    assert_eq!(received, size);
    println!(
        "download {mb:.0} MB: {:.2} s ({:.0} MB/s); resident memory {before:.0} MiB before, peak {peak:.0} MiB (+{:.0} MiB)",
        download_time.as_secs_f64(),
        mb / download_time.as_secs_f64(),
        peak - before
    );
}

async fn list(client: &reqwest::Client, base: &str, pool: &sqlx::AnyPool, rounds: usize) {
    let words = ["Master", "Services", "Agreement", "Lease", "Supply", "License", "Consulting", "Distribution", "NDA"];
    let statuses = ["draft", "sent", "completed", "declined", "voided", "expired"];
    let started = Instant::now();
    let mut tx = pool.begin().await.expect("tx");
    for i in 0..DOCUMENTS {
        let title = format!("{} {} {} #{i}", words[i % 9], words[(i / 9) % 9], words[(i / 81) % 9]);
        sqlx::query(
            "INSERT INTO documents (id, owner_id, title, title_folded, status, source, page_count, size, sha256, \
             created_at, updated_at) VALUES ($1, 1, $2, lower($2), $3, 'pdf', 12, 123456, zeroblob(32), $4, $4)",
        )
        .bind(format!("seed{i:05}"))
        .bind(&title)
        .bind(statuses[i % statuses.len()])
        .bind(i64::try_from(i).unwrap_or(0) * 1_000_000)
        .execute(&mut *tx)
        .await
        .expect("seed");
    }
    tx.commit().await.expect("commit");
    println!("seeded {DOCUMENTS} documents in {:.2} s", started.elapsed().as_secs_f64());

    for (name, query) in [
        ("default (newest first, page 1)", ""),
        ("search \"lease supply\"", "search=lease%20supply"),
        ("status = completed", "status=completed"),
        ("title A-Z", "sort=title"),
        ("page 300 (offset 7475)", "page=300"),
        ("search + status + title sort", "search=agreement&status=sent&sort=title"),
    ] {
        let mut times = Vec::with_capacity(rounds);
        let mut total = 0;
        for _ in 0..rounds {
            let started = Instant::now();
            let r = client.get(format!("{base}/api/documents/list?{query}")).send().await.expect("list");
            let json: serde_json::Value = r.json().await.expect("json");
            times.push(started.elapsed());
            total = json["total"].as_u64().unwrap_or(0);
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "list {name:<32} {total:>5} matches: median {:.2} ms, p95 {:.2} ms",
            ms(times[times.len() / 2]),
            ms(times[(times.len() * 95 / 100).min(times.len() - 1)])
        );
    }
}
