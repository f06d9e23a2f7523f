//! Where sightings come from: [`TraceTap`], a [`ZkSink`] that turns the client port's write
//! replies into [`Seen::Reply`], and [`quorum_seen`], which turns the quorum port's REQUEST,
//! PROPOSAL, ACK and COMMIT packets into theirs (zab-dump's handler calls it through its
//! `tap`). Both deliver into one shared [`Sightings`].

use super::tracer::{Link, Seen, Sighting, WriteReply, WriteTracer};
use crate::zk::{Token, ZkBody, ZkMessage, ZkSink};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, MutexGuard};
use zab_proto::{Packet, QuorumDirection};
use zk_proto::{OpCode, RequestBody};
use zkwire_capture::{ConnInfo, Timestamp};

/// Most multi requests (and, apart, new-session connects) remembered until their answer.
const MAX_AWAITING: usize = 65_536;

/// Where sightings go.
#[derive(Debug)]
pub enum Sightings {
    /// Straight into a tracer (one capture, or a live interface).
    Trace(Box<WriteTracer>),
    /// Kept, up to `cap` quorum packets (replies are not kept): the head of one host's capture
    /// among several, for its clock offset. Once full, the capture's reading stops.
    Head {
        /// The quorum packets, in capture order.
        seen: Vec<Sighting>,
        /// How many to keep.
        cap: usize,
    },
    /// Moved onto the reference clock (`shift_ns` subtracted) and sent on: one host's capture
    /// among several, read beside the others and merged by time ([`super::merge_streams`]).
    Send {
        /// Where to.
        to: SyncSender<Sighting>,
        /// This capture's clock offset against the reference, ns.
        shift_ns: i64,
    },
}

impl Sightings {
    /// Takes one sighting.
    pub fn push(&mut self, mut s: Sighting) {
        match self {
            Sightings::Trace(t) => t.sight(s),
            Sightings::Head { seen, cap } => {
                if seen.len() < *cap && !matches!(s.seen, Seen::Reply(_)) {
                    seen.push(s);
                }
            }
            Sightings::Send { to, shift_ns } => {
                s.shift(*shift_ns);
                // The reader went away (the run was stopped): nothing more to do.
                let _ = to.send(s);
            }
        }
    }

    /// Capture time reached `now`.
    pub fn advance(&mut self, now: Timestamp) {
        if let Sightings::Trace(t) = self {
            t.advance(now);
        }
    }

    /// Whether it wants no more (a full head).
    pub fn full(&self) -> bool {
        matches!(self, Sightings::Head { seen, cap } if seen.len() >= *cap)
    }
}

/// [`Sightings`] shared by the client-port and quorum-port handlers of one capture.
pub type SharedSightings = Arc<Mutex<Sightings>>;

/// Locks `shared` (a panic elsewhere cannot leave it unusable: the sightings stay valid).
pub fn lock(shared: &SharedSightings) -> MutexGuard<'_, Sightings> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The client port's side: a [`ZkSink`] that sights every write's reply.
pub struct TraceTap {
    to: SharedSightings,
    /// A multi's operations, by (client, xid), until its reply.
    multis: HashMap<(SocketAddr, i32), Vec<(&'static str, u32)>>,
    /// When each connection asked for a new session, until the server's answer.
    connects: HashMap<SocketAddr, Timestamp>,
}

impl TraceTap {
    /// A tap delivering into `to`.
    pub fn new(to: SharedSightings) -> TraceTap {
        TraceTap {
            to,
            multis: HashMap::new(),
            connects: HashMap::new(),
        }
    }
}

/// (op name, count) of a multi's operations, in first-seen order.
fn multi_ops(body: &RequestBody<'_>) -> Vec<(&'static str, u32)> {
    let mut ops: Vec<(&'static str, u32)> = Vec::new();
    if let RequestBody::Multi(record) = body {
        for op in record.iter() {
            let name = OpCode::from(op.header.op_type).name();
            match ops.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => ops.push((name, 1)),
            }
        }
    }
    ops
}

impl ZkSink for TraceTap {
    fn message(&mut self, msg: &ZkMessage<'_>) -> Option<Token> {
        match msg.body {
            ZkBody::Request { request, .. }
                if request.opcode == OpCode::Multi && self.multis.len() < MAX_AWAITING =>
            {
                self.multis
                    .insert((msg.client, request.xid), multi_ops(&request.body));
            }
            ZkBody::Reply {
                reply, latency_ns, ..
            } => {
                let opcode = reply.opcode.filter(|op| op.is_write())?;
                let ops = match opcode {
                    OpCode::Multi => self
                        .multis
                        .remove(&(msg.client, reply.header.xid))
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                let request_ts = latency_ns
                    .and_then(|ns| i64::try_from(ns).ok())
                    .map(|ns| Timestamp(msg.ts.0.saturating_sub(ns)));
                let seen = Seen::Reply(Box::new(WriteReply {
                    request_ts,
                    client: msg.client,
                    server: msg.server,
                    session: msg.session,
                    xid: reply.header.xid,
                    opcode,
                    path: msg.path.map(Box::from),
                    err: reply.header.err,
                    zxid: reply.header.zxid,
                    ops,
                }));
                lock(&self.to).push(Sighting { ts: msg.ts, seen });
            }
            // A new session is a write too: the leader proposes its createSession (xid 0).
            ZkBody::Connect { request, .. }
                if request.session_id == 0 && self.connects.len() < MAX_AWAITING =>
            {
                self.connects.insert(msg.client, msg.ts);
            }
            ZkBody::ConnectReply { reply, .. } => {
                let request_ts = self.connects.remove(&msg.client);
                if request_ts.is_some() && reply.session_id != 0 {
                    let seen = Seen::Reply(Box::new(WriteReply {
                        request_ts,
                        client: msg.client,
                        server: msg.server,
                        session: Some(reply.session_id),
                        xid: 0,
                        opcode: OpCode::CreateSession,
                        path: None,
                        err: 0,
                        zxid: 0,
                        ops: Vec::new(),
                    }));
                    lock(&self.to).push(Sighting { ts: msg.ts, seen });
                }
            }
            ZkBody::Unanswered { .. } | ZkBody::Closed => {
                self.multis.retain(|(client, _), _| *client != msg.client);
                self.connects.remove(&msg.client);
            }
            _ => {}
        }
        None
    }

    fn advance(&mut self, now: Timestamp) {
        lock(&self.to).advance(now);
    }

    fn done(&self) -> bool {
        lock(&self.to).full()
    }
}

/// What a quorum packet shows of a write's path, if anything.
pub fn quorum_seen(
    info: &ConnInfo,
    direction: QuorumDirection,
    packet: &Packet<'_>,
    sid: Option<i64>,
) -> Option<Seen> {
    let link = Link {
        learner: info.client,
        leader: info.server,
    };
    let to_leader = direction == QuorumDirection::LearnerToLeader;
    Some(match *packet {
        Packet::Request { request, .. } if to_leader => Seen::Forward {
            link,
            session: request.session_id,
            cxid: request.cxid,
        },
        Packet::Proposal { zxid, txn } if !to_leader => Seen::Proposal {
            link,
            zxid: zxid.0,
            session: txn.header.client_id,
            cxid: txn.header.cxid,
        },
        Packet::Ack { zxid } if to_leader => Seen::Ack {
            link,
            sid,
            zxid: zxid.0,
        },
        Packet::Commit { zxid } | Packet::CommitAndActivate { zxid, .. } if !to_leader => {
            Seen::Commit { link, zxid: zxid.0 }
        }
        _ => return None,
    })
}
