//! supplier-bench: the supply-chain registry's speed goals, measured on a real
//! `renkei-hub` process over plain HTTP on loopback (see ops/bench/README.md):
//!
//! > 10,000 suppliers, 30,000 offerings, 200,000 assessments: `supplier(id)` with its
//! > rating p99 ≤ 20 ms; a name search p99 ≤ 50 ms; recomputing all ratings after a
//! > scheme change ≤ 60 s.
//!
//! The registry and the assessments are made through the GraphQL API (many mutations
//! per request, as aliases), so every assessment takes the real path: validation,
//! signing, sequencing and the refresh of its supplier's stored ratings.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{ensure, Context as _, Result};
use clap::Parser;
use renkei_bench::harness::*;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TARGET_SUPPLIER_P99_MS: f64 = 20.0;
const TARGET_SEARCH_P99_MS: f64 = 50.0;
const TARGET_RECOMPUTE_S: f64 = 60.0;

const PLACES: [&str; 20] = [
    "北海道",
    "東北",
    "関東",
    "東京",
    "横浜",
    "中部",
    "名古屋",
    "北陸",
    "関西",
    "大阪",
    "京都",
    "神戸",
    "中国",
    "広島",
    "四国",
    "九州",
    "福岡",
    "沖縄",
    "日本",
    "東洋",
];
const FIELDS: [&str; 20] = [
    "制御",
    "電機",
    "通信",
    "情報",
    "計装",
    "システム",
    "エンジニアリング",
    "ソフト",
    "ネットワーク",
    "保守",
    "電力",
    "機械",
    "重工",
    "セキュリティ",
    "データ",
    "クラウド",
    "技研",
    "産業",
    "精機",
    "電子",
];
const FIELDS_EN: [&str; 20] = [
    "Control",
    "Electric",
    "Telecom",
    "Information",
    "Instruments",
    "Systems",
    "Engineering",
    "Software",
    "Network",
    "Maintenance",
    "Power",
    "Machinery",
    "Heavy",
    "Security",
    "Data",
    "Cloud",
    "Giken",
    "Industries",
    "Seiki",
    "Electronics",
];
const SECTORS: [&str; 6] = ["electricity", "gas", "water", "rail", "telecom", "finance"];
const KINDS: [&str; 6] = ["SOFTWARE", "OT_DEVICE", "CLOUD_SERVICE", "MANAGED_SERVICE", "MAINTENANCE", "INTEGRATION"];
const ASSURANCE: [&str; 5] =
    ["AUTOMATED", "SELF_ATTESTED", "QUESTIONNAIRE_REVIEWED", "TECHNICAL_TEST", "INDEPENDENT_CERTIFICATION"];

#[derive(Parser, Debug)]
#[command(name = "supplier-bench", about = "Supplier registry and rating benchmark of a real renkei-hub on loopback")]
struct Args {
    #[arg(long, value_enum, default_value = "postgres")]
    backend: Backend,
    #[arg(long, default_value_t = 10_000)]
    suppliers: usize,
    #[arg(long, default_value_t = 3)]
    offerings_per_supplier: usize,
    #[arg(long, default_value_t = 200_000)]
    assessments: usize,
    /// Member organisations that assess (each with a procurement token).
    #[arg(long, default_value_t = 20)]
    members: usize,
    /// Mutations per request while loading (sent as aliases of one request).
    #[arg(long, default_value_t = 50)]
    per_request: usize,
    /// Loading requests in flight at once.
    #[arg(long, default_value_t = 2)]
    in_flight: usize,
    /// Percent of assessments shared TLP:RED with one other member (the rest: 90 %
    /// GREEN, the remainder AMBER).
    #[arg(long, default_value_t = 2)]
    red_percent: u64,
    /// Concurrent clients in the read phases (each its own connection, closed loop).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// How long each read phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long)]
    hub_bin: Option<std::path::PathBuf>,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_base: String,
    #[arg(long, default_value = "sslmode=disable")]
    pg_hub_params: String,
}

