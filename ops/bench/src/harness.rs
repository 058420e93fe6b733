//! What the benchmarks share: fixtures that clean up after themselves (a temporary
//! folder, a fresh PostgreSQL database, the hub process under test), the hub's command
//! line, `/proc` readings, a small deterministic generator, GraphQL over HTTP and
//! latency statistics.

use anyhow::{bail, ensure, Context as _, Result};
use diesel::{Connection as _, RunQueryDsl as _};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Fixtures that clean up after themselves (dropped in reverse order of creation).

/// The database backend of the hub under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// The hub binary: as given, else $CARGO_TARGET_DIR/release/renkei-hub (or target/…).
pub fn hub_binary(given: Option<&Path>) -> Result<PathBuf> {
    let hub_bin = match given {
        Some(p) => p.to_path_buf(),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| "target".into());
            target.join("release").join("renkei-hub")
        }
    };
    ensure!(
        hub_bin.is_file(),
        "no hub binary at {} (build it with cargo build --release -p renkei-hub)",
        hub_bin.display()
    );
    Ok(hub_bin)
}

/// A fresh database for the hub: a new PostgreSQL database on `pg_base` (its URL with
/// `pg_params`), or a SQLite file in `tmp`.
pub fn database(
    backend: Backend,
    pg_base: &str,
    pg_params: &str,
    tmp: &TempDir,
) -> Result<(Option<PgDatabase>, String)> {
    let pg = match backend {
        Backend::Postgres => Some(PgDatabase::create(pg_base)?),
        Backend::Sqlite => None,
    };
    let url = match &pg {
        Some(db) if pg_params.is_empty() => db.url(),
        Some(db) => format!("{}?{}", db.url(), pg_params),
        None => format!("sqlite://{}", tmp.0.join("hub.db").display()),
    };
    Ok((pg, url))
}

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("renkei-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh PostgreSQL database, dropped WITH (FORCE) at the end.
pub struct PgDatabase {
    base: String,
    name: String,
}

impl PgDatabase {
    pub fn create(base: &str) -> Result<PgDatabase> {
        let base = base.trim_end_matches('/').to_string();
        let name = format!("renkei_bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut admin = diesel::PgConnection::establish(&format!("{base}/postgres"))
            .with_context(|| format!("connecting to {base}/postgres (is PostgreSQL up?)"))?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).context("CREATE DATABASE")?;
        Ok(PgDatabase { base, name })
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.base, self.name)
    }

    pub fn size_bytes(&self) -> Result<u64> {
        #[derive(diesel::QueryableByName)]
        struct Size {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = diesel::PgConnection::establish(&self.url())?;
        let size: Size = diesel::sql_query("SELECT pg_database_size(current_database()) AS n").get_result(&mut conn)?;
        Ok(u64::try_from(size.n).unwrap_or(0))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        match diesel::PgConnection::establish(&format!("{}/postgres", self.base)) {
            Ok(mut admin) => {
                if let Err(e) =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin)
                {
                    eprintln!("warning: could not drop database {}: {e}", self.name);
                }
            }
            Err(e) => eprintln!("warning: could not drop database {}: {e}", self.name),
        }
    }
}

/// The hub under test, killed at the end.
pub struct HubProcess {
    pub child: Child,
    pub log: PathBuf,
}

impl HubProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// The hub's command line.

