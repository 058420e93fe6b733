//! taxii-bench: the TAXII 2.1 server's speed goals (issue 18), on a real `renkei-hub`
//! process over plain HTTP on loopback:
//!
//! > TAXII GET objects, `limit=1000`, on a collection of 1,000,000 objects: every page,
//! > the first and the last, in ≤ 50 ms p99 (flat as the collection grows); a whole
//! > collection read through `next` at ≥ 100,000 objects/s; STIX bundle import
//! > ≥ 20,000 objects/s.
//!
//! The collection is filled through the TAXII API itself: `--count` indicators POSTed
//! as envelopes of `--batch` STIX objects (each a real import: validation, allowlists,
//! moderation, signing, one transaction). After every `--checkpoint` objects the first
//! and the last page are timed (`--samples` each), so the figures show how page time
//! moves as the collection grows. Then the whole collection is read through `next`
//! (every page timed, every object counted once), and the first, a middle and the last
//! page are timed again with their cursors.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{ensure, Context as _, Result};
use clap::Parser;
use futures::StreamExt as _;
use renkei_bench::harness::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const TARGET_PAGE_P99_MS: f64 = 50.0;
const TARGET_WALK_PER_S: f64 = 100_000.0;
const TARGET_IMPORT_PER_S: f64 = 20_000.0;
const TAXII: &str = "application/taxii+json;version=2.1";
/// The default "shared items" collection.
const COLLECTION: &str = "4f1d1c9e-6a4b-4c53-9d0e-8b2f7a6c3e01";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";

#[derive(Parser)]
#[command(name = "taxii-bench", about = "TAXII 2.1 collection paging and STIX import on a real hub")]
struct Args {
    #[arg(long, value_enum, default_value = "postgres")]
    backend: Backend,
    #[arg(long, default_value_t = 1_000_000)]
    count: usize,
    /// STIX objects per POST.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Time the first and last page after every this many objects.
    #[arg(long, default_value_t = 250_000)]
    checkpoint: usize,
    /// POSTs in flight at once while filling (a client that sends the next envelope
    /// while the hub stores the last one).
    #[arg(long, default_value_t = 2)]
    in_flight: usize,
    /// Requests per timed page position.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    #[arg(long)]
    hub_bin: Option<std::path::PathBuf>,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_base: String,
    #[arg(long, default_value = "sslmode=disable")]
    pg_hub_params: String,
    /// Times the whole walk this many times (the first right after the load, while
    /// PostgreSQL's autovacuum works through it; later ones as a collection is read
    /// when nothing is being loaded).
    #[arg(long, default_value_t = 2)]
    walks: usize,
    /// Leave the hub running at the end (prints its URL and token) for other tools
    /// (e.g. `ops/bench/medallion.sh --renkei-discovery`); stops on Enter.
    #[arg(long)]
    keep: bool,
}

fn indicator(n: usize, now: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{}", uuid::Uuid::new_v4()),
        "created": now,
        "modified": now,
        "name": format!("h{n}.taxii.bench.example"),
        "description": "taxii-bench",
        "indicator_types": ["malicious-activity"],
        "pattern": format!("[domain-name:value = 'h{n}.taxii.bench.example']"),
        "pattern_type": "stix",
        "valid_from": now,
        "object_marking_refs": [GREEN],
    })
}

struct Page {
    took: Duration,
    more: bool,
    next: Option<String>,
}

/// One answer of GET objects, as it arrived.
struct Fetched {
    took: Duration,
    bytes: bytes::Bytes,
}

async fn fetch_page(
    http: &reqwest::Client,
    objects: &str,
    token: &str,
    limit: usize,
    next: Option<&str>,
) -> Result<Fetched> {
    let mut url = format!("{objects}?limit={limit}");
    if let Some(next) = next {
        url.push_str("&next=");
        url.push_str(next);
    }
    let started = Instant::now();
    let resp = http.get(&url).bearer_auth(token).header("Accept", TAXII).send().await?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    let took = started.elapsed();
    ensure!(
        status.as_u16() == 200,
        "GET objects: HTTP {status}: {}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
    );
    Ok(Fetched { took, bytes })
}

/// The whole envelope: `more`, `next` and every object's id.
fn read_envelope(bytes: &[u8]) -> Result<(bool, Option<String>, Vec<String>)> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(default)]
        more: bool,
        next: Option<String>,
        #[serde(default)]
        objects: Vec<IdOnly>,
    }
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: String,
    }
    let env: Envelope = serde_json::from_slice(bytes).context("an envelope")?;
    Ok((env.more, env.next, env.objects.into_iter().map(|o| o.id).collect()))
}

