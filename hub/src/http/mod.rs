//! actix-web assembly: `/graphql` (POST; GET serves GraphiQL when configured, see
//! `graphiql.rs`), `/healthz`, `/readyz`, the exports, the MISP feed (`misp_feed.rs`)
//! and the federation feeds; `/metrics` only on the operator's own listener
//! (`metrics_listen`); authentication, lockout and rate limits before any resolver
//! runs; TLS with rustls on the ring provider.

pub mod gate;
pub mod stream;

use crate::error::AppError;
use crate::graphql::guard::{AnswerBudget, DocumentCache, RequestLane};
use crate::graphql::{build_schema, HubSchema};
use crate::state::{Hub, Metrics};
use actix_web::dev::Extensions;
use actix_web::{http::StatusCode, web, App, HttpRequest, HttpResponse, HttpServer};
use futures::StreamExt;
use renkei_schema::errors::Code;
use serde_json::json;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use gate::{error_response, require_identity, ClientCertificate};

/// Answers at least this large (pre-written bytes) are serialised off the workers.
const LARGE_ANSWER: usize = 256 * 1024;

async fn graphql_post(
    req: HttpRequest,
    mut payload: web::Payload,
    hub: web::Data<Arc<Hub>>,
    schema: web::Data<HubSchema>,
    documents: web::Data<DocumentCache>,
) -> HttpResponse {
    Metrics::add(&hub.metrics.http_requests, 1);
    // Who asks comes first: without a valid token nothing is read, parsed or run
    // (introspection included).
    let identity = match require_identity(&hub, &req).await {
        Ok(identity) => identity,
        Err(response) => return response,
    };
    let max = hub.config.limits.max_body_bytes;
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &AppError::new(
                Code::BodyTooLarge,
                format!("request bodies are limited to {max} bytes"),
                format!("リクエスト本文は{max}バイトまでです"),
            ),
        )
    };
    let declared =
        req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return too_large();
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if body.len() + chunk.len() <= max => body.extend_from_slice(&chunk),
            Ok(_) => return too_large(),
            Err(_) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    &AppError::invalid("could not read the request body", "リクエスト本文を読み取れません"),
                )
            }
        }
    }
    // A retried write with the same Idempotency-Key gets the first answer again, on
    // whichever replica it lands (the keys are in Redis, shared by the replicas).
    let idempotency = match idempotency_of(&hub, &req, &identity, &body).await {
        Ok(Idempotency::Replay(response)) => return response,
        Ok(Idempotency::Record(key)) => Some(key),
        Ok(Idempotency::None) => None,
        Err(response) => return response,
    };
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &AppError::new(
                    Code::BadRequest,
                    format!("not a GraphQL request: {e}"),
                    "GraphQLリクエストとして解釈できません",
                ),
            )
        }
    };
    drop(body);
    let weight = match documents.prepare(&mut request, &hub.config.limits) {
        Ok(weight) => weight,
        Err(e) => {
            Metrics::add(&hub.metrics.graphql_errors, 1);
            let status =
                if e.code == "QUERY_TOO_LARGE" { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
            return error_response(status, &e);
        }
    };
    let request =
        request.data(identity).data(AnswerBudget::new(hub.config.limits.max_answer_bytes)).data(RequestLane::default());
    // The client certificate the connection presented, for links pinned to one.
    let request = match req.conn_data::<ClientCertificate>() {
        Some(presented) => request.data(presented.clone()),
        None => request,
    };
    // A heavy request (introspection, a page of 1,000 or more, a list argument as long)
    // runs on a thread of the blocking pool, and so is a large answer written out: the
    // server's two workers must keep answering /healthz and accepting connections while
    // a member asks for a lot. Light requests (a lookup of 100 values) run on the worker
    // itself, where the hop to another thread would cost a third of their rate.
    let (failed, json) = if weight.heavy {
        let schema = schema.into_inner();
        let executed = tokio::task::spawn_blocking(move || {
            futures::executor::block_on(async move {
                let response = schema.execute(request).await;
                (response.is_err(), crate::graphql::response_json(&response))
            })
        })
        .await;
        match executed {
            Ok(done) => done,
            Err(e) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &AppError::internal(e)),
        }
    } else {
        let response = schema.execute(request).await;
        let failed = response.is_err();
        let json = if crate::graphql::answer_len(&response) < LARGE_ANSWER {
            crate::graphql::response_json(&response)
        } else {
            match tokio::task::spawn_blocking(move || crate::graphql::response_json(&response)).await {
                Ok(json) => json,
                Err(e) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &AppError::internal(e)),
            }
        };
        (failed, json)
    };
    if failed {
        Metrics::add(&hub.metrics.graphql_errors, 1);
    }
    match json {
        Ok(bytes) => {
            if let Some(key) = idempotency {
                key.record(&hub, &bytes).await;
            }
            HttpResponse::Ok().content_type("application/json").body(bytes)
        }
        Err(e) => {
            if let Some(key) = idempotency {
                key.release(&hub).await;
            }
            error_response(StatusCode::INTERNAL_SERVER_ERROR, &AppError::internal(e))
        }
    }
}

