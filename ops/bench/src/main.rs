//! renkei-bench: starts a real `renkei-hub` process on a fresh PostgreSQL database or
//! SQLite file, then measures, over plain HTTP on loopback:
//!
//! 1. share: `shareIndicators` in batches (indicators/s, batch latency);
//! 2. feed: the whole `changes` feed, page by page (versions/s, page latency);
//! 3. lookup: `lookup` of N values from many concurrent clients (latency p50/p99/max);
//!
//! and the hub's peak memory (VmHWM), CPU time and database size. See ops/bench/README.md.

// The load generator should take as little of the two shared cores as it can; glibc
// malloc was a third of its time in the lookup phase (perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{bail, ensure, Context as _, Result};
use clap::Parser;
use diesel::{Connection as _, RunQueryDsl as _};
use renkei_bench::harness::*;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The targets, for 1,000,000 stored indicators on a 2-core machine.
const TARGET_SHARE_PER_S: f64 = 20_000.0;
const TARGET_FEED_PER_S: f64 = 100_000.0;
const TARGET_LOOKUP_P99_MS: f64 = 10.0;

/// How many unknown values the lookup phase draws from.
const UNKNOWN_POOL: u64 = 10_000;
/// How many stored values the lookup phase draws from.
const SAMPLE_POOL: u64 = 10_000;

#[derive(Parser, Debug)]
#[command(name = "renkei-bench", about = "Share / feed / lookup benchmark of a real renkei-hub on loopback")]
struct Args {
    /// Database backend of the hub under test.
    #[arg(long, value_enum)]
    backend: Backend,
    /// Indicators to share (and then read back from the feed).
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Indicators per shareIndicators call (the hub accepts at most 1,000).
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    /// shareIndicators calls in flight at once.
    #[arg(long, default_value_t = 3)]
    in_flight: usize,
    /// Items per `changes` page.
    #[arg(long, default_value_t = 10_000)]
    feed_page: u64,
    /// Concurrent lookup clients (each its own connection and request loop).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Values per lookup request.
    #[arg(long, default_value_t = 100)]
    lookup_values: usize,
    /// Of those, how many are stored values (the rest are unknown).
    #[arg(long, default_value_t = 50)]
    lookup_known: usize,
    /// Requests each client sends first, to open its connection and let the hub warm
    /// up; their latencies are reported apart, not in the percentiles.
    #[arg(long, default_value_t = 5)]
    lookup_warmup: usize,
    /// How long the measured part of the lookup phase runs (every client keeps
    /// sending until then; a short phase makes p99 a handful of requests).
    #[arg(long, default_value_t = 10)]
    lookup_seconds: u64,
    /// Stop each client after this many measured requests, even before --lookup-seconds.
    #[arg(long)]
    lookup_requests: Option<usize>,
    /// Trust level of the sharing organisation: `standard` publishes directly, `new` is
    /// queued for moderation by the default policy (the moderation path's cost).
    #[arg(long, default_value = "standard")]
    trust: String,
    /// Run ANALYZE on the hub's database after the share phase, as PostgreSQL's
    /// autovacuum (or a scheduled job on SQLite) would in service. Off by default: the
    /// hub is measured as it leaves its database. The report says which was done.
    #[arg(long)]
    analyze: bool,
    /// The hub binary (default: $CARGO_TARGET_DIR/release/renkei-hub, else target/release/renkei-hub).
    #[arg(long)]
    hub_bin: Option<PathBuf>,
    /// After the feed phase, also sync the whole feed into an empty member register with
    /// the client binary (`renkei init` + `renkei sync`, a process of its own): items/s
    /// end to end and the client's peak memory (goal: ≥ 50,000/s, ≤ 200 MiB).
    #[arg(long)]
    client_sync: bool,
    /// The client binary (default: beside the hub binary).
    #[arg(long)]
    client_bin: Option<PathBuf>,
    /// PostgreSQL server; the bench creates (and drops) its own database there.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_base: String,
    /// Connection parameters of the hub's own database URL. PostgreSQL on this machine
    /// offers TLS and libpq prefers it, which costs both sides CPU on a loopback link
    /// that needs none; pass "" to measure with whatever libpq negotiates.
    #[arg(long, default_value = "sslmode=disable")]
    pg_hub_params: String,
}

