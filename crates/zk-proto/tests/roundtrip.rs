//! Property tests: decode(encode(x)) == x for every record and for whole requests/replies, and
//! arbitrary bytes never make a parser panic.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use zk_proto::jute::{parse_vector, write_vector, Encode, JuteStr, JuteVec, UString};
use zk_proto::multi::{
    parse_multi_operation_record, parse_multi_response, write_multi, MultiOp, MultiRequestOp,
    MultiResult, MultiResultEntry,
};
use zk_proto::records::*;
use zk_proto::tracker::{ConnectionTracker, ServerFrame};
use zk_proto::{
    decode_connect_request, decode_connect_response, decode_reply, decode_request,
    looks_like_connect_request, looks_like_connect_response, plausible_reply_frame,
    plausible_request_frame, OpCode,
};

type Bytes = Option<Vec<u8>>;

fn bytes() -> impl Strategy<Value = Bytes> {
    option::weighted(0.9, vec(any::<u8>(), 0..24))
}

fn us(b: &Bytes) -> UString<'_> {
    b.as_deref().map(JuteStr)
}

/// Encodes `x`, decodes it with `parse`, and checks the value and that all bytes were used.
macro_rules! roundtrip {
    ($x:expr, $parse:expr) => {{
        let x = $x;
        let enc = x.to_bytes();
        let (rest, back) = $parse(&enc).expect("decodes");
        prop_assert!(rest.is_empty());
        prop_assert_eq!(back, x);
        prop_assert_eq!(back.to_bytes(), enc);
    }};
}

fn stat() -> impl Strategy<Value = Stat> {
    (any::<[i64; 7]>(), any::<[i32; 4]>()).prop_map(|(l, i)| Stat {
        czxid: l[0],
        mzxid: l[1],
        ctime: l[2],
        mtime: l[3],
        version: i[0],
        cversion: i[1],
        aversion: i[2],
        ephemeral_owner: l[4],
        data_length: i[3],
        num_children: l[5] as i32,
        pzxid: l[6],
    })
}

type AclModel = (i32, Bytes, Bytes);

fn acl_model() -> impl Strategy<Value = Option<Vec<AclModel>>> {
    option::weighted(0.9, vec((any::<i32>(), bytes(), bytes()), 0..4))
}

fn acl_bytes(m: &Option<Vec<AclModel>>) -> Vec<u8> {
    let items: Option<Vec<Acl<'_>>> = m.as_ref().map(|v| {
        v.iter()
            .map(|(p, s, i)| Acl {
                perms: *p,
                id: Id {
                    scheme: us(s),
                    id: us(i),
                },
            })
            .collect()
    });
    let mut out = Vec::new();
    write_vector(&mut out, items.as_deref());
    out
}

fn str_vec_bytes(m: &Option<Vec<Bytes>>) -> Vec<u8> {
    let items: Option<Vec<UString<'_>>> = m.as_ref().map(|v| v.iter().map(us).collect());
    let mut out = Vec::new();
    write_vector(&mut out, items.as_deref());
    out
}

fn str_vec() -> impl Strategy<Value = Option<Vec<Bytes>>> {
    option::weighted(0.9, vec(bytes(), 0..4))
}

