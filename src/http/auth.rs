//! Who is calling: the [`Principal`] extractor every `/api/v1` handler takes, the
//! ingest credential check, and `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`,
//! `GET /api/v1/auth/me`.
//!
//! A request authenticates with `Authorization: Bearer <API token>` or with the
//! `vigil_session` cookie from a login. Cookie-authenticated writes are guarded against
//! CSRF: the request must carry an `Origin` equal to Vigil's own origin (or one in
//! `auth.allowed_origins`), or, without `Origin`, `Sec-Fetch-Site: same-origin`; and a
//! request with a body must be `Content-Type: application/json`, which an HTML form
//! cannot send across origins without a CORS preflight Vigil never grants. Bearer
//! tokens are not sent by browsers on their own, so they need no such guard.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::ApiError;
use super::AppState;
use crate::auth::rate_limit::Limit;
use crate::auth::{password, Credential, CredentialKind};
use crate::model::Role;
use crate::store::users;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vigil_session";

/// An authenticated caller that may read (a session or a personal token; never an
/// ingest key). Taking it as a handler argument makes the route require login.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub email: String,
    pub role: Role,
    pub kind: CredentialKind,
}

impl Principal {
    /// 403 unless the caller's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {role} role; you are {}",
                self.role
            )))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What [`resolve_caller`] found, kept in the request's extensions.
#[derive(Clone)]
struct Resolved(Result<Principal, ApiError>);

/// Middleware: authenticates every request that carries credentials before its
/// handler's arguments are extracted. Extractors run concurrently, so an async
/// `Principal` extractor could lose the race to a failing body extractor and turn
/// a 401 or a CSRF refusal into a 400 that tells an anonymous caller about the
/// body; resolving first makes [`Principal`] ready at once and first.
pub async fn resolve_caller(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    // Ingest checks its own credential (an ingest key is fine there) and login has none.
    let own_check = (req.method() == Method::POST)
        && matches!(
            req.path(),
            "/api/v1/metrics" | "/api/v1/auth/login" | "/api/v1/write"
        );
    // The Prometheus query API reads like /api/v1/query; its remote_write receiver
    // checks its own ingest credential.
    let prom_read = req.path().starts_with("/prometheus/api/v1/")
        && !(req.method() == Method::POST && req.path() == "/prometheus/api/v1/write");
    if (req.path().starts_with("/api/v1/") && !own_check) || prom_read {
        let resolved = authenticate(req.request()).await;
        req.extensions_mut().insert(Resolved(resolved));
    }
    next.call(req).await
}

/// Who made the request, for its span: the credential kind `resolve_caller` found
/// (`session`, `personal`, `ingest`), `refused` when it found a bad one, and for the
/// routes that check their own credential (ingest, login) or none, what the request
/// presents (`bearer`, `cookie`, `anonymous`).
pub fn caller_kind(req: &HttpRequest) -> &'static str {
    // The extensions borrow ends here: reading cookies below borrows them mutably.
    let resolved = req
        .extensions()
        .get::<Resolved>()
        .map(|Resolved(result)| result.as_ref().map(|p| p.kind).ok());
    match resolved {
        Some(Some(CredentialKind::Session)) => "session",
        Some(Some(CredentialKind::Personal)) => "personal",
        Some(Some(CredentialKind::Ingest)) => "ingest",
        Some(None) => "refused",
        None if req
            .headers()
            .contains_key(actix_web::http::header::AUTHORIZATION) =>
        {
            "bearer"
        }
        None if req.cookie(SESSION_COOKIE).is_some() => "cookie",
        None => "anonymous",
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Principal, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(match req.extensions().get::<Resolved>() {
            Some(Resolved(result)) => result.clone(),
            None => Err(ApiError::internal_message(
                "Principal used on a route outside /api/v1, where resolve_caller does not run",
            )),
        })
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal_message("AppState is not registered"))
}

async fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let state = state_of(req)?;
    let credential = if let Some(token) = bearer(req)? {
        let credential =
            state.credentials.token(&token).await?.ok_or_else(|| {
                ApiError::Unauthorized("the API token is invalid or expired".into())
            })?;
        if credential.kind == CredentialKind::Ingest {
            return Err(ApiError::Forbidden(
                "ingest keys may only write points (POST /api/v1/metrics)".into(),
            ));
        }
        credential
    } else if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let credential = state
            .credentials
            .session(cookie.value())
            .await?
            .ok_or_else(|| ApiError::Unauthorized("the session has ended; log in again".into()))?;
        if !is_safe(req.method()) {
            check_csrf(req, &state)?;
        }
        credential
    } else {
        return Err(ApiError::Unauthorized(
            "authentication required: log in, or send Authorization: Bearer <API token>".into(),
        ));
    };
    Ok(principal_from(credential))
}

fn principal_from(credential: Credential) -> Principal {
    Principal {
        user_id: credential.user_id,
        email: credential.email,
        role: credential.role,
        kind: credential.kind,
    }
}

/// The API token, if an Authorization header is present (Bearer, Token or Basic, see
/// [`crate::auth::credentials::token_from_authorization`]); a header in another
/// scheme is an error rather than being ignored.
fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    crate::auth::credentials::token_from_authorization(value)
        .map(Some)
        .map_err(|e| ApiError::Unauthorized(e.0))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The CSRF guard for cookie-authenticated writes (see the module doc).
fn check_csrf(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    origin_allowed(req, state, true)?;
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v != "0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if has_body {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !json {
            return Err(ApiError::Forbidden(
                "cookie-authenticated writes must send Content-Type: application/json".into(),
            ));
        }
    }
    Ok(())
}

/// Whether the request's origin is Vigil's own or an allowed one. `required`: a
/// request with neither `Origin` nor `Sec-Fetch-Site` is refused.
fn origin_allowed(req: &HttpRequest, state: &AppState, required: bool) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        Err(ApiError::Forbidden(format!(
            "cross-site request refused: {why}; cookie-authenticated writes must come from Vigil's own pages (or use an API token)"
        )))
    };
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
        let info = req.connection_info();
        let own = format!("{}://{}", info.scheme(), info.host());
        if origin.eq_ignore_ascii_case(&own)
            || state
                .settings
                .auth
                .allowed_origins
                .iter()
                .any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(origin))
        {
            return Ok(());
        }
        return refuse(&format!("Origin {origin} is not {own}"));
    }
    match req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        Some("same-origin") | Some("none") => Ok(()),
        Some(other) => refuse(&format!("Sec-Fetch-Site is {other}")),
        None if required => refuse("no Origin or Sec-Fetch-Site header"),
        None => Ok(()),
    }
}