/// Runs ANALYZE on the hub's database (see `--analyze`).
fn analyze(url: &str) -> Result<()> {
    match url.strip_prefix("sqlite://") {
        Some(path) => {
            let mut conn = diesel::SqliteConnection::establish(path)?;
            diesel::sql_query("PRAGMA busy_timeout = 30000").execute(&mut conn)?;
            diesel::sql_query("ANALYZE").execute(&mut conn)?;
        }
        None => {
            let mut conn = diesel::PgConnection::establish(url)?;
            diesel::sql_query("ANALYZE").execute(&mut conn)?;
        }
    }
    Ok(())
}

/// Whether the query planner has statistics on `objects` (lookups depend on them), and
/// on PostgreSQL whether autovacuum, which gathers them, is on.
fn planner_stats(url: &str) -> Result<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let (has, note) = match url.strip_prefix("sqlite://") {
        Some(path) => {
            let mut conn = diesel::SqliteConnection::establish(path)?;
            let exists: Row = diesel::sql_query(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1') \
                 THEN 'yes' ELSE 'no' END AS v",
            )
            .get_result(&mut conn)?;
            let row = if exists.v == "yes" {
                diesel::sql_query(
                    "SELECT CASE WHEN COUNT(*) > 0 THEN 'yes' ELSE 'no' END AS v FROM sqlite_stat1 WHERE tbl = 'objects'",
                )
                .get_result(&mut conn)?
            } else {
                exists
            };
            (row.v, "sqlite_stat1".to_string())
        }
        None => {
            let mut conn = diesel::PgConnection::establish(url)?;
            let row: Row = diesel::sql_query(
                "SELECT CASE WHEN last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL THEN 'yes' ELSE 'no' END \
                 AS v FROM pg_stat_user_tables WHERE relname = 'objects'",
            )
            .get_result(&mut conn)?;
            let autovacuum: Row = diesel::sql_query("SELECT setting AS v FROM pg_settings WHERE name = 'autovacuum'")
                .get_result(&mut conn)?;
            (row.v, format!("autovacuum {}", autovacuum.v))
        }
    };
    Ok(format!("{has} ({note})"))
}

// ---------------------------------------------------------------------------
// Data.

