//! Reading a request body within limits: the wire size is capped while it streams in,
//! and gzip is inflated on the blocking pool with the output capped, so neither a
//! huge body nor a gzip bomb can take more memory than the configured limits.

use std::io::Read;

use actix_web::http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use actix_web::{web, HttpRequest};
use bytes::{Bytes, BytesMut};
use flate2::read::MultiGzDecoder;
use futures_util::StreamExt;

use super::error::ApiError;

pub struct BodyLimits {
    pub max_body_bytes: usize,
    pub max_decompressed_bytes: usize,
}

/// The body, decompressed if it was sent with `Content-Encoding: gzip`.
pub async fn read_body(
    request: &HttpRequest,
    payload: web::Payload,
    limits: &BodyLimits,
) -> Result<Bytes, ApiError> {
    let body = read_wire_body(request, payload, limits).await?;
    inflate_if_gzip(request, body, limits).await
}

/// The body as sent, within `max_body_bytes`, whatever its encoding.
pub async fn read_wire_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limits: &BodyLimits,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "request body is larger than {} bytes",
            limits.max_body_bytes
        ))
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes) {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(8192).min(limits.max_body_bytes));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::validation(
                format!("could not read the request body: {e}"),
                serde_json::Value::Null,
            )
        })?;
        if body.len() + chunk.len() > limits.max_body_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Inflates a `Content-Encoding: gzip` body within `max_decompressed_bytes`.
async fn inflate_if_gzip(
    request: &HttpRequest,
    body: Bytes,
    limits: &BodyLimits,
) -> Result<Bytes, ApiError> {
    let encoding = request
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") | Some("x-gzip") => {
            let max = limits.max_decompressed_bytes;
            web::block(move || inflate_bounded(&body, max))
                .await
                .map_err(ApiError::internal)?
        }
        Some(other) => Err(ApiError::validation(
            format!("unsupported Content-Encoding {other:?}; use gzip or none"),
            serde_json::Value::Null,
        )),
    }
}

/// Inflates at most `max` bytes; one more byte means the body is too large.
pub fn inflate_bounded(compressed: &[u8], max: usize) -> Result<Bytes, ApiError> {
    let mut out = Vec::with_capacity((compressed.len() * 4).min(max));
    let mut decoder = MultiGzDecoder::new(compressed).take(max as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| {
        ApiError::validation(
            format!("body is not valid gzip: {e}"),
            serde_json::Value::Null,
        )
    })?;
    if out.len() > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "decompressed body is larger than {max} bytes"
        )));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn inflates_within_the_limit() {
        assert_eq!(
            &inflate_bounded(&gzip(b"[1,2,3]"), 100).unwrap()[..],
            b"[1,2,3]"
        );
    }

    #[test]
    fn stops_a_bomb_at_the_limit() {
        let bomb = gzip(&vec![0u8; 10 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024);
        assert!(matches!(
            inflate_bounded(&bomb, 1024 * 1024),
            Err(ApiError::PayloadTooLarge(_))
        ));
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            inflate_bounded(b"not gzip", 100),
            Err(ApiError::Validation { .. })
        ));
    }
}
