//! The sans-IO decoder of one quorum connection (`org.apache.zookeeper.server.quorum.Learner`
//! ↔ `LearnerHandler`): push the reassembled bytes of each direction, get typed
//! [`QuorumEvent`]s back.
//!
//! * [`QuorumSplitter`] cuts one direction into records for a [`Framer`]: quorum-SASL packets
//!   (recognised by their magic), QuorumPackets (walked field by field: the stream has no
//!   length prefix) and, once after SNAP in the leader → learner direction, the raw snapshot
//!   stream, which is passed over piecewise ([`Boundary::Discard`]) however large it is.
//! * [`QuorumConnection`] frames both directions, decodes each record with the direction as a
//!   hint, and attributes the connection to its learner's server id (from FOLLOWERINFO or
//!   OBSERVERINFO).
//!
//! [`QuorumConnection::push`] takes a [`QuorumDirection`], which converts from the TCP
//! direction a capture reports: `QuorumDirection: From<`[`zkwire_jute::Direction`]`>`, the TCP
//! client of a quorum connection being the learner (the leader, or observer master, owns the
//! quorum port). `Direction` is the workspace's one type (re-exported by `zkwire-capture`), so
//! in a `zkwire_capture::StreamHandler` the call is `conn.push(dir.into(), bytes, &mut sink)`.
//!
//! A capture of several quorum links (the leader's connections to each of its followers)
//! shows each PROPOSAL once per follower, and likewise each COMMIT (and each INFORM once per
//! observer): the leader sends the same packet on every connection. Count transactions by
//! zxid, not by packet, and read the [`Learner`] of each event to tell the copies apart.
//!
//! ```
//! use zab_proto::stream::{QuorumConnection, QuorumEvent};
//! use zab_proto::{Packet, QuorumDirection};
//!
//! // A COMMIT of zxid 0x100000001, leader → learner, arriving in two pieces.
//! let commit = [0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
//! let mut conn = QuorumConnection::new(true);
//! let mut zxids = Vec::new();
//! for piece in [&commit[..7], &commit[7..]] {
//!     conn.push(QuorumDirection::LeaderToLearner, piece, &mut |ev| {
//!         if let QuorumEvent::Packet { packet: Packet::Commit { zxid }, .. } = ev {
//!             zxids.push(zxid.to_hex());
//!         }
//!     });
//! }
//! assert_eq!(zxids, ["0x100000001"]);
//! ```

use crate::boundary::{packet_boundary, plausible_packet_start};
use crate::data::{decode_packet, Packet};
use crate::packet::{parse_quorum_packet, PacketType};
use crate::snapshot::{Scan, SnapshotScanner};
use crate::zxid::Zxid;
use crate::QuorumDirection;
use zkwire_jute::jute::int_at;
use zkwire_jute::quorum_auth::{decode_quorum_auth_packet, quorum_auth_boundary};
use zkwire_jute::quorum_auth::{starts_with_quorum_auth, QuorumAuthPacket};
use zkwire_jute::{
    Boundary, DecodeError, Framer, FramerEvent, FramerStats, Plausibility, Splitter,
};

/// Splits one direction of a quorum connection into records.
#[derive(Debug)]
pub struct QuorumSplitter {
    leader_to_learner: bool,
    snapshot: Option<SnapshotScanner>,
}

impl QuorumSplitter {
    /// A splitter for one direction (only leader → learner carries a snapshot stream).
    pub fn new(direction: QuorumDirection) -> Self {
        QuorumSplitter {
            leader_to_learner: direction == QuorumDirection::LeaderToLearner,
            snapshot: None,
        }
    }

    /// Passes over the snapshot stream, piece by piece.
    fn snapshot_len(&mut self, buf: &[u8]) -> Boundary {
        let Some(scanner) = &mut self.snapshot else {
            return self.record_len(buf);
        };
        match scanner.feed(buf) {
            Ok(Scan::Done { consumed }) => {
                self.snapshot = None;
                if consumed > 0 {
                    Boundary::Discard(consumed)
                } else {
                    self.record_len(buf)
                }
            }
            Ok(Scan::NeedMore { consumed, .. }) if consumed > 0 => Boundary::Discard(consumed),
            Ok(Scan::NeedMore { needed, .. }) => Boundary::Incomplete(buf.len() + needed.max(1)),
            Err(_) => {
                self.snapshot = None;
                Boundary::Invalid
            }
        }
    }

