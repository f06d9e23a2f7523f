//! Record boundaries on the quorum stream, for a framer. The stream has **no length prefix**
//! (upstream `org.apache.zookeeper.server.quorum.Learner` and `LearnerHandler` write bare Jute
//! records back to back): a record's end is only found by walking its fields, which these
//! functions do without allocating and with work bounded by the buffer length.
//!
//! # What a framer must track per direction
//!
//! A connection carries, in order:
//! 1. optionally, the SASL prelude: zero or more [`QuorumAuthPacket`](crate::QuorumAuthPacket)s
//!    in each direction, each recognised by its 8-byte magic ([`crate::starts_with_quorum_auth`]);
//!    use [`crate::quorum_auth_boundary`] for their length. The magic can never start a QuorumPacket,
//!    so testing each record start for it is safe (no extra state needed);
//! 2. QuorumPackets: [`packet_boundary`];
//! 3. exactly once, in the **leader → learner** direction only, right after a `SNAP` packet
//!    (which follows LEADERINFO/ACKEPOCH in Zab 1.0, or NEWLEADER for 3.3 learners), a raw
//!    snapshot stream that is not a QuorumPacket: use
//!    [`crate::snapshot::SnapshotScanner`] (incremental) or
//!    [`crate::snapshot_stream_boundary`] (one buffer) until it ends, then go back to 2.
//!
//! [`crate::stream::QuorumSplitter`] does all of this for a [`zkwire_jute::Framer`].
//!
//! So the only state is one flag per leader → learner stream, "a snapshot stream is next",
//! set when a SNAP packet ([`PacketType::followed_by_snapshot_stream`]) has been framed, plus
//! the scanner while inside the snapshot. DIFF and TRUNC are followed by ordinary packets.
//!
//! After a gap (lost segments, capture started mid-connection), use
//! [`plausible_packet_start`] to find a new packet boundary; note that a gap inside a snapshot
//! stream cannot be resynchronised by grammar — scan for the 14-byte signature
//! `00 00 00 0a "BenWasHere"` followed by a plausible packet instead.

use crate::data::decode_packet;
use crate::packet::{parse_quorum_packet, PacketType};
use zkwire_jute::jute::{int_at, long_at};
use zkwire_jute::{Boundary, Plausibility};

/// Default ceiling for `data` and string lengths (64 MiB): far above ZooKeeper's 1 MiB
/// `jute.maxbuffer` default, because operators raise it.
pub const DEFAULT_MAX_DATA_LEN: u32 = 64 * 1024 * 1024;

/// Ceiling for `data` lengths used by [`plausible_packet_start`] (4 MiB): resynchronisation
/// must not wait for megabytes of noise on the strength of one random length field.
pub const PLAUSIBLE_MAX_DATA_LEN: u32 = 4 * 1024 * 1024;

/// Ceiling for the authinfo count in [`packet_boundary`] (a client has a handful of ids).
pub const MAX_AUTHINFO: u32 = 4096;

/// Ceiling for the authinfo count in [`plausible_packet_start`].
pub const PLAUSIBLE_MAX_AUTHINFO: u32 = 64;

/// Minimum size of a QuorumPacket (null data, null authinfo).
pub const MIN_PACKET_LEN: usize = 20;

/// Length of a Jute buffer/ustring payload from its prefix: `Some(0)` for null (-1), `None`
/// for other negatives or lengths above `max`.
fn payload_len(n: i32, max: u32) -> Option<usize> {
    match n {
        -1 => Some(0),
        n if n >= 0 && n as u32 <= max => Some(n as usize),
        _ => None,
    }
}

/// [`packet_boundary_with_limit`] with [`DEFAULT_MAX_DATA_LEN`].
pub fn packet_boundary(buf: &[u8]) -> Boundary {
    packet_boundary_with_limit(buf, DEFAULT_MAX_DATA_LEN)
}

