//! The raw snapshot stream a leader writes right after a `SNAP` packet (upstream
//! `LearnerHandler.run`, SNAP branch: `ZKDatabase.serializeSnapshot`, i.e.
//! `SerializeUtils.serializeSnapshot` and `DataTree.serialize`, then the `"BenWasHere"`
//! signature). It is *not* wrapped in a QuorumPacket and has no length, so its end is only
//! found by walking the grammar:
//!
//! ```text
//! int sessionCount;  (long sessionId, int timeout) * sessionCount
//! int aclCacheSize;  (long aclKey, vector<ACL> acls) * aclCacheSize
//! (ustring path, buffer data, long aclKey, StatPersisted stat)*   -- root first, path ""
//! ustring "/"                                                     -- end marker
//! ustring "BenWasHere"                                            -- signature
//! ```
//!
//! Two ways in:
//! * [`parse_snapshot_stream`] decodes a complete, buffered stream into lazy borrowed views
//!   (for tests, tools and small snapshots);
//! * [`SnapshotScanner`] finds the end incrementally, element by element, keeping only a few
//!   integers of state, so a framer can discard the (possibly gigabyte-sized) snapshot as it
//!   arrives. [`snapshot_stream_boundary`] is the one-shot form over a single buffer.
//!
//! Neither allocates, and lengths from the wire are checked against a ceiling before they are
//! waited for.

use nom::error::ErrorKind;
use nom::IResult;
use zk_proto::jute::{
    parse_int, parse_ustring, parse_vector, write_ustring, Buffer, Encode, JuteDecode, JuteStr,
    JuteVec, UString,
};
use zk_proto::records::Acl;

use crate::boundary::DEFAULT_MAX_DATA_LEN;
use crate::data::SessionTimeout;
use zkwire_jute::error::fail;
use zkwire_jute::jute_record as record;
use zkwire_jute::Boundary;
use zkwire_jute::DecodeError;

/// The signature that closes the stream (`"BenWasHere"`).
pub const SNAPSHOT_SIGNATURE: &[u8] = b"BenWasHere";

/// Size of an encoded [`StatPersisted`].
pub const STAT_PERSISTED_LEN: usize = 60;

record! {
    /// Persisted node metadata (60 bytes; no dataLength / numChildren, unlike `Stat`).
    pub struct StatPersisted {
        /// zxid of the create.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub czxid: i64,
        /// zxid of the last data change.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub mzxid: i64,
        /// Creation time, ms.
        pub ctime: i64,
        /// Last modification time, ms.
        pub mtime: i64,
        /// Data version.
        pub version: i32,
        /// Child list version.
        pub cversion: i32,
        /// ACL version.
        pub aversion: i32,
        /// Raw ephemeral owner: session id, 0, `0x8000000000000000` (container) or
        /// `0xff…` + 40-bit TTL (TTL node).
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub ephemeral_owner: i64,
        /// zxid of the last child-list change.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub pzxid: i64,
    }
    /// Parses a [`StatPersisted`].
    fn parse_stat_persisted;
}

record! {
    /// One entry of the ACL cache (`ReferenceCountedACLCache`).
    pub struct AclCacheEntry<'a> {
        /// Key nodes refer to (`-1`, OPEN_ACL_UNSAFE, is never in the cache).
        pub key: i64,
        /// The ACL list.
        pub acls: JuteVec<'a, Acl<'a>>,
    }
    /// Parses an [`AclCacheEntry`].
    fn parse_acl_cache_entry;
}

record! {
    /// One node of the data tree.
    pub struct SnapshotNode<'a> {
        /// Node path (`""` for the root, which comes first).
        pub path: UString<'a>,
        /// Node data.
        #[cfg_attr(feature = "serde", serde(rename = "data_len", serialize_with = "crate::ser::buf_len"))]
        pub data: Buffer<'a>,
        /// ACL cache key (`-1` = OPEN_ACL_UNSAFE).
        pub acl_key: i64,
        /// Metadata.
        pub stat: StatPersisted,
    }
    /// Parses a [`SnapshotNode`].
    fn parse_snapshot_node;
}