/// The n-th indicator: a quarter SHA-256 hashes, a quarter domains, half IPv4s.
/// Unique for n < 2^24.
fn indicator(n: u64) -> (&'static str, String) {
    match n % 4 {
        0 => {
            let digest = ring::digest::digest(&ring::digest::SHA256, format!("renkei-bench-{n}").as_bytes());
            ("SHA256", hex::encode(digest.as_ref()))
        }
        1 => ("DOMAIN", format!("h{n}.bench.example")),
        // Not 10.0.0.0/8: private ranges are on the hub's built-in allowlist.
        _ => ("IPV4", format!("45.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)),
    }
}

// ---------------------------------------------------------------------------
// Phases.

struct Share {
    elapsed: Duration,
    batch: Latencies,
    cpu: f64,
}

const SHARE: &str =
    "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id } }";

async fn share_phase(args: &Args, url: &str, token: &str, proc: &ProcWatch) -> Result<Share> {
    #[derive(Deserialize)]
    struct Data {
        #[serde(rename = "shareIndicators")]
        shared: Vec<IdOnly>,
    }
    let batches = args.count.div_ceil(args.batch);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    progress("share", Arc::clone(&done), args.count, Arc::clone(&stop));
    let cpu0 = proc.cpu();
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.in_flight.max(1) {
        let (next, done, url, token) = (Arc::clone(&next), Arc::clone(&done), url.to_string(), token.to_string());
        let (count, batch) = (args.count, args.batch);
        workers.push(tokio::spawn(async move {
            let http = http_client()?;
            let mut latencies = Vec::new();
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed) as u64;
                if b >= batches {
                    break;
                }
                let first = b * batch;
                let last = (first + batch).min(count);
                let input: Vec<Value> = (first..last)
                    .map(|n| {
                        let (kind, value) = indicator(n);
                        json!({"type": kind, "value": value})
                    })
                    .collect();
                let body = json!({"query": SHARE, "variables": {"i": input, "s": {"tlp": "GREEN"}}});
                let t0 = Instant::now();
                let data: Data = gql(&http, &url, &token, &body)
                    .await
                    .with_context(|| format!("sharing indicators {first}..{last}"))?;
                latencies.push(t0.elapsed());
                ensure!(
                    data.shared.len() as u64 == last - first,
                    "shared {first}..{last}: the hub answered {} ids",
                    data.shared.len()
                );
                done.fetch_add((last - first) as usize, Ordering::Relaxed);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    let mut failure = None;
    for w in workers {
        match w.await.context("share worker panicked")? {
            Ok(l) => all.extend(l),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(Share { elapsed, batch: Latencies::new(all), cpu: proc.cpu() - cpu0 })
}

#[derive(Deserialize)]
struct IdOnly {
    #[allow(dead_code)]
    id: String,
}

struct Feed {
    elapsed: Duration,
    items: u64,
    pages: Latencies,
    cpu: f64,
}

const CHANGES: &str = "query($a: String, $l: Int) { changes(after: $a, limit: $l) { items { id type version tlp deleted object signature } cursor hasMore } }";

async fn feed_phase(args: &Args, url: &str, token: &str, proc: &ProcWatch) -> Result<Feed> {
    #[derive(Deserialize)]
    struct Data {
        changes: Page,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Page {
        items: Vec<Item>,
        cursor: String,
        has_more: bool,
    }
    // The STIX object is parsed (walked) but not kept: a follower's minimal work.
    #[derive(Deserialize)]
    struct Item {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        version: i64,
        tlp: String,
        deleted: bool,
        object: Option<IgnoredAny>,
        signature: Option<String>,
    }
    let http = http_client()?;
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    progress("feed", Arc::clone(&done), args.count, Arc::clone(&stop));
    let mut seen: HashSet<String> = HashSet::with_capacity(args.count as usize);
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    let cpu0 = proc.cpu();
    let start = Instant::now();
    let result: Result<()> = async {
        loop {
            let body = json!({"query": CHANGES, "variables": {"a": cursor, "l": args.feed_page}});
            let t0 = Instant::now();
            let data: Data = gql(&http, url, token, &body).await.context("reading the changes feed")?;
            pages.push(t0.elapsed());
            let page = data.changes;
            for item in page.items {
                // The hub's audit checkpoints reach every member too (one at start,
                // then hourly): signed, but not what this bench shared.
                if item.kind == "audit-checkpoint" {
                    continue;
                }
                ensure!(
                    !item.deleted
                        && item.object.is_some()
                        && item.signature.is_some()
                        && item.kind == "indicator"
                        && item.version == 1
                        && item.tlp == "GREEN",
                    "unexpected feed item {} (type {}, version {}, tlp {}, deleted {})",
                    item.id,
                    item.kind,
                    item.version,
                    item.tlp,
                    item.deleted
                );
                ensure!(seen.insert(item.id), "an id came twice in the feed");
            }
            done.store(seen.len(), Ordering::Relaxed);
            cursor = Some(page.cursor);
            if !page.has_more {
                return Ok(());
            }
        }
    }
    .await;
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    result?;
    let items = seen.len() as u64;
    ensure!(items == args.count, "the feed had {items} items; {} were shared", args.count);
    Ok(Feed { elapsed, items, pages: Latencies::new(pages), cpu: proc.cpu() - cpu0 })
}

struct Lookup {
    /// Wall time of the measured part (after every client's warm-up).
    elapsed: Duration,
    /// Latencies of the measured requests that were answered without errors.
    requests: Latencies,
    /// Latencies of the warm-up requests (connection set-up included), kept apart.
    warmup: Latencies,
    values: u64,
    /// Requests the hub answered with an error (or not at all), and the first such error.
    errors: usize,
    first_error: Option<String>,
    cpu: f64,
}

const LOOKUP: &str = "query($v: [String!]!) { lookup(values: $v) { input matches { id } } }";

/// One lookup client's closed loop: warm-up requests, then (once every client is warm)
/// measured requests until `deadline_after` has passed since the start signal.
struct LookupClient {
    known: Arc<Vec<String>>,
    unknown: Arc<Vec<String>>,
    url: String,
    token: String,
    per_request: usize,
    known_per_request: usize,
    rng: Rng,
}

/// What one client measured: warm-up and measured latencies, and its errors.
type ClientResult = (Vec<Duration>, Vec<Duration>, Vec<String>);

impl LookupClient {
    /// Sends one lookup of random values and checks every answer; `Ok(Err(_))` is a
    /// request the hub refused (counted), `Err(_)` a wrong answer (fatal).
    async fn request(&mut self, http: &reqwest::Client) -> Result<Result<Duration, String>> {
        #[derive(Deserialize)]
        struct Data<'a> {
            #[serde(borrow)]
            lookup: Vec<Hit<'a>>,
        }
        #[derive(Deserialize)]
        struct Hit<'a> {
            #[serde(borrow)]
            input: std::borrow::Cow<'a, str>,
            #[serde(borrow)]
            matches: Vec<IdRef<'a>>,
        }
        #[derive(Deserialize)]
        struct IdRef<'a> {
            #[allow(dead_code)]
            #[serde(borrow)]
            id: std::borrow::Cow<'a, str>,
        }
        #[derive(Deserialize)]
        struct Answer<'a> {
            #[serde(borrow)]
            data: Option<Data<'a>>,
            errors: Option<Value>,
        }
        // Written straight from borrowed values: no JSON tree per request.
        #[derive(serde::Serialize)]
        struct Variables<'a> {
            v: &'a [&'a str],
        }
        #[derive(serde::Serialize)]
        struct Request<'a> {
            query: &'static str,
            variables: Variables<'a>,
        }
        let mut values: Vec<&str> = Vec::with_capacity(self.per_request);
        for i in 0..self.per_request {
            let pool = if i < self.known_per_request { &self.known } else { &self.unknown };
            values.push(&pool[self.rng.below(pool.len() as u64) as usize]);
        }
        let body = serde_json::to_vec(&Request { query: LOOKUP, variables: Variables { v: &values } })?;
        let t0 = Instant::now();
        // A refused or failed request is counted and reported, not fatal: under
        // overload the hub answers errors, and that is a result. Wrong answers are fatal.
        let bytes = match post_bytes(http, &self.url, &self.token, body).await {
            Ok(bytes) => bytes,
            Err(e) => return Ok(Err(format!("{e:#}"))),
        };
        let latency = t0.elapsed();
        // Parsed in place (strings borrowed from the body): the bench shares the hub's
        // two cores, so its own per-request work is kept small.
        let answer: Answer<'_> = serde_json::from_slice(&bytes).with_context(|| {
            format!("unexpected response: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(2000)]))
        })?;
        if let Some(errors) = answer.errors {
            return Ok(Err(format!("GraphQL errors: {errors}")));
        }
        let data = answer.data.context("response without data")?;
        ensure!(data.lookup.len() == values.len(), "lookup answered {} of {}", data.lookup.len(), values.len());
        for (i, (hit, value)) in data.lookup.iter().zip(&values).enumerate() {
            ensure!(hit.input == *value, "lookup answered {:?} for {:?}", hit.input, value);
            if i < self.known_per_request {
                ensure!(!hit.matches.is_empty(), "stored value {value} did not match");
            } else {
                ensure!(hit.matches.is_empty(), "unknown value {value} matched");
            }
        }
        Ok(Ok(latency))
    }

    async fn run(
        mut self,
        warmup: usize,
        limit: Option<usize>,
        measure_for: Duration,
        start: Arc<tokio::sync::Barrier>,
    ) -> Result<ClientResult> {
        let http = http_client()?;
        let mut errors = Vec::new();
        let mut warm = Vec::with_capacity(warmup);
        for _ in 0..warmup {
            match self.request(&http).await? {
                Ok(latency) => warm.push(latency),
                Err(e) => errors.push(e),
            }
        }
        // Every client (and the phase's clock) starts measuring together.
        start.wait().await;
        let deadline = Instant::now() + measure_for;
        let mut latencies = Vec::new();
        while Instant::now() < deadline && limit.is_none_or(|n| latencies.len() < n) {
            match self.request(&http).await? {
                Ok(latency) => latencies.push(latency),
                Err(e) => errors.push(e),
            }
        }
        Ok((warm, latencies, errors))
    }
}