/// Where the QuorumPacket starting at `buf[0]` ends. `Invalid` for an unknown type, a
/// negative (other than -1) or above-`max_data_len` data/string length, or an authinfo count
/// above [`MAX_AUTHINFO`]. Only lengths are walked; use [`crate::decode_packet`] on the
/// complete record to check its contents.
pub fn packet_boundary_with_limit(buf: &[u8], max_data_len: u32) -> Boundary {
    match int_at(buf, 0) {
        None => return Boundary::Incomplete(MIN_PACKET_LEN),
        Some(t) if PacketType::from_i32(t).is_none() => return Boundary::Invalid,
        Some(_) => {}
    }
    let Some(dlen) = int_at(buf, 12) else {
        return Boundary::Incomplete(MIN_PACKET_LEN);
    };
    let Some(dlen) = payload_len(dlen, max_data_len) else {
        return Boundary::Invalid;
    };
    let mut pos = 16 + dlen;
    let Some(count) = int_at(buf, pos) else {
        return Boundary::Incomplete(pos + 4);
    };
    pos += 4;
    let count = match count {
        -1 => 0,
        c if c >= 0 && c as u32 <= MAX_AUTHINFO => c as usize,
        _ => return Boundary::Invalid,
    };
    // Each Id is two ustrings of at least a 4-byte length each.
    let mut strings_left = count * 2;
    while strings_left > 0 {
        let Some(n) = int_at(buf, pos) else {
            return Boundary::Incomplete(pos + 4 * strings_left);
        };
        let Some(n) = payload_len(n, max_data_len) else {
            return Boundary::Invalid;
        };
        pos += 4 + n;
        strings_left -= 1;
        if pos > buf.len() {
            return Boundary::Incomplete(pos + 4 * strings_left);
        }
    }
    Boundary::Complete(pos)
}

/// Header-level plausibility of a packet at `b[0]`: type, zxid and the data length the type
/// can have. `None` when `b` is too short to judge, `Some(false)` as soon as anything visible
/// is wrong.
fn header_plausible(b: &[u8], max_data_len: u32) -> Option<bool> {
    use PacketType as T;
    let t = match PacketType::from_i32(int_at(b, 0)?) {
        Some(t) => t,
        None => return Some(false),
    };
    let zxid = long_at(b, 4)?;
    let zxid_ok = match t {
        // Always -1 on the wire.
        T::Request | T::Revalidate | T::UpToDate => zxid == -1,
        // Epochs grow by one per election; anything past 2^24 elections is noise.
        _ => (0..=0x00ff_ffff_ffff_ffff).contains(&zxid),
    };
    if !zxid_ok {
        return Some(false);
    }
    let d = int_at(b, 12)?;
    if d < -1 || (d > 0 && d as u32 > max_data_len) {
        return Some(false);
    }
    Some(match t {
        T::Ack | T::Commit | T::Sync | T::UpToDate | T::Diff | T::Trunc | T::Snap => d <= 0,
        T::Request => d >= 16,
        T::Proposal | T::Inform => d >= 32,
        T::InformAndActivate => d >= 40,
        T::Ping => d == -1 || d % 12 == 0,
        T::Revalidate => d == 12 || d == 9,
        T::CommitAndActivate => d == 8,
        T::NewLeader => true,
        T::FollowerInfo | T::ObserverInfo => matches!(d, -1 | 8 | 12 | 20),
        T::LeaderInfo | T::AckEpoch => d == 4,
    })
}

/// [`plausible_packet_start_with_limit`] with [`PLAUSIBLE_MAX_DATA_LEN`].
pub fn plausible_packet_start(buf: &[u8]) -> Plausibility {
    plausible_packet_start_with_limit(buf, PLAUSIBLE_MAX_DATA_LEN)
}

