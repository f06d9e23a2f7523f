//! Decoding a QuorumPacket's `data` buffer by packet type and direction (as upstream
//! `org.apache.zookeeper.server.quorum.LearnerHandler`, `Learner`, `Follower` and `Observer`
//! write and read it), into the [`Packet`] enum.
//!
//! Two types have direction-dependent layouts: PING (leader → learner: null; learner → leader:
//! a `(sessionId, timeout)*` table) and REVALIDATE (learner → leader: `sessionId, timeout`,
//! 12 bytes; leader → learner: `sessionId, valid`, 9 bytes). Both are unambiguous from the
//! bytes alone, so the direction is only a *hint*: when given, a packet whose layout or type
//! only exists in the other direction is reported as [`DecodeError::DirectionMismatch`].
//!
//! Nothing is guessed: an unknown type, a data length the type never has, an unknown request
//! opcode or transaction type, and bytes left over are all errors.

use nom::IResult;
use zk_proto::codes::OpCode;
use zk_proto::jute::{parse_bool, parse_int, parse_long, write_buffer, Encode, JuteStr, JuteVec};
use zk_proto::message::{parse_request_body, RequestBody};
use zk_proto::records::Id;

use crate::packet::{PacketType, QuorumPacket};
use crate::txn::{decode_txn_entry, parse_create_session_txn, CreateSessionTxn, TxnEntry};
use crate::zxid::Zxid;
use crate::QuorumDirection as Direction;
use zkwire_jute::error::{complete, from_nom};
use zkwire_jute::jute_record as record;
use zkwire_jute::DecodeError;

/// The protocol version Zab 1.0 peers announce (`0x10000`, in LearnerInfo and LEADERINFO).
pub const ZAB_1_0_PROTOCOL_VERSION: i32 = 0x10000;

/// FOLLOWERINFO / OBSERVERINFO data (`LearnerInfo` in `zookeeper.jute`, read positionally by
/// upstream `LearnerHandler.run`). Older learners send shorter forms: 3.3 sends only the sid
/// (8 bytes), 3.4 adds `protocolVersion` (12), 3.5+ adds `configVersion` (20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LearnerInfo {
    /// The learner's server id (`serverid`).
    pub server_id: i64,
    /// Protocol version (`0x10000`); `None` for a 3.3 learner.
    pub protocol_version: Option<i32>,
    /// Version of the learner's last activated config (3.5+); `None` before 3.5. Only
    /// meaningful (and only encoded) when `protocol_version` is present.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::opt_hex64"))]
    pub config_version: Option<i64>,
}

/// Decodes LearnerInfo from a complete data buffer of 8, 12 or 20 bytes.
pub fn decode_learner_info(data: &[u8]) -> Result<LearnerInfo, DecodeError> {
    fn at<const N: usize>(d: &[u8], o: usize) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&d[o..o + N]);
        a
    }
    match data.len() {
        8 | 12 | 20 => Ok(LearnerInfo {
            server_id: i64::from_be_bytes(at(data, 0)),
            protocol_version: (data.len() >= 12).then(|| i32::from_be_bytes(at(data, 8))),
            config_version: (data.len() == 20).then(|| i64::from_be_bytes(at(data, 12))),
        }),
        n => Err(DecodeError::Invalid {
            what: if n < 8 {
                "LearnerInfo shorter than 8 bytes"
            } else {
                "LearnerInfo length (not 8, 12 or 20)"
            },
            offset: 0,
        }),
    }
}

impl Encode for LearnerInfo {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.server_id.encode(out);
        if let Some(p) = self.protocol_version {
            p.encode(out);
            if let Some(c) = self.config_version {
                c.encode(out);
            }
        }
    }
}

record! {
    /// One `(sessionId, timeout)` pair: an entry of a learner PING, a REVALIDATE request body,
    /// and an element of the snapshot stream's session table.
    pub struct SessionTimeout {
        /// Session id.
        #[cfg_attr(feature = "serde", serde(rename = "session", serialize_with = "crate::ser::hex64"))]
        pub session_id: i64,
        /// Session timeout, ms.
        pub timeout: i32,
    }
    /// Parses a [`SessionTimeout`] (12 bytes).
    fn parse_session_timeout;
}

