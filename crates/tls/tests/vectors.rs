//! The recorded OpenSSL connections of tests/data/ (see its README): every case decrypts to
//! exactly what tshark decrypted, in whole chunks or byte by byte, with keys known up front
//! or arriving late; wrong or missing keys decrypt nothing.

mod common;

use common::{keylog, load, run, Outcome, CASES};
use zkwire_tls::{CipherSuite, Direction, KeyLog, TlsStream, TlsVersion};

fn check_decrypts(name: &'static str, piece: usize) -> Outcome {
    let case = load(name);
    let keys = keylog(&case.keys);
    let (out, tls) = run(&case.chunks, &keys, piece);
    assert_eq!(
        String::from_utf8_lossy(&out.to_server),
        String::from_utf8_lossy(&case.client_text),
        "{name}: client to server"
    );
    assert_eq!(out.to_client, case.server_text, "{name}: server to client");
    assert_eq!(
        out.events[..2],
        ["Handshake", "Plaintext"],
        "{name}: {:?}",
        out.events
    );
    assert!(
        !out.events
            .iter()
            .any(|e| e.starts_with("Failed") || e == "KeysMissing"),
        "{name}: {:?}",
        out.events
    );
    assert_eq!(tls.held_bytes(), 0, "{name}");
    out
}

#[test]
fn every_case_decrypts_both_ways() {
    for name in CASES {
        let out = check_decrypts(name, usize::MAX);
        let case = load(name);
        let (_, tls) = run(&case.chunks, &keylog(&case.keys), usize::MAX);
        let hs = tls.handshake();
        let tls13 = name.starts_with("tls13");
        assert_eq!(
            hs.version,
            Some(if tls13 {
                TlsVersion::Tls13
            } else {
                TlsVersion::Tls12
            }),
            "{name}"
        );
        assert_eq!(hs.resumed, *name == "tls12_resumed", "{name}");
        if !tls13 && *name != "tls12_resumed" {
            assert_eq!(
                hs.certificate_subject.as_deref(),
                Some("CN=zk-test"),
                "{name}"
            );
        }
        assert!(out.handshake.is_some());
    }
}

#[test]
fn negotiated_suites() {
    let expect = [
        ("tls13_aes128gcm", "TLS_AES_128_GCM_SHA256"),
        ("tls13_aes256gcm", "TLS_AES_256_GCM_SHA384"),
        ("tls13_chacha20", "TLS_CHACHA20_POLY1305_SHA256"),
        (
            "tls12_ecdhe_aes128gcm",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            "tls12_ecdhe_aes256gcm",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        ),
        (
            "tls12_ecdhe_chacha20",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ),
        (
            "tls12_ecdhe_aes128cbc_etm",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        ),
        (
            "tls12_ecdhe_aes128cbc_noetm",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        ),
        (
            "tls12_rsa_aes256cbc_sha256",
            "TLS_RSA_WITH_AES_256_CBC_SHA256",
        ),
    ];
    for (name, suite) in expect {
        let case = load(name);
        let (_, tls) = run(&case.chunks, &keylog(&case.keys), usize::MAX);
        let got = tls.handshake().cipher_suite.map(CipherSuite::name);
        assert_eq!(got, Some(suite), "{name}");
    }
}

#[test]
fn one_byte_pieces_give_the_same_result() {
    for name in CASES {
        let case = load(name);
        let keys = keylog(&case.keys);
        let (whole, _) = run(&case.chunks, &keys, usize::MAX);
        let (bytewise, _) = run(&case.chunks, &keys, 1);
        assert_eq!(whole, bytewise, "{name}");
        let (odd, _) = run(&case.chunks, &keys, 7);
        assert_eq!(whole, odd, "{name}");
    }
}

#[test]
fn key_updates_are_applied_and_reported() {
    let out = check_decrypts("tls13_keyupdate", usize::MAX);
    let updates: Vec<&String> = out
        .events
        .iter()
        .filter(|e| e.starts_with("KeyUpdate"))
        .collect();
    // "k": the client updates; "K": the client updates and asks the server to, which it does.
    assert_eq!(
        updates,
        [
            "KeyUpdate ToServer",
            "KeyUpdate ToServer",
            "KeyUpdate ToClient"
        ],
        "{:?}",
        out.events
    );
    assert!(String::from_utf8_lossy(&out.to_server).contains("after both key updates"));
}