/// Whether `buf` plausibly starts at a QuorumPacket boundary, for resynchronisation after a
/// gap ([`Plausibility::NeedMore`] until the bytes at hand can tell).
///
/// Checks, failing fast on the first visible problem: a known type; a zxid of -1 where the
/// type always carries -1, else a non-negative zxid with epoch < 2^24; a data length the type
/// can have (e.g. 4 for LEADERINFO, 9 or 12 for REVALIDATE, null for COMMIT) and at most
/// `max_data_len`; an authinfo count of -1, or at most [`PLAUSIBLE_MAX_AUTHINFO`] on the
/// types that carry one. Once the whole packet is in `buf`, its data must decode with
/// [`crate::decode_packet`]; and when the next packet's 16-byte header is in `buf` too (and
/// the packet is not SNAP, which a snapshot stream follows), that header must be plausible.
pub fn plausible_packet_start_with_limit(buf: &[u8], max_data_len: u32) -> Plausibility {
    match packet_start(buf, max_data_len) {
        None => Plausibility::NeedMore,
        Some(yes) => Plausibility::from(yes),
    }
}

fn packet_start(buf: &[u8], max_data_len: u32) -> Option<bool> {
    if !header_plausible(buf, max_data_len)? {
        return Some(false);
    }
    let n = match packet_boundary_with_limit(buf, max_data_len) {
        Boundary::Complete(n) => n,
        Boundary::Incomplete(_) => return None,
        Boundary::Invalid | Boundary::Discard(_) => return Some(false),
    };
    let Ok((_, qp)) = parse_quorum_packet(&buf[..n]) else {
        return Some(false);
    };
    let auth_ok = qp.authinfo.is_null()
        || (matches!(
            qp.kind(),
            Some(PacketType::Request | PacketType::Ping | PacketType::Revalidate)
        ) && qp.authinfo.len() <= PLAUSIBLE_MAX_AUTHINFO as usize);
    if !auth_ok {
        return Some(false);
    }
    let Ok(p) = decode_packet(&qp, None) else {
        return Some(false);
    };
    if p.followed_by_snapshot_stream() {
        return Some(true);
    }
    // The next header only counts against us when it is visibly wrong.
    Some(header_plausible(&buf[n..], max_data_len) != Some(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: [u8; 20] = [
        0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];

    #[test]
    fn boundaries() {
        assert_eq!(packet_boundary(&COMMIT), Boundary::Complete(20));
        assert_eq!(packet_boundary(&COMMIT[..3]), Boundary::Incomplete(20));
        assert_eq!(packet_boundary(&COMMIT[..19]), Boundary::Incomplete(20));
        let mut bad = COMMIT;
        bad[3] = 20;
        assert_eq!(packet_boundary(&bad), Boundary::Invalid);
        let mut big = COMMIT;
        big[12..16].copy_from_slice(&0x7fff_ffffi32.to_be_bytes());
        assert_eq!(packet_boundary(&big), Boundary::Invalid);
        big[12..16].copy_from_slice(&100i32.to_be_bytes());
        assert_eq!(packet_boundary(&big), Boundary::Incomplete(120));
    }

    #[test]
    fn plausibility() {
        use Plausibility::{NeedMore, No, Yes};
        assert_eq!(plausible_packet_start(&COMMIT[..10]), NeedMore);
        assert_eq!(plausible_packet_start(&COMMIT), Yes);
        let mut two = COMMIT.to_vec();
        two.extend_from_slice(&COMMIT);
        assert_eq!(plausible_packet_start(&two), Yes);
        two[23] = 0x30;
        assert_eq!(plausible_packet_start(&two), No);
        // COMMIT with data is not a layout COMMIT has.
        let mut d = COMMIT;
        d[15] = 0;
        d[12..16].copy_from_slice(&4i32.to_be_bytes());
        assert_eq!(plausible_packet_start(&d), No);
        assert_eq!(plausible_packet_start(&[0x5f, 0x24, 0x35, 0x01]), No);
    }
}
