//! The write-path join, a pure state machine: fed with [`Sighting`]s in capture-time order
//! (a client's reply, a forwarded REQUEST, PROPOSAL, ACK, COMMIT), it hands back one
//! [`WriteTrace`] per client write it can follow through the quorum.
//!
//! The join: a write's reply carries its zxid (`ReplyHeader.zxid` is the zxid the reply's
//! server had just applied, which for a write is its own transaction's); the leader's PROPOSAL
//! of that zxid carries the client's session and xid in its `TxnHeader`, which must match the
//! request's; the forwarded REQUEST (a follower's) is found by the same session and xid, and
//! names the follower that serves the client, whose COMMIT then ends the commit stage.
//! A reply is held for [`GRACE_NS`] of capture time before its trace is made, so that a
//! follower's late ACK (the last-ACK report) and sightings of other hosts' captures, merged
//! with a small skew, are in.
//!
//! Nothing is guessed: a stage whose two ends the capture did not show, or whose predecessor
//! is unknown (was the client's server the leader?), is absent, and a stage whose end came
//! before its start (clock skew between captures) is absent too.

use smallvec::SmallVec;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use zk_proto::OpCode;
use zkwire_capture::Timestamp;

/// How long a reply waits (capture time) before its trace is made.
pub const GRACE_NS: i64 = 2_000_000_000;
/// How long quorum records are kept waiting for their client's reply: a write slower than
/// this is not traced.
const WINDOW_NS: i64 = 10_000_000_000;
/// Most quorum records (proposals, forwarded requests) kept at once; the oldest go first.
const MAX_RECORDS: usize = 1 << 20;
/// Most learner addresses remembered (to tell whether a server's IP is a learner's).
const MAX_LEARNER_IPS: usize = 4096;
/// Most followers one record keeps PROPOSALs, ACKs and COMMITs of (an ensemble has a handful;
/// a hostile capture could claim millions).
const MAX_FOLLOWERS: usize = 256;
/// Most replies held for their grace period; over it the oldest is traced at once.
const MAX_PENDING: usize = 1 << 20;

/// One quorum connection: the learner's end and the leader's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Link {
    /// The learner (follower or observer) end.
    pub learner: SocketAddr,
    /// The leader's quorum port.
    pub leader: SocketAddr,
}

/// A client write's reply, with what its request said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReply {
    /// When the request was seen (`None`: before the capture began).
    pub request_ts: Option<Timestamp>,
    /// The client.
    pub client: SocketAddr,
    /// The server it talks to.
    pub server: SocketAddr,
    /// The session, when the connection's handshake was seen.
    pub session: Option<i64>,
    /// The request's xid.
    pub xid: i32,
    /// The request's opcode.
    pub opcode: OpCode,
    /// The request's path.
    pub path: Option<Box<str>>,
    /// The reply's error code.
    pub err: i32,
    /// The reply's zxid (0 for a new session's ConnectResponse, which carries none: its
    /// createSession is found by the session and xid 0).
    pub zxid: i64,
    /// A multi's operations: (op name, count), in first-seen order.
    pub ops: Vec<(&'static str, u32)>,
}

/// What a capture showed, of one write's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A write's reply reached its client.
    Reply(Box<WriteReply>),
    /// A follower forwarded a client's request to the leader (REQUEST).
    Forward {
        /// The follower's link.
        link: Link,
        /// The client's session.
        session: i64,
        /// The client's xid.
        cxid: i32,
    },
    /// The leader proposed a transaction to a follower (one per follower).
    Proposal {
        /// The follower's link.
        link: Link,
        /// The transaction's zxid.
        zxid: i64,
        /// Its session.
        session: i64,
        /// Its client xid.
        cxid: i32,
    },
    /// A follower acknowledged a proposal.
    Ack {
        /// The follower's link.
        link: Link,
        /// The follower's server id, when known.
        sid: Option<i64>,
        /// The acknowledged zxid.
        zxid: i64,
    },
    /// The leader committed a zxid to a follower.
    Commit {
        /// The follower's link.
        link: Link,
        /// The committed zxid.
        zxid: i64,
    },
}

/// A [`Seen`] at its capture time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// Capture time (after any clock-offset correction).
    pub ts: Timestamp,
    /// What was seen.
    pub seen: Seen,
}

impl Sighting {
    /// Moves it `ns` earlier: onto another capture's clock (the request time of a reply too).
    pub fn shift(&mut self, ns: i64) {
        self.ts.0 = self.ts.0.saturating_sub(ns);
        if let Seen::Reply(reply) = &mut self.seen {
            if let Some(ts) = reply.request_ts.as_mut() {
                ts.0 = ts.0.saturating_sub(ns);
            }
        }
    }
}

