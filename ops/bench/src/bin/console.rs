//! console-bench: the web console's speed goal (issue 19), on a real `renkei-hub`
//! process over plain HTTP on loopback:
//!
//! > Every console page renders on the server in ≤ 50 ms p95 with 1,000,000 indicators
//! > and 10,000 suppliers stored; a page's HTML, CSS and script together stay under
//! > 200 KB.
//!
//! The hub is filled through its API as members fill it (`shareIndicators` batches with
//! mixed labels, a new member's submissions waiting in the moderation queue, suppliers
//! with offerings, subcontractors and assessments), then each page is opened as its real
//! user opens it: signed in with a token through the sign-in form (a coordinator with
//! the TOTP factor it enrolled with its one-time code), with the session cookie, in
//! Japanese by default. Per page: a warm-up, then `--clients` closed loops (default one:
//! the figure is the server's time per page, not throughput) for `--seconds`. Every
//! answer must be 200 with the page's content marker, or the bench stops. Pages that are
//! not in the hub under test (an optional route answering 404) are listed as absent.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{bail, ensure, Context as _, Result};
use clap::Parser;
use renkei_bench::harness::*;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The goal: server render time p95, per page.
const TARGET_P95_MS: f64 = 50.0;
/// The goal: HTML + CSS + script of a page, in bytes ("200 KB", read as 200,000 bytes).
const TARGET_WEIGHT_BYTES: usize = 200_000;
/// Stored values the search page's known half is drawn from.
const KNOWN_POOL: usize = 10_000;
/// Values never shared, for the search page's unknown half.
const UNKNOWN_POOL: u64 = 10_000;
/// The supplier procurement searches for by name, and the fragment it types.
const KNOWN_SUPPLIER_JA: &str = "関東送電保守株式会社";
const KNOWN_SUPPLIER_EN: &str = "Kanto Transmission Maintenance KK";
const KNOWN_FRAGMENT: &str = "送電保守";
/// A fragment in every supplier's name.
const BROAD_FRAGMENT: &str = "株式会社";
/// Assessments of the known supplier (its rating history).
const KNOWN_SUPPLIER_ASSESSMENTS: usize = 30;

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
    "保安",
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
    "Safety",
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
#[command(name = "console-bench", about = "Web console page speed and weight on a real renkei-hub on loopback")]
struct Args {
    #[arg(long, value_enum, default_value = "postgres")]
    backend: Backend,
    /// Indicators stored (shared through shareIndicators by several members).
    #[arg(long, default_value_t = 1_000_000)]
    indicators: u64,
    /// Indicators per shareIndicators call.
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    /// Member organisations (one of them `--trust new`, its submissions queued).
    #[arg(long, default_value_t = 20)]
    members: usize,
    /// Of the members, how many share the indicators (member 0, whose analyst opens the
    /// member pages, among them).
    #[arg(long, default_value_t = 5)]
    sharers: usize,
    /// Indicators the new member submits (each waits in the moderation queue).
    #[arg(long, default_value_t = 200)]
    queued: usize,
    #[arg(long, default_value_t = 10_000)]
    suppliers: usize,
    #[arg(long, default_value_t = 3)]
    offerings_per_supplier: usize,
    #[arg(long, default_value_t = 20_000)]
    assessments: usize,
    /// Mutations per request while loading suppliers (aliases of one request).
    #[arg(long, default_value_t = 50)]
    per_request: usize,
    /// Loading requests in flight at once.
    #[arg(long, default_value_t = 3)]
    in_flight: usize,
    /// Closed request loops per page (each its own connection, the same session).
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// How long each page is measured.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Unmeasured requests per client before a page is measured.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Measured requests per page at least, however long they take.
    #[arg(long, default_value_t = 20)]
    min_samples: usize,
    /// The language the pages are asked in (Accept-Language).
    #[arg(long, default_value = "ja")]
    lang: String,
    /// Measure only the pages whose name contains this.
    #[arg(long)]
    only: Option<String>,
    #[arg(long)]
    hub_bin: Option<std::path::PathBuf>,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_base: String,
    #[arg(long, default_value = "sslmode=disable")]
    pg_hub_params: String,
}

// ---------------------------------------------------------------------------
// Data.

