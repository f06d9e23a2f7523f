//! Record decryption: one [`RecordCipher`] per direction and key epoch, holding the keys and
//! the record sequence number. TLS 1.2 AEAD (RFC 5288 GCM, RFC 7905 ChaCha20-Poly1305), TLS
//! 1.2 AES-CBC with HMAC (MAC-then-encrypt, or RFC 7366 encrypt-then-MAC), and TLS 1.3
//! (RFC 8446 §5.2–5.3). The primitives are RustCrypto's.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::{block_padding::NoPadding, BlockModeDecrypt, KeyIvInit};
use chacha20poly1305::ChaCha20Poly1305;
use zeroize::Zeroizing;

use crate::kdf::{hkdf_expand_label, hmac, prf, Hash};
use crate::suites::{AeadKind, Protection, Suite};
use crate::TlsError;

/// AEAD tag length of every supported suite.
const TAG: usize = 16;
/// AES block (and CBC explicit IV) length.
const BLOCK: usize = 16;

/// A keyed AEAD.
enum Aead {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

impl Aead {
    fn new(kind: AeadKind, key: &[u8]) -> Option<Aead> {
        Some(match kind {
            AeadKind::Aes128Gcm => Aead::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
            AeadKind::Aes256Gcm => Aead::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
            AeadKind::ChaCha20Poly1305 => {
                Aead::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
        })
    }

    /// Decrypts `buf` (ciphertext || tag) in place; false if authentication fails.
    fn open(&self, nonce: [u8; 12], aad: &[u8], buf: &mut Vec<u8>) -> bool {
        match self {
            Aead::Aes128Gcm(a) => a.decrypt_in_place(&nonce.into(), aad, buf).is_ok(),
            Aead::Aes256Gcm(a) => a.decrypt_in_place(&nonce.into(), aad, buf).is_ok(),
            Aead::ChaCha(a) => a.decrypt_in_place(&nonce.into(), aad, buf).is_ok(),
        }
    }
}

/// How one direction's records are protected, with its keys.
enum Mode {
    /// TLS 1.2 AES-GCM: 4-byte implicit salt, 8-byte explicit nonce in each record.
    Tls12Gcm { aead: Aead, salt: [u8; 4] },
    /// TLS 1.2 ChaCha20-Poly1305: nonce = IV XOR sequence number.
    Tls12ChaCha { aead: Aead, iv: [u8; 12] },
    /// TLS 1.2 AES-CBC + HMAC, explicit IV per record.
    Tls12Cbc {
        key: Zeroizing<Vec<u8>>,
        mac_key: Zeroizing<Vec<u8>>,
        mac: Hash,
        encrypt_then_mac: bool,
    },
    /// TLS 1.3: nonce = IV XOR sequence number; the secret is kept for KeyUpdate.
    Tls13 {
        aead: Aead,
        iv: [u8; 12],
        secret: Zeroizing<Vec<u8>>,
        kind: AeadKind,
        hash: Hash,
    },
}

/// The decryption state of one direction in one key epoch.
pub(crate) struct RecordCipher {
    mode: Mode,
    /// Sequence number of the next record.
    seq: u64,
}

/// A decrypted record: its (inner) content type and plaintext.
pub(crate) struct Opened {
    pub content_type: u8,
    pub data: Zeroizing<Vec<u8>>,
}

impl RecordCipher {
    /// TLS 1.2 keys of one direction (`client`: the client's writes) from the master secret.
    pub(crate) fn tls12(
        suite: Suite,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        client: bool,
        encrypt_then_mac: bool,
    ) -> Option<RecordCipher> {
        // key_block = PRF(master, "key expansion", server_random || client_random), cut into
        // client MAC key, server MAC key, client key, server key, client IV, server IV.
        let (mac_len, key_len, iv_len) = match suite.protection {
            Protection::Aead(AeadKind::ChaCha20Poly1305) => (0, 32, 12),
            Protection::Aead(kind) => (0, kind.key_len(), 4),
            Protection::Cbc { key_len, mac } => (mac.len(), key_len, 0),
        };
        let seed = [&server_random[..], &client_random[..]].concat();
        let block = prf(
            suite.hash,
            master,
            b"key expansion",
            &seed,
            2 * (mac_len + key_len + iv_len),
        );
        let pick = |offset: usize, len: usize| {
            let start = offset + if client { 0 } else { len };
            block.get(start..start + len)
        };
        let mac_key = pick(0, mac_len)?;
        let key = pick(2 * mac_len, key_len)?;
        let iv = pick(2 * (mac_len + key_len), iv_len)?;
        let mode = match suite.protection {
            Protection::Aead(kind @ AeadKind::ChaCha20Poly1305) => Mode::Tls12ChaCha {
                aead: Aead::new(kind, key)?,
                iv: iv.try_into().ok()?,
            },
            Protection::Aead(kind) => Mode::Tls12Gcm {
                aead: Aead::new(kind, key)?,
                salt: iv.try_into().ok()?,
            },
            Protection::Cbc { mac, .. } => Mode::Tls12Cbc {
                key: Zeroizing::new(key.to_vec()),
                mac_key: Zeroizing::new(mac_key.to_vec()),
                mac,
                encrypt_then_mac,
            },
        };
        Some(RecordCipher { mode, seq: 0 })
    }

