//! Decodes every quorum-port test vector (`tests/data/zab.json`) and compares the
//! result, rendered in the vector file's own field naming, with the expected `fields`. Also
//! checks record boundaries on every prefix and that re-encoding reproduces the exact bytes.

use serde_json::{json, Map, Value};
use zab_proto::data::ForwardedBody;
use zab_proto::snapshot::{parse_snapshot_stream, Scan, SnapshotScanner};
use zab_proto::txn::{TxnEntry, TxnRecord};
use zab_proto::{
    decode_packet, packet_boundary, parse_quorum_auth_packet, parse_quorum_packet,
    plausible_packet_start, quorum_auth_boundary, snapshot_stream_boundary,
    starts_with_quorum_auth, Boundary, Encode, LearnerInfo, Packet, Plausibility, QuorumDirection,
    QUORUM_AUTH_MAGIC,
};
use zk_proto::jute::{Buffer, JuteVec, UString};
use zk_proto::records::{Acl, Id};
use zk_proto::RequestBody;

const VECTORS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/zab.json"));

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn h64(v: i64) -> Value {
    json!(format!("0x{:x}", v as u64))
}

fn h32(v: i32) -> Value {
    json!(format!("0x{:x}", v as u32))
}

fn buf(b: Buffer<'_>) -> Value {
    b.map_or(Value::Null, |b| json!(hex(b)))
}

fn ustr(s: UString<'_>) -> Value {
    s.map_or(Value::Null, |s| json!(s.to_string_lossy()))
}

fn acls(v: &JuteVec<'_, Acl<'_>>) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    Value::Array(
        v.iter()
            .map(|a| json!({"perms": a.perms, "id": {"scheme": ustr(a.id.scheme), "id": ustr(a.id.id)}}))
            .collect(),
    )
}

fn ids(v: &JuteVec<'_, Id<'_>>) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    Value::Array(
        v.iter()
            .map(|i| json!({"scheme": ustr(i.scheme), "id": ustr(i.id)}))
            .collect(),
    )
}

fn learner_info(i: &Option<LearnerInfo>) -> Value {
    let Some(i) = i else { return Value::Null };
    let mut m = Map::new();
    m.insert("serverid".into(), json!(i.server_id));
    if let Some(p) = i.protocol_version {
        m.insert("protocolVersion".into(), h32(p));
    }
    if let Some(c) = i.config_version {
        m.insert("configVersion".into(), h64(c));
    }
    Value::Object(m)
}

fn record(r: &TxnRecord<'_>) -> Value {
    use TxnRecord as R;
    match r {
        R::CreateSession(c) => json!({"timeOut": c.time_out}),
        R::CloseSession(None) => Value::Null,
        R::CloseSession(Some(c)) => {
            json!({"paths2Delete": c.paths2_delete.iter().map(ustr).collect::<Vec<_>>()})
        }
        R::Error(e) => json!({"err": e.err}),
        R::Create(c) | R::Create2(c) => {
            let mut v = json!({"path": ustr(c.path), "data": buf(c.data), "acl": acls(&c.acl),
                               "ephemeral": c.ephemeral});
            if let Some(p) = c.parent_cversion {
                v["parentCVersion"] = json!(p);
            }
            v
        }
        R::CreateContainer(c) => json!({"path": ustr(c.path), "data": buf(c.data),
            "acl": acls(&c.acl), "parentCVersion": c.parent_cversion}),
        R::CreateTtl(c) => json!({"path": ustr(c.path), "data": buf(c.data),
            "acl": acls(&c.acl), "parentCVersion": c.parent_cversion, "ttl": c.ttl}),
        R::Delete(d) | R::DeleteContainer(d) => json!({"path": ustr(d.path)}),
        R::SetData(s) | R::Reconfig(s) => {
            json!({"path": ustr(s.path), "data": buf(s.data), "version": s.version})
        }
        R::SetAcl(s) => json!({"path": ustr(s.path), "acl": acls(&s.acl), "version": s.version}),
        R::Check(c) => json!({"path": ustr(c.path), "version": c.version}),
        R::Multi(m) => {
            let txns: Vec<Value> = m
                .records()
                .map(|(t, r)| json!({"type": t, "txn": record(&r)}))
                .collect();
            assert_eq!(txns.len(), m.txns.len(), "every sub-txn decodes");
            json!({ "txns": txns })
        }
        other => panic!("unexpected record {other:?}"),
    }
}

