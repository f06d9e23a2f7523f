//! `zk_proto::decode_request` on arbitrary frame payloads (the bytes after the 4-byte length
//! prefix), plus the request-side stream helpers and the connection tracker.
//!
//! Checks: no panic; a decoded request has a known opcode, re-encodes to exactly as many bytes
//! as it was decoded from (booleans may be normalised, lengths never change), and its lazy
//! vectors iterate without error; `frame_len` never claims more than the buffer holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_proto::tracker::ConnectionTracker;
use zk_proto::{
    four_letter_word, frame_len, decode_request, plausible_request_frame, Encode, FrameStatus,
    OpCode,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = decode_request(data) {
        assert!(OpCode::from_i32(req.opcode).is_some());
        assert_eq!(req.to_bytes().len(), data.len());
        let _ = req.body.path();
        // Debug walks every lazily decoded vector and multi op.
        let _ = format!("{req:?}");
    }
    let _ = plausible_request_frame(data);
    let _ = four_letter_word(data);
    match frame_len(data, 1 << 20) {
        FrameStatus::Complete { total_len } => {
            assert!(total_len <= data.len());
            let _ = decode_request(&data[4..total_len]);
        }
        FrameStatus::Incomplete { needed } => assert!(needed > 0),
        FrameStatus::Invalid { .. } => {}
    }
    for start_seen in [false, true] {
        let mut t = ConnectionTracker::<()>::new(start_seen).with_max_outstanding(4);
        let _ = t.on_client_frame(data, 0, |_| ());
        let _ = t.on_client_frame(data, 1, |_| ());
        assert!(t.outstanding() <= 4);
    }
});
