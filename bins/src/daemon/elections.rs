//! Elections as they happen, for the always-on daemon (`--election-port`): how many, how
//! long, who leads, and how often the leader changed. fle-dump reconstructs elections from a
//! whole capture; the daemon cannot wait for the end, and keeps only the episode under way.
//!
//! An episode starts with a LOOKING notification and ends once a leader is decided (the
//! senders' last votes name one server by a majority, or else the servers announcing LEADING
//! or FOLLOWING name it: fle-dump's rule) and notifications stay quiet for 400 ms of capture
//! time. The leader changed when the decided leader differs from the one known before, or,
//! with none known, when every server taking part started out LOOKING (a leaderless ensemble
//! electing one; a server rejoining an ensemble that kept its leader is answered
//! FOLLOWING/LEADING straight away) or a server announced another leader during the episode
//! (a follower answering for the leader that just died).

use super::signals::{counter, histogram};
use fle_proto::{Notification, ServerState};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use zkwire_capture::Timestamp;

/// Quiet time after a decision that ends an episode (fle-dump's rule).
const QUIET_NS: i64 = 400_000_000;
/// Election duration buckets, seconds.
const DURATION_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Most distinct senders an episode keeps (an ensemble has a handful).
const MAX_SENDERS: usize = 1024;

/// Who sent a notification: its server id, or its address when the capture does not tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sender {
    Sid(i64),
    Addr(SocketAddr),
}

#[derive(Debug)]
struct Episode {
    start: Timestamp,
    last: Timestamp,
    /// Each sender's first state in the episode, and its last vote.
    first_state: BTreeMap<Sender, ServerState>,
    votes: BTreeMap<Sender, (ServerState, i64)>,
    /// Leaders announced (by FOLLOWING or LEADING notifications) during the episode.
    announced: BTreeSet<i64>,
}

impl Episode {
    /// The leader decided by the senders' last votes (the rule fle-dump's summary uses).
    fn decided(&self, voters: usize) -> Option<i64> {
        let decided = |state: &ServerState| *state != ServerState::Looking;
        let last_votes = self.votes.values().map(|(s, l)| (decided(s), *l));
        crate::fle::settled_leader(last_votes, voters / 2 + 1)
    }

    /// The sender at `from` turned out to be server `sid` (a connection whose initiator the
    /// capture tells only from a later vote): what it sent before is that server's, so that
    /// each server has one last vote. A stale FOLLOWING answer sent before the server noticed
    /// its leader died must not outlive its newer LOOKING votes.
    fn identify(&mut self, from: SocketAddr, sid: i64) {
        let (addr, known) = (Sender::Addr(from), Sender::Sid(sid));
        if let Some(first) = self.first_state.remove(&addr) {
            self.first_state.entry(known).or_insert(first);
        }
        if let Some(vote) = self.votes.remove(&addr) {
            self.votes.entry(known).or_insert(vote);
        }
    }
}

/// The daemon's election state.
#[derive(Debug, Default)]
pub(super) struct LiveElections {
    episode: Option<Episode>,
    /// Servers seen voting (ids), for the majority.
    voters: BTreeSet<i64>,
    elections: u64,
    leader_changes: u64,
    leader: Option<i64>,
    /// Durations: per-bucket counts (the last is +Inf), sum, count.
    durations: ([u64; DURATION_BUCKETS.len() + 1], f64, u64),
}

impl LiveElections {
    /// Takes in one notification: its capture time, its sender's id when known, its sender's
    /// address.
    pub(super) fn notification(
        &mut self,
        ts: Timestamp,
        sid: Option<i64>,
        from: SocketAddr,
        n: &Notification<'_>,
    ) {
        // Observers do not vote.
        if n.is_sentinel_vote() || n.state == ServerState::Observing {
            return;
        }
        self.tick(ts);
        // A LEADING server votes for itself.
        let sid = sid.or((n.state == ServerState::Leading).then_some(n.leader));
        if let Some(sid) = sid {
            if self.voters.len() < MAX_SENDERS {
                self.voters.insert(sid);
            }
        }
        let sender = sid.map_or(Sender::Addr(from), Sender::Sid);
        match (&mut self.episode, n.state) {
            (None, ServerState::Looking) => {
                self.episode = Some(Episode {
                    start: ts,
                    last: ts,
                    first_state: BTreeMap::new(),
                    votes: BTreeMap::new(),
                    announced: BTreeSet::new(),
                });
            }
            (None, _) => {
                // Steady state: a server answers a rejoining one. Learn the leader.
                if self.leader.is_none() {
                    self.leader = Some(n.leader);
                }
                return;
            }
            _ => {}
        }
        if let Some(e) = self.episode.as_mut() {
            e.last = ts;
            if let Some(sid) = sid {
                e.identify(from, sid);
            }
            if e.votes.len() < MAX_SENDERS || e.votes.contains_key(&sender) {
                e.first_state.entry(sender).or_insert(n.state);
                e.votes.insert(sender, (n.state, n.leader));
            }
            if n.state != ServerState::Looking && e.announced.len() < MAX_SENDERS {
                e.announced.insert(n.leader);
            }
        }
    }

    /// Capture time has reached `now`: ends an episode that has decided and gone quiet.
    pub(super) fn tick(&mut self, now: Timestamp) {
        let voters = self.voters.len();
        let Some(e) = &self.episode else { return };
        if now.nanos_since(e.last) <= QUIET_NS {
            return;
        }
        let Some(winner) = e.decided(voters) else {
            return;
        };
        let leaderless = e.first_state.values().all(|s| *s == ServerState::Looking);
        let changed = match self.leader {
            Some(known) => known != winner,
            None => leaderless || e.announced.iter().any(|l| *l != winner),
        };
        let seconds = e.last.nanos_since(e.start) as f64 / 1e9;
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(DURATION_BUCKETS.len());
        self.durations.0[bucket] += 1;
        self.durations.1 += seconds;
        self.durations.2 += 1;
        self.elections += 1;
        self.leader_changes += u64::from(changed);
        self.leader = Some(winner);
        self.episode = None;
    }

