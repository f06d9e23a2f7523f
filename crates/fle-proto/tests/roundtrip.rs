//! Property tests: decode(encode(x)) == x for initial messages of every generation, notifications
//! of every size and quorum-auth packets; arbitrary bytes never make any decoder panic, and the
//! stream decoder always makes progress or asks for more.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use fle_proto::{
    decode_framed_notification, decode_initial_message, decode_notification,
    decode_quorum_auth_packet, initial_message_boundary, notification_frame_len,
    parse_initial_message, parse_quorum_auth_packet, plausible_notification_frame,
    plausible_notification_frame_needs, quorum_auth_boundary, Boundary, ElectionStream, Encode,
    InitialFormat, InitialMessage, JuteStr, Notification, NotificationFormat, QuorumAuthPacket,
    Sender, ServerState, Step, PACKET_MAX_SIZE,
};

fn addr_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 1..200)
}

proptest! {
    #[test]
    fn initial_old(sid in 0..=i64::MAX) {
        let m = InitialMessage { format: InitialFormat::Old, sid, election_addr: JuteStr(&[]) };
        let b = m.to_bytes();
        prop_assert_eq!(b.len(), 8);
        prop_assert_eq!(decode_initial_message(&b), Ok(m));
        prop_assert_eq!(initial_message_boundary(&b), Boundary::Complete(8));
    }

    #[test]
    fn initial_versioned(v2 in any::<bool>(), sid in any::<i64>(), addr in addr_bytes(), tail in vec(any::<u8>(), 0..8)) {
        let m = InitialMessage {
            format: if v2 { InitialFormat::V2 } else { InitialFormat::V1 },
            sid,
            election_addr: JuteStr(&addr),
        };
        let mut b = m.to_bytes();
        prop_assert_eq!(b.len(), m.encoded_len());
        prop_assert_eq!(decode_initial_message(&b), Ok(m));
        let n = b.len();
        b.extend_from_slice(&tail);
        let (rest, back) = parse_initial_message(&b).unwrap();
        prop_assert_eq!(back, m);
        prop_assert_eq!(rest, &tail[..]);
        prop_assert_eq!(initial_message_boundary(&b), Boundary::Complete(n));
        // Every prefix asks for more, never for less than it has, never past the message.
        for cut in 0..n {
            let got = initial_message_boundary(&b[..cut]);
            prop_assert!(matches!(got, Boundary::Incomplete(k) if k > cut && k <= n), "{:?}", got);
        }
        // The joined addresses split back into the field.
        let joined: Vec<u8> = m.addresses().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>().join(&b'|');
        prop_assert_eq!(joined, addr);
    }

    #[test]
    fn auth_packets(status in any::<i32>(), token in option::of(vec(any::<u8>(), 0..64))) {
        let p = QuorumAuthPacket { status, token: token.as_deref() };
        let b = p.to_bytes();
        prop_assert_eq!(decode_quorum_auth_packet(&b), Ok(p));
        prop_assert_eq!(quorum_auth_boundary(&b), Boundary::Complete(b.len()));
    }
}

/// A notification of the given format with consistent optional fields.
fn notification<'a>(
    fmt: NotificationFormat,
    st: u8,
    l: [i64; 4],
    version: i32,
    config: &'a [u8],
) -> Notification<'a> {
    let state = ServerState::ALL[usize::from(st % 4)];
    let mut n = Notification {
        state,
        leader: l[0],
        zxid: l[1],
        election_epoch: l[2],
        peer_epoch: None,
        version: None,
        config: None,
        opaque_tail: &[],
    };
    if fmt >= NotificationFormat::Len36 {
        n.peer_epoch = Some(l[3]);
    }
    if fmt == NotificationFormat::Len40 {
        n.version = Some(version);
    }
    if fmt == NotificationFormat::WithConfig {
        // Versions ≤ 1 never carry a config; keep the generated value meaningful.
        n.version = Some(version.max(2));
        n.config = Some(JuteStr(config));
    }
    n
}

fn format() -> impl Strategy<Value = NotificationFormat> {
    prop_oneof![
        Just(NotificationFormat::Len28),
        Just(NotificationFormat::Len36),
        Just(NotificationFormat::Len40),
        Just(NotificationFormat::WithConfig),
    ]
}