/// How long a request with an Idempotency-Key may run before the key is free again, and
/// how long its answer is kept for retries.
const IDEMPOTENCY_RUNNING: Duration = Duration::from_secs(120);
const IDEMPOTENCY_KEPT: Duration = Duration::from_secs(24 * 3600);
/// Answers larger than this are not kept (a retry then gets IDEMPOTENCY_CONFLICT saying
/// the first request was done: read the result instead).
const IDEMPOTENCY_MAX_ANSWER: usize = 256 * 1024;

enum Idempotency {
    None,
    Replay(HttpResponse),
    Record(IdempotencyKey),
}

/// A claimed Idempotency-Key: where its answer goes, and the digest of the request it
/// belongs to.
struct IdempotencyKey {
    stored_as: String,
    digest: String,
}

impl IdempotencyKey {
    /// Keeps the answer for retries, unless the request is worth retrying for real (the
    /// database was away: nothing was stored, or the answer says it may not have been),
    /// in which case the key is freed.
    async fn record(self, hub: &Hub, answer: &[u8]) {
        let retryable = answer.windows(13).any(|w| w == b"\"UNAVAILABLE\"");
        if retryable {
            return self.release(hub).await;
        }
        let kept = if answer.len() <= IDEMPOTENCY_MAX_ANSWER {
            format!("done:{}:{}", self.digest, String::from_utf8_lossy(answer))
        } else {
            format!("done:{}:", self.digest)
        };
        hub.counters.put(&self.stored_as, &kept, IDEMPOTENCY_KEPT).await;
    }

    async fn release(self, hub: &Hub) {
        hub.counters.forget(&self.stored_as).await;
    }
}

/// Reads the `Idempotency-Key` header (1–128 visible ASCII characters): the stored
/// answer of an earlier request with it (same token, same body), or the key claimed for
/// this one. A key still running, or used with another body, is refused.
async fn idempotency_of(
    hub: &Hub,
    req: &HttpRequest,
    identity: &crate::auth::Identity,
    body: &[u8],
) -> Result<Idempotency, HttpResponse> {
    let Some(header) = req.headers().get("idempotency-key") else { return Ok(Idempotency::None) };
    let key = header.to_str().unwrap_or("");
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(error_response(
            StatusCode::BAD_REQUEST,
            &AppError::invalid(
                "Idempotency-Key: 1 to 128 visible ASCII characters",
                "Idempotency-Keyは表示可能なASCII文字1〜128字で指定してください",
            ),
        ));
    }
    let stored_as = format!("idem:{}:{}", identity.token_id, crate::crypto::sha256_hex(key.as_bytes()));
    let digest = crate::crypto::sha256_hex(body);
    let conflict = |en: &str, ja: &str| {
        error_response(StatusCode::CONFLICT, &AppError::new(Code::IdempotencyConflict, en.to_string(), ja.to_string()))
    };
    if hub.counters.claim(&stored_as, &format!("running:{digest}"), IDEMPOTENCY_RUNNING).await {
        return Ok(Idempotency::Record(IdempotencyKey { stored_as, digest }));
    }
    let held = hub.counters.value(&stored_as).await.unwrap_or_default();
    let (state, rest) = held.split_once(':').unwrap_or(("running", ""));
    let (held_digest, answer) = rest.split_once(':').unwrap_or((rest, ""));
    if held_digest != digest {
        return Err(conflict(
            "this Idempotency-Key was used with another request",
            "このIdempotency-Keyは別の要求で使用済みです",
        ));
    }
    match state {
        "done" if !answer.is_empty() => Ok(Idempotency::Replay(
            HttpResponse::Ok()
                .content_type("application/json")
                .insert_header(("idempotent-replayed", "true"))
                .body(answer.to_string()),
        )),
        "done" => Err(conflict(
            "the request with this Idempotency-Key was done; its answer was too large to keep: read the result",
            "このIdempotency-Keyの要求は完了済みです（応答は保存できない大きさでした）。結果を読み取ってください",
        )),
        _ => Err(conflict(
            "a request with this Idempotency-Key is still running: retry later",
            "このIdempotency-Keyの要求はまだ実行中です。しばらくしてから再試行してください",
        )),
    }
}