/// The n-th indicator (as renkei-bench's): a quarter SHA-256 hashes, a quarter
/// domains, half IPv4s. Unique for n < 2^24.
fn indicator(n: u64) -> (&'static str, String) {
    match n % 4 {
        0 => {
            let digest = ring::digest::digest(&ring::digest::SHA256, format!("renkei-bench-{n}").as_bytes());
            ("SHA256", hex::encode(digest.as_ref()))
        }
        1 => ("DOMAIN", format!("h{n}.bench.example")),
        _ => ("IPV4", format!("45.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)),
    }
}

/// A batch's sharer (an index into the sharing members) and label: ~2 % TLP:RED for
/// the next sharing member, ~1 % GREEN anonymous, a third AMBER, the rest GREEN.
fn batch_sharing(b: u64, sharers: &[Member]) -> (usize, Value, bool) {
    let m = (b % sharers.len() as u64) as usize;
    match b % 100 {
        7 | 57 => {
            let to = &sharers[(m + 1) % sharers.len()].org;
            (m, json!({"tlp": "RED", "recipients": [to]}), false)
        }
        13 => (m, json!({"tlp": "GREEN", "anonymous": true}), true),
        x if x % 3 == 0 => (m, json!({"tlp": "AMBER"}), true),
        _ => (m, json!({"tlp": "GREEN"}), true),
    }
}

struct Member {
    org: String,
    analyst: String,
    procurement: String,
}

const SHARE: &str =
    "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id } }";

fn ids_of(data: &Value, field: &str) -> Result<Vec<String>> {
    data[field]
        .as_array()
        .with_context(|| format!("no {field} in {data}"))?
        .iter()
        .map(|v| v["id"].as_str().map(str::to_string).with_context(|| format!("no id in {v}")))
        .collect()
}

/// Shares `count` indicators in batches, several members by turns; returns stored
/// values (with their ids) that member 0 may read, about `KNOWN_POOL` spread evenly.
async fn share_indicators(args: &Args, endpoint: &str, sharers: &[Member]) -> Result<Vec<(String, String)>> {
    let batches = args.indicators.div_ceil(args.batch);
    let stride = (args.indicators / KNOWN_POOL as u64).max(1);
    let next = AtomicUsize::new(0);
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let known = Mutex::new(Vec::new());
    progress("indicators", Arc::clone(&done), args.indicators, Arc::clone(&stop));
    let t0 = Instant::now();
    let (next, known_ref, done_ref) = (&next, &known, &done);
    let workers = (0..args.in_flight.max(1)).map(|_| async move {
        let http = http_client()?;
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed) as u64;
            if b >= batches {
                return anyhow::Ok(());
            }
            let (first, last) = (b * args.batch, ((b + 1) * args.batch).min(args.indicators));
            let values: Vec<(&str, String)> = (first..last).map(indicator).collect();
            let input: Vec<Value> = values.iter().map(|(t, v)| json!({"type": t, "value": v})).collect();
            let (m, sharing, readable) = batch_sharing(b, sharers);
            let body = json!({"query": SHARE, "variables": {"i": input, "s": sharing}});
            let data: Value = gql(&http, endpoint, &sharers[m].analyst, &body)
                .await
                .with_context(|| format!("sharing indicators {first}..{last}"))?;
            let ids = ids_of(&data, "shareIndicators")?;
            ensure!(ids.len() == values.len(), "shared {first}..{last}: {} ids answered", ids.len());
            if readable {
                let mut known = known_ref.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                for (k, ((_, value), id)) in values.into_iter().zip(ids).enumerate() {
                    if (first + k as u64).is_multiple_of(stride) {
                        known.push((value, id));
                    }
                }
            }
            done_ref.fetch_add((last - first) as usize, Ordering::Relaxed);
        }
    });
    let results = futures::future::join_all(workers).await;
    stop.store(true, Ordering::Relaxed);
    results.into_iter().collect::<Result<Vec<()>>>()?;
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "  indicators: {} in {secs:.1} s ({} /s)",
        thousands(args.indicators as f64),
        thousands(args.indicators as f64 / secs)
    );
    known.into_inner().map_err(|_| anyhow::anyhow!("poisoned"))
}

