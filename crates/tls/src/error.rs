//! The two error types: [`TlsError`], why decryption of a connection stopped, and
//! [`KeyLogError`], why a key log line was rejected. Neither ever holds key material: a
//! rejected line is described by its label and line shape, never echoed.

use thiserror::Error;

/// Why decryption of a connection stopped for good (reported once, as
/// [`TlsEvent::Failed`](crate::TlsEvent::Failed)).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A record failed authentication (AEAD tag, CBC padding or MAC): the key log holds
    /// secrets for this client random, but not the right ones.
    #[error("bad record MAC: the key log's secrets do not match this connection")]
    BadRecordMac,
    /// The negotiated cipher suite (IANA code) is not one this crate decrypts.
    #[error("unsupported cipher suite 0x{0:04x}")]
    UnsupportedCipherSuite(u16),
    /// The negotiated protocol version is not TLS 1.2 or 1.3.
    #[error("unsupported TLS version 0x{0:04x}")]
    UnsupportedVersion(u16),
    /// The bytes do not follow the TLS protocol (the text says where).
    #[error("malformed TLS: {0}")]
    Malformed(&'static str),
    /// A record longer than TLS allows (2^14 + 2048 bytes of fragment).
    #[error("TLS record of {0} bytes is too long")]
    RecordTooLong(usize),
    /// Bytes of the connection were lost in the capture: record boundaries and sequence
    /// numbers are gone.
    #[error("capture gap: the rest of the connection cannot be decrypted")]
    Gap,
    /// A TLS 1.2 renegotiation (an encrypted handshake after Finished) is not followed.
    #[error("TLS renegotiation is not supported")]
    Renegotiation,
    /// The client sent TLS 1.3 early data (0-RTT), which is not decrypted.
    #[error("TLS 1.3 early data is not supported")]
    EarlyData,
}

/// Why one line of an NSS key log was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyLogError {
    /// The line does not have the three fields `LABEL CLIENT_RANDOM SECRET`.
    #[error("key log line does not have three fields")]
    WrongFieldCount,
    /// The label is not one of the NSS key log labels.
    #[error("unknown key log label")]
    UnknownLabel,
    /// The client random is not 64 hex digits.
    #[error("client random of {label} is not 32 bytes of hex")]
    BadClientRandom {
        /// The line's label.
        label: &'static str,
    },
    /// The secret is not hex, or not of the length the label calls for.
    #[error("secret of {label} is not valid hex of the right length")]
    BadSecret {
        /// The line's label.
        label: &'static str,
    },
}
