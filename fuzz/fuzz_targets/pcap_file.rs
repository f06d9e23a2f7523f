//! Capture files: `zkwire_capture::FileSource::from_reader` over arbitrary bytes (pcap or
//! pcapng), read until `End` or an error, then the whole pipeline (`zkwire_capture::run`: link
//! decoding, reassembly) into a handler that frames both directions of every connection with
//! the client protocol's splitters (`zk_proto::request_splitter` / `reply_splitter`) and
//! decodes the frames as ZooKeeper client traffic.
//!
//! Checks: no panic, no hang; a packet never claims more bytes than the input has; the
//! number of packets is bounded by the input size (every record costs at least 12 bytes); the
//! pipeline reports the same packet count as the direct read; every connection is closed.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use zk_proto::tracker::ConnectionTracker;
use zk_proto::{reply_splitter, request_splitter};
use zkwire_capture::{
    decode_tcp, run, ClientIs, CloseReason, ConnInfo, Direction, FileSource, Framer, FramerEvent,
    LengthPrefixed, Next, PacketSource, PipelineOptions, Reassembler, ReassemblyConfig,
    StreamHandler, TcpSegment, Timestamp,
};

/// Largest frame payload the framers accept.
const MAX_FRAME: u32 = 1 << 20;

struct Conn {
    framers: [Framer<LengthPrefixed>; 2],
    tracker: ConnectionTracker<()>,
}

#[derive(Default)]
struct Handler {
    opened: u64,
    closed: u64,
    messages: u64,
}

impl StreamHandler for Handler {
    type Conn = Conn;

    fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<(Conn, ClientIs)> {
        self.opened += 1;
        let is = if first.src.port() < first.dst.port() {
            ClientIs::Destination
        } else {
            ClientIs::Source
        };
        Some((
            Conn {
                framers: [
                    Framer::new(request_splitter(MAX_FRAME), first.syn),
                    Framer::new(reply_splitter(MAX_FRAME), first.syn),
                ],
                tracker: ConnectionTracker::new(first.syn),
            },
            is,
        ))
    }

    fn data(&mut self, conn: &mut Conn, _: &ConnInfo, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        let Conn { framers, tracker } = conn;
        let d = (dir == Direction::ToClient) as usize;
        let messages = &mut self.messages;
        framers[d].push(bytes, &mut |ev| {
            if let FramerEvent::Message(m) = ev {
                *messages += 1;
                let payload = &m[4..];
                if d == 0 {
                    let _ = tracker.on_client_frame(payload, ts, |_| ());
                } else {
                    let _ = tracker.on_server_frame(payload, ts);
                }
            }
        });
    }

    fn gap(&mut self, conn: &mut Conn, _: &ConnInfo, dir: Direction, _: Timestamp, _: u64) {
        let d = (dir == Direction::ToClient) as usize;
        conn.framers[d].gap(&mut |_| {});
    }

    fn close(&mut self, mut conn: Conn, _: &ConnInfo, _: Timestamp, _: CloseReason) {
        conn.framers[0].finish();
        conn.framers[1].finish();
        self.closed += 1;
    }
}

fn source(data: &[u8]) -> Option<FileSource> {
    FileSource::from_reader(
        "fuzz input".into(),
        Cursor::new(data.to_vec()),
        Some(data.len() as u64),
    )
    .ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(mut src) = source(data) else {
        return;
    };
    let max_packets = data.len() / 12 + 1;
    let mut packets = 0usize;
    loop {
        match src.next_packet() {
            Ok(Next::Packet(p)) => {
                packets += 1;
                assert!(
                    packets <= max_packets,
                    "more packets than the input can hold"
                );
                assert!(p.data.len() <= data.len());
                let _ = decode_tcp(p.link, p.data);
            }
            Ok(Next::Idle) => panic!("a file source is never idle"),
            Ok(Next::End) | Err(_) => break,
        }
    }
    let (done, total) = src.progress();
    assert!(done <= data.len() as u64);
    assert_eq!(total, Some(data.len() as u64));

    let mut src = source(data).expect("opened once already");
    let mut r = Reassembler::new(ReassemblyConfig {
        max_flows: 64,
        max_buffered_per_flow: 1 << 16,
        max_buffered_total: 1 << 20,
        ..ReassemblyConfig::default()
    });
    let mut h = Handler::default();
    let outcome = run(&mut src, &mut r, &mut h, PipelineOptions::default());
    assert!(!outcome.stopped);
    assert_eq!(r.stats.packets, packets as u64);
    assert_eq!(h.opened, h.closed);
    assert_eq!(r.tracked_flows(), 0);
});