pub fn hub_cli(hub_bin: &Path, url: &str, data_dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(hub_bin)
        .arg("--database")
        .arg(url)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RENKEI_LOG", "warn")
        .output()
        .with_context(|| format!("running {}", hub_bin.display()))?;
    ensure!(
        out.status.success(),
        "renkei-hub {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).context("renkei-hub printed non-UTF-8")?;
    let line = text.lines().last().unwrap_or("").trim().to_string();
    ensure!(!line.is_empty(), "renkei-hub {} printed nothing", args.join(" "));
    Ok(line)
}

pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

pub fn start_hub(hub_bin: &Path, url: &str, data_dir: &Path, port: u16) -> Result<HubProcess> {
    start_hub_env(hub_bin, url, data_dir, port, &[])
}

/// As [`start_hub`], with more `RENKEI_*` variables (set after the defaults, so they
/// may override them: e.g. `RENKEI_LOG`, `RENKEI_REDIS_URL`,
/// `RENKEI_KEY_ENCRYPTION_KEY_FILE`).
pub fn start_hub_env(
    hub_bin: &Path,
    url: &str,
    data_dir: &Path,
    port: u16,
    env: &[(&str, String)],
) -> Result<HubProcess> {
    let log = data_dir.join("hub.log");
    let file = std::fs::File::create(&log)?;
    let child = Command::new(hub_bin)
        .arg("--database")
        .arg(url)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("RENKEI_REQUESTS_PER_MINUTE", "100000000")
        .env("RENKEI_METRICS_LISTEN", format!("127.0.0.1:{}", free_port()?))
        .env("RENKEI_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("starting {}", hub_bin.display()))?;
    Ok(HubProcess { child, log })
}

/// The hub under test, started, with its `/proc` watch and addresses.
pub struct Launched {
    pub hub: HubProcess,
    pub proc: ProcWatch,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `<base>/graphql`.
    pub endpoint: String,
}

/// Starts `renkei-hub serve` on a free loopback port (wait with [`wait_ready`]).
pub fn launch(hub_bin: &Path, url: &str, data_dir: &Path) -> Result<Launched> {
    let port = free_port()?;
    let hub = start_hub(hub_bin, url, data_dir, port)?;
    let proc = ProcWatch { pid: hub.pid(), ticks: clock_ticks() };
    let base = format!("http://127.0.0.1:{port}");
    Ok(Launched { hub, proc, endpoint: format!("{base}/graphql"), base })
}

pub async fn wait_ready(hub: &mut HubProcess, http: &reqwest::Client, base: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = hub.child.try_wait()? {
            bail!("the hub exited before it was ready ({status}):\n{}", hub.log_tail());
        }
        if let Ok(resp) = http.get(format!("{base}/readyz")).send().await {
            if resp.status().as_u16() == 200 {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("the hub was not ready after 120 s:\n{}", hub.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------
// /proc readings of the hub process.

pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// User + system CPU seconds the process has used.
pub fn cpu_seconds(pid: u32, ticks: f64) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at field 3.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks)
}

pub struct ProcWatch {
    pub pid: u32,
    pub ticks: f64,
}

impl ProcWatch {
    pub fn cpu(&self) -> f64 {
        cpu_seconds(self.pid, self.ticks).unwrap_or(f64::NAN)
    }

    pub fn rss_mib(&self) -> f64 {
        proc_status_kib(self.pid, "VmRSS:").map(|k| k as f64 / 1024.0).unwrap_or(f64::NAN)
    }

    pub fn hwm_mib(&self) -> f64 {
        proc_status_kib(self.pid, "VmHWM:").map(|k| k as f64 / 1024.0).unwrap_or(f64::NAN)
    }
}

/// splitmix64: a small deterministic generator for picking lookup values.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

// ---------------------------------------------------------------------------
// GraphQL over HTTP.

#[derive(Deserialize)]
pub struct Response<T> {
    pub data: Option<T>,
    pub errors: Option<Value>,
}

pub async fn gql<T: DeserializeOwned>(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> Result<T> {
    gql_bytes(http, url, token, serde_json::to_vec(body)?).await
}

/// A GraphQL request whose JSON body is already written.
/// POSTs a GraphQL body and returns the answer's bytes, refusing any status but 200.
pub async fn post_bytes(http: &reqwest::Client, url: &str, token: &str, body: Vec<u8>) -> Result<bytes::Bytes> {
    let resp = http
        .post(url)
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .context("POST /graphql")?;
    let status = resp.status();
    let bytes = resp.bytes().await.context("reading the response")?;
    ensure!(status.as_u16() == 200, "HTTP {status}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(2000)]));
    Ok(bytes)
}

pub async fn gql_bytes<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<T> {
    let bytes = post_bytes(http, url, token, body).await?;
    let parsed: Response<T> = serde_json::from_slice(&bytes).with_context(|| {
        format!("unexpected response: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(2000)]))
    })?;
    if let Some(errors) = parsed.errors {
        bail!("GraphQL errors: {errors}");
    }
    parsed.data.context("response without data")
}

pub fn http_client() -> Result<reqwest::Client> {
    // Built beside the member client, reqwest's TLS takes the process's rustls provider:
    // ring, as everywhere in renkei.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(600)).build()?)
}

// ---------------------------------------------------------------------------
// Statistics.

/// Sorted latencies with nearest-rank percentiles.
pub struct Latencies(pub Vec<Duration>);

impl Latencies {
    pub fn new(mut v: Vec<Duration>) -> Latencies {
        v.sort_unstable();
        Latencies(v)
    }

    pub fn pct(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        self.0[rank - 1]
    }

    pub fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 1234567.8 -> "1,234,568".
pub fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "OK"
    } else {
        "BELOW"
    }
}

/// Prints progress to stderr every 10 s until stopped.
pub fn progress(what: &'static str, done: Arc<AtomicUsize>, total: u64, stop: Arc<AtomicBool>) {
    let start = Instant::now();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let n = done.load(Ordering::Relaxed);
            eprintln!(
                "  {what}: {} / {} ({}/s so far)",
                thousands(n as f64),
                thousands(total as f64),
                thousands(n as f64 / start.elapsed().as_secs_f64())
            );
        }
    });
}
