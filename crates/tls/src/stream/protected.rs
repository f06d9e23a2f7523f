//! Records of a direction under keys: the keys of its epoch derived from the key log's
//! secrets (TLS 1.2 master secret, TLS 1.3 handshake or traffic secrets), held back while the
//! key log lacks them, then the record decrypted and its content handled — handshake
//! messages to [`messages`](super::messages), application data reported as plaintext.

use crate::cipher::{Opened, RecordCipher};
use crate::keylog::KeyLog;
use crate::record::RecordHeader;
use crate::{TlsError, TlsEvent};

use super::side::{direction, Epoch, Step, Stop, Wait};
use super::{TlsStream, CONTENT_ALERT, CONTENT_APPDATA, CONTENT_CCS, CONTENT_HANDSHAKE};

impl TlsStream {
    /// A record of a side whose records are encrypted.
    pub(super) fn protected_record(
        &mut self,
        side: usize,
        header: &RecordHeader,
        fragment: &[u8],
        keys: &KeyLog,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<Step, Stop> {
        if self.tls13 && header.content_type != CONTENT_APPDATA {
            // TLS 1.3 protects everything as application data; a clear ChangeCipherSpec is
            // for middleboxes, a clear alert ends the connection.
            return Ok(Step::Done);
        }
        if self.sides[side].cipher.is_none() {
            match self.derive(side, keys) {
                Some(c) => self.sides[side].cipher = Some(c),
                None => return Ok(Step::Wait(Wait::Keys)),
            }
        }
        let Some(cipher) = self.sides[side].cipher.as_mut() else {
            return Ok(Step::Wait(Wait::Keys));
        };
        let opened = match cipher.open(&header.bytes, fragment) {
            Ok(o) => o,
            Err(TlsError::BadRecordMac)
                if side == 0
                    && self.early_data_offered
                    && self.sides[0].epoch == Epoch::Tls13Handshake =>
            {
                return Err(TlsError::EarlyData.into());
            }
            Err(e) => return Err(e.into()),
        };
        self.opened(side, opened, out)?;
        Ok(Step::Done)
    }

    /// The decrypted content of a record.
    fn opened(
        &mut self,
        side: usize,
        opened: Opened,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        match opened.content_type {
            CONTENT_HANDSHAKE => self.handshake_bytes(side, &opened.data, out),
            CONTENT_APPDATA => {
                let s = &self.sides[side];
                let ready = match s.epoch {
                    Epoch::Tls12 => s.finished,
                    Epoch::Tls13Application => true,
                    _ => false,
                };
                if !ready {
                    return Err(TlsError::Malformed("application data before Finished").into());
                }
                self.report_handshake(out);
                if !opened.data.is_empty() {
                    out(TlsEvent::Plaintext {
                        dir: direction(side),
                        data: &opened.data,
                    });
                }
                Ok(())
            }
            CONTENT_ALERT | CONTENT_CCS => Ok(()),
            _ => Err(TlsError::Malformed("unknown content type in a protected record").into()),
        }
    }

    /// The keys of `side`'s current epoch, if the key log has their secret.
    fn derive(&self, side: usize, keys: &KeyLog) -> Option<RecordCipher> {
        let secrets = keys.get(self.client_random.as_ref()?)?;
        let suite = self.suite?;
        let client = side == 0;
        match self.sides[side].epoch {
            Epoch::Clear => None,
            Epoch::Tls12 => RecordCipher::tls12(
                suite,
                secrets.master.as_ref()?,
                self.client_random.as_ref()?,
                self.server_random.as_ref()?,
                client,
                self.encrypt_then_mac,
            ),
            Epoch::Tls13Handshake => {
                let secret = if client {
                    &secrets.client_handshake
                } else {
                    &secrets.server_handshake
                };
                RecordCipher::tls13(suite, secret.as_ref()?)
            }
            Epoch::Tls13Application => {
                let secret = if client {
                    &secrets.client_traffic
                } else {
                    &secrets.server_traffic
                };
                RecordCipher::tls13(suite, secret.as_ref()?)
            }
        }
    }
}
