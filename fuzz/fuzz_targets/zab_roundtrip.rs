//! decode → encode → decode for quorum packets (by direction), transactions, the auth prelude
//! and snapshot streams.
//!
//! Input: byte 0 picks the direction hint (0 none, 1 leader→learner, 2 learner→leader, by
//! value mod 3); the rest is one record.
//!
//! What round-trips: a decoded `Packet` re-encodes to a QuorumPacket that decodes to an equal
//! `Packet` and re-encodes to itself. It is not byte-exact with the input: an empty `data`
//! buffer on a type without data comes back null, authinfo is kept only on REQUEST, booleans
//! are normalised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zab_proto::{
    decode_packet, decode_txn_entry, parse_quorum_auth_packet, parse_quorum_packet,
    parse_snapshot_stream, Encode, QuorumDirection,
};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let dir = match sel % 3 {
        0 => None,
        1 => Some(QuorumDirection::LeaderToLearner),
        _ => Some(QuorumDirection::LearnerToLeader),
    };
    if let Ok((_, qp)) = parse_quorum_packet(rest) {
        if let Ok(p) = decode_packet(&qp, dir) {
            let enc = p.to_bytes();
            let (tail, qp2) = parse_quorum_packet(&enc).expect("re-encoded packet parses");
            assert!(tail.is_empty());
            let p2 = decode_packet(&qp2, dir).expect("re-encoded packet decodes");
            assert_eq!(p, p2);
            assert_eq!(p2.to_bytes(), enc);
        }
    }
    if let Ok(t) = decode_txn_entry(rest) {
        let enc = t.to_bytes();
        assert_eq!(enc.len(), rest.len());
        let t2 = decode_txn_entry(&enc).expect("re-encoded txn decodes");
        assert_eq!(t, t2);
        assert_eq!(t2.to_bytes(), enc);
    }
    if let Ok((tail, a)) = parse_quorum_auth_packet(rest) {
        let enc = a.to_bytes();
        assert_eq!(&enc[..], &rest[..rest.len() - tail.len()]);
    }
    if let Ok((tail, s)) = parse_snapshot_stream(rest) {
        let enc = s.to_bytes();
        assert_eq!(&enc[..], &rest[..rest.len() - tail.len()]);
        let (t2, s2) = parse_snapshot_stream(&enc).expect("re-encoded snapshot parses");
        assert!(t2.is_empty());
        assert_eq!(s, s2);
    }
});
