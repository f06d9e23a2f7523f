//! Quorum packets: `parse_quorum_packet` + `decode_packet` in both directions (and without a
//! hint), `packet_boundary`, `plausible_packet_start`, and the quorum-auth prelude, on
//! arbitrary bytes.
//!
//! Checks: no panic; `packet_boundary` agrees with the parser (a complete boundary parses to
//! exactly that length; a parsed packet of a known type with a sane authinfo count has that
//! boundary); `Incomplete(n)` always asks for more than the buffer holds; a plausible start
//! is a complete packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zab_proto::boundary::MAX_AUTHINFO;
use zab_proto::{
    decode_packet, packet_boundary, parse_quorum_auth_packet, parse_quorum_packet,
    plausible_packet_start, quorum_auth_boundary, Boundary, Plausibility, QuorumDirection,
};

fuzz_target!(|data: &[u8]| {
    let parsed = parse_quorum_packet(data);
    if let Ok((rest, qp)) = parsed {
        let n = data.len() - rest.len();
        for d in [
            None,
            Some(QuorumDirection::LeaderToLearner),
            Some(QuorumDirection::LearnerToLeader),
        ] {
            if let Ok(p) = decode_packet(&qp, d) {
                let _ = format!("{p:?}");
                assert_eq!(p.zxid(), qp.zxid);
            }
        }
        if qp.kind().is_some() && qp.authinfo.len() <= MAX_AUTHINFO as usize {
            assert_eq!(packet_boundary(data), Boundary::Complete(n));
        }
    }
    match packet_boundary(data) {
        Boundary::Complete(n) => {
            assert!(n <= data.len());
            let (rest, _) = parse_quorum_packet(&data[..n]).expect("boundary says complete");
            assert!(rest.is_empty());
        }
        Boundary::Incomplete(n) => {
            assert!(n > data.len(), "Incomplete({n}) with {} bytes", data.len())
        }
        Boundary::Invalid => {}
        Boundary::Discard(n) => panic!("packet_boundary never discards (Discard({n}))"),
    }
    if plausible_packet_start(data) == Plausibility::Yes {
        assert!(matches!(packet_boundary(data), Boundary::Complete(_)));
    }
    match quorum_auth_boundary(data) {
        Boundary::Complete(n) => {
            let (rest, _) = parse_quorum_auth_packet(&data[..n]).expect("auth boundary");
            assert!(rest.is_empty());
        }
        Boundary::Incomplete(n) => assert!(n > data.len()),
        Boundary::Invalid => {}
        Boundary::Discard(n) => panic!("quorum_auth_boundary never discards (Discard({n}))"),
    }
});
