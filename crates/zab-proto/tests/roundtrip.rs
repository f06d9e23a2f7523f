//! Property tests: decode(encode(x)) == x for every record, transaction and packet type, and
//! arbitrary bytes never make a decoder, boundary or plausibility function panic.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use zab_proto::data::{
    decode_learner_info, decode_request_data, ForwardedBody, PingSessions, SessionTimeout,
};
use zab_proto::snapshot::{
    parse_snapshot_stream, write_snapshot_stream, AclCacheEntry, Scan, SnapshotNode,
    SnapshotScanner, StatPersisted,
};
use zab_proto::txn::*;
use zab_proto::{
    decode_packet, packet_boundary, parse_quorum_auth_packet, parse_quorum_packet,
    plausible_packet_start, quorum_auth_boundary, snapshot_stream_boundary, Boundary, Encode,
    LearnerInfo, Packet, QuorumAuthPacket, QuorumDirection, QuorumPacket, RequestData, Zxid,
    QUORUM_AUTH_MAGIC,
};
use zk_proto::jute::{parse_vector, write_vector, JuteStr, JuteVec, UString};
use zk_proto::records::{
    Acl, CheckVersionRequest, CreateRequest, DeleteRequest, Id, PathRequest, SetDataRequest,
};
use zk_proto::{OpCode, RequestBody};

type Bytes = Option<Vec<u8>>;

fn bytes() -> impl Strategy<Value = Bytes> {
    option::weighted(0.9, vec(any::<u8>(), 0..16))
}

fn us(b: &Bytes) -> UString<'_> {
    b.as_deref().map(JuteStr)
}

type AclM = (i32, Bytes, Bytes);
type AclsM = Option<Vec<AclM>>;

fn acls_m() -> impl Strategy<Value = AclsM> {
    option::weighted(0.9, vec((any::<i32>(), bytes(), bytes()), 0..3))
}