/// Sends `count` mutations built by `one(i)` (its variable declarations, its field and
/// its variables), `per_request` to a request as aliases, `in_flight` requests at once;
/// returns what every alias answered, in order (as supplier-bench loads).
async fn load(
    args: &Args,
    url: &str,
    token: &str,
    what: &'static str,
    count: usize,
    one: impl Fn(usize) -> (String, String, Map<String, Value>),
) -> Result<Vec<Value>> {
    let http = http_client()?;
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    progress(what, Arc::clone(&done), count as u64, Arc::clone(&stop));
    let t0 = Instant::now();
    let per = args.per_request.max(1);
    let chunks: Vec<(usize, usize)> = (0..count).step_by(per).map(|a| (a, (a + per).min(count))).collect();
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
            for (i, slot) in out.iter_mut().enumerate().take(b).skip(a) {
                *slot = data[format!("m{i}")].clone();
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

/// What was loaded, for the pages' requests.
struct Loaded {
    /// Stored values member 0 may read, with their item ids.
    known: Vec<(String, String)>,
    /// Values never shared (searched for).
    unknown: Vec<String>,
    /// Other values never shared (pasted into the share form, never confirmed).
    fresh: Vec<String>,
    /// The new member's queued items.
    queued: Vec<String>,
    suppliers: Vec<String>,
    /// Suppliers with at least one assessment.
    assessed: Vec<String>,
}

async fn load_suppliers(
    args: &Args,
    endpoint: &str,
    coordinator: &str,
    assessors: &[Member],
) -> Result<(Vec<String>, Vec<String>)> {
    let n = args.suppliers;
    let name_ja = |i: usize| {
        if i == 0 {
            KNOWN_SUPPLIER_JA.to_string()
        } else {
            format!("{}{}{BROAD_FRAGMENT}{i:05}", PLACES[i % 20], FIELDS[(i / 20) % 20])
        }
    };
    let name_en = |i: usize| {
        if i == 0 {
            KNOWN_SUPPLIER_EN.to_string()
        } else {
            format!("{} KK {i:05}", FIELDS_EN[(i / 20) % 20])
        }
    };
    let suppliers = load(args, endpoint, coordinator, "suppliers", n, |i| {
        let input = json!({"legalName": name_ja(i), "nameJa": name_ja(i), "nameEn": name_en(i), "country": "JP"});
        (
            format!("$v{i}: SupplierInput!"),
            format!("addSupplier(input: $v{i}) {{ id }}"),
            Map::from_iter([(format!("v{i}"), input)]),
        )
    })
    .await?
    .iter()
    .map(id_of)
    .collect::<Result<Vec<_>>>()?;
    // Offerings, each relying on one or two other suppliers (the supply chain).
    let per = args.offerings_per_supplier;
    let offerings = load(args, endpoint, coordinator, "offerings", n * per, |i| {
        let s = i / per.max(1);
        let subcontractors: Vec<&String> = [(s * 7 + i % per.max(1) + 1) % n, (s * 13 + 5) % n]
            .into_iter()
            .take(1 + i % 2)
            .filter(|&c| c != s)
            .map(|c| &suppliers[c])
            .collect();
        let input = json!({"supplierId": suppliers[s], "name": format!("製品 {i}"), "kind": KINDS[i % 6],
            "sectors": [SECTORS[i % 6], SECTORS[(i / 6) % 6]], "subcontractorIds": subcontractors});
        (
            format!("$v{i}: OfferingInput!"),
            format!("addOffering(input: $v{i}) {{ id }}"),
            Map::from_iter([(format!("v{i}"), input)]),
        )
    })
    .await?
    .iter()
    .map(id_of)
    .collect::<Result<Vec<_>>>()?;
    // Assessments as supplier-bench plans them; the known supplier gets the first few
    // (its rating history).
    let now = chrono::Utc::now();
    let members = assessors.len();
    let mut assessed = BTreeSet::new();
    let plan: Vec<(usize, Value, Value)> = {
        let mut rng = Rng(42);
        (0..args.assessments)
            .map(|k| {
                let s = if k < KNOWN_SUPPLIER_ASSESSMENTS { 0 } else { rng.below(n as u64) as usize };
                let member = rng.below(members as u64) as usize;
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
                let offering: Vec<&String> = if per > 0 && rng.below(2) == 0 {
                    vec![&offerings[s * per + rng.below(per as u64) as usize]]
                } else {
                    vec![]
                };
                let findings = match rng.below(100) {
                    0 => json!([{"severity": "BLOCKER", "description": "保守用リモート接続が無監視"}]),
                    1..=5 => json!([{"severity": "HIGH", "description": "再委託先の監査なし"}]),
                    _ => json!([]),
                };
                let observed = now - chrono::Duration::days(rng.below(300) as i64 + 1);
                let input = json!({"supplierId": suppliers[s], "offeringIds": offering, "schemeId": "renkei-handbook-6.4",
                    "assessor": "MEMBER", "assurance": ASSURANCE[rng.below(5) as usize], "observed": observed.to_rfc3339(),
                    "results": results, "findings": findings, "conclusion": "ok"});
                let roll = rng.below(100);
                let sharing = if roll < 2 {
                    json!({"tlp": "RED", "recipients": [assessors[(member + 1) % members].org]})
                } else if roll < 90 {
                    assessed.insert(s);
                    json!({"tlp": "GREEN"})
                } else {
                    assessed.insert(s);
                    json!({"tlp": "AMBER"})
                };
                (member, input, sharing)
            })
            .collect()
    };
    for (m, member) in assessors.iter().enumerate() {
        let mine: Vec<&(usize, Value, Value)> = plan.iter().filter(|(who, _, _)| *who == m).collect();
        let answers = load(args, endpoint, &member.procurement, "assessments", mine.len(), |i| {
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
    }
    let assessed = assessed.into_iter().map(|s| suppliers[s].clone()).collect();
    Ok((suppliers, assessed))
}

// ---------------------------------------------------------------------------
// A browser-like console session: the session cookie kept, redirects not followed.

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
    took: Duration,
}

#[derive(Clone)]
struct Console {
    http: reqwest::Client,
    base: String,
    lang: String,
    cookies: BTreeMap<String, String>,
    /// The session's CSRF secret, from the last page with a form.
    csrf: Option<String>,
}

impl Console {
    fn new(base: &str, lang: &str) -> Result<Console> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(600))
            .build()?;
        Ok(Console { http, base: base.to_string(), lang: lang.to_string(), cookies: BTreeMap::new(), csrf: None })
    }

    /// The same session on a connection of its own.
    fn fork(&self) -> Result<Console> {
        let mut other = Console::new(&self.base, &self.lang)?;
        other.cookies = self.cookies.clone();
        other.csrf = self.csrf.clone();
        Ok(other)
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// Sends a request; `took` runs from the send to the last byte of the body.
    async fn send(&mut self, request: reqwest::RequestBuilder, what: &str) -> Result<Answer> {
        let request = request
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(reqwest::header::ACCEPT_LANGUAGE, &self.lang);
        let t0 = Instant::now();
        let response = request.send().await.with_context(|| what.to_string())?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.with_context(|| format!("{what}: reading the page"))?;
        let took = t0.elapsed();
        for value in headers.get_all(reqwest::header::SET_COOKIE) {
            let text = value.to_str().unwrap_or_default();
            if let Some((name, value)) = text.split(';').next().unwrap_or_default().split_once('=') {
                if value.is_empty() || text.to_ascii_lowercase().contains("max-age=0") {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies.insert(name.trim().to_string(), value.trim().to_string());
                }
            }
        }
        let location = headers.get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = String::from_utf8(bytes.to_vec()).with_context(|| format!("{what}: not UTF-8"))?;
        if let Some(csrf) = between(&body, "name=\"csrf\" value=\"", "\"") {
            self.csrf = Some(csrf);
        }
        Ok(Answer { status, location, body, took })
    }

    async fn get(&mut self, path: &str) -> Result<Answer> {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request, &format!("GET {path}")).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<Answer> {
        let body =
            fields.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect::<Vec<_>>().join("&");
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request, &format!("POST {path}")).await
    }

    /// Posts a form with the session's CSRF secret, as the page's form does.
    async fn submit(&mut self, path: &str, fields: &[(String, String)]) -> Result<Answer> {
        let csrf = self.csrf.clone().context("no page with a CSRF secret was read in this session")?;
        let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        all.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.post(path, &all).await
    }

    /// Signs in with a token through the sign-in form; returns where the hub sends the
    /// session next (`/console/`, `/console/enrol`, `/console/second-factor`).
    async fn sign_in(&mut self, token: &str) -> Result<String> {
        let form = self.get("/console/sign-in").await?;
        ensure!(form.status == 200, "GET /console/sign-in answered {}", form.status);
        let pre = between(&form.body, "name=\"pre\" value=\"", "\"").context("no sign-in form")?;
        let answer = self.post("/console/sign-in", &[("token", token), ("pre", &pre)]).await?;
        ensure!(answer.status == 303, "sign-in answered {}: {}", answer.status, excerpt(&answer.body));
        answer.location.context("sign-in without a redirect")
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The text between `start` and the next `end` (entities decoded).
fn between(body: &str, start: &str, end: &str) -> Option<String> {
    let a = body.find(start)? + start.len();
    let b = body[a..].find(end)? + a;
    Some(decode_entities(&body[a..b]))
}

/// What a person reads in a page's `<main>`, shortened (for error messages).
fn excerpt(body: &str) -> String {
    let main = match (body.find("<main"), body.find("</main>")) {
        (Some(a), Some(b)) if a < b => &body[a..b],
        _ => body,
    };
    let mut text = String::new();
    let mut in_tag = false;
    for ch in main.chars() {
        match ch {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = decode_entities(&text).split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(600).collect()
}

/// The token id of a token (`rk_<id>_<secret>`).
fn token_id(token: &str) -> Result<&str> {
    token.strip_prefix("rk_").and_then(|rest| rest.split('_').next()).context("not a renkei token")
}

/// A coordinator's first sign-in: the enrolment page's TOTP secret registered with the
/// one-time code from `renkei-hub token enrol`; the session is active after it.
async fn enrol_coordinator(console: &mut Console, token: &str, enrolment_code: &str) -> Result<()> {
    let to = console.sign_in(token).await?;
    ensure!(to == "/console/enrol", "a coordinator without a second factor was sent to {to}");
    let page = console.get("/console/enrol").await?;
    ensure!(page.status == 200, "GET /console/enrol answered {}", page.status);
    let secret = between(&page.body, "id=\"totp-secret\">", "<").context("no TOTP secret on the enrolment page")?;
    let csrf = between(&page.body, "name=\"csrf\" value=\"", "\"").context("no CSRF secret on the enrolment page")?;
    let key = renkei_schema::second_factor::totp::from_base32(&secret).context("the TOTP secret is not base32")?;
    let code = renkei_schema::second_factor::totp::code_at(&key, chrono::Utc::now().timestamp());
    let done = console
        .post(
            "/console/enrol/totp",
            &[
                ("csrf", &csrf),
                ("enrolment_code", enrolment_code),
                ("secret", &secret),
                ("code", &code),
                ("label", "bench phone"),
            ],
        )
        .await?;
    ensure!(done.status == 303, "TOTP enrolment refused ({}): {}", done.status, excerpt(&done.body));
    let dashboard = console.get("/console/dashboard").await?;
    ensure!(dashboard.status == 200, "the enrolled coordinator's dashboard answered {}", dashboard.status);
    Ok(())
}

// ---------------------------------------------------------------------------
// Pages.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Anonymous,
    SecondFactor,
    Enrolling,
    Analyst,
    NewMember,
    Coordinator,
    Procurement,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Anonymous => "anyone",
            Who::SecondFactor => "coord (2FA)",
            Who::Enrolling => "coord (enrol)",
            Who::Analyst => "analyst",
            Who::NewMember => "new member",
            Who::Coordinator => "coordinator",
            Who::Procurement => "procurement",
        }
    }
}

/// One request of a page: where, the form it posts (a page answered to a form that
/// stores nothing: a confirmation, a preview), and what its answer must contain.
struct Request {
    path: String,
    form: Option<Vec<(String, String)>>,
    markers: Vec<String>,
}

impl Request {
    fn get(path: String, markers: Vec<String>) -> Request {
        Request { path, form: None, markers }
    }

    async fn send(&self, console: &mut Console) -> Result<Answer> {
        match &self.form {
            None => console.get(&self.path).await,
            Some(fields) => console.submit(&self.path, fields).await,
        }
    }
}

type MakeRequest = Box<dyn Fn(&mut Rng) -> Request + Send + Sync>;

struct PageSpec {
    name: &'static str,
    who: Who,
    /// The route (ids as `{id}`), to tell which linked pages were not measured.
    route: &'static str,
    /// A page not every build has: a 404 on the first request (or, for a form, a 303:
    /// a hub without the confirmation step) lists it as absent.
    optional: bool,
    make: MakeRequest,
}

fn page(
    name: &'static str,
    who: Who,
    route: &'static str,
    optional: bool,
    make: impl Fn(&mut Rng) -> Request + Send + Sync + 'static,
) -> PageSpec {
    PageSpec { name, who, route, optional, make: Box::new(make) }
}

fn fixed(path: &str, markers: &[&str]) -> impl Fn(&mut Rng) -> Request + Send + Sync + 'static {
    let path = path.to_string();
    let markers: Vec<String> = markers.iter().map(|m| m.to_string()).collect();
    move |_| Request::get(path.clone(), markers.clone())
}

fn pick<'a>(rng: &mut Rng, from: &'a [String]) -> &'a String {
    &from[rng.below(from.len() as u64) as usize]
}