/// The session-touch table of a learner → leader PING: zero or more 12-byte
/// [`SessionTimeout`] entries with no count (the leader reads until the buffer ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PingSessions<'a> {
    raw: &'a [u8],
}

impl<'a> PingSessions<'a> {
    /// Wraps a data buffer; its length must be a multiple of 12.
    pub fn new(raw: &'a [u8]) -> Result<Self, DecodeError> {
        if raw.len() % 12 == 0 {
            Ok(PingSessions { raw })
        } else {
            Err(DecodeError::TrailingBytes {
                count: raw.len() % 12,
            })
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.raw.len() / 12
    }

    /// Whether the table is empty (the common case).
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The raw table bytes.
    pub fn raw_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Iterates over the entries.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SessionTimeout> + 'a {
        self.raw.chunks_exact(12).map(|c| {
            let mut s = [0u8; 8];
            s.copy_from_slice(&c[..8]);
            let mut t = [0u8; 4];
            t.copy_from_slice(&c[8..]);
            SessionTimeout {
                session_id: i64::from_be_bytes(s),
                timeout: i32::from_be_bytes(t),
            }
        })
    }
}

impl Encode for PingSessions<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        out.write_bytes(self.raw);
    }
}

/// Body of a forwarded request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedBody<'a> {
    /// createSession (-10): a `CreateSessionTxn` (global session creation or local-session
    /// upgrade); this never appears on the client port, so zk-proto has no request body for it.
    CreateSession(CreateSessionTxn),
    /// Any other opcode: the body exactly as on the client port (closeSession is empty).
    Client(RequestBody<'a>),
}

impl Encode for ForwardedBody<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        match self {
            ForwardedBody::CreateSession(c) => c.encode(out),
            ForwardedBody::Client(b) => b.encode(out),
        }
    }
}

/// REQUEST data (upstream `Learner.request`, read by `LearnerHandler.run`): the client request
/// a learner forwards to the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestData<'a> {
    /// The client's session id.
    pub session_id: i64,
    /// The client's xid (0 for server-generated requests).
    pub cxid: i32,
    /// Client opcode (`type` on the wire); always a known, forwardable one after a
    /// successful decode.
    pub op: OpCode,
    /// The request body.
    pub body: ForwardedBody<'a>,
}

/// Decodes REQUEST data (must be consumed exactly).
pub fn decode_request_data(data: &[u8]) -> Result<RequestData<'_>, DecodeError> {
    fn head(i: &[u8]) -> IResult<&[u8], (i64, i32, i32)> {
        let (i, s) = parse_long(i)?;
        let (i, c) = parse_int(i)?;
        let (i, t) = parse_int(i)?;
        Ok((i, (s, c, t)))
    }
    let (rest, (session_id, cxid, op)) = head(data).map_err(|e| from_nom(data, e))?;
    let op = OpCode::from_i32(op);
    let body = match op {
        OpCode::CreateSession => {
            ForwardedBody::CreateSession(complete(data, parse_create_session_txn(rest))?)
        }
        OpCode::Unknown(_) | OpCode::Notification | OpCode::Error => {
            return Err(DecodeError::UnknownOpcode(op.as_i32()))
        }
        code => ForwardedBody::Client(complete(data, parse_request_body(code, rest))?),
    };
    Ok(RequestData {
        session_id,
        cxid,
        op,
        body,
    })
}

impl Encode for RequestData<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.session_id.encode(out);
        self.cxid.encode(out);
        self.op.as_i32().encode(out);
        self.body.encode(out);
    }
}

