//! Resource bounds on hostile input: lengths and counts from the wire never size an allocation
//! or a loop beyond the input.
//!
//! How allocation is measured: the workspace forbids `unsafe_code` (a `forbid` that a test
//! file cannot lift), so there is no counting `#[global_allocator]` here. Instead the tests
//! watch the process's peak virtual size (`VmPeak` in `/proc/self/status`, Linux only): any
//! allocation sized from a 2 GiB length or a 2^31-1 count reserves at least 2 GiB of address
//! space, even if never touched, and would push `VmPeak` up by that much. The threshold
//! (512 MiB) leaves room for allocator arenas of the test threads. Where `/proc` is missing the
//! peak check is skipped and the error and timing checks still run.

use std::time::{Duration, Instant};

use zk_proto::jute::{parse_vector, JuteStr, UString};
use zk_proto::tracker::ConnectionTracker;
use zk_proto::{
    decode_connect_request, decode_reply, decode_request, frame_len, Boundary, DecodeError, OpCode,
};

const HUGE: i32 = i32::MAX; // 2 GiB - 1 as a length, 2^31 - 1 as a count
const PEAK_SLACK_KIB: u64 = 512 * 1024;
/// Generous for debug builds on a loaded machine; a loop driven by a 2^31 count takes minutes.
const FAST: Duration = Duration::from_secs(2);

fn vm_peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmPeak:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `f`, asserting it is fast and grows the peak virtual size by less than the slack.
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

fn header(xid: i32, op: OpCode) -> Vec<u8> {
    let mut v = xid.to_be_bytes().to_vec();
    v.extend_from_slice(&op.as_i32().to_be_bytes());
    v
}

fn reply_header(xid: i32) -> Vec<u8> {
    let mut v = xid.to_be_bytes().to_vec();
    v.extend_from_slice(&0x1_0000_0001i64.to_be_bytes());
    v.extend_from_slice(&0i32.to_be_bytes());
    v
}

