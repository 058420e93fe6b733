//! Running the real Suricata 7 over rules renkei wrote: a minimal configuration, a
//! check that the rules load (`suricata -T`), and a run over a capture this module
//! writes (DNS queries, TLS ClientHellos with SNI, HTTP sessions with a file, plain UDP
//! both ways), returning the alerts of `eve.json`. `ops/test` installs Suricata 7 from
//! bookworm-backports when it is missing; without it these helpers fail, never skip.

use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Suricata binary, checked to be version 7 or later. Panics with what to install
/// when it is missing.
pub fn binary() -> PathBuf {
    let path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("suricata"))
        .find(|p| p.is_file())
        .expect(
            "suricata is not installed: these tests need Suricata 7 (ops/test installs it: \
             apt-get install -t bookworm-backports suricata)",
        );
    let out = Command::new(&path).arg("-V").output().expect("suricata -V runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let major: u32 = text
        .split("version ")
        .nth(1)
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or_else(|| panic!("suricata -V printed no version: {text}"));
    assert!(major >= 7, "these tests need Suricata 7 or later, found: {text}");
    path
}

/// A minimal configuration: the protocols the rules inspect, alerts to `eve.json`.
pub const CONFIG: &str = r#"%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "[10.0.0.0/8]"
    EXTERNAL_NET: "!$HOME_NET"
  port-groups:
    HTTP_PORTS: "80"
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      types:
        - alert
        # Suricata 7.0.10 computes only one hash type from rules that ask for several
        # (filesha1 and filesha256 rules together: only SHA-1, so the SHA-256 rule never
        # fires); forcing every hash makes each list rule match (renkei.rules says so too).
        - files:
            force-hash: [md5, sha1, sha256]
app-layer:
  protocols:
    http:
      enabled: yes
    tls:
      enabled: yes
      detection-ports:
        dp: 443
    dns:
      tcp:
        enabled: yes
        detection-ports:
          dp: 53
      udp:
        enabled: yes
        detection-ports:
          dp: 53
"#;

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("suricata.yaml");
    std::fs::write(&path, CONFIG).expect("write the configuration");
    path
}

