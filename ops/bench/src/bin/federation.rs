//! federation-bench: replication from hub A to hub B over loopback with TLS (issue 6).
//!
//! Two real `renkei-hub` processes, each on its own PostgreSQL database, serving HTTPS
//! with certificates made by the `openssl` command (a throwaway CA). `--count`
//! indicators (TLP:GREEN) are shared on A first; then A adds B (push) and B adds A
//! (pull, with A's token and A's CA), and the bench times B's puller until B has
//! received every item (each verified against A's signature and re-rendered), sampling
//! B's memory all along. Then the steady state: one indicator shared on A every
//! `--lag-every-ms` for `--lag-seconds`, each timed until B shows it to a member, with
//! the hub's default 1-second poll.
//!
//! Goals: ≥ 30,000 objects/s, lag ≤ 2 s, B's memory flat while it runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use renkei_bench::harness::{
    clock_ticks, cpu_seconds, free_port, hub_binary, hub_cli, proc_status_kib, thousands, verdict, HubProcess,
    PgDatabase, TempDir,
};
use serde_json::{json, Value};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TARGET_PER_S: f64 = 30_000.0;
const TARGET_LAG_S: f64 = 2.0;
/// How much B's memory apart from its lookup index may grow while replicating and still
/// count as flat (allocator and page-buffer noise).
const FLAT_GROWTH_MIB: f64 = 64.0;

#[derive(Parser)]
#[command(name = "federation-bench", about = "Replication A -> B over TLS between two real hubs")]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    #[arg(long, default_value_t = 3)]
    in_flight: usize,
    #[arg(long, default_value_t = 20)]
    lag_seconds: u64,
    #[arg(long, default_value_t = 500)]
    lag_every_ms: u64,
    #[arg(long)]
    hub_bin: Option<PathBuf>,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_base: String,
    #[arg(long, default_value = "sslmode=disable")]
    pg_hub_params: String,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("openssl").current_dir(dir).args(args).output().context("running openssl")?;
    ensure!(out.status.success(), "openssl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// A throwaway CA and one certificate for 127.0.0.1 and localhost, both hubs serving it.
fn certificates(dir: &Path) -> Result<()> {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=renkei-bench-ca", "-days", "2"]);
    openssl(dir, &ca)?;
    std::fs::write(dir.join("leaf.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")?;
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend(["-keyout", "hub.key", "-out", "hub.csr", "-subj", "/CN=localhost"]);
    openssl(dir, &req)?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "hub.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "hub.crt",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ],
    )
}

struct Hub {
    process: HubProcess,
    url: String,
    data: PathBuf,
    base: String,
    /// The operator's metrics listener (plain HTTP on loopback).
    metrics: String,
}

fn start(hub_bin: &Path, url: &str, data: &Path, certs: &Path) -> Result<Hub> {
    std::fs::create_dir_all(data)?;
    let port = free_port()?;
    let metrics_port = free_port()?;
    let log = data.join("hub.log");
    let file = std::fs::File::create(&log)?;
    let child = Command::new(hub_bin)
        .arg("--database")
        .arg(url)
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--tls-cert")
        .arg(certs.join("hub.crt"))
        .arg("--tls-key")
        .arg(certs.join("hub.key"))
        .env("RENKEI_REQUESTS_PER_MINUTE", "100000000")
        .env("RENKEI_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))
        .env("RENKEI_LOG", std::env::var("RENKEI_BENCH_HUB_LOG").unwrap_or_else(|_| "warn".into()))
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("starting {}", hub_bin.display()))?;
    Ok(Hub {
        process: HubProcess { child, log },
        url: url.to_string(),
        data: data.to_path_buf(),
        base: format!("https://127.0.0.1:{port}"),
        metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
    })
}

fn client(ca: &Path) -> Result<reqwest::blocking::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca)?;
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert?)?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::blocking::Client::builder().use_preconfigured_tls(tls).timeout(Duration::from_secs(600)).build()?)
}

