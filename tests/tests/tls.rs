//! The hub serves TLS with rustls (ring provider): a client that trusts the hub's CA
//! gets through, one that does not is refused. Certificates are made with the
//! `openssl` command for the test; the test says so and skips when it is absent.

use renkei_e2e::{certs, Backend, TempDir, TestHub};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

/// A self-signed CA: `<name>.key` and `<name>.crt`.
fn make_ca(dir: &Path, name: &str) -> bool {
    certs::self_signed(dir, name, &[])
}

/// `hub.key` and `hub.crt` for `localhost`, signed by the CA `ca`.
fn make_leaf(dir: &Path, ca: &str) -> bool {
    certs::signed_by(dir, ca, "hub", "DNS:localhost")
}

fn get_over_tls(port: u16, ca: &Path) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).map_err(|e| e.to_string())?;
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    tls.read_to_string(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[test]
fn hub_serves_tls_with_rustls_and_clients_verify_it() {
    let dir = TempDir::new("renkei-tls");
    if !make_ca(&dir.0, "renkei-test-ca") {
        eprintln!("skipping hub_serves_tls_with_rustls_and_clients_verify_it: the openssl command is not available");
        return;
    }
    assert!(
        make_ca(&dir.0, "other-ca") && make_leaf(&dir.0, "renkei-test-ca"),
        "openssl could not make the certificates"
    );
    let cert = dir.0.join("hub.crt");
    let key = dir.0.join("hub.key");
    let hub = TestHub::start_with(Backend::Sqlite, |c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    });
    let port: u16 = hub.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let answer = get_over_tls(port, &dir.0.join("renkei-test-ca.crt")).expect("TLS request");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"ok\""));
    let refused = get_over_tls(port, &dir.0.join("other-ca.crt"));
    assert!(refused.is_err(), "a client that does not trust the hub's CA must fail: {refused:?}");
}

/// Under TLS the console's cookies are Secure, and the session cookie takes the
/// `__Host-` prefix (the browser then insists on Secure, `Path=/` and no `Domain`).
#[test]
fn console_cookies_are_secure_under_tls() {
    let dir = TempDir::new("renkei-tls-console");
    if !make_ca(&dir.0, "renkei-test-ca") {
        eprintln!("skipping console_cookies_are_secure_under_tls: the openssl command is not available");
        return;
    }
    assert!(make_leaf(&dir.0, "renkei-test-ca"), "openssl could not make the certificates");
    let (cert, key) = (dir.0.join("hub.crt"), dir.0.join("hub.key"));
    let hub = TestHub::start_with(Backend::Sqlite, |c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    });
    let org = hub.add_org("Member One Power", false);
    let token = hub.token(&org, renkei_hub::auth::Role::Analyst);
    let port: u16 = hub.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let base = format!("https://localhost:{port}");
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(dir.0.join("renkei-test-ca.crt")).expect("ca")).expect("pem");
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(ca)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let form = client.get(format!("{base}/console/sign-in")).send().expect("sign-in page");
    let pre_cookie = form.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("cookie").to_string();
    assert!(
        pre_cookie.contains("Secure") && pre_cookie.contains("HttpOnly") && pre_cookie.contains("SameSite=Strict"),
        "{pre_cookie}"
    );
    let pre = pre_cookie.split(';').next().and_then(|p| p.split_once('=')).map(|(_, v)| v.to_string()).expect("value");
    let signed = client
        .post(format!("{base}/console/sign-in"))
        .header("cookie", format!("renkei_pre={pre}"))
        .form(&[("token", token.as_str()), ("pre", pre.as_str())])
        .send()
        .expect("sign in");
    assert_eq!(signed.status().as_u16(), 303);
    let session = signed.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("session cookie").to_string();
    assert!(session.starts_with("__Host-renkei_session="), "{session}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attribute), "{attribute} missing: {session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    let value = session.split(';').next().expect("pair").to_string();
    let page = client.get(format!("{base}/console/search")).header("cookie", value).send().expect("page");
    assert_eq!(page.status().as_u16(), 200);
}