/// The stages of a write, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Client request → the follower's forwarded REQUEST.
    Forward,
    /// → the leader's PROPOSAL.
    Propose,
    /// PROPOSAL → the ACK that completes a quorum.
    Quorum,
    /// → the COMMIT to the client's server (a follower).
    Commit,
    /// → the reply to the client.
    Reply,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 5] = [
        Stage::Forward,
        Stage::Propose,
        Stage::Quorum,
        Stage::Commit,
        Stage::Reply,
    ];

    /// The stage's name (`forward`, …), as JSON keys and metric labels spell it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Forward => "forward",
            Stage::Propose => "propose",
            Stage::Quorum => "quorum",
            Stage::Commit => "commit",
            Stage::Reply => "reply",
        }
    }
}

/// Microseconds per stage, where the capture shows the stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stages([Option<u64>; 5]);

impl Stages {
    /// The stage's microseconds, if shown.
    pub fn get(&self, stage: Stage) -> Option<u64> {
        self.0[stage as usize]
    }

    /// The stages shown, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Stage, u64)> + '_ {
        Stage::ALL
            .iter()
            .filter_map(|&s| self.get(s).map(|us| (s, us)))
    }
}

/// A follower's ACK of a traced write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckFrom {
    /// The follower's quorum address.
    pub learner: SocketAddr,
    /// Its server id, when its FOLLOWERINFO was seen.
    pub sid: Option<i64>,
    /// PROPOSAL → this ACK, microseconds (absent when the PROPOSAL came after it).
    pub after_us: Option<u64>,
}

/// One write followed from its client through the quorum and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteTrace {
    /// The transaction's zxid.
    pub zxid: i64,
    /// The client's session.
    pub session: i64,
    /// The request's xid.
    pub xid: i32,
    /// The request's opcode.
    pub opcode: OpCode,
    /// A multi's operations.
    pub ops: Vec<(&'static str, u32)>,
    /// The request's path.
    pub path: Option<Box<str>>,
    /// The client.
    pub client: SocketAddr,
    /// The server it talks to.
    pub server: SocketAddr,
    /// The reply's error code.
    pub err: i32,
    /// When the request was seen.
    pub request_ts: Timestamp,
    /// Request seen → reply seen, microseconds.
    pub total_us: u64,
    /// The stages the capture shows.
    pub stages: Stages,
    /// Followers the PROPOSAL went to, and how many of them ACKed it.
    pub followers: usize,
    /// ACKs seen.
    pub acks: usize,
    /// The ACK that completed the quorum.
    pub quorum_ack: Option<AckFrom>,
    /// The last follower to ACK.
    pub last_ack: Option<AckFrom>,
}

/// What became of the write replies seen.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct TraceCounts {
    /// Replies to writes (requests that make a transaction) seen, each write once.
    pub writes: u64,
    /// Writes traced.
    pub traced: u64,
    /// Writes whose request was not in the capture.
    pub request_not_seen: u64,
    /// Writes whose PROPOSAL (matching zxid, session and xid) was not in the capture.
    pub proposal_not_seen: u64,
    /// The same write's reply seen again (in another host's capture).
    pub duplicates: u64,
    /// Quorum records dropped unjoined (older than the window, or over the bound).
    pub records_expired: u64,
}

/// Each follower's first sighting of something (an ACK, a COMMIT): when, the follower, its
/// server id. Inline up to a five-server ensemble's four followers, so a record costs no
/// allocation per list (three a record were a tenth of the daemon's allocations).
type FirstSightings = SmallVec<[(Timestamp, SocketAddr, Option<i64>); 4]>;

/// What the capture showed of one zxid's proposal.
#[derive(Debug)]
struct Record {
    /// First sighting of anything about it (for expiry).
    first: Timestamp,
    /// The leader's quorum address.
    leader: Option<SocketAddr>,
    /// The first PROPOSAL copy: when, and its session and xid.
    proposed: Option<(Timestamp, i64, i32)>,
    /// Followers it was proposed to.
    sent_to: SmallVec<[SocketAddr; 4]>,
    /// Each follower's first ACK.
    acks: FirstSightings,
    /// Each follower's first COMMIT.
    commits: FirstSightings,
    /// Whether a trace used it.
    traced: bool,
}

impl Record {
    fn new(first: Timestamp) -> Record {
        Record {
            first,
            leader: None,
            proposed: None,
            sent_to: SmallVec::new(),
            acks: SmallVec::new(),
            commits: SmallVec::new(),
            traced: false,
        }
    }
}

/// Which server served the client, as far as the capture tells.
enum Role {
    /// A follower, which forwarded the request at this time over this link.
    Follower(Timestamp, SocketAddr),
    /// The leader itself.
    Leader,
    /// The capture cannot tell.
    Unknown,
}

/// The tracer's hasher: its maps are looked up on every quorum packet.
type Fast = foldhash::fast::RandomState;

