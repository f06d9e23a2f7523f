//! `zkwire_capture::Framer` with `LengthPrefixed`, fed in arbitrary chunks, with gaps.
//!
//! Input: byte 0 = configuration (bit 0: stream starts at a boundary; bits 1–2: plausibility
//! check; bits 3–5: max payload length; bits 6–7: min payload length); byte 1 = mode (bit 0:
//! well-formed frames; bit 1: inject gaps); bytes 2–3 seed the chunk sizes; the rest is the
//! stream — or, in well-formed mode, a list of payloads (a length byte, then that many bytes)
//! that the target frames itself.
//!
//! Checks: every `Message` is whole (a prefix within the limits and exactly that many bytes
//! after it) and is the next unconsumed slice of the stream, so messages are in order and no
//! byte is handed over twice; messages, skipped and discarded bytes plus what is buffered
//! always add up to what was pushed; the buffer stays bounded (hunt window or one message).
//! Well-formed streams come out frame for frame, whatever the chunking, with nothing skipped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkwire_capture::{Framer, FramerEvent, LengthPrefixed, Plausibility};
use zkwire_fuzz::Chunker;

const HUNT_WINDOW: usize = 1 << 20;

fn any(_: &[u8]) -> Plausibility {
    Plausibility::Yes
}

fn never(_: &[u8]) -> Plausibility {
    Plausibility::No
}

fn marker(buf: &[u8]) -> Plausibility {
    match buf.get(4) {
        None => Plausibility::NeedMore,
        Some(0xAA) => Plausibility::Yes,
        Some(_) => Plausibility::No,
    }
}

/// The client protocol's request check (`NeedMore` until the prefix and header are there).
fn zk_request(buf: &[u8]) -> Plausibility {
    zk_proto::plausible_request_frame(buf, zk_proto::framing::DEFAULT_MAX_FRAME_LEN)
}

struct Tally<'s> {
    stream: &'s [u8],
    pos: usize,
    min: u32,
    max: u32,
    messages: Vec<(usize, usize)>,
    skipped: u64,
}

impl Tally<'_> {
    fn event(&mut self, ev: FramerEvent<'_>) {
        match ev {
            FramerEvent::Message(m) => {
                assert!(m.len() >= 4, "message without a whole prefix");
                let len = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
                assert!(
                    len >= self.min && len <= self.max,
                    "length {len} outside limits"
                );
                assert_eq!(m.len(), 4 + len as usize, "partial or overlong message");
                assert_eq!(
                    m,
                    &self.stream[self.pos..self.pos + m.len()],
                    "message is not the next slice of the stream"
                );
                self.messages.push((self.pos, m.len()));
                self.pos += m.len();
            }
            FramerEvent::Skipped(n) => {
                assert!(n > 0);
                self.skipped += n;
                self.pos += n as usize;
            }
            FramerEvent::Discarded(n) => {
                assert!(n > 0);
                self.pos += n as usize;
            }
            other => panic!("an event this target does not know: {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, body) = data.split_at(4);
    let (cfg, mode) = (head[0], head[1]);
    let well_formed = mode & 1 != 0;
    let gaps = mode & 2 != 0 && !well_formed;

    type Check = fn(&[u8]) -> Plausibility;
    let checks: [Check; 4] = [any, never, marker, zk_request];
    let (min, max, at_boundary, check): (u32, u32, bool, Check) = if well_formed {
        (0, 255, true, never)
    } else {
        let max = [0, 1, 16, 64, 1024, 1 << 16, 1 << 20, i32::MAX as u32][(cfg >> 3) as usize & 7];
        let min = [0, 1, 4, 28][(cfg >> 6) as usize & 3].min(max);
        (min, max, cfg & 1 != 0, checks[(cfg >> 1) as usize & 3])
    };
    let frames: Vec<u8> = if well_formed {
        let mut out = Vec::new();
        let mut rest = body;
        while let Some((&n, r)) = rest.split_first() {
            let n = (n as usize).min(r.len());
            out.extend_from_slice(&(n as u32).to_be_bytes());
            out.extend_from_slice(&r[..n]);
            rest = &r[n..];
        }
        out
    } else {
        Vec::new()
    };
    let stream: &[u8] = if well_formed { &frames } else { body };

    let mut framer = Framer::new(LengthPrefixed::new(min, max, check), at_boundary);
    let mut c = Tally {
        stream,
        pos: 0,
        min,
        max,
        messages: Vec::new(),
        skipped: 0,
    };
    let mut pushed = 0usize;
    let mut chunker = Chunker::new(&head[2..4]);
    let chunks = chunker.split(stream);
    for (i, chunk) in chunks.into_iter().enumerate() {
        framer.push(chunk, &mut |ev| c.event(ev));
        pushed += chunk.len();
        assert_eq!(c.pos + framer.buffered(), pushed, "bytes unaccounted for");
        assert!(
            framer.buffered() <= HUNT_WINDOW.max(4 + max as usize),
            "framer holds {} bytes",
            framer.buffered()
        );
        if gaps && chunker.next_size().is_multiple_of(5) && i % 2 == 1 {
            framer.gap(&mut |ev| c.event(ev));
            assert_eq!(framer.buffered(), 0);
            assert_eq!(c.pos, pushed);
        }
    }
    assert_eq!(framer.stats.messages, c.messages.len() as u64);
    let left = framer.finish();
    assert_eq!(c.pos + left, pushed);
    assert_eq!(framer.buffered(), 0);

    if well_formed {
        assert_eq!(c.skipped, 0, "a well-formed stream lost bytes");
        assert_eq!(left, 0, "a well-formed stream left a partial frame");
        let mut expect = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            let len = 4 + u32::from_be_bytes(stream[at..at + 4].try_into().unwrap()) as usize;
            expect.push((at, len));
            at += len;
        }
        assert_eq!(c.messages, expect);
    }
});