    fn record_len(&mut self, buf: &[u8]) -> Boundary {
        match starts_with_quorum_auth(buf) {
            Plausibility::Yes => return quorum_auth_boundary(buf),
            Plausibility::NeedMore => return Boundary::Incomplete(buf.len() + 1),
            Plausibility::No => {}
        }
        let len = packet_boundary(buf);
        if let Boundary::Complete(_) = len {
            let snap = int_at(buf, 0)
                .and_then(PacketType::from_i32)
                .is_some_and(PacketType::followed_by_snapshot_stream);
            if snap && self.leader_to_learner {
                self.snapshot = Some(SnapshotScanner::new());
            }
        }
        len
    }
}

impl Splitter for QuorumSplitter {
    fn frame_len(&mut self, buf: &[u8]) -> Boundary {
        self.snapshot_len(buf)
    }

    fn plausible(&mut self, buf: &[u8]) -> Plausibility {
        plausible_packet_start(buf)
    }

    fn resynced(&mut self) {
        // A snapshot cannot be resumed from its middle.
        self.snapshot = None;
    }
}

/// Who the learner end of a connection is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Learner {
    /// Its server id, once its FOLLOWERINFO or OBSERVERINFO was seen.
    pub sid: Option<i64>,
    /// Whether it announced itself as an observer (OBSERVERINFO).
    pub observer: bool,
}

/// What a [`QuorumConnection`] found in the stream.
#[derive(Debug)]
#[non_exhaustive]
pub enum QuorumEvent<'a> {
    /// A QuorumPacket, decoded.
    Packet {
        /// Which way it travelled.
        direction: QuorumDirection,
        /// The packet.
        packet: Packet<'a>,
        /// The record's size on the wire.
        size: usize,
        /// The connection's learner as known after this packet.
        learner: Learner,
    },
    /// A quorum-SASL packet (`None` when its magic was right but the rest did not decode).
    QuorumAuth {
        /// Which way it travelled.
        direction: QuorumDirection,
        /// The packet.
        auth: Option<QuorumAuthPacket<'a>>,
        /// The record's size on the wire.
        size: usize,
    },
    /// A record that did not decode.
    BadPacket {
        /// Which way it travelled.
        direction: QuorumDirection,
        /// Why.
        error: DecodeError,
        /// The record's type code, when readable.
        packet_type: Option<i32>,
        /// The record's zxid field, when readable.
        zxid: Option<Zxid>,
        /// The record.
        record: &'a [u8],
    },
    /// Bytes of the snapshot stream after SNAP, passed over without being decoded.
    Snapshot {
        /// How many bytes.
        bytes: u64,
    },
}

/// The decoder of one quorum connection (both directions).
///
/// [`push`](QuorumConnection::push) takes a [`QuorumDirection`]; from a capture's TCP
/// direction ([`zkwire_jute::Direction`], the one type `zkwire-capture` re-exports) convert
/// with `.into()`: `QuorumDirection: From<Direction>`, since the TCP client of a quorum
/// connection is the learner (`ToServer` → [`QuorumDirection::LearnerToLeader`], `ToClient` →
/// [`QuorumDirection::LeaderToLearner`]).
///
/// ```
/// use zab_proto::{QuorumConnection, QuorumDirection, QuorumEvent};
/// use zkwire_jute::Direction;
///
/// // What a capture handler gets: the server (leader) → client (learner) direction.
/// let dir = Direction::ToClient;
/// let commit = [0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
/// let mut conn = QuorumConnection::new(true);
/// let mut seen = Vec::new();
/// conn.push(dir.into(), &commit, &mut |ev| {
///     if let QuorumEvent::Packet { direction, .. } = ev {
///         seen.push(direction);
///     }
/// });
/// assert_eq!(seen, [QuorumDirection::LeaderToLearner]);
/// ```
#[derive(Debug)]
pub struct QuorumConnection {
    to_leader: Framer<QuorumSplitter>,
    to_learner: Framer<QuorumSplitter>,
    learner: Learner,
}

impl QuorumConnection {
    /// A decoder for a connection whose start was seen when `start_seen`, otherwise one met
    /// mid-stream, whose record boundaries are hunted.
    pub fn new(start_seen: bool) -> Self {
        let framer = |dir| Framer::new(QuorumSplitter::new(dir), start_seen);
        QuorumConnection {
            to_leader: framer(QuorumDirection::LearnerToLeader),
            to_learner: framer(QuorumDirection::LeaderToLearner),
            learner: Learner::default(),
        }
    }

    /// The learner end of the connection, as far as seen.
    pub fn learner(&self) -> Learner {
        self.learner
    }

    /// Bytes allocated for records not complete yet (both directions).
    pub fn buffered(&self) -> usize {
        self.to_leader.allocated() + self.to_learner.allocated()
    }

    /// The framers' counters: learner → leader, leader → learner.
    pub fn framer_stats(&self) -> (FramerStats, FramerStats) {
        (self.to_leader.stats, self.to_learner.stats)
    }