/// The write-path join (see the module docs).
#[derive(Debug, Default)]
pub struct WriteTracer {
    /// Voting members, when the user said; else 1 + the largest PROPOSAL fan-out seen.
    voters: Option<usize>,
    max_fanout: usize,
    /// Records by zxid (looked up by several quorum packets each: hashed; boxed, so the table's
    /// spare slots cost a pointer each, not a record), and their zxids in order, for expiry.
    records: HashMap<i64, Box<Record>, Fast>,
    zxids: BTreeSet<i64>,
    /// The zxid proposed for each (session, xid), first proposal first.
    proposed: HashMap<(i64, i32), i64, Fast>,
    forwards: HashMap<(i64, i32), (Timestamp, SocketAddr), Fast>,
    forward_order: VecDeque<(Timestamp, (i64, i32))>,
    learner_ips: HashSet<IpAddr, Fast>,
    /// The last few learner addresses noted: each is in `learner_ips`, or that set is full
    /// (it only grows), so noting one again would change nothing. Saves a hash per packet.
    recent_learners: [Option<IpAddr>; 4],
    /// Where the next address noted goes in `recent_learners`.
    recent_next: usize,
    /// Nothing can expire while the window starts at or before this: the oldest first sighting
    /// the last expiry left, lowered by every record or forward made since. `None` before the
    /// first expiry. Saves a search of the zxid set per packet.
    quiet_until: Option<i64>,
    pending: VecDeque<(Timestamp, Box<WriteReply>)>,
    now: Timestamp,
    /// Traces made, for the caller to take.
    pub done: Vec<WriteTrace>,
    /// What became of the writes.
    pub counts: TraceCounts,
}

/// Keeps each follower's earliest sighting, of at most [`MAX_FOLLOWERS`] followers.
fn keep_first(seen: &mut FirstSightings, ts: Timestamp, learner: SocketAddr, sid: Option<i64>) {
    match seen.iter().position(|s| s.1 == learner) {
        Some(i) => seen[i].0 = seen[i].0.min(ts),
        None if seen.len() < MAX_FOLLOWERS => seen.push((ts, learner, sid)),
        None => {}
    }
}

/// `b - a` in whole microseconds, when not negative.
fn micros(a: Timestamp, b: Timestamp) -> Option<u64> {
    u64::try_from(b.0.checked_sub(a.0)?)
        .ok()
        .map(|ns| ns / 1000)
}

impl WriteTracer {
    /// A tracer; `voters` is the ensemble's voting members when known (else inferred).
    pub fn new(voters: Option<usize>) -> WriteTracer {
        WriteTracer {
            voters,
            ..WriteTracer::default()
        }
    }

    /// Takes one sighting (in capture-time order, give or take [`GRACE_NS`]).
    pub fn sight(&mut self, s: Sighting) {
        let ts = s.ts;
        match s.seen {
            Seen::Reply(reply) => {
                self.counts.writes += 1;
                if self.pending.len() >= MAX_PENDING {
                    if let Some((ts, reply)) = self.pending.pop_front() {
                        self.conclude(ts, *reply);
                    }
                }
                self.pending.push_back((ts, reply));
            }
            Seen::Forward {
                link,
                session,
                cxid,
            } => {
                self.note_learner(link.learner);
                if let std::collections::hash_map::Entry::Vacant(e) =
                    self.forwards.entry((session, cxid))
                {
                    e.insert((ts, link.learner));
                    self.forward_order.push_back((ts, (session, cxid)));
                    self.quiet_until = match self.forward_order.len() > MAX_RECORDS {
                        true => None,
                        false => self.quiet_until.map(|q| q.min(ts.0)),
                    };
                }
            }
            Seen::Proposal {
                link,
                zxid,
                session,
                cxid,
            } => {
                self.note_learner(link.learner);
                if self.proposed.len() < MAX_RECORDS {
                    self.proposed.entry((session, cxid)).or_insert(zxid);
                }
                let rec = self.record(zxid, ts);
                rec.leader.get_or_insert(link.leader);
                if rec.proposed.is_none_or(|(first, _, _)| ts < first) {
                    rec.proposed = Some((ts, session, cxid));
                }
                if !rec.traced
                    && !rec.sent_to.contains(&link.learner)
                    && rec.sent_to.len() < MAX_FOLLOWERS
                {
                    rec.sent_to.push(link.learner);
                }
                let fanout = rec.sent_to.len();
                self.max_fanout = self.max_fanout.max(fanout);
            }
            Seen::Ack { link, sid, zxid } => {
                self.note_learner(link.learner);
                let rec = self.record(zxid, ts);
                rec.leader.get_or_insert(link.leader);
                if !rec.traced {
                    keep_first(&mut rec.acks, ts, link.learner, sid);
                }
            }
            Seen::Commit { link, zxid } => {
                self.note_learner(link.learner);
                let rec = self.record(zxid, ts);
                rec.leader.get_or_insert(link.leader);
                if !rec.traced {
                    keep_first(&mut rec.commits, ts, link.learner, None);
                }
            }
        }
        self.advance(ts);
    }