async fn lookup_phase(args: &Args, url: &str, token: &str, proc: &ProcWatch) -> Result<Lookup> {
    ensure!(args.lookup_known <= args.lookup_values, "--lookup-known is more than --lookup-values");
    // Stored values spread evenly over what was shared; unknown ones never shared.
    let samples = SAMPLE_POOL.min(args.count).max(1);
    let known: Arc<Vec<String>> =
        Arc::new((0..samples).map(|i| indicator(i * args.count / samples).1).collect::<Vec<_>>());
    let unknown: Arc<Vec<String>> =
        Arc::new((0..UNKNOWN_POOL).map(|i| indicator(args.count + i).1).collect::<Vec<_>>());
    let start = Arc::new(tokio::sync::Barrier::new(args.clients + 1));
    let mut clients = Vec::new();
    for c in 0..args.clients {
        let client = LookupClient {
            known: Arc::clone(&known),
            unknown: Arc::clone(&unknown),
            url: url.to_string(),
            token: token.to_string(),
            per_request: args.lookup_values,
            known_per_request: args.lookup_known,
            rng: Rng(0x5EED_0000 + c as u64),
        };
        let run = client.run(
            args.lookup_warmup,
            args.lookup_requests,
            Duration::from_secs(args.lookup_seconds),
            Arc::clone(&start),
        );
        clients.push(tokio::spawn(run));
    }
    // A client that fails during its warm-up never reaches the barrier: wait for the
    // start or for the first client to end, whichever comes first.
    let mut pending = futures::future::select_all(clients);
    let early = tokio::select! {
        _ = start.wait() => None,
        (first, _, rest) = &mut pending => Some((first, rest)),
    };
    if let Some((first, _)) = early {
        first.context("lookup client panicked")??;
        bail!("a lookup client ended before the measured phase started");
    }
    let cpu0 = proc.cpu();
    let t0 = Instant::now();
    let mut warm = Vec::new();
    let mut all = Vec::new();
    let mut errors = Vec::new();
    let mut failure = None;
    for c in pending.into_inner() {
        match c.await.context("lookup client panicked")? {
            Ok((w, l, e)) => {
                warm.extend(w);
                all.extend(l);
                errors.extend(e);
            }
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    let elapsed = t0.elapsed();
    if let Some(e) = failure {
        return Err(e);
    }
    let values = (all.len() * args.lookup_values) as u64;
    Ok(Lookup {
        elapsed,
        requests: Latencies::new(all),
        warmup: Latencies::new(warm),
        values,
        errors: errors.len(),
        first_error: errors.into_iter().next(),
        cpu: proc.cpu() - cpu0,
    })
}

// ---------------------------------------------------------------------------

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.count >= 1, "--count must be at least 1");
    ensure!(args.batch >= 1, "--batch must be at least 1");
    ensure!(args.count + UNKNOWN_POOL < 1 << 24, "--count must stay below 16,767,000 (unique IPv4 values)");
    let hub_bin = hub_binary(args.hub_bin.as_deref())?;
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);

    let tmp = TempDir::new()?;
    let (pg, url) = database(args.backend, &args.pg_base, &args.pg_hub_params, &tmp)?;
    eprintln!("renkei-bench: {} at {url}, data dir {}", args.backend.name(), tmp.0.display());
    // `--trust new` sends every shared batch through the moderation queue (the default
    // policy queues new organisations): the cost of the moderation path.
    let org =
        hub_cli(&hub_bin, &url, &tmp.0, &["org", "add", "Bench Member", "--sector", "energy", "--trust", &args.trust])?;
    let token = hub_cli(&hub_bin, &url, &tmp.0, &["token", "issue", "--org", &org, "--role", "analyst"])?;
    let Launched { mut hub, proc, base, endpoint } = launch(&hub_bin, &url, &tmp.0)?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcome = runtime.block_on(async {
        wait_ready(&mut hub, &http_client()?, &base).await?;
        let rss_start = proc.rss_mib();
        eprintln!("share: {} indicators in batches of {}, {} in flight", args.count, args.batch, args.in_flight);
        let share = share_phase(&args, &endpoint, &token, &proc).await?;
        let rss_share = proc.rss_mib();
        if args.analyze {
            eprintln!("ANALYZE");
            let t0 = Instant::now();
            analyze(&url).context("ANALYZE")?;
            eprintln!("  ANALYZE took {:.1} s", t0.elapsed().as_secs_f64());
        }
        eprintln!("feed: pages of {}", args.feed_page);
        let feed = feed_phase(&args, &endpoint, &token, &proc).await?;
        let rss_feed = proc.rss_mib();
        if args.client_sync {
            let client_bin = args.client_bin.clone().unwrap_or_else(|| hub_bin.with_file_name("renkei"));
            let (count, dir, base, token) = (args.count, tmp.0.clone(), base.clone(), token.clone());
            let report =
                tokio::task::spawn_blocking(move || client_sync_phase(&client_bin, &dir, &base, &token, count))
                    .await??;
            println!("{report}");
        }
        eprintln!(
            "lookup: {} clients, {} warm-up requests each, then {} s{} of requests of {} values",
            args.clients,
            args.lookup_warmup,
            args.lookup_seconds,
            args.lookup_requests.map(|n| format!(" (at most {n} per client)")).unwrap_or_default(),
            args.lookup_values
        );
        let stats = planner_stats(&url).unwrap_or_else(|e| format!("unknown ({e})"));
        let lookup = lookup_phase(&args, &endpoint, &token, &proc).await?;
        let rss_lookup = proc.rss_mib();
        anyhow::Ok((share, feed, lookup, stats, [rss_start, rss_share, rss_feed, rss_lookup]))
    });
    let (share, feed, lookup, stats, rss) = match outcome {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hub log (last lines):\n{}", hub.log_tail());
            return Err(e);
        }
    };
    let hwm = proc.hwm_mib();
    let cpu_total = proc.cpu();
    drop(runtime);
    drop(hub);
    let db_bytes = match &pg {
        Some(db) => db.size_bytes().ok(),
        None => Some(dir_size(&tmp.0).saturating_sub(std::fs::metadata(tmp.0.join("hub.log")).map_or(0, |m| m.len()))),
    };
    let wal_bytes = std::fs::metadata(tmp.0.join("hub.db-wal")).map_or(0, |m| m.len());

    let share_rate = args.count as f64 / share.elapsed.as_secs_f64();
    let feed_rate = feed.items as f64 / feed.elapsed.as_secs_f64();
    let lookup_p50 = ms(lookup.requests.pct(0.50));
    let lookup_p99 = ms(lookup.requests.pct(0.99));
    let lookup_rps = lookup.requests.0.len() as f64 / lookup.elapsed.as_secs_f64();
    let lookup_ok = lookup_p99 <= TARGET_LOOKUP_P99_MS && lookup.errors == 0 && !lookup.requests.0.is_empty();
    let db_gib = db_bytes.map(|b| b as f64 / (1024.0 * 1024.0 * 1024.0));

    println!();
    println!(
        "renkei-bench  backend {}  count {}  batch {}  ({} CPUs seen; targets are for 1,000,000 on 2 cores)",
        args.backend.name(),
        thousands(args.count as f64),
        thousands(args.batch as f64),
        cpus
    );
    println!(
        "  setup   ANALYZE run by the bench after share: {}; planner statistics on objects at lookup time: {}",
        if args.analyze { "yes" } else { "no" },
        stats
    );
    println!(
        "  share   {:>9} indicators/s (target >= {}) {:<5}  {:.1} s; batch latency p50 {:.0} ms, p99 {:.0} ms; {} in flight; hub CPU {:.1} s",
        thousands(share_rate),
        thousands(TARGET_SHARE_PER_S),
        verdict(share_rate >= TARGET_SHARE_PER_S),
        share.elapsed.as_secs_f64(),
        ms(share.batch.pct(0.50)),
        ms(share.batch.pct(0.99)),
        args.in_flight,
        share.cpu
    );
    println!(
        "  feed    {:>9} versions/s   (target >= {}) {:<5}  {:.1} s; {} items in {} pages of {}; page latency p50 {:.0} ms, p99 {:.0} ms; hub CPU {:.1} s",
        thousands(feed_rate),
        thousands(TARGET_FEED_PER_S),
        verdict(feed_rate >= TARGET_FEED_PER_S),
        feed.elapsed.as_secs_f64(),
        thousands(feed.items as f64),
        feed.pages.0.len(),
        thousands(args.feed_page as f64),
        ms(feed.pages.pct(0.50)),
        ms(feed.pages.pct(0.99)),
        feed.cpu
    );
    println!(
        "  lookup  p99 {:>6.1} ms         (target <= {:.0} ms)  {:<5}  p50 {:.1} ms, max {:.1} ms; {} requests of {} values from {} clients in {:.1} s = {} req/s, {} values/s; hub CPU {:.1} s",
        lookup_p99,
        TARGET_LOOKUP_P99_MS,
        verdict(lookup_ok),
        lookup_p50,
        ms(lookup.requests.max()),
        thousands(lookup.requests.0.len() as f64),
        args.lookup_values,
        args.clients,
        lookup.elapsed.as_secs_f64(),
        thousands(lookup_rps),
        thousands(lookup.values as f64 / lookup.elapsed.as_secs_f64()),
        lookup.cpu
    );
    println!(
        "          warm-up (not in the figures above): {} requests, p50 {:.1} ms, max {:.1} ms",
        thousands(lookup.warmup.0.len() as f64),
        ms(lookup.warmup.pct(0.50)),
        ms(lookup.warmup.max())
    );
    if lookup.errors > 0 {
        println!(
            "          {} lookup request(s) failed (not in the latencies above); first: {}",
            thousands(lookup.errors as f64),
            lookup.first_error.as_deref().unwrap_or("")
        );
    }
    println!(
        "  hub     peak memory (VmHWM) {:.0} MiB; RSS after start {:.0}, share {:.0}, feed {:.0}, lookup {:.0} MiB; CPU {:.1} s in all",
        hwm, rss[0], rss[1], rss[2], rss[3], cpu_total
    );
    match db_gib {
        Some(g) if args.backend == Backend::Sqlite => println!(
            "  db      {:.2} GiB on disk (sqlite; of which WAL {:.2} GiB)",
            g,
            wal_bytes as f64 / (1024.0 * 1024.0 * 1024.0)
        ),
        Some(g) => println!("  db      {:.2} GiB on disk ({})", g, args.backend.name()),
        None => println!("  db      size unknown"),
    }
    // One tab-separated line for ops/bench/run.sh's summary table.
    println!(
        "summary\t{}\t{}\t{}\t{:.0}\t{}\t{:.0}\t{:.0}\t{:.0}\t{}\t{:.0}\t{:.0}\t{:.1}\t{:.1}\t{}\t{:.0}\t{}\t{:.0}\t{}",
        args.backend.name(),
        args.count,
        stats.split_whitespace().next().unwrap_or("?"),
        share_rate,
        verdict(share_rate >= TARGET_SHARE_PER_S),
        ms(share.batch.pct(0.50)),
        ms(share.batch.pct(0.99)),
        feed_rate,
        verdict(feed_rate >= TARGET_FEED_PER_S),
        ms(feed.pages.pct(0.50)),
        ms(feed.pages.pct(0.99)),
        lookup_p50,
        lookup_p99,
        verdict(lookup_ok),
        lookup_rps,
        lookup.errors,
        hwm,
        db_gib.map_or("n/a".to_string(), |g| format!("{g:.2}")),
    );
    drop(pg);
    drop(tmp);
    Ok(())
}

