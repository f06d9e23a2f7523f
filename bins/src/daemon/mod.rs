//! zk-stats-daemon: its state over typed client messages (`state`, zktraffic's counters per
//! window in `window`), the signals operators
//! alert on (`signals`, `elections`), the Prometheus metrics (`metrics`) and the bounded HTTP
//! server ([`http`]) that serves them.

mod elections;
pub mod http;
mod metrics;
mod signals;
mod state;
mod window;

pub use http::{respond, HttpServer, Limits};
pub use metrics::prometheus_text;
pub use signals::LargestRequest;
pub use state::{rss_bytes, Info, Shared, State, StatsOptions};