    /// Capture time reached `now`: traces whose grace is over are made, old records expire.
    pub fn advance(&mut self, now: Timestamp) {
        if now <= self.now {
            return;
        }
        self.now = now;
        while let Some((ts, _)) = self.pending.front() {
            if now.0.saturating_sub(ts.0) < GRACE_NS {
                break;
            }
            if let Some((ts, reply)) = self.pending.pop_front() {
                self.conclude(ts, *reply);
            }
        }
        let before = now.0.saturating_sub(WINDOW_NS);
        if self.quiet_until.is_none_or(|q| before > q) {
            self.expire(before);
        }
    }

    /// The end of the input: every reply still held is traced.
    pub fn finish(&mut self) {
        while let Some((ts, reply)) = self.pending.pop_front() {
            self.conclude(ts, *reply);
        }
    }

    fn note_learner(&mut self, learner: SocketAddr) {
        let ip = Some(learner.ip());
        if self.recent_learners.contains(&ip) {
            return;
        }
        if let Some(ip) = ip {
            if self.learner_ips.len() < MAX_LEARNER_IPS {
                self.learner_ips.insert(ip);
            }
        }
        self.recent_learners[self.recent_next] = ip;
        self.recent_next = (self.recent_next + 1) % self.recent_learners.len();
    }

    fn record(&mut self, zxid: i64, ts: Timestamp) -> &mut Record {
        if self.records.len() >= MAX_RECORDS && !self.records.contains_key(&zxid) {
            if let Some(first) = self.zxids.pop_first() {
                self.records.remove(&first);
            }
            self.counts.records_expired += 1;
        }
        self.records.entry(zxid).or_insert_with(|| {
            self.zxids.insert(zxid);
            self.quiet_until = self.quiet_until.map(|q| q.min(ts.0));
            Box::new(Record::new(ts))
        })
    }

    /// Drops records first seen before `before` (zxids grow with time, so the oldest are
    /// first), and forwarded requests seen before it.
    fn expire(&mut self, before: i64) {
        while let Some(&zxid) = self.zxids.first() {
            let Some(rec) = self.records.get(&zxid) else {
                self.zxids.pop_first();
                continue;
            };
            if rec.first.0 >= before {
                break;
            }
            if !rec.traced {
                self.counts.records_expired += 1;
            }
            self.zxids.pop_first();
            let Some(rec) = self.records.remove(&zxid) else {
                continue;
            };
            if let Some((_, session, cxid)) = rec.proposed {
                if self.proposed.get(&(session, cxid)) == Some(&zxid) {
                    self.proposed.remove(&(session, cxid));
                }
            }
        }
        while let Some(&(ts, key)) = self.forward_order.front() {
            if ts.0 >= before && self.forward_order.len() <= MAX_RECORDS {
                break;
            }
            self.forward_order.pop_front();
            self.forwards.remove(&key);
        }
        let oldest_record = self.zxids.first().and_then(|z| self.records.get(z));
        let oldest_forward = self.forward_order.front().map(|(ts, _)| ts.0);
        self.quiet_until = Some(
            oldest_record
                .map_or(i64::MAX, |r| r.first.0)
                .min(oldest_forward.unwrap_or(i64::MAX)),
        );
    }

    /// Follower ACKs that complete a quorum of the voting members (the leader votes too).
    fn acks_needed(&self) -> usize {
        let voters = self.voters.unwrap_or(1 + self.max_fanout);
        (voters / 2).max(1)
    }

    fn conclude(&mut self, reply_ts: Timestamp, reply: WriteReply) {
        match self.trace(reply_ts, reply) {
            Ok(trace) => {
                self.counts.traced += 1;
                self.done.push(trace);
            }
            Err(Untraced::NoRequest) => self.counts.request_not_seen += 1,
            Err(Untraced::NoProposal) => self.counts.proposal_not_seen += 1,
            Err(Untraced::Duplicate) => {
                // The same write seen twice (two hosts' captures) is one write.
                self.counts.duplicates += 1;
                self.counts.writes = self.counts.writes.saturating_sub(1);
            }
        }
    }

    fn role(&self, reply: &WriteReply, session: i64, leader: Option<SocketAddr>) -> Role {
        if let Some(&(ts, learner)) = self.forwards.get(&(session, reply.xid)) {
            return Role::Follower(ts, learner);
        }
        let server_ip = reply.server.ip();
        if leader.is_some_and(|l| l.ip() == server_ip) && !self.learner_ips.contains(&server_ip) {
            Role::Leader
        } else {
            Role::Unknown
        }
    }