    /// TLS 1.3 keys from a traffic secret.
    pub(crate) fn tls13(suite: Suite, secret: &[u8]) -> Option<RecordCipher> {
        let Protection::Aead(kind) = suite.protection else {
            return None;
        };
        if secret.len() != suite.hash.len() {
            return None;
        }
        let key = hkdf_expand_label(suite.hash, secret, b"key", b"", kind.key_len())?;
        let iv = hkdf_expand_label(suite.hash, secret, b"iv", b"", 12)?;
        Some(RecordCipher {
            mode: Mode::Tls13 {
                aead: Aead::new(kind, &key)?,
                iv: iv.as_slice().try_into().ok()?,
                secret: Zeroizing::new(secret.to_vec()),
                kind,
                hash: suite.hash,
            },
            seq: 0,
        })
    }

    /// Applies a TLS 1.3 KeyUpdate: the next traffic secret, sequence number 0. False for
    /// TLS 1.2 (no KeyUpdate there).
    pub(crate) fn key_update(&mut self) -> bool {
        let Mode::Tls13 {
            secret, kind, hash, ..
        } = &self.mode
        else {
            return false;
        };
        let Some(next) = hkdf_expand_label(*hash, secret, b"traffic upd", b"", hash.len()) else {
            return false;
        };
        let suite = Suite {
            tls13: true,
            protection: Protection::Aead(*kind),
            hash: *hash,
        };
        match RecordCipher::tls13(suite, &next) {
            Some(c) => {
                *self = c;
                true
            }
            None => false,
        }
    }

