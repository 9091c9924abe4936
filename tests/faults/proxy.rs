//! A TCP proxy in front of the shared RabbitMQ, so a test can make the broker
//! unreachable for one application (refuse new connections, cut the open ones) and
//! bring it back, without stopping the broker every other test uses.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub port: u16,
    open: Arc<AtomicBool>,
    /// Bumped to cut every open connection.
    generation: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream` while open.
    pub fn start(upstream: SocketAddr, open: bool) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(open));
        let (generation, generation_rx) = watch::channel(0u64);
        let (shutdown, mut shutdown_rx) = watch::channel(false);
        let accepting = open.clone();
        // Its own thread and runtime: the proxy keeps forwarding whatever the test's
        // runtime is busy with.
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                loop {
                    tokio::select! {
                        _ = shutdown_rx.changed() => return,
                        accepted = listener.accept() => {
                            let Ok((client, _)) = accepted else { continue };
                            if !accepting.load(Ordering::SeqCst) {
                                drop(client);
                                continue;
                            }
                            tokio::spawn(forward(client, upstream, generation_rx.clone(), shutdown_rx.clone()));
                        }
                    }
                }
            });
        });
        Proxy {
            port,
            open,
            generation,
            shutdown,
            thread: Some(thread),
        }
    }

    /// Refuses new connections and cuts the open ones: the broker "goes away".
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut generation: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    generation.borrow_and_update();
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = generation.changed() => {}
        _ = shutdown.changed() => {}
    }
    // Dropping both sockets closes them.
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
