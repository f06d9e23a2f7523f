//! The clear part of the handshake: what is learned from ClientHello, ServerHello,
//! EncryptedExtensions and the server's Certificate ([`Handshake`], [`TlsVersion`],
//! [`CipherSuite`]), and the parsing of those messages with tls-parser and x509-parser.

use std::fmt;

use tls_parser::{
    parse_tls_client_hello_extensions, parse_tls_extensions, parse_tls_message_handshake,
    parse_tls_server_hello_extensions, SNIType, TlsCipherSuite, TlsExtension, TlsMessage,
    TlsMessageHandshake,
};

use crate::TlsError;

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.0 (0x0301).
    Tls10,
    /// TLS 1.1 (0x0302).
    Tls11,
    /// TLS 1.2 (0x0303).
    Tls12,
    /// TLS 1.3 (0x0304).
    Tls13,
    /// Any other code (SSL 3.0, drafts, GREASE).
    Unknown(u16),
}

impl TlsVersion {
    /// The version with wire code `code`.
    pub fn from_code(code: u16) -> TlsVersion {
        match code {
            0x0301 => TlsVersion::Tls10,
            0x0302 => TlsVersion::Tls11,
            0x0303 => TlsVersion::Tls12,
            0x0304 => TlsVersion::Tls13,
            other => TlsVersion::Unknown(other),
        }
    }

    /// The wire code.
    pub fn code(self) -> u16 {
        match self {
            TlsVersion::Tls10 => 0x0301,
            TlsVersion::Tls11 => 0x0302,
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
            TlsVersion::Unknown(code) => code,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsVersion::Tls10 => f.write_str("TLSv1"),
            TlsVersion::Tls11 => f.write_str("TLSv1.1"),
            TlsVersion::Tls12 => f.write_str("TLSv1.2"),
            TlsVersion::Tls13 => f.write_str("TLSv1.3"),
            TlsVersion::Unknown(code) => write!(f, "TLS(0x{code:04x})"),
        }
    }
}

/// A cipher suite, by IANA code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CipherSuite(pub u16);

impl CipherSuite {
    /// The IANA code.
    pub fn id(self) -> u16 {
        self.0
    }

    /// The IANA name (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`), or `"unknown"` for a code not
    /// in tls-parser's table.
    pub fn name(self) -> &'static str {
        TlsCipherSuite::from_id(self.0).map_or("unknown", |s| s.name)
    }

    /// Whether this crate can decrypt records protected with this suite.
    pub fn is_supported(self) -> bool {
        crate::suites::Suite::by_id(self.0).is_some()
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match TlsCipherSuite::from_id(self.0) {
            Some(s) => f.write_str(s.name),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

/// What the handshake told about a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Handshake {
    /// The negotiated version (from supported_versions for TLS 1.3).
    pub version: Option<TlsVersion>,
    /// The negotiated cipher suite.
    pub cipher_suite: Option<CipherSuite>,
    /// The server name the client asked for (SNI).
    pub sni: Option<String>,
    /// The negotiated application protocol (ALPN). For TLS 1.3 it is in the encrypted
    /// extensions, so it is known only once those are decrypted (after the
    /// [`TlsEvent::Handshake`](crate::TlsEvent::Handshake) event).
    pub alpn: Option<String>,
    /// The subject of the server's first certificate, RFC 4514 style (`CN=zk-test`); TLS 1.2
    /// only (TLS 1.3 encrypts certificates).
    pub certificate_subject: Option<String>,
    /// Whether the session was resumed (TLS 1.2 abbreviated handshake, TLS 1.3 PSK).
    pub resumed: bool,
}

/// The ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What the stream needs from a ClientHello.
pub(crate) struct ClientHello {
    pub random: [u8; 32],
    pub sni: Option<String>,
    /// The client offers TLS 1.3 early data.
    pub early_data: bool,
}

/// What the stream needs from a ServerHello.
pub(crate) struct ServerHello {
    pub random: [u8; 32],
    /// Negotiated version code (supported_versions if present).
    pub version: u16,
    pub cipher: u16,
    pub hello_retry: bool,
    pub encrypt_then_mac: bool,
    pub alpn: Option<String>,
    /// TLS 1.3 pre_shared_key accepted: a resumption.
    pub psk: bool,
}

const BAD_CH: TlsError = TlsError::Malformed("bad ClientHello");
const BAD_SH: TlsError = TlsError::Malformed("bad ServerHello");

/// Parses a whole ClientHello message (with its 4-byte header).
pub(crate) fn client_hello(msg: &[u8]) -> Result<ClientHello, TlsError> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
        parse_tls_message_handshake(msg)
    else {
        return Err(BAD_CH);
    };
    let random = ch.random.try_into().map_err(|_| BAD_CH)?;
    let exts = match ch.ext {
        Some(e) => parse_tls_client_hello_extensions(e).map_err(|_| BAD_CH)?.1,
        None => Vec::new(),
    };
    let mut hello = ClientHello {
        random,
        sni: None,
        early_data: false,
    };
    for ext in exts {
        match ext {
            TlsExtension::SNI(names) => {
                hello.sni = names
                    .iter()
                    .find(|(t, _)| *t == SNIType::HostName)
                    .map(|(_, n)| String::from_utf8_lossy(n).into_owned());
            }
            TlsExtension::EarlyData(_) => hello.early_data = true,
            _ => {}
        }
    }
    Ok(hello)
}