    /// Decrypts one record (`header`: its 5 bytes; `fragment`: the rest).
    pub(crate) fn open(&mut self, header: &[u8; 5], fragment: &[u8]) -> Result<Opened, TlsError> {
        let seq = self.seq.to_be_bytes();
        let opened = match &self.mode {
            Mode::Tls12Gcm { aead, salt } => {
                let (explicit, sealed) = split(fragment, 8)?;
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(salt);
                nonce[4..].copy_from_slice(explicit);
                open_aead12(aead, nonce, &seq, header, sealed)?
            }
            Mode::Tls12ChaCha { aead, iv } => {
                open_aead12(aead, xor_seq(iv, self.seq), &seq, header, fragment)?
            }
            Mode::Tls12Cbc {
                key,
                mac_key,
                mac,
                encrypt_then_mac,
            } => {
                let cbc = Cbc {
                    key,
                    mac_key,
                    mac: *mac,
                };
                if *encrypt_then_mac {
                    cbc.open_etm(&seq, header, fragment)?
                } else {
                    cbc.open_mte(&seq, header, fragment)?
                }
            }
            Mode::Tls13 { aead, iv, .. } => {
                open_tls13(aead, xor_seq(iv, self.seq), header, fragment)?
            }
        };
        self.seq = self.seq.wrapping_add(1);
        Ok(opened)
    }
}

/// `bytes` split at `at`, or Malformed if shorter.
fn split(bytes: &[u8], at: usize) -> Result<(&[u8], &[u8]), TlsError> {
    bytes
        .split_at_checked(at)
        .ok_or(TlsError::Malformed("encrypted record too short"))
}

/// The per-record nonce of RFC 7905 / RFC 8446: the IV XOR the sequence number.
fn xor_seq(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut nonce = *iv;
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    nonce
}

/// TLS 1.2 AEAD: AAD = seq || type || version || plaintext length.
fn open_aead12(
    aead: &Aead,
    nonce: [u8; 12],
    seq: &[u8; 8],
    header: &[u8; 5],
    sealed: &[u8],
) -> Result<Opened, TlsError> {
    let plain_len = sealed
        .len()
        .checked_sub(TAG)
        .ok_or(TlsError::Malformed("encrypted record too short"))?;
    let aad = mac_header(seq, header, plain_len);
    let mut buf = Zeroizing::new(sealed.to_vec());
    if !aead.open(nonce, &aad, &mut buf) {
        return Err(TlsError::BadRecordMac);
    }
    Ok(Opened {
        content_type: header[0],
        data: buf,
    })
}

/// TLS 1.3: AAD = the record header; the inner plaintext ends with its content type, then
/// zero padding.
fn open_tls13(
    aead: &Aead,
    nonce: [u8; 12],
    header: &[u8; 5],
    sealed: &[u8],
) -> Result<Opened, TlsError> {
    if sealed.len() < TAG {
        return Err(TlsError::Malformed("encrypted record too short"));
    }
    let mut buf = Zeroizing::new(sealed.to_vec());
    if !aead.open(nonce, header, &mut buf) {
        return Err(TlsError::BadRecordMac);
    }
    let Some(end) = buf.iter().rposition(|&b| b != 0) else {
        return Err(TlsError::Malformed("TLS 1.3 record without content type"));
    };
    let content_type = buf[end];
    buf.truncate(end);
    Ok(Opened {
        content_type,
        data: buf,
    })
}

/// seq || type || version || length: the MAC / AAD prefix of TLS 1.2 (RFC 5246 §6.2.3).
fn mac_header(seq: &[u8; 8], header: &[u8; 5], len: usize) -> [u8; 13] {
    let mut h = [0u8; 13];
    h[..8].copy_from_slice(seq);
    h[8..11].copy_from_slice(&header[..3]);
    // Record lengths are bounded far below 2^16 before decryption is attempted.
    h[11..].copy_from_slice(&(len as u16).to_be_bytes());
    h
}

/// The keys of a TLS 1.2 CBC direction.
struct Cbc<'a> {
    key: &'a [u8],
    mac_key: &'a [u8],
    mac: Hash,
}

impl Cbc<'_> {
    /// Decrypts whole blocks in place with the record's explicit IV (no unpadding).
    fn decrypt(&self, iv: &[u8], buf: &mut [u8]) -> Result<(), TlsError> {
        if buf.is_empty() || buf.len() % BLOCK != 0 {
            return Err(TlsError::BadRecordMac);
        }
        let ok = match self.key.len() {
            16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(self.key, iv)
                .ok()
                .and_then(|d| d.decrypt_padded::<NoPadding>(buf).ok().map(|_| ())),
            _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(self.key, iv)
                .ok()
                .and_then(|d| d.decrypt_padded::<NoPadding>(buf).ok().map(|_| ())),
        };
        ok.ok_or(TlsError::BadRecordMac)
    }

    /// The length of `plain` without its CBC padding, if the padding is well formed.
    fn unpad(plain: &[u8]) -> Option<usize> {
        let pad = *plain.last()? as usize;
        let body = plain.len().checked_sub(pad + 1)?;
        plain[body..]
            .iter()
            .all(|&b| b as usize == pad)
            .then_some(body)
    }