fn pages(data: Arc<Loaded>) -> Vec<PageSpec> {
    let d = || Arc::clone(&data);
    let mut out = vec![
        page("sign-in form", Who::Anonymous, "/console/sign-in", false, fixed("/console/sign-in", &["name=\"pre\""])),
        page(
            "second factor (sign-in)",
            Who::SecondFactor,
            "/console/second-factor",
            false,
            fixed("/console/second-factor", &["action=\"/console/second-factor/totp\""]),
        ),
        page(
            "enrolment (first factor)",
            Who::Enrolling,
            "/console/enrol",
            false,
            fixed("/console/enrol", &["id=\"totp-secret\"", "name=\"enrolment_code\""]),
        ),
        page("search, empty", Who::Analyst, "/console/search", false, fixed("/console/search", &["id=\"q\""])),
    ];
    let data_search = d();
    out.push(page("search, 100 values (50 known)", Who::Analyst, "/console/search", false, move |rng| {
        let mut values = Vec::with_capacity(100);
        let mut markers = vec!["id=\"results\"".to_string()];
        for _ in 0..50 {
            let (value, id) = &data_search.known[rng.below(data_search.known.len() as u64) as usize];
            values.push(value.clone());
            markers.push(format!("href=\"/console/items/{id}\""));
        }
        for _ in 0..50 {
            values.push(pick(rng, &data_search.unknown).clone());
        }
        Request::get(format!("/console/search?q={}", form_encode(&values.join("\n"))), markers)
    }));
    let data_item = d();
    out.push(page("item", Who::Analyst, "/console/items/{id}", false, move |rng| {
        let (value, id) = &data_item.known[rng.below(data_item.known.len() as u64) as usize];
        Request::get(format!("/console/items/{id}"), vec!["id=\"fields\"".into(), value.clone()])
    }));
    out.push(page(
        "share: indicators",
        Who::Analyst,
        "/console/share",
        false,
        fixed("/console/share", &["id=\"share-form\""]),
    ));
    for (name, path) in [
        ("share: technique", "/console/share/technique"),
        ("share: incident", "/console/share/incident"),
        ("share: advisory", "/console/share/advisory"),
    ] {
        out.push(page(name, Who::Analyst, "/console/share/{kind}", true, fixed(path, &["id=\"share-form\""])));
    }
    // The summary shown before 100 pasted indicators are shared (who will read them):
    // the answer to the share form's first post; nothing is stored until it is confirmed.
    let data_confirm = d();
    out.push(page("share: confirm 100 indicators", Who::Analyst, "/console/share", true, move |rng| {
        let start = rng.below(data_confirm.fresh.len().saturating_sub(100).max(1) as u64) as usize;
        let values = data_confirm.fresh[start..(start + 100).min(data_confirm.fresh.len())].join("\n");
        let form = [("values", values.as_str()), ("tlp", "TLP:AMBER"), ("description", "制御LANで観測")];
        Request {
            path: "/console/share".into(),
            form: Some(form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            markers: vec!["id=\"share-summary\"".into(), "id=\"confirm-form\"".into()],
        }
    }));
    out.push(page(
        "exports",
        Who::Analyst,
        "/console/exports",
        true,
        fixed("/console/exports", &["id=\"export-indicators\""]),
    ));
    out.push(page(
        "my submissions",
        Who::Analyst,
        "/console/submissions",
        false,
        fixed("/console/submissions", &["id=\"submissions\""]),
    ));
    out.push(page(
        "my submissions (queued)",
        Who::NewMember,
        "/console/submissions",
        false,
        fixed("/console/submissions", &["id=\"submissions\""]),
    ));
    out.push(page(
        "account",
        Who::Analyst,
        "/console/account",
        false,
        fixed("/console/account", &["id=\"totp-secret\""]),
    ));
    out.push(page(
        "dashboard",
        Who::Coordinator,
        "/console/dashboard",
        false,
        fixed("/console/dashboard", &["id=\"queue-length\""]),
    ));
    out.push(page(
        "moderation queue",
        Who::Coordinator,
        "/console/moderation",
        false,
        fixed("/console/moderation", &["id=\"queue\"", "href=\"/console/moderation/"]),
    ));
    let data_queued = d();
    out.push(page("queued item", Who::Coordinator, "/console/moderation/{id}", false, move |rng| {
        Request::get(
            format!("/console/moderation/{}", pick(rng, &data_queued.queued)),
            vec!["id=\"queued-because\"".into(), "id=\"decision-form\"".into()],
        )
    }));
    // The preview of an approval with a redaction: a page answered to a form, nothing saved.
    let data_preview = d();
    out.push(page("queued item: preview redaction", Who::Coordinator, "/console/moderation/{id}", false, move |rng| {
        let form = [("action", "preview"), ("revision", "1"), ("redact", "変電所")];
        Request {
            path: format!("/console/moderation/{}", pick(rng, &data_preview.queued)),
            form: Some(form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            markers: vec!["id=\"preview\"".into(), "[REDACTED]".into()],
        }
    }));
    for (name, path, marker) in [
        ("admin", "/console/admin", "id=\"admin-sections\""),
        ("admin: organisations", "/console/admin/organizations", "id=\"organizations\""),
        ("admin: tokens", "/console/admin/tokens", "id=\"tokens\""),
        ("admin: policy", "/console/admin/policy", "id=\"policy-form\""),
        ("admin: allowlists", "/console/admin/allowlists", "id=\"import-allowlist\""),
        ("admin: peers", "/console/admin/peers", "<main id=\"main\">"),
        ("admin: audit log", "/console/admin/audit", "id=\"audit-chain\""),
        ("admin: audit log, chain check asked", "/console/admin/audit?verify=1", "id=\"audit-chain\""),
    ] {
        let route = if path.ends_with("?verify=1") { "/console/admin/audit" } else { path };
        out.push(page(name, Who::Coordinator, route, true, fixed(path, &[marker])));
    }
    out.push(page(
        "suppliers, no query",
        Who::Procurement,
        "/console/suppliers",
        false,
        fixed("/console/suppliers", &["id=\"suppliers\""]),
    ));
    let known_path = format!("/console/suppliers?q={}", form_encode(KNOWN_FRAGMENT));
    out.push(page(
        "suppliers: 送電保守 (1 match)",
        Who::Procurement,
        "/console/suppliers",
        false,
        fixed(&known_path, &["id=\"suppliers\"", KNOWN_SUPPLIER_JA]),
    ));
    let broad_path = format!("/console/suppliers?q={}", form_encode(BROAD_FRAGMENT));
    out.push(page(
        "suppliers: 株式会社 (all match)",
        Who::Procurement,
        "/console/suppliers",
        false,
        fixed(&broad_path, &["id=\"suppliers\""]),
    ));
    let data_supplier = d();
    out.push(page("supplier (assessed, random)", Who::Procurement, "/console/suppliers/{id}", false, move |rng| {
        Request::get(
            format!("/console/suppliers/{}", pick(rng, &data_supplier.assessed)),
            vec!["id=\"criteria\"".into(), "id=\"assessments\"".into()],
        )
    }));
    let known_supplier = format!("/console/suppliers/{}", data.suppliers[0]);
    out.push(page(
        "supplier (30 assessments, history)",
        Who::Procurement,
        "/console/suppliers/{id}",
        false,
        fixed(&known_supplier, &["id=\"criteria\"", "id=\"history\"", KNOWN_SUPPLIER_JA]),
    ));
    // The known supplier beside three assessed others.
    let others: Vec<String> = data.assessed.iter().filter(|s| **s != data.suppliers[0]).cloned().collect();
    let columns = 4.min(others.len() + 1);
    let known_id = data.suppliers[0].clone();
    out.push(page("compare 4 suppliers", Who::Procurement, "/console/suppliers/compare", true, move |rng| {
        let mut ids = vec![known_id.clone()];
        while ids.len() < columns {
            let id = pick(rng, &others);
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        let query: Vec<String> = ids.iter().map(|i| format!("id={i}")).collect();
        Request::get(
            format!("/console/suppliers/compare?{}", query.join("&")),
            vec!["id=\"compare\"".into(), KNOWN_SUPPLIER_JA.into()],
        )
    }));
    out.push(page(
        "supply chain (関東送電保守)",
        Who::Procurement,
        "/console/suppliers/{id}/chain",
        true,
        fixed(&format!("{known_supplier}/chain"), &["id=\"chain-list\""]),
    ));
    let data_assess = d();
    out.push(page("assessment form", Who::Procurement, "/console/suppliers/{id}/assess", true, move |rng| {
        Request::get(
            format!("/console/suppliers/{}/assess", pick(rng, &data_assess.suppliers)),
            vec!["id=\"assess-form\"".into()],
        )
    }));
    out
}

/// A measured page.
struct Measured {
    name: &'static str,
    who: Who,
    lat: Latencies,
    /// The largest HTML answer seen.
    html: usize,
    /// Style sheets and scripts the page references.
    assets: Vec<String>,
    /// A page as it was last answered (for its links).
    last: String,
}

fn check(spec: &PageSpec, request: &Request, answer: &Answer) -> Result<()> {
    ensure!(
        answer.status == 200,
        "{}: {} {} answered {}{}: {}",
        spec.name,
        if request.form.is_some() { "POST" } else { "GET" },
        request.path,
        answer.status,
        answer.location.as_deref().map(|l| format!(" to {l}")).unwrap_or_default(),
        excerpt(&answer.body)
    );
    for marker in &request.markers {
        ensure!(
            answer.body.contains(marker.as_str()),
            "{}: {} {}: the page lacks {marker:?}: {}",
            spec.name,
            if request.form.is_some() { "POST" } else { "GET" },
            request.path,
            excerpt(&answer.body)
        );
    }
    Ok(())
}

/// Every value of `attr` in tags named `tag` that contain `having` (`<link
/// rel="stylesheet" href>`, `<script src>`).
fn tag_attrs(body: &str, tag: &str, having: &str, attr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let open = format!("<{tag} ");
    let needle = format!(" {attr}=\"");
    let mut rest = body;
    while let Some(i) = rest.find(&open) {
        let end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
        let element = &rest[i..end];
        if element.contains(having) {
            if let Some(v) = between(element, &needle, "\"") {
                out.push(v);
            }
        }
        rest = &rest[end..];
    }
    out
}

fn assets_of(body: &str) -> Vec<String> {
    let mut out = tag_attrs(body, "link", "stylesheet", "href");
    out.extend(tag_attrs(body, "script", "src", "src"));
    out.sort();
    out.dedup();
    out
}

/// Measures one page: a probe (absent if optional and 404), `--warmup` requests per
/// client, then `--clients` closed loops for `--seconds` (and `--min-samples` at least).
async fn measure(args: &Args, spec: &PageSpec, session: &Console) -> Result<Option<Measured>> {
    let mut probe = session.fork()?;
    let request = (spec.make)(&mut Rng(7));
    let first = request.send(&mut probe).await?;
    if spec.optional && (first.status == 404 || (request.form.is_some() && first.status == 303)) {
        return Ok(None);
    }
    check(spec, &request, &first)?;
    let clients = args.clients.max(1);
    let start = tokio::sync::Barrier::new(clients);
    let per_client = args.min_samples.div_ceil(clients);
    let runs = (0..clients).map(|c| {
        let start = &start;
        async move {
            let mut console = session.fork()?;
            let mut rng = Rng(0xC0FFEE + c as u64);
            for _ in 0..args.warmup {
                let request = (spec.make)(&mut rng);
                let answer = request.send(&mut console).await?;
                check(spec, &request, &answer)?;
            }
            start.wait().await;
            let deadline = Instant::now() + Duration::from_secs(args.seconds);
            let (mut times, mut html, mut last) = (Vec::new(), 0, String::new());
            while Instant::now() < deadline || times.len() < per_client {
                let request = (spec.make)(&mut rng);
                let answer = request.send(&mut console).await?;
                check(spec, &request, &answer)?;
                times.push(answer.took);
                html = html.max(answer.body.len());
                last = answer.body;
            }
            anyhow::Ok((times, html, last))
        }
    });
    let mut all = Vec::new();
    let (mut html, mut last) = (first.body.len(), first.body);
    for run in futures::future::join_all(runs).await {
        let (times, h, l) = run?;
        all.extend(times);
        if h >= html {
            html = h;
            last = l;
        }
    }
    Ok(Some(Measured {
        name: spec.name,
        who: spec.who,
        lat: Latencies::new(all),
        html,
        assets: assets_of(&last),
        last,
    }))
}

/// `text` padded with spaces to `width` terminal columns (CJK characters take two).
fn padded(text: &str, width: usize) -> String {
    let columns: usize = text.chars().map(|c| if u32::from(c) >= 0x2E80 { 2 } else { 1 }).sum();
    format!("{text}{}", " ".repeat(width.saturating_sub(columns)))
}

/// A console link's route: the query dropped, ids as `{id}`.
fn route_of(href: &str) -> String {
    let path = href.split(['?', '#']).next().unwrap_or_default();
    path.split('/')
        .map(|seg| {
            if seg.contains("--") || (seg.len() >= 16 && seg.chars().any(|c| c.is_ascii_digit())) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn console_links(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find("href=\"/console/") {
        let start = i + "href=\"".len();
        let end = rest[start..].find('"').map_or(rest.len(), |e| start + e);
        out.push(decode_entities(&rest[start..end]));
        rest = &rest[end..];
    }
    out
}

// ---------------------------------------------------------------------------

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.members >= 3, "--members must be at least 3 (sharers, a new member, a coordinator's view)");
    ensure!(args.sharers >= 2 && args.sharers < args.members, "--sharers must be at least 2 and fewer than --members");
    ensure!(args.suppliers >= 5, "--suppliers must be at least 5");
    ensure!(args.indicators >= args.batch && args.batch >= 1, "--indicators must be at least one --batch");
    ensure!(args.queued >= 1, "--queued must be at least 1");
    ensure!(
        args.indicators + UNKNOWN_POOL + 1000 < 1 << 24,
        "--indicators must stay below 16,767,000 (unique IPv4 values)"
    );
    let hub_bin = hub_binary(args.hub_bin.as_deref())?;
    let tmp = TempDir::new()?;
    let (pg, url) = database(args.backend, &args.pg_base, &args.pg_hub_params, &tmp)?;
    eprintln!("console-bench: {} at {url}", args.backend.name());
    let cli = |a: &[&str]| hub_cli(&hub_bin, &url, &tmp.0, a);

    // Organisations and tokens, as an operator makes them.
    let coord_org =
        cli(&["org", "add", "連携ISAC事務局", "--sector", "energy", "--coordinator", "--trust", "trusted"])?;
    let coord_token =
        cli(&["token", "issue", "--org", &coord_org, "--role", "coordinator", "--name", "事務局 当番 (bench)"])?;
    let enrolment_code = cli(&["token", "enrol", token_id(&coord_token)?])?;
    let unenrolled_token =
        cli(&["token", "issue", "--org", &coord_org, "--role", "coordinator", "--name", "事務局 新任 (bench)"])?;
    let mut members = Vec::new();
    for m in 0..args.members {
        let new = m == args.members - 1;
        let name = format!("ベンチ電力 {m:02}");
        let trust = if new { "new" } else { "standard" };
        let org = cli(&["org", "add", &name, "--sector", SECTORS[m % 6], "--trust", trust])?;
        let analyst_name = format!("SOC analyst {m:02}");
        let analyst = cli(&["token", "issue", "--org", &org, "--role", "analyst", "--name", &analyst_name])?;
        let procurement_name = format!("調達担当 {m:02}");
        let procurement =
            cli(&["token", "issue", "--org", &org, "--role", "procurement", "--name", &procurement_name])?;
        members.push(Member { org, analyst, procurement });
    }
    let newcomer = members.pop().context("no members")?;
    // A peer hub reading this one (the dashboard and the peers page list it).
    let peer_dir = tmp.0.join("peer");
    std::fs::create_dir_all(&peer_dir)?;
    let peer_key = hub_cli(&hub_bin, &url, &peer_dir, &["key", "show"])?;
    if let Err(e) = cli(&[
        "peer",
        "add",
        "national-hub",
        "--url",
        "https://national-hub.bench.example:8480",
        "--public-key",
        &peer_key,
        "--max-tlp",
        "GREEN",
        "--community",
        "--direction",
        "push",
    ]) {
        eprintln!("warning: no peer link ({e:#})");
    }

    let Launched { mut hub, proc, base, endpoint } = launch(&hub_bin, &url, &tmp.0)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcome = runtime.block_on(async {
        wait_ready(&mut hub, &http_client()?, &base).await?;
        let t_load = Instant::now();
        eprintln!(
            "loading {} indicators ({} members sharing), {} queued submissions, {} suppliers, {} offerings, {} assessments",
            thousands(args.indicators as f64),
            args.sharers,
            args.queued,
            thousands(args.suppliers as f64),
            thousands((args.suppliers * args.offerings_per_supplier) as f64),
            thousands(args.assessments as f64)
        );
        let known = share_indicators(&args, &endpoint, &members[..args.sharers]).await?;
        ensure!(known.len() >= 50, "only {} readable stored values to search for", known.len());
        let unknown: Vec<String> = (0..UNKNOWN_POOL).map(|i| indicator(args.indicators + i).1).collect();
        // The new member's submissions: queued by the default policy.
        let http = http_client()?;
        let mut queued = Vec::new();
        for (b, chunk) in (0..args.queued).collect::<Vec<_>>().chunks(20).enumerate() {
            let input: Vec<Value> = chunk
                .iter()
                .map(|i| json!({"type": "DOMAIN", "value": format!("q{i}.queued.bench.example"),
                    "description": format!("関東第{}変電所の制御LANで観測 (bench {i})", i % 9 + 1)}))
                .collect();
            let tlp = if b % 2 == 0 { "GREEN" } else { "AMBER" };
            let data: Value = gql(&http, &endpoint, &newcomer.analyst,
                &json!({"query": SHARE, "variables": {"i": input, "s": {"tlp": tlp}}})).await?;
            queued.extend(ids_of(&data, "shareIndicators")?);
        }
        let coordinator = &coord_token;
        let (suppliers, assessed) = load_suppliers(&args, &endpoint, coordinator, &members).await?;
        ensure!(!assessed.is_empty(), "no supplier has an assessment member 0 may read");
        let load_secs = t_load.elapsed().as_secs_f64();
        let rss_loaded = proc.rss_mib();
        let fresh: Vec<String> =
            (0..1000).map(|i| indicator(args.indicators + UNKNOWN_POOL + i).1).collect();
        let data = Arc::new(Loaded { known, unknown, fresh, queued, suppliers, assessed });

        // Sessions, as each person signs in.
        let lang = &args.lang;
        let mut sessions: HashMap<Who, Console> = HashMap::new();
        sessions.insert(Who::Anonymous, Console::new(&base, lang)?);
        for (who, token) in [
            (Who::Analyst, &members[0].analyst),
            (Who::NewMember, &newcomer.analyst),
            (Who::Procurement, &members[0].procurement),
        ] {
            let mut console = Console::new(&base, lang)?;
            let to = console.sign_in(token).await?;
            ensure!(to == "/console/", "{} signed in and was sent to {to}", who.name());
            // A page with a form, for the session's CSRF secret.
            let account = console.get("/console/account").await?;
            ensure!(account.status == 200, "{}: the account page answered {}", who.name(), account.status);
            sessions.insert(who, console);
        }
        let mut coordinator = Console::new(&base, lang)?;
        enrol_coordinator(&mut coordinator, &coord_token, &enrolment_code).await?;
        sessions.insert(Who::Coordinator, coordinator);
        let mut second = Console::new(&base, lang)?;
        let to = second.sign_in(&coord_token).await?;
        ensure!(to == "/console/second-factor", "an enrolled coordinator signing in was sent to {to}");
        sessions.insert(Who::SecondFactor, second);
        let mut enrolling = Console::new(&base, lang)?;
        let to = enrolling.sign_in(&unenrolled_token).await?;
        ensure!(to == "/console/enrol", "a coordinator without a factor was sent to {to}");
        sessions.insert(Who::Enrolling, enrolling);

        // The pages.
        let specs = pages(Arc::clone(&data));
        let mut measured = Vec::new();
        let mut absent = Vec::new();
        let mut skipped = Vec::new();
        let cpu0 = proc.cpu();
        for spec in &specs {
            if args.only.as_deref().is_some_and(|o| !spec.name.contains(o)) {
                skipped.push(spec.name);
                continue;
            }
            let session = sessions.get(&spec.who).context("no session")?;
            eprintln!("  {} ({})", spec.name, spec.who.name());
            match measure(&args, spec, session).await? {
                Some(m) => measured.push((m, spec.route)),
                None => absent.push(spec.name),
            }
        }
        let pages_cpu = proc.cpu() - cpu0;

        // Each page's weight: its HTML and the style sheets and scripts it references.
        let mut asset_sizes: BTreeMap<String, usize> = BTreeMap::new();
        let mut fetcher = Console::new(&base, lang)?;
        for (m, _) in &measured {
            for href in &m.assets {
                if asset_sizes.contains_key(href) {
                    continue;
                }
                ensure!(href.starts_with('/'), "{}: an asset from elsewhere: {href}", m.name);
                let answer = fetcher.get(href).await?;
                ensure!(answer.status == 200, "{}: GET {href} answered {}", m.name, answer.status);
                asset_sizes.insert(href.clone(), answer.body.len());
            }
        }
        // Links to console pages that no page of the bench stands for (the absent ones
        // and those left out by --only aside).
        let mut routes: BTreeSet<&str> = measured.iter().map(|(_, r)| *r).collect();
        routes.extend(specs.iter().filter(|s| absent.contains(&s.name) || skipped.contains(&s.name)).map(|s| s.route));
        let mut unmeasured: BTreeMap<String, &str> = BTreeMap::new();
        for (m, _) in &measured {
            for link in console_links(&m.last) {
                let route = route_of(&link);
                let covered = routes.contains(route.as_str())
                    || (route.starts_with("/console/share/") && routes.contains("/console/share/{kind}"));
                // Not pages: the style sheet and script, the language switch, downloads.
                let skipped = route == "/console/"
                    || ["/console/static/", "/console/lang/", "/console/export/"].iter().any(|p| route.starts_with(p));
                if !covered && !skipped {
                    unmeasured.entry(route).or_insert(m.name);
                }
            }
        }

        println!();
        println!(
            "console-bench, {} backend, {} CPUs, pages in {:?} ({} client{} per page, {} s each after {} warm-up requests)",
            args.backend.name(),
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            args.lang,
            args.clients,
            if args.clients == 1 { "" } else { "s" },
            args.seconds,
            args.warmup
        );
        println!(
            "data: {} indicators ({} sharing members; ~2 % RED, ~1 % anonymous, ~1/3 AMBER), {} queued, {} suppliers, {} offerings, {} assessments; loaded in {load_secs:.0} s",
            thousands(args.indicators as f64),
            args.sharers,
            data.queued.len(),
            thousands(data.suppliers.len() as f64),
            thousands((args.suppliers * args.offerings_per_supplier) as f64),
            thousands(args.assessments as f64)
        );
        println!(
            "{:<36} {:<13} {:>7} {:>7} {:>7} {:>7} {:>6}  {:<6} {:>8} {:>7}  {:<6}",
            "page", "as", "p50 ms", "p95 ms", "p99 ms", "max ms", "n", "≤50ms", "HTML KB", "all KB", "≤200KB"
        );
        let (mut slow, mut heavy) = (Vec::new(), Vec::new());
        for (m, _) in &measured {
            let p95 = ms(m.lat.pct(0.95));
            let weight = m.html + m.assets.iter().map(|a| asset_sizes.get(a).copied().unwrap_or(0)).sum::<usize>();
            let (fast, light) = (p95 <= TARGET_P95_MS, weight < TARGET_WEIGHT_BYTES);
            if !fast {
                slow.push(format!("{} ({p95:.1} ms)", m.name));
            }
            if !light {
                heavy.push(format!("{} ({:.1} KB)", m.name, weight as f64 / 1000.0));
            }
            println!(
                "{} {:<13} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>6}  {:<6} {:>8.1} {:>7.1}  {:<6}",
                padded(m.name, 36),
                m.who.name(),
                ms(m.lat.pct(0.5)),
                p95,
                ms(m.lat.pct(0.99)),
                ms(m.lat.max()),
                m.lat.0.len(),
                verdict(fast),
                m.html as f64 / 1000.0,
                weight as f64 / 1000.0,
                verdict(light)
            );
        }
        let assets: Vec<String> =
            asset_sizes.iter().map(|(href, n)| format!("{href} {:.1} KB", *n as f64 / 1000.0)).collect();
        println!("style sheets and scripts: {}", if assets.is_empty() { "none".into() } else { assets.join(", ") });
        println!(
            "render p95 ≤ {TARGET_P95_MS} ms on every page: {}{}",
            verdict(slow.is_empty()),
            if slow.is_empty() { String::new() } else { format!(" (over: {})", slow.join(", ")) }
        );
        println!(
            "HTML + CSS + script < 200 KB on every page: {}{}",
            verdict(heavy.is_empty()),
            if heavy.is_empty() { String::new() } else { format!(" (over: {})", heavy.join(", ")) }
        );
        if !absent.is_empty() {
            println!("not in this hub (404): {}", absent.join(", "));
        }
        if !unmeasured.is_empty() {
            let list: Vec<String> = unmeasured.iter().map(|(r, from)| format!("{r} (linked from {from})")).collect();
            println!("linked but not measured: {}", list.join(", "));
        }
        println!(
            "hub: RSS {rss_loaded:.0} MiB after loading, {:.0} MiB now, peak {:.0} MiB; CPU {pages_cpu:.1} s serving the pages",
            proc.rss_mib(),
            proc.hwm_mib()
        );
        if let Some(db) = &pg {
            println!("database size: {:.0} MiB", db.size_bytes().unwrap_or(0) as f64 / 1048576.0);
        }
        if measured.is_empty() {
            bail!("no page was measured");
        }
        anyhow::Ok(())
    });
    if let Err(e) = outcome {
        eprintln!("hub log (last lines):\n{}", hub.log_tail());
        return Err(e);
    }
    drop(runtime);
    drop(hub);
    drop(pg);
    Ok(())
}
