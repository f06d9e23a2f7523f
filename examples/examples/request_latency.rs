//! Requests per type with their count and mean latency, from a capture of the client port.
use std::collections::BTreeMap;
use zk_proto::{ClientConnection, Event};
use zkwire_capture::{
    run_file, ClientIs, CloseReason, ConnInfo, Direction, StreamHandler, TcpSegment, Timestamp,
};

/// Count and total latency (ns) per reply type.
#[derive(Default)]
struct Latency(BTreeMap<&'static str, (u64, u64)>);

impl StreamHandler for Latency {
    type Conn = ClientConnection<()>;

    fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<(Self::Conn, ClientIs)> {
        let client_is = ClientIs::for_server_ports(first, &[2181])?;
        Some((ClientConnection::new(first.syn, 1 << 20), client_is))
    }

    fn data(
        &mut self,
        conn: &mut Self::Conn,
        _: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        conn.push(dir, ts, bytes, &mut |_, event| {
            if let Event::Reply {
                request: Some(req),
                latency_ns: Some(ns),
                ..
            } = event
            {
                let entry = self.0.entry(req.opcode.request_name()).or_default();
                *entry = (entry.0 + 1, entry.1 + ns);
            }
        });
    }

    fn gap(&mut self, conn: &mut Self::Conn, _: &ConnInfo, dir: Direction, _: Timestamp, _: u64) {
        conn.gap(dir);
    }

    fn close(&mut self, mut conn: Self::Conn, _: &ConnInfo, _: Timestamp, _: CloseReason) {
        conn.finish(&mut |_, _| {});
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or("tests/data/zk38-mtu1500.pcap".into());
    let mut latency = Latency::default();
    run_file(&path, &mut latency)?;
    println!("{:<28} {:>6} {:>10}", "request", "count", "mean µs");
    for (kind, (count, total_ns)) in latency.0 {
        println!(
            "{kind:<28} {count:>6} {:>10.1}",
            total_ns as f64 / count as f64 / 1e3
        );
    }
    Ok(())
}