/// `GET /graphql` with a WebSocket upgrade: GraphQL subscriptions (graphql-transport-ws,
/// and the older graphql-ws). The token comes in the upgrade request's `Authorization`
/// header or, from browsers (which cannot set it), in `connection_init`'s payload as
/// `{"Authorization": "Bearer rk_…"}`; either is checked, counted and locked out like any
/// presented token. Queries and mutations stay on `POST /graphql`.
async fn graphql_ws(
    req: HttpRequest,
    payload: web::Payload,
    hub: web::Data<Arc<Hub>>,
    schema: web::Data<HubSchema>,
) -> HttpResponse {
    use crate::live::PresentedToken;
    Metrics::add(&hub.metrics.http_requests, 1);
    let upfront = match gate::authenticate(&hub, &req).await {
        Ok(identity) => identity,
        Err(response) => return response,
    };
    let mut data = async_graphql::Data::default();
    data.insert(crate::graphql::live_api::OverWebSocket);
    let authenticated = upfront.is_some();
    if let Some(identity) = upfront {
        let header = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        data.insert(PresentedToken(gate::token_of(header)));
        data.insert(identity);
    }
    let source = gate::client_address(&hub, &req);
    let hub = Arc::clone(hub.get_ref());
    let subscription = async_graphql_actix_web::GraphQLSubscription::new(schema.get_ref().clone())
        .with_data(data)
        .on_connection_init(move |init: serde_json::Value| async move {
            let mut data = async_graphql::Data::default();
            if authenticated {
                return Ok(data);
            }
            let presented = ["Authorization", "authorization"]
                .iter()
                .find_map(|k| init.get(*k).and_then(|v| v.as_str()))
                .map(gate::token_of);
            let Some(token) = presented else {
                return Err(async_graphql::Error::new(close_reason(
                    "UNAUTHENTICATED: send {\"Authorization\": \"Bearer rk_…\"} in connection_init",
                )));
            };
            match gate::check_presented_from(&hub, source, &token).await {
                Ok(identity) => {
                    data.insert(PresentedToken(token));
                    data.insert(identity);
                    Ok(data)
                }
                Err((_, e)) => Err(async_graphql::Error::new(close_reason(&format!("{}: {}", e.code, e.message)))),
            }
        });
    match subscription.start(&req, payload) {
        Ok(response) => response,
        Err(e) => error_response(
            StatusCode::BAD_REQUEST,
            &AppError::new(
                Code::BadRequest,
                format!("not a GraphQL WebSocket upgrade: {e}"),
                "GraphQLのWebSocket接続要求として解釈できません",
            ),
        ),
    }
}

