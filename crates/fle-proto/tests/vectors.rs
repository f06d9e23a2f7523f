//! Decodes every election-port test vector (`tests/data/fle.json`), compares every
//! expected field, and checks that re-encoding reproduces the exact bytes and that the stream
//! helpers cut each vector at its full length.

use fle_proto::{
    decode_framed_notification, decode_initial_message, decode_notification,
    initial_message_boundary, notification_frame_len, plausible_notification_frame, Boundary,
    ElectionMessage, ElectionStream, Encode, InitialFormat, InitialMessage, Notification, Sender,
    Step, PACKET_MAX_SIZE,
};
use serde_json::{json, Map, Value};

const VECTORS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fle.json"));

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn h64(v: i64) -> Value {
    json!(format!("0x{:x}", v as u64))
}

/// The decoded initial message in the vector file's vocabulary.
fn initial_fields(m: &InitialMessage<'_>) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert(
        "format".into(),
        json!(match m.format {
            InitialFormat::Old => "old (sid only)",
            InitialFormat::V1 => "v1",
            InitialFormat::V2 => "v2",
        }),
    );
    f.insert("sid".into(), json!(m.sid));
    if let Some(v) = m.protocol_version() {
        f.insert("protocolVersion".into(), json!(v));
    }
    f.insert(
        "addresses".into(),
        Value::Array(m.addresses().map(|a| json!(a.to_string())).collect()),
    );
    f
}

fn notification_fields(n: &Notification<'_>) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("size".into(), json!(n.encoded_len()));
    f.insert("state".into(), json!(n.state.name()));
    f.insert("leader".into(), json!(n.leader));
    f.insert("zxid".into(), h64(n.zxid));
    f.insert("electionEpoch".into(), json!(n.election_epoch));
    if let Some(p) = n.peer_epoch {
        f.insert("peerEpoch".into(), json!(p));
    }
    if let Some(v) = n.version {
        f.insert("version".into(), json!(v));
    }
    if let Some(c) = n.config {
        f.insert("config".into(), json!(c.as_str().expect("utf-8 config")));
    }
    f
}

/// Every expected field must be produced with the same value, and every optional field we
/// produce must be expected (so a 28-byte vector cannot silently gain a peerEpoch).
fn compare(id: &str, expected: &Map<String, Value>, got: &Map<String, Value>) -> usize {
    for (k, v) in expected {
        assert_eq!(got.get(k), Some(v), "{id}: field {k}");
    }
    for k in got.keys() {
        // "addresses" is always produced; the old-format vector simply has none to list.
        if k == "addresses" && !expected.contains_key(k) {
            assert_eq!(got[k], json!([]), "{id}");
            continue;
        }
        assert!(expected.contains_key(k), "{id}: unexpected field {k}");
    }
    expected.len()
}

#[test]
fn all_vectors_decode() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).expect("json");
    assert_eq!(vectors.len(), 12);
    let (mut initial, mut notes, mut fields) = (0, 0, 0);
    for v in &vectors {
        let id = v["id"].as_str().unwrap();
        let bytes = unhex(v["hex"].as_str().unwrap());
        let expected = v["fields"].as_object().unwrap();
        let sender = match v["direction"].as_str().unwrap() {
            "initiator->acceptor" => Sender::Initiator,
            "acceptor->initiator" => Sender::Acceptor,
            d => panic!("{id}: direction {d}"),
        };
        match v["kind"].as_str().unwrap() {
            "fle.initial" => {
                initial += 1;
                assert_eq!(sender, Sender::Initiator, "{id}");
                let m = decode_initial_message(&bytes).unwrap_or_else(|e| panic!("{id}: {e}"));
                fields += compare(id, expected, &initial_fields(&m));
                assert_eq!(m.to_bytes(), bytes, "{id}: re-encode");
                assert_eq!(m.encoded_len(), bytes.len());
                assert_eq!(
                    initial_message_boundary(&bytes),
                    Boundary::Complete(bytes.len())
                );
                for cut in 0..bytes.len() {
                    assert!(
                        matches!(initial_message_boundary(&bytes[..cut]), Boundary::Incomplete(n) if n > cut && n <= bytes.len()),
                        "{id}: cut {cut}"
                    );
                }
                let mut s = ElectionStream::new(Sender::Initiator);
                assert_eq!(
                    s.next(&bytes),
                    Step::Message {
                        len: bytes.len(),
                        message: ElectionMessage::Initial(m)
                    }
                );
                assert_eq!(s.initiator_sid(), Some(m.sid));
            }
            "fle.notification" => {
                notes += 1;
                assert_eq!(
                    notification_frame_len(&bytes, PACKET_MAX_SIZE),
                    Boundary::Complete(bytes.len()),
                    "{id}"
                );
                let n = decode_notification(&bytes[4..]).unwrap_or_else(|e| panic!("{id}: {e}"));
                fields += compare(id, expected, &notification_fields(&n));
                assert_eq!(decode_framed_notification(&bytes), Ok((n, bytes.len())));
                assert_eq!(n.to_bytes(), &bytes[4..], "{id}: re-encode");
                let mut framed = Vec::new();
                n.encode_framed(&mut framed);
                assert_eq!(framed, bytes);
                assert_eq!(plausible_notification_frame(&bytes), Some(true), "{id}");
                // The sentinel flag follows the leader field exactly.
                assert_eq!(n.is_sentinel_vote(), n.leader == i64::MIN, "{id}");
                // A notification vector is cut from after the initial message, where either
                // direction is framed the way an acceptor's stream is from its first byte.
                let _ = sender;
                let mut s = ElectionStream::new(Sender::Acceptor);
                assert_eq!(
                    s.next(&bytes),
                    Step::Message {
                        len: bytes.len(),
                        message: ElectionMessage::Notification(n)
                    }
                );
                for mut d in [ElectionStream::mid_stream(), ElectionStream::unknown_role()] {
                    assert!(
                        matches!(d.next(&bytes), Step::Message { len, .. } if len == bytes.len()),
                        "{id}"
                    );
                }
            }
            k => panic!("{id}: unknown kind {k}"),
        }
    }
    assert_eq!((initial, notes), (5, 7));
    assert!(fields >= 60, "compared {fields} fields");
}

#[test]
fn observer_vector_is_a_sentinel_vote() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    let v = vectors
        .iter()
        .find(|v| v["id"] == "f04-notification-observer-minvote")
        .unwrap();
    let bytes = unhex(v["hex"].as_str().unwrap());
    let n = decode_notification(&bytes[4..]).unwrap();
    assert!(n.is_sentinel_vote());
    assert_eq!(n.proposed_leader(), None);
    assert_eq!(n.peer_epoch, Some(fle_proto::NO_VOTE));
}
