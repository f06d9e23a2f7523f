//! Decodes every election-port connection of the real captures in `tests/data/` (ZooKeeper
//! 3.8.0: `zk38-mtu1500.pcap` on port 3888, `zk380-A/B.pcap` on 23881–23885) with
//! [`ElectionStream`], requiring every byte to be accounted for, and checks that resync from
//! every offset of every direction lands on a real frame boundary.
//!
//! The pcap reader below handles only what these files contain (classic pcap, Ethernet, IPv4,
//! TCP in order on loopback) and exists so the test needs no extra dependency.
//!
//! The captures belong to the zkwire repository, not to this package: run from a published
//! copy of the crate, where `../../tests/data/` does not exist, each test prints a note and
//! passes without checking anything.

use std::collections::{BTreeMap, BTreeSet};

use fle_proto::{ElectionMessage, ElectionStream, Sender, ServerState, Step};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/");

type Key = ([u8; 4], u16, [u8; 4], u16);

#[derive(Default)]
struct Dir {
    bytes: Vec<u8>,
    next_seq: Option<u32>,
    syn_only: bool,
    syn_ack: bool,
    gaps: usize,
}

fn election_port(p: u16) -> bool {
    p == 3888 || (23881..=23885).contains(&p)
}

/// The capture's bytes, or `None` (with a note) when the repository's test data is absent.
fn read_capture(file: &str) -> Option<Vec<u8>> {
    let path = format!("{DATA}{file}");
    match std::fs::read(&path) {
        Ok(d) => Some(d),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "skipped: {path} is absent (the captures ship with the zkwire repository only)"
            );
            None
        }
        Err(e) => panic!("{path}: {e}"),
    }
}