    /// Feeds the next in-order bytes of one direction. From a capture's
    /// [`zkwire_jute::Direction`] pass `dir.into()` (the TCP client is the learner).
    pub fn push(
        &mut self,
        direction: QuorumDirection,
        bytes: &[u8],
        sink: &mut dyn FnMut(QuorumEvent<'_>),
    ) {
        let QuorumConnection {
            to_leader,
            to_learner,
            learner,
        } = self;
        let framer = match direction {
            QuorumDirection::LearnerToLeader => to_leader,
            QuorumDirection::LeaderToLearner => to_learner,
        };
        framer.push(bytes, &mut |ev| match ev {
            FramerEvent::Message(record) => sink(decode_record(learner, direction, record)),
            FramerEvent::Discarded(bytes) => sink(QuorumEvent::Snapshot { bytes }),
            _ => {}
        });
    }

    /// Bytes of one direction were lost: drop its partial record and hunt for the next one.
    pub fn gap(&mut self, direction: QuorumDirection) {
        let framer = match direction {
            QuorumDirection::LearnerToLeader => &mut self.to_leader,
            QuorumDirection::LeaderToLearner => &mut self.to_learner,
        };
        framer.gap(&mut |_| {});
    }

    /// The connection ended: returns the bytes of records cut short.
    pub fn finish(&mut self) -> usize {
        self.to_leader.finish() + self.to_learner.finish()
    }
}

fn decode_record<'a>(
    learner: &mut Learner,
    direction: QuorumDirection,
    record: &'a [u8],
) -> QuorumEvent<'a> {
    let size = record.len();
    if starts_with_quorum_auth(record) == Plausibility::Yes {
        let auth = decode_quorum_auth_packet(record).ok();
        return QuorumEvent::QuorumAuth {
            direction,
            auth,
            size,
        };
    }
    let decoded = match parse_quorum_packet(record) {
        Ok((_, qp)) => decode_packet(&qp, Some(direction))
            .map_err(|e| (e, Some(qp.packet_type), Some(qp.zxid))),
        Err(e) => Err((zkwire_jute::error::from_nom(record, e), None, None)),
    };
    match decoded {
        Ok(packet) => {
            match &packet {
                Packet::FollowerInfo { info, .. } => {
                    learner.sid = info.as_ref().map(|l| l.server_id);
                }
                Packet::ObserverInfo { info, .. } => {
                    learner.sid = info.as_ref().map(|l| l.server_id);
                    learner.observer = true;
                }
                _ => {}
            }
            QuorumEvent::Packet {
                direction,
                packet,
                size,
                learner: *learner,
            }
        }
        Err((error, packet_type, zxid)) => QuorumEvent::BadPacket {
            direction,
            error,
            packet_type,
            zxid,
            record,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkwire_jute::Encode;

    const COMMIT: [u8; 20] = [
        0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];

    fn kinds(conn: &mut QuorumConnection, dir: QuorumDirection, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        conn.push(dir, bytes, &mut |ev| {
            out.push(match ev {
                QuorumEvent::Packet { packet, .. } => packet.packet_type().name().to_string(),
                QuorumEvent::QuorumAuth { auth, .. } => format!("auth {}", auth.is_some()),
                QuorumEvent::Snapshot { bytes } => format!("snapshot {bytes}"),
                QuorumEvent::BadPacket { error, .. } => format!("bad {error}"),
            })
        });
        out
    }

    #[test]
    fn auth_prelude_then_packets_in_one_stream() {
        let auth = QuorumAuthPacket {
            status: 1,
            token: Some(b"t"),
        };
        let mut bytes = auth.to_bytes();
        bytes.extend_from_slice(&COMMIT);
        let mut conn = QuorumConnection::new(true);
        let got = kinds(&mut conn, QuorumDirection::LeaderToLearner, &bytes);
        assert_eq!(got, ["auth true", "COMMIT"]);
    }

    #[test]
    fn a_commit_in_the_wrong_direction_is_a_counted_error_not_a_guess() {
        let mut conn = QuorumConnection::new(true);
        let got = kinds(&mut conn, QuorumDirection::LearnerToLeader, &COMMIT);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("bad "), "{got:?}");
    }

    #[test]
    fn mid_stream_start_hunts_past_garbage() {
        let mut conn = QuorumConnection::new(false);
        let mut bytes = vec![0x42; 5];
        bytes.extend_from_slice(&COMMIT);
        bytes.extend_from_slice(&COMMIT);
        let got = kinds(&mut conn, QuorumDirection::LeaderToLearner, &bytes);
        assert_eq!(got, ["COMMIT", "COMMIT"]);
        assert_eq!(conn.framer_stats().1.skipped_bytes, 5);
    }
}
