//! seal-bench: sealed TLP:RED on the client (issue 22: "sealing 1,000 indicators to 10
//! recipients with 2 keys each and sharing them ≤ 200 ms on the client; opening 10,000
//! sealed items during a sync ≥ 20,000 items/s").
//!
//! Sealing: the client's own steps for `renkei share --tlp RED indicator --file …`:
//! building the bodies (normalising every value), sealing them to 10 recipients with 2
//! keys each and the sender's 2 keys (22 HPKE wraps, one batch), signing, and encoding
//! the `shareSealed` request; `--runs` times, median printed. The hub's side of the call
//! (storing 1,000 items) is the hub's bulk share, measured by renkei-bench.
//!
//! Opening: 10,000 sealed items (10 batches of 1,000, as bulk shares make them) as the
//! hub signs them into the feed, opened by the sync's own opener (`sealed::Unsealer`:
//! the batch key unwrapped once a batch, each item decrypted, its sender's batch
//! signature verified, its content checked, its opened STIX object written).

use std::collections::HashMap;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context as _, Result};
use clap::Parser;
use renkei_client::sealed::Unsealer;
use renkei_client::share::bodies;
use renkei_schema::model::{Envelope, Kind};
use renkei_schema::seal::{seal, Content, OrgKey, OrgKeyPair};
use renkei_schema::tlp::{Status, Tlp};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 1_000)]
    indicators: usize,
    #[arg(long, default_value_t = 10)]
    recipients: usize,
    #[arg(long, default_value_t = 2)]
    keys_each: usize,
    #[arg(long, default_value_t = 10_000)]
    open: usize,
    #[arg(long, default_value_t = 15)]
    runs: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let args = Args::parse();
    let sender = OrgKeyPair::generate()?;
    let sender_second = OrgKeyPair::generate()?;
    let now = chrono::Utc::now();
    let mut to: Vec<OrgKey> = vec![sender.public("org-s", now, None), sender_second.public("org-s", now, None)];
    let mut recipient_pairs = Vec::new();
    for r in 0..args.recipients {
        for _ in 0..args.keys_each {
            let pair = OrgKeyPair::generate()?;
            to.push(pair.public(&format!("org-r{r}"), now, None));
            recipient_pairs.push(pair);
        }
    }
    let entries: Vec<(String, String)> =
        (0..args.indicators).map(|i| ("DOMAIN".to_string(), format!("c2-{i}.Sealed-Bench.example"))).collect();

    // Sealing, as `renkei share` does it.
    let mut times = Vec::new();
    let mut request_bytes = 0;
    for _ in 0..args.runs {
        let started = Instant::now();
        let built = bodies::indicators(&entries)?;
        let chunk: Vec<Content> = built.into_iter().map(|body| Content { id: body.kind().new_id(), body }).collect();
        let sealed = seal(&chunk, &to, Some(("org-s", &sender)))?;
        let items: Vec<serde_json::Value> = chunk
            .iter()
            .zip(&sealed)
            .map(|(c, s)| Ok(serde_json::json!({"id": c.id, "sealed": serde_json::to_string(s)?})))
            .collect::<Result<_>>()?;
        let request = serde_json::to_vec(&serde_json::json!({"query": "mutation", "variables": {"i": items}}))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        request_bytes = request.len();
    }
    println!(
        "sealing {} indicators to {} keys ({} recipients x {} + the sender's 2): median {:.1} ms over {} runs (each: {}), request {:.1} MiB",
        args.indicators,
        to.len(),
        args.recipients,
        args.keys_each,
        median(times.clone()),
        args.runs,
        times.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>().join(" "),
        request_bytes as f64 / 1_048_576.0
    );

    // Opening, as `sync` does it: sealed objects as the hub signs them into the feed.
    let batches = args.open.div_ceil(1000);
    let mut objects = Vec::with_capacity(args.open);
    for b in 0..batches {
        let n = 1000.min(args.open - b * 1000);
        let entries: Vec<(String, String)> =
            (0..n).map(|i| ("DOMAIN".to_string(), format!("c2-{b}-{i}.sealed-bench.example"))).collect();
        let chunk: Vec<Content> =
            bodies::indicators(&entries)?.into_iter().map(|body| Content { id: body.kind().new_id(), body }).collect();
        let sealed = seal(&chunk, &to, Some(("org-s", &sender)))?;
        for (c, s) in chunk.iter().zip(sealed) {
            let env = Envelope {
                id: c.id.clone(),
                kind: Kind::Indicator,
                revision: 1,
                created: now,
                modified: now,
                origin_hub: "hub-bench".into(),
                created_by: "org-s".into(),
                anonymous: false,
                tlp: Tlp::Red,
                recipients: vec![],
                status: Status::Published,
                status_reason: None,
                confidence: None,
                valid_from: now,
                valid_until: None,
                labels: vec![],
            };
            let stix = renkei_schema::stix::to_stix(&env, &renkei_schema::model::Body::Sealed(s));
            objects.push((c.id.clone(), renkei_schema::stix::canonical_json(&stix)));
        }
    }
    // The last recipient's installation: its keys are tried on the wraps.
    let mine = recipient_pairs.pop().context("no recipient")?;
    let senders: HashMap<String, (String, String)> =
        [(sender.key_id().to_string(), ("org-s".to_string(), to[0].signing_key.clone()))].into();
    let mut rates = Vec::new();
    for _ in 0..args.runs.min(7) {
        let (seed, signing) = mine.secrets();
        let mut unsealer = Unsealer::new(vec![OrgKeyPair::from_secrets(seed, signing)?], senders.clone());
        let started = Instant::now();
        for (id, canonical) in &objects {
            let opened = unsealer.open(id, "indicator", canonical).map_err(|e| anyhow::anyhow!(e))?;
            anyhow::ensure!(opened.stix.contains("sealed-bench.example"), "not opened");
        }
        rates.push(objects.len() as f64 / started.elapsed().as_secs_f64());
    }
    println!(
        "opening {} sealed items ({batches} batches): median {:.0} items/s (runs: {})",
        objects.len(),
        median(rates.clone()),
        rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(" ")
    );
    Ok(())
}
