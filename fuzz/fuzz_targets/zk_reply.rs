//! `zk_proto::decode_reply` with the request opcode chosen by the first input byte (see
//! `zkwire_fuzz::reply_opcode`: an index into `OpCode::ALL`, untyped, or a raw i32) and the rest
//! as the frame payload; also fed to a connection tracker as a server frame.
//!
//! Checks: no panic; a decoded reply re-encodes to as many bytes as it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_proto::framing::DEFAULT_MAX_FRAME_LEN;
use zk_proto::tracker::ConnectionTracker;
use zk_proto::{decode_reply, plausible_reply_frame, Encode, OpCode, Timestamp};
use zkwire_fuzz::reply_opcode;

fuzz_target!(|data: &[u8]| {
    let Some((code, payload)) = reply_opcode(data) else {
        return;
    };
    let op = code.map(OpCode::from_i32);
    if let Ok(reply) = decode_reply(payload, op) {
        assert_eq!(reply.to_bytes().len(), payload.len());
        let _ = format!("{reply:?}");
    }
    // Untyped decoding keeps any body behind a whole header, unless the xid fixes the type
    // (-1 notification, -2 ping, -4 auth).
    if let Some(xid) = payload.first_chunk::<4>().map(|b| i32::from_be_bytes(*b)) {
        if payload.len() >= 16 && ![-1, -2, -4].contains(&xid) {
            assert!(
                decode_reply(payload, None).is_ok(),
                "untyped reply must decode"
            );
        }
    }
    let _ = plausible_reply_frame(payload, DEFAULT_MAX_FRAME_LEN);
    let mut t = ConnectionTracker::<()>::new(false);
    if let Some(code) = code {
        // A request with that opcode, so the reply is typed through the tracker too.
        let mut req = Vec::new();
        if payload.len() >= 4 {
            req.extend_from_slice(&payload[..4]);
        } else {
            req.extend_from_slice(&1i32.to_be_bytes());
        }
        req.extend_from_slice(&code.to_be_bytes());
        let _ = t.on_client_frame(&req, Timestamp(0), |_| ());
    }
    let _ = t.on_server_frame(payload, Timestamp(1));
});
