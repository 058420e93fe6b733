//! The gate every plain HTTP endpoint passes (the GraphQL endpoint, the exports, the
//! federation feeds): who the caller is (bearer token, client certificate, the client
//! address behind a trusted proxy), failed-login slowdown and lockout, and the JSON
//! error bodies they answer with.

use actix_web::{http::StatusCode, HttpMessage as _, HttpRequest, HttpResponse};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Identity;
use crate::error::AppError;
use crate::services::audit::{self, AuditEvent};
use crate::services::directory::{self, TokenRefusal};
use crate::state::{Hub, Metrics};
use renkei_schema::errors::Code;

pub fn error_response(status: StatusCode, err: &AppError) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.insert_header(("retry-after", "1"));
    }
    response.json(json!({
        "errors": [{
            "message": err.message,
            "extensions": {"code": err.code, "messageJa": err.message_ja},
        }]
    }))
}

/// Where the request comes from: the connection's address, or, behind a configured
/// trusted proxy, the client the proxy names (see `auth::proxies`).
pub fn client_address(hub: &Hub, req: &HttpRequest) -> String {
    // Every line of a header, in order, as one list: a proxy that appends its own line
    // (HAProxy's `option forwardfor`) writes the entry that counts last, after whatever
    // the client sent.
    let header = |name: &str| {
        let lines: Vec<&str> = req.headers().get_all(name).filter_map(|v| v.to_str().ok()).collect();
        (!lines.is_empty()).then(|| lines.join(", "))
    };
    let (forwarded, x_forwarded_for) = (header("forwarded"), header("x-forwarded-for"));
    hub.proxies.client(req.peer_addr().map(|a| a.ip()), forwarded.as_deref(), x_forwarded_for.as_deref())
}

/// The status of a plain endpoint's error: 503 for UNAVAILABLE (retryable), else
/// `otherwise`.
pub fn status_of(err: &AppError, otherwise: StatusCode) -> StatusCode {
    if err.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        otherwise
    }
}

