//! Cutting a reassembled byte stream into whole protocol messages.
//!
//! A [`Framer`] never hands its consumer a partial message. Message boundaries come from a
//! protocol-supplied [`Splitter`]: [`LengthPrefixed`] serves the client and election protocols
//! (4-byte big-endian length prefix), while the quorum protocol, which has no length prefix,
//! supplies a splitter that parses just enough of each packet to know where it ends.
//!
//! After a gap, or when a connection is met mid-stream, the framer hunts: it looks for the next
//! offset at which the splitter finds a plausible message start, drops (and counts) the bytes
//! before it, and carries on from there.
//!
//! Whole messages found within one pushed chunk are handed over straight from that chunk;
//! only a message split across chunks is copied, once.

/// Where the message at the start of a buffer ends, as far as the bytes at hand tell: the
/// one answer of every protocol's splitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Boundary {
    /// A whole message of this many bytes (including any length prefix) is present: it is
    /// `buf[..n]`.
    Complete(usize),
    /// More bytes are needed: the message is at least this many bytes long **in total**,
    /// counted from the start of the buffer (not "this many more").
    Incomplete(usize),
    /// No valid message starts here (bad type, magic or length): nothing should be allocated
    /// or awaited for it.
    Invalid,
    /// The first bytes (this many, at least one) belong to a stream the protocol passes over
    /// without decoding it as messages — such as the raw snapshot that follows a quorum SNAP
    /// packet, which can be far larger than any message. They are dropped without being
    /// buffered whole, and counted apart from losses.
    Discard(usize),
}

impl Boundary {
    /// The message length when complete.
    pub fn complete_len(self) -> Option<usize> {
        match self {
            Boundary::Complete(n) => Some(n),
            _ => None,
        }
    }
}

/// Whether a message plausibly starts at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plausibility {
    /// Yes: resynchronise here.
    Yes,
    /// No: try the next offset.
    No,
    /// Cannot tell yet; wait for more bytes.
    NeedMore,
}

impl From<bool> for Plausibility {
    /// A definite answer: `true` is [`Plausibility::Yes`], `false` [`Plausibility::No`].
    fn from(yes: bool) -> Plausibility {
        if yes {
            Plausibility::Yes
        } else {
            Plausibility::No
        }
    }
}

/// Which way bytes flow within a TCP connection.
///
/// **One type for the whole workspace.** It is defined here and re-exported unchanged as
/// `zkwire_capture::Direction`, `zk_proto::Direction` and `fle_proto::Direction`: the pages of
/// those crates show the same enum, not look-alikes. So the `dir` a
/// `zkwire_capture::StreamHandler` receives goes straight into `zk_proto::ClientConnection::push`
/// or `fle_proto::ElectionConnection::push`, and `zab_proto::QuorumDirection` converts from it
/// (`dir.into()`: the TCP client of a quorum connection is the learner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (the connection's initiator) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// A protocol's knowledge of where its messages begin and end.
pub trait Splitter {
    /// The length of the message at the start of `buf`, which is a known message boundary.
    fn frame_len(&mut self, buf: &[u8]) -> Boundary;

    /// Whether a message plausibly starts at the start of `buf`, when hunting for a boundary.
    /// The work must be bounded: it is called at many offsets.
    fn plausible(&mut self, buf: &[u8]) -> Plausibility;

    /// Called when the framer resynchronised after a loss, so stateful splitters can reset.
    fn resynced(&mut self) {}
}

/// Messages prefixed by a 4-byte big-endian length that does not count itself.
#[derive(Debug, Clone, Copy)]
pub struct LengthPrefixed {
    /// Largest acceptable payload length; a longer one is treated as a lost boundary.
    pub max_len: u32,
    /// Smallest acceptable payload length.
    pub min_len: u32,
    /// A protocol check of a candidate message start (the whole buffer from the prefix on).
    pub check: fn(&[u8]) -> Plausibility,
}