    fn trace(
        &mut self,
        reply_ts: Timestamp,
        mut reply: WriteReply,
    ) -> Result<WriteTrace, Untraced> {
        let request = reply.request_ts.ok_or(Untraced::NoRequest)?;
        if reply.opcode == OpCode::CreateSession {
            let session = reply.session.ok_or(Untraced::NoProposal)?;
            reply.zxid = *self
                .proposed
                .get(&(session, reply.xid))
                .ok_or(Untraced::NoProposal)?;
        }
        let needed = self.acks_needed();
        let rec = self.records.get(&reply.zxid).ok_or(Untraced::NoProposal)?;
        let (proposed, session, cxid) = rec.proposed.ok_or(Untraced::NoProposal)?;
        if cxid != reply.xid || reply.session.is_some_and(|s| s != session) {
            return Err(Untraced::NoProposal);
        }
        if rec.traced {
            return Err(Untraced::Duplicate);
        }
        let role = self.role(&reply, session, rec.leader);
        let rec = self
            .records
            .get_mut(&reply.zxid)
            .ok_or(Untraced::NoProposal)?;
        rec.traced = true;
        // What the trace needs is taken: the record stays, small, to tell a duplicate reply
        // (another host's capture) until it expires.
        let mut acks = std::mem::take(&mut rec.acks);
        let commits = std::mem::take(&mut rec.commits);
        let followers = std::mem::take(&mut rec.sent_to).len();
        self.forwards.remove(&(session, reply.xid));
        acks.sort_unstable_by_key(|a| a.0);
        let ack_from = |a: &(Timestamp, SocketAddr, Option<i64>)| AckFrom {
            learner: a.1,
            sid: a.2,
            after_us: micros(proposed, a.0),
        };
        let quorum = acks.get(needed - 1);
        let quorum_ts = quorum.map(|a| a.0);
        let chain = milestones(role, (request, reply_ts), proposed, quorum_ts, &commits);
        let stages = stages(request, reply_ts, &chain);
        Ok(WriteTrace {
            zxid: reply.zxid,
            session,
            xid: reply.xid,
            opcode: reply.opcode,
            ops: reply.ops,
            path: reply.path,
            client: reply.client,
            server: reply.server,
            err: reply.err,
            request_ts: request,
            total_us: micros(request, reply_ts).unwrap_or(0),
            stages,
            followers,
            acks: acks.len(),
            quorum_ack: quorum.map(ack_from),
            last_ack: acks.last().map(ack_from),
        })
    }
}

/// A write's stages as (stage, from, to), in order: at most five, inline.
type Milestones = SmallVec<[(Stage, Option<Timestamp>, Option<Timestamp>); 5]>;

/// The stages a server's role gives, each as (stage, from, to): a follower's client passes
/// every milestone; a leader's skips the forward and the commit; an unknown role leaves only the
/// quorum, whose ends need no role.
fn milestones(
    role: Role,
    (request, reply): (Timestamp, Timestamp),
    proposed: Timestamp,
    quorum: Option<Timestamp>,
    commits: &[(Timestamp, SocketAddr, Option<i64>)],
) -> Milestones {
    match role {
        Role::Follower(forwarded, learner) => {
            let committed = commits.iter().find(|c| c.1 == learner).map(|c| c.0);
            smallvec::smallvec![
                (Stage::Forward, Some(request), Some(forwarded)),
                (Stage::Propose, Some(forwarded), Some(proposed)),
                (Stage::Quorum, Some(proposed), quorum),
                (Stage::Commit, quorum, committed),
                (Stage::Reply, committed, Some(reply)),
            ]
        }
        Role::Leader => smallvec::smallvec![
            (Stage::Propose, Some(request), Some(proposed)),
            (Stage::Quorum, Some(proposed), quorum),
            (Stage::Reply, quorum, Some(reply)),
        ],
        Role::Unknown => smallvec::smallvec![(Stage::Quorum, Some(proposed), quorum)],
    }
}

/// The stages shown, from milestones in order. A stage is shown only when both its ends were seen, in order, not
/// before any earlier milestone and not after the reply: shown stages never overlap, so they
/// add up to at most the total, whatever clock skew or loss did to the capture.
fn stages(
    request: Timestamp,
    reply: Timestamp,
    chain: &[(Stage, Option<Timestamp>, Option<Timestamp>)],
) -> Stages {
    let mut shown = [None; 5];
    let mut floor = request;
    for &(stage, from, to) in chain {
        if let (Some(a), Some(b)) = (from, to) {
            if a >= floor && b >= a && b <= reply {
                shown[stage as usize] = micros(a, b);
            }
        }
        floor = [from, to].into_iter().flatten().fold(floor, Timestamp::max);
    }
    Stages(shown)
}

