//! Decodes every client-port test vector (`tests/data/client.json`) and compares each
//! expected field; also checks framing and that re-encoding reproduces the exact bytes.

use serde_json::{json, Map, Value};
use zk_proto::jute::{Buffer, JuteVec, UString};
use zk_proto::multi::{MultiOp, MultiResult};
use zk_proto::records::{Acl, ClientInfo, Stat};
use zk_proto::{
    decode_connect_request, decode_connect_response, decode_reply, decode_request,
    four_letter_word, frame_len, Boundary, Encode, OpCode, ReplyBody, RequestBody,
};

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/client.json"
));

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

fn buf(b: Buffer<'_>) -> Value {
    b.map_or(Value::Null, |b| json!(hex(b)))
}

fn ustr(s: UString<'_>) -> Value {
    s.map_or(Value::Null, |s| json!(s.to_string_lossy()))
}

fn strs(v: &JuteVec<'_, UString<'_>>) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    Value::Array(v.iter().map(ustr).collect())
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

fn infos(v: &JuteVec<'_, ClientInfo<'_>>) -> Value {
    Value::Array(
        v.iter()
            .map(|c| json!({"authScheme": ustr(c.auth_scheme), "user": ustr(c.user)}))
            .collect(),
    )
}

fn stat(s: &Stat) -> Value {
    json!({
        "czxid": h64(s.czxid), "mzxid": h64(s.mzxid), "ctime": s.ctime, "mtime": s.mtime,
        "version": s.version, "cversion": s.cversion, "aversion": s.aversion,
        "ephemeralOwner": h64(s.ephemeral_owner), "dataLength": s.data_length,
        "numChildren": s.num_children, "pzxid": h64(s.pzxid),
    })
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn multi_op(op: &MultiOp<'_>) -> Value {
    match op {
        MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => {
            json!({"path": ustr(r.path), "data": buf(r.data), "acl": acls(&r.acl), "flags": r.flags})
        }
        MultiOp::CreateTtl(r) => {
            json!({"path": ustr(r.path), "data": buf(r.data), "acl": acls(&r.acl), "flags": r.flags, "ttl": r.ttl})
        }
        MultiOp::Delete(r) => json!({"path": ustr(r.path), "version": r.version}),
        MultiOp::SetData(r) => {
            json!({"path": ustr(r.path), "data": buf(r.data), "version": r.version})
        }
        MultiOp::Check(r) => json!({"path": ustr(r.path), "version": r.version}),
        MultiOp::GetData(r) | MultiOp::GetChildren(r) => {
            json!({"path": ustr(r.path), "watch": r.watch})
        }
        other => panic!("unexpected op {other:?}"),
    }
}

fn multi_result(r: &MultiResult<'_>) -> Value {
    match r {
        MultiResult::Create(c) => json!({"path": ustr(c.path)}),
        MultiResult::Create2(c) => json!({"path": ustr(c.path), "stat": stat(&c.stat)}),
        MultiResult::Delete | MultiResult::Check => json!({}),
        MultiResult::SetData(s) => json!({"stat": stat(s)}),
        MultiResult::GetData(g) => json!({"data": buf(g.data), "stat": stat(&g.stat)}),
        MultiResult::GetChildren(g) => json!({"children": strs(&g.children)}),
        MultiResult::Error(e) => json!({"err": e.err}),
        other => panic!("unexpected result {other:?}"),
    }
}

fn request_body(b: &RequestBody<'_>) -> Value {
    use RequestBody as B;
    match b {
        B::Create(r) | B::Create2(r) | B::CreateContainer(r) => {
            json!({"path": ustr(r.path), "data": buf(r.data), "acl": acls(&r.acl), "flags": r.flags})
        }
        B::CreateTtl(r) => {
            json!({"path": ustr(r.path), "data": buf(r.data), "acl": acls(&r.acl), "flags": r.flags, "ttl": r.ttl})
        }
        B::Delete(r) => json!({"path": ustr(r.path), "version": r.version}),
        B::Exists(r) | B::GetData(r) | B::GetChildren(r) | B::GetChildren2(r) => {
            json!({"path": ustr(r.path), "watch": r.watch})
        }
        B::SetData(r) => json!({"path": ustr(r.path), "data": buf(r.data), "version": r.version}),
        B::GetAcl(r) | B::Sync(r) | B::DeleteContainer(r) | B::GetAllChildrenNumber(r) => {
            json!({"path": ustr(r.path)})
        }
        B::GetEphemerals(r) => json!({"prefixPath": ustr(r.path)}),
        B::SetAcl(r) => json!({"path": ustr(r.path), "acl": acls(&r.acl), "version": r.version}),
        B::Check(r) => json!({"path": ustr(r.path), "version": r.version}),
        B::Multi(m) | B::MultiRead(m) => {
            let ops: Vec<Value> = m
                .iter()
                .map(|o| {
                    let mut v = obj(json!({"type": o.header.op_type, "hdrErr": o.header.err}));
                    v.extend(obj(multi_op(&o.op)));
                    Value::Object(v)
                })
                .collect();
            json!({"ops": ops, "end": [m.end().op_type, m.end().err]})
        }
        B::Reconfig(r) => json!({
            "joiningServers": ustr(r.joining_servers), "leavingServers": ustr(r.leaving_servers),
            "newMembers": ustr(r.new_members), "curConfigId": r.cur_config_id,
        }),
        B::CheckWatches(r) | B::RemoveWatches(r) => {
            json!({"path": ustr(r.path), "type": r.watcher_type})
        }
        B::AddWatch(r) => json!({"path": ustr(r.path), "mode": r.mode}),
        B::Auth(a) => json!({"type": a.auth_type, "scheme": ustr(a.scheme), "auth": buf(a.auth)}),
        B::Sasl(s) => json!({"token": buf(s.token)}),
        B::SetWatches(s) => json!({
            "relativeZxid": h64(s.relative_zxid), "dataWatches": strs(&s.data_watches),
            "existWatches": strs(&s.exist_watches), "childWatches": strs(&s.child_watches),
        }),
        B::SetWatches2(s) => json!({
            "relativeZxid": h64(s.relative_zxid), "dataWatches": strs(&s.data_watches),
            "existWatches": strs(&s.exist_watches), "childWatches": strs(&s.child_watches),
            "persistentWatches": strs(&s.persistent_watches),
            "persistentRecursiveWatches": strs(&s.persistent_recursive_watches),
        }),
        B::Ping | B::WhoAmI | B::CloseSession => json!({}),
        other => panic!("unexpected body {other:?}"),
    }
}

fn reply_body(b: &ReplyBody<'_>) -> Value {
    use ReplyBody as B;
    match b {
        B::Empty => json!({}),
        B::Create(c) => json!({"path": ustr(c.path)}),
        B::Create2(c) => json!({"path": ustr(c.path), "stat": stat(&c.stat)}),
        B::Exists(s) | B::SetData(s) | B::SetAcl(s) | B::Check(s) => json!({"stat": stat(s)}),
        B::GetData(g) | B::Reconfig(g) => json!({"data": buf(g.data), "stat": stat(&g.stat)}),
        B::GetAcl(g) => json!({"acl": acls(&g.acl), "stat": stat(&g.stat)}),
        B::GetChildren(g) => json!({"children": strs(&g.children)}),
        B::GetChildren2(g) => json!({"children": strs(&g.children), "stat": stat(&g.stat)}),
        B::Sync(p) => json!({"path": ustr(p.path)}),
        B::Multi(m) | B::MultiRead(m) => {
            let results: Vec<Value> = m
                .iter()
                .map(|e| {
                    let mut v = obj(json!({"type": e.header.op_type, "hdrErr": e.header.err}));
                    v.extend(obj(multi_result(&e.result)));
                    Value::Object(v)
                })
                .collect();
            json!({"results": results, "end": [m.end().op_type, m.end().err]})
        }
        B::Sasl(s) => json!({"token": buf(s.token)}),
        B::GetEphemerals(g) => json!({"ephemerals": strs(&g.ephemerals)}),
        B::GetAllChildrenNumber(g) => json!({"totalNumber": g.total_number}),
        B::AddWatch(e) => json!({"err": e.err}),
        B::WhoAmI(w) => json!({"clientInfo": infos(&w.client_info)}),
        other => panic!("unexpected reply body {other:?}"),
    }
}

fn read_only(v: Option<bool>) -> Value {
    v.map_or(json!("absent"), |b| json!(b))
}

/// Decodes one vector into the vector file's field naming; also checks the re-encoding.
fn decode(kind: &str, bytes: &[u8], request_opcode: Option<i32>) -> Value {
    if kind == "client.4lw" {
        let w = four_letter_word(bytes).expect("four-letter word");
        return json!({"command": w.as_str()});
    }
    assert_eq!(
        frame_len(bytes, 1 << 20),
        Boundary::Complete(bytes.len()),
        "length prefix"
    );
    let payload = &bytes[4..];
    match kind {
        "client.connect_request" => {
            let c = decode_connect_request(payload).expect("connect request");
            assert_eq!(c.to_bytes(), payload);
            json!({
                "protocolVersion": c.protocol_version, "lastZxidSeen": h64(c.last_zxid_seen),
                "timeOut": c.time_out, "sessionId": h64(c.session_id), "passwd": buf(c.passwd),
                "readOnly": read_only(c.read_only),
            })
        }
        "client.connect_response" => {
            let c = decode_connect_response(payload).expect("connect response");
            assert_eq!(c.to_bytes(), payload);
            json!({
                "protocolVersion": c.protocol_version, "timeOut": c.time_out,
                "sessionId": h64(c.session_id), "passwd": buf(c.passwd),
                "readOnly": read_only(c.read_only),
            })
        }
        "client.request" => {
            let r = decode_request(payload).expect("request");
            assert_eq!(r.to_bytes(), payload);
            let op = r.opcode;
            assert!(op.is_known());
            json!({"xid": r.xid, "type": op.as_i32(), "op": op.name(), "body": request_body(&r.body)})
        }
        "client.reply" => {
            let r = decode_reply(payload, request_opcode.map(OpCode::from_i32)).expect("reply");
            assert_eq!(r.to_bytes(), payload);
            let mut v =
                obj(json!({"xid": r.header.xid, "zxid": h64(r.header.zxid), "err": r.header.err}));
            match r.body {
                ReplyBody::Notification(ev) => {
                    v.insert(
                        "event".into(),
                        json!({"type": ev.event_type, "state": ev.state, "path": ustr(ev.path)}),
                    );
                }
                ReplyBody::Failed { ignored } => {
                    v.insert("ignoredBody".into(), json!(hex(ignored)));
                }
                ref body => {
                    if let Some(op) = r.opcode {
                        v.insert("op".into(), json!(op.name()));
                    }
                    v.insert("body".into(), reply_body(body));
                }
            }
            Value::Object(v)
        }
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn all_client_vectors_decode() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).expect("json");
    assert_eq!(vectors.len(), 51);
    let mut checked_fields = 0;
    for v in &vectors {
        let id = v["id"].as_str().expect("id");
        let kind = v["kind"].as_str().expect("kind");
        let bytes = unhex(v["hex"].as_str().expect("hex"));
        let op = v
            .get("requestOpcode")
            .and_then(Value::as_i64)
            .map(|o| o as i32);
        let got = decode(kind, &bytes, op);
        let expected = v["fields"].as_object().expect("fields");
        for (k, want) in expected {
            assert_eq!(got.get(k), Some(want), "{id}: field {k}\n got: {got}");
            checked_fields += 1;
        }
    }
    assert!(checked_fields > 200, "{checked_fields}");
}

/// Replays a plausible conversation made of real vectors through the tracker.
#[test]
fn tracker_pairs_vector_conversation() {
    use zk_proto::tracker::{ClientFrame, ServerFrame};
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).expect("json");
    let frame = |id: &str| -> Vec<u8> {
        let v = vectors.iter().find(|v| v["id"] == id).expect("id");
        unhex(v["hex"].as_str().expect("hex"))[4..].to_vec()
    };
    let mut t = zk_proto::ConnectionTracker::<&'static str>::new(true);
    let c01 = frame("c01-connect-request-new");
    assert!(matches!(
        t.on_client_frame(&c01, zk_proto::Timestamp(0), |_| "connect"),
        ClientFrame::Connect(_)
    ));
    let c02 = frame("c02-connect-response");
    assert!(matches!(
        t.on_server_frame(&c02, zk_proto::Timestamp(1)),
        ServerFrame::Connect(_)
    ));
    assert_eq!(t.session_id(), Some(0x0100_0009_f6bb_0000));
    let c10 = frame("c10-create-request");
    let c39 = frame("c39-ping-request");
    let c43 = frame("c43-closeSession-request");
    for (f, tag) in [(&c10, "create"), (&c39, "ping"), (&c43, "close")] {
        assert!(matches!(
            t.on_client_frame(f, zk_proto::Timestamp(2), |_| tag),
            ClientFrame::Request(_)
        ));
    }
    let expect = [
        ("c21-notification-pre39", None),
        ("c11-create-reply", Some("create")),
        ("c40-ping-reply", Some("ping")),
        ("c44-closeSession-reply", Some("close")),
    ];
    for (id, want) in expect {
        let f = frame(id);
        match t.on_server_frame(&f, zk_proto::Timestamp(3)) {
            ServerFrame::Reply { reply, matched } => {
                assert_eq!(matched.map(|m| m.data), want, "{id}");
                assert!(!matches!(reply.body, ReplyBody::Untyped(_)), "{id}");
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    let s = t.stats();
    assert_eq!(
        (s.unmatched_replies, s.lost_requests, s.notifications),
        (0, 0, 1)
    );
    assert_eq!(t.close().count(), 0);
}
