//! Resource bounds on hostile quorum traffic: a 2 GiB data length or an authinfo count of
//! 2^31-1 is an error or a wait for bytes, never an allocation or a long loop; the snapshot
//! scanner never buffers or allocates for what it skips.
//!
//! Allocation is watched through the peak virtual size (`VmPeak`, Linux `/proc/self/status`):
//! the workspace forbids `unsafe_code`, so a counting global allocator is not available, but an
//! allocation sized from any of these fields would reserve ≥ 2 GiB of address space and show up
//! there. The check is skipped where `/proc` is missing.

use std::time::{Duration, Instant};

use zab_proto::boundary::{DEFAULT_MAX_DATA_LEN, MAX_AUTHINFO};
use zab_proto::snapshot::{Scan, SnapshotScanner};
use zab_proto::{
    decode_packet, packet_boundary, parse_quorum_auth_packet, parse_quorum_packet,
    plausible_packet_start, snapshot_stream_boundary, Boundary, DecodeError, Plausibility,
    QuorumDirection, QUORUM_AUTH_MAGIC,
};

const HUGE: i32 = i32::MAX;
const PEAK_SLACK_KIB: u64 = 512 * 1024;
const FAST: Duration = Duration::from_secs(2);

fn vm_peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmPeak:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let before = vm_peak_kib();
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < FAST, "{what}: took {took:?}");
    if let (Some(b), Some(a)) = (before, vm_peak_kib()) {
        assert!(
            a.saturating_sub(b) < PEAK_SLACK_KIB,
            "{what}: peak virtual size grew by {} MiB",
            (a - b) / 1024
        );
    }
    out
}

/// QuorumPacket header: type, zxid, then `data_len` (the data itself is not appended).
fn packet(ptype: i32, data_len: i32) -> Vec<u8> {
    let mut v = ptype.to_be_bytes().to_vec();
    v.extend_from_slice(&0x1_0000_0001i64.to_be_bytes());
    v.extend_from_slice(&data_len.to_be_bytes());
    v
}

#[test]
fn two_gib_data_length() {
    for ptype in 1..=19 {
        let mut p = packet(ptype, HUGE);
        p.extend_from_slice(&[0; 256]);
        let r = bounded("parse", || parse_quorum_packet(&p));
        assert!(matches!(r, Err(nom::Err::Incomplete(_))), "type {ptype}");
        // Above the 64 MiB ceiling: not a boundary worth waiting for.
        assert_eq!(packet_boundary(&p), Boundary::Invalid, "type {ptype}");
        assert_eq!(plausible_packet_start(&p), Plausibility::No, "type {ptype}");
    }
    // At the ceiling it is a wait for bytes, stated as a number only.
    let p = packet(2, DEFAULT_MAX_DATA_LEN as i32);
    assert_eq!(
        packet_boundary(&p),
        Boundary::Incomplete(16 + DEFAULT_MAX_DATA_LEN as usize + 4)
    );
}

#[test]
fn authinfo_count_of_2_pow_31_minus_1() {
    let mut p = packet(1, -1);
    p.extend_from_slice(&HUGE.to_be_bytes());
    p.extend_from_slice(&[0; 1024]);
    let r = bounded("parse", || parse_quorum_packet(&p));
    assert!(r.is_err());
    assert_eq!(packet_boundary(&p), Boundary::Invalid);

    // The largest accepted count asks for the bytes it implies, without waiting blindly.
    let mut p = packet(1, -1);
    p.extend_from_slice(&(MAX_AUTHINFO as i32).to_be_bytes());
    let b = bounded("boundary", || packet_boundary(&p));
    assert_eq!(b, Boundary::Incomplete(20 + 8 * MAX_AUTHINFO as usize));

    // A count that fits the input byte-wise but not element-wise is walked once and stops.
    let n = 1 << 20;
    let mut p = packet(1, -1);
    p.extend_from_slice(&(n as i32).to_be_bytes());
    p.resize(p.len() + n, 0);
    let r = bounded("parse 1M authinfo over 1 MiB", || parse_quorum_packet(&p));
    assert!(r.is_err());
}