/// The node list of a snapshot stream (without the `"/"` end marker), decoded on iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotNodes<'a> {
    raw: &'a [u8],
}

impl<'a> SnapshotNodes<'a> {
    /// The raw node bytes.
    pub fn raw_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Iterates over the nodes (each was validated by [`parse_snapshot_stream`]).
    pub fn iter(&self) -> impl Iterator<Item = SnapshotNode<'a>> + 'a {
        let mut rest = self.raw;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            match parse_snapshot_node(rest) {
                Ok((r, n)) => {
                    rest = r;
                    Some(n)
                }
                Err(_) => {
                    // Unreachable for parsed streams; stop rather than panic.
                    rest = &[];
                    None
                }
            }
        })
    }
}

/// A fully buffered snapshot stream, decoded into borrowed, lazily iterated parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotStream<'a> {
    /// Session table (`sessionId`, `timeout`).
    pub sessions: JuteVec<'a, SessionTimeout>,
    /// ACL cache.
    pub acl_cache: JuteVec<'a, AclCacheEntry<'a>>,
    /// The nodes, root first.
    pub nodes: SnapshotNodes<'a>,
    /// The closing signature (always `"BenWasHere"` after a successful parse).
    pub signature: JuteStr<'a>,
}

fn non_negative_count(i: &[u8]) -> IResult<&[u8], ()> {
    let (_, n) = parse_int(i)?;
    if n < 0 {
        return fail(i, ErrorKind::Count);
    }
    Ok((i, ()))
}

/// Parses a complete snapshot stream (streaming: a cut stream gives `Incomplete`). A wrong
/// signature is an `ErrorKind::Tag` error. Work is linear in the input.
pub fn parse_snapshot_stream(i: &[u8]) -> IResult<&[u8], SnapshotStream<'_>> {
    let (i, ()) = non_negative_count(i)?;
    let (i, sessions) = parse_vector::<SessionTimeout>(i)?;
    let (i, ()) = non_negative_count(i)?;
    let (i, acl_cache) = parse_vector::<AclCacheEntry<'_>>(i)?;
    let start = i;
    let mut rest = i;
    let nodes_end;
    loop {
        let (r, path) = parse_ustring(rest)?;
        match path {
            Some(p) if p.as_bytes() == b"/" => {
                nodes_end = start.len() - rest.len();
                rest = r;
                break;
            }
            None => return fail(rest, ErrorKind::LengthValue),
            Some(_) => {}
        }
        let (r, _) = parse_snapshot_node(rest)?;
        rest = r;
    }
    let (r, sig) = parse_ustring(rest)?;
    match sig {
        Some(s) if s.as_bytes() == SNAPSHOT_SIGNATURE => Ok((
            r,
            SnapshotStream {
                sessions,
                acl_cache,
                nodes: SnapshotNodes {
                    raw: &start[..nodes_end],
                },
                signature: s,
            },
        )),
        _ => fail(rest, ErrorKind::Tag),
    }
}

impl Encode for SnapshotStream<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        // Counts are never -1 in a snapshot; write an empty table for a null view.
        self.sessions.wire_count().max(0).encode(out);
        out.write_bytes(self.sessions.raw_bytes());
        self.acl_cache.wire_count().max(0).encode(out);
        out.write_bytes(self.acl_cache.raw_bytes());
        out.write_bytes(self.nodes.raw);
        write_ustring(out, Some(JuteStr(b"/")));
        write_ustring(out, Some(self.signature));
    }
}