fn txn_fields(t: &TxnEntry<'_>) -> Map<String, Value> {
    let h = &t.header;
    assert_eq!(h.txn_type, t.record.txn_type());
    let mut m = Map::new();
    m.insert(
        "hdr".into(),
        json!({"clientId": h64(h.client_id), "cxid": h.cxid, "zxid": h64(h.zxid),
               "time": h.time, "type": h.txn_type}),
    );
    m.insert("txn".into(), record(&t.record));
    m.insert(
        "digest".into(),
        t.digest.map_or(
            Value::Null,
            |d| json!({"version": d.version, "treeDigest": h64(d.tree_digest)}),
        ),
    );
    m
}

fn request_body(b: &ForwardedBody<'_>) -> Value {
    use RequestBody as B;
    match b {
        ForwardedBody::CreateSession(c) => json!({"timeOut": c.time_out}),
        ForwardedBody::Client(b) => match b {
            B::Create(r) | B::Create2(r) | B::CreateContainer(r) => {
                json!({"path": ustr(r.path), "data": buf(r.data), "acl": acls(&r.acl), "flags": r.flags})
            }
            B::Reconfig(r) => json!({"joiningServers": ustr(r.joining_servers),
                "leavingServers": ustr(r.leaving_servers), "newMembers": ustr(r.new_members),
                "curConfigId": r.cur_config_id}),
            B::Delete(r) => json!({"path": ustr(r.path), "version": r.version}),
            B::SetData(r) => {
                json!({"path": ustr(r.path), "data": buf(r.data), "version": r.version})
            }
            B::CloseSession => json!({}),
            other => panic!("body not covered by the vector renderer: {other:?}"),
        },
    }
}

fn packet_data(p: &Packet<'_>) -> Value {
    use Packet as P;
    match p {
        P::Ack { .. }
        | P::Commit { .. }
        | P::Sync { .. }
        | P::UpToDate { .. }
        | P::Diff { .. }
        | P::Trunc { .. }
        | P::Snap { .. } => Value::Null,
        P::FollowerInfo { info, .. } | P::ObserverInfo { info, .. } => learner_info(info),
        P::LeaderInfo {
            protocol_version, ..
        } => json!({"protocolVersion": h32(*protocol_version)}),
        P::AckEpoch { current_epoch, .. } => json!({"currentEpoch": current_epoch}),
        P::NewLeader { config, .. } => config.map_or(Value::Null, |c| {
            json!({"config": c.to_string_lossy()})
        }),
        P::Ping { sessions, .. } => sessions.map_or(Value::Null, |s| {
            json!({"sessions": s.iter().map(|e| json!([h64(e.session_id), e.timeout])).collect::<Vec<_>>()})
        }),
        P::Request { request: r, .. } => json!({"sessionId": h64(r.session_id), "cxid": r.cxid,
            "type": r.op.as_i32(), "body": request_body(&r.body)}),
        P::Proposal { txn, .. } | P::Inform { txn, .. } => Value::Object(txn_fields(txn)),
        P::RevalidateRequest {
            session_id,
            timeout,
            ..
        } => json!({"sessionId": h64(*session_id), "timeout": timeout}),
        P::RevalidateReply {
            session_id, valid, ..
        } => json!({"sessionId": h64(*session_id), "valid": valid}),
        P::CommitAndActivate {
            designated_leader, ..
        } => json!({"suggestedLeader": designated_leader}),
        P::InformAndActivate {
            designated_leader,
            txn,
            ..
        } => {
            let mut m = Map::new();
            m.insert("suggestedLeader".into(), json!(designated_leader));
            m.extend(txn_fields(txn));
            Value::Object(m)
        }
        other => panic!("unexpected packet {other:?}"),
    }
}