fn acl_bytes(m: &AclsM) -> Vec<u8> {
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

fn jvec<'a, T: zk_proto::jute::JuteDecode<'a>>(b: &'a [u8]) -> JuteVec<'a, T> {
    parse_vector::<T>(b).expect("vector").1
}

/// Model of a transaction record (owned), built into the borrowed record by [`build`].
#[derive(Debug, Clone)]
enum RecM {
    CreateSession(i32),
    CloseSession(Option<Option<Vec<Bytes>>>),
    Error(i32),
    Create(bool, Bytes, Bytes, AclsM, bool, Option<i32>),
    Container(Bytes, Bytes, AclsM, i32),
    Ttl(Bytes, Bytes, AclsM, i32, i64),
    Delete(bool, Bytes),
    SetData(bool, Bytes, Bytes, i32),
    SetAcl(Bytes, AclsM, i32),
    Check(Bytes, i32),
    Multi(Vec<RecM>),
}

fn sub_rec() -> impl Strategy<Value = RecM> {
    prop_oneof![
        any::<i32>().prop_map(RecM::Error),
        (
            any::<bool>(),
            bytes(),
            bytes(),
            acls_m(),
            any::<bool>(),
            any::<i32>()
        )
            .prop_map(|(c2, p, d, a, e, v)| RecM::Create(c2, p, d, a, e, Some(v))),
        (bytes(), bytes(), acls_m(), any::<i32>())
            .prop_map(|(p, d, a, v)| RecM::Container(p, d, a, v)),
        (bytes(), bytes(), acls_m(), any::<i32>(), any::<i64>())
            .prop_map(|(p, d, a, v, t)| RecM::Ttl(p, d, a, v, t)),
        (any::<bool>(), bytes()).prop_map(|(c, p)| RecM::Delete(c, p)),
        (bytes(), bytes(), any::<i32>()).prop_map(|(p, d, v)| RecM::SetData(false, p, d, v)),
        (bytes(), any::<i32>()).prop_map(|(p, v)| RecM::Check(p, v)),
    ]
}

fn rec() -> impl Strategy<Value = RecM> {
    prop_oneof![
        sub_rec(),
        any::<i32>().prop_map(RecM::CreateSession),
        option::of(option::weighted(0.9, vec(bytes(), 0..3))).prop_map(RecM::CloseSession),
        (bytes(), bytes(), acls_m(), any::<bool>())
            .prop_map(|(p, d, a, e)| RecM::Create(false, p, d, a, e, None)),
        (any::<bool>(), bytes(), bytes(), any::<i32>())
            .prop_map(|(r, p, d, v)| RecM::SetData(r, p, d, v)),
        (bytes(), acls_m(), any::<i32>()).prop_map(|(p, a, v)| RecM::SetAcl(p, a, v)),
        vec(sub_rec(), 0..4).prop_map(RecM::Multi),
    ]
}

/// The byte storage a record borrows besides its model (vectors, multi sub-records).
fn prepare(m: &RecM) -> Vec<u8> {
    match m {
        RecM::Create(.., a, _, _) => acl_bytes(a),
        RecM::Container(_, _, a, _) | RecM::Ttl(_, _, a, ..) | RecM::SetAcl(_, a, _) => {
            acl_bytes(a)
        }
        RecM::CloseSession(Some(paths)) => {
            let items: Option<Vec<UString<'_>>> =
                paths.as_ref().map(|v| v.iter().map(us).collect());
            let mut out = Vec::new();
            write_vector(&mut out, items.as_deref());
            out
        }
        RecM::Multi(subs) => {
            let encoded: Vec<(i32, Vec<u8>)> = subs
                .iter()
                .map(|s| {
                    let aux = prepare(s);
                    let r = build(s, &aux);
                    (r.txn_type(), r.to_bytes())
                })
                .collect();
            let ops: Vec<MultiTxnOp<'_>> = encoded
                .iter()
                .map(|(t, d)| MultiTxnOp {
                    txn_type: *t,
                    data: Some(d),
                })
                .collect();
            let mut out = Vec::new();
            write_vector(&mut out, Some(&ops[..]));
            out
        }
        _ => Vec::new(),
    }
}

fn build<'a>(m: &'a RecM, aux: &'a [u8]) -> TxnRecord<'a> {
    match m {
        RecM::CreateSession(t) => TxnRecord::CreateSession(CreateSessionTxn { time_out: *t }),
        RecM::CloseSession(None) => TxnRecord::CloseSession(None),
        RecM::CloseSession(Some(_)) => TxnRecord::CloseSession(Some(CloseSessionTxn {
            paths2_delete: jvec(aux),
        })),
        RecM::Error(e) => TxnRecord::Error(ErrorTxn { err: *e }),
        RecM::Create(c2, p, d, _, e, v) => {
            let r = CreateTxn {
                path: us(p),
                data: d.as_deref(),
                acl: jvec(aux),
                ephemeral: *e,
                parent_cversion: *v,
            };
            if *c2 {
                TxnRecord::Create2(r)
            } else {
                TxnRecord::Create(r)
            }
        }
        RecM::Container(p, d, _, v) => TxnRecord::CreateContainer(CreateContainerTxn {
            path: us(p),
            data: d.as_deref(),
            acl: jvec(aux),
            parent_cversion: *v,
        }),
        RecM::Ttl(p, d, _, v, t) => TxnRecord::CreateTtl(CreateTtlTxn {
            path: us(p),
            data: d.as_deref(),
            acl: jvec(aux),
            parent_cversion: *v,
            ttl: *t,
        }),
        RecM::Delete(c, p) => {
            let r = DeleteTxn { path: us(p) };
            if *c {
                TxnRecord::DeleteContainer(r)
            } else {
                TxnRecord::Delete(r)
            }
        }
        RecM::SetData(reconfig, p, d, v) => {
            let r = SetDataTxn {
                path: us(p),
                data: d.as_deref(),
                version: *v,
            };
            if *reconfig {
                TxnRecord::Reconfig(r)
            } else {
                TxnRecord::SetData(r)
            }
        }
        RecM::SetAcl(p, _, v) => TxnRecord::SetAcl(SetAclTxn {
            path: us(p),
            acl: jvec(aux),
            version: *v,
        }),
        RecM::Check(p, v) => TxnRecord::Check(CheckVersionTxn {
            path: us(p),
            version: *v,
        }),
        RecM::Multi(_) => TxnRecord::Multi(parse_multi_txn(aux).expect("multi").1),
    }
}

type EntryM = (RecM, [i64; 3], i32, Option<i64>);

fn entry_m() -> impl Strategy<Value = EntryM> {
    (
        rec(),
        any::<[i64; 3]>(),
        any::<i32>(),
        option::of(any::<i64>()),
    )
}

/// Builds a txn entry, adjusting the digest where the spec's length rules make the model
/// ambiguous (those cases are covered by the vectors instead).
fn build_entry<'a>(m: &'a EntryM, aux: &'a [u8]) -> Option<TxnEntry<'a>> {
    let (r, l, cxid, digest) = m;
    let record = build(r, aux);
    // CreateTxnV0 (3.3) never carries a digest (3.6+).
    if matches!(r, RecM::Create(.., None)) && digest.is_some() {
        return None;
    }
    // A 12-byte CloseSessionTxn starting with count 2 reads as "digest only" by design.
    if let TxnRecord::CloseSession(Some(c)) = record {
        let b = c.to_bytes();
        if digest.is_none() && b.len() == 12 && b.starts_with(&[0, 0, 0, 2]) {
            return None;
        }
    }
    let digest = digest.map(|d| TxnDigest {
        // "digest only" closeSession entries are recognised by version 2.
        version: 2,
        tree_digest: d,
    });
    Some(TxnEntry {
        header: TxnHeader {
            client_id: l[0],
            cxid: *cxid,
            zxid: l[1],
            time: l[2],
            txn_type: record.txn_type(),
        },
        record,
        digest,
    })
}

#[derive(Debug, Clone)]
enum ReqM {
    CreateSession(i32),
    Create(Bytes, Bytes, AclsM, i32),
    Delete(Bytes, i32),
    SetData(Bytes, Bytes, i32),
    Sync(Bytes),
    Check(Bytes, i32),
    CloseSession,
}

fn req_m() -> impl Strategy<Value = ReqM> {
    prop_oneof![
        any::<i32>().prop_map(ReqM::CreateSession),
        (bytes(), bytes(), acls_m(), any::<i32>())
            .prop_map(|(p, d, a, f)| ReqM::Create(p, d, a, f)),
        (bytes(), any::<i32>()).prop_map(|(p, v)| ReqM::Delete(p, v)),
        (bytes(), bytes(), any::<i32>()).prop_map(|(p, d, v)| ReqM::SetData(p, d, v)),
        bytes().prop_map(ReqM::Sync),
        (bytes(), any::<i32>()).prop_map(|(p, v)| ReqM::Check(p, v)),
        Just(ReqM::CloseSession),
    ]
}

fn build_req<'a>(m: &'a ReqM, aux: &'a [u8]) -> (OpCode, ForwardedBody<'a>) {
    use ForwardedBody::Client;
    match m {
        ReqM::CreateSession(t) => (
            OpCode::CreateSession,
            ForwardedBody::CreateSession(CreateSessionTxn { time_out: *t }),
        ),
        ReqM::Create(p, d, _, f) => (
            OpCode::Create,
            Client(RequestBody::Create(CreateRequest {
                path: us(p),
                data: d.as_deref(),
                acl: jvec(aux),
                flags: *f,
            })),
        ),
        ReqM::Delete(p, v) => (
            OpCode::Delete,
            Client(RequestBody::Delete(DeleteRequest {
                path: us(p),
                version: *v,
            })),
        ),
        ReqM::SetData(p, d, v) => (
            OpCode::SetData,
            Client(RequestBody::SetData(SetDataRequest {
                path: us(p),
                data: d.as_deref(),
                version: *v,
            })),
        ),
        ReqM::Sync(p) => (
            OpCode::Sync,
            Client(RequestBody::Sync(PathRequest { path: us(p) })),
        ),
        ReqM::Check(p, v) => (
            OpCode::Check,
            Client(RequestBody::Check(CheckVersionRequest {
                path: us(p),
                version: *v,
            })),
        ),
        ReqM::CloseSession => (OpCode::CloseSession, Client(RequestBody::CloseSession)),
    }
}

type InfoM = Option<(i64, Option<(i32, Option<i64>)>)>;

fn info(m: &InfoM) -> Option<LearnerInfo> {
    m.map(|(sid, rest)| LearnerInfo {
        server_id: sid,
        protocol_version: rest.map(|r| r.0),
        config_version: rest.and_then(|r| r.1),
    })
}

/// Model of a packet: the type code selects the variant, the other fields feed it.
#[derive(Debug, Clone)]
struct PacketM {
    code: i32,
    zxid: i64,
    long: i64,
    int: i32,
    flag: bool,
    text: Bytes,
    info: InfoM,
    sessions: Option<Vec<(i64, i32)>>,
    req: ReqM,
    auth: Option<Vec<(Bytes, Bytes)>>,
    entry: EntryM,
}

fn packet_m() -> impl Strategy<Value = PacketM> {
    (
        (
            1..=19i32,
            any::<i64>(),
            any::<i64>(),
            any::<i32>(),
            any::<bool>(),
        ),
        (
            bytes(),
            option::of((
                any::<i64>(),
                option::of((any::<i32>(), option::of(any::<i64>()))),
            )),
            option::of(vec(any::<(i64, i32)>(), 0..4)),
            req_m(),
            option::of(vec((bytes(), bytes()), 0..3)),
            entry_m(),
        ),
    )
        .prop_map(
            |((code, zxid, long, int, flag), (text, info, sessions, req, auth, entry))| PacketM {
                code,
                zxid,
                long,
                int,
                flag,
                text,
                info,
                sessions,
                req,
                auth,
                entry,
            },
        )
}

struct Aux {
    entry: Vec<u8>,
    req: Vec<u8>,
    auth: Vec<u8>,
    sessions: Vec<u8>,
}

fn prepare_packet(m: &PacketM) -> Aux {
    let req = match &m.req {
        ReqM::Create(_, _, a, _) => acl_bytes(a),
        _ => Vec::new(),
    };
    let ids: Option<Vec<Id<'_>>> = m.auth.as_ref().map(|v| {
        v.iter()
            .map(|(s, i)| Id {
                scheme: us(s),
                id: us(i),
            })
            .collect()
    });
    let mut auth = Vec::new();
    write_vector(&mut auth, ids.as_deref());
    let mut sessions = Vec::new();
    for (s, t) in m.sessions.iter().flatten() {
        SessionTimeout {
            session_id: *s,
            timeout: *t,
        }
        .encode(&mut sessions);
    }
    Aux {
        entry: prepare(&m.entry.0),
        req,
        auth,
        sessions,
    }
}

