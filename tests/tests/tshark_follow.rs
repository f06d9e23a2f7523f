//! Independent check of TCP reassembly: for every shipped capture, and for copies damaged on
//! purpose, each direction of each connection as reassembled by zkwire must equal what
//! `tshark -q -z follow,tcp,raw,N` (Wireshark's own reassembly) prints for it.
//!
//! Needs `tshark` on the PATH (`.ci/run` installs it). Where it is missing the test fails with
//! a message saying so, unless ZKWIRE_SKIP_TSHARK=1 is set.

mod common;

use common::{corpus, has_tcp_payload, scratch, Pcap, Rng};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use zkwire_capture::{
    run, ClientIs, CloseReason, ConnInfo, Direction, FileSource, PipelineOptions, Reassembler,
    ReassemblyConfig, StreamHandler, TcpSegment, Timestamp,
};

/// One direction of one connection: the bytes delivered, and gaps as (position in bytes, length).
#[derive(Debug, Default, Clone)]
struct Side {
    bytes: Vec<u8>,
    gaps: Vec<(usize, u64)>,
}

#[derive(Debug, Clone)]
struct Conn {
    client: SocketAddr,
    server: SocketAddr,
    sides: [Side; 2],
}

#[derive(Default)]
struct Collect {
    conns: Vec<Conn>,
}