/// A decoded QuorumPacket: one variant per type (and per direction where the layout differs).
/// Every variant carries the packet's `zxid`, whose meaning depends on the type (as upstream
/// `Leader`, `LearnerHandler` and `Learner` fill it).
///
/// `authinfo` is kept only for REQUEST, the one type that carries it; for other types it is
/// always null in practice and remains available on the [`QuorumPacket`].
///
/// With the `serde` feature a packet serializes as a map
/// `{type, type_code, zxid, zxid_hex, …type-specific fields}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Packet<'a> {
    /// REQUEST (1), learner → leader.
    Request {
        /// Always -1 in practice.
        zxid: Zxid,
        /// The forwarded request.
        request: RequestData<'a>,
        /// The client connection's auth ids (null when none).
        authinfo: JuteVec<'a, Id<'a>>,
    },
    /// PROPOSAL (2), leader → follower.
    Proposal {
        /// The transaction's zxid.
        zxid: Zxid,
        /// The transaction.
        txn: TxnEntry<'a>,
    },
    /// ACK (3), learner → leader.
    Ack {
        /// Acknowledged zxid (`newEpoch<<32` for the NEWLEADER / UPTODATE acks).
        zxid: Zxid,
    },
    /// COMMIT (4), leader → follower.
    Commit {
        /// Committed zxid.
        zxid: Zxid,
    },
    /// PING (5). Leader → learner pings have null data (`sessions: None`); learner → leader
    /// pings carry a (possibly empty) session table.
    Ping {
        /// Leader: its last proposed zxid; learner: echoes the leader's.
        zxid: Zxid,
        /// Sessions touched since the last ping (learner → leader only).
        sessions: Option<PingSessions<'a>>,
    },
    /// REVALIDATE (6) learner → leader: a client re-attached a session at the learner.
    RevalidateRequest {
        /// -1.
        zxid: Zxid,
        /// The session.
        session_id: i64,
        /// Requested timeout, ms.
        timeout: i32,
    },
    /// REVALIDATE (6) leader → learner: whether the session is still valid.
    RevalidateReply {
        /// -1.
        zxid: Zxid,
        /// The session.
        session_id: i64,
        /// Whether the session is valid.
        valid: bool,
    },
    /// SYNC (7), leader → learner: answer to a forwarded sync.
    Sync {
        /// 0.
        zxid: Zxid,
    },
    /// INFORM (8), leader → observer: a committed transaction.
    Inform {
        /// The transaction's zxid.
        zxid: Zxid,
        /// The transaction.
        txn: TxnEntry<'a>,
    },
    /// COMMITANDACTIVATE (9), leader → follower: commit of a reconfig txn (3.5+).
    CommitAndActivate {
        /// The reconfig transaction's zxid.
        zxid: Zxid,
        /// The leader the new config designates.
        designated_leader: i64,
    },
    /// NEWLEADER (10), leader → learner.
    NewLeader {
        /// `newEpoch<<32`.
        zxid: Zxid,
        /// The config text (3.5+); `None` when data is null (≤ 3.4, or pre-1.0 learners).
        config: Option<JuteStr<'a>>,
    },
    /// FOLLOWERINFO (11), follower → leader, first packet.
    FollowerInfo {
        /// 3.4+: `acceptedEpoch<<32`; 3.3: last logged zxid.
        zxid: Zxid,
        /// The LearnerInfo; `None` when data is null.
        info: Option<LearnerInfo>,
    },
    /// UPTODATE (12), leader → learner.
    UpToDate {
        /// -1.
        zxid: Zxid,
    },
    /// DIFF (13), leader → learner; PROPOSAL/COMMIT pairs follow.
    Diff {
        /// Last committed zxid the learner will have after the diff.
        zxid: Zxid,
    },
    /// TRUNC (14), leader → learner.
    Trunc {
        /// zxid to truncate back to.
        zxid: Zxid,
    },
    /// SNAP (15), leader → learner; a raw snapshot stream follows (see
    /// [`crate::snapshot`]).
    Snap {
        /// The leader's last processed zxid.
        zxid: Zxid,
    },
    /// OBSERVERINFO (16), observer → leader, first packet.
    ObserverInfo {
        /// As for FOLLOWERINFO.
        zxid: Zxid,
        /// The LearnerInfo; `None` when data is null.
        info: Option<LearnerInfo>,
    },
    /// LEADERINFO (17), leader → learner, first packet (3.4+).
    LeaderInfo {
        /// `newEpoch<<32`.
        zxid: Zxid,
        /// `0x10000`.
        protocol_version: i32,
    },
    /// ACKEPOCH (18), learner → leader (3.4+).
    AckEpoch {
        /// The learner's last logged zxid.
        zxid: Zxid,
        /// The learner's current epoch, or -1 if it had already accepted this epoch.
        current_epoch: i32,
    },
    /// INFORMANDACTIVATE (19), leader → observer: a reconfig txn (3.5+).
    InformAndActivate {
        /// The reconfig transaction's zxid.
        zxid: Zxid,
        /// The leader the new config designates.
        designated_leader: i64,
        /// The transaction.
        txn: TxnEntry<'a>,
    },
}

