//! The load balancer the operators get (`ops/deploy/haproxy.cfg`), run by the harness
//! (`renkei_e2e::haproxy`) in front of tiny HTTP replicas on loopback ports and in
//! front of a real hub: requests reach every replica, a replica whose `/readyz` answers
//! 503 leaves the rotation and comes back at 200, drain and maintenance through the
//! runtime API, the JSON 503 when no replica is up, forwarding headers written by the
//! balancer alone, WebSocket upgrades and unbuffered event streams; and `haproxy -c`
//! accepts the shipped file as it is.

use renkei_e2e::haproxy::{self, server_name, Haproxy};
use renkei_e2e::{Backend, TestHub};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A stand-in replica: `/readyz` answers `ready` (200 or 503, switchable), `/whoami`
/// its name, `/headers` the request's headers, `/changes/stream` two events 1.5 s
/// apart, `GET /graphql` with `Upgrade: websocket` switches protocols and echoes what
/// it receives; anything else is 404 (so a passing health check proves the balancer
/// asked `/readyz`).
struct Replica {
    address: String,
    ready: Arc<AtomicU16>,
}

impl Replica {
    fn start(name: &'static str) -> Replica {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("addr").to_string();
        let ready = Arc::new(AtomicU16::new(200));
        let status = Arc::clone(&ready);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let status = Arc::clone(&status);
                std::thread::spawn(move || {
                    let _ = serve(stream, name, status.load(Ordering::SeqCst));
                });
            }
        });
        Replica { address, ready }
    }

    fn set_ready(&self, status: u16) {
        self.ready.store(status, Ordering::SeqCst);
    }
}

/// The RFC 6455 example key and the accept value it calls for.
const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn respond(stream: &mut TcpStream, status: u16, content_type: &str, body: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Service Unavailable",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn serve(mut stream: TcpStream, name: &str, ready: u16) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        headers.push(line.trim_end().to_string());
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let upgrade = headers.iter().any(|h| h.eq_ignore_ascii_case("upgrade: websocket"));
    match path {
        "/readyz" => {
            let state = if ready == 200 { "ready" } else { "unavailable" };
            respond(&mut stream, ready, "application/json", &format!("{{\"status\":\"{state}\"}}"))
        }
        "/whoami" => respond(&mut stream, 200, "text/plain", name),
        "/headers" => respond(&mut stream, 200, "text/plain", &headers.join("\n")),
        "/changes/stream" => {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
            )?;
            stream.write_all(b"data: first\n\n")?;
            stream.flush()?;
            std::thread::sleep(Duration::from_millis(1500));
            stream.write_all(b"data: second\n\n")?;
            stream.flush()
        }
        "/graphql" if upgrade => {
            write!(
                stream,
                "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
                 sec-websocket-accept: {WS_ACCEPT}\r\nsec-websocket-protocol: graphql-transport-ws\r\n\r\n"
            )?;
            stream.flush()?;
            // The tunnel: whatever comes is sent back, named.
            let mut buf = [0u8; 1024];
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                stream.write_all(format!("{name}:").as_bytes())?;
                stream.write_all(&buf[..n])?;
                stream.flush()?;
            }
        }
        _ => respond(&mut stream, 404, "text/plain", "not found"),
    }
}

fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// Which replicas answer `n` requests for `/whoami` through the balancer.
fn who_answers(http: &reqwest::blocking::Client, proxy: &Haproxy, n: usize) -> BTreeSet<String> {
    (0..n)
        .map(|_| {
            let resp = http.get(format!("{}/whoami", proxy.base())).send().expect("request through haproxy");
            assert_eq!(resp.status().as_u16(), 200, "through haproxy:\n{}", proxy.log());
            resp.text().expect("body")
        })
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn requests_reach_every_ready_replica_and_only_those() {
    let (a, b) = (Replica::start("a"), Replica::start("b"));
    let Some(proxy) = Haproxy::start(&[a.address.clone(), b.address.clone()]) else { return };
    proxy.wait_until_up(2);
    let http = http();
    assert_eq!(who_answers(&http, &proxy, 20), names(&["a", "b"]), "leastconn spreads requests over both");

    // A replica whose /readyz answers 503 ("loading", "unavailable") leaves the rotation.
    b.set_ready(503);
    proxy.wait_for_status(&server_name(1), "DOWN");
    assert!(proxy.server(&server_name(1)).check_status.starts_with("L7STS"), "{:?}", proxy.servers());
    assert_eq!(who_answers(&http, &proxy, 20), names(&["a"]));
    // ... and comes back when it answers 200 again.
    b.set_ready(200);
    proxy.wait_for_status(&server_name(1), "UP");
    let mut seen = BTreeSet::new();
    for _ in 0..10 {
        seen.extend(who_answers(&http, &proxy, 10));
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen, names(&["a", "b"]), "b is back in rotation");

    // Drain and maintenance through the runtime API, as the runbook does for upgrades.
    proxy.set_server_state(&server_name(0), "drain");
    proxy.wait_for_status(&server_name(0), "DRAIN");
    assert_eq!(who_answers(&http, &proxy, 20), names(&["b"]), "a draining replica takes no new requests");
    proxy.set_server_state(&server_name(0), "maint");
    proxy.wait_for_status(&server_name(0), "MAINT");
    assert_eq!(who_answers(&http, &proxy, 10), names(&["b"]));
    proxy.set_server_state(&server_name(0), "ready");
    proxy.wait_until_up(2);

    // No replica ready: the balancer answers as the hub does when it cannot serve.
    a.set_ready(503);
    b.set_ready(503);
    proxy.wait_for_status(&server_name(0), "DOWN");
    proxy.wait_for_status(&server_name(1), "DOWN");
    let resp = http.post(format!("{}/graphql", proxy.base())).body("{}").send().expect("request");
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body: Value = resp.json().expect("a JSON body");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "UNAVAILABLE", "{body}");
    assert!(error["extensions"]["messageJa"].as_str().is_some_and(|m| m.contains("ハブ")), "{body}");
}

