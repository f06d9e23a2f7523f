//! How every tool shows a TLS connection: one line per connection, saying what became of it
//! (decrypted, keys missing, failed with a named error) and what its handshake shows in clear.
//! The key log's secrets never reach this far, so they cannot be printed.

use crate::line::Line;
use zkwire_capture::tls::{Handshake, TlsError, TlsNotice};

/// What became of a TLS connection, as the `tls` key names it.
pub fn status(notice: &TlsNotice<'_>) -> &'static str {
    match notice {
        TlsNotice::Decrypting(_) => "decrypted",
        TlsNotice::KeysMissing(_) => "keys_missing",
        TlsNotice::Failed(..) => "failed",
        TlsNotice::KeyUpdate(_) => "key_update",
        _ => "unknown",
    }
}

/// A short stable name for a decryption failure (the `error` key); the message says more.
pub fn error_name(e: &TlsError) -> &'static str {
    match e {
        TlsError::BadRecordMac => "bad_record_mac",
        TlsError::UnsupportedCipherSuite(_) => "unsupported_cipher_suite",
        TlsError::UnsupportedVersion(_) => "unsupported_version",
        TlsError::Malformed(_) => "malformed",
        TlsError::RecordTooLong(_) => "record_too_long",
        TlsError::Gap => "capture_gap",
        TlsError::Renegotiation => "renegotiation",
        TlsError::EarlyData => "early_data",
        _ => "other",
    }
}

fn handshake_of<'a>(notice: &TlsNotice<'a>) -> Option<&'a Handshake> {
    match *notice {
        TlsNotice::Decrypting(h) | TlsNotice::KeysMissing(h) | TlsNotice::Failed(_, h) => Some(h),
        _ => None,
    }
}

/// Adds the connection's TLS fields to `line`: `tls` (decrypted, keys_missing, failed), then
/// whatever the handshake showed: `version`, `cipher_suite`, `sni`, `certificate` (the server
/// certificate's subject, TLS 1.2 only), `resumed`, and for a failure `error` and `reason`.
pub fn describe(line: &mut Line, notice: &TlsNotice<'_>) {
    line.str("tls", status(notice));
    if let Some(h) = handshake_of(notice) {
        if let Some(v) = h.version {
            line.display("version", v);
        }
        if let Some(suite) = h.cipher_suite {
            line.display("cipher_suite", suite);
        }
        if let Some(sni) = &h.sni {
            line.str("sni", sni);
        }
        if let Some(subject) = &h.certificate_subject {
            line.str("certificate", subject);
        }
        if h.resumed {
            line.bool("resumed", true);
        }
    }
    if let TlsNotice::Failed(e, _) = notice {
        line.str("error", error_name(e));
        line.display("reason", e);
    }
}
