//! Resource bounds of the capture layer on hostile traffic:
//!
//! * a flood of distinct flows, each leaving a half-received large frame behind, keeps the flow
//!   table (and with it the per-connection framer buffers) at the configured size;
//! * endless out-of-order data is capped per flow and in total;
//! * a frame that never ends is abandoned at the maximum message size and the framer's buffer
//!   stays within its hunt window;
//! * a capture-file record that claims a huge length costs memory for the bytes actually
//!   present, not for the claim (found by the `pcap_file` fuzz target).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use zkwire_capture::{
    ClientIs, CloseReason, ConnInfo, Direction, FileSource, Framer, FramerEvent, LengthPrefixed,
    PacketSource, Plausibility, Reassembler, ReassemblyConfig, SourceError, StreamHandler,
    TcpSegment, Timestamp,
};

/// The framer's hunt window (`Framer::max_hunt_window`, not configurable from outside).
const HUNT_WINDOW: usize = 1 << 20;
const SERVER: u16 = 2181;

fn any(_: &[u8]) -> Plausibility {
    Plausibility::Yes
}

fn never(_: &[u8]) -> Plausibility {
    Plausibility::No
}

fn server() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), SERVER)
}

fn client(n: u32) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n)), 50_000)
}

/// A consumer that frames every connection, and accounts for what its framers hold.
#[derive(Default)]
struct Framing {
    opened: u64,
    closed: u64,
    held: usize,
    messages: u64,
}

impl StreamHandler for Framing {
    type Conn = Framer<LengthPrefixed>;

    fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<(Self::Conn, ClientIs)> {
        self.opened += 1;
        let splitter = LengthPrefixed::new(0, 64 << 20, any);
        Some((Framer::new(splitter, first.syn), ClientIs::Source))
    }

    fn data(&mut self, f: &mut Self::Conn, _: &ConnInfo, _: Direction, _: Timestamp, b: &[u8]) {
        let before = f.buffered();
        let messages = &mut self.messages;
        f.push(b, &mut |ev| {
            if let FramerEvent::Message(_) = ev {
                *messages += 1;
            }
        });
        self.held = self.held + f.buffered() - before;
    }

    fn gap(&mut self, f: &mut Self::Conn, _: &ConnInfo, _: Direction, _: Timestamp, _: u64) {
        let before = f.buffered();
        f.gap(&mut |_| {});
        self.held -= before - f.buffered();
    }

    fn close(&mut self, mut f: Self::Conn, _: &ConnInfo, _: Timestamp, _: CloseReason) {
        self.held -= f.finish();
        self.closed += 1;
    }
}

/// Debug builds handle about a million flows in a few seconds; this is the full flood.
const FLOWS: u32 = 1_000_000;

#[test]
fn a_million_flows_with_half_received_frames_stay_bounded() {
    let max_flows = 100_000;
    let mut r = Reassembler::new(ReassemblyConfig {
        max_flows,
        ..ReassemblyConfig::default()
    });
    let mut h = Framing::default();
    // A frame announcing 60 MiB, of which only the first 100 bytes ever arrive.
    let mut payload = (60i32 << 20).to_be_bytes().to_vec();
    payload.extend_from_slice(&[0x5a; 100]);
    let per_flow = payload.len();
    let mut ts = Timestamp(1_700_000_000_000_000_000);
    for n in 0..FLOWS {
        let seg = TcpSegment {
            src: client(n),
            dst: server(),
            seq: n.wrapping_mul(7919),
            ack: None,
            syn: true,
            fin: false,
            rst: false,
            payload: &payload,
            missing: 0,
        };
        ts = ts.plus_nanos(1_000);
        r.segment(&seg, ts, &mut h);
        assert!(r.tracked_flows() <= max_flows);
        assert!(
            h.held <= max_flows * per_flow,
            "framers hold {} bytes",
            h.held
        );
    }
    assert_eq!(h.messages, 0);
    assert_eq!(r.stats.flows, FLOWS as u64);
    assert!(
        r.stats.flows_evicted >= (FLOWS as usize - max_flows) as u64,
        "evicted {}",
        r.stats.flows_evicted
    );
    assert_eq!(h.opened - h.closed, r.tracked_flows() as u64);
    r.finish(ts, &mut h);
    assert_eq!(
        (h.opened, h.closed, h.held),
        (FLOWS as u64, FLOWS as u64, 0)
    );
    assert_eq!(r.buffered_bytes(), 0);
}