impl LengthPrefixed {
    /// Length-prefixed framing with a payload size range and a plausibility check.
    pub fn new(min_len: u32, max_len: u32, check: fn(&[u8]) -> Plausibility) -> LengthPrefixed {
        LengthPrefixed {
            max_len,
            min_len,
            check,
        }
    }
}

/// Where the frame at the start of `buf` ends when frames carry a 4-byte big-endian length
/// prefix that does not count itself (the client and election ports): payloads of
/// `min..=max` bytes; a length outside that range (or negative) is [`Boundary::Invalid`].
pub fn prefixed_frame_len(buf: &[u8], min: u32, max: u32) -> Boundary {
    let Some(len) = crate::jute::int_at(buf, 0) else {
        return Boundary::Incomplete(4);
    };
    match u32::try_from(len) {
        Ok(n) if (min..=max).contains(&n) => {
            let total = 4 + n as usize;
            if buf.len() >= total {
                Boundary::Complete(total)
            } else {
                Boundary::Incomplete(total)
            }
        }
        _ => Boundary::Invalid,
    }
}

impl Splitter for LengthPrefixed {
    fn frame_len(&mut self, buf: &[u8]) -> Boundary {
        prefixed_frame_len(buf, self.min_len, self.max_len)
    }

    fn plausible(&mut self, buf: &[u8]) -> Plausibility {
        match prefixed_frame_len(buf, self.min_len, self.max_len) {
            _ if buf.len() < 4 => Plausibility::NeedMore,
            Boundary::Invalid => Plausibility::No,
            _ => (self.check)(buf),
        }
    }
}

/// What the framer hands its consumer.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FramerEvent<'a> {
    /// One whole message (including its length prefix, if the protocol has one).
    Message(&'a [u8]),
    /// Bytes dropped while looking for a message boundary after a loss or a mid-stream start.
    Skipped(u64),
    /// Bytes the splitter said to pass over ([`Boundary::Discard`]).
    Discarded(u64),
}

/// Counters of one framer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct FramerStats {
    /// Messages handed over.
    pub messages: u64,
    /// Times a boundary was found again after a loss or a mid-stream start.
    pub resyncs: u64,
    /// Bytes dropped while hunting for a boundary.
    pub skipped_bytes: u64,
    /// Times the splitter said the bytes at a supposed boundary were not a message.
    pub invalid: u64,
    /// Bytes passed over at the splitter's request ([`Boundary::Discard`]).
    pub discarded_bytes: u64,
}

/// The most a framer reserves at once for a message it is told the length of: more than any
/// ZooKeeper message (jute.maxbuffer defaults to 1 MiB), so a splitter of this workspace never
/// meets it, while a foreign splitter's absurd length cannot make one allocation huge.
const MAX_UPFRONT_RESERVE: usize = 4 << 20;

/// The receiver of a framer's events, with its splitter.
pub type Out<'o, S> = dyn FnMut(&mut S, FramerEvent<'_>) + 'o;

/// Turns one direction of a reassembled stream into messages.
#[derive(Debug)]
pub struct Framer<S> {
    splitter: S,
    buf: Vec<u8>,
    hunting: bool,
    max_hunt_window: usize,
    /// Counters.
    pub stats: FramerStats,
}

impl<S: Splitter> Framer<S> {
    /// A framer; `at_boundary` says whether the stream starts at a message boundary (a
    /// connection whose SYN was seen) or must be hunted (a connection met mid-stream).
    pub fn new(splitter: S, at_boundary: bool) -> Framer<S> {
        Framer {
            splitter,
            buf: Vec::new(),
            hunting: !at_boundary,
            max_hunt_window: 1 << 20,
            stats: FramerStats::default(),
        }
    }

    /// The splitter, e.g. to inspect protocol state.
    pub fn splitter_mut(&mut self) -> &mut S {
        &mut self.splitter
    }

    /// Whether the framer is looking for a boundary.
    pub fn is_hunting(&self) -> bool {
        self.hunting
    }

