//! The ecosystem's own tools (taxii2-client, stix2-validator, stix2, misp-stix, medallion)
//! run as the scripts in `tests/interop/`, from the virtual environment `ops/test` makes
//! from `tests/interop/requirements.txt`. Each script prints one JSON object as its last
//! line and exits 0 only when every check it made passed.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The Python interpreter of the tools' virtual environment: `RENKEI_PYTHON`, else
/// `/var/tmp/renkei-pyenv/bin/python`. Panics (never skips) when it is missing.
pub fn python() -> PathBuf {
    let python = std::env::var_os("RENKEI_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/renkei-pyenv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: the interop tests need the Python tools of tests/interop/requirements.txt; \
         run ops/test, which creates the virtual environment (or set RENKEI_PYTHON)",
        python.display()
    );
    python
}

/// A script of `tests/interop/`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/interop")).join(name)
}

/// What a script did: its exit code, its JSON line, what it wrote to standard error.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The JSON of a script that must have passed every check it makes.
    pub fn passed(self) -> Value {
        assert!(
            self.code == Some(0) && self.json["ok"] == Value::Bool(true),
            "the script failed (exit {:?}): {}\n{}",
            self.code,
            self.json.get("failure").unwrap_or(&self.json),
            tail(&self.stderr)
        );
        self.json
    }
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(4000);
    let start = (start..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
    &text[start..]
}

fn last_json(stdout: &str) -> Value {
    stdout.lines().rev().find_map(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null)
}

fn spawn(name: &str, args: &[&str], stdin: Stdio) -> Child {
    let mut command = Command::new(python());
    command.arg(script(name)).args(args).stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
    // The tools never reach beyond loopback; no proxy for them either.
    command.env("NO_PROXY", "127.0.0.1,localhost").env("PYTHONDONTWRITEBYTECODE", "1");
    command.spawn().unwrap_or_else(|e| panic!("starting {name}: {e}"))
}

fn collect(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Runs `tests/interop/NAME` with `args`; kills it after `timeout`.
pub fn run(name: &str, args: &[&str], timeout: Duration) -> Output {
    let mut child = spawn(name, args, Stdio::null());
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the script") {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.join().unwrap_or_default();
            panic!("{name} did not finish within {timeout:?}; killed\n{}", tail(&err));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap_or_default();
    Output { code: status.code(), json: last_json(&stdout), stdout, stderr: stderr.join().unwrap_or_default() }
}

/// A script that reads commands on standard input and answers each with one JSON line
/// (`opencti_pull.py`). Killed when dropped.
pub struct Session {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Session {
    pub fn start(name: &str, args: &[&str]) -> Session {
        let mut child = spawn(name, args, Stdio::piped());
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = Some(collect(child.stderr.take().expect("piped stderr")));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Session { name: name.to_string(), child, stdin, lines, stderr }
    }

    /// Sends one command and returns the JSON line that answers it.
    pub fn ask(&mut self, command: &str, timeout: Duration) -> Value {
        let stdin = self.stdin.as_mut().expect("the session is open");
        if let Err(e) = writeln!(stdin, "{command}").and_then(|_| stdin.flush()) {
            let stderr = self.stderr_now();
            panic!("{} stopped reading ({e}): {stderr}", self.name);
        }
        self.next_line(timeout)
    }

    fn next_line(&mut self, timeout: Duration) -> Value {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => serde_json::from_str(&line).unwrap_or_else(|_| panic!("{}: not JSON: {line}", self.name)),
            Err(_) => {
                let stderr = self.stderr_now();
                panic!("{} gave no answer within {timeout:?}: {stderr}", self.name)
            }
        }
    }

    fn stderr_now(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.take().and_then(|h| h.join().ok()).map(|s| tail(&s).to_string()).unwrap_or_default()
    }

    /// Ends the session: sends `end`, returns the summary line and the exit code.
    pub fn end(mut self, timeout: Duration) -> Output {
        let json = self.ask("end", timeout);
        drop(self.stdin.take());
        let started = Instant::now();
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the script") {
                break status.code();
            }
            assert!(started.elapsed() < timeout, "{} did not exit after its summary", self.name);
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        Output { code, json, stdout: String::new(), stderr }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound then released: for servers that take a port number).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

/// medallion 3.0.0 (the OASIS reference TAXII 2.1 server, from the tools' virtual
/// environment) on a loopback port with its memory backend: discovery at `/taxii2/`,
/// one API root `/hub/` with one empty collection "shared items" that `member` (password
/// `token`) may read and write. Killed when dropped.
pub struct Medallion {
    pub discovery: String,
    pub token: String,
    child: Child,
    _dir: crate::TempDir,
}

impl Medallion {
    pub fn start() -> Medallion {
        let dir = crate::TempDir::new("renkei-medallion");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let token = format!("t{}", uuid::Uuid::new_v4().simple());
        let data = serde_json::json!({
            "/discovery": {"title": "medallion 3.0.0", "default": format!("{base}/hub/"), "api_roots": [format!("{base}/hub/")]},
            "hub": {
                "information": {"title": "hub", "versions": ["application/taxii+json;version=2.1"], "max_content_length": 104857600},
                "status": [],
                "collections": [{"id": uuid::Uuid::new_v4().to_string(), "title": "shared items", "can_read": true, "can_write": true,
                                 "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}]
            }
        });
        let data_file = dir.0.join("data.json");
        std::fs::write(&data_file, data.to_string()).expect("medallion data");
        // In 3.0.0 the backend's "module" is required (interop.md §2.1).
        let config = serde_json::json!({
            "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": data_file},
            "users": {"member": token},
            "taxii": {"max_page_size": 100}
        });
        let config_file = dir.0.join("config.json");
        std::fs::write(&config_file, config.to_string()).expect("medallion config");
        let medallion = python().with_file_name("medallion");
        let child = Command::new(&medallion)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg(&config_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", medallion.display()));
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "medallion did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Medallion { discovery: format!("{base}/taxii2/"), token, child, _dir: dir }
    }
}

impl Drop for Medallion {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