impl PacketType {
    /// The only direction this type is sent in, or `None` for PING and REVALIDATE (both).
    pub const fn direction(self) -> Option<Direction> {
        use PacketType::*;
        match self {
            Ping | Revalidate => None,
            Request | Ack | FollowerInfo | ObserverInfo | AckEpoch => {
                Some(Direction::LearnerToLeader)
            }
            Proposal | Commit | Sync | Inform | CommitAndActivate | NewLeader | UpToDate | Diff
            | Trunc | Snap | LeaderInfo | InformAndActivate => Some(Direction::LeaderToLearner),
        }
    }
}

impl<'a> Packet<'a> {
    /// The packet type.
    pub const fn packet_type(&self) -> PacketType {
        use Packet::*;
        match self {
            Request { .. } => PacketType::Request,
            Proposal { .. } => PacketType::Proposal,
            Ack { .. } => PacketType::Ack,
            Commit { .. } => PacketType::Commit,
            Ping { .. } => PacketType::Ping,
            RevalidateRequest { .. } | RevalidateReply { .. } => PacketType::Revalidate,
            Sync { .. } => PacketType::Sync,
            Inform { .. } => PacketType::Inform,
            CommitAndActivate { .. } => PacketType::CommitAndActivate,
            NewLeader { .. } => PacketType::NewLeader,
            FollowerInfo { .. } => PacketType::FollowerInfo,
            UpToDate { .. } => PacketType::UpToDate,
            Diff { .. } => PacketType::Diff,
            Trunc { .. } => PacketType::Trunc,
            Snap { .. } => PacketType::Snap,
            ObserverInfo { .. } => PacketType::ObserverInfo,
            LeaderInfo { .. } => PacketType::LeaderInfo,
            AckEpoch { .. } => PacketType::AckEpoch,
            InformAndActivate { .. } => PacketType::InformAndActivate,
        }
    }

    /// The packet's zxid field.
    pub const fn zxid(&self) -> Zxid {
        use Packet::*;
        match *self {
            Request { zxid, .. }
            | Proposal { zxid, .. }
            | Ack { zxid }
            | Commit { zxid }
            | Ping { zxid, .. }
            | RevalidateRequest { zxid, .. }
            | RevalidateReply { zxid, .. }
            | Sync { zxid }
            | Inform { zxid, .. }
            | CommitAndActivate { zxid, .. }
            | NewLeader { zxid, .. }
            | FollowerInfo { zxid, .. }
            | UpToDate { zxid }
            | Diff { zxid }
            | Trunc { zxid }
            | Snap { zxid }
            | ObserverInfo { zxid, .. }
            | LeaderInfo { zxid, .. }
            | AckEpoch { zxid, .. }
            | InformAndActivate { zxid, .. } => zxid,
        }
    }

    /// The direction this packet travels in, when its type or layout implies one.
    pub const fn direction(&self) -> Option<Direction> {
        match self {
            Packet::Ping { sessions: None, .. } | Packet::RevalidateReply { .. } => {
                Some(Direction::LeaderToLearner)
            }
            Packet::Ping { .. } | Packet::RevalidateRequest { .. } => {
                Some(Direction::LearnerToLeader)
            }
            _ => self.packet_type().direction(),
        }
    }

