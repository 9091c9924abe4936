//! The HTTP client and database connections the bench uses.

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::cli::Target;

/// An HTTP/1.1 client with room for `connections` keep-alive connections and the
/// `--header`s applied to every request.
pub fn http_client(
    target: &Target,
    timeout: Duration,
    connections: usize,
) -> anyhow::Result<awc::Client> {
    let connector = awc::Connector::new()
        .limit(connections.max(1))
        .timeout(Duration::from_secs(5));
    let mut builder = awc::Client::builder().connector(connector).timeout(timeout);
    for h in &target.headers {
        let (name, value) = h
            .split_once(':')
            .with_context(|| format!("--header {h:?} is not of the form `Name: value`"))?;
        builder = builder.add_default_header((name.trim().to_string(), value.trim().to_string()));
    }
    Ok(builder.finish())
}

/// A small pool on the server's database; statement logging is off so that polling
/// does not flood the terminal.
pub async fn pg_pool(url: &str, connections: u32) -> anyhow::Result<PgPool> {
    let opts: PgConnectOptions = url
        .parse()
        .with_context(|| format!("bad database URL {url}"))?;
    let opts = opts
        .disable_statement_logging()
        .application_name("vigil-bench");
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(opts)
        .await
        .with_context(|| format!("cannot connect to {url}"))
}

/// GET /health: the status code and body, or the connection error.
pub async fn health(client: &awc::Client, url: &str) -> Result<(u16, String), String> {
    match client.get(format!("{url}/health")).send().await {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let body = resp
                .body()
                .limit(1 << 20)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            Ok((status, body.unwrap_or_default()))
        }
        Err(e) => Err(e.to_string()),
    }
}