/// Writes a snapshot stream from parts (for tests and tools that synthesise traffic).
pub fn write_snapshot_stream<O: zkwire_jute::jute::Output + ?Sized>(
    out: &mut O,
    sessions: &[SessionTimeout],
    acl_cache: &[AclCacheEntry<'_>],
    nodes: &[SnapshotNode<'_>],
) {
    zk_proto::jute::write_vector(out, Some(sessions));
    zk_proto::jute::write_vector(out, Some(acl_cache));
    for n in nodes {
        n.encode(out);
    }
    write_ustring(out, Some(JuteStr(b"/")));
    write_ustring(out, Some(JuteStr(SNAPSHOT_SIGNATURE)));
}

/// Where a [`SnapshotScanner`] is in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    SessionCount,
    Sessions(u32),
    AclCount,
    AclEntries(u32),
    NodePath,
    NodeData(u64),
    NodeTail,
    Signature,
    Done,
}

/// Result of one [`SnapshotScanner::feed`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// The stream ended inside this buffer: `buf[..consumed]` was the rest of the snapshot,
    /// and `buf[consumed..]` starts the next QuorumPacket.
    Done {
        /// Bytes of this buffer that belonged to the snapshot.
        consumed: usize,
    },
    /// The snapshot continues: drop `buf[..consumed]`, keep the rest, and call again once at
    /// least `needed` more bytes are available beyond the end of this buffer.
    NeedMore {
        /// Bytes of this buffer the scanner is finished with.
        consumed: usize,
        /// Minimum number of additional bytes (beyond `buf.len()`) before progress is possible.
        needed: usize,
    },
}

/// Incremental, allocation-free finder of the end of a snapshot stream.
///
/// Feed it the bytes that follow the SNAP packet; it consumes whole grammar elements (node
/// data is skipped piecewise, so large values never need to be buffered) and remembers where
/// it is. Bytes it reports as consumed can be discarded. Once it reports [`Scan::Done`],
/// QuorumPackets resume at `buf[consumed..]`.
///
/// ```
/// use zab_proto::snapshot::{Scan, SnapshotScanner};
/// // Empty tree: no sessions, empty ACL cache, root node, "/" marker, signature.
/// let mut s = Vec::new();
/// zab_proto::snapshot::write_snapshot_stream(&mut s, &[], &[], &[]);
/// let mut scanner = SnapshotScanner::new();
/// // Only part of the stream has arrived: the 4-byte session count is consumed.
/// let Scan::NeedMore { consumed, .. } = scanner.feed(&s[..5])? else { unreachable!() };
/// assert_eq!(consumed, 4);
/// // The rest arrives (the framer kept the unconsumed byte).
/// assert_eq!(scanner.feed(&s[consumed..])?, Scan::Done { consumed: s.len() - consumed });
/// # Ok::<(), zab_proto::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SnapshotScanner {
    state: State,
    total: u64,
    max_len: u32,
}

impl Default for SnapshotScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl SnapshotScanner {
    /// A scanner at the start of a snapshot stream, with [`DEFAULT_MAX_DATA_LEN`] as the
    /// ceiling for path and node-data lengths.
    pub fn new() -> Self {
        Self::with_max_len(DEFAULT_MAX_DATA_LEN)
    }

    /// A scanner with an explicit ceiling for path and node-data lengths (longer ones are
    /// reported invalid instead of being waited for).
    pub fn with_max_len(max_len: u32) -> Self {
        SnapshotScanner {
            state: State::SessionCount,
            total: 0,
            max_len,
        }
    }

    /// Whether the end of the stream (the signature) has been reached.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Total snapshot bytes consumed so far, across calls.
    pub fn consumed(&self) -> u64 {
        self.total
    }

    fn invalid(&self, pos: usize, what: &'static str) -> DecodeError {
        DecodeError::Invalid {
            what,
            offset: usize::try_from(self.total)
                .unwrap_or(usize::MAX)
                .saturating_add(pos),
        }
    }

