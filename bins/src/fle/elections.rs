//! The election tracker ([`ElectionTracker`]): keeps every notification of the capture and
//! reconstructs each election from them for `--summary` ([`Election`]: when, which rounds, who
//! was looking, each server's last vote, the leader, and whether it was a rejoin).

use fle_proto::{Notification, ServerState};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use zkwire_capture::Timestamp;

/// A server's vote as seen in one notification.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Vote {
    /// The server's state.
    pub state: &'static str,
    /// Proposed or known leader.
    pub leader: i64,
    /// zxid of the proposed leader.
    pub zxid: String,
    /// Election epoch (round).
    pub election_epoch: i64,
}

/// One election, as reconstructed from notifications.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Election {
    /// Position in the capture (1-based).
    pub number: usize,
    /// First LOOKING notification.
    pub start: f64,
    /// Last notification of the election.
    pub end: f64,
    /// From the first LOOKING notification to the last one: how long votes took to converge.
    pub duration_ms: f64,
    /// Election epochs (rounds) seen.
    pub election_epochs: Vec<i64>,
    /// Voting servers that were LOOKING.
    pub looking: Vec<i64>,
    /// Each server's last vote, by server id.
    pub votes: BTreeMap<i64, Vote>,
    /// The leader the votes converged on (or that answering servers named).
    pub leader: Option<i64>,
    /// True when a minority rejoined an ensemble that kept its leader (no leaderless period).
    pub joined_existing_leader: bool,
    /// Notifications in this election.
    pub notifications: u64,
}

/// A notification as the election tracker keeps it.
struct Seen {
    ts: Timestamp,
    /// The sender's id, or the election address it accepts on (resolved at the end, once every
    /// server's initial messages have told its address).
    sid: Option<i64>,
    addr: String,
    /// The receiver, likewise.
    dst_sid: Option<i64>,
    dst_addr: String,
    state: ServerState,
    leader: i64,
    zxid: i64,
    election_epoch: i64,
    sentinel: bool,
}

/// A pause longer than this after votes converged ends an election. Servers exchange a round
/// of notifications within milliseconds and decide 200 ms (finalizeWait) after agreeing; a
/// server that joins later (a restart) starts the next episode.
const QUIET_NS: i64 = 400_000_000;

/// Reconstructs elections from the notifications of a whole capture.
///
/// An election starts with a LOOKING notification and ends once the votes have converged (a
/// majority of the voting servers vote for one leader, or servers announce FOLLOWING/LEADING)
/// and 400 ms pass without notifications. Observers (sentinel votes, OBSERVING) are left
/// out: they do not vote. When the servers that answer FOLLOWING/LEADING name the leader the
/// ensemble already had, the episode is a server (re)joining, not a leaderless period.
#[derive(Default)]
pub struct ElectionTracker {
    seen: Vec<Seen>,
}

struct Episode {
    start: Timestamp,
    last: Timestamp,
    last_looking: Timestamp,
    epochs: BTreeSet<i64>,
    fresh: BTreeSet<i64>,
    votes: BTreeMap<i64, Vote>,
    decided: BTreeMap<i64, u32>,
    /// Servers that announced FOLLOWING/LEADING.
    deciders: BTreeSet<i64>,
    notifications: u64,
}

impl Episode {
    fn new(ts: Timestamp) -> Episode {
        Episode {
            start: ts,
            last: ts,
            last_looking: ts,
            epochs: BTreeSet::new(),
            fresh: BTreeSet::new(),
            votes: BTreeMap::new(),
            decided: BTreeMap::new(),
            deciders: BTreeSet::new(),
            notifications: 0,
        }
    }

    /// The leader the servers' last votes settle on ([`settled_leader`]).
    fn winner(&self, majority: usize) -> Option<i64> {
        let decided = |v: &Vote| v.state != ServerState::Looking.name();
        settled_leader(
            self.votes.values().map(|v| (decided(v), v.leader)),
            majority,
        )
    }
}

/// The leader that the servers' last votes (`(decided, leader)`: `decided` for FOLLOWING or
/// LEADING) settle on: one named by `majority` of them in any state, else the one named by the
/// most servers that already follow or lead. Only each server's last vote counts: a follower of
/// a leader that just died may still answer FOLLOWING for it before it notices and starts
/// looking itself. Shared by fle-dump's reconstruction and the daemon's live tracker.
pub(crate) fn settled_leader(
    last_votes: impl Iterator<Item = (bool, i64)> + Clone,
    majority: usize,
) -> Option<i64> {
    let tally = |decided_only: bool| {
        let mut tally: BTreeMap<i64, usize> = BTreeMap::new();
        for (decided, leader) in last_votes.clone() {
            if leader != fle_proto::NO_VOTE && (decided || !decided_only) {
                *tally.entry(leader).or_default() += 1;
            }
        }
        tally
    };
    if let Some((leader, _)) = tally(false).into_iter().find(|(_, n)| *n >= majority) {
        return Some(leader);
    }
    tally(true)
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(leader, _)| leader)
}

impl ElectionTracker {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn observe(
        &mut self,
        ts: Timestamp,
        sid: Option<i64>,
        addr: String,
        dst_sid: Option<i64>,
        dst_addr: String,
        n: &Notification<'_>,
    ) {
        self.seen.push(Seen {
            ts,
            sid,
            addr,
            dst_sid,
            dst_addr,
            state: n.state,
            leader: n.leader,
            zxid: n.zxid,
            election_epoch: n.election_epoch,
            sentinel: n.is_sentinel_vote(),
        });
    }

