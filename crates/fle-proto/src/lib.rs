//! Zero-copy decoders and encoders for Apache ZooKeeper's leader-election protocol
//! (FastLeaderElection over `QuorumCnxManager`, the election port, default 3888), covering
//! ZooKeeper 3.3 – 3.10.
//!
//! * [`initial`] — the initiator's unframed initial message in all three generations (bare
//!   sid, protocol version -65536 with one address, -65535 with `|`-joined addresses),
//!   [`initial_message_boundary`] for stream framers, and the sid [`challenge`] rule.
//! * [`notification`] — notification payloads of 28, 36, 40 and 44 + N bytes, 4-byte
//!   length-prefix framing ([`notification_frame_len`]) and resynchronisation
//!   ([`plausible_notification_frame`]); observers' `Long.MIN_VALUE` votes are recognised
//!   ([`Notification::is_sentinel_vote`]).
//! * [`quorum_auth`] (re-exported from `zkwire-jute`, shared with the quorum port) — the
//!   optional quorum-SASL `QuorumAuthPacket`s between the initial message and the first frame.
//! * [`stream`] — sans-IO decoders that apply the rules above, including streams met mid-way:
//!   [`ElectionConnection`] for both directions of a connection (framed, decoded, each message
//!   attributed to the initiator's sid where the connection shows it) — the entry point for a
//!   capture —, [`ElectionSplitter`] for a [`zkwire_jute::Framer`] of your own, and
//!   [`ElectionStream`] for one direction with the buffer kept by the caller.
//!
//! How a connection looks on the wire: the initiator writes the initial message, then
//! (with quorum SASL) auth packets, then length-prefixed notifications; the acceptor writes
//! (auth packets and) notifications from its first byte and never states its own sid (the
//! [`stream`] module docs show how to name it from the initiators' addresses). A connection
//! from a lower to a higher sid carries only the initial message and is closed.
//!
//! # From notifications to an election
//!
//! A notification is one server's current vote, with no sender id and no election id of its
//! own; an election is read off many of them, the way upstream
//! `FastLeaderElection.lookForLeader` does:
//!
//! * **One `election_epoch`, one round.** [`Notification::election_epoch`] is the sender's
//!   logical clock: a server increments it when it starts looking, and a LOOKING server that
//!   hears a higher one adopts it and starts its vote over. LOOKING notifications that share an
//!   `election_epoch` belong to one election round. Within the round votes converge on the best
//!   candidate (highest `peer_epoch`, then `zxid`, then sid: `totalOrderPredicate`), and every
//!   change of vote is sent again to every voter.
//! * **A quorum ends the round.** A LOOKING server stops once a quorum of the votes of its
//!   round equal its own (`termPredicate`; `getVoteTracker` in recent releases) and no better
//!   vote arrives within `finalizeWait` (200 ms). It becomes LEADING, FOLLOWING or (an
//!   observer) OBSERVING. OBSERVING notifications never count as votes.
//! * **LEADING and FOLLOWING notifications name the established leader.** A server that is not
//!   looking answers each LOOKING notification with its current vote: its state, `leader` =
//!   the elected leader, `election_epoch` = the round that elected it. The answers that close a
//!   round thus state its outcome, and in a capture of a stable ensemble the leader shows as
//!   soon as any server looks.
//! * **A rejoining server may vote with an older epoch.** A restarted server starts its clock
//!   over (its first round is 1) and a server back from a partition missed the rounds held
//!   without it, so its LOOKING notifications can carry an `election_epoch` below the round
//!   that elected the current leader (or above it, after rounds it ran alone). They do not open
//!   a new round: LOOKING peers at a later round ignore them and answer with their own vote (so
//!   the laggard catches up), established servers answer LEADING/FOLLOWING. The rejoining
//!   server follows the leader once a quorum of those answers name it and the leader itself
//!   says LEADING (`lookForLeader`'s `outofelection` votes, `termPredicate` and
//!   `checkLeader`), and adopts their `election_epoch` whatever its own was. A lone LOOKING
//!   server answered by LEADING/FOLLOWING is a server joining, not an election.
//!
//! Grouping needs each notification's sender: [`ElectionEvent::Message`] carries the
//! initiator's sid, and the [`stream`] module docs show how to name the acceptor.
//!
//! Decoding never allocates and never sizes anything from a length field: addresses and
//! config text borrow the input (as [`zk_proto::JuteStr`], displayed lossily), address
//! lengths above [`initial::MAX_ADDR_LEN`] and frame lengths above [`PACKET_MAX_SIZE`] are
//! invalid rather than awaited. Every record implements [`zk_proto::Encode`].
//!
//! With the `serde` feature, decoded messages implement `serde::Serialize` with plain
//! snake_case names:
//!
//! * [`InitialMessage`] → `format` (`"old"`/`"v1"`/`"v2"`), `protocol_version` (null for the
//!   old format), `sid`, `election_addr` (list of every address).
//! * [`Notification`] → `format` (`"28"`/`"36"`/`"40"`/`"44+N"`), `size`, `state` (name),
//!   `leader`, `zxid` (number) and `zxid_hex` (`"0x…"`), `election_epoch`, `peer_epoch` and
//!   `version` (null when the format lacks them), `config` (text or null), `sentinel_vote`.
//! * [`QuorumAuthPacket`] → `status` (name), `token_len` (the token is never emitted).
//! * [`ElectionMessage`] → `{"initial": …}`, `{"quorum_auth": …}` or `{"notification": …}`.
//!
//! # Example
//!
//! ```
//! use fle_proto::{
//!     initial_message_boundary, notification_frame_len, parse_initial_message,
//!     decode_notification, Boundary, InitialFormat, ServerState, PACKET_MAX_SIZE,
//! };
//!
//! fn hex(s: &str) -> Vec<u8> {
//!     (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
//! }
//!
//! // An initiator stream: V1 initial message from sid 2 ("localhost:2784"), then one
//! // 28-byte notification frame (LOOKING, vote for sid 3, zxid 0x200000011, epoch 5).
//! let stream = hex(concat!(
//!     "ffffffffffff000000000000000000020000000e6c6f63616c686f73743a32373834",
//!     "0000001c00000000000000000000000300000002000000110000000000000005",
//! ));
//!
//! let Boundary::Complete(n) = initial_message_boundary(&stream) else { panic!() };
//! let (_, init) = parse_initial_message(&stream[..n]).unwrap();
//! assert_eq!(init.format, InitialFormat::V1);
//! assert_eq!(init.sid, 2);
//! assert_eq!(init.addresses().next().unwrap().to_string(), "localhost:2784");
//!
//! let rest = &stream[n..];
//! let Boundary::Complete(total) = notification_frame_len(rest, PACKET_MAX_SIZE) else { panic!() };
//! let note = decode_notification(&rest[4..total])?;
//! assert_eq!(note.state, ServerState::Looking);
//! assert_eq!((note.leader, note.zxid, note.election_epoch), (3, 0x2_0000_0011, 5));
//! assert_eq!(note.peer_epoch, None); // 28-byte format: receivers derive it from the zxid
//! assert_eq!(note.effective_peer_epoch(), 2);
//! assert!(!note.is_sentinel_vote());
//! # Ok::<(), fle_proto::DecodeError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![deny(missing_docs)]