fn be(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

fn is_truncated_or_invalid(e: &DecodeError) -> bool {
    matches!(
        e,
        DecodeError::Truncated { .. } | DecodeError::Invalid { .. }
    )
}

#[test]
fn two_gib_string_length_in_every_request_is_an_error() {
    // The 2 GiB length lands on the first, second or third field of each body shape.
    let prefixes: [&[u8]; 4] = [
        &[],
        &[0, 0, 0, 0],
        &[0, 0, 0, 0, 0, 0, 0, 0],
        &[0, 0, 0, 1, b'/'],
    ];
    for op in OpCode::ALL {
        for prefix in prefixes {
            let mut p = header(7, *op);
            p.extend_from_slice(prefix);
            p.extend_from_slice(&be(HUGE));
            p.extend_from_slice(&[0x41; 64]);
            let r = bounded(&format!("{op:?}"), || decode_request(&p));
            assert!(r.is_err(), "{op:?} with a 2 GiB length decoded: {r:?}");
        }
    }
    // The classic case, named: create("/<2 GiB>").
    let mut p = header(1, OpCode::Create);
    p.extend_from_slice(&be(HUGE));
    p.extend_from_slice(b"/abc");
    let e = bounded("create", || decode_request(&p)).unwrap_err();
    assert!(matches!(e, DecodeError::Truncated { .. }), "{e:?}");
}

#[test]
fn vector_count_of_2_pow_31_minus_1_is_an_error() {
    let path = |p: &mut Vec<u8>| {
        p.extend_from_slice(&be(2));
        p.extend_from_slice(b"/a");
    };
    // setACL(path, acl<count>, version)
    let mut set_acl = header(2, OpCode::SetAcl);
    path(&mut set_acl);
    set_acl.extend_from_slice(&be(HUGE));
    set_acl.extend_from_slice(&[0; 64]);
    // create(path, data, acl<count>, flags)
    let mut create = header(3, OpCode::Create);
    path(&mut create);
    create.extend_from_slice(&be(0));
    create.extend_from_slice(&be(HUGE));
    create.extend_from_slice(&[0; 64]);
    // setWatches(relativeZxid, dataWatches<count>, …)
    let mut set_watches = header(-8, OpCode::SetWatches);
    set_watches.extend_from_slice(&0i64.to_be_bytes());
    set_watches.extend_from_slice(&be(HUGE));
    set_watches.extend_from_slice(&[0; 64]);
    // multi: a create op whose ACL count is huge.
    let mut multi = header(4, OpCode::Multi);
    multi.extend_from_slice(&be(1)); // op type create
    multi.push(0); // done = false
    multi.extend_from_slice(&be(-1)); // err
    path(&mut multi);
    multi.extend_from_slice(&be(0));
    multi.extend_from_slice(&be(HUGE));
    multi.extend_from_slice(&[0; 64]);
    for (what, p) in [
        ("setACL", &set_acl),
        ("create", &create),
        ("setWatches", &set_watches),
        ("multi", &multi),
    ] {
        let e = bounded(what, || decode_request(p)).unwrap_err();
        assert!(is_truncated_or_invalid(&e), "{what}: {e:?}");
    }

    // Replies with vectors: getChildren, getChildren2, getACL, getEphemerals, whoAmI.
    for op in [
        OpCode::GetChildren,
        OpCode::GetChildren2,
        OpCode::GetAcl,
        OpCode::GetEphemerals,
        OpCode::WhoAmI,
    ] {
        let mut r = reply_header(9);
        r.extend_from_slice(&be(HUGE));
        r.extend_from_slice(&[0; 128]);
        let e = bounded(&format!("{op:?} reply"), || decode_reply(&r, Some(op))).unwrap_err();
        assert!(is_truncated_or_invalid(&e), "{op:?}: {e:?}");
    }
}

#[test]
fn vector_work_is_bounded_by_the_input() {
    // A count that fits the input byte-wise but not element-wise: the loop stops at the end
    // of the input (one pass, no allocation), then reports it incomplete.
    let n = 1 << 20;
    let mut b = be(n as i32).to_vec();
    b.resize(4 + n, 0);
    let r = bounded("vector<int> count = len", || parse_vector::<i32>(&b));
    assert!(matches!(r, Err(nom::Err::Incomplete(_))));

    // A count far above the input fails before looking at any element.
    let mut b = be(HUGE).to_vec();
    b.resize(4 + n, 0);
    let r = bounded("vector<int> count 2^31-1", || parse_vector::<i32>(&b));
    assert!(r.is_err());

    // A valid vector iterates exactly `count` times, which is at most the input length.
    let items: Vec<UString<'_>> = (0..1000).map(|_| Some(JuteStr::from("x"))).collect();
    let mut b = Vec::new();
    zk_proto::jute::write_vector(&mut b, Some(&items[..]));
    let (_, v) = parse_vector::<UString<'_>>(&b).unwrap();
    assert_eq!(v.len(), 1000);
    assert_eq!(v.iter().count(), 1000);
    assert!(v.len() <= b.len());
}

#[test]
fn frame_lengths_are_checked_not_awaited() {
    assert_eq!(
        frame_len(&[0x7f, 0xff, 0xff, 0xff, 0, 0], 1 << 20),
        Boundary::Invalid
    );
    assert_eq!(frame_len(&[0x80, 0, 0, 0], u32::MAX), Boundary::Invalid);
    // Within the ceiling a long frame is only a number of bytes still to come.
    assert_eq!(
        frame_len(&[0x03, 0xff, 0xff, 0xfc], 64 << 20),
        Boundary::Incomplete(4 + 0x03ff_fffc)
    );
}

#[test]
fn connect_request_with_huge_password_length() {
    let mut p = vec![0u8; 24]; // protocolVersion, lastZxidSeen, timeOut, sessionId
    p.extend_from_slice(&be(HUGE));
    p.extend_from_slice(&[0; 16]);
    let r = bounded("connect", || decode_connect_request(&p));
    assert!(matches!(r, Err(DecodeError::Truncated { .. })), "{r:?}");
}

#[test]
fn tracker_outstanding_requests_are_bounded() {
    let mut t = ConnectionTracker::<()>::new(false).with_max_outstanding(1000);
    let mut p = header(0, OpCode::Exists);
    p.extend_from_slice(&be(2));
    p.extend_from_slice(b"/a");
    p.push(0);
    bounded("100k unanswered requests", || {
        for xid in 0..100_000i32 {
            p[..4].copy_from_slice(&xid.to_be_bytes());
            let _ = t.on_client_frame(&p, zk_proto::Timestamp(xid as i64), |_| ());
            assert!(t.outstanding() <= 1000);
        }
    });
    assert_eq!(t.stats().evicted_requests, 99_000);
}
