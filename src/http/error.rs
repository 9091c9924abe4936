//! Every error a client can see, mapped in one place to
//! `{"error": "...", "code": "...", "details": ...}` and its status. Internal causes are
//! logged with their whole chain and never sent to the client.

use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Validation { message: String, details: Value },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// A known path asked with a method it does not serve; `allow` lists those it does.
    #[error("{message}")]
    MethodNotAllowed { message: String, allow: String },
    #[error("{message}")]
    Conflict { message: String, details: Value },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u32,
    },
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_secs: u32,
    },
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn validation(message: impl Into<String>, details: Value) -> ApiError {
        ApiError::Validation {
            message: message.into(),
            details,
        }
    }

    pub fn unavailable(message: impl Into<String>, retry_after_secs: u32) -> ApiError {
        ApiError::Unavailable {
            message: message.into(),
            retry_after_secs,
        }
    }

    pub fn conflict(message: impl Into<String>, details: Value) -> ApiError {
        ApiError::Conflict {
            message: message.into(),
            details,
        }
    }

    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u32) -> ApiError {
        ApiError::RateLimited {
            message: message.into(),
            retry_after_secs,
        }
    }

    /// Logs `cause` and returns an error that tells the client nothing about it.
    /// An unexpected failure: logged with its whole cause chain, answered with the
    /// top-level message only.
    pub fn internal<E: std::error::Error>(cause: E) -> ApiError {
        tracing::error!(error = %cause_chain(&cause), "Request failed with an internal error.");
        ApiError::Internal(cause.to_string())
    }

    /// A broken invariant of the server itself (no underlying error to chain).
    pub fn internal_message(message: &'static str) -> ApiError {
        tracing::error!(error = message, "Request failed with an internal error.");
        ApiError::Internal(message.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "VALIDATION_ERROR",
            ApiError::Unauthorized(_) => "UNAUTHORIZED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::Conflict { .. } => "CONFLICT",
            ApiError::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::Unavailable { .. } => "UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

/// `error: cause: cause of the cause ...`, the whole `source()` chain on one line.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        // Many errors repeat their source in their own message; say it once.
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

/// A database error in a handler: 503 while the database is unreachable or
/// overloaded, otherwise an internal error (logged, not shown).
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        if crate::store::is_unstorable_text(&error) {
            ApiError::validation(
                "text must not contain NUL (\\u0000) characters",
                Value::Null,
            )
        } else if crate::store::is_transient(&error) {
            tracing::warn!(%error, "Request failed: the database is unavailable.");
            ApiError::unavailable("the database is unavailable", 5)
        } else {
            ApiError::internal(error)
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        };
        let details = match self {
            ApiError::Validation { details, .. } | ApiError::Conflict { details, .. } => {
                details.clone()
            }
            _ => Value::Null,
        };
        let mut body = json!({"error": message, "code": self.code()});
        if !details.is_null() {
            body["details"] = details;
        }
        let mut response = HttpResponse::build(self.status_code());
        if let ApiError::MethodNotAllowed { allow, .. } = self {
            if let Ok(value) = HeaderValue::from_str(allow) {
                response.insert_header((actix_web::http::header::ALLOW, value));
            }
        }
        if let ApiError::Unavailable {
            retry_after_secs, ..
        }
        | ApiError::RateLimited {
            retry_after_secs, ..
        } = self
        {
            response.insert_header((RETRY_AFTER, HeaderValue::from(*retry_after_secs)));
        }
        response.json(body)
    }
}

/// Unknown routes get the API's error format too: 405 with `Allow` when the path is
/// one of ours and only the method is wrong, 404 otherwise.
pub async fn not_found(request: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    let allowed = super::allowed_methods(request.path());
    if !allowed.is_empty() {
        return Err(ApiError::MethodNotAllowed {
            message: format!(
                "{} is not allowed on {}; allowed: {}",
                request.method(),
                request.path(),
                allowed.join(", ")
            ),
            allow: allowed.join(", "),
        });
    }
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        request.method(),
        request.path()
    )))
}

#[cfg(test)]
mod tests {
    use super::cause_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failed")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle failed: disk full")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn the_chain_names_every_cause_once() {
        let error = Outer(Middle(std::io::Error::other("disk full")));
        assert_eq!(
            cause_chain(&error),
            "outer failed: middle failed: disk full"
        );
    }
}
