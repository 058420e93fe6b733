//! Live pushes on one hub (the embedded SQLite default), written as the attacks of a
//! member who probes them: a subscription (WebSocket) and an event stream (SSE) push
//! exactly what the `changes` page gives the same caller — the same versions,
//! tombstones and nothing else — for every viewer of the leak matrix; a peer's wake-up
//! stream wakes only for what its link may carry; tokens are checked on connect, again
//! while the stream lives, and a WebSocket runs subscriptions only; one caller cannot
//! open streams without bound.

use std::time::Duration;

use renkei_e2e::live::{Received, Subscriber};
use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use renkei_hub::federation::{self, Direction, PeerInput};
use renkei_schema::model::Kind;
use renkei_schema::tlp::Tlp;
use serde_json::{json, Value};

const SHARE: &str = "mutation($v: String!, $tlp: Tlp!, $to: [ID!]!) { shareIndicators(input: [{type: IPV4, value: $v}], sharing: {tlp: $tlp, recipients: $to}) { id } }";
const RELABEL: &str = "mutation($id: ID!, $r: [ID!]) { changeLabel(id: $id, tlp: RED, recipients: $r) { id } }";
const QUIET: Duration = Duration::from_millis(700);

fn start() -> TestHub {
    TestHub::start_with(Backend::Sqlite, |c| c.limits.stream_recheck_seconds = 1)
}

fn share(hub: &TestHub, token: &str, value: &str, tlp: &str, to: &[&str]) -> String {
    let data = hub.gql(token, SHARE, json!({"v": value, "tlp": tlp, "to": to}));
    data["shareIndicators"][0]["id"].as_str().expect("shared").to_string()
}

