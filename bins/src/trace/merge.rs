//! Several hosts' captures as one: each file's clock offset is estimated from quorum packets
//! seen in two files (a PROPOSAL or COMMIT leaving the leader and reaching a follower, an ACK
//! or REQUEST going the other way), then every sighting is moved onto the first file's clock
//! and all are merged by time.
//!
//! Only the head of each capture is needed for that (its first quorum packets); then the
//! captures are read side by side, each on its own thread, and [`merge_streams`] merges what
//! they sight by time, in bounded memory.
//!
//! For one connection seen by two hosts, a packet's time in file j minus its time in file i is
//! the offset between their clocks plus the one-way delay when i's host sent it, and minus the
//! delay when j's host did. Packets of the two directions thus bracket the offset; the midpoint
//! of the tightest bracket (the smallest delay each way, as NTP takes it) is the estimate.

use super::tracer::{Link, Seen, Sighting};
use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::Receiver;

/// One file's clock against the first file's.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClockOffset {
    /// The file, as given.
    pub file: String,
    /// Its clock minus the first file's, nanoseconds (0 for the first file, and for a file
    /// that shares no quorum packet with the others: `packets` is then 0).
    pub offset_ns: i64,
    /// Quorum packets seen in both this file and the one it was aligned to.
    pub packets: usize,
}

/// A quorum packet, as any capture of it would name it: connection, kind and what it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PacketKey {
    link: Link,
    kind: u8,
    a: i64,
    b: i32,
}

impl PacketKey {
    /// The key, and whether the packet went learner → leader.
    fn of(seen: &Seen) -> Option<(PacketKey, bool)> {
        let key = |link, kind, a, b| PacketKey { link, kind, a, b };
        Some(match *seen {
            Seen::Forward {
                link,
                session,
                cxid,
            } => (key(link, 0, session, cxid), true),
            Seen::Ack { link, zxid, .. } => (key(link, 1, zxid, 0), true),
            Seen::Proposal { link, zxid, .. } => (key(link, 2, zxid, 0), false),
            Seen::Commit { link, zxid } => (key(link, 3, zxid, 0), false),
            Seen::Reply(_) => return None,
        })
    }
}

/// Each quorum packet's first time in one file, and which way it went.
fn packet_times(sightings: &[Sighting]) -> HashMap<PacketKey, (i64, bool)> {
    let mut times = HashMap::new();
    for s in sightings {
        if let Some((key, to_leader)) = PacketKey::of(&s.seen) {
            times.entry(key).or_insert((s.ts.0, to_leader));
        }
    }
    times
}

/// File j's clock minus file i's, and the packets it rests on; `None` when they share none.
fn pair_offset(
    i: &HashMap<PacketKey, (i64, bool)>,
    j: &HashMap<PacketKey, (i64, bool)>,
) -> Option<(i64, usize)> {
    // Per direction: the smallest and largest (time in j − time in i).
    let mut bounds = [(i64::MAX, i64::MIN); 2];
    let mut shared = 0;
    for (key, &(ti, to_leader)) in i {
        if let Some(&(tj, _)) = j.get(key) {
            let d = tj.saturating_sub(ti);
            let b = &mut bounds[usize::from(to_leader)];
            b.0 = b.0.min(d);
            b.1 = b.1.max(d);
            shared += 1;
        }
    }
    if shared == 0 {
        return None;
    }
    let [(min_a, max_a), (min_b, max_b)] = bounds;
    let mid = |x: i64, y: i64| ((x as i128 + y as i128) / 2) as i64;
    let offset = match (min_a <= max_a, min_b <= max_b) {
        // One direction sent by i's host (offset + delay), the other by j's (offset − delay):
        // the bracket is the lower edge of the larger group and the upper edge of the smaller.
        (true, true) if min_a >= max_b => mid(min_a, max_b),
        (true, true) if min_b >= max_a => mid(min_b, max_a),
        (true, true) => mid(mid(min_a, max_a), mid(min_b, max_b)),
        (true, false) => mid(min_a, max_a),
        _ => mid(min_b, max_b),
    };
    Some((offset, shared))
}

/// Estimates every file's offset against the first (through whichever files link them: a
/// follower's capture shares packets with the leader's, not with another follower's).
pub fn estimate_offsets(names: &[String], files: &[Vec<Sighting>]) -> Vec<ClockOffset> {
    let times: Vec<_> = files.iter().map(|f| packet_times(f)).collect();
    let mut offsets: Vec<ClockOffset> = names
        .iter()
        .map(|n| ClockOffset {
            file: n.clone(),
            offset_ns: 0,
            packets: 0,
        })
        .collect();
    let mut aligned = vec![false; files.len()];
    let mut queue = VecDeque::new();
    if !files.is_empty() {
        aligned[0] = true;
        queue.push_back(0);
    }
    while let Some(i) = queue.pop_front() {
        for j in 0..files.len() {
            if aligned[j] {
                continue;
            }
            if let Some((offset, packets)) = pair_offset(&times[i], &times[j]) {
                aligned[j] = true;
                offsets[j].offset_ns = offsets[i].offset_ns.saturating_add(offset);
                offsets[j].packets = packets;
                queue.push_back(j);
            }
        }
    }
    offsets
}

