//! Small real HTTP servers the tests scrape: a well-formed target that can be killed,
//! a malformed exposition, a target slower than its timeout, and a counter probe
//! that remembers every value it served.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};

/// A running test target.
pub struct Target {
    pub url: String,
    handle: ServerHandle,
}

impl Target {
    /// Serves `body` at `/metrics` on a free loopback port; the handler waits
    /// `delay` first.
    pub fn serve(body: &'static str, delay: Duration) -> Target {
        Target::serve_with(move || {
            let body = body.to_string();
            async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                body
            }
        })
    }

    /// Serves what `make` returns for each request.
    pub fn serve_with<F, Fut>(make: F) -> Target
    where
        F: Fn() -> Fut + Clone + Send + 'static,
        Fut: std::future::Future<Output = String> + 'static,
    {
        let server = HttpServer::new(move || {
            let make = make.clone();
            App::new().route(
                "/metrics",
                web::get().to(move || {
                    let make = make.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/plain; version=0.0.4")
                            .body(make().await)
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(("127.0.0.1", 0))
        .expect("binding a test target");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Target {
            url: format!("http://127.0.0.1:{port}/metrics"),
            handle,
        }
    }

    /// Stops the server: the port refuses connections afterwards.
    pub async fn kill(&self) {
        self.handle.stop(false).await;
    }
}

/// A target serving `outage_probe <n>` with n = 1, 2, 3, ... per request, and the
/// list of values it served.
pub struct Probe {
    pub target: Target,
    served: Arc<Mutex<Vec<u64>>>,
}

impl Probe {
    pub fn serve() -> Probe {
        let counter = Arc::new(AtomicU64::new(0));
        let served: Arc<Mutex<Vec<u64>>> = Arc::default();
        let log = served.clone();
        let target = Target::serve_with(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            log.lock().unwrap().push(n);
            async move { format!("# TYPE outage_probe counter\noutage_probe{{series=\"a\"}} {n}\n") }
        });
        Probe { target, served }
    }

    pub fn served(&self) -> Vec<u64> {
        self.served.lock().unwrap().clone()
    }
}
