//! The snapshot stream that follows SNAP: a `SnapshotScanner` fed the stream in arbitrary
//! chunks (as a framer would, keeping only the unconsumed tail) must reach the same verdict as
//! `snapshot_stream_boundary` on the whole buffer, and `parse_snapshot_stream` must agree.
//!
//! Input: bytes 0–1 seed the chunk sizes; the rest is the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zab_proto::snapshot::{Scan, SnapshotScanner};
use zab_proto::{parse_snapshot_stream, snapshot_stream_boundary, Boundary};
use zkwire_fuzz::Chunker;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (seed, stream) = data.split_at(2);
    let whole = snapshot_stream_boundary(stream);

    let mut scanner = SnapshotScanner::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut dropped = 0usize; // bytes of `stream` consumed and discarded so far
    let mut chunks = Chunker::new(seed).split(stream);
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let mut verdict = None;
    for chunk in chunks {
        pending.extend_from_slice(chunk);
        match scanner.feed(&pending) {
            Ok(Scan::Done { consumed }) => {
                assert!(consumed <= pending.len());
                assert!(scanner.is_done());
                verdict = Some(Boundary::Complete(dropped + consumed));
                break;
            }
            Ok(Scan::NeedMore { consumed, needed }) => {
                assert!(consumed <= pending.len());
                assert!(needed > 0);
                pending.drain(..consumed);
                dropped += consumed;
                assert_eq!(scanner.consumed(), dropped as u64);
                verdict = Some(Boundary::Incomplete(dropped + pending.len() + needed));
            }
            Err(_) => {
                verdict = Some(Boundary::Invalid);
                break;
            }
        }
    }
    let verdict = verdict.expect("at least one feed");
    assert_eq!(
        verdict, whole,
        "chunked scan disagrees with the whole-buffer boundary"
    );

    match parse_snapshot_stream(stream) {
        Ok((rest, s)) => {
            assert_eq!(whole, Boundary::Complete(stream.len() - rest.len()));
            let _ = s.nodes.iter().count();
            let _ = s.acl_cache.iter().count();
            let _ = s.sessions.iter().count();
        }
        Err(nom::Err::Incomplete(_)) => {
            assert!(!matches!(whole, Boundary::Complete(_)), "{whole:?}")
        }
        Err(_) => {}
    }
});