fn gql(http: &reqwest::blocking::Client, hub: &Hub, token: &str, query: &str, variables: Value) -> Result<Value> {
    let answer: Value = http
        .post(format!("{}/graphql", hub.base))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()?
        .json()?;
    if let Some(errors) = answer.get("errors") {
        bail!("GraphQL errors: {:.600}", errors.to_string());
    }
    Ok(answer["data"].clone())
}

/// The hub's own estimate of its lookup index's heap (`/metrics`, on the operator's
/// listener), in MiB.
fn index_mib(http: &reqwest::blocking::Client, hub: &Hub) -> Result<f64> {
    let text = http.get(&hub.metrics).send()?.text()?;
    let bytes: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("renkei_indicator_index_bytes "))
        .context("renkei_indicator_index_bytes missing from /metrics")?
        .trim()
        .parse()?;
    Ok(bytes / (1024.0 * 1024.0))
}

fn wait_ready(http: &reqwest::blocking::Client, hub: &mut Hub) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = hub.process.child.try_wait()? {
            bail!("a hub exited ({status}):\n{}", hub.process.log_tail());
        }
        if http.get(format!("{}/readyz", hub.base)).send().is_ok_and(|r| r.status().as_u16() == 200) {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "a hub was not ready after 120 s:\n{}", hub.process.log_tail());
        std::thread::sleep(Duration::from_millis(100));
    }
}

const SHARE: &str =
    "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id } }";