/// The key log with the last hex digit of every secret changed.
fn corrupted(keys: &str) -> String {
    keys.lines()
        .map(|l| {
            if l.starts_with('#') || l.is_empty() {
                return l.to_string();
            }
            let mut l = l.to_string();
            let last = l.pop().unwrap();
            l.push(if last == '0' { '1' } else { '0' });
            l
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_wrong_key_log_fails_with_bad_record_mac() {
    for name in CASES {
        let case = load(name);
        let (out, _) = run(&case.chunks, &keylog(&corrupted(&case.keys)), usize::MAX);
        assert!(!out.has_plaintext(), "{name}");
        let failures: Vec<&String> = out
            .events
            .iter()
            .filter(|e| e.starts_with("Failed"))
            .collect();
        assert_eq!(
            failures,
            ["Failed(BadRecordMac)"],
            "{name}: {:?}",
            out.events
        );
        assert!(!out.events.contains(&"KeysMissing".to_string()), "{name}");
    }
}

#[test]
fn an_empty_key_log_reports_keys_missing() {
    for name in CASES {
        let case = load(name);
        let (out, tls) = run(&case.chunks, &KeyLog::new(), usize::MAX);
        assert!(!out.has_plaintext(), "{name}");
        assert_eq!(
            out.events.last().map(String::as_str),
            Some("KeysMissing"),
            "{name}"
        );
        assert_eq!(out.events.iter().filter(|e| *e == "KeysMissing").count(), 1);
        assert!(
            !out.events.iter().any(|e| e.starts_with("Failed")),
            "{name}"
        );
        assert_eq!(tls.held_bytes(), 0);
    }
}

#[test]
fn keys_arriving_late_decrypt_everything() {
    for name in CASES {
        let case = load(name);
        let mut keys = KeyLog::new();
        let mut out = Outcome::default();
        let mut tls = TlsStream::new();
        for (dir, bytes) in &case.chunks {
            tls.push(*dir, bytes, &keys, &mut |e| out.record(e));
        }
        assert!(!out.has_plaintext(), "{name}");
        assert!(tls.held_bytes() > 0, "{name}");
        assert_eq!(keys.add_text(&case.keys), 0);
        tls.retry(&keys, &mut |e| out.record(e));
        tls.finish(&mut |e| out.record(e));
        assert_eq!(out.to_server, case.client_text, "{name}");
        assert_eq!(out.to_client, case.server_text, "{name}");
        assert!(
            !out.events
                .iter()
                .any(|e| e.starts_with("Failed") || e == "KeysMissing"),
            "{name}: {:?}",
            out.events
        );
    }
}

#[test]
fn keys_arriving_between_pushes_are_used_by_the_next_push() {
    let case = load("tls13_aes128gcm");
    let mut keys = KeyLog::new();
    let mut out = Outcome::default();
    let mut tls = TlsStream::new();
    let half = case.chunks.len() / 2;
    for (dir, bytes) in &case.chunks[..half] {
        tls.push(*dir, bytes, &keys, &mut |e| out.record(e));
    }
    keys.add_text(&case.keys);
    for (dir, bytes) in &case.chunks[half..] {
        tls.push(*dir, bytes, &keys, &mut |e| out.record(e));
    }
    tls.finish(&mut |e| out.record(e));
    assert_eq!(out.to_server, case.client_text);
    assert_eq!(out.to_client, case.server_text);
}

#[test]
fn a_connection_met_mid_stream_is_keys_missing_at_once() {
    let case = load("tls12_ecdhe_aes128gcm");
    let keys = keylog(&case.keys);
    // From the first chunk that is application data on.
    let start = case.chunks.iter().position(|(_, b)| b[0] == 23).unwrap();
    let mut out = Outcome::default();
    let mut tls = TlsStream::new();
    let (dir, bytes) = &case.chunks[start];
    tls.push(*dir, bytes, &keys, &mut |e| out.record(e));
    assert_eq!(out.events, ["KeysMissing"]);
    for (dir, bytes) in &case.chunks[start..] {
        tls.push(*dir, bytes, &keys, &mut |e| out.record(e));
    }
    tls.finish(&mut |e| out.record(e));
    assert_eq!(out.events, ["KeysMissing"]);
    assert!(!out.has_plaintext());
}

#[test]
fn garbage_is_malformed() {
    let mut out = Outcome::default();
    let mut tls = TlsStream::new();
    let keys = KeyLog::new();
    tls.push(
        Direction::ToServer,
        b"GET / HTTP/1.1\r\n\r\n",
        &keys,
        &mut |e| out.record(e),
    );
    tls.push(Direction::ToServer, b"more", &keys, &mut |e| out.record(e));
    tls.finish(&mut |e| out.record(e));
    assert_eq!(out.events, ["Failed(Malformed(\"not a TLS record\"))"]);
}

#[test]
fn a_gap_stops_the_connection_once() {
    let case = load("tls13_chacha20");
    let keys = keylog(&case.keys);
    let mut out = Outcome::default();
    let mut tls = TlsStream::new();
    for (dir, bytes) in &case.chunks[..3] {
        tls.push(*dir, bytes, &keys, &mut |e| out.record(e));
    }
    tls.gap(Direction::ToClient, &mut |e| out.record(e));
    tls.gap(Direction::ToServer, &mut |e| out.record(e));
    for (dir, bytes) in &case.chunks[3..] {
        tls.push(*dir, bytes, &keys, &mut |e| out.record(e));
    }
    tls.finish(&mut |e| out.record(e));
    assert_eq!(out.events.iter().filter(|e| *e == "Failed(Gap)").count(), 1);
    assert!(!out.has_plaintext());
}

#[test]
fn directions_pushed_out_of_causal_order_still_decrypt() {
    // All of the client's bytes first, then all of the server's: the client's records wait
    // for the ServerHello.
    for name in CASES {
        let case = load(name);
        let keys = keylog(&case.keys);
        let mut ordered: Vec<_> = case
            .chunks
            .iter()
            .filter(|(d, _)| *d == Direction::ToServer)
            .cloned()
            .collect();
        ordered.extend(
            case.chunks
                .iter()
                .filter(|(d, _)| *d == Direction::ToClient)
                .cloned(),
        );
        let (out, _) = run(&ordered, &keys, usize::MAX);
        assert_eq!(out.to_server, case.client_text, "{name}");
        assert_eq!(out.to_client, case.server_text, "{name}");
    }
}
