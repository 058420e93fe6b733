//! Live subscribers for tests: a GraphQL subscription over WebSocket
//! (graphql-transport-ws, as browsers and Apollo clients speak it) and a Server-Sent
//! Events reader of `/changes/stream`. Each reads on a thread of its own and hands every
//! push (the `changes` subscription's `ChangePush` JSON) to the test through a channel.

use std::io::BufRead as _;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde_json::{json, Value};

const SUBSCRIPTION: &str = "subscription($a: String) { changes(after: $a) { items { seq id type version tlp deleted object signature signingKey } cursor hasMore behind } }";

/// What a reader hands over: a push, or the error that ended the stream.
#[derive(Debug, Clone)]
pub enum Received {
    Push(Value),
    Ended(String),
}

/// A live subscriber; dropping it closes nothing on its own (the reading thread ends
/// when the server closes), so tests keep it for as long as they read.
pub struct Subscriber {
    received: Receiver<Received>,
}

impl Subscriber {
    /// The next push within `within`; `None` on a timeout.
    pub fn next(&self, within: Duration) -> Option<Received> {
        match self.received.recv_timeout(within) {
            Ok(r) => Some(r),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Received::Ended("the reader ended".into())),
        }
    }

    /// Every item pushed until none comes for `quiet`, with the last cursor.
    pub fn drain(&self, quiet: Duration) -> (Vec<Value>, Option<String>, Option<String>) {
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            match self.next(quiet) {
                Some(Received::Push(push)) => {
                    items.extend(push["items"].as_array().cloned().unwrap_or_default());
                    cursor = push["cursor"].as_str().map(str::to_string);
                }
                Some(Received::Ended(why)) => return (items, cursor, Some(why)),
                None => return (items, cursor, None),
            }
        }
    }

    /// Subscribes over WebSocket at `base` (`http://host:port`), the token sent in
    /// `connection_init` as browsers do. Panics if the hub does not acknowledge.
    pub fn websocket(base: &str, token: &str, after: Option<&str>) -> Subscriber {
        Subscriber::try_websocket(base, token, after).expect("the subscription starts")
    }

    /// As `websocket`, the refusal as an error.
    pub fn try_websocket(base: &str, token: &str, after: Option<&str>) -> Result<Subscriber, String> {
        use tungstenite::client::IntoClientRequest as _;
        use tungstenite::Message;
        let url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().map_err(|e: tungstenite::http::header::InvalidHeaderValue| e.to_string())?,
        );
        let host = base.trim_start_matches("http://");
        let stream = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
        let (mut socket, _) = tungstenite::client(request, stream).map_err(|e| e.to_string())?;
        let send = |socket: &mut tungstenite::WebSocket<std::net::TcpStream>, v: Value| {
            socket.send(Message::text(v.to_string())).map_err(|e| e.to_string())
        };
        send(&mut socket, json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}))?;
        loop {
            match socket.read().map_err(|e| e.to_string())? {
                Message::Text(text) => {
                    let v: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
                    match v["type"].as_str() {
                        Some("connection_ack") => break,
                        Some("ping") => send(&mut socket, json!({"type": "pong"}))?,
                        _ => return Err(format!("refused: {v}")),
                    }
                }
                Message::Close(frame) => return Err(format!("closed: {frame:?}")),
                _ => {}
            }
        }
        send(
            &mut socket,
            json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": {"a": after}}}),
        )?;
        let (tx, received) = channel();
        std::thread::spawn(move || loop {
            let message = match socket.read() {
                Ok(m) => m,
                Err(e) => {
                    let _ = tx.send(Received::Ended(e.to_string()));
                    return;
                }
            };
            let Message::Text(text) = message else {
                if let Message::Close(frame) = message {
                    let _ = tx.send(Received::Ended(format!("closed: {frame:?}")));
                    return;
                }
                continue;
            };
            let v: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
            let sent = match v["type"].as_str() {
                Some("next") if v["payload"]["errors"].is_array() => {
                    tx.send(Received::Ended(v["payload"]["errors"].to_string()))
                }
                Some("next") => tx.send(Received::Push(v["payload"]["data"]["changes"].clone())),
                Some("error") => tx.send(Received::Ended(v["payload"].to_string())),
                Some("complete") => tx.send(Received::Ended("complete".into())),
                Some("ping") => {
                    let _ = socket.send(Message::text(json!({"type": "pong"}).to_string()));
                    Ok(())
                }
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        });
        Ok(Subscriber { received })
    }

    /// Reads `/changes/stream` at `base` as Server-Sent Events.
    pub fn events(base: &str, token: &str, after: Option<&str>) -> Subscriber {
        let client = reqwest::blocking::Client::builder().timeout(None::<Duration>).build().expect("client");
        let mut request = client.get(format!("{base}/changes/stream")).bearer_auth(token);
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        let response = request.send().expect("the event stream answers");
        assert_eq!(response.status().as_u16(), 200, "the event stream opens");
        let (tx, received) = channel();
        std::thread::spawn(move || {
            let mut event = String::new();
            for line in std::io::BufReader::new(response).lines() {
                let Ok(line) = line else {
                    let _ = tx.send(Received::Ended("the stream broke".into()));
                    return;
                };
                if let Some(name) = line.strip_prefix("event: ") {
                    event = name.to_string();
                } else if let Some(data) = line.strip_prefix("data: ") {
                    let v: Value = serde_json::from_str(data).unwrap_or_default();
                    let sent = if event == "changes" {
                        tx.send(Received::Push(v))
                    } else {
                        tx.send(Received::Ended(v.to_string()))
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send(Received::Ended("the hub closed the stream".into()));
        });
        Subscriber { received }
    }
}