fn share(http: &reqwest::blocking::Client, hub: &Hub, token: &str, args: &Args) -> Result<Duration> {
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (0..args.in_flight.max(1))
            .map(|_| {
                let next = Arc::clone(&next);
                s.spawn(move || -> Result<()> {
                    loop {
                        let first = next.fetch_add(args.batch, Ordering::Relaxed);
                        if first >= args.count {
                            return Ok(());
                        }
                        let last = (first + args.batch).min(args.count);
                        let input: Vec<Value> = (first..last)
                            .map(|n| json!({"type": "IPV4", "value": format!("11.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255)}))
                            .collect();
                        let data = gql(http, hub, token, SHARE, json!({"i": input, "s": {"tlp": "GREEN"}}))?;
                        ensure!(data["shareIndicators"].as_array().map(Vec::len) == Some((last - first) as usize));
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| anyhow::anyhow!("a share worker panicked"))??;
        }
        Ok(())
    })?;
    Ok(t0.elapsed())
}

fn rss_mib(pid: u32) -> f64 {
    proc_status_kib(pid, "VmRSS:").map_or(f64::NAN, |k| k as f64 / 1024.0)
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.count < 1 << 24, "--count must stay below 16,777,216 (unique IPv4 values)");
    let hub_bin = hub_binary(args.hub_bin.as_deref())?;
    let tmp = TempDir::new()?;
    certificates(&tmp.0)?;
    let ca = tmp.0.join("ca.crt");
    let (a_dir, b_dir) = (tmp.0.join("a"), tmp.0.join("b"));
    std::fs::create_dir_all(&a_dir)?;
    std::fs::create_dir_all(&b_dir)?;
    let (pg_a, pg_b) = (PgDatabase::create(&args.pg_base)?, PgDatabase::create(&args.pg_base)?);
    let (url_a, url_b) =
        (format!("{}?{}", pg_a.url(), args.pg_hub_params), format!("{}?{}", pg_b.url(), args.pg_hub_params));
    let member = hub_cli(&hub_bin, &url_a, &a_dir, &["org", "add", "Power One", "--sector", "electricity"])?;
    let token_a = hub_cli(&hub_bin, &url_a, &a_dir, &["token", "issue", "--org", &member, "--role", "analyst"])?;
    let coord =
        hub_cli(&hub_bin, &url_b, &b_dir, &["org", "add", "Secretariat", "--sector", "national", "--coordinator"])?;
    let token_b = hub_cli(&hub_bin, &url_b, &b_dir, &["token", "issue", "--org", &coord, "--role", "coordinator"])?;
    let key_a = hub_cli(&hub_bin, &url_a, &a_dir, &["key", "show"])?;
    let key_b = hub_cli(&hub_bin, &url_b, &b_dir, &["key", "show"])?;

    let http = client(&ca)?;
    let mut a = start(&hub_bin, &url_a, &a_dir, &tmp.0)?;
    let mut b = start(&hub_bin, &url_b, &b_dir, &tmp.0)?;
    wait_ready(&http, &mut a)?;
    wait_ready(&http, &mut b)?;
    eprintln!("share: {} indicators on A", thousands(args.count as f64));
    let shared = share(&http, &a, &token_a, &args)?;
    eprintln!("  {:.1} s", shared.as_secs_f64());

    // The link: A lets B pull (push), B pulls from A with A's token over TLS.
    let ca_text = ca.to_string_lossy().to_string();
    let for_b = hub_cli(
        &hub_bin,
        &a.url,
        &a.data,
        &[
            "peer",
            "add",
            "B",
            "--url",
            &b.base,
            "--public-key",
            &key_b,
            "--max-tlp",
            "GREEN",
            "--community",
            "--direction",
            "push",
        ],
    )?;
    let token_file = tmp.0.join("b-pulls-a.token");
    std::fs::write(&token_file, for_b)?;
    let pid_b = b.process.pid();
    let ticks = clock_ticks();
    let cpu = |pid: u32| cpu_seconds(pid, ticks).unwrap_or(f64::NAN);
    let (cpu_a0, cpu_b0) = (cpu(a.process.pid()), cpu(pid_b));
    let rss_before = rss_mib(pid_b);
    let t0 = Instant::now();
    hub_cli(
        &hub_bin,
        &b.url,
        &b.data,
        &[
            "peer",
            "add",
            "A",
            "--url",
            &a.base,
            "--public-key",
            &key_a,
            "--max-tlp",
            "GREEN",
            "--community",
            "--direction",
            "pull",
            "--ca",
            &ca_text,
            "--token-file",
            &token_file.to_string_lossy(),
        ],
    )?;
    let status_q = "{ peers { name received lag refused { reason count } lastError } }";
    // (received, B's RSS, B's lookup index), MiB.
    let mut samples: Vec<(u64, f64, f64)> = Vec::new();
    let received = loop {
        let data = gql(&http, &b, &token_b, status_q, json!({}))?;
        let received = data["peers"][0]["received"].as_u64().unwrap_or(0);
        samples.push((received, rss_mib(pid_b), index_mib(&http, &b)?));
        if received >= args.count {
            break received;
        }
        if let Some(status) = b.process.child.try_wait()? {
            bail!("B exited ({status}):\n{}", b.process.log_tail());
        }
        ensure!(t0.elapsed() < Duration::from_secs(1800), "replication did not finish in 30 min: {data}");
        if samples.len().is_multiple_of(20) {
            eprintln!(
                "  B received {} ({}/s so far)",
                thousands(received as f64),
                thousands(received as f64 / t0.elapsed().as_secs_f64())
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let replicated = t0.elapsed();
    let (cpu_a, cpu_b) = (cpu(a.process.pid()) - cpu_a0, cpu(pid_b) - cpu_b0);
    let final_status = gql(&http, &b, &token_b, status_q, json!({}))?;
    let rate = received as f64 / replicated.as_secs_f64();
    let hwm_b = proc_status_kib(pid_b, "VmHWM:").map_or(f64::NAN, |k| k as f64 / 1024.0);
    let sample_at = |fraction: f64| samples.iter().find(|(n, _, _)| *n as f64 >= fraction * args.count as f64);
    let at = |fraction: f64| sample_at(fraction).map_or(f64::NAN, |(_, rss, _)| *rss);
    // B's memory apart from its lookup index (which by design holds every indicator, as
    // on any hub): flat if it grows by no more than FLAT_GROWTH_MIB after the first 10 %.
    let apart = |fraction: f64| sample_at(fraction).map_or(f64::NAN, |(_, rss, index)| rss - index);
    let apart_max = samples
        .iter()
        .filter(|(n, _, _)| *n as f64 >= 0.1 * args.count as f64)
        .map(|(_, rss, index)| rss - index)
        .fold(f64::NAN, f64::max);
    let index_end = samples.last().map_or(f64::NAN, |(_, _, index)| *index);

    // Steady state: one new indicator at a time, timed until a member of B would see it.
    eprintln!("lag: one indicator every {} ms for {} s", args.lag_every_ms, args.lag_seconds);
    let mut lags: Vec<f64> = Vec::new();
    let end = Instant::now() + Duration::from_secs(args.lag_seconds);
    let mut n = args.count;
    while Instant::now() < end {
        let value = format!("11.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255);
        n += 1;
        let t = Instant::now();
        let data =
            gql(&http, &a, &token_a, SHARE, json!({"i": [{"type": "IPV4", "value": value}], "s": {"tlp": "GREEN"}}))?;
        let id = data["shareIndicators"][0]["id"].as_str().context("id")?.to_string();
        loop {
            let seen = gql(&http, &b, &token_b, "query($id: ID!) { node(id: $id) { __typename } }", json!({"id": id}))?;
            if !seen["node"].is_null() {
                lags.push(t.elapsed().as_secs_f64());
                break;
            }
            ensure!(t.elapsed() < Duration::from_secs(60), "{id} never reached B");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(args.lag_every_ms));
    }
    lags.sort_by(f64::total_cmp);
    let pct =
        |q: f64| lags.get(((lags.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(f64::NAN);
    let rss_after = rss_mib(pid_b);

    println!();
    println!(
        "federation-bench  A -> B over TLS (rustls, ring), PostgreSQL each, {} indicators",
        thousands(args.count as f64)
    );
    println!("  share on A       {:.1} s", shared.as_secs_f64());
    println!(
        "  replicate        {} objects in {:.1} s = {} objects/s (target >= {}) {}",
        thousands(received as f64),
        replicated.as_secs_f64(),
        thousands(rate),
        thousands(TARGET_PER_S),
        verdict(rate >= TARGET_PER_S)
    );
    println!("                   CPU while replicating: A (serving) {cpu_a:.1} s, B (pulling, verifying, storing) {cpu_b:.1} s");
    println!("                   B's link status at the end: {}", final_status["peers"][0]);
    println!(
        "  lag              {} items: p50 {:.2} s, p99 {:.2} s, max {:.2} s (target p99 <= {:.0} s with the 1 s poll) {}",
        lags.len(),
        pct(0.5),
        pct(0.99),
        lags.last().copied().unwrap_or(f64::NAN),
        TARGET_LAG_S,
        verdict(pct(0.99) <= TARGET_LAG_S)
    );
    println!(
        "  B memory         RSS {:.0} MiB before, {:.0} / {:.0} / {:.0} / {:.0} MiB at 10 / 50 / 90 / 100 %, {:.0} MiB after the lag phase; peak {:.0} MiB",
        rss_before,
        at(0.1),
        at(0.5),
        at(0.9),
        at(1.0),
        rss_after,
        hwm_b
    );
    println!(
        "                   apart from its lookup index ({:.0} MiB at the end, /metrics): {:.0} / {:.0} / {:.0} / {:.0} MiB at 10 / 50 / 90 / 100 %, at most {:.0} MiB (target: grows <= {FLAT_GROWTH_MIB:.0} MiB after 10 %) {}",
        index_end,
        apart(0.1),
        apart(0.5),
        apart(0.9),
        apart(1.0),
        apart_max,
        verdict(apart_max - apart(0.1) <= FLAT_GROWTH_MIB)
    );
    if let Ok(keep) = std::env::var("RENKEI_BENCH_KEEP_LOG") {
        let _ = std::fs::copy(&b.process.log, keep);
    }
    drop((a, b, pg_a, pg_b));
    Ok(())
}