/// Why a write reply gave no trace.
enum Untraced {
    NoRequest,
    NoProposal,
    Duplicate,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    /// The leader listens on 10.0.0.3:2888; followers 1 and 2 connect from their hosts.
    fn link(follower: u8) -> Link {
        Link {
            learner: addr(&format!("10.0.0.{follower}:4000{follower}")),
            leader: addr("10.0.0.3:2888"),
        }
    }

    fn at(ms: i64, seen: Seen) -> Sighting {
        Sighting {
            ts: Timestamp(ms * MS),
            seen,
        }
    }

    /// A setData by session 0x5, xid 7, to the server on host `server`, seen at `request` ms
    /// and answered at `reply` ms with zxid 0x100000009.
    fn reply(server: u8, request: Option<i64>, reply: i64) -> Sighting {
        at(
            reply,
            Seen::Reply(Box::new(WriteReply {
                request_ts: request.map(|ms| Timestamp(ms * MS)),
                client: addr("10.0.0.9:50000"),
                server: addr(&format!("10.0.0.{server}:2181")),
                session: Some(5),
                xid: 7,
                opcode: OpCode::SetData,
                path: Some("/a".into()),
                err: 0,
                zxid: 0x1_0000_0009,
                ops: Vec::new(),
            })),
        )
    }

    fn proposal(ms: i64, follower: u8) -> Sighting {
        at(
            ms,
            Seen::Proposal {
                link: link(follower),
                zxid: 0x1_0000_0009,
                session: 5,
                cxid: 7,
            },
        )
    }

    /// Follower 1 forwards session 5's xid 7.
    fn forward(ms: i64) -> Sighting {
        at(
            ms,
            Seen::Forward {
                link: link(1),
                session: 5,
                cxid: 7,
            },
        )
    }

    fn ack(ms: i64, follower: u8) -> Sighting {
        at(
            ms,
            Seen::Ack {
                link: link(follower),
                sid: Some(follower.into()),
                zxid: 0x1_0000_0009,
            },
        )
    }

    fn commit(ms: i64, follower: u8) -> Sighting {
        at(
            ms,
            Seen::Commit {
                link: link(follower),
                zxid: 0x1_0000_0009,
            },
        )
    }

    fn run(sightings: Vec<Sighting>) -> WriteTracer {
        let mut tracer = WriteTracer::new(None);
        for s in sightings {
            tracer.sight(s);
        }
        tracer.finish();
        tracer
    }

    fn stages(t: &WriteTrace) -> Vec<(&'static str, u64)> {
        t.stages
            .iter()
            .map(|(s, us)| (s.name(), us / 1000))
            .collect()
    }

    /// A client of follower 1: every stage, the quorum completed by follower 2's ACK, the
    /// last ACK follower 1's; stages add up to the total.
    #[test]
    fn a_followers_write_shows_every_stage() {
        let forward = forward(12);
        let tracer = run(vec![
            forward,
            proposal(15, 1),
            proposal(15, 2),
            ack(19, 2),
            ack(40, 1),
            commit(20, 1),
            commit(20, 2),
            reply(1, Some(10), 26),
        ]);
        assert_eq!(tracer.counts.traced, 1);
        let t = &tracer.done[0];
        assert_eq!((t.zxid, t.session, t.xid), (0x1_0000_0009, 5, 7));
        assert_eq!(
            stages(t),
            [
                ("forward", 2),
                ("propose", 3),
                ("quorum", 4),
                ("commit", 1),
                ("reply", 6)
            ]
        );
        assert_eq!(t.total_us, 16_000);
        assert_eq!(t.stages.iter().map(|(_, us)| us).sum::<u64>(), t.total_us);
        assert_eq!(t.quorum_ack.map(|a| a.sid), Some(Some(2)));
        assert_eq!(
            t.last_ack.map(|a| (a.sid, a.after_us)),
            Some((Some(1), Some(25_000)))
        );
        assert_eq!((t.followers, t.acks), (2, 2));
    }

    /// A client of the leader (host 3, not a learner's): no forward, no commit stage; the
    /// reply follows the quorum.
    #[test]
    fn a_leaders_write_has_no_forward_or_commit() {
        let tracer = run(vec![
            proposal(11, 1),
            proposal(11, 2),
            ack(13, 1),
            ack(14, 2),
            reply(3, Some(10), 16),
        ]);
        let t = &tracer.done[0];
        assert_eq!(stages(t), [("propose", 1), ("quorum", 2), ("reply", 3)]);
    }

    /// Whether the client's server leads cannot be told (no forward seen, and it is a
    /// learner's host): only the quorum stage, which needs no role, is shown.
    #[test]
    fn an_unknown_role_shows_only_the_quorum() {
        let tracer = run(vec![
            proposal(11, 1),
            proposal(11, 2),
            ack(13, 1),
            reply(2, Some(10), 16),
        ]);
        let t = &tracer.done[0];
        assert_eq!(stages(t), [("quorum", 2)]);
        assert_eq!(t.total_us, 6000);
    }

