//! Resource bounds on hostile election traffic: a 2 GiB config length, frame length, address
//! length or SASL token length is rejected or reported as missing bytes, never allocated for
//! or waited on blindly; a stream of garbage is skipped in bounded steps.
//!
//! Allocation is watched through the peak virtual size (`VmPeak`, Linux `/proc/self/status`):
//! the workspace forbids `unsafe_code`, so a counting global allocator is not available, but an
//! allocation sized from any of these fields would reserve ≥ 2 GiB of address space and show up
//! there. The check is skipped where `/proc` is missing.

use std::time::{Duration, Instant};

use fle_proto::initial::MAX_ADDR_LEN;
use fle_proto::{
    decode_framed_notification, decode_notification, initial_message_boundary,
    notification_frame_len, parse_quorum_auth_packet, Boundary, DecodeError, ElectionStream,
    Sender, Step, PACKET_MAX_SIZE, PROTOCOL_VERSION_V1, QUORUM_AUTH_MAGIC,
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

/// A 44 + N notification payload (version 2) whose configLength is `clen`, followed by
/// `tail` bytes of config text.
fn with_config(clen: i32, tail: usize) -> Vec<u8> {
    let mut p = 0i32.to_be_bytes().to_vec(); // LOOKING
    p.extend_from_slice(&1i64.to_be_bytes()); // leader
    p.extend_from_slice(&0x1_0000_0000i64.to_be_bytes()); // zxid
    p.extend_from_slice(&1i64.to_be_bytes()); // electionEpoch
    p.extend_from_slice(&1i64.to_be_bytes()); // peerEpoch
    p.extend_from_slice(&2i32.to_be_bytes()); // version
    p.extend_from_slice(&clen.to_be_bytes());
    p.resize(p.len() + tail, b'x');
    p
}

#[test]
fn huge_config_length() {
    let p = with_config(HUGE, 64);
    let e = bounded("notification", || decode_notification(&p)).unwrap_err();
    assert_eq!(
        e,
        DecodeError::Truncated {
            needed: Some(HUGE as usize - 64)
        }
    );
    // Negative lengths are invalid, not huge.
    assert!(decode_notification(&with_config(-2, 8)).is_err());

    // Framed: the frame length is what bounds the payload, and the config must fit inside it.
    let mut framed = (p.len() as i32).to_be_bytes().to_vec();
    framed.extend_from_slice(&p);
    assert!(bounded("framed", || decode_framed_notification(&framed)).is_err());
}

#[test]
fn huge_frame_length() {
    let mut f = HUGE.to_be_bytes().to_vec();
    f.extend_from_slice(&[0; 64]);
    assert_eq!(
        notification_frame_len(&f, PACKET_MAX_SIZE),
        Boundary::Invalid
    );
    assert!(decode_framed_notification(&f).is_err());
    let mut s = ElectionStream::new(Sender::Acceptor);
    assert_eq!(s.next(&f), Step::Invalid);
    // At the ceiling, a number of bytes to wait for.
    let f = (PACKET_MAX_SIZE as i32).to_be_bytes();
    assert_eq!(
        notification_frame_len(&f, PACKET_MAX_SIZE),
        Boundary::Incomplete(4 + PACKET_MAX_SIZE as usize)
    );
}

#[test]
fn huge_address_and_token_lengths() {
    let mut m = PROTOCOL_VERSION_V1.to_be_bytes().to_vec();
    m.extend_from_slice(&3i64.to_be_bytes());
    m.extend_from_slice(&HUGE.to_be_bytes());
    m.extend_from_slice(b"127.0.0.1:3888");
    // Rejected at once rather than waited for (MAX_ADDR_LEN is the receivers' own limit).
    assert_eq!(initial_message_boundary(&m), Boundary::Invalid);
    let mut ok = m.clone();
    ok[16..20].copy_from_slice(&(MAX_ADDR_LEN as i32).to_be_bytes());
    assert_eq!(
        initial_message_boundary(&ok[..20]),
        Boundary::Incomplete(20 + MAX_ADDR_LEN)
    );

    let mut a = QUORUM_AUTH_MAGIC.to_be_bytes().to_vec();
    a.extend_from_slice(&0i32.to_be_bytes());
    a.extend_from_slice(&HUGE.to_be_bytes());
    a.extend_from_slice(&[0; 16]);
    assert!(matches!(
        parse_quorum_auth_packet(&a),
        Err(nom::Err::Error(_))
    ));
}

#[test]
fn mid_stream_garbage_is_skipped_in_bounded_steps() {
    // 4 MiB that never looks like a frame: every step consumes bytes, none buffers them.
    let garbage: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8 | 0x80).collect();
    let mut s = ElectionStream::mid_stream();
    let mut pos = 0;
    let mut steps = 0;
    bounded("skip 4 MiB", || {
        while pos < garbage.len() {
            match s.next(&garbage[pos..]) {
                Step::Skipped { len } => {
                    assert!(len > 0);
                    pos += len;
                }
                Step::NeedMore { .. } => break,
                other => panic!("unexpected {other:?}"),
            }
            steps += 1;
            assert!(steps <= garbage.len());
        }
    });
    assert!(pos + 4 >= garbage.len(), "stopped at {pos}");
}
