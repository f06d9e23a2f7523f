//! `zk_proto::decode_request` on arbitrary frame payloads (the bytes after the 4-byte length
//! prefix), plus the request-side stream helpers and the connection tracker.
//!
//! Checks: no panic; a decoded request has a known opcode, re-encodes to exactly as many bytes
//! as it was decoded from (booleans may be normalised, lengths never change), and its lazy
//! vectors iterate without error; `frame_len` never claims more than the buffer holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_proto::framing::DEFAULT_MAX_FRAME_LEN;
use zk_proto::tracker::ConnectionTracker;
use zk_proto::{
    decode_request, four_letter_word, frame_len, plausible_request_frame, Boundary, Encode,
    Timestamp,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = decode_request(data) {
        assert!(req.opcode.is_known());
        assert_eq!(req.to_bytes().len(), data.len());
        let _ = req.body.path();
        // Debug walks every lazily decoded vector and multi op.
        let _ = format!("{req:?}");
    }
    let _ = plausible_request_frame(data, DEFAULT_MAX_FRAME_LEN);
    let _ = four_letter_word(data);
    match frame_len(data, 1 << 20) {
        Boundary::Complete(total_len) => {
            assert!(total_len <= data.len());
            let _ = decode_request(&data[4..total_len]);
        }
        Boundary::Incomplete(total_len) => assert!(total_len > data.len()),
        Boundary::Invalid => {}
        Boundary::Discard(_) => panic!("frame_len never discards"),
    }
    for start_seen in [false, true] {
        let mut t = ConnectionTracker::<()>::new(start_seen).with_max_outstanding(4);
        let _ = t.on_client_frame(data, Timestamp(0), |_| ());
        let _ = t.on_client_frame(data, Timestamp(1), |_| ());
        assert!(t.outstanding() <= 4);
    }
});
