//! The connection-handshake parsers: `decode_connect_request` / `decode_connect_response` and
//! the mid-stream shape checks `looks_like_connect_*`, on arbitrary payloads.
//!
//! Checks: no panic; a decoded handshake with protocolVersion 0 also passes the matching
//! shape check; re-encoding gives as many bytes and decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_proto::{
    looks_like_connect_request, looks_like_connect_response, decode_connect_request,
    decode_connect_response, Encode,
};

fuzz_target!(|data: &[u8]| {
    let shape_req = looks_like_connect_request(data);
    let shape_resp = looks_like_connect_response(data);
    if let Ok(req) = decode_connect_request(data) {
        if req.protocol_version == 0 {
            assert!(shape_req, "decoded ConnectRequest fails the shape check");
        }
        let enc = req.to_bytes();
        assert_eq!(enc.len(), data.len());
        assert_eq!(decode_connect_request(&enc), Ok(req));
    }
    if let Ok(resp) = decode_connect_response(data) {
        if resp.protocol_version == 0 {
            assert!(shape_resp, "decoded ConnectResponse fails the shape check");
        }
        let enc = resp.to_bytes();
        assert_eq!(enc.len(), data.len());
        assert_eq!(decode_connect_response(&enc), Ok(resp));
    }
});
