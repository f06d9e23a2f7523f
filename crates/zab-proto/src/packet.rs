//! The `QuorumPacket` record (`org.apache.zookeeper.server.quorum.QuorumPacket` in
//! `zookeeper.jute`) and the packet type codes (the constants of
//! `org.apache.zookeeper.server.quorum.Leader`).
//!
//! Every record on the quorum stream (apart from the SASL prelude and the raw snapshot after
//! SNAP) is a `QuorumPacket`: `int type, long zxid, buffer data, vector<Id> authinfo`. There is
//! no length prefix, so [`parse_quorum_packet`] is a *streaming* parser: missing bytes give
//! [`nom::Err::Incomplete`], malformed lengths give [`nom::Err::Error`].

use crate::zxid::Zxid;
use nom::IResult;
use zk_proto::jute::{
    parse_buffer, parse_int, parse_long, parse_vector, Buffer, Encode, JuteDecode, JuteVec,
};
use zk_proto::records::Id;

macro_rules! packet_types {
    ($( $(#[$m:meta])* $variant:ident = $val:literal, $name:literal; )*) => {
        /// Every QuorumPacket type (`Leader.java` constants, ZooKeeper 3.3 – 3.10).
        ///
        /// 0 and values ≥ 20 do not exist on the wire.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i32)]
        pub enum PacketType {
            $( $(#[$m])* $variant = $val, )*
        }

        impl PacketType {
            /// Every packet type, in numeric order.
            pub const ALL: &'static [PacketType] = &[$(PacketType::$variant,)*];

            /// The packet type for a wire value, if it is one of 1..=19.
            pub const fn from_i32(v: i32) -> Option<PacketType> {
                match v {
                    $( $val => Some(PacketType::$variant), )*
                    _ => None,
                }
            }

            /// ZooKeeper's name for the type, as `Leader.getPacketType` spells it
            /// (e.g. `"PROPOSAL"`, `"COMMITANDACTIVATE"`).
            pub const fn name(self) -> &'static str {
                match self { $( PacketType::$variant => $name, )* }
            }
        }
    };
}

packet_types! {
    /// 1: a client write (or sync/session op) forwarded by a learner.
    Request = 1, "REQUEST";
    /// 2: a transaction proposed by the leader to followers.
    Proposal = 2, "PROPOSAL";
    /// 3: a learner acknowledging a proposal (or NEWLEADER / UPTODATE).
    Ack = 3, "ACK";
    /// 4: the leader committing a zxid.
    Commit = 4, "COMMIT";
    /// 5: heartbeat, both directions (learners attach touched sessions).
    Ping = 5, "PING";
    /// 6: session revalidation, both directions.
    Revalidate = 6, "REVALIDATE";
    /// 7: answer to a forwarded sync request.
    Sync = 7, "SYNC";
    /// 8: a committed transaction sent to observers.
    Inform = 8, "INFORM";
    /// 9: commit of a reconfig transaction plus the designated leader (3.5+).
    CommitAndActivate = 9, "COMMITANDACTIVATE";
    /// 10: end of the leader's sync phase; carries the config text in 3.5+.
    NewLeader = 10, "NEWLEADER";
    /// 11: first packet of a follower (LearnerInfo).
    FollowerInfo = 11, "FOLLOWERINFO";
    /// 12: the learner may start serving.
    UpToDate = 12, "UPTODATE";
    /// 13: sync by replaying proposals.
    Diff = 13, "DIFF";
    /// 14: sync by truncating the learner's log.
    Trunc = 14, "TRUNC";
    /// 15: sync by full snapshot; a raw snapshot stream follows (leader → learner).
    Snap = 15, "SNAP";
    /// 16: first packet of an observer (LearnerInfo).
    ObserverInfo = 16, "OBSERVERINFO";
    /// 17: the leader's first packet (new epoch, protocol version) (3.4+).
    LeaderInfo = 17, "LEADERINFO";
    /// 18: the learner's answer to LEADERINFO (3.4+).
    AckEpoch = 18, "ACKEPOCH";
    /// 19: INFORM of a reconfig transaction plus the designated leader (3.5+).
    InformAndActivate = 19, "INFORMANDACTIVATE";
}

impl PacketType {
    /// The wire value.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// Whether a raw snapshot stream (not a QuorumPacket) follows this packet on the wire.
    ///
    /// Only `SNAP`, and only in the leader → learner direction (the learner never sends SNAP):
    /// after writing the SNAP record the leader serializes its whole database and the
    /// `"BenWasHere"` signature (upstream `LearnerHandler.run`, SNAP branch), then resumes
    /// QuorumPackets.
    pub const fn followed_by_snapshot_stream(self) -> bool {
        matches!(self, PacketType::Snap)
    }
}

impl std::fmt::Display for PacketType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One QuorumPacket as it appears on the wire, with `data` still undecoded.
///
/// Use [`crate::decode_packet`] (or [`QuorumPacket::decode`]) to interpret `data` by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumPacket<'a> {
    /// Packet type code (see [`PacketType`]); kept raw so unknown codes survive decoding.
    pub packet_type: i32,
    /// zxid field; its meaning depends on the type (as upstream `Leader`, `LearnerHandler` and
    /// `Learner` fill it).
    pub zxid: Zxid,
    /// Type-specific payload; `None` when null on the wire (length `-1`).
    pub data: Buffer<'a>,
    /// Auth ids of the forwarding client (REQUEST only); usually null.
    pub authinfo: JuteVec<'a, Id<'a>>,
}

impl<'a> QuorumPacket<'a> {
    /// The type, if known.
    pub fn kind(&self) -> Option<PacketType> {
        PacketType::from_i32(self.packet_type)
    }

    /// Decodes `data` according to the type; see [`crate::decode_packet`].
    pub fn decode(
        &self,
        direction: Option<crate::QuorumDirection>,
    ) -> Result<crate::Packet<'a>, crate::DecodeError> {
        crate::decode_packet(self, direction)
    }
}

/// Parses one QuorumPacket record (streaming: missing bytes → `Incomplete`).
///
/// The type is not checked here (the record itself is well-formed Jute whatever the type);
/// [`crate::decode_packet`] and [`crate::packet_boundary`] reject unknown types.
pub fn parse_quorum_packet(i: &[u8]) -> IResult<&[u8], QuorumPacket<'_>> {
    let (i, packet_type) = parse_int(i)?;
    let (i, zxid) = parse_long(i)?;
    let zxid = Zxid(zxid);
    let (i, data) = parse_buffer(i)?;
    let (i, authinfo) = parse_vector::<Id<'_>>(i)?;
    Ok((
        i,
        QuorumPacket {
            packet_type,
            zxid,
            data,
            authinfo,
        },
    ))
}

