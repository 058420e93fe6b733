//! probe-bench: what the requests of a probing member cost a real hub (issue 16, item 5).
//!
//! Starts a release `renkei-hub` on the embedded default (SQLite), as the probe was
//! made, shares `--items` (5,000) GREEN indicators a member may see, and then, for each
//! attack, alone and with `--parallel` (4) clients at once, keeps sending it for
//! `--seconds` (10) while another thread asks `/healthz` every 50 ms. Reported per run:
//! the hub's peak resident memory over its idle size (`VmHWM`, reset through
//! `/proc/<pid>/clear_refs` before each run), the slowest `/healthz` answer, and what
//! the hub answered the attack with. Goal: no run raises the peak more than 256 MiB over
//! idle, and `/healthz` always answers within 100 ms.
//!
//! The attacks: 150 aliases of `changes(limit: 10000) { items { object } }`; the most
//! of that one query a member may still ask (12 aliases, within the cost limit; the
//! answer ends at the byte budget); 3,900 aliases of an introspection query without a
//! token; 60 aliases of a larger introspection query with one, and the two a document
//! may hold; 60,000 `_entities`
//! representations spread over 60 aliases; a fragment bomb (each fragment spreading the
//! next twice, 40 deep).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use clap::Parser;
use renkei_bench::harness::{self, Backend, TempDir};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(name = "probe-bench", about = "What a probing member's requests cost a real renkei-hub")]
struct Args {
    /// The renkei-hub binary (default: $CARGO_TARGET_DIR/release/renkei-hub).
    #[arg(long)]
    hub_bin: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_base: String,
    /// Indicators the member may see.
    #[arg(long, default_value_t = 5000)]
    items: usize,
    /// How long each run keeps attacking.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Clients at once in the parallel runs.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
    /// Run only the attacks whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

/// Goals (issue 16): peak memory over idle, and the slowest health check.
const MAX_GROWTH_MIB: f64 = 256.0;
const MAX_HEALTH_MS: f64 = 100.0;

struct Attack {
    name: &'static str,
    body: Vec<u8>,
    with_token: bool,
}

fn aliases(n: usize, field: &str) -> String {
    format!("{{ {} }}", (0..n).map(|i| format!("a{i}: {field}")).collect::<Vec<_>>().join(" "))
}

fn attacks(ids: &[String]) -> Result<Vec<Attack>> {
    let body = |query: String, variables: Value| serde_json::to_vec(&json!({"query": query, "variables": variables}));
    let reps: Vec<Value> = (0..1000).map(|i| json!({"__typename": "Indicator", "id": ids[i % ids.len()]})).collect();
    let entities = format!(
        "query($r: [_Any!]!) {{ {} }}",
        (0..60)
            .map(|i| format!("e{i}: _entities(representations: $r) {{ ... on Indicator {{ id value }} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut bomb = String::from("query { ...F0 }\n");
    for i in 0..40 {
        bomb.push_str(&format!("fragment F{i} on Query {{ ...F{} ...F{} }}\n", i + 1, i + 1));
    }
    bomb.push_str("fragment F40 on Query { __typename }\n");
    let introspection = "__schema { types { name kind description fields { name description type { name kind ofType { name kind } } } } }";
    Ok(vec![
        Attack {
            name: "150 aliases of changes(limit: 10000)",
            body: body(aliases(150, "changes(limit: 10000) { items { object } }"), json!({}))?,
            with_token: true,
        },
        Attack {
            name: "12 aliases of changes(limit: 10000), the most allowed",
            body: body(aliases(12, "changes(limit: 10000) { items { object } }"), json!({}))?,
            with_token: true,
        },
        Attack {
            name: "3,900 aliases of introspection, no token",
            body: body(aliases(3900, "__schema { types { name } }"), json!({}))?,
            with_token: false,
        },
        Attack {
            name: "60 aliases of introspection, a member's token",
            body: body(aliases(60, introspection), json!({}))?,
            with_token: true,
        },
        Attack {
            name: "introspection twice, the most allowed",
            body: body(aliases(2, introspection), json!({}))?,
            with_token: true,
        },
        Attack {
            name: "60,000 _entities representations over 60 aliases",
            body: body(entities, json!({"r": reps}))?,
            with_token: true,
        },
        Attack { name: "a fragment bomb (2^40 fields)", body: body(bomb, json!({}))?, with_token: true },
    ])
}

struct Run {
    requests: u64,
    /// Answers by status and first error code, e.g. `400 TOO_MANY_ALIASES`.
    answers: Vec<(String, u64)>,
    growth_mib: f64,
    health_max_ms: f64,
    health_checks: u64,
}

fn run(base: &str, pid: u32, idle_mib: f64, token: &str, attack: &Attack, clients: usize, seconds: u64) -> Result<Run> {
    // What the last run took is given back to the system gradually (the allocator
    // returns freed pages after a delay): wait for it, so a run is not charged with
    // the last one's memory.
    let settle = Instant::now() + Duration::from_secs(60);
    while harness::proc_status_kib(pid, "VmRSS:").map_or(0.0, |k| k as f64 / 1024.0) > idle_mib + 16.0
        && Instant::now() < settle
    {
        std::thread::sleep(Duration::from_millis(250));
    }
    // A fresh peak for this run.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").context("resetting VmHWM (needs Linux 4.0+)")?;
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let answers: Arc<Mutex<std::collections::BTreeMap<String, u64>>> = Default::default();
    let health = std::thread::spawn({
        let (stop, base) = (Arc::clone(&stop), base.to_string());
        move || -> Result<(f64, u64)> {
            let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build()?;
            let (mut worst, mut n) = (0f64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                let status = http.get(format!("{base}/healthz")).send().map(|r| r.status().as_u16()).unwrap_or(0);
                worst = worst.max(t0.elapsed().as_secs_f64() * 1000.0);
                ensure!(status == 200, "/healthz answered {status}");
                n += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok((worst, n))
        }
    });
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (requests, answers) = (Arc::clone(&requests), Arc::clone(&answers));
            let (url, body, token) =
                (format!("{base}/graphql"), attack.body.clone(), attack.with_token.then(|| token.to_string()));
            std::thread::spawn(move || -> Result<()> {
                let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build()?;
                while Instant::now() < deadline {
                    let mut req = http.post(&url).header("content-type", "application/json").body(body.clone());
                    if let Some(t) = &token {
                        req = req.bearer_auth(t);
                    }
                    let resp = req.send()?;
                    let status = resp.status().as_u16();
                    let bytes = resp.bytes()?;
                    let code = serde_json::from_slice::<Value>(&bytes)
                        .ok()
                        .and_then(|v| v["errors"][0]["extensions"]["code"].as_str().map(String::from))
                        .unwrap_or_else(|| format!("answered, {} KiB", bytes.len() / 1024));
                    *answers
                        .lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?
                        .entry(format!("{status} {code}"))
                        .or_default() += 1;
                    requests.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| anyhow::anyhow!("an attacking client panicked"))??;
    }
    stop.store(true, Ordering::Relaxed);
    let (health_max_ms, health_checks) = health.join().map_err(|_| anyhow::anyhow!("the health poller panicked"))??;
    let peak = harness::proc_status_kib(pid, "VmHWM:").context("VmHWM")? as f64 / 1024.0;
    let answers = answers.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone().into_iter().collect();
    Ok(Run {
        requests: requests.load(Ordering::Relaxed),
        answers,
        growth_mib: peak - idle_mib,
        health_max_ms,
        health_checks,
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    // reqwest's TLS (built in for the client crate this shares) needs a provider: ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let hub_bin = harness::hub_binary(args.hub_bin.as_deref())?;
    let tmp = TempDir::new()?;
    let (_pg, url) = harness::database(args.backend, &args.pg_base, "sslmode=disable", &tmp)?;
    let org = harness::hub_cli(&hub_bin, &url, &tmp.0, &["org", "add", "Probing Member", "--sector", "energy"])?;
    let token = harness::hub_cli(&hub_bin, &url, &tmp.0, &["token", "issue", "--org", &org, "--role", "analyst"])?;
    let port = harness::free_port()?;
    let mut hub = harness::start_hub(&hub_bin, &url, &tmp.0, port)?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(600)).build()?;
    let ready = Instant::now() + Duration::from_secs(120);
    while http.get(format!("{base}/readyz")).send().map(|r| r.status().as_u16()).unwrap_or(0) != 200 {
        if let Some(status) = hub.child.try_wait()? {
            anyhow::bail!("the hub exited ({status}):\n{}", hub.log_tail());
        }
        ensure!(Instant::now() < ready, "the hub was not ready after 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let share = "mutation($v: [IndicatorInput!]!) { shareIndicators(input: $v, sharing: {tlp: GREEN}) { id } }";
    let mut ids = Vec::with_capacity(args.items);
    for start in (0..args.items).step_by(1000) {
        let values: Vec<Value> = (start..(start + 1000).min(args.items))
            .map(|i| json!({"type": "DOMAIN", "value": format!("h{i}.probed-{}.example", "x".repeat(40))}))
            .collect();
        let answer: Value = http
            .post(format!("{base}/graphql"))
            .bearer_auth(&token)
            .json(&json!({"query": share, "variables": {"v": values}}))
            .send()?
            .json()?;
        ensure!(answer.get("errors").is_none(), "sharing failed: {answer}");
        ids.extend(
            answer["data"]["shareIndicators"]
                .as_array()
                .context("ids")?
                .iter()
                .filter_map(|i| i["id"].as_str().map(String::from)),
        );
    }
    // Warm: a normal feed page and a lookup, then the idle size.
    http.post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .json(&json!({"query": "{ changes(limit: 1000) { cursor } }"}))
        .send()?;
    std::thread::sleep(Duration::from_secs(2));
    let pid = hub.pid();
    let idle = harness::proc_status_kib(pid, "VmRSS:").context("VmRSS")? as f64 / 1024.0;
    println!(
        "probe-bench  backend {}  {} indicators visible to the member  {} s a run  (goals: peak <= idle + {MAX_GROWTH_MIB:.0} MiB, /healthz <= {MAX_HEALTH_MS:.0} ms)",
        args.backend.name(),
        args.items,
        args.seconds
    );
    println!("  hub idle RSS {idle:.0} MiB");
    let mut all_ok = true;
    for attack in attacks(&ids)?.into_iter().filter(|a| args.only.as_deref().is_none_or(|o| a.name.contains(o))) {
        for clients in [1, args.parallel] {
            let r = run(&base, pid, idle, &token, &attack, clients, args.seconds)?;
            let ok = r.growth_mib <= MAX_GROWTH_MIB && r.health_max_ms <= MAX_HEALTH_MS;
            all_ok &= ok;
            let answers: Vec<String> = r.answers.iter().map(|(a, n)| format!("{n} x {a}")).collect();
            println!(
                "  {:<58} {} client(s): peak +{:>5.0} MiB, /healthz max {:>5.1} ms ({} checks), {} requests [{}] {}",
                attack.name,
                clients,
                r.growth_mib,
                r.health_max_ms,
                r.health_checks,
                r.requests,
                answers.join(", "),
                if ok { "OK" } else { "BELOW" }
            );
        }
    }
    if let Some(status) = hub.child.try_wait()? {
        anyhow::bail!("the hub exited during the runs ({status}):\n{}", hub.log_tail());
    }
    println!("summary\t{}", if all_ok { "OK" } else { "BELOW" });
    Ok(())
}
