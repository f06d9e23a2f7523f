//! Handshake messages: reassembling them from a direction's handshake records (clear or
//! decrypted) and handling each by the direction's epoch. The clear ones are in
//! [`clear`](super::clear); the protected ones are here: TLS 1.2's Finished (anything after
//! it is a renegotiation), and TLS 1.3's EncryptedExtensions (ALPN), Finished (the switch to
//! application keys) and KeyUpdate.

use crate::cipher::RecordCipher;
use crate::handshake;
use crate::{record, TlsError, TlsEvent};

use super::side::{direction, Epoch, Stop};
use super::TlsStream;

impl TlsStream {
    /// Adds handshake bytes of `side` and handles every complete message.
    pub(super) fn handshake_bytes(
        &mut self,
        side: usize,
        bytes: &[u8],
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        let mut hs = std::mem::take(&mut self.sides[side].hs);
        hs.extend_from_slice(bytes);
        let mut pos = 0;
        let result = loop {
            match record::handshake_message(&hs[pos..]) {
                Ok(Some(len)) => {
                    let msg = &hs[pos..pos + len];
                    pos += len;
                    if let Err(e) = self.handshake_message(side, msg, out) {
                        break Err(e);
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(Stop::Failed(e)),
            }
        };
        hs.drain(..pos);
        if !self.stopped {
            self.sides[side].hs = hs;
        }
        result
    }

    /// One whole handshake message (header included) of `side`.
    fn handshake_message(
        &mut self,
        side: usize,
        msg: &[u8],
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        let msg_type = msg[0];
        match (side, self.sides[side].epoch) {
            (0, Epoch::Clear) => self.client_clear_message(msg_type, msg),
            (_, Epoch::Clear) => self.server_clear_message(msg_type, msg, out),
            (_, Epoch::Tls12) => self.tls12_message(side),
            (_, Epoch::Tls13Handshake) => {
                self.tls13_handshake_message(side, msg_type, msg);
                Ok(())
            }
            (_, Epoch::Tls13Application) => self.tls13_post_handshake_message(side, msg_type, out),
        }
    }

    /// A TLS 1.2 handshake message under keys.
    fn tls12_message(&mut self, side: usize) -> Result<(), Stop> {
        // The first protected handshake message is Finished; any later one starts a
        // renegotiation.
        let s = &mut self.sides[side];
        if s.finished {
            return Err(TlsError::Renegotiation.into());
        }
        s.finished = true;
        Ok(())
    }

    /// A TLS 1.3 message under handshake keys: the server's EncryptedExtensions carry the
    /// ALPN; a direction's Finished moves it to application keys.
    fn tls13_handshake_message(&mut self, side: usize, msg_type: u8, msg: &[u8]) {
        match msg_type {
            8 if side == 1 => {
                if let Some(alpn) = handshake::encrypted_extensions_alpn(&msg[4..]) {
                    self.hs.alpn = Some(alpn);
                }
            }
            20 => self.sides[side].enter(Epoch::Tls13Application),
            _ => {}
        }
    }

    /// A TLS 1.3 message under application keys: a KeyUpdate renews the direction's keys.
    fn tls13_post_handshake_message(
        &mut self,
        side: usize,
        msg_type: u8,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        if msg_type == 24 {
            let updated = self.sides[side]
                .cipher
                .as_mut()
                .is_some_and(RecordCipher::key_update);
            if !updated {
                return Err(TlsError::Malformed("KeyUpdate could not be applied").into());
            }
            out(TlsEvent::KeyUpdate {
                dir: direction(side),
            });
        }
        // NewSessionTicket, post-handshake authentication: nothing to do.
        Ok(())
    }
}
