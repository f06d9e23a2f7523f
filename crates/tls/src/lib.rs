//! Passive decryption of TLS connections for zkwire, with the secrets of an NSS key log
//! (`SSLKEYLOGFILE`). Sans-IO: a [`TlsStream`] is pushed the in-order bytes of each direction
//! of one TCP connection and reports [`TlsEvent`]s — the handshake, then decrypted
//! application data to hand to the ZooKeeper decoders.
//!
//! * [`KeyLog`] / [`KeyLogFile`]: secrets by client random, read from a key log file that a
//!   live client may still be appending to.
//! * [`TlsStream`]: one connection; ciphertext whose keys are not logged yet is held (at most
//!   [`MAX_HELD_BYTES`]) and decrypted on a later push or [`TlsStream::retry`].
//! * [`looks_like_tls`]: whether a stream's first bytes are TLS records.
//!
//! Decrypted: TLS 1.3 (`TLS_AES_128_GCM_SHA256`, `TLS_AES_256_GCM_SHA384`,
//! `TLS_CHACHA20_POLY1305_SHA256`, with HelloRetryRequest, client certificates and KeyUpdate)
//! and TLS 1.2 with AES-GCM, ChaCha20-Poly1305 and AES-CBC + HMAC-SHA1/SHA256/SHA384
//! (MAC-then-encrypt or encrypt-then-MAC) for RSA, DHE-RSA, ECDHE-RSA and ECDHE-ECDSA key
//! exchange, including resumed sessions. Not decrypted: SSL 3.0 – TLS 1.1, other suites,
//! TLS 1.3 early data, TLS 1.2 renegotiation — each reported once as a named [`TlsError`].
//!
//! Never panics on any input; nothing that failed authentication is ever reported as
//! plaintext. The cryptographic primitives are RustCrypto's; this crate only strings them
//! together the way TLS does.
#![forbid(unsafe_code)]

mod cipher;
mod error;
mod handshake;
mod kdf;
mod keylog;
mod record;
mod stream;
mod suites;

#[cfg(test)]
mod testutil;

pub use error::{KeyLogError, TlsError};
pub use handshake::{CipherSuite, Handshake, TlsVersion};
pub use keylog::{KeyLog, KeyLogFile, MAX_CLIENT_RANDOMS};
pub use record::{looks_like_tls, MAX_RECORD_LEN};
pub use stream::{TlsStream, MAX_HANDSHAKE_MESSAGE, MAX_HELD_BYTES};
pub use zkwire_jute::Direction;

/// What a [`TlsStream`] reports, in stream order.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsEvent<'a> {
    /// Decrypted application data of one direction (feed it to the ZooKeeper decoders).
    Plaintext {
        /// Which way the data went.
        dir: Direction,
        /// The record's plaintext (never empty).
        data: &'a [u8],
    },
    /// The clear part of the handshake is complete (after ServerHello for TLS 1.3; after
    /// ServerHelloDone or the first ChangeCipherSpec for TLS 1.2). Reported once, before the
    /// first [`Plaintext`](TlsEvent::Plaintext).
    Handshake(&'a Handshake),
    /// The key log has no keys for this connection (or no handshake was seen: the connection
    /// was met mid-stream), so nothing of it will be decoded. Reported at most once, when
    /// giving up: held ciphertext passed [`MAX_HELD_BYTES`], [`TlsStream::finish`], or at
    /// once for a connection met mid-stream.
    KeysMissing(&'a Handshake),
    /// A TLS 1.3 KeyUpdate was applied in `dir`.
    KeyUpdate {
        /// The direction whose keys changed.
        dir: Direction,
    },
    /// Decryption stopped for good on this connection (reported at most once).
    Failed(TlsError),
}

/// Compiles the README's example as a doctest, so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
