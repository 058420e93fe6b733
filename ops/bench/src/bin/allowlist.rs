//! Allowlist matching speed: a matcher holding 100,000 CIDR ranges and 100,000
//! domains (half exact names, half "and every subdomain"), checked against a mix of
//! normalised indicators (IPv4, CIDR, domains, URLs, hashes), hits and misses.
//! Goal (issue 3): at most 2 µs per indicator on this 2-core machine.
//!
//! `cargo run --release -p renkei-bench --bin allowlist-bench [-- --ranges N --domains N --checks N]`

use std::hint::black_box;
use std::time::Instant;

use renkei_schema::allowlist::{parse_list, Matcher};
use renkei_schema::model::indicator::{normalize, IndicatorType};

const TARGET_NS: f64 = 2_000.0;

/// splitmix64, as in the main bench: deterministic inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ipv4(x: u64) -> String {
    format!("{}.{}.{}.{}", (x >> 24) & 255, (x >> 16) & 255, (x >> 8) & 255, x & 255)
}

fn main() {
    let (ranges, domains, checks) = (arg("--ranges", 100_000), arg("--domains", 100_000), arg("--checks", 1_000_000));
    let mut rng = Rng(0xA110_0000);
    let mut text = String::new();
    let mut range_samples = Vec::new();
    for _ in 0..ranges {
        // Prefix lengths 12–32, as real lists mix provider blocks and single hosts.
        let prefix = 12 + (rng.next() % 21) as u32;
        let network = (rng.next() as u32) & (u32::MAX << (32 - prefix));
        text.push_str(&format!("{}/{prefix}\n", ipv4(u64::from(network))));
        range_samples.push(u64::from(network));
    }
    let mut domain_samples = Vec::new();
    for i in 0..domains {
        let name = format!("d{i}-{}.vendor{}.example", rng.next() % 1000, i % 977);
        if i % 2 == 0 {
            text.push_str(&format!("{name}\n"));
        } else {
            text.push_str(&format!(".{name}\n"));
        }
        domain_samples.push(name);
    }
    let t0 = Instant::now();
    let entries = parse_list(&text).unwrap_or_else(|bad| panic!("generated list has bad lines: {:?}", &bad[..1]));
    let mut matcher = Matcher::default();
    matcher.add("bench", entries);
    let build = t0.elapsed();

    // Indicators: a fifth each of IPv4, CIDR, domain, URL and SHA-256; about a third hit.
    let mut indicators: Vec<(IndicatorType, String)> = Vec::with_capacity(checks.min(200_000));
    for i in 0..checks.min(200_000) {
        let hit = i % 3 == 0;
        let r = rng.next();
        let raw = match i % 5 {
            0 if hit => (IndicatorType::Ipv4, ipv4(range_samples[(r as usize) % range_samples.len()] | 1)),
            0 => (IndicatorType::Ipv4, ipv4(r & 0xFFFF_FFFF)),
            1 => (IndicatorType::Cidr, format!("{}/30", ipv4(r & 0xFFFF_FFFC))),
            2 if hit => (IndicatorType::Domain, format!("www.{}", domain_samples[(r as usize) % domain_samples.len()])),
            2 => (IndicatorType::Domain, format!("host{r}.elsewhere.example")),
            3 => (
                IndicatorType::Url,
                format!("https://{}/path/{i}", domain_samples[(r as usize) % domain_samples.len()]),
            ),
            _ => (IndicatorType::Sha256, format!("{r:016x}{r:016x}{r:016x}{r:016x}")),
        };
        let value = normalize(raw.0, &raw.1).unwrap_or_else(|e| panic!("{:?} {}: {}", raw.0, raw.1, e.reason));
        indicators.push((raw.0, value));
    }
    // Warm up, then time `checks` matches over the sample (repeated as needed).
    let mut hits = 0usize;
    for (kind, value) in &indicators {
        hits += usize::from(matcher.check(*kind, value).is_some());
    }
    let t0 = Instant::now();
    let mut n = 0usize;
    while n < checks {
        for (kind, value) in indicators.iter().take(checks - n) {
            if black_box(matcher.check(black_box(*kind), black_box(value))).is_some() {
                hits += 1;
            }
            n += 1;
        }
    }
    let elapsed = t0.elapsed();
    let per = elapsed.as_nanos() as f64 / checks as f64;
    println!(
        "allowlist: {} entries ({ranges} ranges, {domains} domains) built in {:.2} s; {checks} checks in {:.3} s = {:.0} ns per indicator (target <= {:.0} ns) {}; {:.0}% of the sample matched",
        matcher.len(),
        build.as_secs_f64(),
        elapsed.as_secs_f64(),
        per,
        TARGET_NS,
        if per <= TARGET_NS { "OK" } else { "BELOW" },
        100.0 * (hits as f64) / ((checks + indicators.len()) as f64),
    );
}