pub mod initial;
pub mod notification;
#[cfg(feature = "serde")]
mod ser;
pub mod stream;

pub use initial::{
    challenge, decode_initial_message, initial_message_boundary, parse_initial_message, Addresses,
    ChallengeOutcome, InitialFormat, InitialMessage, PROTOCOL_VERSION_V1, PROTOCOL_VERSION_V2,
};
pub use notification::{
    decode_framed_notification, decode_notification, notification_frame_len,
    plausible_notification_frame, plausible_notification_frame_needs, Notification,
    NotificationFormat, ServerState, NO_VOTE, PACKET_MAX_SIZE,
};
pub use stream::{
    ElectionConnection, ElectionEvent, ElectionMessage, ElectionSplitter, ElectionStream, Sender,
    Step,
};
/// The quorum-SASL prelude, shared with the quorum port (from `zkwire-jute`).
pub use zkwire_jute::quorum_auth;
pub use zkwire_jute::quorum_auth::{
    decode_quorum_auth_packet, parse_quorum_auth_packet, quorum_auth_boundary,
    starts_with_quorum_auth, AuthStatus, QuorumAuthPacket, QUORUM_AUTH_MAGIC,
};
/// The one `Direction` of the workspace, defined in `zkwire-jute` and re-exported unchanged
/// (also by `zkwire-capture` and `zk-proto`): a capture handler's direction goes straight into
/// [`ElectionConnection::push`]. [`Direction::ToServer`] is initiator → acceptor (the acceptor
/// owns the election port).
pub use zkwire_jute::Direction;
pub use zkwire_jute::{nom, Boundary, DecodeError, Plausibility};
pub use zkwire_jute::{Encode, JuteStr};

/// Compiles and runs the README's example as a doctest, so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