/// `more` and `next` from the members before `objects` (where the hub writes them), or
/// `None` when `objects` comes first (the whole envelope must be read then).
fn read_head(bytes: &[u8]) -> Option<(bool, Option<String>)> {
    use serde::de::{Deserializer as _, Error as _, IgnoredAny, MapAccess, Visitor};
    const STOP: &str = "objects follow";
    #[derive(Default)]
    struct Head {
        more: Option<bool>,
        next: Option<String>,
    }
    struct HeadVisitor<'h>(&'h mut Head);
    impl<'de> Visitor<'de> for HeadVisitor<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a TAXII envelope")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "more" => self.0.more = Some(map.next_value()?),
                    "next" => self.0.next = map.next_value()?,
                    "objects" => return Err(A::Error::custom(STOP)),
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    }
    let mut head = Head::default();
    let outcome = serde_json::Deserializer::from_slice(bytes).deserialize_map(HeadVisitor(&mut head));
    match outcome {
        Err(e) if e.to_string().starts_with(STOP) => {}
        Ok(()) => {}
        Err(_) => return None,
    }
    // No `more` before the objects: the whole envelope must be read to know it.
    Some((head.more?, head.next))
}

async fn get_page(
    http: &reqwest::Client,
    objects: &str,
    token: &str,
    limit: usize,
    next: Option<&str>,
) -> Result<Page> {
    let fetched = fetch_page(http, objects, token, limit, next).await?;
    let (more, next, _ids) = read_envelope(&fetched.bytes)?;
    Ok(Page { took: fetched.took, more, next })
}

async fn time_page(
    http: &reqwest::Client,
    objects: &str,
    token: &str,
    limit: usize,
    next: Option<&str>,
    samples: usize,
) -> Result<Latencies> {
    let mut took = Vec::with_capacity(samples);
    for _ in 0..samples {
        took.push(get_page(http, objects, token, limit, next).await?.took);
    }
    Ok(Latencies::new(took))
}

/// The cursor of the last page of the collection: walked with large pages (not timed).
async fn last_cursor(http: &reqwest::Client, objects: &str, token: &str, limit: usize) -> Result<Option<String>> {
    let mut next: Option<String> = None;
    let mut previous: Option<String> = None;
    loop {
        let page = get_page(http, objects, token, limit, next.as_deref()).await?;
        if !page.more {
            return Ok(if next.is_some() { next } else { previous });
        }
        previous = next;
        next = page.next;
    }
}