/// Parses a whole ServerHello message (with its 4-byte header).
pub(crate) fn server_hello(msg: &[u8]) -> Result<ServerHello, TlsError> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) =
        parse_tls_message_handshake(msg)
    else {
        return Err(BAD_SH);
    };
    let random: [u8; 32] = sh.random.try_into().map_err(|_| BAD_SH)?;
    let exts = match sh.ext {
        Some(e) => parse_tls_server_hello_extensions(e).map_err(|_| BAD_SH)?.1,
        None => Vec::new(),
    };
    let mut hello = ServerHello {
        random,
        version: sh.version.0,
        cipher: sh.cipher.0,
        hello_retry: random == HRR_RANDOM,
        encrypt_then_mac: false,
        alpn: None,
        psk: false,
    };
    for ext in exts {
        match ext {
            TlsExtension::SupportedVersions(v) => {
                if let Some(v) = v.first() {
                    hello.version = v.0;
                }
            }
            // tls-parser 0.12's ServerHello table files encrypt_then_mac (22) as an unknown
            // extension (and calls 21 encrypt_then_mac): go by the code.
            TlsExtension::Unknown(t, _) if t.0 == 22 => hello.encrypt_then_mac = true,
            TlsExtension::ALPN(protocols) => hello.alpn = first_protocol(&protocols),
            TlsExtension::PreSharedKey(_) => hello.psk = true,
            _ => {}
        }
    }
    Ok(hello)
}

/// The ALPN protocol of a TLS 1.3 EncryptedExtensions message body (`None` if absent or
/// unreadable: it is informational only).
pub(crate) fn encrypted_extensions_alpn(body: &[u8]) -> Option<String> {
    let exts = body.get(2..)?;
    let (_, exts) = parse_tls_extensions(exts).ok()?;
    exts.into_iter().find_map(|e| match e {
        TlsExtension::ALPN(p) => first_protocol(&p),
        _ => None,
    })
}

fn first_protocol(protocols: &[&[u8]]) -> Option<String> {
    protocols
        .first()
        .map(|p| String::from_utf8_lossy(p).into_owned())
}

/// The subject of the first certificate of a TLS 1.2 Certificate message (`None` if it
/// cannot be read: it is informational only).
pub(crate) fn certificate_subject(msg: &[u8]) -> Option<String> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)))) =
        parse_tls_message_handshake(msg)
    else {
        return None;
    };
    let der = c.cert_chain.first()?.data;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.subject().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(TlsVersion::from_code(0x0303).to_string(), "TLSv1.2");
        assert_eq!(TlsVersion::from_code(0x0304).to_string(), "TLSv1.3");
        assert_eq!(TlsVersion::from_code(0x7f12), TlsVersion::Unknown(0x7f12));
        assert_eq!(
            CipherSuite(0xc02f).name(),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(CipherSuite(0x1301).to_string(), "TLS_AES_128_GCM_SHA256");
        assert_eq!(CipherSuite(0xfafa).to_string(), "0xfafa");
        assert!(CipherSuite(0xcca8).is_supported());
        assert!(!CipherSuite(0x000a).is_supported());
    }

    #[test]
    fn garbage_hellos_are_errors() {
        assert!(client_hello(&[1, 0, 0, 2, 3, 3]).is_err());
        assert!(server_hello(&[2, 0, 0, 0]).is_err());
        assert!(certificate_subject(&[11, 0, 0, 3, 0, 0, 0]).is_none());
    }
}