#[test]
fn the_balancer_alone_says_who_the_client_is() {
    let a = Replica::start("a");
    let Some(proxy) = Haproxy::start(std::slice::from_ref(&a.address)) else { return };
    proxy.wait_until_up(1);
    // A client that writes its own forwarding headers, hoping to dodge per-address
    // limits: the replica must see only the balancer's X-Forwarded-For.
    let resp = http()
        .get(format!("{}/headers", proxy.base()))
        .header("X-Forwarded-For", "203.0.113.9")
        .header("Forwarded", "for=203.0.113.9")
        .send()
        .expect("request");
    let headers = resp.text().expect("body").to_ascii_lowercase();
    let forwarded: Vec<&str> =
        headers.lines().filter(|l| l.starts_with("x-forwarded-for:") || l.starts_with("forwarded:")).collect();
    assert_eq!(forwarded, ["x-forwarded-for: 127.0.0.1"], "headers the replica received:\n{headers}");
}

/// Reads from `stream` until `needle` has arrived; returns everything read.
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = stream
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("waiting for {needle:?}: {e}; so far: {}", String::from_utf8_lossy(&seen)));
        assert!(n > 0, "closed before {needle:?}; so far: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).to_string()
}

#[test]
fn websocket_upgrades_and_event_streams_pass_through() {
    let a = Replica::start("a");
    let Some(proxy) = Haproxy::start(std::slice::from_ref(&a.address)) else { return };
    proxy.wait_until_up(1);

    // GraphQL subscriptions: GET /graphql with Upgrade, then a tunnel both ways.
    let mut ws = TcpStream::connect(("127.0.0.1", proxy.port)).expect("connect");
    ws.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(
        ws,
        "GET /graphql HTTP/1.1\r\nhost: hub.example\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-key: {WS_KEY}\r\nsec-websocket-version: 13\r\nsec-websocket-protocol: graphql-transport-ws\r\n\r\n"
    )
    .expect("upgrade request");
    let head = read_until(&mut ws, "\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}\n{}", proxy.log());
    assert!(head.to_ascii_lowercase().contains("sec-websocket-protocol: graphql-transport-ws"), "{head}");
    for message in ["connection_init", "subscribe"] {
        ws.write_all(message.as_bytes()).expect("write through the tunnel");
        read_until(&mut ws, &format!("a:{message}"));
    }

    // Server-Sent Events: the first event arrives while the replica still holds the
    // second back (nothing buffered on the way).
    let mut sse = TcpStream::connect(("127.0.0.1", proxy.port)).expect("connect");
    sse.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let asked = Instant::now();
    sse.write_all(b"GET /changes/stream HTTP/1.1\r\nhost: hub.example\r\naccept: text/event-stream\r\n\r\n")
        .expect("stream request");
    let first = read_until(&mut sse, "data: first");
    assert!(asked.elapsed() < Duration::from_millis(1200), "the first event waited for the second: {first}");
    assert!(!first.contains("data: second"), "{first}");
    read_until(&mut sse, "data: second");
}

#[test]
fn a_real_hub_behind_the_balancer() {
    let hub = TestHub::start_with(Backend::Sqlite, |c| c.trusted_proxies = vec!["127.0.0.1".into()]);
    let address = hub.base.trim_start_matches("http://").to_string();
    let Some(proxy) = Haproxy::start(&[address]) else { return };
    // The hub's own /readyz passes the shipped check (GET /readyz, expect 200).
    proxy.wait_until_up(1);
    let http = http();
    let resp = http.get(format!("{}/readyz", proxy.base())).send().expect("readyz");
    assert_eq!(resp.status().as_u16(), 200);
    let ready: Value = resp.json().expect("readyz JSON");
    assert_eq!(ready["status"], "ready", "{ready}");
    // GraphQL through the balancer: without a token, the hub's own coded refusal.
    let resp = http
        .post(format!("{}/graphql", proxy.base()))
        .json(&serde_json::json!({"query": "{ __typename }"}))
        .send()
        .expect("graphql");
    let status = resp.status().as_u16();
    let body: Value = resp.json().expect("a JSON body");
    assert_eq!(status, 401, "{body}");
    assert!(body["errors"][0]["extensions"]["code"].as_str().is_some(), "{body}");
    // A coordinator's request through the balancer works like a direct one.
    let org = hub.add_org("Kanto Electric", true);
    let token = hub.token(&org, renkei_hub::auth::Role::Coordinator);
    let resp = http
        .post(format!("{}/graphql", proxy.base()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"query": "{ __typename }"}))
        .send()
        .expect("graphql");
    let body: Value = resp.json().expect("a JSON body");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

#[test]
fn the_shipped_configuration_is_valid() {
    let Some(bin) = haproxy::binary() else {
        println!("skipping: haproxy is not installed (ops/test installs it)");
        return;
    };
    let out = std::process::Command::new(bin)
        .arg("-c")
        .arg("-f")
        .arg(haproxy::shipped_config_path())
        .output()
        .expect("haproxy -c runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "haproxy -c refused ops/deploy/haproxy.cfg:\n{text}");
    assert!(!text.contains("[WARNING]") && !text.contains("[ALERT]"), "haproxy -c:\n{text}");
}
