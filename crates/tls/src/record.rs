//! Framing: TLS record headers (parsed with tls-parser), handshake message boundaries, and
//! [`looks_like_tls`], the cheap test callers use to route a connection here.

use tls_parser::parse_tls_record_header;

use crate::TlsError;

/// Length of a record header: type, version, length.
pub(crate) const HEADER_LEN: usize = 5;
/// The longest record fragment TLS allows (2^14 + 2048, RFC 5246 §6.2.3).
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// A record header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordHeader {
    pub content_type: u8,
    pub len: usize,
    /// The five header bytes (TLS 1.3's AAD).
    pub bytes: [u8; HEADER_LEN],
}

impl RecordHeader {
    /// Header plus fragment.
    pub(crate) fn total_len(&self) -> usize {
        HEADER_LEN + self.len
    }
}

/// Whether a record header's type and version are TLS ones (content types 20..=24, versions
/// 0x0300..=0x0304).
fn plausible(content_type: u8, version: u16) -> bool {
    (20..=24).contains(&content_type) && (0x0300..=0x0304).contains(&version)
}

/// The header at the start of `bytes`: `None` if fewer than 5 bytes, an error if it is not a
/// TLS record header or announces a record longer than TLS allows.
pub(crate) fn header(bytes: &[u8]) -> Result<Option<RecordHeader>, TlsError> {
    let Some(raw) = bytes.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let Ok((_, h)) = parse_tls_record_header(raw) else {
        return Ok(None);
    };
    if !plausible(h.record_type.0, h.version.0) {
        return Err(TlsError::Malformed("not a TLS record"));
    }
    let len = usize::from(h.len);
    if len > MAX_RECORD_LEN {
        return Err(TlsError::RecordTooLong(len));
    }
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(raw);
    Ok(Some(RecordHeader {
        content_type: h.record_type.0,
        len,
        bytes: header,
    }))
}

/// Whether the first record of a direction starts the handshake: a handshake record whose
/// first message is a ClientHello (client) or ServerHello (server).
pub(crate) fn starts_handshake(from_client: bool, header: &RecordHeader, fragment: &[u8]) -> bool {
    let hello = if from_client { 1 } else { 2 };
    header.content_type == 22 && fragment.first() == Some(&hello)
}

/// The length (4-byte header included) of the whole handshake message at the start of
/// `bytes`, `None` if incomplete; an error if it is longer than
/// [`MAX_HANDSHAKE_MESSAGE`](crate::MAX_HANDSHAKE_MESSAGE).
pub(crate) fn handshake_message(bytes: &[u8]) -> Result<Option<usize>, TlsError> {
    let Some(&[_, a, b, c]) = bytes.get(..4) else {
        return Ok(None);
    };
    let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
    if len > crate::MAX_HANDSHAKE_MESSAGE {
        return Err(TlsError::Malformed("handshake message too long"));
    }
    Ok((bytes.len() >= 4 + len).then_some(4 + len))
}

/// Whether the first bytes of a stream (either direction) look like TLS records.
///
/// With `stream_start_seen`, the stream must open with a handshake record (type 22, version
/// 0x0301..=0x0304) holding a ClientHello (`from_client`) or ServerHello. Without it (a
/// connection met mid-stream), any record type 20..=23 with a plausible version and length
/// will do, and when the bytes reach a second record header, it must be plausible too.
pub fn looks_like_tls(first_bytes: &[u8], from_client: bool, stream_start_seen: bool) -> bool {
    let Some(first) = record_start(first_bytes) else {
        return false;
    };
    if stream_start_seen {
        let hello = if from_client { 1 } else { 2 };
        return first.0 == 22
            && first.1 >= 0x0301
            && first_bytes.get(HEADER_LEN).is_none_or(|&t| t == hello);
    }
    if !(20..=23).contains(&first.0) || first.1 < 0x0301 {
        return false;
    }
    match first_bytes.get(HEADER_LEN + first.2..) {
        Some(next) if next.len() >= HEADER_LEN => {
            record_start(next).is_some_and(|(t, v, _)| (20..=23).contains(&t) && v >= 0x0301)
        }
        _ => true,
    }
}

/// Type, version and length of a plausible, non-empty record header at the start of `bytes`.
fn record_start(bytes: &[u8]) -> Option<(u8, u16, usize)> {
    let &[t, major, minor, hi, lo] = bytes.get(..HEADER_LEN)? else {
        return None;
    };
    let version = u16::from_be_bytes([major, minor]);
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    (plausible(t, version) && len > 0 && len <= MAX_RECORD_LEN).then_some((t, version, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert!(matches!(header(&[22, 3, 1]), Ok(None)));
        let h = header(&[22, 3, 1, 0, 5, 1]).unwrap().unwrap();
        assert_eq!((h.content_type, h.len, h.total_len()), (22, 5, 10));
        assert!(matches!(
            header(&[0x47, 0x45, 0x54, 0x20, 0x2f]),
            Err(TlsError::Malformed(_))
        ));
        assert!(matches!(
            header(&[23, 3, 3, 0xff, 0xff]),
            Err(TlsError::RecordTooLong(65535))
        ));
    }

    #[test]
    fn handshake_messages() {
        assert_eq!(handshake_message(&[20, 0, 0]), Ok(None));
        assert_eq!(handshake_message(&[20, 0, 0, 2, 9]), Ok(None));
        assert_eq!(handshake_message(&[20, 0, 0, 2, 9, 9, 9]), Ok(Some(6)));
        assert!(handshake_message(&[11, 0x10, 0, 0]).is_err());
    }

    #[test]
    fn detection() {
        let ch = [22, 3, 1, 0, 200, 1, 0, 0, 196];
        assert!(looks_like_tls(&ch, true, true));
        assert!(!looks_like_tls(&ch, false, true));
        assert!(looks_like_tls(&[22, 3, 3, 0, 90, 2], false, true));
        // A ZooKeeper ConnectRequest: length prefix 0x0000002c.
        assert!(!looks_like_tls(&[0, 0, 0, 44, 0, 0, 0, 0], true, true));
        assert!(!looks_like_tls(&[0, 0, 0, 44, 0, 0, 0, 0], true, false));
        let mut two = vec![23, 3, 3, 0, 2, 0xaa, 0xbb];
        assert!(looks_like_tls(&two, true, false));
        two.extend_from_slice(&[23, 3, 3, 0, 1]);
        assert!(looks_like_tls(&two, true, false));
        two[7] = 9;
        assert!(!looks_like_tls(&two, true, false));
        assert!(!looks_like_tls(&[23, 3, 3, 0], true, false));
    }
}
