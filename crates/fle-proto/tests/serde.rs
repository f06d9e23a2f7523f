//! JSON shapes of the `serde` feature (run with `--features serde`).
#![cfg(feature = "serde")]

use fle_proto::{
    decode_initial_message, decode_notification, ElectionMessage, Encode, InitialFormat,
    InitialMessage, JuteStr, Notification, QuorumAuthPacket, ServerState,
};
use serde_json::{json, to_value};

#[test]
fn initial_messages() {
    let v2 = InitialMessage {
        format: InitialFormat::V2,
        sid: 7,
        election_addr: JuteStr::from("10.0.0.7:3888|[fd00::7]:3888"),
    };
    let b = v2.to_bytes();
    let m = decode_initial_message(&b).unwrap();
    assert_eq!(
        to_value(m).unwrap(),
        json!({"format": "v2", "protocol_version": -65535, "sid": 7,
               "election_addr": ["10.0.0.7:3888", "[fd00::7]:3888"]})
    );
    let old = InitialMessage {
        format: InitialFormat::Old,
        sid: 3,
        election_addr: JuteStr(&[]),
    };
    assert_eq!(
        to_value(old).unwrap(),
        json!({"format": "old", "protocol_version": null, "sid": 3, "election_addr": []})
    );
}

#[test]
fn notifications() {
    let n = Notification {
        state: ServerState::Looking,
        leader: i64::MIN,
        zxid: i64::MIN,
        election_epoch: 1,
        peer_epoch: Some(i64::MIN),
        version: Some(2),
        config: Some(JuteStr::from("version=0")),
        opaque_tail: &[],
    };
    let b = n.to_bytes();
    let n = decode_notification(&b).unwrap();
    assert_eq!(
        to_value(n).unwrap(),
        json!({"format": "44+N", "size": 53, "state": "LOOKING", "leader": i64::MIN,
               "zxid": i64::MIN, "zxid_hex": "0x8000000000000000", "election_epoch": 1,
               "peer_epoch": i64::MIN, "version": 2, "config": "version=0",
               "sentinel_vote": true})
    );
    let old = Notification {
        state: ServerState::Following,
        leader: 3,
        zxid: 0x2_0000_0011,
        election_epoch: 5,
        peer_epoch: None,
        version: None,
        config: None,
        opaque_tail: &[],
    };
    assert_eq!(
        to_value(old).unwrap(),
        json!({"format": "28", "size": 28, "state": "FOLLOWING", "leader": 3,
               "zxid": 0x2_0000_0011_i64, "zxid_hex": "0x200000011", "election_epoch": 5,
               "peer_epoch": null, "version": null, "config": null, "sentinel_vote": false})
    );
    assert_eq!(
        to_value(ElectionMessage::Notification(old)).unwrap()["notification"]["state"],
        json!("FOLLOWING")
    );
}

#[test]
fn auth_token_is_not_emitted() {
    let p = QuorumAuthPacket {
        status: 1,
        token: Some(b"secret"),
    };
    assert_eq!(
        to_value(ElectionMessage::QuorumAuth(p)).unwrap(),
        json!({"quorum_auth": {"magic": "0x5f2435013501edcc", "status": 1, "status_name": "SUCCESS", "token_len": 6}})
    );
}
