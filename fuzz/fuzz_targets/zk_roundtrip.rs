//! parse → `Encode::encode` → re-parse for client requests and replies.
//!
//! Input: byte 0 bit 0 chooses request (0) or reply (1); for replies the next bytes select the
//! request opcode as in `zk_reply`; the rest is the frame payload.
//!
//! What round-trips exactly (see crates/zk-proto/tests/roundtrip.rs): every field is kept
//! (strings, buffers, vectors and multi lists keep their raw bytes) except that a top-level
//! Jute boolean byte other than 0/1 is normalised to 1. So: the re-encoding has the same length
//! as the input, re-parses to an equal value, and re-encodes to itself (a fixed point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_proto::{decode_reply, decode_request, Encode, OpCode};
use zkwire_fuzz::reply_opcode;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    if sel & 1 == 0 {
        if let Ok(a) = decode_request(rest) {
            let enc = a.to_bytes();
            assert_eq!(enc.len(), rest.len(), "request re-encoding changed length");
            let b = decode_request(&enc).expect("re-encoded request must decode");
            assert_eq!(a, b);
            assert_eq!(b.to_bytes(), enc);
        }
    } else {
        let Some((code, payload)) = reply_opcode(rest) else {
            return;
        };
        let op = code.map(OpCode::from_i32);
        if let Ok(a) = decode_reply(payload, op) {
            let enc = a.to_bytes();
            assert_eq!(enc.len(), payload.len(), "reply re-encoding changed length");
            let b = decode_reply(&enc, op).expect("re-encoded reply must decode");
            assert_eq!(a, b);
            assert_eq!(b.to_bytes(), enc);
        }
    }
});