    /// The current leader's server id, when known.
    pub(super) fn leader(&self) -> Option<i64> {
        self.leader
    }

    /// Encodes the election series.
    pub(super) fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        counter(
            encoder,
            "zkwire_elections",
            "Leader elections seen on the election port (a server rejoining included)",
            self.elections,
        )?;
        counter(
            encoder,
            "zkwire_leader_changes",
            "Elections that ended with a different leader (or elected one where there was none)",
            self.leader_changes,
        )?;
        let (buckets, sum, count) = &self.durations;
        histogram(
            encoder,
            "zkwire_election_duration_seconds",
            "From the first LOOKING notification to the decision",
            &DURATION_BUCKETS,
            buckets,
            *sum,
            *count,
        )?;
        if let Some(leader) = self.leader {
            ConstGauge::new(leader).encode(encoder.encode_descriptor(
                "zkwire_leader_id",
                "Server id of the current leader",
                None,
                MetricType::Gauge,
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(state: ServerState, leader: i64) -> Notification<'static> {
        Notification {
            state,
            leader,
            zxid: 0x1_0000_0000,
            election_epoch: 2,
            peer_epoch: Some(1),
            version: Some(2),
            config: None,
            opaque_tail: &[],
        }
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp(ms * 1_000_000)
    }

    fn addr(sid: i64) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, sid as u8], 3888))
    }

    #[test]
    fn a_leaderless_ensemble_electing_is_a_leader_change_a_rejoin_is_not() {
        let mut e = LiveElections::default();
        // Servers 1 and 2 lose leader 3: both look, vote 2, then 2 leads and 1 follows.
        for (ms, sid, state, leader) in [
            (0, 1, ServerState::Looking, 1),
            (1, 2, ServerState::Looking, 2),
            (2, 1, ServerState::Looking, 2),
            (250, 2, ServerState::Leading, 2),
            (251, 1, ServerState::Following, 2),
        ] {
            e.notification(at(ms), Some(sid), addr(sid), &vote(state, leader));
        }
        e.tick(at(300));
        assert_eq!((e.elections, e.leader_changes), (0, 0), "not quiet yet");
        e.tick(at(700));
        assert_eq!((e.elections, e.leader_changes, e.leader), (1, 1, Some(2)));
        assert_eq!(e.durations.2, 1);

        // Server 3 restarts and rejoins: it looks, the others answer at once.
        for (ms, sid, state, leader) in [
            (5000, 3, ServerState::Looking, 3),
            (5001, 2, ServerState::Leading, 2),
            (5001, 1, ServerState::Following, 2),
            (5002, 3, ServerState::Looking, 2),
        ] {
            e.notification(at(ms), Some(sid), addr(sid), &vote(state, leader));
        }
        e.tick(at(6000));
        assert_eq!((e.elections, e.leader_changes, e.leader), (2, 1, Some(2)));
    }

    /// The live failover test's case: the daemon started on a running ensemble, the leader 1
    /// dies, server 2 looks first while server 3 still answers FOLLOWING 1.
    #[test]
    fn a_stale_following_answer_shows_the_old_leader_was_replaced() {
        let mut e = LiveElections::default();
        for (ms, sid, state, leader) in [
            (0, 2, ServerState::Looking, 2),
            (1, 3, ServerState::Following, 1),
            (200, 3, ServerState::Looking, 3),
            (201, 2, ServerState::Looking, 3),
            (420, 3, ServerState::Leading, 3),
            (421, 2, ServerState::Following, 3),
        ] {
            e.notification(at(ms), Some(sid), addr(sid), &vote(state, leader));
        }
        e.tick(at(2000));
        assert_eq!((e.elections, e.leader_changes, e.leader), (1, 1, Some(3)));
    }

    /// The live failover test's case as it ran on a slower machine: leader 3 dies, server 1
    /// looks first, and server 2, still following, answers FOLLOWING 3 on a connection the
    /// daemon cannot attribute yet; its next vote, LOOKING for itself, tells who it is.
    #[test]
    fn a_stale_answer_from_a_sender_identified_later_is_superseded_by_its_votes() {
        let mut e = LiveElections::default();
        let initiator = SocketAddr::from(([127, 0, 0, 1], 58440));
        for (ms, sid, from, state, leader) in [
            (0, Some(1), addr(1), ServerState::Looking, 1),
            (1, None, initiator, ServerState::Following, 3),
            (30, Some(2), initiator, ServerState::Looking, 2),
            (35, Some(1), addr(1), ServerState::Looking, 2),
        ] {
            e.notification(at(ms), sid, from, &vote(state, leader));
        }
        e.tick(at(1000));
        assert_eq!((e.elections, e.leader_changes, e.leader), (1, 1, Some(2)));
    }

    #[test]
    fn a_new_leader_after_a_known_one_is_a_change_even_if_a_server_never_looked() {
        let mut e = LiveElections::default();
        e.notification(at(0), Some(1), addr(1), &vote(ServerState::Following, 3));
        assert_eq!(e.leader(), Some(3), "learned from a steady-state answer");
        e.notification(at(10), Some(1), addr(1), &vote(ServerState::Looking, 1));
        e.notification(at(20), None, addr(2), &vote(ServerState::Leading, 1));
        e.tick(at(1000));
        assert_eq!((e.elections, e.leader_changes, e.leader), (1, 1, Some(1)));
    }
}