fn direction(v: &Value) -> Option<QuorumDirection> {
    match v["direction"].as_str() {
        Some("leader->learner") => Some(QuorumDirection::LeaderToLearner),
        Some("learner->leader") => Some(QuorumDirection::LearnerToLeader),
        _ => None,
    }
}

fn check_packet(id: &str, bytes: &[u8], dir: Option<QuorumDirection>, expected: &Value) {
    assert_eq!(
        packet_boundary(bytes),
        Boundary::Complete(bytes.len()),
        "{id}"
    );
    assert_eq!(plausible_packet_start(bytes), Plausibility::Yes, "{id}");
    for cut in 0..bytes.len() {
        match packet_boundary(&bytes[..cut]) {
            Boundary::Incomplete(n) => assert!(n > cut && n <= bytes.len(), "{id} cut {cut}"),
            other => panic!("{id} cut {cut}: {other:?}"),
        }
        assert!(
            matches!(
                parse_quorum_packet(&bytes[..cut]),
                Err(nom::Err::Incomplete(_))
            ),
            "{id} cut {cut}"
        );
    }
    let (rest, qp) = parse_quorum_packet(bytes).expect(id);
    assert!(rest.is_empty(), "{id}");
    let p = decode_packet(&qp, dir).unwrap_or_else(|e| panic!("{id}: {e}"));
    // The hint only validates: decoding without it must give the same packet.
    assert_eq!(decode_packet(&qp, None), Ok(p), "{id}");
    if let Some(d) = p.direction() {
        assert_eq!(Some(d), dir, "{id} direction");
    }
    let got = json!({
        "type": qp.packet_type,
        "name": p.packet_type().name(),
        "zxid": h64(p.zxid().get()),
        "authinfo": ids(&qp.authinfo),
        "data": packet_data(&p),
    });
    assert_eq!(&got, expected, "{id}");
    assert_eq!(qp.to_bytes(), bytes, "{id} raw re-encode");
    assert_eq!(p.to_bytes(), bytes, "{id} packet re-encode");
}

fn check_snapshot(id: &str, bytes: &[u8], expected: &Value) {
    assert_eq!(
        snapshot_stream_boundary(bytes),
        Boundary::Complete(bytes.len()),
        "{id}"
    );
    for cut in 0..bytes.len() {
        match snapshot_stream_boundary(&bytes[..cut]) {
            Boundary::Incomplete(n) => assert!(n > cut && n <= bytes.len(), "{id} cut {cut}"),
            other => panic!("{id} cut {cut}: {other:?}"),
        }
    }
    // Incremental scanning in 7-byte pieces, discarding consumed bytes.
    let mut sc = SnapshotScanner::new();
    let mut pending = Vec::new();
    let mut done_at = None;
    for (i, chunk) in bytes.chunks(7).enumerate() {
        pending.extend_from_slice(chunk);
        match sc.feed(&pending).expect(id) {
            Scan::Done { consumed } => {
                assert_eq!(consumed, pending.len());
                done_at = Some(i);
            }
            Scan::NeedMore { consumed, needed } => {
                assert!(needed >= 1);
                pending.drain(..consumed);
            }
        }
    }
    assert_eq!(done_at, Some(bytes.len().div_ceil(7) - 1), "{id}");
    assert_eq!(sc.consumed(), bytes.len() as u64);

    let (rest, s) = parse_snapshot_stream(bytes).expect(id);
    assert!(rest.is_empty());
    let got = json!({
        "sessions": s.sessions.iter().map(|e| json!([h64(e.session_id), e.timeout])).collect::<Vec<_>>(),
        "aclCache": s.acl_cache.iter().map(|e| json!({"key": e.key, "acls": acls(&e.acls)})).collect::<Vec<_>>(),
        "nodes": s.nodes.iter().map(|n| json!({
            "path": ustr(n.path), "data": buf(n.data), "acl": n.acl_key,
            "stat": {"czxid": h64(n.stat.czxid), "mzxid": h64(n.stat.mzxid),
                     "ctime": n.stat.ctime, "mtime": n.stat.mtime, "version": n.stat.version,
                     "cversion": n.stat.cversion, "aversion": n.stat.aversion,
                     "ephemeralOwner": h64(n.stat.ephemeral_owner), "pzxid": h64(n.stat.pzxid)},
        })).collect::<Vec<_>>(),
        "signature": s.signature.to_string_lossy(),
    });
    assert_eq!(&got, expected, "{id}");
    assert_eq!(s.to_bytes(), bytes, "{id} re-encode");
}