/// Sends `count` mutations built by `one(i)` (each: its text with `$v{i}`-style
/// variables, and those variables), `per_request` to a request, `in_flight` requests
/// at once; returns what every alias answered, in order.
async fn load(
    args: &Args,
    url: &str,
    token: &str,
    what: &'static str,
    count: usize,
    one: impl Fn(usize) -> (String, String, Map<String, Value>) + Sync,
) -> Result<Vec<Value>> {
    let http = http_client()?;
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    progress(what, Arc::clone(&done), count as u64, Arc::clone(&stop));
    let t0 = Instant::now();
    let chunks: Vec<(usize, usize)> =
        (0..count).step_by(args.per_request).map(|a| (a, (a + args.per_request).min(count))).collect();
    let mut out = vec![Value::Null; count];
    for group in chunks.chunks(args.in_flight.max(1)) {
        let requests = group.iter().map(|&(a, b)| {
            let (mut decls, mut body, mut vars) = (Vec::new(), String::new(), Map::new());
            for i in a..b {
                let (decl, field, v) = one(i);
                decls.push(decl);
                body.push_str(&format!("m{i}: {field} "));
                vars.extend(v);
            }
            let query = format!("mutation({}) {{ {body} }}", decls.join(", "));
            let http = &http;
            async move {
                let data: Value = gql(http, url, token, &json!({"query": query, "variables": vars})).await?;
                anyhow::Ok((a, b, data))
            }
        });
        for result in futures::future::join_all(requests).await {
            let (a, b, data) = result?;
            for i in a..b {
                out[i] = data[format!("m{i}")].clone();
            }
            done.fetch_add(b - a, Ordering::Relaxed);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("  {what}: {count} in {secs:.1} s ({} /s)", thousands(count as f64 / secs));
    Ok(out)
}

fn id_of(v: &Value) -> Result<String> {
    v["id"].as_str().map(str::to_string).with_context(|| format!("no id in {v}"))
}

/// Runs `clients` closed request loops for `seconds`; each request is made by
/// `request(rng)` and its answer checked by `check`. Returns the latencies.
async fn read_phase(
    args: &Args,
    url: &str,
    token: &str,
    request: impl Fn(&mut Rng) -> (Value, Box<dyn Fn(&Value) -> Result<()> + Send>) + Sync,
) -> Result<(Latencies, f64)> {
    let request = &request;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let clients = (0..args.clients).map(|c| async move {
        let http = http_client()?;
        let mut rng = Rng(0xC0FFEE + c as u64);
        let mut times = Vec::new();
        // One warm-up request opens the connection; it is not measured.
        let (body, _) = request(&mut rng);
        let _: Value = gql(&http, url, token, &body).await?;
        while Instant::now() < deadline {
            let (body, check) = request(&mut rng);
            let t = Instant::now();
            let data: Value = gql(&http, url, token, &body).await?;
            times.push(t.elapsed());
            check(&data)?;
        }
        anyhow::Ok(times)
    });
    let t0 = Instant::now();
    let mut all = Vec::new();
    for r in futures::future::join_all(clients).await {
        all.extend(r?);
    }
    let rate = all.len() as f64 / t0.elapsed().as_secs_f64();
    Ok((Latencies::new(all), rate))
}

fn report(name: &str, lat: &Latencies, rate: f64, target_ms: Option<f64>) {
    let p99 = ms(lat.pct(0.99));
    let verdict_text = target_ms.map(|t| format!("  [{} ≤ {t} ms]", verdict(p99 <= t))).unwrap_or_default();
    println!(
        "{name:<34} p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  {:>7} req/s  n={}{verdict_text}",
        ms(lat.pct(0.5)),
        p99,
        ms(lat.max()),
        thousands(rate),
        lat.0.len()
    );
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.suppliers >= 1 && args.members >= 2, "at least one supplier and two members");
    let hub_bin = hub_binary(args.hub_bin.as_deref())?;
    let tmp = TempDir::new()?;
    let (pg, url) = database(args.backend, &args.pg_base, &args.pg_hub_params, &tmp)?;
    eprintln!("supplier-bench: {} at {url}", args.backend.name());
    let cli = |a: &[&str]| hub_cli(&hub_bin, &url, &tmp.0, a);
    let coord = cli(&["org", "add", "Bench Secretariat", "--sector", "energy", "--coordinator", "--trust", "trusted"])?;
    let coord_token = cli(&["token", "issue", "--org", &coord, "--role", "coordinator"])?;
    let mut members = Vec::new();
    for m in 0..args.members {
        let org = cli(&["org", "add", &format!("Bench Member {m}"), "--sector", "energy", "--trust", "trusted"])?;
        let token = cli(&["token", "issue", "--org", &org, "--role", "procurement"])?;
        members.push((org, token));
    }
    let Launched { mut hub, proc, base, endpoint } = launch(&hub_bin, &url, &tmp.0)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcome = runtime.block_on(async {
        wait_ready(&mut hub, &http_client()?, &base).await?;
        let n = args.suppliers;
        eprintln!("loading {n} suppliers, {} offerings, {} assessments", n * args.offerings_per_supplier, args.assessments);
        let name_ja = |i: usize| format!("{}{}株式会社{i:05}", PLACES[i % 20], FIELDS[(i / 20) % 20]);
        let suppliers = load(&args, &endpoint, &coord_token, "suppliers", n, |i| {
            let input = json!({"legalName": name_ja(i), "nameJa": name_ja(i),
                "nameEn": format!("{} KK {i:05}", FIELDS_EN[(i / 20) % 20]), "country": "JP"});
            (format!("$v{i}: SupplierInput!"), format!("addSupplier(input: $v{i}) {{ id }}"), Map::from_iter([(format!("v{i}"), input)]))
        })
        .await?
        .iter()
        .map(id_of)
        .collect::<Result<Vec<_>>>()?;
        let per = args.offerings_per_supplier;
        let offerings = load(&args, &endpoint, &coord_token, "offerings", n * per, |i| {
            let input = json!({"supplierId": suppliers[i / per.max(1)], "name": format!("Product {i}"), "kind": KINDS[i % 6],
                "sectors": [SECTORS[i % 6], SECTORS[(i / 6) % 6]]});
            (format!("$v{i}: OfferingInput!"), format!("addOffering(input: $v{i}) {{ id }}"), Map::from_iter([(format!("v{i}"), input)]))
        })
        .await?
        .iter()
        .map(id_of)
        .collect::<Result<Vec<_>>>()?;
        // Assessments: each member loads its own (its token), in order of the plan.
        let now = chrono::Utc::now();
        let plan: Vec<(usize, Value, Value)> = {
            let mut rng = Rng(42);
            (0..args.assessments)
                .map(|_| {
                    let s = rng.below(n as u64) as usize;
                    let member = rng.below(args.members as u64) as usize;
                    // A supplier's quality, with each assessor's noise around it.
                    let quality = (s * 7919 % 5) as i64;
                    let results: Vec<Value> = (1..=11)
                        .map(|c| {
                            let answer = (quality + rng.below(3) as i64 - 1).clamp(0, 4);
                            if rng.below(20) == 0 {
                                json!({"criterion": format!("HB64-{c:02}")})
                            } else {
                                json!({"criterion": format!("HB64-{c:02}"), "answer": answer})
                            }
                        })
                        .collect();
                    let offering: Vec<&String> =
                        if per > 0 && rng.below(2) == 0 { vec![&offerings[s * per + rng.below(per as u64) as usize]] } else { vec![] };
                    let findings = match rng.below(100) {
                        0 => json!([{"severity": "BLOCKER", "description": "unsupervised remote access"}]),
                        1..=5 => json!([{"severity": "HIGH", "description": "no subcontractor audit"}]),
                        _ => json!([]),
                    };
                    let observed = now - chrono::Duration::days(rng.below(300) as i64 + 1);
                    let input = json!({"supplierId": suppliers[s], "offeringIds": offering, "schemeId": "renkei-handbook-6.4",
                        "assessor": "MEMBER", "assurance": ASSURANCE[rng.below(5) as usize], "observed": observed.to_rfc3339(),
                        "results": results, "findings": findings, "conclusion": "ok"});
                    let roll = rng.below(100);
                    let sharing = if roll < args.red_percent {
                        json!({"tlp": "RED", "recipients": [members[(member + 1) % args.members].0]})
                    } else if roll < 90 {
                        json!({"tlp": "GREEN"})
                    } else {
                        json!({"tlp": "AMBER"})
                    };
                    (member, input, sharing)
                })
                .collect()
        };
        let t0 = Instant::now();
        let mut loaded = 0;
        for (m, (_, token)) in members.iter().enumerate() {
            let mine: Vec<&(usize, Value, Value)> = plan.iter().filter(|(member, _, _)| *member == m).collect();
            let answers = load(&args, &endpoint, token, "assessments", mine.len(), |i| {
                let (_, input, sharing) = mine[i];
                (
                    format!("$i{i}: AssessmentInput!, $s{i}: SharingInput!"),
                    format!("submitAssessment(input: $i{i}, sharing: $s{i}) {{ id }}"),
                    Map::from_iter([(format!("i{i}"), input.clone()), (format!("s{i}"), sharing.clone())]),
                )
            })
            .await?;
            for a in &answers {
                id_of(a)?;
            }
            loaded += answers.len();
        }
        let load_secs = t0.elapsed().as_secs_f64();
        println!(
            "loaded: {n} suppliers, {} offerings, {loaded} assessments ({} assessments/s, each refreshing its supplier's ratings)",
            offerings.len(),
            thousands(loaded as f64 / load_secs)
        );
        let rss_loaded = proc.rss_mib();
        let cpu_loaded = proc.cpu();

        // 1. supplier(id) with its rating, offerings and the rating's explanation.
        const SUPPLIER: &str = "query($id: ID!) { supplier(id: $id) { id nameJa offerings { id name sectors } rating { score tier coverage freshnessDays topAssurance assessorCount disagreement flags inputs criteria { criterion points assurance contested } openFindings { severity count } } } }";
        let member_token = &members[0].1;
        let rated = Arc::new(AtomicUsize::new(0));
        eprintln!("supplier(id) with its rating: {} clients for {} s", args.clients, args.seconds);
        let (supplier_lat, supplier_rate) = read_phase(&args, &endpoint, member_token, |rng| {
            let id = suppliers[rng.below(n as u64) as usize].clone();
            let body = json!({"query": SUPPLIER, "variables": {"id": id}});
            let rated = Arc::clone(&rated);
            let check = move |data: &Value| -> Result<()> {
                ensure!(data["supplier"]["id"] == json!(id), "supplier {id} answered {}", data["supplier"]["id"]);
                if data["supplier"]["rating"]["inputs"].as_array().is_some_and(|a| !a.is_empty()) {
                    rated.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            };
            (body, Box::new(check) as Box<dyn Fn(&Value) -> Result<()> + Send>)
        })
        .await?;

        // 2. Name searches: a place and field (about n/400 suppliers), a number (one),
        //    an English word (case-insensitive, n/20), and 株式会社 (everyone).
        const SEARCH: &str = "query($q: String) { suppliers(query: $q, first: 20) { id nameJa nameEn } }";
        let search_body = |rng: &mut Rng| -> (Value, String) {
            let i = rng.below(n as u64) as usize;
            let q = match rng.below(4) {
                0 => format!("{}{}", PLACES[i % 20], FIELDS[(i / 20) % 20]),
                1 => format!("{i:05}"),
                2 => FIELDS_EN[(i / 20) % 20].to_lowercase(),
                _ => "株式会社".to_string(),
            };
            (json!({"query": SEARCH, "variables": {"q": q}}), q)
        };
        let search_check = |q: String| {
            move |data: &Value| -> Result<()> {
                let list = data["suppliers"].as_array().context("no list")?;
                ensure!(!list.is_empty(), "no supplier matches {q:?}");
                for s in list {
                    let text = format!("{} {}", s["nameJa"].as_str().unwrap_or(""), s["nameEn"].as_str().unwrap_or(""))
                        .to_lowercase();
                    ensure!(text.contains(&q.to_lowercase()), "{s} does not match {q:?}");
                }
                Ok(())
            }
        };
        eprintln!("name search: {} clients for {} s", args.clients, args.seconds);
        let (search_lat, search_rate) = read_phase(&args, &endpoint, member_token, |rng| {
            let (body, q) = search_body(rng);
            (body, Box::new(search_check(q)) as Box<dyn Fn(&Value) -> Result<()> + Send>)
        })
        .await?;
        // The same searches filtered on the stored ratings (tier and worsening).
        const FILTERED: &str = "query($q: String) { suppliers(query: $q, first: 20, filter: {tiers: [\"A\", \"B\"], worsenedWithinDays: 90}) { id nameJa nameEn } }";
        eprintln!("filtered search: {} clients for {} s", args.clients, args.seconds);
        let (filtered_lat, filtered_rate) = read_phase(&args, &endpoint, member_token, |rng| {
            let (_, q) = search_body(rng);
            let body = json!({"query": FILTERED, "variables": {"q": q}});
            let check = move |data: &Value| -> Result<()> {
                ensure!(data["suppliers"].is_array(), "no list for {q:?}: {data}");
                Ok(())
            };
            (body, Box::new(check) as Box<dyn Fn(&Value) -> Result<()> + Send>)
        })
        .await?;
        let rss_reads = proc.rss_mib();

        // 3. A new version of the handbook scheme (other weights): every stored rating
        //    is recomputed in the background; the hub reports when it is done.
        let http = http_client()?;
        let schemes: Value = gql(&http, &endpoint, &coord_token,
            &json!({"query": "{ assessmentSchemes { id version nameJa nameEn criteria { id weight textJa textEn } } }"})).await?;
        let mut v2 = schemes["assessmentSchemes"][0].clone();
        v2["version"] = json!("bench-2");
        v2["referenceOnly"] = json!(false);
        v2["defaultValidityDays"] = json!(365);
        for (k, c) in v2["criteria"].as_array_mut().context("criteria")?.iter_mut().enumerate() {
            c["weight"] = json!(1.0 + (k % 3) as f64);
        }
        let cpu_before = proc.cpu();
        let t0 = Instant::now();
        let _: Value = gql(&http, &endpoint, &coord_token, &json!({"query": "mutation($i: AssessmentSchemeInput!) { addAssessmentScheme(input: $i) { version } }", "variables": {"i": v2}})).await?;
        const STATUS: &str = "{ ratingRecompute { running seconds suppliers ratingsWritten events error } }";
        let status = loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let data: Value = gql(&http, &endpoint, &coord_token, &json!({"query": STATUS})).await?;
            let st = data["ratingRecompute"].clone();
            if st["running"] == json!(false) {
                break st;
            }
            ensure!(t0.elapsed() < Duration::from_secs(1800), "the recomputation did not finish in 30 minutes");
        };
        let wall = t0.elapsed().as_secs_f64();
        ensure!(status["error"].is_null(), "the recomputation failed: {status}");
        let hub_secs = status["seconds"].as_f64().context("seconds")?;
        let recompute_cpu = proc.cpu() - cpu_before;

        println!();
        println!("supplier-bench, {} backend, {} CPUs", args.backend.name(), std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0));
        println!("data: {n} suppliers, {} offerings, {loaded} assessments from {} members ({} % RED)", offerings.len(), args.members, args.red_percent);
        report("supplier(id) with rating", &supplier_lat, supplier_rate, Some(TARGET_SUPPLIER_P99_MS));
        println!("  (answers with a rating from at least one assessment: {})", rated.load(Ordering::Relaxed));
        report("suppliers(query) name search", &search_lat, search_rate, Some(TARGET_SEARCH_P99_MS));
        report("suppliers(query, rating filter)", &filtered_lat, filtered_rate, None);
        println!(
            "recompute after a scheme change    {hub_secs:.1} s in the hub ({wall:.1} s until reported; hub CPU {recompute_cpu:.1} s)  [{} ≤ {TARGET_RECOMPUTE_S} s]",
            verdict(hub_secs <= TARGET_RECOMPUTE_S)
        );
        println!(
            "  suppliers {}, ratings written {}, rating-change events {}",
            status["suppliers"], status["ratingsWritten"], status["events"]
        );
        println!("hub: RSS {rss_loaded:.0} MiB after loading, {rss_reads:.0} MiB after reads, peak {:.0} MiB; CPU {cpu_loaded:.0} s loading", proc.hwm_mib());
        if let Some(db) = &pg {
            println!("database size: {:.0} MiB", db.size_bytes().unwrap_or(0) as f64 / 1048576.0);
        }
        anyhow::Ok(())
    });
    if let Err(e) = outcome {
        eprintln!("hub log (last lines):\n{}", hub.log_tail());
        return Err(e);
    }
    drop(pg);
    Ok(())
}