/// Reassembles every TCP direction touching an election port.
fn directions(d: &[u8]) -> BTreeMap<Key, Dir> {
    assert_eq!(
        &d[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian classic pcap"
    );
    assert_eq!(
        u32::from_le_bytes(d[20..24].try_into().unwrap()),
        1,
        "Ethernet"
    );
    let mut dirs: BTreeMap<Key, Dir> = BTreeMap::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let incl = u32::from_le_bytes(d[off + 8..off + 12].try_into().unwrap()) as usize;
        let pkt = &d[off + 16..off + 16 + incl];
        off += 16 + incl;
        if pkt.len() < 14 + 20 || pkt[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = &pkt[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if ip[9] != 6 {
            continue;
        }
        let ip = &ip[..total.min(ip.len())];
        let tcp = &ip[ihl..];
        let sport = u16::from_be_bytes([tcp[0], tcp[1]]);
        let dport = u16::from_be_bytes([tcp[2], tcp[3]]);
        if !election_port(sport) && !election_port(dport) {
            continue;
        }
        let seq = u32::from_be_bytes(tcp[4..8].try_into().unwrap());
        let doff = usize::from(tcp[12] >> 4) * 4;
        let flags = tcp[13];
        let (syn, ack) = (flags & 0x02 != 0, flags & 0x10 != 0);
        let payload = &tcp[doff..];
        let key = (
            ip[12..16].try_into().unwrap(),
            sport,
            ip[16..20].try_into().unwrap(),
            dport,
        );
        let dir = dirs.entry(key).or_default();
        if syn {
            if ack {
                dir.syn_ack = true;
            } else {
                dir.syn_only = true;
            }
            dir.bytes.clear();
            dir.next_seq = Some(seq.wrapping_add(1));
            continue;
        }
        if payload.is_empty() {
            continue;
        }
        let next = *dir.next_seq.get_or_insert(seq);
        let delta = seq.wrapping_sub(next) as i32;
        if delta > 0 {
            dir.gaps += 1;
            dir.next_seq = Some(seq);
        } else if delta < 0 {
            // Retransmission: keep only the new part, if any.
            let old = delta.unsigned_abs() as usize;
            if old >= payload.len() {
                continue;
            }
            dir.bytes.extend_from_slice(&payload[old..]);
            dir.next_seq = Some(seq.wrapping_add(payload.len() as u32));
            continue;
        }
        dir.bytes.extend_from_slice(payload);
        dir.next_seq = Some(seq.wrapping_add(payload.len() as u32));
    }
    dirs
}

#[derive(Default, Debug)]
struct Tally {
    initial: BTreeMap<&'static str, usize>,
    notes: usize,
    states: BTreeSet<&'static str>,
    sentinel: usize,
    with_config: usize,
    truncated_tails: usize,
    directions: usize,
}

/// Decodes one direction; returns the frame boundaries it found.
fn decode(mut s: ElectionStream, bytes: &[u8], t: &mut Tally, what: &str) -> Vec<usize> {
    let mut at = 0;
    let mut starts = Vec::new();
    loop {
        match s.next(&bytes[at..]) {
            Step::Message { len, message } => {
                match message {
                    ElectionMessage::Initial(m) => {
                        *t.initial.entry(m.format.name()).or_default() += 1;
                        assert!(m.sid > 0 && m.sid < 10, "{what}: sid {}", m.sid);
                        assert!(m.addresses().count() >= 1, "{what}");
                    }
                    ElectionMessage::Notification(n) => {
                        starts.push(at);
                        t.notes += 1;
                        t.states.insert(n.state.name());
                        t.sentinel += usize::from(n.is_sentinel_vote());
                        if n.is_sentinel_vote() {
                            // Observers send no vote in all three fields at once.
                            assert_eq!((n.zxid, n.peer_epoch), (i64::MIN, Some(i64::MIN)));
                        }
                        if let Some(c) = n.config {
                            t.with_config += 1;
                            assert!(c.as_str().is_some_and(|c| c.contains("server.")), "{what}");
                        }
                    }
                    ElectionMessage::QuorumAuth(_) => panic!("{what}: no SASL in these captures"),
                }
                at += len;
            }
            Step::NeedMore { .. } => {
                if at < bytes.len() {
                    t.truncated_tails += 1;
                }
                return starts;
            }
            other => panic!("{what}: at {at} of {}: {other:?}", bytes.len()),
        }
    }
}

/// Checks every election-port direction of `file`; `None` when the file is absent.
fn check_capture(file: &str) -> Option<Tally> {
    let dirs = directions(&read_capture(file)?);
    let mut t = Tally::default();
    for (key, dir) in &dirs {
        assert_eq!(dir.gaps, 0, "{file} {key:?}: capture gap");
        if dir.bytes.is_empty() {
            continue;
        }
        t.directions += 1;
        let what = format!("{file} {key:?}");
        let sender = if dir.syn_only {
            Sender::Initiator
        } else {
            assert!(dir.syn_ack, "{what}: handshake seen");
            Sender::Acceptor
        };
        let starts = decode(ElectionStream::new(sender), &dir.bytes, &mut t, &what);
        // Without the handshake the same bytes decode the same way.
        let mut again = Tally::default();
        let starts2 = decode(
            ElectionStream::unknown_role(),
            &dir.bytes,
            &mut again,
            &what,
        );
        assert_eq!(starts, starts2, "{what}: unknown role");

        // Resync from every offset must land on a real frame start (or find none).
        let known: BTreeSet<usize> = starts.iter().copied().collect();
        let first = starts.first().copied().unwrap_or(dir.bytes.len());
        for from in (first + 1)..dir.bytes.len() {
            let mut s = ElectionStream::mid_stream();
            let mut at = from;
            loop {
                match s.next(&dir.bytes[at..]) {
                    Step::Skipped { len } => at += len,
                    Step::Message { .. } => {
                        assert!(known.contains(&at), "{what}: resync from {from} hit {at}");
                        break;
                    }
                    Step::NeedMore { .. } => {
                        // Undecided only when no complete frame follows: a false candidate
                        // claiming a length past the end must not hide a later real frame.
                        assert!(
                            known.range(at..).next().is_none(),
                            "{what}: resync from {from} stuck at {at}"
                        );
                        break;
                    }
                    other => panic!("{what}: resync from {from}: {other:?}"),
                }
            }
        }
    }
    Some(t)
}

#[test]
fn zk380_a() {
    let Some(t) = check_capture("zk380-A.pcap") else {
        return;
    };
    println!("{t:?}");
    assert!(t.initial.get("v1").is_some_and(|n| *n > 0), "{t:?}");
    assert!(t.initial.get("v2").is_some_and(|n| *n > 0), "{t:?}");
    assert!(t.notes > 0 && t.with_config == t.notes, "{t:?}");
}

#[test]
fn zk380_b() {
    let Some(t) = check_capture("zk380-B.pcap") else {
        return;
    };
    println!("{t:?}");
    assert!(t.sentinel > 0, "observer votes in B: {t:?}");
    for s in [
        ServerState::Looking,
        ServerState::Following,
        ServerState::Leading,
    ] {
        assert!(t.states.contains(s.name()), "{t:?}");
    }
    // At most the one frame cut by a lost-challenge close (vectors README).
    assert!(t.truncated_tails <= 1, "{t:?}");
}

#[test]
fn zk38_mtu1500() {
    let Some(t) = check_capture("zk38-mtu1500.pcap") else {
        return;
    };
    println!("{t:?}");
    assert!(t.notes > 0, "{t:?}");
    assert!(t.initial.values().sum::<usize>() > 0, "{t:?}");
}
