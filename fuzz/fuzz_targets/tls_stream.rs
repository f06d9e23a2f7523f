//! `zkwire_tls::TlsStream` fed arbitrary bytes in both directions, with a fixed key log.
//!
//! Input: records of
//!
//! * flags: bit 0 the server sent the piece, bit 1 call `retry` after it, bit 2 report a
//!   capture gap instead of bytes, bits 3–7 unused;
//! * piece length (1 byte), then that many bytes (fewer at the end of the input).
//!
//! The key log holds TLS 1.2 and TLS 1.3 secrets for the client random 00 01 02 … 1f.
//! Checks: no panic; no plaintext unless the stream carries that client random (authentic
//! records need the right keys, which the fuzzer would have to forge); at most one of
//! Failed / KeysMissing; held bytes stay bounded and are released by `finish`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkwire_tls::{Direction, KeyLog, TlsEvent, TlsStream, MAX_HELD_BYTES, MAX_RECORD_LEN};

const RANDOM: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn keys() -> KeyLog {
    let mut log = KeyLog::new();
    let s32 = "42".repeat(32);
    let text = format!(
        "CLIENT_RANDOM {RANDOM} {}\n\
         CLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {s32}\n\
         SERVER_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {s32}\n\
         CLIENT_TRAFFIC_SECRET_0 {RANDOM} {s32}\n\
         SERVER_TRAFFIC_SECRET_0 {RANDOM} {s32}\n",
        "42".repeat(48)
    );
    assert_eq!(log.add_text(&text), 0);
    log
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    let random: Vec<u8> = (0u8..32).collect();
    let mut tls = TlsStream::new();
    let mut plaintext = false;
    let mut enders = 0;
    let mut on_event = |e: TlsEvent<'_>| match e {
        TlsEvent::Plaintext { data, .. } => {
            assert!(!data.is_empty());
            plaintext = true;
        }
        TlsEvent::Failed(_) | TlsEvent::KeysMissing(_) => enders += 1,
        _ => {}
    };
    let mut input = data;
    while let [flags, len, rest @ ..] = input {
        let n = (*len as usize).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        input = tail;
        let dir = if flags & 1 != 0 {
            Direction::ToClient
        } else {
            Direction::ToServer
        };
        if flags & 4 != 0 {
            tls.gap(dir, &mut on_event);
        } else {
            tls.push(dir, piece, &keys, &mut on_event);
        }
        if flags & 2 != 0 {
            tls.retry(&keys, &mut on_event);
        }
        assert!(tls.held_bytes() <= MAX_HELD_BYTES + 2 * (MAX_RECORD_LEN + 5) + 2 * (64 << 10));
    }
    tls.finish(&mut on_event);
    assert!(enders <= 1);
    assert_eq!(tls.held_bytes(), 0);
    if plaintext {
        assert!(
            data.windows(32).any(|w| w == random.as_slice()),
            "plaintext without the keyed client random"
        );
    }
});