fn check_auth(id: &str, bytes: &[u8], expected: &Value) {
    assert_eq!(
        quorum_auth_boundary(bytes),
        Boundary::Complete(bytes.len()),
        "{id}"
    );
    assert_eq!(starts_with_quorum_auth(bytes), Plausibility::Yes, "{id}");
    // The prelude magic can never be mistaken for a packet start.
    assert_eq!(packet_boundary(bytes), Boundary::Invalid);
    let (rest, a) = parse_quorum_auth_packet(bytes).expect(id);
    assert!(rest.is_empty());
    // The magic is implied by a successful parse (which checks it); the wire bytes carry it.
    assert_eq!(bytes[..8], QUORUM_AUTH_MAGIC.to_be_bytes(), "{id}");
    let got = json!({"magic": h64(QUORUM_AUTH_MAGIC), "status": a.status, "token": buf(a.token)});
    assert_eq!(&got, expected, "{id}");
    assert_eq!(a.to_bytes(), bytes);
}

#[test]
fn every_vector_decodes_as_expected() {
    let all: Vec<Value> = serde_json::from_str(VECTORS).expect("json");
    let mut counts = std::collections::BTreeMap::new();
    for v in &all {
        let id = v["id"].as_str().expect("id");
        let kind = v["kind"].as_str().expect("kind");
        let bytes = unhex(v["hex"].as_str().expect("hex"));
        let expected = &v["fields"];
        match kind {
            "zab.packet" => check_packet(id, &bytes, direction(v), expected),
            "zab.snapshot_stream" => check_snapshot(id, &bytes, expected),
            "zab.quorum_auth" => check_auth(id, &bytes, expected),
            other => panic!("{id}: unknown kind {other}"),
        }
        *counts.entry(kind).or_insert(0) += 1;
    }
    assert_eq!(all.len(), 38);
    assert_eq!(counts.len(), 3, "{counts:?}");
}

#[test]
fn vectors_concatenated_frame_back_apart() {
    // All packet vectors of one direction back to back, as a framer would see them.
    let all: Vec<Value> = serde_json::from_str(VECTORS).expect("json");
    for dir in ["leader->learner", "learner->leader"] {
        let mut stream = Vec::new();
        let mut lens = Vec::new();
        for v in all
            .iter()
            .filter(|v| v["kind"] == "zab.packet" && v["direction"] == dir)
        {
            let b = unhex(v["hex"].as_str().unwrap_or_default());
            lens.push(b.len());
            stream.extend_from_slice(&b);
        }
        let mut pos = 0;
        for want in lens {
            assert_eq!(
                plausible_packet_start(&stream[pos..]),
                Plausibility::Yes,
                "{dir} @{pos}"
            );
            assert_eq!(packet_boundary(&stream[pos..]), Boundary::Complete(want));
            pos += want;
        }
        assert_eq!(pos, stream.len());
    }
}