fn jv<'a, T: zk_proto::jute::JuteDecode<'a>>(b: &'a [u8]) -> JuteVec<'a, T> {
    parse_vector(b).expect("valid vector").1
}

proptest! {
    #[test]
    fn fixed_records(s in stat(), a in any::<(i32, i64, i32, bool)>()) {
        roundtrip!(s, parse_stat);
        roundtrip!(RequestHeader { xid: a.0, opcode: a.2 }, parse_request_header);
        roundtrip!(ReplyHeader { xid: a.0, zxid: a.1, err: a.2 }, parse_reply_header);
        roundtrip!(MultiHeader { op_type: a.0, done: a.3, err: a.2 }, parse_multi_header);
        roundtrip!(ErrorResponse { err: a.0 }, parse_error_response);
        roundtrip!(GetAllChildrenNumberResponse { total_number: a.2 }, parse_get_all_children_number_response);
    }

    #[test]
    fn string_records(p in bytes(), q in bytes(), r in bytes(), n in any::<(i32, i64, bool)>(), s in stat()) {
        roundtrip!(Id { scheme: us(&p), id: us(&q) }, parse_id);
        roundtrip!(Acl { perms: n.0, id: Id { scheme: us(&p), id: us(&q) } }, parse_acl);
        roundtrip!(ClientInfo { auth_scheme: us(&p), user: us(&q) }, parse_client_info);
        roundtrip!(CreateResponse { path: us(&p) }, parse_create_response);
        roundtrip!(Create2Response { path: us(&p), stat: s }, parse_create2_response);
        roundtrip!(DeleteRequest { path: us(&p), version: n.0 }, parse_delete_request);
        roundtrip!(PathWatchRequest { path: us(&p), watch: n.2 }, parse_path_watch_request);
        roundtrip!(PathRequest { path: us(&p) }, parse_path_request);
        roundtrip!(GetDataResponse { data: q.as_deref(), stat: s }, parse_get_data_response);
        roundtrip!(SetDataRequest { path: us(&p), data: q.as_deref(), version: n.0 }, parse_set_data_request);
        roundtrip!(CheckVersionRequest { path: us(&p), version: n.0 }, parse_check_version_request);
        roundtrip!(ReconfigRequest { joining_servers: us(&p), leaving_servers: us(&q), new_members: us(&r), cur_config_id: n.1 }, parse_reconfig_request);
        roundtrip!(WatchesRequest { path: us(&p), watcher_type: n.0 }, parse_watches_request);
        roundtrip!(AddWatchRequest { path: us(&p), mode: n.0 }, parse_add_watch_request);
        roundtrip!(AuthPacket { auth_type: n.0, scheme: us(&p), auth: q.as_deref() }, parse_auth_packet);
        roundtrip!(SaslToken { token: q.as_deref() }, parse_sasl_token);
        roundtrip!(WatcherEvent { event_type: n.0, state: 3, path: us(&p) }, parse_watcher_event);
    }

    #[test]
    fn vector_records(p in bytes(), d in bytes(), acl in acl_model(), w in prop::array::uniform5(str_vec()), n in any::<(i32, i64)>(), s in stat(), who in vec((bytes(), bytes()), 0..3)) {
        let ab = acl_bytes(&acl);
        let acl_v = jv::<Acl<'_>>(&ab);
        prop_assert_eq!(acl_v.len(), acl.as_ref().map_or(0, Vec::len));
        prop_assert_eq!(acl_v.is_null(), acl.is_none());
        if let Some(model) = &acl {
            for (got, (perms, scheme, id)) in acl_v.iter().zip(model) {
                prop_assert_eq!(got.perms, *perms);
                prop_assert_eq!(got.id.scheme, us(scheme));
                prop_assert_eq!(got.id.id, us(id));
            }
        }
        roundtrip!(CreateRequest { path: us(&p), data: d.as_deref(), acl: acl_v, flags: n.0 }, parse_create_request);
        roundtrip!(CreateTtlRequest { path: us(&p), data: d.as_deref(), acl: acl_v, flags: n.0, ttl: n.1 }, parse_create_ttl_request);
        roundtrip!(GetAclResponse { acl: acl_v, stat: s }, parse_get_acl_response);
        roundtrip!(SetAclRequest { path: us(&p), acl: acl_v, version: n.0 }, parse_set_acl_request);

        let wb: Vec<Vec<u8>> = w.iter().map(str_vec_bytes).collect();
        let wv: Vec<JuteVec<'_, UString<'_>>> = wb.iter().map(|b| jv(b)).collect();
        for (v, m) in wv.iter().zip(&w) {
            let back: Option<Vec<UString<'_>>> = if v.is_null() { None } else { Some(v.to_vec()) };
            let want: Option<Vec<UString<'_>>> = m.as_ref().map(|m| m.iter().map(us).collect());
            prop_assert_eq!(back, want);
        }
        roundtrip!(GetChildrenResponse { children: wv[0] }, parse_get_children_response);
        roundtrip!(GetChildren2Response { children: wv[1], stat: s }, parse_get_children2_response);
        roundtrip!(GetEphemeralsResponse { ephemerals: wv[2] }, parse_get_ephemerals_response);
        roundtrip!(SetWatches { relative_zxid: n.1, data_watches: wv[0], exist_watches: wv[1], child_watches: wv[2] }, parse_set_watches);
        roundtrip!(SetWatches2 { relative_zxid: n.1, data_watches: wv[0], exist_watches: wv[1], child_watches: wv[2], persistent_watches: wv[3], persistent_recursive_watches: wv[4] }, parse_set_watches2);

        let infos: Vec<ClientInfo<'_>> = who.iter().map(|(a, u)| ClientInfo { auth_scheme: us(a), user: us(u) }).collect();
        let mut ib = Vec::new();
        write_vector(&mut ib, Some(&infos[..]));
        let iv = jv::<ClientInfo<'_>>(&ib);
        prop_assert_eq!(iv.to_vec(), infos.clone());
        roundtrip!(WhoAmIResponse { client_info: iv }, parse_who_am_i_response);
    }

    #[test]
    fn connect_records(a in any::<(i32, i64, i32, i64)>(), pw in bytes(), ro in option::of(any::<bool>())) {
        let req = ConnectRequest { protocol_version: a.0, last_zxid_seen: a.1, time_out: a.2, session_id: a.3, passwd: pw.as_deref(), read_only: ro };
        let enc = req.to_bytes();
        prop_assert_eq!(decode_connect_request(&enc), Ok(req));
        if a.0 == 0 {
            prop_assert!(looks_like_connect_request(&enc));
        }
        let resp = ConnectResponse { protocol_version: a.0, time_out: a.2, session_id: a.3, passwd: pw.as_deref(), read_only: ro };
        let enc = resp.to_bytes();
        prop_assert_eq!(decode_connect_response(&enc), Ok(resp));
        if a.0 == 0 {
            prop_assert!(looks_like_connect_response(&enc));
        }
    }

    #[test]
    fn multi_lists(p in bytes(), d in bytes(), acl in acl_model(), n in any::<(i32, i64)>(), s in stat(), kinds in vec(0usize..9, 0..6), errs in vec(any::<i32>(), 6)) {
        let ab = acl_bytes(&acl);
        let acl_v = jv::<Acl<'_>>(&ab);
        let create = CreateRequest { path: us(&p), data: d.as_deref(), acl: acl_v, flags: n.0 };
        let pw = PathWatchRequest { path: us(&p), watch: false };
        let ops: Vec<MultiRequestOp<'_>> = kinds.iter().map(|k| {
            let (t, op) = match k {
                0 => (1, MultiOp::Create(create)),
                1 => (15, MultiOp::Create2(create)),
                2 => (19, MultiOp::CreateContainer(create)),
                3 => (21, MultiOp::CreateTtl(CreateTtlRequest { path: us(&p), data: d.as_deref(), acl: acl_v, flags: 5, ttl: n.1 })),
                4 => (2, MultiOp::Delete(DeleteRequest { path: us(&p), version: n.0 })),
                5 => (5, MultiOp::SetData(SetDataRequest { path: us(&p), data: d.as_deref(), version: n.0 })),
                6 => (13, MultiOp::Check(CheckVersionRequest { path: us(&p), version: n.0 })),
                7 => (4, MultiOp::GetData(pw)),
                _ => (8, MultiOp::GetChildren(pw)),
            };
            MultiRequestOp { header: MultiHeader { op_type: t, done: false, err: -1 }, op }
        }).collect();
        let mut b = Vec::new();
        write_multi(&mut b, &ops, MultiHeader::DONE);
        let (rest, rec) = parse_multi_operation_record(&b).expect("multi");
        prop_assert!(rest.is_empty());
        prop_assert_eq!(rec.iter().collect::<Vec<_>>(), ops);
        prop_assert_eq!(rec.to_bytes(), b.clone());

        // The same ops inside a whole request frame.
        let mut payload = RequestHeader { xid: 7, opcode: 14 }.to_bytes();
        payload.extend_from_slice(&b);
        let r = decode_request(&payload).expect("request");
        prop_assert_eq!(r.to_bytes(), payload);

        let mut cb = Vec::new();
        write_vector(&mut cb, Some(&[us(&p)][..]));
        let children = jv::<UString<'_>>(&cb);
        let results: Vec<MultiResultEntry<'_>> = kinds.iter().zip(&errs).map(|(k, e)| {
            let (t, result) = match k {
                0 => (1, MultiResult::Create(CreateResponse { path: us(&p) })),
                1 => (15, MultiResult::Create2(Create2Response { path: us(&p), stat: s })),
                2 => (2, MultiResult::Delete),
                3 => (5, MultiResult::SetData(s)),
                4 => (13, MultiResult::Check),
                5 => (4, MultiResult::GetData(GetDataResponse { data: d.as_deref(), stat: s })),
                6 => (8, MultiResult::GetChildren(GetChildrenResponse { children })),
                _ => (-1, MultiResult::Error(ErrorResponse { err: *e })),
            };
            MultiResultEntry { header: MultiHeader { op_type: t, done: false, err: *e }, result }
        }).collect();
        let mut b = Vec::new();
        write_multi(&mut b, &results, MultiHeader::DONE);
        let (rest, resp) = parse_multi_response(&b).expect("multi response");
        prop_assert!(rest.is_empty());
        prop_assert_eq!(resp.iter().collect::<Vec<_>>(), results);
        let mut payload = ReplyHeader { xid: 7, zxid: n.1, err: 0 }.to_bytes();
        payload.extend_from_slice(&b);
        let r = decode_reply(&payload, Some(OpCode::MultiRead)).expect("reply");
        prop_assert_eq!(r.to_bytes(), payload);
    }

    /// Every opcode: a valid body inside a frame decodes and re-encodes to the same bytes.
    #[test]
    fn whole_messages(op_idx in 0usize..OpCode::ALL.len(), x in any::<i32>(), zxid in any::<i64>(), p in bytes(), s in stat(), n in any::<i32>()) {
        let op = OpCode::ALL[op_idx];
        let path = PathRequest { path: us(&p) };
        let req_body: Option<Vec<u8>> = match op {
            OpCode::Notification | OpCode::Error | OpCode::CreateSession => None,
            OpCode::Ping | OpCode::WhoAmI | OpCode::CloseSession => Some(vec![]),
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer => {
                Some(CreateRequest { path: us(&p), data: p.as_deref(), acl: JuteVec::default(), flags: n }.to_bytes())
            }
            OpCode::CreateTtl => Some(CreateTtlRequest { path: us(&p), data: None, acl: JuteVec::null(), flags: n, ttl: zxid }.to_bytes()),
            OpCode::Delete | OpCode::Check => Some(DeleteRequest { path: us(&p), version: n }.to_bytes()),
            OpCode::Exists | OpCode::GetData | OpCode::GetChildren | OpCode::GetChildren2 => {
                Some(PathWatchRequest { path: us(&p), watch: n & 1 == 1 }.to_bytes())
            }
            OpCode::SetData => Some(SetDataRequest { path: us(&p), data: p.as_deref(), version: n }.to_bytes()),
            OpCode::GetAcl | OpCode::Sync | OpCode::DeleteContainer | OpCode::GetEphemerals | OpCode::GetAllChildrenNumber => Some(path.to_bytes()),
            OpCode::SetAcl => Some(SetAclRequest { path: us(&p), acl: JuteVec::default(), version: n }.to_bytes()),
            OpCode::Multi | OpCode::MultiRead => Some(MultiHeader::DONE.to_bytes()),
            OpCode::Reconfig => Some(ReconfigRequest { joining_servers: us(&p), leaving_servers: None, new_members: None, cur_config_id: zxid }.to_bytes()),
            OpCode::CheckWatches | OpCode::RemoveWatches | OpCode::AddWatch => Some(WatchesRequest { path: us(&p), watcher_type: n }.to_bytes()),
            OpCode::Auth => Some(AuthPacket { auth_type: 0, scheme: us(&p), auth: p.as_deref() }.to_bytes()),
            OpCode::Sasl => Some(SaslToken { token: p.as_deref() }.to_bytes()),
            OpCode::SetWatches => Some(SetWatches { relative_zxid: zxid, data_watches: JuteVec::default(), exist_watches: JuteVec::null(), child_watches: JuteVec::default() }.to_bytes()),
            OpCode::SetWatches2 => Some(SetWatches2 { relative_zxid: zxid, data_watches: JuteVec::default(), exist_watches: JuteVec::null(), child_watches: JuteVec::default(), persistent_watches: JuteVec::default(), persistent_recursive_watches: JuteVec::default() }.to_bytes()),
            _ => None,
        };
        let mut payload = RequestHeader { xid: x, opcode: op.as_i32() }.to_bytes();
        match req_body {
            Some(b) => {
                payload.extend_from_slice(&b);
                let r = decode_request(&payload).expect("request");
                prop_assert_eq!(r.opcode, op);
                prop_assert_eq!(r.to_bytes(), payload);
            }
            None => prop_assert!(decode_request(&payload).is_err()),
        }

        let reply_body: Option<Vec<u8>> = match op {
            OpCode::Notification | OpCode::Error | OpCode::CreateSession => None,
            OpCode::Create => Some(CreateResponse { path: us(&p) }.to_bytes()),
            OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => Some(Create2Response { path: us(&p), stat: s }.to_bytes()),
            OpCode::Exists | OpCode::SetData | OpCode::SetAcl | OpCode::Check => Some(s.to_bytes()),
            OpCode::GetData | OpCode::Reconfig => Some(GetDataResponse { data: p.as_deref(), stat: s }.to_bytes()),
            OpCode::GetAcl => Some(GetAclResponse { acl: JuteVec::default(), stat: s }.to_bytes()),
            OpCode::GetChildren | OpCode::GetEphemerals => Some(GetChildrenResponse { children: JuteVec::default() }.to_bytes()),
            OpCode::GetChildren2 => Some(GetChildren2Response { children: JuteVec::null(), stat: s }.to_bytes()),
            OpCode::Sync => Some(path.to_bytes()),
            OpCode::Multi | OpCode::MultiRead => Some(MultiHeader::DONE.to_bytes()),
            OpCode::Sasl => Some(SaslToken { token: p.as_deref() }.to_bytes()),
            OpCode::GetAllChildrenNumber => Some(n.to_bytes()),
            OpCode::AddWatch => Some(ErrorResponse { err: 0 }.to_bytes()),
            OpCode::WhoAmI => Some(WhoAmIResponse { client_info: JuteVec::default() }.to_bytes()),
            _ => Some(vec![]),
        };
        // Ordinary xids only: special xids fix the body type.
        let rx = x.max(1);
        let mut payload = ReplyHeader { xid: rx, zxid, err: 0 }.to_bytes();
        match reply_body {
            Some(b) => {
                payload.extend_from_slice(&b);
                let r = decode_reply(&payload, Some(op)).expect("reply");
                prop_assert_eq!(r.to_bytes(), payload.clone());
                // Untyped and failed replies keep the bytes too.
                prop_assert_eq!(decode_reply(&payload, None).expect("untyped").to_bytes(), payload.clone());
                let mut failed = ReplyHeader { xid: rx, zxid, err: -101 }.to_bytes();
                failed.extend_from_slice(&b);
                prop_assert_eq!(decode_reply(&failed, Some(op)).expect("failed").to_bytes(), failed);
            }
            None => prop_assert!(decode_reply(&payload, Some(op)).is_err()),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in vec(any::<u8>(), 0..200), op in prop_oneof![Just(None), (-12i32..110).prop_map(Some)]) {
        let _ = decode_request(&b);
        let _ = decode_reply(&b, op.map(OpCode::from_i32));
        let _ = decode_connect_request(&b);
        let _ = decode_connect_response(&b);
        let _ = looks_like_connect_request(&b);
        let _ = looks_like_connect_response(&b);
        let _ = plausible_request_frame(&b, 1 << 20);
        let _ = plausible_reply_frame(&b, 1 << 20);
        let _ = zk_proto::four_letter_word(&b);
        let _ = zk_proto::frame_len(&b, u32::MAX);
        if let Ok((_, m)) = parse_multi_response(&b) {
            let _ = m.iter().count();
        }
        let mut t = ConnectionTracker::<usize>::new(b.first().is_some_and(|x| x & 1 == 1));
        let _ = t.on_client_frame(&b, zk_proto::Timestamp(0), |_| 1);
        // Booleans are normalised on re-encoding, so only the header is compared.
        if let ServerFrame::Reply { reply, .. } = t.on_server_frame(&b, zk_proto::Timestamp(1)) {
            prop_assert_eq!(&reply.header.to_bytes()[..], &b[..16]);
        }
    }

    /// Mutations of a valid multi request (header + ops) never panic.
    #[test]
    fn mutated_valid_frames_never_panic(flip in vec((0usize..64, any::<u8>()), 1..4), cut in 0usize..64) {
        let mut payload = RequestHeader { xid: 3, opcode: 14 }.to_bytes();
        let ops = [MultiRequestOp { header: MultiHeader { op_type: 2, done: false, err: -1 }, op: MultiOp::Delete(DeleteRequest { path: Some(JuteStr::from("/abc")), version: 1 }) }];
        write_multi(&mut payload, &ops, MultiHeader::DONE);
        for (i, v) in flip {
            let n = payload.len();
            payload[i % n] = v;
        }
        payload.truncate(cut.max(1));
        let _ = decode_request(&payload);
        let _ = decode_reply(&payload, Some(OpCode::Multi));
    }
}