fn build_packet<'a>(m: &'a PacketM, aux: &'a Aux) -> Option<Packet<'a>> {
    let zxid = Zxid(m.zxid);
    Some(match m.code {
        1 => {
            let (op, body) = build_req(&m.req, &aux.req);
            Packet::Request {
                zxid,
                request: RequestData {
                    session_id: m.long,
                    cxid: m.int,
                    op,
                    body,
                },
                authinfo: jvec(&aux.auth),
            }
        }
        2 => Packet::Proposal {
            zxid,
            txn: build_entry(&m.entry, &aux.entry)?,
        },
        3 => Packet::Ack { zxid },
        4 => Packet::Commit { zxid },
        5 => Packet::Ping {
            zxid,
            sessions: m
                .sessions
                .as_ref()
                .map(|_| PingSessions::new(&aux.sessions).expect("12-byte entries")),
        },
        6 if m.flag => Packet::RevalidateRequest {
            zxid,
            session_id: m.long,
            timeout: m.int,
        },
        6 => Packet::RevalidateReply {
            zxid,
            session_id: m.long,
            valid: m.int % 2 == 0,
        },
        7 => Packet::Sync { zxid },
        8 => Packet::Inform {
            zxid,
            txn: build_entry(&m.entry, &aux.entry)?,
        },
        9 => Packet::CommitAndActivate {
            zxid,
            designated_leader: m.long,
        },
        10 => Packet::NewLeader {
            zxid,
            config: us(&m.text),
        },
        11 => Packet::FollowerInfo {
            zxid,
            info: info(&m.info),
        },
        12 => Packet::UpToDate { zxid },
        13 => Packet::Diff { zxid },
        14 => Packet::Trunc { zxid },
        15 => Packet::Snap { zxid },
        16 => Packet::ObserverInfo {
            zxid,
            info: info(&m.info),
        },
        17 => Packet::LeaderInfo {
            zxid,
            protocol_version: m.int,
        },
        18 => Packet::AckEpoch {
            zxid,
            current_epoch: m.int,
        },
        _ => Packet::InformAndActivate {
            zxid,
            designated_leader: m.long,
            txn: build_entry(&m.entry, &aux.entry)?,
        },
    })
}

