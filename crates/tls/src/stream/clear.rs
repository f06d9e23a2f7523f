//! The clear part of the handshake: records of a direction before its keys change — the
//! ClientHello (its random is what the key log is looked up by), the ServerHello (version,
//! suite, and for TLS 1.3 the switch to handshake keys in both directions), the server's
//! certificate and ServerHelloDone, and TLS 1.2's ChangeCipherSpec.

use crate::handshake::{self, TlsVersion};
use crate::record::RecordHeader;
use crate::suites::Suite;
use crate::{CipherSuite, TlsError, TlsEvent};

use super::side::{Epoch, Step, Stop};
use super::{TlsStream, CONTENT_ALERT, CONTENT_APPDATA, CONTENT_CCS, CONTENT_HANDSHAKE};

impl TlsStream {
    /// A record of a side whose records are not encrypted yet.
    pub(super) fn clear_record(
        &mut self,
        side: usize,
        header: &RecordHeader,
        fragment: &[u8],
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<Step, Stop> {
        match header.content_type {
            CONTENT_HANDSHAKE => self.handshake_bytes(side, fragment, out)?,
            CONTENT_CCS if self.tls13 => {} // middlebox compatibility, no meaning
            CONTENT_CCS => self.change_cipher_spec(side, out)?,
            CONTENT_ALERT => {} // e.g. a handshake failure: nothing to decode
            CONTENT_APPDATA => {
                return Err(TlsError::Malformed("application data before encryption").into())
            }
            _ => {} // heartbeat
        }
        Ok(Step::Done)
    }

    /// TLS 1.2 ChangeCipherSpec: the side's next records are encrypted.
    fn change_cipher_spec(
        &mut self,
        side: usize,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        if !self.server_hello_seen {
            return Err(TlsError::Malformed("ChangeCipherSpec before ServerHello").into());
        }
        if side == 1 && !self.server_hello_done {
            // The server goes straight from ServerHello to Finished: an abbreviated handshake.
            self.hs.resumed = true;
        }
        self.sides[side].enter(Epoch::Tls12);
        self.report_handshake(out);
        Ok(())
    }

    pub(super) fn client_clear_message(&mut self, msg_type: u8, msg: &[u8]) -> Result<(), Stop> {
        if msg_type == 1 {
            let ch = handshake::client_hello(msg)?;
            self.client_random = Some(ch.random);
            if ch.sni.is_some() {
                self.hs.sni = ch.sni;
            }
            self.early_data_offered |= ch.early_data;
            self.client_hellos += 1;
        }
        // ClientKeyExchange, Certificate, CertificateVerify: not needed with a key log.
        Ok(())
    }

    pub(super) fn server_clear_message(
        &mut self,
        msg_type: u8,
        msg: &[u8],
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        match msg_type {
            2 => self.server_hello(msg, out)?,
            11 if !self.tls13 && self.hs.certificate_subject.is_none() => {
                self.hs.certificate_subject = handshake::certificate_subject(msg);
            }
            14 => {
                self.server_hello_done = true;
                self.report_handshake(out);
            }
            _ => {}
        }
        Ok(())
    }

    fn server_hello(&mut self, msg: &[u8], out: &mut dyn FnMut(TlsEvent<'_>)) -> Result<(), Stop> {
        let sh = handshake::server_hello(msg)?;
        self.server_hellos += 1;
        if sh.hello_retry {
            // HelloRetryRequest: the client sends a second ClientHello, in the clear.
            self.tls13 = true;
            return Ok(());
        }
        if self.server_hello_seen {
            return Err(TlsError::Malformed("second ServerHello").into());
        }
        self.server_hello_seen = true;
        self.server_random = Some(sh.random);
        self.hs.version = Some(TlsVersion::from_code(sh.version));
        self.hs.cipher_suite = Some(CipherSuite(sh.cipher));
        self.hs.alpn = sh.alpn;
        self.encrypt_then_mac = sh.encrypt_then_mac;
        let suite = Suite::by_id(sh.cipher);
        match sh.version {
            0x0304 => {
                self.tls13 = true;
                self.hs.resumed = sh.psk;
                if !suite.is_some_and(|s| s.tls13) {
                    return Err(TlsError::UnsupportedCipherSuite(sh.cipher).into());
                }
                // Everything after ServerHello is protected, in both directions.
                self.sides[0].enter(Epoch::Tls13Handshake);
                self.sides[1].enter(Epoch::Tls13Handshake);
                self.report_handshake(out);
            }
            0x0303 => {
                self.tls13 = false;
                if suite.is_none_or(|s| s.tls13) {
                    return Err(TlsError::UnsupportedCipherSuite(sh.cipher).into());
                }
            }
            other => return Err(TlsError::UnsupportedVersion(other).into()),
        }
        self.suite = suite;
        Ok(())
    }
}