proptest! {
    #[test]
    fn notifications(fmt in format(), st in any::<u8>(), l in any::<[i64; 4]>(), version in any::<i32>(), config in vec(any::<u8>(), 0..300)) {
        let n = notification(fmt, st, l, version, &config);
        let b = n.to_bytes();
        let expected_len = match fmt {
            NotificationFormat::Len28 => 28,
            NotificationFormat::Len36 => 36,
            NotificationFormat::Len40 => 40,
            NotificationFormat::WithConfig => 44 + config.len(),
        };
        prop_assert_eq!(b.len(), expected_len);
        let back = decode_notification(&b).unwrap();
        prop_assert_eq!(back, n);
        prop_assert_eq!(back.format(), fmt);
        let mut framed = Vec::new();
        n.encode_framed(&mut framed);
        prop_assert_eq!(decode_framed_notification(&framed), Ok((n, framed.len())));
        prop_assert_eq!(notification_frame_len(&framed, PACKET_MAX_SIZE), Boundary::Complete(framed.len()));
    }

    /// Votes as real servers send them are always accepted by the resync check.
    #[test]
    fn realistic_frames_are_plausible(fmt in format(), st in any::<u8>(), sid in 0i64..1000, zxid in 0i64..(1 << 40), epoch in 0i64..1000, sentinel in any::<bool>(), config in "[a-z0-9=.:\n]{0,200}") {
        let (leader, zxid, peer) = if sentinel { (i64::MIN, i64::MIN, i64::MIN) } else { (sid, zxid, zxid >> 32) };
        let version = if fmt == NotificationFormat::Len40 { 1 } else { 2 };
        let n = notification(fmt, st, [leader, zxid, epoch, peer], version, config.as_bytes());
        prop_assert_eq!(n.is_sentinel_vote(), sentinel);
        let mut framed = Vec::new();
        n.encode_framed(&mut framed);
        n.encode_framed(&mut framed);
        prop_assert_eq!(plausible_notification_frame(&framed), Some(true));
        let mut s = ElectionStream::mid_stream();
        let one = framed.len() / 2;
        prop_assert_eq!(s.next(&framed), Step::Message { len: one, message: fle_proto::ElectionMessage::Notification(n) });
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in vec(any::<u8>(), 0..200)) {
        let _ = parse_initial_message(&b);
        let _ = decode_initial_message(&b);
        let _ = initial_message_boundary(&b);
        let _ = decode_notification(&b);
        let _ = decode_framed_notification(&b);
        let _ = notification_frame_len(&b, PACKET_MAX_SIZE);
        let _ = notification_frame_len(&b, 0);
        let _ = plausible_notification_frame(&b);
        if let Err(need) = plausible_notification_frame_needs(&b) {
            prop_assert!(need > b.len());
        }
        let _ = parse_quorum_auth_packet(&b);
        let _ = decode_quorum_auth_packet(&b);
        let _ = quorum_auth_boundary(&b);
        let _ = fle_proto::starts_with_quorum_auth(&b);
    }

    /// Framed notifications with arbitrary payloads: decoding any of them never panics.
    #[test]
    fn arbitrary_payload_sizes(len in 0usize..120, fill in any::<u8>(), state in 0i32..6) {
        let mut p = vec![fill; len];
        if len >= 4 {
            p[..4].copy_from_slice(&state.to_be_bytes());
        }
        let _ = decode_notification(&p);
        let mut f = (len as i32).to_be_bytes().to_vec();
        f.extend_from_slice(&p);
        let _ = plausible_notification_frame(&f);
    }

    /// Whatever the bytes, every stream decoder either consumes something, asks for more than it
    /// has, or reports Invalid — so a caller's loop always terminates.
    #[test]
    fn stream_always_progresses(b in vec(any::<u8>(), 0..300), which in 0u8..4) {
        let mut s = match which {
            0 => ElectionStream::new(Sender::Initiator),
            1 => ElectionStream::new(Sender::Acceptor),
            2 => ElectionStream::unknown_role(),
            _ => ElectionStream::mid_stream(),
        };
        let mut buf = &b[..];
        for _ in 0..1000 {
            match s.next(buf) {
                Step::Message { len, .. } | Step::BadFrame { len, .. } | Step::Skipped { len } => {
                    prop_assert!(len > 0 && len <= buf.len());
                    buf = &buf[len..];
                }
                Step::NeedMore { at_least } => {
                    prop_assert!(at_least > buf.len());
                    break;
                }
                Step::Invalid => break,
                _ => unreachable!(),
            }
        }
    }
}