    /// The transaction, for PROPOSAL, INFORM and INFORMANDACTIVATE.
    pub const fn txn(&self) -> Option<&TxnEntry<'a>> {
        match self {
            Packet::Proposal { txn, .. }
            | Packet::Inform { txn, .. }
            | Packet::InformAndActivate { txn, .. } => Some(txn),
            _ => None,
        }
    }

    /// Whether a raw snapshot stream follows this packet (SNAP only).
    pub const fn followed_by_snapshot_stream(&self) -> bool {
        matches!(self, Packet::Snap { .. })
    }

    /// Encodes the `data` buffer contents (`None` = null).
    pub fn encode_data(&self) -> Option<Vec<u8>> {
        use Packet::*;
        let mut out = Vec::new();
        match self {
            Request { request, .. } => request.encode(&mut out),
            Proposal { txn, .. } | Inform { txn, .. } => txn.encode(&mut out),
            Ack { .. }
            | Commit { .. }
            | Sync { .. }
            | UpToDate { .. }
            | Diff { .. }
            | Trunc { .. }
            | Snap { .. }
            | Ping { sessions: None, .. }
            | NewLeader { config: None, .. }
            | FollowerInfo { info: None, .. }
            | ObserverInfo { info: None, .. } => return None,
            Ping {
                sessions: Some(s), ..
            } => s.encode(&mut out),
            RevalidateRequest {
                session_id,
                timeout,
                ..
            } => {
                session_id.encode(&mut out);
                timeout.encode(&mut out);
            }
            RevalidateReply {
                session_id, valid, ..
            } => {
                session_id.encode(&mut out);
                valid.encode(&mut out);
            }
            CommitAndActivate {
                designated_leader, ..
            } => designated_leader.encode(&mut out),
            NewLeader {
                config: Some(c), ..
            } => out.extend_from_slice(c.as_bytes()),
            FollowerInfo { info: Some(i), .. } | ObserverInfo { info: Some(i), .. } => {
                i.encode(&mut out)
            }
            LeaderInfo {
                protocol_version, ..
            } => protocol_version.encode(&mut out),
            AckEpoch { current_epoch, .. } => current_epoch.encode(&mut out),
            InformAndActivate {
                designated_leader,
                txn,
                ..
            } => {
                designated_leader.encode(&mut out);
                txn.encode(&mut out);
            }
        }
        Some(out)
    }

    /// The authinfo written with this packet (non-null only for REQUEST).
    pub fn authinfo(&self) -> JuteVec<'a, Id<'a>> {
        match self {
            Packet::Request { authinfo, .. } => *authinfo,
            _ => JuteVec::null(),
        }
    }
}

impl Encode for Packet<'_> {
    /// Writes the whole QuorumPacket record.
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.packet_type().as_i32().encode(out);
        self.zxid().encode(out);
        write_buffer(out, self.encode_data().as_deref());
        self.authinfo().encode(out);
    }
}

fn check_direction(
    t: PacketType,
    actual: Direction,
    hint: Option<Direction>,
) -> Result<(), DecodeError> {
    match hint {
        Some(d) if d != actual => Err(DecodeError::DirectionMismatch {
            packet: t.name(),
            direction: d.as_str(),
        }),
        _ => Ok(()),
    }
}

fn exact<const N: usize>(t: PacketType, data: Option<&[u8]>) -> Result<[u8; N], DecodeError> {
    match data {
        Some(d) if d.len() == N => {
            let mut a = [0u8; N];
            a.copy_from_slice(d);
            Ok(a)
        }
        _ => Err(DecodeError::UnexpectedDataLength {
            packet: t.name(),
            len: data.map(<[u8]>::len),
        }),
    }
}

fn required(t: PacketType, data: Option<&[u8]>) -> Result<&[u8], DecodeError> {
    data.ok_or(DecodeError::UnexpectedDataLength {
        packet: t.name(),
        len: None,
    })
}

/// Shifts error offsets reported relative to `data[skip..]` so they are relative to `data`.
fn shift(e: DecodeError, skip: usize) -> DecodeError {
    match e {
        DecodeError::Invalid { what, offset } => DecodeError::Invalid {
            what,
            offset: offset + skip,
        },
        e => e,
    }
}

