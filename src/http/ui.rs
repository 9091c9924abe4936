//! Serves the built web UI (web/dist): embedded in release builds, read from disk in
//! debug builds. Any GET outside the server's own prefixes that names no file gets
//! index.html, so the browser's router owns every other path.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use rust_embed::Embed;

use super::error::{self, ApiError};
use super::AppState;

#[derive(Embed)]
#[folder = "web/dist"]
#[allow_missing = true]
pub struct Assets;

/// Paths the server answers itself; an unknown path under them is an API 404, never
/// the UI.
const SERVER_PREFIXES: [&str; 4] = ["/api", "/prometheus", "/health", "/metrics"];

/// No inline script anywhere; styles may be set inline because the chart and grid
/// libraries position elements through style attributes.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
     font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// Smaller files are not worth a gzip header and the CPU.
const COMPRESS_FROM_BYTES: usize = 1024;

/// Whether `path` belongs to the server rather than to the UI.
pub fn is_server_path(path: &str) -> bool {
    SERVER_PREFIXES.iter().any(|prefix| {
        path == *prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// What a GET for `path` is answered with: a file of the build, index.html, or nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    File(String),
    Index,
    NotFound,
}

/// Maps a request path onto the build. Hashed assets that are missing are a 404 (an
/// HTML page under a script's name would only confuse the browser); everything else
/// unknown is a client-side route.
pub fn resolve(path: &str, exists: impl Fn(&str) -> bool) -> Target {
    let name = path.trim_start_matches('/');
    if name.is_empty() || name == "index.html" {
        return Target::Index;
    }
    if name.split('/').any(|segment| segment == "..") {
        return Target::NotFound;
    }
    if exists(name) {
        return Target::File(name.to_string());
    }
    if name.starts_with("assets/") {
        Target::NotFound
    } else {
        Target::Index
    }
}

/// One file of the build, from the binary or from `http.ui_dir`.
struct File {
    data: Cow<'static, [u8]>,
    mime: String,
    etag: String,
}

/// Where the build is read from: the binary, or a directory on disk.
enum Source {
    Embedded,
    Dir(PathBuf),
}

impl Source {
    fn of(request: &HttpRequest) -> Source {
        match request.app_data::<web::Data<AppState>>() {
            Some(state) if !state.settings.http.ui_dir.is_empty() => {
                Source::Dir(PathBuf::from(&state.settings.http.ui_dir))
            }
            _ => Source::Embedded,
        }
    }

    fn exists(&self, name: &str) -> bool {
        match self {
            Source::Embedded => Assets::get(name).is_some(),
            Source::Dir(dir) => dir.join(name).is_file(),
        }
    }

    fn get(&self, name: &str) -> Option<File> {
        match self {
            Source::Embedded => Assets::get(name).map(|file| File {
                mime: file.metadata.mimetype().to_string(),
                etag: hex::encode(&file.metadata.sha256_hash()[..12]),
                data: file.data,
            }),
            Source::Dir(dir) => {
                let data = std::fs::read(dir.join(name)).ok()?;
                Some(File {
                    mime: mime_guess::from_path(Path::new(name))
                        .first_or_octet_stream()
                        .to_string(),
                    etag: format!("{:x}", fnv1a(&data)),
                    data: Cow::Owned(data),
                })
            }
        }
    }
}

/// A cheap content fingerprint for files read from disk (FNV-1a).
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// The default service: the UI for GET and HEAD outside the server's prefixes, the
/// API's 404 for everything else.
pub async fn fallback(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let method = request.method();
    if (method != Method::GET && method != Method::HEAD)
        || is_server_path(request.path())
        || !super::allowed_methods(request.path()).is_empty()
    {
        return error::not_found(request).await;
    }
    let source = Source::of(&request);
    match resolve(request.path(), |name| source.exists(name)) {
        Target::File(name) => serve(&request, &source, &name),
        Target::Index => serve(&request, &source, "index.html"),
        Target::NotFound => error::not_found(request).await,
    }
}

/// Files under assets/ carry a content hash in their names, so they never change;
/// everything else (index.html, the favicon) keeps its name across builds.
fn cache_control(name: &str) -> &'static str {
    if name.starts_with("assets/") {
        IMMUTABLE
    } else {
        NO_CACHE
    }
}

fn serve(request: &HttpRequest, source: &Source, name: &str) -> Result<HttpResponse, ApiError> {
    let Some(file) = source.get(name) else {
        // Only index.html can be missing here: the UI was never built.
        return Ok(HttpResponse::ServiceUnavailable()
            .insert_header((header::CACHE_CONTROL, NO_CACHE))
            .content_type("text/plain; charset=utf-8")
            .body("The web UI is not built: run scripts/web-build.sh, then rebuild vigil.\n"));
    };
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CACHE_CONTROL, cache_control(name)))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::ETAG, format!("\"{}\"", file.etag)))
        .content_type(file.mime.as_str());
    let body: Bytes = if compressible(&file.mime)
        && file.data.len() >= COMPRESS_FROM_BYTES
        && accepts_gzip(request)
    {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
        gzipped(&file.etag, &file.data)
    } else {
        Bytes::copy_from_slice(&file.data)
    };
    Ok(response.body(body))
}

fn compressible(mime: &str) -> bool {
    mime.starts_with("text/")
        || mime.contains("javascript")
        || mime.contains("json")
        || mime.contains("svg")
}

fn accepts_gzip(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|value: &HeaderValue| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.trim().split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// Each distinct file content is compressed once per process (keyed by its hash, so
/// a rebuilt file on disk is compressed anew).
fn gzipped(etag: &str, data: &[u8]) -> Bytes {
    static CACHE: OnceLock<Mutex<HashMap<String, Bytes>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(etag) {
        return hit.clone();
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 3), Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    let compressed = Bytes::from(encoder.finish().unwrap_or_default());
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(etag.to_string(), compressed.clone());
    compressed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_prefixes_are_whole_segments() {
        assert!(is_server_path("/api"));
        assert!(is_server_path("/api/v1/query"));
        assert!(is_server_path("/health"));
        assert!(is_server_path("/metrics"));
        assert!(is_server_path("/prometheus/api/v1/query"));
        assert!(!is_server_path("/apiary"));
        assert!(!is_server_path("/metrics-explorer"));
        assert!(!is_server_path("/dashboards/1"));
    }

    #[test]
    fn unknown_paths_are_client_routes_but_missing_assets_are_not() {
        let exists = |name: &str| name == "assets/index-abc123.js" || name == "favicon.svg";
        assert_eq!(resolve("/", exists), Target::Index);
        assert_eq!(resolve("/index.html", exists), Target::Index);
        assert_eq!(resolve("/dashboards/42", exists), Target::Index);
        assert_eq!(
            resolve("/assets/index-abc123.js", exists),
            Target::File("assets/index-abc123.js".into())
        );
        assert_eq!(
            resolve("/favicon.svg", exists),
            Target::File("favicon.svg".into())
        );
        assert_eq!(resolve("/assets/gone-000.js", exists), Target::NotFound);
        assert_eq!(resolve("/../Cargo.toml", exists), Target::NotFound);
    }
}