/// Feeds `segments` segments to each flow, each one byte beyond the end of the previous one,
/// so no segment is ever in order and the holes are never filled or acknowledged.
fn out_of_order_flood(
    config: ReassemblyConfig,
    flows: u32,
    segments: u32,
) -> (Reassembler<()>, u64) {
    #[derive(Default)]
    struct Count(u64);
    impl StreamHandler for Count {
        type Conn = ();
        fn open(&mut self, _: &TcpSegment<'_>, _: Timestamp) -> Option<((), ClientIs)> {
            Some(((), ClientIs::Source))
        }
        fn data(&mut self, _: &mut (), _: &ConnInfo, _: Direction, _: Timestamp, b: &[u8]) {
            self.0 += b.len() as u64;
        }
        fn gap(&mut self, _: &mut (), _: &ConnInfo, _: Direction, _: Timestamp, _: u64) {}
        fn close(&mut self, _: (), _: &ConnInfo, _: Timestamp, _: CloseReason) {}
    }
    let (per_flow, total) = (config.max_buffered_per_flow, config.max_buffered_total);
    let mut r = Reassembler::new(config);
    let mut h = Count::default();
    let ts = Timestamp(1_700_000_000_000_000_000); // constant: no hole ever times out
    let data = [0x42u8; 1000];
    for n in 0..flows {
        let syn = TcpSegment {
            src: client(n),
            dst: server(),
            seq: 1000,
            ack: None,
            syn: true,
            fin: false,
            rst: false,
            payload: &[],
            missing: 0,
        };
        r.segment(&syn, ts, &mut h);
    }
    for k in 0..segments {
        for n in 0..flows {
            let seg = TcpSegment {
                src: client(n),
                dst: server(),
                // After the SYN the next byte is 1001; each segment leaves a one-byte hole.
                seq: 1001 + 1 + k * (data.len() as u32 + 1),
                ack: None,
                syn: false,
                fin: false,
                rst: false,
                payload: &data,
                missing: 0,
            };
            r.segment(&seg, ts, &mut h);
            assert!(
                r.buffered_bytes() <= total,
                "{} bytes buffered",
                r.buffered_bytes()
            );
            if flows == 1 {
                assert!(
                    r.buffered_bytes() <= per_flow,
                    "{} bytes buffered",
                    r.buffered_bytes()
                );
            }
        }
    }
    (r, h.0)
}

#[test]
fn endless_out_of_order_data_is_capped_per_flow() {
    let config = ReassemblyConfig {
        max_buffered_per_flow: 64 << 10,
        max_buffered_total: 256 << 20,
        ..ReassemblyConfig::default()
    };
    // 10 MB that never becomes contiguous.
    let (r, delivered) = out_of_order_flood(config, 1, 10_000);
    assert!(r.stats.buffer_limit_hits > 0);
    assert!(r.stats.gaps > 0);
    // Given up holes let the buffered data through: it is delivered, not hoarded.
    assert!(
        delivered >= 10_000 * 1000 - (64 << 10) as u64,
        "delivered {delivered}"
    );
}

#[test]
fn endless_out_of_order_data_is_capped_in_total() {
    let config = ReassemblyConfig {
        max_buffered_per_flow: 64 << 10,
        max_buffered_total: 256 << 10,
        ..ReassemblyConfig::default()
    };
    // 100 flows × 200 segments: 20 MB, each flow staying under its own cap for a while, so
    // only the total cap holds the sum down.
    let (r, _) = out_of_order_flood(config, 100, 200);
    assert!(r.stats.buffer_limit_hits > 0);
    assert!(r.buffered_bytes() <= 256 << 10);
}

