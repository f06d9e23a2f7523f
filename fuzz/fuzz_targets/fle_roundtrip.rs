//! decode → encode for the election messages: initial messages (all three generations),
//! notification payloads of every size, framed notifications and quorum-auth packets.
//!
//! Every one of them re-encodes byte for byte (fle-proto keeps unknown trailing bytes as
//! `opaque_tail` and the address/config text raw). The boundary helpers must agree with the
//! parsers.
#![no_main]

use fle_proto::{
    initial_message_boundary, notification_frame_len, decode_framed_notification,
    parse_initial_message, decode_notification, parse_quorum_auth_packet, quorum_auth_boundary,
    Boundary, Encode, PACKET_MAX_SIZE,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_initial_message(data) {
        Ok((rest, m)) => {
            let n = data.len() - rest.len();
            assert_eq!(m.to_bytes(), &data[..n]);
            assert_eq!(m.encoded_len(), n);
            assert_eq!(initial_message_boundary(data), Boundary::Complete(n));
            let _ = m.addresses().count();
        }
        Err(nom::Err::Incomplete(_)) => {
            assert!(
                matches!(initial_message_boundary(data), Boundary::Incomplete(k) if k > data.len())
            )
        }
        Err(_) => assert_eq!(initial_message_boundary(data), Boundary::Invalid),
    }

    if let Ok(n) = decode_notification(data) {
        assert_eq!(n.to_bytes(), data);
        assert_eq!(n.encoded_len(), data.len());
        let _ = n.format();
        let mut framed = Vec::new();
        n.encode_framed(&mut framed);
        if data.len() <= PACKET_MAX_SIZE as usize {
            let (back, used) = decode_framed_notification(&framed).expect("framed");
            assert_eq!(used, framed.len());
            assert_eq!(back, n);
        }
    }

    match notification_frame_len(data, PACKET_MAX_SIZE) {
        Boundary::Complete(total) => {
            assert!(total <= data.len() && total > 4);
            let _ = decode_notification(&data[4..total]);
        }
        Boundary::Incomplete(total) => assert!(total > data.len()),
        Boundary::Invalid => {}
        Boundary::Discard(n) => panic!("notification_frame_len never discards (Discard({n}))"),
    }

    match parse_quorum_auth_packet(data) {
        Ok((rest, p)) => {
            let n = data.len() - rest.len();
            assert_eq!(p.to_bytes(), &data[..n]);
            assert_eq!(quorum_auth_boundary(data), Boundary::Complete(n));
        }
        Err(nom::Err::Incomplete(_)) => {
            assert!(matches!(quorum_auth_boundary(data), Boundary::Incomplete(k) if k > data.len()))
        }
        Err(_) => assert_eq!(quorum_auth_boundary(data), Boundary::Invalid),
    }
});