#[test]
fn huge_lengths_inside_data() {
    // REQUEST whose forwarded request carries a 2 GiB path length.
    let mut data = 0x1234i64.to_be_bytes().to_vec(); // sessionId
    data.extend_from_slice(&1i32.to_be_bytes()); // cxid
    data.extend_from_slice(&1i32.to_be_bytes()); // type create
    data.extend_from_slice(&HUGE.to_be_bytes());
    data.extend_from_slice(b"/abc");
    let mut p = packet(1, data.len() as i32);
    p.extend_from_slice(&data);
    p.extend_from_slice(&(-1i32).to_be_bytes());
    let (_, qp) = parse_quorum_packet(&p).expect("the record itself is well-formed");
    let e = bounded("decode", || {
        decode_packet(&qp, Some(QuorumDirection::LearnerToLeader))
    });
    assert!(e.is_err(), "{e:?}");

    // PROPOSAL whose txn carries a 2 GiB data length (CreateTxn: path, data, acl, …).
    let mut txn = 0x1234i64.to_be_bytes().to_vec(); // clientId
    txn.extend_from_slice(&1i32.to_be_bytes()); // cxid
    txn.extend_from_slice(&0x1_0000_0002i64.to_be_bytes()); // zxid
    txn.extend_from_slice(&0i64.to_be_bytes()); // time
    txn.extend_from_slice(&1i32.to_be_bytes()); // type create
    txn.extend_from_slice(&2i32.to_be_bytes());
    txn.extend_from_slice(b"/a");
    txn.extend_from_slice(&HUGE.to_be_bytes());
    txn.extend_from_slice(&[0; 32]);
    let mut p = packet(2, txn.len() as i32);
    p.extend_from_slice(&txn);
    p.extend_from_slice(&(-1i32).to_be_bytes());
    let (_, qp) = parse_quorum_packet(&p).unwrap();
    let e = bounded("decode txn", || decode_packet(&qp, None)).unwrap_err();
    assert!(
        matches!(
            e,
            DecodeError::Truncated { .. } | DecodeError::Invalid { .. }
        ),
        "{e:?}"
    );
}

#[test]
fn quorum_auth_token_length() {
    let mut p = QUORUM_AUTH_MAGIC.to_be_bytes().to_vec();
    p.extend_from_slice(&0i32.to_be_bytes());
    p.extend_from_slice(&HUGE.to_be_bytes());
    p.extend_from_slice(&[0; 16]);
    assert!(bounded("auth", || parse_quorum_auth_packet(&p)).is_err());
}

#[test]
fn snapshot_counts_and_lengths() {
    // 2^31-1 sessions announced: the scanner consumes what is there and asks for more, holding
    // nothing; the whole-buffer boundary is a number, not an allocation.
    let mut s = HUGE.to_be_bytes().to_vec();
    s.resize(4 + 12 * 1000 + 5, 0);
    let mut sc = SnapshotScanner::new();
    let r = bounded("sessions", || sc.feed(&s)).unwrap();
    assert_eq!(
        r,
        Scan::NeedMore {
            consumed: 4 + 12 * 1000,
            needed: 7
        }
    );
    assert!(matches!(
        snapshot_stream_boundary(&s),
        Boundary::Incomplete(_)
    ));

    // A node whose data length is 2 GiB (above the ceiling): invalid, not awaited.
    let mut s = 0i32.to_be_bytes().to_vec(); // no sessions
    s.extend_from_slice(&0i32.to_be_bytes()); // empty ACL cache
    s.extend_from_slice(&2i32.to_be_bytes());
    s.extend_from_slice(b"/a");
    s.extend_from_slice(&HUGE.to_be_bytes());
    assert_eq!(snapshot_stream_boundary(&s), Boundary::Invalid);

    // Just under the ceiling: skipped piecewise as it arrives, never buffered.
    let mut s = 0i32.to_be_bytes().to_vec();
    s.extend_from_slice(&0i32.to_be_bytes());
    s.extend_from_slice(&2i32.to_be_bytes());
    s.extend_from_slice(b"/a");
    s.extend_from_slice(&(DEFAULT_MAX_DATA_LEN as i32).to_be_bytes());
    let mut sc = SnapshotScanner::new();
    let Scan::NeedMore { consumed, .. } = sc.feed(&s).unwrap() else {
        panic!("more data expected")
    };
    assert_eq!(consumed, s.len());
    let chunk = vec![0u8; 1 << 20];
    bounded("64 MiB of node data in 1 MiB chunks", || {
        for _ in 0..(DEFAULT_MAX_DATA_LEN as usize >> 20) {
            let Scan::NeedMore { consumed, .. } = sc.feed(&chunk).unwrap() else {
                panic!("the node tail is still to come")
            };
            assert_eq!(consumed, chunk.len(), "node data is consumed, not held");
        }
    });
    assert_eq!(sc.consumed(), s.len() as u64 + DEFAULT_MAX_DATA_LEN as u64);
}