/// A refusal of `connection_init` as the WebSocket close frame carries it: a close
/// reason is at most 123 bytes (a control frame's 125 less the code), so it is the
/// error code and the start of the English text (a longer one broke the connection
/// instead of closing it, in browsers as in other clients).
fn close_reason(text: &str) -> String {
    let mut end = text.len().min(120);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Whether a request asks to upgrade to a WebSocket.
fn is_websocket_upgrade(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    ctx.head().headers().get("upgrade").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// The JSON Schema of renkei's STIX extension (its extension definition points here).
async fn extension_schema() -> HttpResponse {
    HttpResponse::Ok().content_type("application/schema+json").body(renkei_schema::stix::EXTENSION_SCHEMA)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The longest `/readyz` waits for the database to answer a check.
const READY_WAIT: Duration = Duration::from_millis(800);

/// Readiness, per dependency, within a second whatever the dependencies do:
/// `{"status", "database", "redis", "index"}`. 503 while the indicator index loads
/// (`"status": "loading"`, code NOT_READY) or the database does not answer
/// (`"status": "unavailable"`, code UNAVAILABLE; `"database"` is `"unavailable"` when
/// known to be down, `"no answer"` when a check did not finish within 800 ms). 200
/// otherwise: `"status": "ready"`, or `"degraded"` when the configured Redis does not
/// answer (`"redis": "unavailable"`; the hub keeps the lockout and rate counters in
/// process meanwhile). `"redis"` is `"up"`, `"unavailable"` or `"not configured"`.
async fn readyz(hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let database = hub.database_state(READY_WAIT).await;
    let redis = hub.counters.redis_state();
    let loaded = hub.index.is_ready();
    let mut body = json!({
        "database": database.as_str(),
        "redis": redis.map_or("not configured", |r| r.as_str()),
        "index": if loaded { "loaded" } else { "loading" },
    });
    let (status, state, code) = if database != crate::state::DatabaseState::Up {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable", Some("UNAVAILABLE"))
    } else if !loaded {
        (StatusCode::SERVICE_UNAVAILABLE, "loading", Some("NOT_READY"))
    } else if redis == Some(crate::bus::RedisState::Unavailable) {
        (StatusCode::OK, "degraded", None)
    } else {
        (StatusCode::OK, "ready", None)
    };
    body["status"] = json!(state);
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    let mut response = HttpResponse::build(status);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.insert_header(("retry-after", "1"));
    }
    response.json(body)
}

async fn metrics(hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let mut body = hub.metrics.render();
    let mut gauges = vec![
        ("renkei_indicator_index_indicators", "indicators in the lookup index", hub.index.len()),
        ("renkei_indicator_index_bytes", "heap held by the lookup index (estimate)", hub.index.heap_bytes()),
        ("renkei_database_up", "1 unless the database is known to be down", usize::from(!hub.db_health.is_down())),
    ];
    if let Some(redis) = hub.counters.redis_state() {
        gauges.push((
            "renkei_redis_up",
            "1 while the configured Redis answers",
            usize::from(redis == crate::bus::RedisState::Up),
        ));
    }
    for (name, help, value) in gauges {
        body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body)
}

/// Loads the TLS certificate chain and key into a rustls config on the ring provider.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
    client_ca: Option<&std::path::Path>,
) -> anyhow::Result<rustls::ServerConfig> {
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(std::fs::File::open(cert)?))
        .collect::<Result<Vec<_>, _>>()?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(std::fs::File::open(key)?))?
        .ok_or_else(|| anyhow::anyhow!("no private key in {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder =
        rustls::ServerConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions()?;
    let config = match client_ca {
        None => builder.with_no_client_auth().with_single_cert(certs, key)?,
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls_pemfile::certs(&mut std::io::BufReader::new(std::fs::File::open(ca)?)) {
                roots.add(c?)?;
            }
            anyhow::ensure!(!roots.is_empty(), "no certificate in {}", ca.display());
            // Members connect without a certificate; peer hubs present one.
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()?;
            builder.with_client_cert_verifier(verifier).with_single_cert(certs, key)?
        }
    };
    Ok(config)
}

fn note_client_certificate(conn: &dyn std::any::Any, ext: &mut Extensions) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    if let Some(tls) = conn.downcast_ref::<Tls>() {
        if let Some(first) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
            ext.insert(ClientCertificate(crate::crypto::sha256_hex(first.as_ref())));
        }
    }
}

/// Marks a connection accepted on the operator's metrics listener.
#[derive(Debug, Clone, Copy)]
struct OnMetricsListener;