/// Counts a failed authentication against its source and (if the token id was
/// real) the token; marks either as locked out past the threshold; writes the audit
/// entry. Returns whether the source or the token id was locked out already, in which
/// case the failure is counted but not audited again (an attacker must not make the hub
/// write an audit entry, under its write lock, per guess).
async fn record_failure(hub: &Arc<Hub>, source: &str, token_id: Option<String>, refusal: TokenRefusal) -> bool {
    Metrics::add(&hub.metrics.auth_failures, 1);
    let limits = &hub.config.limits;
    let window = Duration::from_secs(limits.lockout_seconds);
    let mut keys = vec![(format!("src:{source}"), format!("source {source}"))];
    if let Some(id) = &token_id {
        keys.push((format!("tok:{id}"), format!("token {id}")));
    }
    let mut was_locked = false;
    for (key, _) in &keys {
        was_locked |= hub.counters.has_flag(&format!("lock:{key}")).await.unwrap_or(false);
    }
    let mut locked = Vec::new();
    for (key, what) in keys {
        match hub.counters.incr(&format!("fail:{key}"), window).await {
            Ok(n) if n >= limits.lockout_threshold => {
                if let Err(e) = hub.counters.set_flag(&format!("lock:{key}"), window).await {
                    tracing::error!(%e, "could not set lockout");
                }
                if n == limits.lockout_threshold {
                    locked.push(what);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(%e, "could not count failed authentication"),
        }
    }
    Metrics::add(&hub.metrics.lockouts, locked.len() as u64);
    if was_locked && locked.is_empty() {
        return true;
    }
    let source = source.to_string();
    let result = hub
        .db(move |hub, c| {
            audit::append_alone(
                c,
                &hub.keys,
                AuditEvent {
                    actor_token: token_id.clone(),
                    action: "auth.failure".into(),
                    target: token_id.clone(),
                    detail: json!({"reason": refusal.as_str()}),
                    source: Some(source.clone()),
                    ..Default::default()
                },
            )?;
            for what in locked {
                audit::append_alone(
                    c,
                    &hub.keys,
                    AuditEvent {
                        actor_token: token_id.clone(),
                        action: "auth.lockout".into(),
                        target: token_id.clone(),
                        detail: json!({"locked": what}),
                        source: Some(source.clone()),
                        ..Default::default()
                    },
                )?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::error!(?e, "could not audit failed authentication");
    }
    was_locked
}

fn locked_out() -> AppError {
    AppError::new(
        Code::LockedOut,
        "too many failed authentications; try again later",
        "認証の失敗が続いたため、一時的にロックされています。しばらくしてから再試行してください",
    )
}

/// Counts a request that carries no valid token against its address; past
/// `limits.unauthenticated_per_minute` the answer is 429 instead of `refusal`.
pub async fn refuse_unauthenticated(hub: &Arc<Hub>, source: &str, refusal: HttpResponse) -> HttpResponse {
    match limit_unauthenticated(hub, source, (refusal.status(), AppError::unauthenticated())).await {
        (StatusCode::TOO_MANY_REQUESTS, err) => error_response(StatusCode::TOO_MANY_REQUESTS, &err),
        _ => refusal,
    }
}

/// [`refuse_unauthenticated`] for callers that answer in their own format: the
/// refusal, or RATE_LIMITED (429) past the limit.
pub async fn limit_unauthenticated(
    hub: &Arc<Hub>,
    source: &str,
    refusal: (StatusCode, AppError),
) -> (StatusCode, AppError) {
    let limit = hub.config.limits.unauthenticated_per_minute;
    match hub.counters.incr(&format!("anon:{source}"), Duration::from_secs(60)).await {
        Ok(n) if n > limit => {
            Metrics::add(&hub.metrics.rate_limited, 1);
            (
                StatusCode::TOO_MANY_REQUESTS,
                AppError::new(
                    Code::RateLimited,
                    format!("more than {limit} requests per minute without a valid token from this address"),
                    format!("このアドレスから有効なトークンのない要求が毎分{limit}件を超えました"),
                ),
            )
        }
        Ok(_) => refusal,
        Err(e) => {
            tracing::error!(%e, "unauthenticated-request limiter unavailable");
            refusal
        }
    }
}

fn unauthenticated() -> HttpResponse {
    error_response(
        StatusCode::UNAUTHORIZED,
        &AppError::new(Code::Unauthenticated, "a bearer token is required", "Bearerトークンが必要です"),
    )
}

/// The token an `Authorization` header carries: `Bearer <token>`, or HTTP Basic with the
/// token as the password and any user name (TAXII clients speak Basic; RFC 7617).
pub fn token_of(header: &str) -> String {
    use base64::Engine as _;
    let header = header.trim();
    if let Some(token) = header.strip_prefix("Bearer ") {
        return token.trim().to_string();
    }
    let basic = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic "));
    basic
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(_, password)| password.to_string()))
        .unwrap_or_default()
}

/// The caller of an endpoint that needs a token (every endpoint but health and
/// readiness): 401 without one, counted against the address.
pub async fn require_identity(hub: &Arc<Hub>, req: &HttpRequest) -> Result<Identity, HttpResponse> {
    // The web console serves exports under its own session (checked there): it hands
    // the session's identity over in the request's extensions, which no client can set.
    if let Some(signed_in) = req.extensions().get::<SignedIn>() {
        return Ok(signed_in.0.clone());
    }
    match authenticate(hub, req).await? {
        Some(identity) => Ok(identity),
        None => Err(refuse_unauthenticated(hub, &client_address(hub, req), unauthenticated()).await),
    }
}

/// Resolves the caller: `Ok(None)` without credentials, `Err` with the HTTP answer for
/// refused callers. A valid token is always accepted, whatever failed before it from
/// the same address or with the same token id (behind a proxy every member shares an
/// address, and anyone may send a member's token id): lockouts refuse failed attempts
/// only, each answered after `failed_auth_delay_ms`.
pub async fn authenticate(hub: &Arc<Hub>, req: &HttpRequest) -> Result<Option<Identity>, HttpResponse> {
    let Some(header) = req.headers().get("authorization") else {
        return Ok(None);
    };
    let token = token_of(header.to_str().unwrap_or(""));
    match check_presented(hub, req, &token).await {
        Ok(identity) => Ok(Some(identity)),
        Err((status, err)) => Err(error_response(status, &err)),
    }
}

/// Checks a presented token (a bearer header's, or one typed into the console's
/// sign-in form): the identity, or the status and error to answer with. Failures are
/// counted and slowed down, and lock out their source and token id past the threshold;
/// a request without a valid token counts against its address's per-minute limit.
pub async fn check_presented(
    hub: &Arc<Hub>,
    req: &HttpRequest,
    token: &str,
) -> Result<Identity, (StatusCode, AppError)> {
    check_presented_from(hub, client_address(hub, req), token).await
}

/// [`check_presented`] for a caller whose address is known already (a WebSocket's
/// first message, which carries the token after the upgrade request is gone).
pub async fn check_presented_from(
    hub: &Arc<Hub>,
    source: String,
    token: &str,
) -> Result<Identity, (StatusCode, AppError)> {
    let token_id = crate::crypto::token_id_of(token).map(str::to_string);
    let cached = token_id.as_deref().and_then(|id| hub.tokens.get(&hub.keys, id, token));
    let checked = match cached {
        Some(identity) => Ok(Ok(identity)),
        None => {
            let presented = token.to_string();
            hub.db(move |hub, c| {
                Ok(directory::check_token(c, &hub.keys, &presented)?.map(|checked| {
                    hub.tokens.put(&checked);
                    checked.identity
                }))
            })
            .await
        }
    };
    match checked {
        Ok(Ok(mut identity)) => {
            let limit = hub.config.limits.requests_per_minute;
            let window = Duration::from_secs(60);
            match hub.counters.incr(&format!("rate:{}", identity.token_id), window).await {
                Ok(n) if n > limit => {
                    Metrics::add(&hub.metrics.rate_limited, 1);
                    let err = AppError::new(
                        Code::RateLimited,
                        format!("more than {limit} requests per minute for this token"),
                        format!("このトークンの要求数が毎分{limit}件を超えました"),
                    );
                    return Err((StatusCode::TOO_MANY_REQUESTS, err));
                }
                Ok(_) => {}
                Err(e) => tracing::error!(%e, "rate limiter unavailable"),
            }
            identity.source = Some(source);
            Ok(identity)
        }
        Ok(Err((refusal, known_id))) => {
            let locked = record_failure(hub, &source, known_id, refusal).await;
            tokio::time::sleep(Duration::from_millis(hub.config.limits.failed_auth_delay_ms)).await;
            if locked {
                return Err((StatusCode::TOO_MANY_REQUESTS, locked_out()));
            }
            let err = AppError::new(
                Code::Unauthenticated,
                "the token is invalid, revoked or expired",
                "トークンが無効、失効済み、または期限切れです",
            );
            Err(limit_unauthenticated(hub, &source, (StatusCode::UNAUTHORIZED, err)).await)
        }
        Err(e) => Err((status_of(&e, StatusCode::INTERNAL_SERVER_ERROR), e)),
    }
}

/// The identity of a web console session, put in a request's extensions by the console
/// before it hands the request to a plain endpoint (an export).
#[derive(Debug, Clone)]
pub struct SignedIn(pub Identity);

/// The SHA-256 (hex) of the client certificate a TLS connection presented, kept with
/// the connection for the federation feed (links may pin it).
#[derive(Debug, Clone)]
pub struct ClientCertificate(pub String);