impl<'a> JuteDecode<'a> for QuorumPacket<'a> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_quorum_packet(i)
    }
}

impl Encode for QuorumPacket<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.packet_type.encode(out);
        self.zxid.encode(out);
        self.data.encode(out);
        self.authinfo.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip() {
        for (n, t) in PacketType::ALL.iter().enumerate() {
            assert_eq!(t.as_i32(), n as i32 + 1);
            assert_eq!(PacketType::from_i32(t.as_i32()), Some(*t));
        }
        assert_eq!(PacketType::from_i32(0), None);
        assert_eq!(PacketType::from_i32(20), None);
        assert_eq!(PacketType::Proposal.name(), "PROPOSAL");
        assert_eq!(
            PacketType::InformAndActivate.to_string(),
            "INFORMANDACTIVATE"
        );
        assert!(PacketType::Snap.followed_by_snapshot_stream());
        assert!(!PacketType::Diff.followed_by_snapshot_stream());
    }

    #[test]
    fn minimal_packet_and_incomplete() {
        let p = QuorumPacket {
            packet_type: 4,
            zxid: Zxid(0x1_0000_0001),
            data: None,
            authinfo: JuteVec::null(),
        };
        let b = p.to_bytes();
        assert_eq!(b.len(), 20);
        assert_eq!(parse_quorum_packet(&b), Ok((&[][..], p)));
        for n in 0..b.len() {
            assert!(matches!(
                parse_quorum_packet(&b[..n]),
                Err(nom::Err::Incomplete(_))
            ));
        }
        let mut bad = b.clone();
        bad[12..16].copy_from_slice(&(-2i32).to_be_bytes());
        assert!(matches!(parse_quorum_packet(&bad), Err(nom::Err::Error(_))));
    }
}
