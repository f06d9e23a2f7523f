//! JSON shapes produced by the `serde` feature, checked on real vectors.
#![cfg(feature = "serde")]

use serde_json::{json, Value};
use zk_proto::{decode_connect_request, decode_reply, decode_request};

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/client.json"
));

fn vector(id: &str) -> (Vec<u8>, Option<i32>) {
    let all: Vec<Value> = serde_json::from_str(VECTORS).expect("json");
    let v = all.iter().find(|v| v["id"] == id).expect("vector id");
    let h = v["hex"].as_str().expect("hex");
    let b = (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
        .collect();
    (
        b,
        v.get("requestOpcode")
            .and_then(Value::as_i64)
            .map(|o| o as i32),
    )
}

fn req(id: &str) -> Value {
    let (b, _) = vector(id);
    serde_json::to_value(decode_request(&b[4..]).expect("request")).expect("ser")
}

fn rep(id: &str) -> Value {
    let (b, op) = vector(id);
    serde_json::to_value(decode_reply(&b[4..], op.map(zk_proto::OpCode::from_i32)).expect("reply"))
        .expect("ser")
}

#[test]
fn request_shapes() {
    assert_eq!(
        req("c10-create-request"),
        json!({"xid": 3, "op": "create", "path": "/p", "data_len": 5,
               "acl": [{"perms": 31, "scheme": "world", "id": "anyone"}], "mode": "PERSISTENT"})
    );
    assert_eq!(req("c39-ping-request"), json!({"xid": -2, "op": "ping"}));
    let multi = req("c25-multi-request");
    assert_eq!(
        multi["ops"][1],
        json!({"op": "setData", "path": "/m", "data_len": 2, "version": 0})
    );
    assert_eq!(multi["ops"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        req("c37-setWatches2-request")["relative_zxid"],
        json!("0x10000000c")
    );
}

#[test]
fn credentials_are_redacted() {
    let auth = req("c08-auth-request");
    assert_eq!(
        auth,
        json!({"xid": -4, "op": "auth", "auth_type": 0, "scheme": "digest", "auth_len": 9})
    );
    let text = auth.to_string();
    assert!(!text.contains("pass") && !text.contains("757365723a70617373"));
    assert_eq!(rep("c07-sasl-reply")["token_len"], json!(101));
    let (b, _) = vector("c02-connect-response");
    let c =
        serde_json::to_value(zk_proto::decode_connect_response(&b[4..]).expect("c")).expect("s");
    assert_eq!(
        c,
        json!({"protocol_version": 0, "time_out": 6000, "session_id": "0x1000009f6bb0000", "passwd_len": 16, "read_only": false})
    );
    let (b, _) = vector("c04-connect-request-no-readonly");
    let c = serde_json::to_value(decode_connect_request(&b[4..]).expect("c")).expect("s");
    assert_eq!(c["read_only"], Value::Null);
}

#[test]
fn reply_shapes() {
    let r = rep("c13-create2-reply");
    assert_eq!(r["op"], json!("create2"));
    assert_eq!(r["zxid"], json!("0x100000003"));
    assert_eq!(r["stat"]["ephemeral_owner"], json!("0x1000009f6bb0000"));
    assert_eq!(
        rep("c21-notification-pre39"),
        json!({"xid": -1, "zxid": "0xffffffffffffffff", "err": 0, "op": "notification",
               "event": {"type": "NodeDataChanged", "state": "SyncConnected", "path": "/p"}})
    );
    assert_eq!(rep("s-c04-sasl-failure")["ignored_len"], json!(4));
    assert_eq!(rep("c19-exists-reply-nonode")["ignored_len"], json!(0));
    let m = rep("c27-multi-reply-failed");
    assert_eq!(m["results"][1], json!({"op": "error", "err": -103}));
    let m = rep("c26-multi-reply-ok");
    assert_eq!(m["results"][0], json!({"op": "create", "path": "/m"}));
    assert_eq!(m["results"][1]["stat"]["version"], json!(1));
    assert_eq!(m["results"][2], json!({"op": "check"}));
    assert_eq!(
        rep("c40-ping-reply"),
        json!({"xid": -2, "zxid": "0x10000000c", "err": 0, "op": "ping"})
    );
    let (b, _) = vector("c11-create-reply");
    let untyped = serde_json::to_value(decode_reply(&b[4..], None).expect("r")).expect("s");
    assert_eq!(untyped["body_len"], json!(6));
    assert_eq!(untyped["op"], Value::Null);
}