fn stat_p() -> impl Strategy<Value = StatPersisted> {
    (any::<[i64; 6]>(), any::<[i32; 3]>()).prop_map(|(l, i)| StatPersisted {
        czxid: l[0],
        mzxid: l[1],
        ctime: l[2],
        mtime: l[3],
        version: i[0],
        cversion: i[1],
        aversion: i[2],
        ephemeral_owner: l[4],
        pzxid: l[5],
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn txn_entries_round_trip(m in entry_m()) {
        let aux = prepare(&m.0);
        if let Some(x) = build_entry(&m, &aux) {
            let enc = x.to_bytes();
            let back = decode_txn_entry(&enc).expect("decodes");
            prop_assert_eq!(back, x);
            prop_assert_eq!(back.to_bytes(), enc);
            // The record alone, through the nom-level parser.
            if !matches!(x.record, TxnRecord::CloseSession(None)) {
                let rb = x.record.to_bytes();
                let (rest, r) = parse_txn_record(x.record.txn_type(), &rb).expect("record");
                prop_assert!(rest.is_empty());
                prop_assert_eq!(r, x.record);
            }
            if let TxnRecord::Multi(multi) = x.record {
                prop_assert_eq!(multi.records().count(), multi.txns.len());
            }
        }
    }

    #[test]
    fn packets_round_trip(m in packet_m()) {
        let aux = prepare_packet(&m);
        if let Some(x) = build_packet(&m, &aux) {
            let enc = x.to_bytes();
            prop_assert_eq!(packet_boundary(&enc), Boundary::Complete(enc.len()));
            let (rest, qp) = parse_quorum_packet(&enc).expect("record");
            prop_assert!(rest.is_empty());
            prop_assert_eq!(qp.to_bytes(), enc.clone());
            let back = decode_packet(&qp, x.direction()).expect("decodes");
            prop_assert_eq!(back, x);
            prop_assert_eq!(decode_packet(&qp, None).expect("decodes"), x);
            prop_assert_eq!(back.to_bytes(), enc.clone());
            if let Some(d) = x.direction() {
                let other = match d {
                    QuorumDirection::LeaderToLearner => QuorumDirection::LearnerToLeader,
                    QuorumDirection::LearnerToLeader => QuorumDirection::LeaderToLearner,
                };
                let wrong = decode_packet(&qp, Some(other));
                let is_mismatch = matches!(
                    wrong,
                    Err(zab_proto::DecodeError::DirectionMismatch { .. })
                );
                prop_assert!(is_mismatch);
            }
            // Every strict prefix is incomplete, never invalid.
            for cut in [0, 1, enc.len() / 2, enc.len() - 1] {
                let is_incomplete = matches!(packet_boundary(&enc[..cut]), Boundary::Incomplete(n) if n > cut);
                prop_assert!(is_incomplete);
            }
            let _ = plausible_packet_start(&enc);
        }
    }

    #[test]
    fn raw_quorum_packet_round_trip(t in any::<i32>(), z in any::<i64>(), d in bytes(),
                                     auth in option::of(vec((bytes(), bytes()), 0..3))) {
        let ids: Option<Vec<Id<'_>>> = auth.as_ref().map(|v| {
            v.iter().map(|(s, i)| Id { scheme: us(s), id: us(i) }).collect()
        });
        let mut ab = Vec::new();
        write_vector(&mut ab, ids.as_deref());
        let x = QuorumPacket { packet_type: t, zxid: Zxid(z), data: d.as_deref(), authinfo: jvec(&ab) };
        let enc = x.to_bytes();
        let (rest, back) = parse_quorum_packet(&enc).expect("record");
        prop_assert!(rest.is_empty());
        prop_assert_eq!(back, x);
        let _ = decode_packet(&back, None);
    }

    #[test]
    fn small_records_round_trip(l in any::<[i64; 3]>(), i in any::<[i32; 2]>(), tok in bytes(),
                                info_m in option::of((any::<i32>(), option::of(any::<i64>())))) {
        let li = LearnerInfo {
            server_id: l[0],
            protocol_version: info_m.map(|x| x.0),
            config_version: info_m.and_then(|x| x.1),
        };
        prop_assert_eq!(decode_learner_info(&li.to_bytes()), Ok(li));
        // The magic is implied: it is written first and checked on the way back.
        let a = QuorumAuthPacket { status: i[0], token: tok.as_deref() };
        let enc = a.to_bytes();
        prop_assert_eq!(&enc[..8], &QUORUM_AUTH_MAGIC.to_be_bytes()[..]);
        prop_assert_eq!(quorum_auth_boundary(&enc), Boundary::Complete(enc.len()));
        prop_assert_eq!(parse_quorum_auth_packet(&enc).expect("auth").1, a);
        let h = TxnHeader { client_id: l[0], cxid: i[0], zxid: l[1], time: l[2], txn_type: i[1] };
        prop_assert_eq!(parse_txn_header(&h.to_bytes()).expect("hdr").1, h);
        let d = TxnDigest { version: i[0], tree_digest: l[1] };
        prop_assert_eq!(parse_txn_digest(&d.to_bytes()).expect("digest").1, d);
        let s = SessionTimeout { session_id: l[2], timeout: i[1] };
        prop_assert_eq!(zab_proto::data::parse_session_timeout(&s.to_bytes()).expect("st").1, s);
    }

    #[test]
    fn snapshot_streams_round_trip(
        sessions in vec(any::<(i64, i32)>(), 0..3),
        cache in vec((any::<i64>(), acls_m()), 0..3),
        nodes in vec((bytes(), bytes(), any::<i64>(), stat_p()), 0..4),
        chunk in 1usize..40,
    ) {
        let sessions: Vec<SessionTimeout> = sessions.iter()
            .map(|(s, t)| SessionTimeout { session_id: *s, timeout: *t }).collect();
        let acl_store: Vec<Vec<u8>> = cache.iter().map(|(_, a)| acl_bytes(a)).collect();
        let cache: Vec<AclCacheEntry<'_>> = cache.iter().zip(&acl_store)
            .map(|((k, _), b)| AclCacheEntry { key: *k, acls: jvec(b) }).collect();
        // Paths are never null and never the "/" end marker inside the node list.
        let nodes: Vec<SnapshotNode<'_>> = nodes.iter()
            .filter(|(p, ..)| p.as_deref().is_some_and(|p| p != b"/"))
            .map(|(p, d, k, s)| SnapshotNode { path: us(p), data: d.as_deref(), acl_key: *k, stat: *s })
            .collect();
        let mut enc = Vec::new();
        write_snapshot_stream(&mut enc, &sessions, &cache, &nodes);
        prop_assert_eq!(snapshot_stream_boundary(&enc), Boundary::Complete(enc.len()));
        let (rest, snap) = parse_snapshot_stream(&enc).expect("snapshot");
        prop_assert!(rest.is_empty());
        prop_assert_eq!(snap.sessions.to_vec(), sessions);
        prop_assert_eq!(snap.acl_cache.to_vec(), cache);
        prop_assert_eq!(snap.nodes.iter().collect::<Vec<_>>(), nodes);
        prop_assert_eq!(snap.to_bytes(), enc.clone());
        // Chunked incremental scanning reaches the same end.
        let mut sc = SnapshotScanner::new();
        let mut pending = Vec::new();
        let mut done = false;
        for c in enc.chunks(chunk) {
            prop_assert!(!done);
            pending.extend_from_slice(c);
            match sc.feed(&pending).expect("scan") {
                Scan::Done { consumed } => { prop_assert_eq!(consumed, pending.len()); done = true; }
                Scan::NeedMore { consumed, .. } => { pending.drain(..consumed); }
            }
        }
        prop_assert!(done);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in vec(any::<u8>(), 0..300), chunk in 1usize..64) {
        if let Ok((rest, qp)) = parse_quorum_packet(&b) {
            let n = b.len() - rest.len();
            if qp.kind().is_some() {
                prop_assert_eq!(packet_boundary(&b), Boundary::Complete(n));
            }
            for d in [None, Some(QuorumDirection::LeaderToLearner), Some(QuorumDirection::LearnerToLeader)] {
                let _ = decode_packet(&qp, d);
            }
        }
        if let Boundary::Complete(n) = packet_boundary(&b) {
            prop_assert!(n <= b.len());
            prop_assert!(parse_quorum_packet(&b[..n]).is_ok());
        }
        let _ = plausible_packet_start(&b);
        let _ = decode_txn_entry(&b);
        for t in -12..=22 {
            let _ = parse_txn_record(t, &b);
        }
        let _ = parse_multi_txn(&b);
        let _ = decode_request_data(&b);
        let _ = decode_learner_info(&b);
        let _ = quorum_auth_boundary(&b);
        let _ = parse_quorum_auth_packet(&b);
        let _ = parse_snapshot_stream(&b);
        if let Boundary::Complete(n) = snapshot_stream_boundary(&b) {
            prop_assert!(n <= b.len());
        }
        let mut sc = SnapshotScanner::new();
        let mut pending = Vec::new();
        for c in b.chunks(chunk) {
            pending.extend_from_slice(c);
            match sc.feed(&pending) {
                Ok(Scan::NeedMore { consumed, .. }) => { pending.drain(..consumed); }
                _ => break,
            }
        }
    }

    #[test]
    fn arbitrary_data_for_every_type_never_panics(t in 0..=20i32, z in any::<i64>(),
                                                   hdr in any::<(i64, i32, i64, i64)>(),
                                                   txn_type in -12..=22i32,
                                                   tail in vec(any::<u8>(), 0..120)) {
        // Random tails behind a well-formed TxnHeader reach the record decoders.
        let mut with_hdr = Vec::new();
        TxnHeader { client_id: hdr.0, cxid: hdr.1, zxid: hdr.2, time: hdr.3, txn_type }
            .encode(&mut with_hdr);
        with_hdr.extend_from_slice(&tail);
        let mut iaa = 7i64.to_be_bytes().to_vec();
        iaa.extend_from_slice(&with_hdr);
        for data in [&tail[..], &with_hdr[..], &iaa[..]] {
            let qp = QuorumPacket { packet_type: t, zxid: Zxid(z), data: Some(data), authinfo: JuteVec::null() };
            for d in [None, Some(QuorumDirection::LeaderToLearner), Some(QuorumDirection::LearnerToLeader)] {
                if let Ok(p) = decode_packet(&qp, d) {
                    // Whatever decodes re-encodes to a record that decodes the same way.
                    let enc = p.to_bytes();
                    let (_, again) = parse_quorum_packet(&enc).expect("record");
                    prop_assert_eq!(decode_packet(&again, d), Ok(p));
                }
            }
        }
    }
}
