//! `serde::Serialize` support (feature `serde`): hand-written impls and field helpers.
//!
//! Shapes are chosen for JSON logs: plain snake_case names; packets as
//! `{type, type_code, zxid, zxid_hex, …}` with `zxid` a number and `zxid_hex` its unsigned
//! `"0x…"` form; transactions as `{type, type_code, session, cxid, zxid, zxid_hex, time,
//! …record fields, digest}`; session ids, digests and config versions as `"0x…"`; data
//! buffers and SASL tokens only as their lengths (`data_len`, `token_len`).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::data::{ForwardedBody, Packet, PingSessions, RequestData};
use crate::packet::{PacketType, QuorumPacket};
use crate::snapshot::{SnapshotNodes, SnapshotStream};
use crate::txn::{txn_type_name, MultiTxn, MultiTxnOp, TxnDigest, TxnEntry, TxnRecord};

pub(crate) use zkwire_jute::ser::hex64;
use zkwire_jute::ser::Hex;

pub(crate) fn opt_hex64<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => hex64(v, s),
        None => s.serialize_none(),
    }
}

pub(crate) fn buf_len<S: Serializer>(v: &Option<&[u8]>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(b) => s.serialize_u64(b.len() as u64),
    }
}

/// A type code as its name when known, else the number.
struct Name(Option<&'static str>, i32);

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(n) => s.serialize_str(n),
            None => s.serialize_i32(self.1),
        }
    }
}

impl Serialize for PacketType {
    /// The ZooKeeper name, e.g. `"PROPOSAL"`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Serialize for QuorumPacket<'_> {
    /// `{type, type_code, zxid, zxid_hex, data_len, authinfo}` (data undecoded).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "type",
            &Name(self.kind().map(PacketType::name), self.packet_type),
        )?;
        m.serialize_entry("type_code", &self.packet_type)?;
        m.serialize_entry("zxid", &self.zxid)?;
        m.serialize_entry("zxid_hex", &Hex::of(self.zxid.0))?;
        m.serialize_entry("data_len", &self.data.map(<[u8]>::len))?;
        m.serialize_entry("authinfo", &self.authinfo)?;
        m.end()
    }
}

/// A txn entry flattened into one map.
#[derive(Serialize)]
struct TxnView<'r, 'a> {
    #[serde(rename = "type")]
    name: Name,
    type_code: i32,
    #[serde(serialize_with = "hex64")]
    session: i64,
    cxid: i32,
    zxid: i64,
    zxid_hex: Hex,
    time: i64,
    #[serde(flatten)]
    record: &'r TxnRecord<'a>,
    digest: Option<TxnDigest>,
}

impl Serialize for TxnEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.header;
        TxnView {
            name: Name(txn_type_name(h.txn_type), h.txn_type),
            type_code: h.txn_type,
            session: h.client_id,
            cxid: h.cxid,
            zxid: h.zxid,
            zxid_hex: Hex::of(h.zxid),
            time: h.time,
            record: &self.record,
            digest: self.digest,
        }
        .serialize(s)
    }
}

/// A multi sub-transaction: type plus the record's fields.
#[derive(Serialize)]
struct SubView<'a> {
    #[serde(rename = "type")]
    name: Name,
    type_code: i32,
    #[serde(flatten)]
    record: Option<TxnRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_len: Option<usize>,
}

impl Serialize for MultiTxnOp<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let record = self.record().ok();
        SubView {
            name: Name(txn_type_name(self.txn_type), self.txn_type),
            type_code: self.txn_type,
            // Only reachable for hand-built values: parsed multis are validated.
            data_len: if record.is_none() {
                self.data.map(<[u8]>::len)
            } else {
                None
            },
            record,
        }
        .serialize(s)
    }
}

impl Serialize for MultiTxn<'_> {
    /// `{txns: [{type, type_code, …fields}, …]}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("txns", &self.txns)?;
        m.end()
    }
}

impl Serialize for PingSessions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl Serialize for ForwardedBody<'_> {
    /// The body's fields (`{time_out}` for createSession; zk-proto's request shape otherwise).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ForwardedBody::CreateSession(c) => c.serialize(s),
            ForwardedBody::Client(b) => b.serialize(s),
        }
    }
}

fn request_entries<M: SerializeMap>(m: &mut M, r: &RequestData<'_>) -> Result<(), M::Error> {
    m.serialize_entry("session", &Hex::of(r.session_id))?;
    m.serialize_entry("cxid", &r.cxid)?;
    m.serialize_entry(
        "op",
        &Name(r.op.is_known().then(|| r.op.name()), r.op.as_i32()),
    )?;
    m.serialize_entry("op_code", &r.op.as_i32())?;
    m.serialize_entry("request", &r.body)
}

impl Serialize for RequestData<'_> {
    /// `{session, cxid, op, op_code, request}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        request_entries(&mut m, self)?;
        m.end()
    }
}

impl Serialize for Packet<'_> {
    /// `{type, type_code, zxid, zxid_hex, …}`; see the crate docs for the per-type fields.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use Packet::*;
        let t = self.packet_type();
        let zxid = self.zxid();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", t.name())?;
        m.serialize_entry("type_code", &t.as_i32())?;
        m.serialize_entry("zxid", &zxid)?;
        m.serialize_entry("zxid_hex", &Hex::of(zxid.0))?;
        match self {
            Request {
                request, authinfo, ..
            } => {
                request_entries(&mut m, request)?;
                m.serialize_entry("authinfo", authinfo)?;
            }
            Proposal { txn, .. } | Inform { txn, .. } => m.serialize_entry("txn", txn)?,
            Ack { .. }
            | Commit { .. }
            | Sync { .. }
            | UpToDate { .. }
            | Diff { .. }
            | Trunc { .. }
            | Snap { .. } => {}
            Ping { sessions, .. } => m.serialize_entry("sessions", sessions)?,
            RevalidateRequest {
                session_id,
                timeout,
                ..
            } => {
                m.serialize_entry("session", &Hex::of(*session_id))?;
                m.serialize_entry("timeout", timeout)?;
            }
            RevalidateReply {
                session_id, valid, ..
            } => {
                m.serialize_entry("session", &Hex::of(*session_id))?;
                m.serialize_entry("valid", valid)?;
            }
            CommitAndActivate {
                designated_leader, ..
            } => m.serialize_entry("designated_leader", designated_leader)?,
            NewLeader { config, .. } => m.serialize_entry("config", config)?,
            FollowerInfo { info, .. } | ObserverInfo { info, .. } => {
                m.serialize_entry("learner_info", info)?
            }
            LeaderInfo {
                protocol_version, ..
            } => m.serialize_entry("protocol_version", protocol_version)?,
            AckEpoch { current_epoch, .. } => m.serialize_entry("current_epoch", current_epoch)?,
            InformAndActivate {
                designated_leader,
                txn,
                ..
            } => {
                m.serialize_entry("designated_leader", designated_leader)?;
                m.serialize_entry("txn", txn)?;
            }
        }
        m.end()
    }
}

impl Serialize for SnapshotNodes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl Serialize for SnapshotStream<'_> {
    /// `{sessions, acl_cache, nodes, signature}` — every node; large trees give large output.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("sessions", &self.sessions)?;
        m.serialize_entry("acl_cache", &self.acl_cache)?;
        m.serialize_entry("nodes", &self.nodes)?;
        m.serialize_entry("signature", &self.signature)?;
        m.end()
    }
}
