//! `fle_proto::ElectionStream` over arbitrary bytes, with every constructor.
//!
//! Input: byte 0 picks the constructor (`% 4`: initiator, acceptor, unknown role, mid-stream)
//! and, with bit 7, a frame-length ceiling from byte 1; bytes 2–3 seed the chunk sizes; the
//! rest is one direction of an election connection, fed in chunks as a capture delivers it.
//!
//! Checks: no panic and no livelock; every step that uses bytes uses at least one and at most
//! what is buffered; `NeedMore` always asks for more than is buffered; `Invalid` leaves the
//! decoder broken until `resync`. For a direction seen from its first byte with a known writer
//! (initiator/acceptor), decoding does not depend on how the bytes were chunked: the messages
//! up to the first `Invalid` equal those decoded from the whole buffer at once. (Resync and role
//! sniffing look ahead at the next frame header as far as it is buffered, so they may decide
//! differently with more bytes at hand; those constructors are checked for the invariants only.)
#![no_main]

use fle_proto::{ElectionStream, Sender, Step, PACKET_MAX_SIZE};
use libfuzzer_sys::fuzz_target;
use zkwire_fuzz::Chunker;

#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Message { at: usize, len: usize, what: String },
    BadFrame { at: usize, len: usize },
    Skipped { at: usize, len: usize },
    Invalid { at: usize },
    NeedMore { at_least: usize },
}

fn make(sel: u8, max_sel: u8) -> ElectionStream {
    let s = match sel % 4 {
        0 => ElectionStream::new(Sender::Initiator),
        1 => ElectionStream::new(Sender::Acceptor),
        2 => ElectionStream::unknown_role(),
        _ => ElectionStream::mid_stream(),
    };
    if sel & 0x80 != 0 {
        let max = [0, 1, 27, 28, 44, 100, 4096, PACKET_MAX_SIZE, u32::MAX][max_sel as usize % 9];
        s.with_max_frame(max)
    } else {
        s
    }
}

/// Runs the decoder over `buf` (bytes `base..` of the stream) until it needs more or breaks.
/// Returns the bytes used; pushes events; `false` once `Invalid` was seen.
fn drive(s: &mut ElectionStream, buf: &[u8], base: usize, evs: &mut Vec<Ev>) -> (usize, bool) {
    let mut used = 0;
    // Each productive step uses at least one byte, so this bound only trips on a livelock.
    for _ in 0..=buf.len() + 2 {
        let rest = &buf[used..];
        let at = base + used;
        let n = match s.next(rest) {
            Step::Message { len, message } => {
                evs.push(Ev::Message {
                    at,
                    len,
                    what: format!("{message:?}"),
                });
                len
            }
            Step::BadFrame { len, .. } => {
                evs.push(Ev::BadFrame { at, len });
                len
            }
            Step::Skipped { len } => {
                // Merge runs of skipped bytes: how skipping is split is not part of the contract.
                match evs.last_mut() {
                    Some(Ev::Skipped { at: a, len: l }) if *a + *l == at => *l += len,
                    _ => evs.push(Ev::Skipped { at, len }),
                }
                len
            }
            Step::NeedMore { at_least } => {
                assert!(
                    at_least > rest.len(),
                    "NeedMore({at_least}) with {} bytes",
                    rest.len()
                );
                evs.push(Ev::NeedMore {
                    at_least: at + at_least,
                });
                return (used, true);
            }
            Step::Invalid => {
                assert!(s.is_broken());
                assert_eq!(s.next(rest), Step::Invalid, "broken decoders stay broken");
                evs.push(Ev::Invalid { at });
                return (used, false);
            }
            _ => unreachable!("unknown step"),
        };
        assert!(
            n > 0 && n <= rest.len(),
            "step used {n} of {} bytes",
            rest.len()
        );
        used += n;
    }
    panic!("ElectionStream made no progress");
}

fn strip_need(evs: &mut Vec<Ev>) {
    // Intermediate NeedMore events depend on chunking; only the final one is compared.
    let last = evs.pop();
    evs.retain(|e| !matches!(e, Ev::NeedMore { .. }));
    evs.extend(last);
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, stream) = data.split_at(4);

    // Whole buffer at once.
    let mut whole = Vec::new();
    let mut s = make(head[0], head[1]);
    drive(&mut s, stream, 0, &mut whole);

    // Chunked, keeping only the unconsumed tail, as a capture handler does.
    let mut chunked = Vec::new();
    let mut s = make(head[0], head[1]);
    let mut buf: Vec<u8> = Vec::new();
    let mut base = 0;
    let mut broken_at = None;
    for chunk in Chunker::new(&head[2..4]).split(stream) {
        buf.extend_from_slice(chunk);
        let (used, ok) = drive(&mut s, &buf, base, &mut chunked);
        buf.drain(..used);
        base += used;
        if !ok {
            // Index of the Invalid event just recorded.
            broken_at.get_or_insert(chunked.len() - 1);
            // Recover as after a capture gap: drop what is buffered, resynchronise.
            base += buf.len();
            buf.clear();
            s.resync();
            assert!(!s.is_broken());
        }
    }

    if head[0] % 4 < 2 && !stream.is_empty() {
        // Events up to and including the first Invalid.
        let upto = broken_at.map_or(chunked.len(), |i| i + 1);
        let mut prefix: Vec<Ev> = chunked.drain(..upto).collect();
        strip_need(&mut prefix);
        strip_need(&mut whole);
        assert_eq!(prefix, whole, "chunking changed what was decoded");
    }
});