fn line(name: &str, l: &Latencies) -> String {
    format!("{name}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms", ms(l.pct(0.5)), ms(l.pct(0.99)), ms(l.max()))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let hub_bin = hub_binary(args.hub_bin.as_deref())?;
    let tmp = TempDir::new()?;
    let (_pg, url) = database(args.backend, &args.pg_base, &args.pg_hub_params, &tmp)?;
    let org = hub_cli(&hub_bin, &url, &tmp.0, &["org", "add", "--sector", "energy", "Bench Org"])?;
    let token = hub_cli(&hub_bin, &url, &tmp.0, &["token", "issue", "--org", org.trim(), "--role", "analyst"])?;
    let token = token.trim().to_string();
    let mut launched = launch(&hub_bin, &url, &tmp.0)?;
    let http = http_client()?;
    wait_ready(&mut launched.hub, &http, &launched.base).await?;
    let collection = format!("{}/taxii2/hub/collections/{COLLECTION}", launched.base);
    let objects = format!("{collection}/objects/");
    println!(
        "taxii-bench: {} objects on {}, POSTs of {}, pages of {}",
        thousands(args.count as f64),
        args.backend.name(),
        args.batch,
        args.limit
    );

    // Fill the collection through TAXII POST, timing the import, with checkpoints.
    let mut posted = 0usize;
    let mut import_time = Duration::ZERO;
    let mut import_cpu = 0.0;
    let mut growth: Vec<(usize, Latencies, Latencies)> = Vec::new();
    let mut next_checkpoint = args.checkpoint.min(args.count);
    while posted < args.count {
        // The envelopes up to the next checkpoint, written before the clock starts.
        let segment_end = next_checkpoint.min(args.count);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut bodies = Vec::new();
        for start in (posted..segment_end).step_by(args.batch) {
            let n = args.batch.min(segment_end - start);
            let envelope = json!({"objects": (start..start + n).map(|i| indicator(i, &now)).collect::<Vec<_>>()});
            bodies.push((n, serde_json::to_vec(&envelope)?));
        }
        let cpu_before = launched.proc.cpu();
        let started = Instant::now();
        let (client, url, bearer) = (&http, &objects, &token);
        let results: Vec<Result<()>> = futures::stream::iter(bodies)
            .map(|(n, body)| async move {
                let resp = client
                    .post(url)
                    .bearer_auth(bearer)
                    .header("Accept", TAXII)
                    .header("Content-Type", TAXII)
                    .body(body)
                    .send()
                    .await?;
                let status = resp.status();
                let answer: Value = resp.json().await?;
                ensure!(status.as_u16() == 202, "POST: HTTP {status}: {answer}");
                ensure!(
                    answer["success_count"] == json!(n) && answer["failure_count"] == json!(0),
                    "POST: not every object stored: {}",
                    answer.to_string().chars().take(800).collect::<String>()
                );
                Ok(())
            })
            .buffer_unordered(args.in_flight)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>>>()?;
        import_time += started.elapsed();
        import_cpu += launched.proc.cpu() - cpu_before;
        posted = segment_end;
        if posted >= next_checkpoint {
            let first = time_page(&http, &objects, &token, args.limit, None, args.samples).await?;
            let last_next = last_cursor(&http, &objects, &token, 5000).await?;
            let last = time_page(&http, &objects, &token, args.limit, last_next.as_deref(), args.samples).await?;
            println!(
                "  {:>9} objects: {}; {}",
                thousands(posted as f64),
                line("first page", &first),
                line("last page", &last)
            );
            growth.push((posted, first, last));
            next_checkpoint += args.checkpoint;
        }
    }
    let import_rate = posted as f64 / import_time.as_secs_f64();
    println!(
        "import (TAXII POST, {} objects in envelopes of {}, {} in flight): {:.1} s, {} objects/s (hub CPU {:.1} s) {}",
        thousands(posted as f64),
        args.batch,
        args.in_flight,
        import_time.as_secs_f64(),
        thousands(import_rate),
        import_cpu,
        verdict(import_rate >= TARGET_IMPORT_PER_S)
    );

    // The whole collection through `next`, `--walks` times.
    let mut all_pages = Vec::new();
    let mut cursors: Vec<Option<String>> = vec![None];
    for walk_no in 1..=args.walks.max(1) {
        let cpu_before = launched.proc.cpu();
        let started = Instant::now();
        let mut seen: HashSet<String> = HashSet::with_capacity(args.count);
        let mut page_times = Vec::new();
        cursors = vec![None];
        let mut next: Option<String> = None;
        // A consumer that ingests while it fetches: page N+1 is asked for as soon as
        // page N's `next` is read, and page N's objects are read (every id, counted
        // once) meanwhile, on another thread.
        let mut reading: Option<tokio::task::JoinHandle<Result<Vec<String>>>> = None;
        let mut count = |ids: Vec<String>| -> Result<()> {
            for id in ids {
                ensure!(seen.insert(id.clone()), "{id} served twice");
            }
            Ok(())
        };
        loop {
            let fetched = fetch_page(&http, &objects, &token, args.limit, next.as_deref()).await?;
            page_times.push(fetched.took);
            if let Some(previous) = reading.take() {
                count(previous.await??)?;
            }
            let (more, page_next) = match read_head(&fetched.bytes) {
                Some(head) => {
                    let bytes = fetched.bytes;
                    reading = Some(tokio::task::spawn_blocking(move || Ok(read_envelope(&bytes)?.2)));
                    head
                }
                None => {
                    let (more, page_next, ids) = read_envelope(&fetched.bytes)?;
                    count(ids)?;
                    (more, page_next)
                }
            };
            if !more {
                break;
            }
            ensure!(page_next.is_some(), "more without next");
            next = page_next;
            cursors.push(next.clone());
        }
        if let Some(previous) = reading.take() {
            count(previous.await??)?;
        }
        let walk = started.elapsed();
        let walk_cpu = launched.proc.cpu() - cpu_before;
        ensure!(seen.len() == args.count, "the walk read {} objects, not {}", seen.len(), args.count);
        let walk_rate = seen.len() as f64 / walk.as_secs_f64();
        let pages = Latencies::new(page_times.clone());
        println!(
            "walk {walk_no} through next ({} pages): {:.1} s, {} objects/s (hub CPU {:.1} s) {}; every page: {}",
            cursors.len(),
            walk.as_secs_f64(),
            thousands(walk_rate),
            walk_cpu,
            verdict(walk_rate >= TARGET_WALK_PER_S),
            line("", &pages).trim_start_matches(": ")
        );
        all_pages.extend(page_times);
    }
    let pages = Latencies::new(all_pages);

    // First, middle and last page again, with their cursors.
    let mut worst = 0.0f64;
    for (name, cursor) in
        [("first", None), ("middle", cursors[cursors.len() / 2].clone()), ("last", cursors.last().cloned().flatten())]
    {
        let l = time_page(&http, &objects, &token, args.limit, cursor.as_deref(), args.samples).await?;
        worst = worst.max(ms(l.pct(0.99)));
        println!("  {name} page x{}: {}", args.samples, line("", &l).trim_start_matches(": "));
    }
    for (_, first, last) in &growth {
        worst = worst.max(ms(first.pct(0.99))).max(ms(last.pct(0.99)));
    }
    worst = worst.max(ms(pages.pct(0.99)));
    println!("page p99, worst of every position and size: {worst:.1} ms {}", verdict(worst <= TARGET_PAGE_P99_MS));
    println!("hub memory: {:.0} MiB now, {:.0} MiB peak", launched.proc.rss_mib(), launched.proc.hwm_mib());
    if args.keep {
        println!("hub running: {}/taxii2/ token {token}  (Enter stops it)", launched.base);
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
    }
    Ok(())
}
