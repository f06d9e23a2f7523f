//! Loading the recorded vectors of tests/data/ and running them through a `TlsStream`.
#![allow(dead_code, missing_docs)]

use std::path::PathBuf;

use zkwire_tls::{Direction, Handshake, KeyLog, TlsEvent, TlsStream};

pub struct Case {
    pub name: &'static str,
    /// The connection's TCP payload chunks, in capture order.
    pub chunks: Vec<(Direction, Vec<u8>)>,
    pub keys: String,
    pub client_text: Vec<u8>,
    pub server_text: Vec<u8>,
}

pub const CASES: &[&str] = &[
    "tls13_aes128gcm",
    "tls13_aes256gcm",
    "tls13_chacha20",
    "tls13_keyupdate",
    "tls13_client_cert",
    "tls12_ecdhe_aes128gcm",
    "tls12_ecdhe_aes256gcm",
    "tls12_ecdhe_chacha20",
    "tls12_ecdhe_aes128cbc_etm",
    "tls12_ecdhe_aes128cbc_noetm",
    "tls12_rsa_aes256cbc_sha256",
    "tls12_resumed",
];

fn data(file: String) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file)
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

pub fn load(name: &'static str) -> Case {
    let stream = std::fs::read_to_string(data(format!("{name}.stream"))).unwrap();
    let chunks = stream
        .lines()
        .map(|l| {
            let (dir, hex) = l.split_once(' ').unwrap();
            let dir = match dir {
                ">" => Direction::ToServer,
                "<" => Direction::ToClient,
                other => panic!("bad direction {other}"),
            };
            (dir, unhex(hex))
        })
        .collect();
    Case {
        name,
        chunks,
        keys: std::fs::read_to_string(data(format!("{name}.keys"))).unwrap(),
        client_text: std::fs::read(data(format!("{name}.client.txt"))).unwrap(),
        server_text: std::fs::read(data(format!("{name}.server.txt"))).unwrap(),
    }
}

/// What a connection produced.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub to_server: Vec<u8>,
    pub to_client: Vec<u8>,
    /// Every event but Plaintext, in order, as text (`Plaintext` once before the first one).
    pub events: Vec<String>,
    pub handshake: Option<Handshake>,
}

impl Outcome {
    pub fn record(&mut self, e: TlsEvent<'_>) {
        match e {
            TlsEvent::Plaintext { dir, data } => {
                assert!(!data.is_empty());
                if self.to_server.is_empty() && self.to_client.is_empty() {
                    self.events.push("Plaintext".into());
                }
                match dir {
                    Direction::ToServer => self.to_server.extend_from_slice(data),
                    Direction::ToClient => self.to_client.extend_from_slice(data),
                }
            }
            TlsEvent::Handshake(h) => {
                self.events.push("Handshake".into());
                self.handshake = Some(h.clone());
            }
            TlsEvent::KeysMissing(_) => self.events.push("KeysMissing".into()),
            TlsEvent::KeyUpdate { dir } => self.events.push(format!("KeyUpdate {dir:?}")),
            TlsEvent::Failed(e) => self.events.push(format!("Failed({e:?})")),
            other => self.events.push(format!("{other:?}")),
        }
    }

    pub fn has_plaintext(&self) -> bool {
        !self.to_server.is_empty() || !self.to_client.is_empty()
    }
}

/// Pushes the chunks (each cut in pieces of at most `piece` bytes) and finishes.
pub fn run(chunks: &[(Direction, Vec<u8>)], keys: &KeyLog, piece: usize) -> (Outcome, TlsStream) {
    let mut out = Outcome::default();
    let mut tls = TlsStream::new();
    for (dir, bytes) in chunks {
        for p in bytes.chunks(piece) {
            tls.push(*dir, p, keys, &mut |e| out.record(e));
        }
    }
    tls.finish(&mut |e| out.record(e));
    (out, tls)
}

pub fn keylog(text: &str) -> KeyLog {
    let mut log = KeyLog::new();
    assert_eq!(log.add_text(text), 0);
    log
}
