//! Key derivation glue over RustCrypto's HMAC and HKDF: the TLS 1.2 PRF (RFC 5246 §5,
//! `P_hash`), HKDF-Expand-Label (RFC 8446 §7.1) and the record MAC of TLS 1.2 CBC suites.
//! No primitive is implemented here, only how TLS strings them together.

use hmac::{Hmac, KeyInit, Mac};
use zeroize::Zeroizing;

/// The hash a suite's PRF / HKDF / record MAC uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha1,
    Sha256,
    Sha384,
}

impl Hash {
    /// Output length in bytes.
    pub(crate) fn len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// HMAC of the concatenation of `parts` under `key`.
pub(crate) fn hmac(hash: Hash, key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
    fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        // HMAC takes keys of any length, so new_from_slice cannot fail; an empty MAC on the
        // impossible error would only fail verification.
        let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
            return Zeroizing::new(Vec::new());
        };
        for p in parts {
            mac.update(p);
        }
        Zeroizing::new(mac.finalize().into_bytes().to_vec())
    }
    match hash {
        Hash::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
        Hash::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts),
        Hash::Sha384 => run::<Hmac<sha2::Sha384>>(key, parts),
    }
}

/// The TLS 1.2 PRF: `P_hash(secret, label || seed)` truncated to `len` bytes.
pub(crate) fn prf(
    hash: Hash,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + hash.len()));
    // A(1) = HMAC(secret, label || seed); A(i) = HMAC(secret, A(i-1)).
    let mut a = hmac(hash, secret, &[label, seed]);
    while out.len() < len {
        out.extend_from_slice(&hmac(hash, secret, &[&a, label, seed]));
        a = hmac(hash, secret, &[&a]);
    }
    out.truncate(len);
    out
}

/// HKDF-Expand-Label(secret, label, context, len) of RFC 8446 §7.1 (label without the
/// "tls13 " prefix). `None` if `len` is more than HKDF can give (not for TLS's lengths).
pub(crate) fn hkdf_expand_label(
    hash: Hash,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Option<Zeroizing<Vec<u8>>> {
    // struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255> }
    let full_label_len = u8::try_from(6 + label.len()).ok()?;
    let context_len = u8::try_from(context.len()).ok()?;
    let mut info = Vec::with_capacity(4 + full_label_len as usize + context.len());
    info.extend_from_slice(&u16::try_from(len).ok()?.to_be_bytes());
    info.push(full_label_len);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(context_len);
    info.extend_from_slice(context);
    let mut out = Zeroizing::new(vec![0u8; len]);
    let ok = match hash {
        Hash::Sha256 => hkdf::Hkdf::<sha2::Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .is_ok(),
        Hash::Sha384 => hkdf::Hkdf::<sha2::Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .is_ok(),
        Hash::Sha1 => false,
    };
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::unhex;

    /// RFC 8448 §3 (Simple 1-RTT Handshake): the server handshake traffic secret and the
    /// write key and IV derived from it.
    #[test]
    fn rfc8448_server_handshake_key_and_iv() {
        let secret = unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
        let key = hkdf_expand_label(Hash::Sha256, &secret, b"key", b"", 16).unwrap();
        let iv = hkdf_expand_label(Hash::Sha256, &secret, b"iv", b"", 12).unwrap();
        assert_eq!(*key, unhex("3fce516009c21727d0f2e4e86ee403bc"));
        assert_eq!(*iv, unhex("5d313eb2671276ee13000b30"));
    }

    /// RFC 8448 §3: the client application traffic secret's write key and IV.
    #[test]
    fn rfc8448_client_application_key_and_iv() {
        let secret = unhex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5");
        let key = hkdf_expand_label(Hash::Sha256, &secret, b"key", b"", 16).unwrap();
        let iv = hkdf_expand_label(Hash::Sha256, &secret, b"iv", b"", 12).unwrap();
        assert_eq!(*key, unhex("17422dda596ed5d9acd890e3c63f5051"));
        assert_eq!(*iv, unhex("5b78923dee08579033e523d9"));
    }

    /// The TLS 1.2 PRF (SHA-256) test vector circulated on the IETF TLS list.
    #[test]
    fn prf_sha256_vector() {
        let secret = unhex("9bbe436ba940f017b17652849a71db35");
        let seed = unhex("a0ba9f936cda311827a6f796ffd5198c");
        let out = prf(Hash::Sha256, &secret, b"test label", &seed, 100);
        assert_eq!(
            *out,
            unhex(
                "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a\
                 6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab\
                 4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701\
                 87347b66"
            )
        );
    }
}