    /// Bytes held back waiting for the rest of a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated for held bytes (at least [`Framer::buffered`]): what a memory budget
    /// counts.
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// Feeds the next in-order bytes of the stream.
    pub fn push(&mut self, data: &[u8], out: &mut dyn FnMut(FramerEvent<'_>)) {
        self.push_with_splitter(data, &mut |_, ev| out(ev));
    }

    /// [`Framer::push`], handing the splitter to `out` with each event, so the consumer can
    /// read what the splitter learned about the message it just cut (its kind, say) without
    /// parsing it again to find out.
    pub fn push_with_splitter(&mut self, data: &[u8], out: &mut Out<'_, S>) {
        if self.hunting {
            self.buf.extend_from_slice(data);
            self.hunt(out);
            return;
        }
        let mut data = data;
        while !self.buf.is_empty() {
            match self.splitter.frame_len(&self.buf) {
                Boundary::Complete(n) if n > 0 && n <= self.buf.len() => {
                    self.emit_buffered(n, out);
                }
                Boundary::Discard(n) if n > 0 && n <= self.buf.len() => {
                    self.buf.drain(..n);
                    self.stats.discarded_bytes += n as u64;
                    out(&mut self.splitter, FramerEvent::Discarded(n as u64));
                }
                Boundary::Incomplete(need) if need > self.buf.len() => {
                    if data.is_empty() {
                        return;
                    }
                    let take = (need - self.buf.len()).min(data.len());
                    self.reserve_for(need);
                    self.buf.extend_from_slice(&data[..take]);
                    data = &data[take..];
                }
                _ => {
                    self.stats.invalid += 1;
                    self.buf.extend_from_slice(data);
                    self.start_hunt(out);
                    return;
                }
            }
        }
        self.push_direct(data, out);
    }

    /// Bytes of the stream were lost: drop any partial message and hunt for the next boundary.
    pub fn gap(&mut self, out: &mut dyn FnMut(FramerEvent<'_>)) {
        if !self.buf.is_empty() {
            let dropped = self.buf.len() as u64;
            // Released, not kept: a loss is rare, and a budget may have asked for this one.
            self.buf = Vec::new();
            self.stats.skipped_bytes += dropped;
            out(FramerEvent::Skipped(dropped));
        }
        self.hunting = true;
    }

    /// The stream ended: whatever partial message is held is dropped and returned as a count.
    pub fn finish(&mut self) -> usize {
        let n = self.buf.len();
        self.stats.skipped_bytes += n as u64;
        self.buf = Vec::new();
        n
    }

    /// Makes room for a message of `need` bytes in all before its first bytes are held, so a
    /// message that arrives over many segments is copied once rather than again at every
    /// doubling of the buffer (a 300 KiB value cost twice its size in reallocations). `need`
    /// is bounded by the splitter's largest message, and what is reserved counts against the
    /// reassembler's memory budget through [`Framer::allocated`]; beyond
    /// [`MAX_UPFRONT_RESERVE`] the buffer grows as the bytes come.
    fn reserve_for(&mut self, need: usize) {
        let want = need.min(MAX_UPFRONT_RESERVE);
        if want > self.buf.capacity() {
            self.buf.reserve_exact(want - self.buf.len());
        }
    }

    fn emit_buffered(&mut self, n: usize, out: &mut Out<'_, S>) {
        self.stats.messages += 1;
        out(&mut self.splitter, FramerEvent::Message(&self.buf[..n]));
        self.buf.drain(..n);
    }

    /// Frames straight out of `data`, copying only a trailing partial message.
    fn push_direct(&mut self, data: &[u8], out: &mut Out<'_, S>) {
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            match self.splitter.frame_len(rest) {
                Boundary::Complete(n) if n > 0 && n <= rest.len() => {
                    self.stats.messages += 1;
                    out(&mut self.splitter, FramerEvent::Message(&rest[..n]));
                    pos += n;
                }
                Boundary::Discard(n) if n > 0 && n <= rest.len() => {
                    self.stats.discarded_bytes += n as u64;
                    out(&mut self.splitter, FramerEvent::Discarded(n as u64));
                    pos += n;
                }
                Boundary::Incomplete(need) if need > rest.len() => {
                    self.reserve_for(need);
                    self.buf.extend_from_slice(rest);
                    return;
                }
                _ => {
                    self.stats.invalid += 1;
                    self.buf.extend_from_slice(rest);
                    self.start_hunt(out);
                    return;
                }
            }
        }
    }

    fn start_hunt(&mut self, out: &mut Out<'_, S>) {
        self.hunting = true;
        // The current position failed; a boundary can only be later.
        self.drop_front(1.min(self.buf.len()), out);
        self.hunt(out);
    }

    fn drop_front(&mut self, n: usize, out: &mut Out<'_, S>) {
        if n > 0 {
            self.buf.drain(..n);
            self.stats.skipped_bytes += n as u64;
            out(&mut self.splitter, FramerEvent::Skipped(n as u64));
        }
    }

    fn hunt(&mut self, out: &mut Out<'_, S>) {
        let mut at = 0;
        let found = loop {
            if at >= self.buf.len() {
                break false;
            }
            match self.splitter.plausible(&self.buf[at..]) {
                Plausibility::Yes => break true,
                Plausibility::No => at += 1,
                Plausibility::NeedMore => {
                    if self.buf.len() - at > self.max_hunt_window {
                        at += 1; // waited long enough for this candidate
                    } else {
                        break false;
                    }
                }
            }
        };
        self.drop_front(at, out);
        if found {
            self.hunting = false;
            self.stats.resyncs += 1;
            self.splitter.resynced();
            let held = std::mem::take(&mut self.buf);
            self.push_direct(&held, out);
            if self.buf.is_empty() {
                // Keep the allocation for the next partial message.
                let mut held = held;
                held.clear();
                self.buf = held;
            }
        } else if self.buf.len() > self.max_hunt_window {
            let excess = self.buf.len() - self.max_hunt_window;
            self.drop_front(excess, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(_: &[u8]) -> Plausibility {
        Plausibility::Yes
    }

    /// Plausible only where the payload starts with the marker byte 0xAA.
    fn marker(buf: &[u8]) -> Plausibility {
        match buf.get(4) {
            None => Plausibility::NeedMore,
            Some(0xAA) => Plausibility::Yes,
            Some(_) => Plausibility::No,
        }
    }

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(payload);
        f
    }

    fn run(framer: &mut Framer<LengthPrefixed>, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, u64) {
        let mut msgs = Vec::new();
        let mut skipped = 0;
        for c in chunks {
            framer.push(c, &mut |ev| match ev {
                FramerEvent::Message(m) => msgs.push(m.to_vec()),
                FramerEvent::Skipped(n) => skipped += n,
                FramerEvent::Discarded(_) => {}
            });
        }
        (msgs, skipped)
    }

    #[test]
    fn frames_split_at_every_byte_position_come_out_whole() {
        let mut stream = Vec::new();
        let payloads: Vec<Vec<u8>> = (0..20u8).map(|i| vec![0xAA; i as usize * 7 + 1]).collect();
        for p in &payloads {
            stream.extend(frame(p));
        }
        for split in 1..40 {
            let chunks: Vec<&[u8]> = stream.chunks(split).collect();
            let mut f = Framer::new(LengthPrefixed::new(0, 1 << 20, any), true);
            let (msgs, skipped) = run(&mut f, &chunks);
            assert_eq!(skipped, 0);
            let got: Vec<Vec<u8>> = msgs.iter().map(|m| m[4..].to_vec()).collect();
            assert_eq!(got, payloads, "split {split}");
            assert_eq!(f.buffered(), 0);
        }
    }

    #[test]
    fn a_message_over_many_segments_is_held_in_one_allocation() {
        let payload = vec![0xAA; 300_000];
        let stream = frame(&payload);
        let mut f = Framer::new(LengthPrefixed::new(0, 1 << 20, any), true);
        let mut capacities = Vec::new();
        let mut msgs = Vec::new();
        for chunk in stream.chunks(1448) {
            f.push(chunk, &mut |ev| {
                if let FramerEvent::Message(m) = ev {
                    msgs.push(m.len());
                }
            });
            capacities.push(f.allocated());
        }
        assert_eq!(msgs, vec![stream.len()]);
        // Room for the whole message from its first segment on, never grown again.
        assert!(capacities[0] >= stream.len(), "{}", capacities[0]);
        assert!(capacities.iter().all(|c| *c == capacities[0]));
    }

    /// A splitter that always wants more than any buffer could hold.
    struct Bottomless;

    impl Splitter for Bottomless {
        fn frame_len(&mut self, _: &[u8]) -> Boundary {
            Boundary::Incomplete(usize::MAX)
        }
        fn plausible(&mut self, _: &[u8]) -> Plausibility {
            Plausibility::Yes
        }
    }

    #[test]
    fn a_foreign_splitters_absurd_length_reserves_a_bounded_amount() {
        let mut f = Framer::new(Bottomless, true);
        f.push(&[1, 2, 3], &mut |_| {});
        assert_eq!(f.buffered(), 3);
        assert!(f.allocated() <= MAX_UPFRONT_RESERVE, "{}", f.allocated());
    }

    #[test]
    fn oversized_length_hunts_for_the_next_plausible_frame() {
        let mut stream = vec![0x7f, 0xff, 0xff, 0xff, 1, 2, 3]; // a 2 GiB length: garbage
        stream.extend(frame(&[0xAA, 1, 2]));
        let mut f = Framer::new(LengthPrefixed::new(1, 1 << 20, marker), true);
        let (msgs, skipped) = run(&mut f, &[&stream]);
        assert_eq!(msgs, vec![frame(&[0xAA, 1, 2])]);
        assert_eq!(skipped, 7);
        assert_eq!(f.stats.invalid, 1);
        assert_eq!(f.stats.resyncs, 1);
        assert!(!f.is_hunting());
    }

    #[test]
    fn gap_drops_partial_frame_and_resyncs_on_next_segment() {
        let mut f = Framer::new(LengthPrefixed::new(1, 1 << 20, marker), true);
        let whole = frame(&[0xAA; 10]);
        let (msgs, _) = run(&mut f, &[&whole[..6]]);
        assert!(msgs.is_empty());
        let mut skipped = 0;
        f.gap(&mut |ev| {
            if let FramerEvent::Skipped(n) = ev {
                skipped += n
            }
        });
        assert_eq!(skipped, 6);
        // The rest of the lost frame arrives, then a whole frame.
        let mut next = whole[9..].to_vec();
        next.extend(frame(&[0xAA, 5]));
        let (msgs, skipped2) = run(&mut f, &[&next]);
        assert_eq!(msgs, vec![frame(&[0xAA, 5])]);
        assert_eq!(skipped2, 5);
    }

    #[test]
    fn midstream_start_hunts_first() {
        let mut f = Framer::new(LengthPrefixed::new(1, 1 << 20, marker), false);
        let mut stream = vec![0, 0, 0, 3, 0x01]; // tail of an earlier frame
        stream.extend(frame(&[0xAA, 9]));
        let (msgs, skipped) = run(&mut f, &[&stream]);
        assert_eq!(msgs, vec![frame(&[0xAA, 9])]);
        assert_eq!(skipped, 5);
    }

    /// A splitter for a protocol without a length prefix, in the manner of the quorum
    /// protocol: each record is a type byte then a body whose length depends on the type, and
    /// type 9 announces a raw blob (its length in the next 2 bytes) that follows as one
    /// message of its own.
    #[derive(Default)]
    struct Typed {
        raw_next: Option<usize>,
    }

    impl Splitter for Typed {
        fn frame_len(&mut self, buf: &[u8]) -> Boundary {
            if let Some(n) = self.raw_next {
                return if buf.len() >= n {
                    self.raw_next = None;
                    Boundary::Complete(n)
                } else {
                    Boundary::Incomplete(n)
                };
            }
            match buf.first() {
                None => Boundary::Incomplete(1),
                Some(1) => {
                    if buf.len() >= 5 {
                        Boundary::Complete(5)
                    } else {
                        Boundary::Incomplete(5)
                    }
                }
                Some(9) => match buf.get(1..3) {
                    None => Boundary::Incomplete(3),
                    Some(l) => {
                        self.raw_next = Some(u16::from_be_bytes([l[0], l[1]]) as usize);
                        Boundary::Complete(3)
                    }
                },
                Some(_) => Boundary::Invalid,
            }
        }
        fn plausible(&mut self, buf: &[u8]) -> Plausibility {
            match buf.first() {
                None => Plausibility::NeedMore,
                Some(1) | Some(9) => Plausibility::Yes,
                Some(_) => Plausibility::No,
            }
        }
        fn resynced(&mut self) {
            self.raw_next = None;
        }
    }

    #[test]
    fn framer_serves_protocols_without_a_length_prefix() {
        let stream: Vec<u8> = [
            &[1, 0, 0, 0, 1][..],
            &[9, 0, 4],
            &[7, 7, 7, 7],
            &[1, 2, 2, 2, 2],
        ]
        .concat();
        for split in 1..stream.len() {
            let mut f = Framer::new(Typed::default(), true);
            let mut msgs = Vec::new();
            for chunk in stream.chunks(split) {
                f.push(chunk, &mut |ev| {
                    if let FramerEvent::Message(m) = ev {
                        msgs.push(m.to_vec())
                    }
                });
            }
            assert_eq!(
                msgs,
                vec![
                    vec![1, 0, 0, 0, 1],
                    vec![9, 0, 4],
                    vec![7, 7, 7, 7],
                    vec![1, 2, 2, 2, 2]
                ],
                "split {split}"
            );
        }
    }

    /// Type 8 announces a raw section (length in the next 4 bytes) that the protocol passes
    /// over in whatever pieces arrive, as zab-dump does with a snapshot stream.
    #[derive(Default)]
    struct RawSections {
        raw_left: usize,
    }

    impl Splitter for RawSections {
        fn frame_len(&mut self, buf: &[u8]) -> Boundary {
            if self.raw_left > 0 {
                let n = self.raw_left.min(buf.len());
                self.raw_left -= n;
                return Boundary::Discard(n);
            }
            match buf.get(..5) {
                None => Boundary::Incomplete(5),
                Some([8, a, b, c, d]) => {
                    self.raw_left = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
                    Boundary::Complete(5)
                }
                Some(_) => Boundary::Invalid,
            }
        }
        fn plausible(&mut self, _: &[u8]) -> Plausibility {
            Plausibility::No
        }
    }

    #[test]
    fn discarded_sections_are_never_buffered_whole() {
        let raw_len = 10 << 20;
        let mut stream = vec![8u8];
        stream.extend_from_slice(&(raw_len as u32).to_be_bytes());
        stream.resize(5 + raw_len, 0xee);
        stream.extend_from_slice(&[8, 0, 0, 0, 0]);
        let mut f = Framer::new(RawSections::default(), true);
        let (mut msgs, mut discarded) = (0, 0u64);
        for chunk in stream.chunks(65_537) {
            f.push(chunk, &mut |ev| match ev {
                FramerEvent::Message(_) => msgs += 1,
                FramerEvent::Discarded(n) => discarded += n,
                FramerEvent::Skipped(_) => panic!("nothing is lost"),
            });
            assert!(f.buffered() < 65_537, "raw bytes are not held");
        }
        assert_eq!((msgs, discarded), (2, raw_len as u64));
        assert_eq!(f.stats.discarded_bytes, raw_len as u64);
    }

    #[test]
    fn hunting_window_is_bounded() {
        let mut f = Framer::new(LengthPrefixed::new(1, 16, marker), false);
        let garbage = vec![0u8; 3 << 20];
        let (msgs, skipped) = run(&mut f, &[&garbage]);
        assert!(msgs.is_empty());
        assert!(f.buffered() <= 1 << 20);
        assert_eq!(skipped as usize + f.buffered(), garbage.len());
    }
}
