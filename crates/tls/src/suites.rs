//! The cipher suites this crate decrypts and what each needs: record protection (AEAD or
//! CBC + HMAC), key sizes, and the hash of its PRF / HKDF. IANA names come from tls-parser's
//! table through [`CipherSuite`](crate::CipherSuite).

use crate::kdf::Hash;

/// An AEAD algorithm of TLS record protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AeadKind {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl AeadKind {
    /// Key length in bytes.
    pub(crate) fn key_len(self) -> usize {
        match self {
            AeadKind::Aes128Gcm => 16,
            AeadKind::Aes256Gcm | AeadKind::ChaCha20Poly1305 => 32,
        }
    }
}

/// How a suite protects records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protection {
    /// An AEAD (TLS 1.2 GCM / ChaCha20-Poly1305, or any TLS 1.3 suite).
    Aead(AeadKind),
    /// AES-CBC with an HMAC (TLS 1.2 only), `key_len` 16 or 32.
    Cbc { key_len: usize, mac: Hash },
}

/// What decrypting one suite takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Suite {
    /// TLS 1.3 suite (HKDF key schedule) rather than TLS 1.2 (PRF key block).
    pub tls13: bool,
    pub protection: Protection,
    /// The PRF hash (TLS 1.2) or HKDF hash (TLS 1.3).
    pub hash: Hash,
}

impl Suite {
    /// The suite with IANA code `id`, if supported.
    pub(crate) fn by_id(id: u16) -> Option<Suite> {
        use AeadKind::*;
        use Hash::*;
        let aead = |k| Protection::Aead(k);
        let cbc = |key_len, mac| Protection::Cbc { key_len, mac };
        let (tls13, protection, hash) = match id {
            0x1301 => (true, aead(Aes128Gcm), Sha256),
            0x1302 => (true, aead(Aes256Gcm), Sha384),
            0x1303 => (true, aead(ChaCha20Poly1305), Sha256),
            // *_WITH_AES_128_GCM_SHA256: RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA.
            0x009c | 0x009e | 0xc02b | 0xc02f => (false, aead(Aes128Gcm), Sha256),
            // *_WITH_AES_256_GCM_SHA384.
            0x009d | 0x009f | 0xc02c | 0xc030 => (false, aead(Aes256Gcm), Sha384),
            // *_WITH_CHACHA20_POLY1305_SHA256: ECDHE_RSA, ECDHE_ECDSA, DHE_RSA.
            0xcca8..=0xccaa => (false, aead(ChaCha20Poly1305), Sha256),
            // *_WITH_AES_128_CBC_SHA: RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA.
            0x002f | 0x0033 | 0xc009 | 0xc013 => (false, cbc(16, Sha1), Sha256),
            // *_WITH_AES_256_CBC_SHA.
            0x0035 | 0x0039 | 0xc00a | 0xc014 => (false, cbc(32, Sha1), Sha256),
            // *_WITH_AES_128_CBC_SHA256.
            0x003c | 0x0067 | 0xc023 | 0xc027 => (false, cbc(16, Sha256), Sha256),
            // RSA / DHE_RSA _WITH_AES_256_CBC_SHA256.
            0x003d | 0x006b => (false, cbc(32, Sha256), Sha256),
            // ECDHE_ECDSA / ECDHE_RSA _WITH_AES_256_CBC_SHA384.
            0xc024 | 0xc028 => (false, cbc(32, Sha384), Sha384),
            _ => return None,
        };
        Some(Suite {
            tls13,
            protection,
            hash,
        })
    }
}