/// Merges the sightings of several captures, each arriving in its own capture order (already
/// on one clock), by time: always the earliest of the streams' next ones. Memory is one
/// sighting per stream (and what the channels buffer); it ends when every stream has.
pub fn merge_streams(streams: Vec<Receiver<Sighting>>, mut take: impl FnMut(Sighting)) {
    let mut next: Vec<Option<Sighting>> = streams.iter().map(|r| r.recv().ok()).collect();
    while let Some(i) = next
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.as_ref().map(|s| (s.ts, i)))
        .min()
        .map(|(_, i)| i)
    {
        if let Some(s) = std::mem::replace(&mut next[i], streams[i].recv().ok()) {
            take(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkwire_capture::Timestamp;

    const MS: i64 = 1_000_000;

    fn link(follower: u8) -> Link {
        Link {
            learner: format!("10.0.0.{follower}:4000{follower}")
                .parse()
                .expect("address"),
            leader: "10.0.0.3:2888".parse().expect("address"),
        }
    }

    /// PROPOSAL (leader → follower) and ACK (follower → leader) of zxids 1..=n over
    /// `follower`'s link, as the leader's host and the follower's would capture them: each
    /// packet 1 ms on the wire, the follower's clock `skew` ahead.
    fn both_sides(follower: u8, n: i64, skew: i64) -> (Vec<Sighting>, Vec<Sighting>) {
        let (mut leader, mut learner) = (Vec::new(), Vec::new());
        for zxid in 1..=n {
            let sent = zxid * 10 * MS;
            let proposal = Seen::Proposal {
                link: link(follower),
                zxid,
                session: 1,
                cxid: zxid as i32,
            };
            let ack = Seen::Ack {
                link: link(follower),
                sid: None,
                zxid,
            };
            leader.push(Sighting {
                ts: Timestamp(sent),
                seen: proposal.clone(),
            });
            learner.push(Sighting {
                ts: Timestamp(sent + MS + skew),
                seen: proposal,
            });
            learner.push(Sighting {
                ts: Timestamp(sent + 3 * MS + skew),
                seen: ack.clone(),
            });
            leader.push(Sighting {
                ts: Timestamp(sent + 4 * MS),
                seen: ack,
            });
        }
        (leader, learner)
    }

    /// Follower 1's capture first, the leader's, then follower 2's (which shares nothing with
    /// follower 1's): each offset is found exactly, the second follower's through the leader's.
    #[test]
    fn offsets_are_found_through_shared_packets() {
        let (leader1, follower1) = both_sides(1, 5, 1_500 * MS);
        let (leader2, follower2) = both_sides(2, 5, -250 * MS);
        let leader: Vec<Sighting> = leader1.into_iter().chain(leader2).collect();
        let names = ["f1", "leader", "f2"].map(String::from);
        let offsets = estimate_offsets(&names, &[follower1, leader, follower2]);
        let found: Vec<(i64, usize)> = offsets.iter().map(|o| (o.offset_ns, o.packets)).collect();
        assert_eq!(found, [(0, 0), (-1_500 * MS, 10), (-1_750 * MS, 10)]);
    }

    /// After alignment the merged sightings are in time order, each on the first file's clock.
    #[test]
    fn merged_sightings_are_on_one_clock() {
        let (leader, follower) = both_sides(1, 3, 2_000 * MS);
        let names = ["leader", "f1"].map(String::from);
        let files = vec![leader, follower];
        let offsets = estimate_offsets(&names, &files);
        let streams = files
            .into_iter()
            .zip(&offsets)
            .map(|(file, offset)| {
                let (tx, rx) = std::sync::mpsc::sync_channel(4);
                let shift = offset.offset_ns;
                std::thread::spawn(move || {
                    for mut s in file {
                        s.shift(shift);
                        let _ = tx.send(s);
                    }
                });
                rx
            })
            .collect();
        let mut merged = Vec::new();
        merge_streams(streams, |s| merged.push(s));
        assert_eq!(merged.len(), 12);
        assert!(merged.windows(2).all(|w| w[0].ts <= w[1].ts));
        // Each PROPOSAL's copy in the follower's capture lands 1 ms after the leader's.
        let first: Vec<i64> = merged
            .iter()
            .filter(|s| matches!(s.seen, Seen::Proposal { zxid: 1, .. }))
            .map(|s| s.ts.0)
            .collect();
        assert_eq!(first, [10 * MS, 11 * MS]);
    }
}