    /// Scans `buf`, which must start exactly where the previous call's `consumed` ended (the
    /// first call: right after the SNAP packet). After an error the scanner must be discarded.
    pub fn feed(&mut self, buf: &[u8]) -> Result<Scan, DecodeError> {
        let mut pos = 0usize;
        let result = loop {
            let rest = &buf[pos..];
            let int0 = rest.first_chunk::<4>().map(|b| i32::from_be_bytes(*b));
            match self.state {
                State::Done => break Ok(Scan::Done { consumed: pos }),
                State::SessionCount | State::AclCount => {
                    let Some(n) = int0 else {
                        break Ok(need(pos, 4 - rest.len()));
                    };
                    let Ok(n) = u32::try_from(n) else {
                        break Err(self.invalid(pos, "snapshot count (negative)"));
                    };
                    pos += 4;
                    self.state = if self.state == State::SessionCount {
                        State::Sessions(n)
                    } else {
                        State::AclEntries(n)
                    };
                }
                State::Sessions(0) => self.state = State::AclCount,
                State::Sessions(left) => {
                    let whole = (rest.len() / 12).min(left as usize);
                    if whole == 0 {
                        break Ok(need(pos, 12 - rest.len()));
                    }
                    pos += whole * 12;
                    // `whole <= left`, which is a u32.
                    self.state = State::Sessions(left - whole as u32);
                }
                State::AclEntries(0) => self.state = State::NodePath,
                State::AclEntries(left) => match parse_acl_cache_entry(rest) {
                    Ok((r, _)) => {
                        pos += rest.len() - r.len();
                        self.state = State::AclEntries(left - 1);
                    }
                    Err(nom::Err::Incomplete(n)) => break Ok(need(pos, needed(n))),
                    Err(_) => break Err(self.invalid(pos, "ACL cache entry")),
                },
                State::NodePath => {
                    let Some(len) = int0 else {
                        break Ok(need(pos, 4 - rest.len()));
                    };
                    let Some(len) = u32::try_from(len).ok().filter(|l| *l <= self.max_len) else {
                        break Err(self.invalid(pos, "snapshot path length"));
                    };
                    let len = len as usize;
                    if rest.len() < 4 + len {
                        break Ok(need(pos, 4 + len - rest.len()));
                    }
                    if &rest[4..4 + len] == b"/" {
                        pos += 5;
                        self.state = State::Signature;
                        continue;
                    }
                    let Some(d) = rest[4 + len..].first_chunk::<4>() else {
                        break Ok(need(pos, 8 + len - rest.len()));
                    };
                    let d = i32::from_be_bytes(*d);
                    let skip = match d {
                        -1 => 0,
                        d if d >= 0 && d as u32 <= self.max_len => d as u64,
                        _ => break Err(self.invalid(pos + 4 + len, "snapshot node data length")),
                    };
                    pos += 8 + len;
                    self.state = State::NodeData(skip);
                }
                State::NodeData(left) => {
                    if left == 0 {
                        self.state = State::NodeTail;
                        continue;
                    }
                    if rest.is_empty() {
                        break Ok(need(pos, usize::try_from(left).unwrap_or(usize::MAX)));
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    pos += take;
                    self.state = State::NodeData(left - take as u64);
                }
                State::NodeTail => {
                    // long aclKey + StatPersisted.
                    const TAIL: usize = 8 + STAT_PERSISTED_LEN;
                    if rest.len() < TAIL {
                        break Ok(need(pos, TAIL - rest.len()));
                    }
                    pos += TAIL;
                    self.state = State::NodePath;
                }
                State::Signature => {
                    let want = 4 + SNAPSHOT_SIGNATURE.len();
                    let mut expected = [0u8; 14];
                    expected[..4].copy_from_slice(&(SNAPSHOT_SIGNATURE.len() as i32).to_be_bytes());
                    expected[4..].copy_from_slice(SNAPSHOT_SIGNATURE);
                    let n = rest.len().min(want);
                    // Reject a wrong prefix as soon as it is visible.
                    if rest[..n] != expected[..n] {
                        break Err(DecodeError::BadSignature);
                    }
                    if n < want {
                        break Ok(need(pos, want - n));
                    }
                    pos += want;
                    self.state = State::Done;
                }
            }
        };
        // Progress made before an error is counted too, so `consumed()` points at the bad
        // element.
        self.total += pos as u64;
        result
    }
}

fn need(consumed: usize, needed: usize) -> Scan {
    Scan::NeedMore {
        consumed,
        needed: needed.max(1),
    }
}

fn needed(n: nom::Needed) -> usize {
    match n {
        nom::Needed::Size(s) => s.get(),
        nom::Needed::Unknown => 1,
    }
}

/// Finds the end of a snapshot stream that starts at `buf[0]` (the byte after the SNAP
/// packet): `Complete(len)` when `buf[..len]` is the whole stream (QuorumPackets resume at
/// `buf[len]`), `Incomplete(at_least)` when the stream is at least that long, `Invalid` when
/// the bytes do not follow the grammar.
///
/// Bounded work (linear in `buf.len()`), no allocation. Calling this again on a growing
/// buffer rescans from the start; framers that cannot afford to buffer the whole snapshot
/// should keep a [`SnapshotScanner`] instead.
pub fn snapshot_stream_boundary(buf: &[u8]) -> Boundary {
    match SnapshotScanner::new().feed(buf) {
        Ok(Scan::Done { consumed }) => Boundary::Complete(consumed),
        Ok(Scan::NeedMore { needed, .. }) => Boundary::Incomplete(buf.len().saturating_add(needed)),
        Err(_) => Boundary::Invalid,
    }
}

impl<'a> JuteDecode<'a> for SnapshotStream<'a> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_snapshot_stream(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut acl = Vec::new();
        zk_proto::jute::write_vector(
            &mut acl,
            Some(
                &[Acl {
                    perms: 31,
                    id: zk_proto::records::Id {
                        scheme: Some("world".into()),
                        id: Some("anyone".into()),
                    },
                }][..],
            ),
        );
        let (_, acls) = parse_vector::<Acl<'_>>(&acl).unwrap();
        let mut out = Vec::new();
        let big = vec![7u8; 1000];
        write_snapshot_stream(
            &mut out,
            &[SessionTimeout {
                session_id: 5,
                timeout: 30000,
            }],
            &[AclCacheEntry { key: 1, acls }],
            &[
                SnapshotNode {
                    path: Some("".into()),
                    data: None,
                    acl_key: -1,
                    stat: StatPersisted::default(),
                },
                SnapshotNode {
                    path: Some("/a".into()),
                    data: Some(&big),
                    acl_key: 1,
                    stat: StatPersisted::default(),
                },
            ],
        );
        out
    }

    #[test]
    fn parse_and_reencode() {
        let s = sample();
        let (rest, snap) = parse_snapshot_stream(&s).unwrap();
        assert!(rest.is_empty());
        assert_eq!(snap.sessions.len(), 1);
        assert_eq!(snap.nodes.iter().count(), 2);
        assert_eq!(snap.to_bytes(), s);
    }

    #[test]
    fn scanner_any_split() {
        let s = sample();
        assert_eq!(snapshot_stream_boundary(&s), Boundary::Complete(s.len()));
        let mut with_tail = s.clone();
        with_tail.extend_from_slice(&[0, 0, 0, 4]);
        assert_eq!(
            snapshot_stream_boundary(&with_tail),
            Boundary::Complete(s.len())
        );
        for cut in 0..s.len() {
            match snapshot_stream_boundary(&s[..cut]) {
                Boundary::Incomplete(n) => assert!(n > cut && n <= s.len(), "{cut} {n}"),
                other => panic!("{cut}: {other:?}"),
            }
        }
        // Byte-at-a-time feeding.
        let mut sc = SnapshotScanner::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut done = false;
        for b in &s {
            pending.push(*b);
            match sc.feed(&pending).unwrap() {
                Scan::Done { consumed } => {
                    assert_eq!(consumed, pending.len());
                    done = true;
                }
                Scan::NeedMore { consumed, .. } => {
                    pending.drain(..consumed);
                }
            }
        }
        assert!(done && sc.is_done());
        assert_eq!(sc.consumed(), s.len() as u64);
    }

    #[test]
    fn bad_signature_and_counts() {
        let mut s = sample();
        let n = s.len();
        s[n - 1] = b'X';
        assert_eq!(snapshot_stream_boundary(&s), Boundary::Invalid);
        assert!(parse_snapshot_stream(&s).is_err());
        assert_eq!(snapshot_stream_boundary(&[0xff; 4]), Boundary::Invalid);
    }
}