/// Runs Suricata with its config and `rules` (logs in a fresh folder beside them) and
/// `extra` arguments: its output, whether it succeeded, and the log folder.
fn run(rules: &Path, logs_prefix: &str, extra: &[&std::ffi::OsStr]) -> (String, bool, std::path::PathBuf) {
    let dir = rules.parent().expect("the rules file's folder");
    let logs = dir.join(format!("{logs_prefix}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&logs).expect("log dir");
    let config = write_config(&logs);
    let out = Command::new(binary())
        .arg("-c")
        .arg(&config)
        .arg("-S")
        .arg(rules)
        .arg("-l")
        .arg(&logs)
        .args(extra)
        .output()
        .expect("suricata runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (text, out.status.success(), logs)
}

/// `suricata -T` on a rules file (its hash lists beside it): Suricata's output, as an
/// error unless every rule loads.
pub fn load(rules: &Path) -> Result<String, String> {
    let (text, succeeded, _) = run(rules, "suricata-test", &["-T".as_ref()]);
    let loaded = text.lines().any(|l| l.contains("rules successfully loaded, 0 rules failed"));
    if succeeded && loaded && !text.contains("Error: ") {
        Ok(text)
    } else {
        Err(text)
    }
}

/// [`load`], panicking with Suricata's output unless every rule loads.
pub fn check_loads(rules: &Path) {
    if let Err(text) = load(rules) {
        panic!("suricata -T refused {}:\n{text}", rules.display());
    }
}

/// Runs Suricata with `rules` over `pcap`; the `alert` events of `eve.json`.
pub fn alerts(rules: &Path, pcap: &Path) -> Vec<Value> {
    let extra: [&std::ffi::OsStr; 6] =
        ["-k".as_ref(), "none".as_ref(), "--runmode".as_ref(), "single".as_ref(), "-r".as_ref(), pcap.as_os_str()];
    let (text, succeeded, logs) = run(rules, "suricata-logs", &extra);
    assert!(succeeded, "suricata failed on {}:\n{text}", pcap.display());
    let eve = std::fs::read_to_string(logs.join("eve.json")).unwrap_or_default();
    eve.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("an eve.json line"))
        .filter(|e| e["event_type"] == "alert")
        .collect()
}

/// A capture file being written (Ethernet, microsecond timestamps).
pub struct Pcap {
    bytes: Vec<u8>,
    micros: u64,
}

impl Default for Pcap {
    fn default() -> Self {
        Pcap::new()
    }
}

fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Pcap {
    pub fn new() -> Pcap {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&0i32.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&65535u32.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
        Pcap { bytes, micros: 1_780_000_000_000_000 }
    }

    fn frame(&mut self, ip_packet: &[u8]) {
        let mut frame = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00];
        frame.extend_from_slice(ip_packet);
        self.micros += 1000;
        let len = u32::try_from(frame.len()).expect("a small frame");
        self.bytes.extend_from_slice(&u32::try_from(self.micros / 1_000_000).expect("seconds").to_le_bytes());
        self.bytes.extend_from_slice(&u32::try_from(self.micros % 1_000_000).expect("micros").to_le_bytes());
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(&frame);
    }

    fn ipv4(&mut self, src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, segment: &[u8]) {
        let total = u16::try_from(20 + segment.len()).expect("a small packet");
        let mut header = vec![0x45, 0];
        header.extend_from_slice(&total.to_be_bytes());
        header.extend_from_slice(&[0, 1, 0x40, 0, 64, protocol, 0, 0]);
        header.extend_from_slice(&src.octets());
        header.extend_from_slice(&dst.octets());
        let sum = checksum(&[&header]);
        header[10..12].copy_from_slice(&sum.to_be_bytes());
        header.extend_from_slice(segment);
        self.frame(&header);
    }

    fn pseudo(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: usize) -> Vec<u8> {
        let mut p = Vec::with_capacity(12);
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        p.extend_from_slice(&[0, protocol]);
        p.extend_from_slice(&u16::try_from(len).expect("a small segment").to_be_bytes());
        p
    }

    /// One UDP datagram.
    pub fn udp(&mut self, src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), payload: &[u8]) {
        let len = 8 + payload.len();
        let mut seg = Vec::with_capacity(len);
        seg.extend_from_slice(&src.1.to_be_bytes());
        seg.extend_from_slice(&dst.1.to_be_bytes());
        seg.extend_from_slice(&u16::try_from(len).expect("a small datagram").to_be_bytes());
        seg.extend_from_slice(&[0, 0]);
        seg.extend_from_slice(payload);
        let sum = checksum(&[&Self::pseudo(src.0, dst.0, 17, len), &seg]);
        seg[6..8].copy_from_slice(&sum.to_be_bytes());
        self.ipv4(src.0, dst.0, 17, &seg);
    }

    /// A DNS query for `name` (type A) from `client` to a resolver.
    pub fn dns_query(&mut self, client: (Ipv4Addr, u16), resolver: Ipv4Addr, id: u16, name: &str) {
        let mut q = Vec::new();
        q.extend_from_slice(&id.to_be_bytes());
        q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            q.push(u8::try_from(label.len()).expect("a short label"));
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        self.udp(client, (resolver, 53), &q);
    }

    fn tcp_segment(&mut self, src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), seq: u32, ack: u32, flags: u8, data: &[u8]) {
        let mut seg = Vec::with_capacity(20 + data.len());
        seg.extend_from_slice(&src.1.to_be_bytes());
        seg.extend_from_slice(&dst.1.to_be_bytes());
        seg.extend_from_slice(&seq.to_be_bytes());
        seg.extend_from_slice(&ack.to_be_bytes());
        seg.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        seg.extend_from_slice(data);
        let sum = checksum(&[&Self::pseudo(src.0, dst.0, 6, seg.len()), &seg]);
        seg[16..18].copy_from_slice(&sum.to_be_bytes());
        self.ipv4(src.0, dst.0, 6, &seg);
    }

    /// A whole TCP connection: handshake, the client's request, the server's answer
    /// (either may be empty), each acknowledged, then both sides close.
    pub fn tcp_session(&mut self, client: (Ipv4Addr, u16), server: (Ipv4Addr, u16), request: &[u8], answer: &[u8]) {
        const SYN: u8 = 0x02;
        const ACK: u8 = 0x10;
        const PSH_ACK: u8 = 0x18;
        const FIN_ACK: u8 = 0x11;
        let (mut c, mut s) = (1000u32, 5000u32);
        self.tcp_segment(client, server, c, 0, SYN, &[]);
        self.tcp_segment(server, client, s, c + 1, SYN | ACK, &[]);
        c += 1;
        s += 1;
        self.tcp_segment(client, server, c, s, ACK, &[]);
        for chunk in request.chunks(1400) {
            self.tcp_segment(client, server, c, s, PSH_ACK, chunk);
            c += u32::try_from(chunk.len()).expect("a chunk");
            self.tcp_segment(server, client, s, c, ACK, &[]);
        }
        for chunk in answer.chunks(1400) {
            self.tcp_segment(server, client, s, c, PSH_ACK, chunk);
            s += u32::try_from(chunk.len()).expect("a chunk");
            self.tcp_segment(client, server, c, s, ACK, &[]);
        }
        self.tcp_segment(client, server, c, s, FIN_ACK, &[]);
        c += 1;
        self.tcp_segment(server, client, s, c, FIN_ACK, &[]);
        s += 1;
        self.tcp_segment(client, server, c, s, ACK, &[]);
    }

    /// An HTTP/1.1 GET of `path` on `host` answered 200 with `body`.
    pub fn http_get(&mut self, client: (Ipv4Addr, u16), server: Ipv4Addr, host: &str, path: &str, body: &[u8]) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: renkei-test\r\nAccept: */*\r\n\r\n");
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        answer.extend_from_slice(body);
        self.tcp_session(client, (server, 80), request.as_bytes(), &answer);
    }

    /// A TLS 1.2 ClientHello naming `sni`, to port 443 (no answer).
    pub fn tls_client_hello(&mut self, client: (Ipv4Addr, u16), server: Ipv4Addr, sni: &str) {
        let name = sni.as_bytes();
        let name_len = u16::try_from(name.len()).expect("a short name");
        let mut ext = vec![0, 0]; // server_name
        ext.extend_from_slice(&(name_len + 5).to_be_bytes());
        ext.extend_from_slice(&(name_len + 3).to_be_bytes());
        ext.push(0); // host_name
        ext.extend_from_slice(&name_len.to_be_bytes());
        ext.extend_from_slice(name);
        let mut hello = vec![0x03, 0x03];
        hello.extend_from_slice(&[0x42; 32]);
        hello.push(0); // no session id
        hello.extend_from_slice(&[0, 2, 0x00, 0x2f]); // TLS_RSA_WITH_AES_128_CBC_SHA
        hello.extend_from_slice(&[1, 0]); // no compression
        hello.extend_from_slice(&u16::try_from(ext.len()).expect("short").to_be_bytes());
        hello.extend_from_slice(&ext);
        let hello_len = u32::try_from(hello.len()).expect("short").to_be_bytes();
        let mut handshake = vec![0x01, hello_len[1], hello_len[2], hello_len[3]];
        handshake.extend_from_slice(&hello);
        let mut record = vec![0x16, 0x03, 0x01];
        record.extend_from_slice(&u16::try_from(handshake.len()).expect("short").to_be_bytes());
        record.extend_from_slice(&handshake);
        self.tcp_session(client, (server, 443), &record, &[]);
    }

    /// Writes the capture.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, &self.bytes).expect("write the capture");
    }
}
