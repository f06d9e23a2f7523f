//! Property tests: arbitrary bytes in arbitrary pieces never panic and never yield
//! plaintext without the right keys; a real connection with one byte changed yields at most
//! a prefix of the real plaintext (nothing unauthenticated is ever reported).

mod common;

use common::{keylog, load, Outcome};
use proptest::prelude::*;
use zkwire_tls::{looks_like_tls, Direction, KeyLog, TlsStream};

/// Pushes `(to_server, bytes)` pieces, then finishes; checks the once-only events.
fn drive(pieces: &[(bool, Vec<u8>)], keys: &KeyLog, retry_each: bool) -> Outcome {
    let mut out = Outcome::default();
    let mut tls = TlsStream::new();
    for (to_server, bytes) in pieces {
        let dir = if *to_server {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        tls.push(dir, bytes, keys, &mut |e| out.record(e));
        if retry_each {
            tls.retry(keys, &mut |e| out.record(e));
        }
        assert!(
            tls.held_bytes() <= zkwire_tls::MAX_HELD_BYTES + 2 * (zkwire_tls::MAX_RECORD_LEN + 5)
        );
    }
    tls.finish(&mut |e| out.record(e));
    let enders = out
        .events
        .iter()
        .filter(|e| e.starts_with("Failed") || *e == "KeysMissing")
        .count();
    assert!(enders <= 1, "{:?}", out.events);
    assert_eq!(tls.held_bytes(), 0);
    out
}

fn pieces() -> impl Strategy<Value = Vec<(bool, Vec<u8>)>> {
    prop::collection::vec(
        (any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)),
        0..40,
    )
}

/// Pieces that start like TLS (a ClientHello header, then record headers) to get past the
/// first checks more often than random bytes do.
fn tls_like_pieces() -> impl Strategy<Value = Vec<(bool, Vec<u8>)>> {
    let record = (
        20u8..=24,
        0u8..=4,
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(t, minor, body)| {
            let mut r = vec![t, 3, minor, 0, body.len() as u8];
            r[3] = (body.len() >> 8) as u8;
            r.extend_from_slice(&body);
            r
        });
    prop::collection::vec((any::<bool>(), record), 0..30).prop_map(|mut v| {
        if let Some(first) = v.first_mut() {
            first.0 = true;
            first.1[0] = 22;
            if first.1.len() > 5 {
                first.1[5] = 1;
            }
        }
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic_nor_decrypt(p in pieces(), retry in any::<bool>()) {
        let out = drive(&p, &KeyLog::new(), retry);
        prop_assert!(!out.has_plaintext());
        let keys = keylog(&load("tls13_aes128gcm").keys);
        let out = drive(&p, &keys, retry);
        prop_assert!(!out.has_plaintext());
        for (to_server, bytes) in &p {
            let _ = looks_like_tls(bytes, *to_server, true);
            let _ = looks_like_tls(bytes, *to_server, false);
        }
    }

    #[test]
    fn tls_like_records_never_panic_nor_decrypt(p in tls_like_pieces()) {
        let keys = keylog(&load("tls12_ecdhe_aes128gcm").keys);
        let out = drive(&p, &keys, false);
        prop_assert!(!out.has_plaintext());
    }

    #[test]
    fn a_changed_byte_yields_only_authentic_plaintext(
        case in prop::sample::select(common::CASES),
        at in any::<prop::sample::Index>(),
        xor in 1u8..,
        piece in 1usize..2000,
    ) {
        let case = load(case);
        let keys = keylog(&case.keys);
        let mut bytes: Vec<(bool, Vec<u8>)> = case
            .chunks
            .iter()
            .map(|(d, b)| (*d == Direction::ToServer, b.clone()))
            .collect();
        let total: usize = bytes.iter().map(|(_, b)| b.len()).sum();
        let mut target = at.index(total);
        for (_, b) in bytes.iter_mut() {
            if target < b.len() {
                b[target] ^= xor;
                break;
            }
            target -= b.len();
        }
        let split: Vec<(bool, Vec<u8>)> = bytes
            .iter()
            .flat_map(|(d, b)| b.chunks(piece).map(move |c| (*d, c.to_vec())))
            .collect();
        let out = drive(&split, &keys, false);
        prop_assert!(case.client_text.starts_with(&out.to_server));
        prop_assert!(case.server_text.starts_with(&out.to_client));
    }
}
