//! JSON shapes produced by the `serde` feature, checked on real vectors.
#![cfg(feature = "serde")]

use serde_json::{json, Value};
use zab_proto::{
    decode_packet, parse_quorum_auth_packet, parse_quorum_packet, parse_snapshot_stream,
};

const VECTORS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/zab.json"));

fn vector(id: &str) -> Vec<u8> {
    let all: Vec<Value> = serde_json::from_str(VECTORS).expect("json");
    let v = all.iter().find(|v| v["id"] == id).expect("vector id");
    let h = v["hex"].as_str().expect("hex");
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
        .collect()
}

fn packet(id: &str) -> Value {
    let b = vector(id);
    let (_, qp) = parse_quorum_packet(&b).expect("record");
    serde_json::to_value(decode_packet(&qp, None).expect("packet")).expect("ser")
}

#[test]
fn packet_shapes() {
    assert_eq!(
        packet("z22-commit"),
        json!({"type": "COMMIT", "type_code": 4, "zxid": 4294967297_i64, "zxid_hex": "0x100000001"})
    );
    assert_eq!(
        packet("z01-followerinfo")["learner_info"],
        json!({"server_id": 1, "protocol_version": 65536, "config_version": "0x0"})
    );
    assert_eq!(
        packet("z13-ping-learner-sessions")["sessions"],
        json!([{"session": "0x3001df405ba0000", "timeout": 10000}])
    );
    let req = packet("z15-request-create");
    assert_eq!(req["op"], "create");
    assert_eq!(req["session"], "0x1000009f6bb0000");
    assert_eq!(req["request"]["data_len"], 5);
    assert_eq!(req["authinfo"][0], json!({"scheme": "sasl", "id": "bob"}));
    assert_eq!(
        packet("z14-request-createsession")["request"],
        json!({"time_out": 6000})
    );
}

#[test]
fn txn_shapes() {
    assert_eq!(
        packet("z17-proposal-create")["txn"],
        json!({"type": "create", "type_code": 1, "session": "0x1000009f6bb0000", "cxid": 3,
               "zxid": 4294967298_i64, "zxid_hex": "0x100000002", "time": 1795311239863_i64,
               "path": "/p", "data_len": 5,
               "acl": [{"perms": 31, "scheme": "world", "id": "anyone"}],
               "ephemeral": false, "parent_cversion": 1,
               "digest": {"version": 2, "tree_digest": "0x1b9237bd9"}})
    );
    let multi = packet("z19-proposal-multi-failed");
    assert_eq!(multi["txn"]["type"], "multi");
    assert_eq!(
        multi["txn"]["txns"][1],
        json!({"type": "error", "type_code": -1, "err": -103})
    );
    assert_eq!(packet("z18-proposal-error")["txn"]["digest"], Value::Null);
    let close = packet("s-z05-closesession-digest-only");
    assert_eq!(close["txn"]["type"], "closeSession");
    assert!(close["txn"].get("paths2_delete").is_none());
    assert_eq!(
        packet("z20-proposal-closesession")["txn"]["paths2_delete"],
        json!(["/p/e"])
    );
    let iaa = packet("z29-informandactivate");
    assert_eq!(iaa["designated_leader"], 2);
    assert_eq!(iaa["txn"]["type"], "reconfig");
    assert_eq!(iaa["txn"]["data_len"], 242);
}

#[test]
fn auth_and_snapshot_shapes() {
    let b = vector("s-z02-quorum-auth");
    let (_, a) = parse_quorum_auth_packet(&b).expect("auth");
    assert_eq!(
        serde_json::to_value(a).expect("ser"),
        json!({"magic": "0x5f2435013501edcc", "status": 0, "status_name": "IN_PROGRESS", "token_len": 0})
    );
    let b = vector("s-z06-snapshot-small");
    let (_, s) = parse_snapshot_stream(&b).expect("snapshot");
    let v = serde_json::to_value(s).expect("ser");
    assert_eq!(
        v["sessions"],
        json!([{"session": "0x300000123450000", "timeout": 30000}])
    );
    assert_eq!(v["nodes"][1]["path"], "/e");
    assert_eq!(v["nodes"][1]["data_len"], 1);
    assert_eq!(
        v["nodes"][1]["stat"]["ephemeral_owner"],
        "0x300000123450000"
    );
    assert_eq!(v["signature"], "BenWasHere");
}
