//! Dependencies a test owns, to stop and start under a running hub without disturbing
//! the rest of the suite (which uses the shared PostgreSQL on 5432 and Redis on 6379):
//! a PostgreSQL cluster made with `initdb` and run with `pg_ctl`, and a `redis-server`,
//! each on a free loopback port of its own, gone with the value.
//!
//! `start` returns `None` only when the binaries are absent (the test then prints
//! `skipping: …`); anything else that goes wrong panics.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on now (the kernel's pick, never the shared 5432 or 6379).
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        if port != 5432 && port != 6379 {
            return port;
        }
    }
}

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs a command (as `postgres` when the tests run as root: `initdb` refuses root);
/// panics with its output when it fails.
fn run_pg(bin: &Path, args: &[&str]) {
    if let Err(e) = try_run_pg(bin, args) {
        panic!("{e}");
    }
}

/// `run_pg`, giving the failure (command, status, output) back instead of panicking.
fn try_run_pg(bin: &Path, args: &[&str]) -> Result<(), String> {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd.args(args).stdin(Stdio::null()).output().map_err(|e| format!("running {bin:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{bin:?} {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// The folder holding `initdb` and `pg_ctl`: the newest `/usr/lib/postgresql/<v>/bin`,
/// else the folder of `initdb` on the PATH.
fn pg_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(PathBuf::from)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

/// A PostgreSQL cluster of the test's own: trust authentication, on 127.0.0.1 and a
/// free port, its data (and socket) in a temporary folder owned by `postgres` when the
/// tests run as root. Stopped (immediate mode) and removed on drop.
pub struct PgCluster {
    pub port: u16,
    bin: PathBuf,
    root: PathBuf,
}

impl PgCluster {
    /// `initdb` and start; `None` when `initdb`/`pg_ctl` are not installed.
    pub fn start() -> Option<PgCluster> {
        let bin = pg_bin_dir()?;
        let root = std::env::temp_dir().join(format!("renkei-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&root).expect("cluster folder");
        if is_root() {
            let out = Command::new("chown").arg("postgres:postgres").arg(&root).output().expect("chown");
            assert!(out.status.success(), "chown postgres {root:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let mut cluster = PgCluster { port: free_port(), bin, root };
        let data = cluster.data();
        run_pg(
            &cluster.bin.join("initdb"),
            &["-D", &data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"],
        );
        // The free port was free when asked for; another test's server may take it before
        // PostgreSQL binds it. The first start tries a fresh port then (the log says why).
        for attempt in 1..=3 {
            match cluster.try_start() {
                Ok(()) => return Some(cluster),
                Err(e) if attempt < 3 && cluster.log().contains("could not bind") => {
                    eprintln!("private PostgreSQL: port {} taken, trying another: {e}", cluster.port);
                    cluster.port = free_port();
                }
                Err(e) => panic!("{e}\nserver log:\n{}", cluster.log()),
            }
        }
        None
    }

    fn data(&self) -> String {
        self.root.join("data").display().to_string()
    }

    /// The URL of a database in this cluster (`postgres` is made by `initdb`).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the cluster (again) on the same port and data, waiting until it accepts
    /// connections (after an immediate stop, once crash recovery is done).
    pub fn start_again(&self) {
        if let Err(e) = self.try_start() {
            panic!("{e}\nserver log:\n{}", self.log());
        }
    }

    fn try_start(&self) -> Result<(), String> {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.root.display());
        let log = self.root.join("log").display().to_string();
        try_run_pg(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-l", &log, "-o", &options, "-w", "-t", "60", "start"],
        )
    }

    /// Stops the cluster at once (immediate mode: as a crash, every session cut).
    pub fn stop(&self) {
        run_pg(&self.bin.join("pg_ctl"), &["-D", &self.data(), "-m", "immediate", "-w", "-t", "60", "stop"]);
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("log")).unwrap_or_default()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        let pg_ctl = self.bin.join("pg_ctl");
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let _ = cmd
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A `redis-server` of the test's own on 127.0.0.1 and a free port, without
/// persistence. Killed (SIGKILL, by its process id) on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: crate::TempDir,
}

impl RedisServer {
    /// Starts one; `None` when `redis-server` is not installed.
    pub fn start() -> Option<RedisServer> {
        Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().ok()?;
        Some(RedisServer::start_on(free_port()))
    }

    /// A server that will listen on `port` once `start_again` runs (nothing listens yet).
    pub fn not_started(port: u16) -> RedisServer {
        RedisServer { port, child: None, dir: crate::TempDir::new("renkei-redis") }
    }

    fn start_on(port: u16) -> RedisServer {
        let mut server = RedisServer::not_started(port);
        server.start_again();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port, waiting until it accepts connections.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis-server is already running");
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        let start = Instant::now();
        while !answers(self.port) {
            assert!(start.elapsed() < Duration::from_secs(20), "redis-server did not come up on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server with SIGKILL and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) the server, by its process id: a server
    /// that hangs, its connections open but unanswered.
    pub fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        let status = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().expect("kill");
        assert!(status.success(), "kill -{signal} redis-server");
    }

    /// A synchronous connection, for looking at what the hub stored.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url()).and_then(|c| c.get_connection()).expect("redis connection")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
