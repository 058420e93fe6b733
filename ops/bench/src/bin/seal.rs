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
//! Sharing (with `--hub-bin`, default `$CARGO_TARGET_DIR/release/renkei-hub` when it
//! exists): the whole `renkei share --tlp RED --recipient …` against a real hub (SQLite,
//! loopback): 10 recipient organisations with 2 installations each (the second endorsed
//! by the first) and the sender's 2, every key registered by the client library; then
//! `sealed::share` is timed: reading and checking the recipients' keys from the hub,
//! building, sealing, signing, and the `shareSealed` call that stores the 1,000 items.
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
    /// The hub binary for the sharing round trip (default: the release build, if any).
    #[arg(long)]
    hub_bin: Option<std::path::PathBuf>,
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

    match renkei_bench::harness::hub_binary(args.hub_bin.as_deref()) {
        Ok(hub_bin) => share_round_trip(&hub_bin, &args, &entries)?,
        Err(e) => println!("sharing round trip skipped: {e}"),
    }

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

/// A member's register with its keys, made through the client library as `renkei init`
/// and `renkei key new` make them.
struct Installation {
    conn: diesel::SqliteConnection,
    db: std::path::PathBuf,
    api: renkei_client::hub_api::HubApi,
}

fn installation(dir: &std::path::Path, name: &str, base: &str, token: &str) -> Result<Installation> {
    let db = dir.join(format!("{name}.db"));
    let mut conn = renkei_client::register::open(&db)?;
    let api = renkei_client::hub_api::HubApi::new(base, token.to_string(), None)?;
    renkei_client::sync::init(&mut conn, &api, base, None)?;
    renkei_client::sealed::new_key(&mut conn, &db, &api, false)?;
    Ok(Installation { conn, db, api })
}

fn share_round_trip(hub_bin: &std::path::Path, args: &Args, entries: &[(String, String)]) -> Result<()> {
    use renkei_bench::harness::{hub_cli, launch, TempDir};
    let tmp = TempDir::new()?;
    let url = format!("sqlite://{}", tmp.0.join("hub.db").display());
    let org = |name: &str| hub_cli(hub_bin, &url, &tmp.0, &["org", "add", name, "--sector", "electricity"]);
    let token = |org: &str| hub_cli(hub_bin, &url, &tmp.0, &["token", "issue", "--org", org, "--role", "analyst"]);
    let sender_org = org("Sender")?;
    let sender_token = token(&sender_org)?;
    let mut recipients = Vec::new();
    let mut tokens = Vec::new();
    for r in 0..args.recipients {
        let id = org(&format!("Recipient {r}"))?;
        tokens.push(token(&id)?);
        recipients.push(id);
    }
    let launched = launch(hub_bin, &url, &tmp.0)?;
    let probe = renkei_client::hub_api::HubApi::new(&launched.base, sender_token.clone(), None)?;
    let started = Instant::now();
    while probe.hub_info().is_err() {
        anyhow::ensure!(started.elapsed().as_secs() < 60, "the hub did not answer:\n{}", launched.hub.log_tail());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Every organisation's installations, the second endorsed by the first.
    let mut installs = Vec::new();
    for (name, tok) in std::iter::once(("sender", &sender_token)).chain(tokens.iter().map(|t| ("recipient", t))) {
        let first = installation(&tmp.0, &format!("{name}-{}-a", installs.len()), &launched.base, tok)?;
        let mut more = Vec::new();
        for k in 1..args.keys_each {
            let mut other = installation(&tmp.0, &format!("{name}-{}-{k}", installs.len()), &launched.base, tok)?;
            let own = renkei_client::sealed::Keys::load(&mut other.conn)?.context("keys")?.list();
            more.push((other, own.last().context("a key")?.0.clone()));
        }
        let mut first = first;
        for (_, key) in &more {
            renkei_client::sealed::endorse(&mut first.conn, &first.api, key)?;
        }
        installs.push(first);
        installs.extend(more.into_iter().map(|(i, _)| i));
    }
    let sender = &mut installs[0];
    let how = renkei_client::share::Sharing {
        tlp: "RED".into(),
        recipients: recipients.clone(),
        anonymous: false,
        confidence: None,
        valid_until: None,
    };
    let mut times = Vec::new();
    let mut wraps = 0;
    for run in 0..args.runs.min(10) {
        let values: Vec<(String, String)> = entries.iter().map(|(t, v)| (t.clone(), format!("r{run}-{v}"))).collect();
        let started = Instant::now();
        let built = bodies::indicators(&values)?;
        let receipts = renkei_client::sealed::share(&mut sender.conn, &sender.api, built, &how)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(receipts.len() == values.len(), "the hub stored {} of {}", receipts.len(), values.len());
        if run == 0 {
            let data = sender.api.query(
                "query($id: ID!) { node(id: $id) { ... on Indicator { sealedEnvelope } } }",
                serde_json::json!({"id": receipts[0].0}),
            )?;
            let envelope: renkei_schema::seal::SealedBody =
                serde_json::from_str(data["node"]["sealedEnvelope"].as_str().context("no envelope")?)?;
            wraps = envelope.wraps.len();
        }
    }
    // The split: the hub's part alone (the `shareSealed` call with items sealed before),
    // and reading and checking the keys.
    let mut hub_part = Vec::new();
    let mut keys_part = Vec::new();
    let pair = {
        let keys = renkei_client::sealed::Keys::load(&mut sender.conn)?.context("keys")?;
        keys.pairs()?.pop().context("a key")?
    };
    for run in 0..args.runs.min(10) {
        let started = Instant::now();
        let refreshed = renkei_client::sealed::refresh_keys(&mut sender.conn, &sender.api, None)?;
        keys_part.push(started.elapsed().as_secs_f64() * 1000.0);
        let to: Vec<OrgKey> = refreshed.checked.values().flat_map(|c| c.current.clone()).collect();
        let values: Vec<(String, String)> = entries.iter().map(|(t, v)| (t.clone(), format!("h{run}-{v}"))).collect();
        let chunk: Vec<Content> =
            bodies::indicators(&values)?.into_iter().map(|body| Content { id: body.kind().new_id(), body }).collect();
        let sealed = seal(&chunk, &to, Some((sender_org.as_str(), &pair)))?;
        let items: Vec<serde_json::Value> = chunk
            .iter()
            .zip(&sealed)
            .map(|(c, s)| Ok(serde_json::json!({"id": c.id, "sealed": serde_json::to_string(s)?})))
            .collect::<Result<_>>()?;
        let started = Instant::now();
        sender.api.query(
            "mutation($i: [SealedItemInput!]!, $r: [String!]!) { shareSealed(items: $i, recipients: $r) { id } }",
            serde_json::json!({"i": items, "r": recipients}),
        )?;
        hub_part.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = &sender.db;
    println!(
        "  of which: the shareSealed call (request, the hub storing 1,000 items, answer) median {:.1} ms; reading and checking every organisation's keys median {:.1} ms",
        median(hub_part),
        median(keys_part)
    );
    println!(
        "sharing {} sealed indicators to {} recipients ({} wraps a item) on a real hub (SQLite): median {:.1} ms over {} runs (each: {})",
        entries.len(),
        recipients.len(),
        wraps,
        median(times.clone()),
        times.len(),
        times.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>().join(" ")
    );
    drop(launched);
    Ok(())
}