/// What a viewer's entries say, as compared between a push and a page.
fn entries(items: &[Value]) -> Vec<(String, String, bool, String)> {
    items
        .iter()
        .map(|i| {
            (
                i["seq"].as_str().unwrap_or("").to_string(),
                i["id"].as_str().unwrap_or("").to_string(),
                i["deleted"].as_bool().unwrap_or(false),
                i["tlp"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn every_viewer_is_pushed_exactly_what_its_feed_page_holds() {
    let hub = start();
    let a = hub.add_org("Kanto Electric", false);
    let b = hub.add_org("Chubu Gas", false);
    let c = hub.add_org("Tohoku Water", false);
    let coordinator_org = hub.add_org("ISAC", true);
    let publisher = hub.token(&a, Role::Analyst);
    let viewers = [
        ("recipient", hub.token(&b, Role::Analyst)),
        ("bystander", hub.token(&c, Role::Analyst)),
        ("procurement", hub.token(&c, Role::Procurement)),
        ("coordinator", hub.token(&coordinator_org, Role::Coordinator)),
    ];
    let streams: Vec<(&str, String, Subscriber, Subscriber)> = viewers
        .iter()
        .map(|(name, token)| {
            (
                *name,
                token.clone(),
                Subscriber::websocket(&hub.base, token, None),
                Subscriber::events(&hub.base, token, None),
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));

    let green = share(&hub, &publisher, "198.51.100.1", "GREEN", &[]);
    share(&hub, &publisher, "198.51.100.2", "AMBER", &[]);
    share(&hub, &publisher, "198.51.100.3", "AMBER_STRICT", &[]);
    let red_for_b = share(&hub, &publisher, "198.51.100.4", "RED", &[b.as_str()]);
    share(&hub, &publisher, "198.51.100.5", "RED", &[c.as_str()]);
    // What b held it loses: a tombstone for b, nothing for whoever never saw it.
    hub.gql(&publisher, RELABEL, json!({"id": green, "r": [c.clone()]}));

    for (name, token, ws, sse) in &streams {
        let (page, _) = hub.follow_changes(token, None, 1000);
        for (protocol, sub) in [("websocket", ws), ("events", sse)] {
            let (pushed, _, ended) = sub.drain(QUIET);
            assert!(ended.is_none(), "{name}/{protocol}: {ended:?}");
            assert_eq!(entries(&pushed), entries(&page), "{name}/{protocol}: the push is the page");
        }
    }
    // The matrix itself, so the comparison above cannot pass on two empty lists.
    let (recipient_page, _) = hub.follow_changes(&viewers[0].1, None, 1000);
    assert!(entries(&recipient_page).iter().any(|e| e.2), "the recipient got a tombstone");
    assert!(entries(&recipient_page).iter().any(|e| e.3 == "RED"), "the recipient got its RED item");
    let (procurement_page, _) = hub.follow_changes(&viewers[2].1, None, 1000);
    assert!(procurement_page.is_empty(), "procurement reads no indicators: {procurement_page:?}");
    let (bystander_page, _) = hub.follow_changes(&viewers[1].1, None, 1000);
    assert!(!bystander_page.iter().any(|i| i["id"].as_str() == Some(red_for_b.as_str())), "RED for b reached c");
}

#[test]
fn a_stream_resumes_from_its_cursor_with_nothing_lost_or_doubled() {
    let hub = start();
    let a = hub.add_org("Kanto Electric", false);
    let token = hub.token(&a, Role::Analyst);
    for i in 0..5 {
        share(&hub, &token, &format!("198.51.100.{i}"), "GREEN", &[]);
    }
    let first = Subscriber::websocket(&hub.base, &token, None);
    let (seen, cursor, _) = first.drain(QUIET);
    assert_eq!(seen.len(), 5, "caught up from the start");
    drop(first);
    for i in 5..9 {
        share(&hub, &token, &format!("198.51.100.{i}"), "GREEN", &[]);
    }
    // Resumed over the other protocol, from the last cursor.
    let again = Subscriber::events(&hub.base, &token, cursor.as_deref());
    let (rest, _, _) = again.drain(QUIET);
    let mut all = seen.clone();
    all.extend(rest);
    let (page, _) = hub.follow_changes(&token, None, 1000);
    assert_eq!(entries(&all), entries(&page));
}

#[test]
fn tokens_are_checked_at_connect_and_while_the_stream_lives() {
    let hub = start();
    let a = hub.add_org("Kanto Electric", false);
    let token = hub.token(&a, Role::Analyst);
    // No token, a wrong one: refused before anything is pushed.
    let refused = Subscriber::try_websocket(&hub.base, "", None).err().expect("no token is refused");
    assert!(refused.contains("token"), "{refused}");
    let forged = format!("{}x", token);
    assert!(Subscriber::try_websocket(&hub.base, &forged, None).is_err(), "a wrong token is refused");
    let (status, _) = hub.get("/changes/stream");
    assert_eq!(status, 401);

    // Revoked while streaming: the stream ends with the coded error.
    let sub = Subscriber::websocket(&hub.base, &token, None);
    let events = Subscriber::events(&hub.base, &token, None);
    let token_id = token.split('_').nth(1).expect("token id").to_string();
    hub.db(|c| renkei_hub::services::directory::revoke_token(c, &hub.hub.keys, &token_id)).expect("revoke");
    for (protocol, stream) in [("websocket", &sub), ("events", &events)] {
        let ended = loop {
            match stream.next(Duration::from_secs(10)) {
                Some(Received::Ended(why)) => break why,
                Some(Received::Push(_)) => continue,
                None => panic!("{protocol}: the stream outlived its revoked token"),
            }
        };
        assert!(ended.contains("UNAUTHENTICATED"), "{protocol}: {ended}");
    }
}

#[test]
fn a_websocket_runs_subscriptions_only_and_one_token_holds_a_bounded_number_of_streams() {
    use tungstenite::Message;
    let hub = start();
    let a = hub.add_org("Kanto Electric", false);
    let token = hub.token(&a, Role::Analyst);

    // A query over the WebSocket would escape the request limits of POST /graphql.
    let url = format!("{}/graphql", hub.base.replacen("http://", "ws://", 1));
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(url).expect("request");
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("header"));
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
    let stream = std::net::TcpStream::connect(hub.base.trim_start_matches("http://")).expect("connect");
    let (mut socket, _) = tungstenite::client(request, stream).expect("upgrade");
    socket.send(Message::text(json!({"type": "connection_init", "payload": {}}).to_string())).expect("init");
    let ack = socket.read().expect("ack");
    assert!(ack.to_string().contains("connection_ack"), "{ack}");
    let query = json!({"id": "q", "type": "subscribe", "payload": {"query": "{ me { role } }"}});
    socket.send(Message::text(query.to_string())).expect("query");
    let answer = socket.read().expect("answer").to_string();
    assert!(answer.contains("only subscriptions"), "{answer}");
    assert!(!answer.contains("ANALYST"), "the query ran: {answer}");

    // At most 16 streams per token, whatever the protocol; a closed one frees its slot.
    let open: Vec<Subscriber> = (0..16).map(|_| Subscriber::websocket(&hub.base, &token, None)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let extra = Subscriber::websocket(&hub.base, &token, None);
    match extra.next(Duration::from_secs(5)) {
        Some(Received::Ended(why)) => assert!(why.contains("RATE_LIMITED") || why.contains("16"), "{why}"),
        other => panic!("a 17th stream was served: {other:?}"),
    }
    let (status, _) = {
        let client = reqwest::blocking::Client::new();
        let r = client.get(format!("{}/changes/stream", hub.base)).bearer_auth(&token).send().expect("sse");
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 429);
    drop(open);
}

#[test]
fn a_peer_is_woken_only_for_what_its_link_carries() {
    let hub = start();
    let a = hub.add_org("Kanto Electric", false);
    let publisher = hub.token(&a, Role::Analyst);
    let (_, peer_token) = hub
        .db(|c| {
            federation::add_peer(
                c,
                &hub.hub.keys,
                PeerInput {
                    name: "national".into(),
                    url: "http://127.0.0.1:9".into(),
                    public_key: hub.hub.keys.signing.public_key(),
                    max_tlp: Tlp::Green,
                    community: true,
                    direction: Direction::Push,
                    kinds: vec![Kind::Indicator],
                    sightings: false,
                    token: None,
                    ca_pem: None,
                    client_cert_sha256: None,
                },
            )
        })
        .expect("link");
    let peer_token = peer_token.expect("a token for the peer");

    // A peer's token does not read the members' stream, a member's not the peer's.
    let client = reqwest::blocking::Client::new();
    let status = |path: &str, token: &str| {
        client.get(format!("{}{path}", hub.base)).bearer_auth(token).send().expect("answer").status().as_u16()
    };
    assert_eq!(status("/changes/stream", &peer_token), 403);
    assert_eq!(status("/federation/wake?hub=hub-national", &publisher), 403);

    let response = client
        .get(format!("{}/federation/wake", hub.base))
        .query(&[("hub", "hub-national")])
        .bearer_auth(&peer_token)
        .send()
        .expect("wake stream");
    assert_eq!(response.status().as_u16(), 200);
    let (tx, wakes) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(response).lines().map_while(Result::ok) {
            if line.starts_with("event: ") && tx.send(line).is_err() {
                return;
            }
        }
    });
    // What the link may not carry (AMBER, RED) wakes nothing: the peer learns nothing of it.
    share(&hub, &publisher, "198.51.100.1", "AMBER", &[]);
    share(&hub, &publisher, "198.51.100.2", "RED", &[a.as_str()]);
    assert_eq!(wakes.recv_timeout(QUIET).ok(), None, "woken for what the link does not carry");
    share(&hub, &publisher, "198.51.100.3", "GREEN", &[]);
    assert_eq!(wakes.recv_timeout(Duration::from_secs(10)).ok().as_deref(), Some("event: wake"));
}