/// Notes what each new connection is: the client certificate a TLS one presented, and
/// whether it came in on the metrics listener.
fn note_connection(metrics: Option<std::net::SocketAddr>) -> impl Fn(&dyn std::any::Any, &mut Extensions) {
    move |conn, ext| {
        note_client_certificate(conn, ext);
        if let (Some(metrics), Some(tcp)) = (metrics, conn.downcast_ref::<actix_web::rt::net::TcpStream>()) {
            if tcp.local_addr().is_ok_and(|local| local == metrics) {
                ext.insert(OnMetricsListener);
            }
        }
    }
}

/// Builds the server on an already bound listener (tests bind port 0), and binds the
/// operator's metrics listener (`metrics_listen`) beside it: the same server, but a
/// connection there reaches `/metrics` and nothing else, and `/metrics` is found
/// nowhere else. Members and the public never see the counters, which move with
/// content they may not read (the lookup index grows by a value's length only when the
/// value is new to the hub).
pub fn server(
    hub: Arc<Hub>,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
) -> anyhow::Result<actix_web::dev::Server> {
    use anyhow::Context as _;
    // A serving hub pulls from its peers (federation links it pulls), in the
    // background on this runtime.
    crate::federation::puller::start(&hub);
    // The live tail hands what is committed (here or on another replica) to
    // subscribers and keeps the lookup index following the feed.
    crate::live::start(&hub);
    let workers = if hub.config.http_workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        hub.config.http_workers
    };
    let metrics_listener = match hub.config.metrics_listen.trim() {
        "" => None,
        address => {
            let bound = TcpListener::bind(address).with_context(|| format!("binding metrics_listen {address}"))?;
            let _ = hub.metrics_address.set(bound.local_addr()?);
            Some(bound)
        }
    };
    let metrics_address = hub.metrics_address.get().copied().filter(|_| metrics_listener.is_some());
    let schema = build_schema(Arc::clone(&hub));
    let data_hub = web::Data::new(hub);
    let data_schema = web::Data::new(schema);
    let data_documents = web::Data::new(DocumentCache::default());
    let console_enabled = data_hub.config.console.enabled;
    let factory = move || {
        App::new()
            .wrap_fn(|req, srv| {
                use actix_web::dev::Service as _;
                use futures::future::{ready, Either, FutureExt as _};
                let on_metrics = req.conn_data::<OnMetricsListener>().is_some();
                if on_metrics == (req.path() == "/metrics") {
                    Either::Left(srv.call(req).map(|res| res.map(|r| r.map_into_left_body())))
                } else {
                    let response = req.into_response(HttpResponse::NotFound().finish()).map_into_right_body();
                    Either::Right(ready(Ok(response)))
                }
            })
            .app_data(data_hub.clone())
            .app_data(data_schema.clone())
            .app_data(data_documents.clone())
            .route("/graphql", web::post().to(graphql_post))
            .route("/graphql", web::get().guard(actix_web::guard::fn_guard(is_websocket_upgrade)).to(graphql_ws))
            .route("/changes/stream", web::get().to(stream::changes))
            .route("/federation/wake", web::get().to(stream::federation_wake))
            .configure(crate::graphiql::routes)
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
            .route("/export/indicators", web::get().to(crate::export::indicators))
            .route("/export/stix", web::get().to(crate::stix_export::bundle))
            .route("/stix/renkei-extension.schema.json", web::get().to(extension_schema))
            .route("/misp/feed/{file:.*}", web::get().to(crate::misp_feed::feed))
            .route("/export/indicators/suricata/{file}", web::get().to(crate::export::hash_list))
            .route("/federation/changes", web::get().to(crate::federation::http::changes))
            .route("/federation/sightings", web::get().to(crate::federation::http::sightings))
            .configure(crate::taxii::routes)
            .configure(|cfg| crate::console::routes(cfg, console_enabled))
    };
    let builder =
        HttpServer::new(factory).workers(workers).shutdown_timeout(5).on_connect(note_connection(metrics_address));
    let builder = match tls {
        Some(config) => builder.listen_rustls_0_23(listener, config)?,
        None => builder.listen(listener)?,
    };
    let builder = match metrics_listener {
        Some(metrics) => builder.listen(metrics)?,
        None => builder,
    };
    Ok(builder.run())
}

/// Whether serving plain HTTP on this address needs the explicit flag.
pub fn is_loopback(listen: &str) -> bool {
    listen
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or_else(|_| listen.starts_with("localhost:"))
}