/// Who may write points, checked by the ingest handler before it reads the body:
/// with `auth.require_ingest_key` only an ingest key; otherwise anyone, limited per
/// ingest key or, without one, per client IP.
/// Returns the id of the ingest key the request carries, if it carries one (the
/// per-key cardinality cap counts by it).
pub async fn authorize_ingest(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Option<String>, ApiError> {
    let auth = &state.settings.auth;
    let limit_key = Limit {
        max: auth.ingest_requests_per_key,
        window: auth.ingest_rate_window,
    };
    let limit_ip = Limit {
        max: auth.ingest_requests_per_ip,
        window: auth.ingest_rate_window,
    };
    let credential = match bearer(req)? {
        Some(token) => Some(state.credentials.token(&token).await?.ok_or_else(|| {
            ApiError::Unauthorized("the ingest key is invalid or expired".into())
        })?),
        None => None,
    };
    match credential {
        Some(key) if key.kind == CredentialKind::Ingest => {
            let id = key.token_id.to_string();
            state
                .limiter
                .hit("ingest-key", &id, limit_key)
                .await
                .map_err(|limited| {
                    state
                        .metrics
                        .rate_limited
                        .with_label_values(&["ingest-key"])
                        .inc();
                    ApiError::rate_limited(
                        "this ingest key is over its request rate",
                        limited.retry_after_secs,
                    )
                })?;
            Ok(Some(id))
        }
        Some(_) if auth.require_ingest_key => Err(ApiError::Forbidden(
            "writing points needs an ingest key; this token can only read".into(),
        )),
        None if auth.require_ingest_key => Err(ApiError::Unauthorized(
            "writing points needs an ingest key: Authorization: Bearer vgl_i_...".into(),
        )),
        _ => state
            .limiter
            .hit("ingest-ip", &client_ip(req), limit_ip)
            .await
            .map(|_| None)
            .map_err(|limited| {
                state
                    .metrics
                    .rate_limited
                    .with_label_values(&["ingest-ip"])
                    .inc();
                ApiError::rate_limited(
                    "this client is over its ingest request rate",
                    limited.retry_after_secs,
                )
            }),
    }
}

/// The peer address. Vigil does not trust `X-Forwarded-For`: behind a proxy every
/// client shares the proxy's limit (README, "Authentication").
fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|addr| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// The caller, as `GET /api/v1/auth/me` shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    /// `session` or `personal` (token).
    pub authenticated_by: CredentialKind,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the session cookie `vigil_session` is set", body = super::openapi::UserBody),
        (status = 401, description = "Wrong email or password", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many failed logins for this account or IP", body = super::openapi::ErrorBody),
    ))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    // A login from another site's page would log the victim into the attacker's
    // account; browsers always send Origin on a cross-site POST.
    origin_allowed(&req, &state, false)?;
    let auth = &state.settings.auth;
    let account = body.email.trim().to_lowercase();
    let ip = client_ip(&req);
    let per_account = Limit {
        max: auth.login_max_failures_per_account,
        window: auth.login_window,
    };
    let per_ip = Limit {
        max: auth.login_max_failures_per_ip,
        window: auth.login_window,
    };
    for (scope, subject, limit) in [
        ("login-ip", ip.as_str(), per_ip),
        ("login-account", account.as_str(), per_account),
    ] {
        if let Err(limited) = state.limiter.check(scope, subject, limit).await {
            state
                .metrics
                .auth_logins
                .with_label_values(&["limited"])
                .inc();
            state.metrics.rate_limited.with_label_values(&[scope]).inc();
            return Err(ApiError::rate_limited(
                "too many failed logins; wait before trying again",
                limited.retry_after_secs,
            ));
        }
    }

    let record = users::find_for_login(&state.pg, &account).await?;
    let stored = record
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| password::decoy_hash().to_string());
    let attempt = body.into_inner().password;
    let matches = web::block(move || password::verify(&attempt, &stored))
        .await
        .map_err(ApiError::internal)?;
    let Some(record) = record.filter(|_| matches) else {
        state.limiter.record("login-ip", &ip, per_ip).await;
        state
            .limiter
            .record("login-account", &account, per_account)
            .await;
        state
            .metrics
            .auth_logins
            .with_label_values(&["failed"])
            .inc();
        tracing::info!(account = %account, %ip, "Login failed.");
        return Err(ApiError::Unauthorized("wrong email or password".into()));
    };
    state.limiter.reset("login-account", &account).await;
    state.metrics.auth_logins.with_label_values(&["ok"]).inc();

    let (token, _expires_at) = state.credentials.start_session(record.user.id).await?;
    tracing::info!(user = %record.user.id, "Logged in.");
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&state, token))
        .json(super::openapi::UserBody { data: record.user }))
}

fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    let max_age =
        time::Duration::seconds(state.settings.auth.session_absolute_timeout.as_secs() as i64);
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.auth.cookie_secure)
        .max_age(max_age)
        .finish()
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "The session has ended; its cookie no longer works"),
        (status = 400, description = "Not a session (API tokens are revoked by deleting them)", body = super::openapi::ErrorBody),
        (status = 401, description = "No live session", body = super::openapi::ErrorBody),
    ))]
pub async fn logout(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let cookie = req
        .cookie(SESSION_COOKIE)
        .filter(|_| principal.kind == CredentialKind::Session)
        .ok_or_else(|| {
            ApiError::validation(
                "logout ends a session; revoke an API token with DELETE /api/v1/auth/tokens/{id}",
                serde_json::Value::Null,
            )
        })?;
    state.credentials.end_session(cookie.value()).await?;
    let mut removal = session_cookie(&state, String::new());
    removal.make_removal();
    Ok(HttpResponse::NoContent().cookie(removal).finish())
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses(
        (status = 200, description = "The caller", body = super::openapi::MeBody),
        (status = 401, description = "Not authenticated", body = super::openapi::ErrorBody),
    ))]
pub async fn me(principal: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(super::openapi::MeBody {
        data: Me {
            id: principal.user_id,
            email: principal.email,
            role: principal.role,
            authenticated_by: principal.kind,
        },
    }))
}