/// `renkei init` then `renkei sync` into an empty register, timed, with the client's peak
/// memory polled from /proc while it runs; every item must be in the register.
fn client_sync_phase(client_bin: &Path, dir: &Path, base: &str, token: &str, count: u64) -> Result<String> {
    ensure!(
        client_bin.is_file(),
        "no client binary at {} (cargo build --release -p renkei-client)",
        client_bin.display()
    );
    let db = dir.join("client.db");
    let token_file = dir.join("client.token");
    std::fs::write(&token_file, token)?;
    // The client refuses a token file others may read.
    std::fs::set_permissions(
        &token_file,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
    )?;
    let run = |args: &[&str]| {
        std::process::Command::new(client_bin)
            .arg("--db")
            .arg(&db)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
    };
    let token_arg = token_file.display().to_string();
    let status = run(&["init", "--hub", base, "--token-file", &token_arg])?.wait()?;
    ensure!(status.success(), "renkei init failed");
    eprintln!("client sync: {count} items into an empty register");
    let t0 = Instant::now();
    let mut child = run(&["sync", "--token-file", &token_arg, "--page-size", "10000"])?;
    let pid = child.id();
    let mut peak_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        peak_kib = peak_kib.max(proc_status_kib(pid, "VmHWM:").unwrap_or(0));
        std::thread::sleep(Duration::from_millis(50));
    };
    let secs = t0.elapsed().as_secs_f64();
    ensure!(status.success(), "renkei sync failed ({status})");
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = diesel::SqliteConnection::establish(&db.display().to_string())?;
    // The hub's audit checkpoints are items of the register too; the bench counts its own.
    let held: N =
        diesel::sql_query("SELECT COUNT(*) AS n FROM items WHERE kind <> 'audit-checkpoint'").get_result(&mut conn)?;
    ensure!(held.n as u64 == count, "the register holds {} items, not {count}", held.n);
    let rate = count as f64 / secs;
    let peak = peak_kib as f64 / 1024.0;
    Ok(format!(
        "client sync: {count} items in {secs:.1} s = {} items/s [{} >= 50,000/s]; client peak RSS {peak:.0} MiB [{} <= 200 MiB]",
        thousands(rate),
        verdict(rate >= 50_000.0),
        verdict(peak <= 200.0)
    ))
}