    /// Five voters (four followers): the quorum needs two follower ACKs; `--voters 3` says
    /// one is enough.
    #[test]
    fn the_quorum_counts_the_voters() {
        let sightings = || {
            let mut v: Vec<Sighting> = (1..=4).map(|f| proposal(11, f)).collect();
            v.extend([ack(12, 1), ack(15, 2), ack(30, 4)]);
            v.push(reply(3, Some(10), 40));
            v
        };
        let t = &run(sightings()).done[0];
        assert_eq!(t.stages.get(Stage::Quorum), Some(4000));
        let mut tracer = WriteTracer::new(Some(3));
        sightings().into_iter().for_each(|s| tracer.sight(s));
        tracer.finish();
        assert_eq!(tracer.done[0].stages.get(Stage::Quorum), Some(1000));
    }

    /// What cannot be shown is counted, never traced: a reply whose request came before the
    /// capture, one whose proposal is missing or belongs to another session, a duplicate.
    #[test]
    fn untraceable_writes_are_counted() {
        let tracer = run(vec![reply(1, None, 16)]);
        assert_eq!((tracer.counts.request_not_seen, tracer.done.len()), (1, 0));
        let tracer = run(vec![reply(1, Some(10), 16)]);
        assert_eq!(tracer.counts.proposal_not_seen, 1);
        let other_session = at(
            11,
            Seen::Proposal {
                link: link(1),
                zxid: 0x1_0000_0009,
                session: 6,
                cxid: 7,
            },
        );
        let tracer = run(vec![other_session, reply(1, Some(10), 16)]);
        assert_eq!(tracer.counts.proposal_not_seen, 1);
        let tracer = run(vec![
            proposal(11, 1),
            reply(1, Some(10), 16),
            reply(1, Some(10), 16),
        ]);
        assert_eq!((tracer.counts.traced, tracer.counts.duplicates), (1, 1));
        assert_eq!(tracer.counts.writes, 1);
    }

    /// Records expire oldest zxid first once older than the window (counted when no trace used
    /// them), and only those: a reply then finds a newer record, not an expired one.
    #[test]
    fn records_expire_in_zxid_order_after_the_window() {
        let proposal_of = |ms: i64, zxid: i64, cxid: i32| {
            at(
                ms,
                Seen::Proposal {
                    link: link(1),
                    zxid,
                    session: 5,
                    cxid,
                },
            )
        };
        let mut late_reply = reply(1, Some(10_400), 10_500);
        if let Seen::Reply(r) = &mut late_reply.seen {
            r.zxid = 0x1_0000_000a;
            r.xid = 8;
        }
        let tracer = run(vec![
            proposal_of(0, 0x1_0000_0009, 7),
            proposal_of(1_000, 0x1_0000_000a, 8),
            // 10.5 s later: the first record is past the window, the second not.
            late_reply,
            reply(1, Some(10_400), 10_500),
        ]);
        assert_eq!(tracer.counts.records_expired, 1, "{:?}", tracer.counts);
        assert_eq!(tracer.counts.traced, 1);
        assert_eq!(tracer.done[0].zxid, 0x1_0000_000a);
        assert_eq!(tracer.counts.proposal_not_seen, 1);
        assert_eq!(tracer.records.len(), 1);
        assert_eq!(tracer.zxids.len(), 1);
    }

    /// A stage whose end comes before its start (clocks of two captures badly aligned) is
    /// absent, never negative.
    #[test]
    fn a_negative_stage_is_absent() {
        let forward = forward(12);
        // The forward appears after the proposal.
        let tracer = run(vec![
            proposal(11, 1),
            forward,
            ack(13, 1),
            commit(14, 1),
            reply(1, Some(10), 16),
        ]);
        let t = &tracer.done[0];
        assert_eq!(t.stages.get(Stage::Propose), None);
        assert_eq!(t.stages.get(Stage::Forward), Some(2000));
    }

    /// A reply is held until its grace is over: a later sighting of its ACK still counts.
    #[test]
    fn replies_wait_for_late_sightings() {
        let mut tracer = WriteTracer::new(None);
        for s in [
            proposal(11, 1),
            proposal(11, 2),
            ack(12, 2),
            reply(3, Some(10), 14),
            ack(500, 1),
        ] {
            tracer.sight(s);
        }
        assert!(tracer.done.is_empty(), "held for the grace period");
        tracer.advance(Timestamp(14 * MS + GRACE_NS));
        assert_eq!(tracer.done.len(), 1);
        assert_eq!(tracer.done[0].last_ack.and_then(|a| a.sid), Some(1));
    }