#[test]
fn a_frame_that_never_ends_is_abandoned_at_the_maximum_size() {
    let max_len = 1 << 20;
    // A length over the maximum is not a boundary: the framer hunts, and while hunting it
    // keeps at most its window.
    let mut f = Framer::new(LengthPrefixed::new(0, max_len, never), true);
    let mut stream = 0x7fff_ffffi32.to_be_bytes().to_vec();
    stream.resize(10 << 20, 0x33);
    let (mut messages, mut skipped) = (0, 0u64);
    for chunk in stream.chunks(64 << 10) {
        f.push(chunk, &mut |ev| match ev {
            FramerEvent::Message(_) => messages += 1,
            FramerEvent::Skipped(n) => skipped += n,
            _ => {}
        });
        assert!(f.is_hunting());
        assert!(f.buffered() <= HUNT_WINDOW, "framer holds {}", f.buffered());
    }
    assert_eq!(messages, 0);
    assert_eq!(f.stats.invalid, 1);
    assert_eq!(skipped as usize + f.buffered(), stream.len());

    // A length at the maximum is a frame: buffered up to exactly its size, then handed over,
    // never more.
    let mut f = Framer::new(LengthPrefixed::new(0, max_len, never), true);
    let mut stream = (max_len as i32).to_be_bytes().to_vec();
    stream.resize(4 + max_len as usize + (3 << 20), 0xff);
    let mut sizes = Vec::new();
    for chunk in stream.chunks(64 << 10) {
        f.push(chunk, &mut |ev| {
            if let FramerEvent::Message(m) = ev {
                sizes.push(m.len())
            }
        });
        assert!(f.buffered() <= (4 + max_len as usize).max(HUNT_WINDOW));
    }
    assert_eq!(sizes, vec![4 + max_len as usize]);
    // What followed (0xff…: a negative length) is garbage, hunted through within the window.
    assert!(f.is_hunting());
    assert!(f.buffered() <= HUNT_WINDOW);
}

/// Set in the child process that runs [`huge_record_claim_child`] alone.
const CHILD_ENV: &str = "ZKWIRE_BOUNDS_CHILD";

fn vm_peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmPeak:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A 56-byte classic pcap whose only record header claims 200 MiB must not make the reader
/// allocate for the claim. Before the fix, pcap-parser's `BufferTooSmall` (reported from the
/// claimed length alone, before the bytes were read) made `FileSource` double its buffer up to
/// 256 MiB. Peak memory is process-wide and the other tests here allocate a lot in parallel,
/// so the measurement runs in a child process that runs only this test.
#[test]
fn a_huge_record_claim_in_a_tiny_file_is_not_allocated_for() {
    if std::env::var_os(CHILD_ENV).is_some() || vm_peak_kib().is_none() {
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "huge_record_claim_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .expect("run child");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{log}");
    assert!(log.contains("1 passed"), "child did not run:\n{log}");
}

#[test]
fn huge_record_claim_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return; // only meaningful alone in its own process, see above
    }
    let claim: u32 = 200 << 20;
    let mut file = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 0x0004_0000, 1] {
        file.extend_from_slice(&v.to_le_bytes()); // LE header: version 2.4, snaplen, Ethernet
    }
    file.truncate(24);
    for v in [1u32, 0, claim, claim] {
        file.extend_from_slice(&v.to_le_bytes());
    }
    file.extend_from_slice(&[0x5a; 16]);

    // Warm up this thread's allocator so its arena is not counted.
    drop(std::hint::black_box(vec![0u8; 4 << 20]));
    let before = vm_peak_kib().expect("VmPeak");
    let mut src = FileSource::from_reader("hostile".into(), std::io::Cursor::new(file), None)
        .expect("a pcap header");
    let r = src.next_packet();
    assert!(
        matches!(r, Err(SourceError::Truncated { offset: 24, .. })),
        "{:?}",
        r.map(|_| ())
    );
    let grown = vm_peak_kib().expect("VmPeak") - before;
    assert!(
        grown < 64 * 1024,
        "reading a 56-byte file raised the peak virtual size by {} MiB",
        grown / 1024
    );
}
