//! Undecodable input is a reported error — never a panic and never a guess.

use zab_proto::txn::decode_txn_entry;
use zab_proto::{
    decode_packet, DecodeError, Encode, PacketType, QuorumDirection, QuorumPacket, Zxid,
};
use zk_proto::jute::JuteVec;

fn qp(t: i32, data: Option<&[u8]>) -> QuorumPacket<'_> {
    QuorumPacket {
        packet_type: t,
        zxid: Zxid(0x1_0000_0001),
        data,
        authinfo: JuteVec::null(),
    }
}

fn header(txn_type: i32) -> Vec<u8> {
    zab_proto::txn::TxnHeader {
        client_id: 1,
        cxid: 2,
        zxid: 3,
        time: 4,
        txn_type,
    }
    .to_bytes()
}

#[test]
fn unknown_types() {
    assert_eq!(
        decode_packet(&qp(0, None), None),
        Err(DecodeError::UnknownPacketType(0))
    );
    assert_eq!(
        decode_packet(&qp(20, None), None),
        Err(DecodeError::UnknownPacketType(20))
    );
    let mut d = header(99);
    assert_eq!(decode_txn_entry(&d), Err(DecodeError::UnknownTxnType(99)));
    d = header(3); // opcode 3 (exists) is not a txn type
    assert_eq!(decode_txn_entry(&d), Err(DecodeError::UnknownTxnType(3)));
    // REQUEST with an unknown opcode.
    let mut r = Vec::new();
    7i64.encode(&mut r);
    1i32.encode(&mut r);
    10i32.encode(&mut r);
    assert_eq!(
        decode_packet(&qp(1, Some(&r)), None),
        Err(DecodeError::UnknownOpcode(10))
    );
}

#[test]
fn wrong_lengths() {
    let four = [0u8, 1, 0, 0];
    assert!(matches!(
        decode_packet(&qp(4, Some(&four)), None),
        Err(DecodeError::UnexpectedDataLength {
            packet: "COMMIT",
            len: Some(4)
        })
    ));
    assert!(matches!(
        decode_packet(&qp(17, None), None),
        Err(DecodeError::UnexpectedDataLength {
            packet: "LEADERINFO",
            len: None
        })
    ));
    assert!(matches!(
        decode_packet(&qp(17, Some(&[0, 1, 0, 0, 0])), None),
        Err(DecodeError::UnexpectedDataLength { .. })
    ));
    assert!(matches!(
        decode_packet(&qp(6, Some(&[0; 10])), None),
        Err(DecodeError::UnexpectedDataLength { .. })
    ));
    assert!(decode_packet(&qp(11, Some(&[0; 16])), None).is_err());
    assert!(decode_packet(&qp(5, Some(&[0; 13])), None).is_err());
    assert!(decode_packet(&qp(2, None), None).is_err());
    assert!(decode_packet(&qp(19, Some(&[0; 7])), None).is_err());
}

#[test]
fn trailing_and_truncated_txns() {
    let mut d = header(-1);
    (-110i32).encode(&mut d);
    assert!(decode_txn_entry(&d).is_ok());
    d.push(0);
    assert_eq!(
        decode_txn_entry(&d),
        Err(DecodeError::TrailingBytes { count: 1 })
    );
    let mut c = header(1);
    c.extend_from_slice(&[0, 0, 0, 9, b'/']);
    assert!(matches!(
        decode_txn_entry(&c),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        decode_txn_entry(&c[..20]),
        Err(DecodeError::Truncated { .. })
    ));
    // A multi whose sub-record does not decode is rejected, not skipped.
    let mut m = header(14);
    1i32.encode(&mut m); // one op
    2i32.encode(&mut m); // delete
    Some(&[0u8, 0, 0, 5][..]).encode(&mut m); // path length 5, no bytes
    assert!(matches!(
        decode_txn_entry(&m),
        Err(DecodeError::Invalid { .. })
    ));
}

#[test]
fn direction_mismatch() {
    let leader_ping = qp(5, None);
    assert!(decode_packet(&leader_ping, Some(QuorumDirection::LeaderToLearner)).is_ok());
    assert_eq!(
        decode_packet(&leader_ping, Some(QuorumDirection::LearnerToLeader)),
        Err(DecodeError::DirectionMismatch {
            packet: PacketType::Ping.name(),
            direction: QuorumDirection::LearnerToLeader.as_str()
        })
    );
    assert!(matches!(
        decode_packet(&qp(4, None), Some(QuorumDirection::LearnerToLeader)),
        Err(DecodeError::DirectionMismatch { .. })
    ));
    let reply = [0u8, 0, 0, 0, 0, 0, 0, 1, 1];
    assert!(matches!(
        decode_packet(&qp(6, Some(&reply)), Some(QuorumDirection::LearnerToLeader)),
        Err(DecodeError::DirectionMismatch { .. })
    ));
}

#[test]
fn error_messages_render() {
    let e = DecodeError::UnexpectedDataLength {
        packet: PacketType::Ack.name(),
        len: Some(3),
    };
    assert_eq!(
        e.to_string(),
        "ACK data of 3 bytes is not a layout this type has"
    );
}