/// Decodes a QuorumPacket's `data` according to its type (as upstream `LearnerHandler`,
/// `Learner`, `Follower` and `Observer` write and read it).
///
/// `direction` is an optional hint (from the TCP ports): when given, a type or layout that
/// only exists in the other direction is an error. Without it, PING and REVALIDATE are told
/// apart by their (unambiguous) data shape. Errors: unknown type, a data length the type never
/// has, undecodable or left-over data, unknown request opcode or txn type — never a panic and
/// never a guess. Error offsets are relative to the `data` buffer.
pub fn decode_packet<'a>(
    qp: &QuorumPacket<'a>,
    direction: Option<Direction>,
) -> Result<Packet<'a>, DecodeError> {
    use PacketType as T;
    let t = PacketType::from_i32(qp.packet_type)
        .ok_or(DecodeError::UnknownPacketType(qp.packet_type))?;
    if let Some(fixed) = t.direction() {
        check_direction(t, fixed, direction)?;
    }
    let zxid = qp.zxid;
    let data = qp.data;
    // Types whose data is always null: an empty buffer is accepted too (same meaning to the
    // Java reader, which ignores the field), anything else is not a layout the type has.
    let no_data = || match data {
        None | Some([]) => Ok(()),
        Some(d) => Err(DecodeError::UnexpectedDataLength {
            packet: t.name(),
            len: Some(d.len()),
        }),
    };
    Ok(match t {
        T::Request => Packet::Request {
            zxid,
            request: decode_request_data(required(t, data)?)?,
            authinfo: qp.authinfo,
        },
        T::Proposal => Packet::Proposal {
            zxid,
            txn: decode_txn_entry(required(t, data)?)?,
        },
        T::Inform => Packet::Inform {
            zxid,
            txn: decode_txn_entry(required(t, data)?)?,
        },
        T::Ack => no_data().map(|_| Packet::Ack { zxid })?,
        T::Commit => no_data().map(|_| Packet::Commit { zxid })?,
        T::Sync => no_data().map(|_| Packet::Sync { zxid })?,
        T::UpToDate => no_data().map(|_| Packet::UpToDate { zxid })?,
        T::Diff => no_data().map(|_| Packet::Diff { zxid })?,
        T::Trunc => no_data().map(|_| Packet::Trunc { zxid })?,
        T::Snap => no_data().map(|_| Packet::Snap { zxid })?,
        T::Ping => match data {
            None => {
                check_direction(t, Direction::LeaderToLearner, direction)?;
                Packet::Ping {
                    zxid,
                    sessions: None,
                }
            }
            Some(d) => {
                check_direction(t, Direction::LearnerToLeader, direction)?;
                Packet::Ping {
                    zxid,
                    sessions: Some(PingSessions::new(d)?),
                }
            }
        },
        T::Revalidate => match data.map(<[u8]>::len) {
            Some(12) => {
                check_direction(t, Direction::LearnerToLeader, direction)?;
                let d = required(t, data)?;
                let (_, s) = parse_session_timeout(d).map_err(|e| from_nom(d, e))?;
                Packet::RevalidateRequest {
                    zxid,
                    session_id: s.session_id,
                    timeout: s.timeout,
                }
            }
            Some(9) => {
                check_direction(t, Direction::LeaderToLearner, direction)?;
                let d = required(t, data)?;
                let r: IResult<&[u8], (i64, bool)> =
                    parse_long(d).and_then(|(i, s)| parse_bool(i).map(|(i, v)| (i, (s, v))));
                let (session_id, valid) = complete(d, r)?;
                Packet::RevalidateReply {
                    zxid,
                    session_id,
                    valid,
                }
            }
            len => {
                return Err(DecodeError::UnexpectedDataLength {
                    packet: t.name(),
                    len,
                })
            }
        },
        T::CommitAndActivate => Packet::CommitAndActivate {
            zxid,
            designated_leader: i64::from_be_bytes(exact::<8>(t, data)?),
        },
        T::NewLeader => Packet::NewLeader {
            zxid,
            config: data.map(JuteStr),
        },
        T::FollowerInfo => Packet::FollowerInfo {
            zxid,
            info: data.map(decode_learner_info).transpose()?,
        },
        T::ObserverInfo => Packet::ObserverInfo {
            zxid,
            info: data.map(decode_learner_info).transpose()?,
        },
        T::LeaderInfo => Packet::LeaderInfo {
            zxid,
            protocol_version: i32::from_be_bytes(exact::<4>(t, data)?),
        },
        T::AckEpoch => Packet::AckEpoch {
            zxid,
            current_epoch: i32::from_be_bytes(exact::<4>(t, data)?),
        },
        T::InformAndActivate => {
            let d = required(t, data)?;
            let Some((leader, rest)) = d.split_first_chunk::<8>() else {
                return Err(DecodeError::UnexpectedDataLength {
                    packet: t.name(),
                    len: Some(d.len()),
                });
            };
            Packet::InformAndActivate {
                zxid,
                designated_leader: i64::from_be_bytes(*leader),
                txn: decode_txn_entry(rest).map_err(|e| shift(e, 8))?,
            }
        }
    })
}
