//! zk-stats-daemon: its state over typed client messages ([`state`]), the Prometheus metrics
//! ([`metrics`]) and the bounded HTTP server ([`http`]) that serves both.

pub mod http;
mod metrics;
mod state;

pub use http::{respond, HttpServer, Limits};
pub use metrics::prometheus_text;
pub use state::{rss_bytes, Info, Shared, State, StatsOptions};