fn side(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

impl StreamHandler for Collect {
    type Conn = usize;
    fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<(usize, ClientIs)> {
        let client_is = match (first.syn, first.ack.is_some()) {
            (true, true) => ClientIs::Destination,
            (true, false) => ClientIs::Source,
            // Mid-stream: the ephemeral (higher) port is the client.
            _ if first.src.port() > first.dst.port() => ClientIs::Source,
            _ => ClientIs::Destination,
        };
        let (client, server) = if client_is == ClientIs::Source {
            (first.src, first.dst)
        } else {
            (first.dst, first.src)
        };
        self.conns.push(Conn {
            client,
            server,
            sides: Default::default(),
        });
        Some((self.conns.len() - 1, client_is))
    }
    fn data(&mut self, conn: &mut usize, _: &ConnInfo, dir: Direction, _: Timestamp, bytes: &[u8]) {
        self.conns[*conn].sides[side(dir)]
            .bytes
            .extend_from_slice(bytes);
    }
    fn gap(&mut self, conn: &mut usize, _: &ConnInfo, dir: Direction, _: Timestamp, len: u64) {
        let s = &mut self.conns[*conn].sides[side(dir)];
        s.gaps.push((s.bytes.len(), len));
    }
    fn close(&mut self, _: usize, _: &ConnInfo, _: Timestamp, _: CloseReason) {}
}

fn reassemble(path: &Path) -> (Vec<Conn>, zkwire_capture::CaptureStats) {
    let mut source = FileSource::open(path).expect("open capture");
    let mut reassembler = Reassembler::new(ReassemblyConfig::default());
    let mut collect = Collect::default();
    let outcome = run(
        &mut source,
        &mut reassembler,
        &mut collect,
        PipelineOptions::default(),
    );
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    (collect.conns, reassembler.stats)
}

/// A tshark stream: its two nodes and the bytes each sent.
#[derive(Debug)]
struct Followed {
    nodes: [SocketAddr; 2],
    bytes: [Vec<u8>; 2],
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tshark_follow(path: &Path) -> Vec<Followed> {
    let streams = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-T", "fields", "-e", "tcp.stream"])
        .output()
        .expect("run tshark");
    assert!(
        streams.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&streams.stderr)
    );
    let mut ids: Vec<u64> = String::from_utf8_lossy(&streams.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-q", "-r"]).arg(path);
    for id in &ids {
        cmd.arg("-z").arg(format!("follow,tcp,raw,{id}"));
    }
    let out = cmd.output().expect("run tshark follow");
    assert!(
        out.status.success(),
        "tshark follow failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut by_id: HashMap<u64, Followed> = HashMap::new();
    // (stream id, node 0, node 1, bytes sent by each node) of the block being read.
    type Block = (u64, Option<SocketAddr>, Option<SocketAddr>, [Vec<u8>; 2]);
    let mut current: Option<Block> = None;
    for line in text.lines() {
        if line.starts_with("=====") {
            if let Some((id, Some(a), Some(b), bytes)) = current.take() {
                by_id.insert(
                    id,
                    Followed {
                        nodes: [a, b],
                        bytes,
                    },
                );
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("Filter: tcp.stream eq ") {
            current = Some((
                rest.trim().parse().expect("stream id"),
                None,
                None,
                Default::default(),
            ));
            continue;
        }
        let Some(cur) = current.as_mut() else {
            continue;
        };
        if let Some(rest) = line.strip_prefix("Node 0: ") {
            cur.1 = Some(rest.trim().parse().expect("node 0 address"));
        } else if let Some(rest) = line.strip_prefix("Node 1: ") {
            cur.2 = Some(rest.trim().parse().expect("node 1 address"));
        } else if line.starts_with("Follow:") || line.trim().is_empty() {
        } else {
            let (node, hex) = match line.strip_prefix('\t') {
                Some(h) => (1, h),
                None => (0, line),
            };
            cur.3[node].extend(decode_hex(hex.trim()));
        }
    }
    let mut followed: Vec<(u64, Followed)> = by_id.into_iter().collect();
    followed.sort_by_key(|(id, _)| *id);
    followed.into_iter().map(|(_, f)| f).collect()
}

fn decode_hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// Our bytes with each gap written the way tshark's follow writes a hole, so that the gap
/// positions and lengths are checked too.
fn with_gap_markers(side: &Side) -> Vec<u8> {
    let mut out = Vec::with_capacity(side.bytes.len());
    let mut at = 0;
    for &(pos, len) in &side.gaps {
        if pos == side.bytes.len() {
            // tshark only reports a hole when data follows it.
            break;
        }
        out.extend_from_slice(&side.bytes[at..pos]);
        // tshark writes the marker with its C string terminator.
        out.extend_from_slice(format!("[{len} bytes missing in capture file]\0").as_bytes());
        at = pos;
    }
    out.extend_from_slice(&side.bytes[at..]);
    out
}

/// How tshark shows bytes zkwire reports as a gap.
#[derive(Clone, Copy, PartialEq)]
enum Holes {
    /// A hole between captured segments: tshark writes a marker with the missing length.
    Marked,
    /// The tail of a snaplen-truncated segment: tshark silently joins what was captured.
    Unmarked,
}

/// Compares every non-empty stream; returns how many directions were compared.
fn compare(path: &Path, holes: Holes) -> usize {
    let (ours, stats) = reassemble(path);
    let theirs = tshark_follow(path);
    let mut ours: Vec<Conn> = ours
        .into_iter()
        .filter(|c| c.sides.iter().any(|s| !s.bytes.is_empty()))
        .collect();
    let theirs: Vec<Followed> = theirs
        .into_iter()
        .filter(|f| f.bytes.iter().any(|b| !b.is_empty()))
        .collect();
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{}: zkwire saw {} connections with data, tshark {}",
        path.display(),
        ours.len(),
        theirs.len()
    );
    let mut compared = 0;
    for f in &theirs {
        let pos = ours
            .iter()
            .position(|c| {
                (c.client == f.nodes[0] && c.server == f.nodes[1])
                    || (c.client == f.nodes[1] && c.server == f.nodes[0])
            })
            .unwrap_or_else(|| {
                panic!(
                    "{}: tshark stream {:?} not found by zkwire",
                    path.display(),
                    f.nodes
                )
            });
        let conn = ours.remove(pos);
        for (node, bytes) in f.bytes.iter().enumerate() {
            let from = f.nodes[node];
            let s = if from == conn.client {
                &conn.sides[0]
            } else {
                &conn.sides[1]
            };
            let rendered = if holes == Holes::Marked {
                with_gap_markers(s)
            } else {
                s.bytes.clone()
            };
            if rendered != *bytes {
                if let Some(d) = rendered.iter().zip(bytes.iter()).position(|(a, b)| a != b) {
                    let lo = d.saturating_sub(60);
                    eprintln!(
                        "ours  {}",
                        String::from_utf8_lossy(&rendered[lo..(d + 60).min(rendered.len())])
                            .escape_debug()
                    );
                    eprintln!(
                        "theirs {}",
                        String::from_utf8_lossy(&bytes[lo..(d + 60).min(bytes.len())])
                            .escape_debug()
                    );
                }
            }
            assert!(
                rendered == *bytes,
                "{}: {} -> bytes differ: zkwire {} bytes (gaps {:?}), tshark {} bytes; first difference at {:?}; stats {:?}",
                path.display(),
                from,
                s.bytes.len(),
                s.gaps,
                bytes.len(),
                rendered.iter().zip(bytes.iter()).position(|(a, b)| a != b),
                stats
            );
            compared += 1;
        }
    }
    compared
}

fn require_tshark() -> bool {
    if tshark_available() {
        return true;
    }
    assert!(
        std::env::var_os("ZKWIRE_SKIP_TSHARK").is_some(),
        "tshark is not installed: install it (apt-get install tshark) or set ZKWIRE_SKIP_TSHARK=1"
    );
    eprintln!("skipping: tshark not installed and ZKWIRE_SKIP_TSHARK set");
    false
}

#[test]
fn reassembly_matches_tshark_on_every_shipped_capture() {
    if !require_tshark() {
        return;
    }
    for path in corpus() {
        let n = compare(&path, Holes::Marked);
        assert!(n > 20, "{}: only {n} directions compared", path.display());
    }
}

#[test]
fn reassembly_matches_tshark_on_duplicated_and_reordered_packets() {
    if !require_tshark() {
        return;
    }
    let dir = scratch("tshark-damaged");
    for (i, path) in corpus().iter().enumerate() {
        let pcap = Pcap::read(path);
        // Duplicate 5% of the packets (as a loopback capture or a retransmission would).
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ i as u64);
        let mut dup = Pcap {
            header: pcap.header.clone(),
            records: Vec::new(),
        };
        for r in &pcap.records {
            dup.records.push(r.clone());
            if rng.chance(5) {
                dup.records.push(r.clone());
            }
        }
        let dup_path = dir.join(format!("dup-{i}.pcap"));
        dup.write(&dup_path);
        let (_, stats) = reassemble(&dup_path);
        assert!(stats.retransmits > 0, "duplicates must be counted");
        compare(&dup_path, Holes::Marked);

        // Swap 5% of neighbouring data packets (timestamps kept in order).
        let mut reordered = Pcap {
            header: pcap.header.clone(),
            records: pcap.records.clone(),
        };
        let mut k = 0;
        while k + 1 < reordered.records.len() {
            if has_tcp_payload(&reordered.records[k].data)
                && has_tcp_payload(&reordered.records[k + 1].data)
                && rng.chance(5)
            {
                let (a, b) = (
                    reordered.records[k].data.clone(),
                    reordered.records[k + 1].data.clone(),
                );
                reordered.records[k].data = b;
                reordered.records[k + 1].data = a;
                k += 2;
            } else {
                k += 1;
            }
        }
        let reordered_path = dir.join(format!("reordered-{i}.pcap"));
        reordered.write(&reordered_path);
        let (_, stats) = reassemble(&reordered_path);
        assert!(stats.out_of_order > 0, "reordering must be seen");
        compare(&reordered_path, Holes::Marked);
    }
}

#[test]
fn reassembly_matches_tshark_on_lost_and_truncated_packets() {
    if !require_tshark() {
        return;
    }
    let dir = scratch("tshark-lost");
    for (i, path) in corpus().iter().enumerate() {
        let pcap = Pcap::read(path);
        // Lose 2% of the data packets after the peer received them: a sniffer drop, so the
        // holes are never retransmitted and must become gaps of the right size and place.
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ i as u64);
        let mut lossy = Pcap {
            header: pcap.header.clone(),
            records: Vec::new(),
        };
        for r in &pcap.records {
            if has_tcp_payload(&r.data) && rng.chance(2) {
                continue;
            }
            lossy.records.push(r.clone());
        }
        let lossy_path = dir.join(format!("lost-{i}.pcap"));
        lossy.write(&lossy_path);
        let (_, stats) = reassemble(&lossy_path);
        assert!(
            stats.gaps > 0 && stats.gap_bytes > 0,
            "losses must become gaps: {stats:?}"
        );
        compare(&lossy_path, Holes::Marked);

        // Cut some packets short, as a small snaplen would.
        let mut cut = Pcap {
            header: pcap.header.clone(),
            records: pcap.records.clone(),
        };
        let mut cut_bytes = 0u64;
        let mut seen = std::collections::HashSet::new();
        for r in cut.records.iter_mut() {
            // Addresses, ports and sequence number (IPv4 without options): a segment seen
            // before is a retransmission whose bytes were delivered already.
            let first_time = r.data.len() > 42 && seen.insert(r.data[26..42].to_vec());
            if first_time && has_tcp_payload(&r.data) && r.data.len() > 120 && rng.chance(10) {
                // All headers of these frames fit in 120 bytes, so only payload is lost.
                cut_bytes += r.orig_len as u64 - 120;
                r.data.truncate(120);
            }
        }
        let cut_path = dir.join(format!("cut-{i}.pcap"));
        cut.write(&cut_path);
        let (_, stats) = reassemble(&cut_path);
        assert!(stats.truncated > 0, "truncation must be counted: {stats:?}");
        assert_eq!(
            stats.gap_bytes, cut_bytes,
            "every cut byte is a gap byte, never data"
        );
        compare(&cut_path, Holes::Unmarked);
    }
}