    /// Reconstructs the elections, resolving senders by election address with `sids`.
    pub fn finish(&mut self, sids: &HashMap<String, i64>) -> Vec<Election> {
        let mut seen = std::mem::take(&mut self.seen);
        seen.sort_by_key(|s| s.ts);
        for s in seen.iter_mut() {
            if s.sid.is_none() {
                s.sid = sids.get(&s.addr).copied();
            }
            if s.dst_sid.is_none() {
                s.dst_sid = sids.get(&s.dst_addr).copied();
            }
        }
        // Observers vote with a sentinel or say OBSERVING; what they send and are sent does not
        // decide anything.
        let observers: BTreeSet<i64> = seen
            .iter()
            .filter(|s| s.sentinel || s.state == ServerState::Observing)
            .filter_map(|s| s.sid)
            .collect();
        let is_observer = |sid: Option<i64>| sid.is_some_and(|s| observers.contains(&s));
        seen.retain(|s| !is_observer(s.sid) && !is_observer(s.dst_sid));
        let voters: BTreeSet<i64> = seen.iter().filter_map(|s| s.sid).collect();
        let majority = voters.len() / 2 + 1;
        let mut done: Vec<Election> = Vec::new();
        let mut current: Option<Episode> = None;
        for s in &seen {
            if let Some(e) = &current {
                if s.ts.nanos_since(e.last) > QUIET_NS && e.winner(majority).is_some() {
                    if let Some(e) = current.take() {
                        let previous = done.last().and_then(|d| d.leader);
                        done.push(close(e, majority, done.len() + 1, previous));
                    }
                }
            }
            let looking = s.state == ServerState::Looking;
            if current.is_none() {
                if !looking {
                    continue;
                }
                current = Some(Episode::new(s.ts));
            }
            let Some(e) = current.as_mut() else { continue };
            e.last = s.ts;
            e.notifications += 1;
            e.epochs.insert(s.election_epoch);
            if looking {
                e.last_looking = s.ts;
                if let Some(sid) = s.sid {
                    e.fresh.insert(sid);
                }
            } else {
                *e.decided.entry(s.leader).or_default() += 1;
                if let Some(sid) = s.sid {
                    e.deciders.insert(sid);
                }
            }
            if let Some(sid) = s.sid {
                e.votes.insert(
                    sid,
                    Vote {
                        state: s.state.name(),
                        leader: s.leader,
                        zxid: format!("0x{:x}", s.zxid as u64),
                        election_epoch: s.election_epoch,
                    },
                );
            }
        }
        if let Some(e) = current.take() {
            let previous = done.last().and_then(|d| d.leader);
            done.push(close(e, majority, done.len() + 1, previous));
        }
        done
    }
}

fn close(e: Episode, majority: usize, number: usize, previous_leader: Option<i64>) -> Election {
    let leader = e.winner(majority);
    // Servers answering FOLLOWING/LEADING for the leader the ensemble already had: somebody
    // (re)joined; the ensemble was never without its leader.
    let joined = !e.decided.is_empty() && leader.is_some() && leader == previous_leader;
    let end = if joined { e.last } else { e.last_looking };
    // In a rejoin, the servers that had decided may still echo LOOKING votes: only the others
    // were really looking.
    let looking: Vec<i64> = if joined {
        e.fresh.difference(&e.deciders).copied().collect()
    } else {
        e.fresh.iter().copied().collect()
    };
    Election {
        number,
        start: e.start.as_secs_f64(),
        end: end.as_secs_f64(),
        duration_ms: end.nanos_since(e.start) as f64 / 1e6,
        election_epochs: e.epochs.into_iter().collect(),
        looking,
        votes: e.votes,
        leader,
        joined_existing_leader: joined,
        notifications: e.notifications,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fle_proto::ServerState::{Following, Leading, Looking};

    /// Feeds (ms, sender sid, state, vote) notifications to a tracker.
    fn elections(notes: &[(i64, i64, ServerState, i64)]) -> Vec<Election> {
        let mut tracker = ElectionTracker::default();
        for &(ms, sid, state, leader) in notes {
            let n = Notification {
                state,
                leader,
                zxid: 0x1_0000_0000,
                election_epoch: 1,
                peer_epoch: Some(1),
                version: Some(2),
                config: None,
                opaque_tail: &[],
            };
            let ts = Timestamp(ms * 1_000_000);
            tracker.observe(ts, Some(sid), String::new(), None, String::new(), &n);
        }
        tracker.finish(&HashMap::new())
    }

    #[test]
    fn a_stale_following_vote_for_a_dead_leader_does_not_win_the_next_election() {
        let got = elections(&[
            // Leader 3 elected.
            (0, 1, Looking, 3),
            (1, 2, Looking, 3),
            (2, 3, Looking, 3),
            // Leader 3 dies; 1 looks first while 2 still answers as 3's follower, then 2 looks too.
            (5_000, 1, Looking, 1),
            (5_001, 2, Following, 3),
            (5_010, 2, Looking, 2),
            (5_011, 1, Looking, 2),
            // 3 restarts and is told who leads.
            (9_000, 3, Looking, 3),
            (9_001, 1, Following, 2),
            (9_002, 2, Leading, 2),
        ]);
        let summary: Vec<(Option<i64>, bool)> = got
            .iter()
            .map(|e| (e.leader, e.joined_existing_leader))
            .collect();
        assert_eq!(
            summary,
            [(Some(3), false), (Some(2), false), (Some(2), true)]
        );
        assert_eq!(got[2].looking, [3]);
    }
}
