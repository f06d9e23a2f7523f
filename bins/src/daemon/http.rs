//! zk-stats-daemon's HTTP server, on hyper: bounded under abuse.
//!
//! The daemon runs beside a ZooKeeper server and may be bound to a routable address, so any
//! host can connect. A thread per connection (what it had) let 9,000 idle connections start
//! 9,000 threads and take 2 GB. Here:
//! * one thread runs every connection (a single-threaded tokio runtime): a connection costs a
//!   task and its buffers, not a thread;
//! * at most [`Limits::max_connections`] connections are open: a new one beyond that closes
//!   the oldest still open — the likeliest idle or slow one, since a scrape is done in
//!   milliseconds — so a flood cannot lock Prometheus or a health check out;
//! * a request's headers must arrive within [`Limits::header_timeout`] (slowloris), and a
//!   connection idle that long between requests is closed;
//! * headers larger than [`Limits::max_header_bytes`] get `431 Request Header Fields Too Large`
//!   and the connection is closed;
//! * [`HttpServer::shutdown`] stops accepting and lets answers in progress finish.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::metrics::prometheus_text;
use super::state::Shared;

/// The bounds of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to receive a request's headers, and to wait for the next request.
    pub header_timeout: Duration,
    /// Largest request head (request line and headers).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
        }
    }
}

/// A running server.
pub struct HttpServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `addr` and serves `shared` from a thread of its own.
    pub fn start(addr: SocketAddr, shared: Shared, limits: Limits) -> std::io::Result<HttpServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (shutdown, stop) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || runtime.block_on(accept_loop(listener, shared, limits, stop)))?;
        Ok(HttpServer {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address it listens on (the port chosen when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets the answers in progress finish (briefly), and returns.
    pub fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Open connections, oldest first.
type Open = Arc<Mutex<VecDeque<AbortHandle>>>;

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Shared,
    limits: Limits,
    mut stop: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let open: Open = Arc::default();
    loop {
        let stream = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors, say: wait a little rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        make_room(&open, limits.max_connections);
        let shared = shared.clone();
        let task = tokio::spawn(serve_connection(stream, shared, limits));
        lock(&open).push_back(task.abort_handle());
    }
    // Answers in progress get a moment to finish; idle connections are dropped.
    let handles: Vec<AbortHandle> = lock(&open).drain(..).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    handles.iter().for_each(AbortHandle::abort);
}

fn lock(open: &Open) -> std::sync::MutexGuard<'_, VecDeque<AbortHandle>> {
    open.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forgets the connections that ended, and closes the oldest while the server is full.
fn make_room(open: &Open, max: usize) {
    let mut open = lock(open);
    open.retain(|h| !h.is_finished());
    while open.len() >= max.max(1) {
        if let Some(oldest) = open.pop_front() {
            oldest.abort();
        }
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, shared: Shared, limits: Limits) {
    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(answer(&shared, req.uri().path())) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

fn answer(shared: &Shared, path: &str) -> Response<Full<Bytes>> {
    let (status, content_type, body) = respond(shared, path);
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn to_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The answer to a GET of `path`: status, content type and body.
pub fn respond(shared: &Shared, path: &str) -> (u16, &'static str, String) {
    match path {
        "/json/paths" => (200, "application/json", to_json(&shared.lock().json_family("paths"))),
        "/json/ips" => (200, "application/json", to_json(&shared.lock().json_family("ips"))),
        "/json/auths" => (200, "application/json", to_json(&shared.lock().json_family("auths"))),
        "/json/auths-dump" => (200, "application/json", to_json(&shared.lock().auths_dump())),
        "/json/info" => (200, "application/json", to_json(&shared.lock().info())),
        "/metrics" => (200, "application/openmetrics-text; version=1.0.0; charset=utf-8", prometheus_text(shared)),
        "/healthz" | "/health" => (200, "text/plain", "OK\n".to_string()),
        _ => (404, "text/plain", "not found: try /metrics, /json/paths, /json/ips, /json/auths, /json/auths-dump, /json/info, /healthz\n".to_string()),
    }
}