    /// MAC-then-encrypt (RFC 5246 §6.2.3.2): IV || E(content || MAC || padding).
    fn open_mte(
        &self,
        seq: &[u8; 8],
        header: &[u8; 5],
        fragment: &[u8],
    ) -> Result<Opened, TlsError> {
        let (iv, sealed) = split(fragment, BLOCK)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        self.decrypt(iv, &mut buf)?;
        let unpadded = Cbc::unpad(&buf).ok_or(TlsError::BadRecordMac)?;
        let content_len = unpadded
            .checked_sub(self.mac.len())
            .ok_or(TlsError::BadRecordMac)?;
        let (content, rest) = buf.split_at(content_len);
        let tag = &rest[..self.mac.len()];
        let expected = hmac(
            self.mac,
            self.mac_key,
            &[&mac_header(seq, header, content_len), content],
        );
        if expected.as_slice() != tag {
            return Err(TlsError::BadRecordMac);
        }
        buf.truncate(content_len);
        Ok(Opened {
            content_type: header[0],
            data: buf,
        })
    }

    /// Encrypt-then-MAC (RFC 7366): IV || E(content || padding) || MAC(IV || ciphertext).
    fn open_etm(
        &self,
        seq: &[u8; 8],
        header: &[u8; 5],
        fragment: &[u8],
    ) -> Result<Opened, TlsError> {
        let sealed_len = fragment
            .len()
            .checked_sub(self.mac.len())
            .ok_or(TlsError::Malformed("encrypted record too short"))?;
        let (sealed, tag) = fragment.split_at(sealed_len);
        let expected = hmac(
            self.mac,
            self.mac_key,
            &[&mac_header(seq, header, sealed_len), sealed],
        );
        if expected.as_slice() != tag {
            return Err(TlsError::BadRecordMac);
        }
        let (iv, ciphertext) = split(sealed, BLOCK)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        self.decrypt(iv, &mut buf)?;
        let content_len = Cbc::unpad(&buf).ok_or(TlsError::BadRecordMac)?;
        buf.truncate(content_len);
        Ok(Opened {
            content_type: header[0],
            data: buf,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::unhex;

    fn rfc8448_suite() -> Suite {
        Suite::by_id(0x1301).unwrap()
    }

    /// RFC 8448 §3: the client's Finished, under the client handshake traffic secret.
    #[test]
    fn rfc8448_client_finished_record() {
        let secret = unhex("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21");
        let record = unhex(
            "170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338\
             ac98fc46deb384bd1caeacab6867d726c40546",
        );
        let mut c = RecordCipher::tls13(rfc8448_suite(), &secret).unwrap();
        let header: [u8; 5] = record[..5].try_into().unwrap();
        let opened = c.open(&header, &record[5..]).unwrap();
        assert_eq!(opened.content_type, 22);
        assert_eq!(
            *opened.data,
            unhex("14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61")
        );
        // The same record again has the wrong sequence number: authentication fails.
        assert!(matches!(
            c.open(&header, &record[5..]),
            Err(TlsError::BadRecordMac)
        ));
    }

    /// RFC 8448 §3: the client's 50 bytes of application data (0x00..0x31).
    #[test]
    fn rfc8448_client_application_data() {
        let secret = unhex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5");
        let fragment = unhex(
            "a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20\
             441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4",
        );
        let mut c = RecordCipher::tls13(rfc8448_suite(), &secret).unwrap();
        let opened = c.open(&[0x17, 3, 3, 0, 0x43], &fragment).unwrap();
        assert_eq!(opened.content_type, 23);
        assert_eq!(*opened.data, (0u8..50).collect::<Vec<_>>());
    }

    #[test]
    fn short_and_garbage_records_are_errors() {
        let mut c = RecordCipher::tls13(rfc8448_suite(), &[7; 32]).unwrap();
        assert!(matches!(
            c.open(&[23, 3, 3, 0, 3], &[1, 2, 3]),
            Err(TlsError::Malformed(_))
        ));
        assert!(matches!(
            c.open(&[23, 3, 3, 0, 20], &[0; 20]),
            Err(TlsError::BadRecordMac)
        ));
    }
}