    /// A new session: its ConnectResponse has no zxid, so its createSession is found by the
    /// session and xid 0.
    #[test]
    fn a_new_session_is_traced_through_its_create_session() {
        let create_session = at(
            11,
            Seen::Proposal {
                link: link(1),
                zxid: 0x1_0000_0001,
                session: 5,
                cxid: 0,
            },
        );
        let mut connect = reply(3, Some(10), 16);
        if let Seen::Reply(r) = &mut connect.seen {
            r.opcode = OpCode::CreateSession;
            r.xid = 0;
            r.zxid = 0;
        }
        let tracer = run(vec![create_session, connect]);
        assert_eq!(tracer.done.first().map(|t| t.zxid), Some(0x1_0000_0001));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Any sightings (a few sessions, xids, zxids and followers, in any order) make traces
    /// whose stages add up to at most the total, never two of one zxid, and counts that add up.
    fn sighting() -> impl Strategy<Value = Sighting> {
        sighting_within(4_000)
    }

    /// A sighting at a time within `span_ms` milliseconds of the start.
    fn sighting_within(span_ms: i64) -> impl Strategy<Value = Sighting> {
        let link = (1u8..4).prop_map(|f| Link {
            learner: SocketAddr::from(([10, 0, 0, f], 40000)),
            leader: SocketAddr::from(([10, 0, 0, 9], 2888)),
        });
        let seen = prop_oneof![
            (link.clone(), 0i64..3, 0i32..4).prop_map(|(link, session, cxid)| Seen::Forward {
                link,
                session,
                cxid
            }),
            (link.clone(), 0i64..6, 0i64..3, 0i32..4).prop_map(|(link, zxid, session, cxid)| {
                Seen::Proposal {
                    link,
                    zxid,
                    session,
                    cxid,
                }
            }),
            (link.clone(), 0i64..6).prop_map(|(link, zxid)| Seen::Ack {
                link,
                sid: None,
                zxid
            }),
            (link, 0i64..6).prop_map(|(link, zxid)| Seen::Commit { link, zxid }),
            (
                0i64..3,
                0i32..4,
                0i64..6,
                proptest::option::of(0i64..4_000),
                0u8..4
            )
                .prop_map(|(session, xid, zxid, request, server)| {
                    Seen::Reply(Box::new(WriteReply {
                        request_ts: request.map(|ms| Timestamp(ms * 1_000_000)),
                        client: SocketAddr::from(([10, 0, 1, 1], 5000)),
                        server: SocketAddr::from(([10, 0, 0, server], 2181)),
                        session: Some(session),
                        xid,
                        opcode: OpCode::Create,
                        path: None,
                        err: 0,
                        zxid,
                        ops: Vec::new(),
                    }))
                }),
        ];
        (0i64..span_ms, seen).prop_map(|(ms, seen)| Sighting {
            ts: Timestamp(ms * 1_000_000),
            seen,
        })
    }

    proptest! {
        #[test]
        fn traces_are_consistent(mut sightings in proptest::collection::vec(sighting(), 0..60),
                                 sorted in any::<bool>()) {
            if sorted {
                sightings.sort_by_key(|s| s.ts);
            }
            let mut tracer = WriteTracer::new(None);
            for s in sightings {
                tracer.sight(s);
            }
            tracer.finish();
            let mut zxids = HashSet::new();
            for t in &tracer.done {
                prop_assert!(zxids.insert(t.zxid));
                let sum: u64 = t.stages.iter().map(|(_, us)| us).sum();
                prop_assert!(sum <= t.total_us + 5, "{t:?}");
            }
            let c = &tracer.counts;
            prop_assert_eq!(c.traced, tracer.done.len() as u64);
            prop_assert_eq!(c.writes, c.traced + c.request_not_seen + c.proposal_not_seen);
        }

        /// Over several windows, so records and forwards expire: skipping the expiry while
        /// nothing can expire changes nothing, against a tracer that looks every time.
        #[test]
        fn skipped_expiries_change_nothing(
            mut sightings in proptest::collection::vec(sighting_within(40_000), 0..80),
            sorted in any::<bool>(),
        ) {
            if sorted {
                sightings.sort_by_key(|s| s.ts);
            }
            let mut tracer = WriteTracer::new(None);
            let mut looking = WriteTracer::new(None);
            for s in sightings {
                tracer.sight(s.clone());
                looking.quiet_until = None;
                looking.sight(s);
                prop_assert_eq!(tracer.records.len(), looking.records.len());
                prop_assert_eq!(tracer.forwards.len(), looking.forwards.len());
            }
            tracer.finish();
            looking.finish();
            prop_assert_eq!(&tracer.done, &looking.done);
            prop_assert_eq!(
                serde_json::to_value(&tracer.counts).ok(),
                serde_json::to_value(&looking.counts).ok()
            );
        }
    }
}
