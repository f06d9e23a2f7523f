//! fle-dump's decoder: a [`StreamHandler`] for the election port that splits each connection
//! with fle-proto's sans-IO [`ElectionStream`], attributes every notification to the server that
//! sent it, prints one line (text or JSON) per message, and reconstructs each election for
//! `--summary`.
//!
//! Sender ids: the initiator of a connection names itself in its initial message, together with
//! its election address; the acceptor never does, but every server initiates connections to the
//! others (even those the challenge drops), so its id is learned from its own initial messages
//! and looked up by the address it accepts on.

use crate::lazy::OnFirstData;
use crate::line::Line;
use crate::output::{Format, Printer};
use fle_proto::{ElectionConnection, ElectionEvent, ElectionMessage, Notification, ServerState};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use zkwire_capture::{
    ClientIs, CloseReason, ConnInfo, Direction, StreamHandler, TcpSegment, Timestamp,
};

/// What to show and how.
#[derive(Debug, Clone)]
pub struct FleOptions {
    /// Election ports.
    pub ports: Vec<u16>,
    /// Leave the dynamic configuration out of notifications.
    pub no_config: bool,
    /// Stop after this many messages printed.
    pub limit: Option<u64>,
}

/// Counters reported in the summary line.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FleCounts {
    /// Election connections seen.
    pub connections: u64,
    /// Initial messages.
    pub initial_messages: u64,
    /// Notifications.
    pub notifications: u64,
    /// Notifications whose sender's id was not learned.
    pub unattributed: u64,
    /// Quorum SASL packets.
    pub quorum_auth: u64,
    /// Frames that did not decode, or streams that could not be split.
    pub decode_errors: u64,
    /// Bytes skipped while resynchronising.
    pub skipped_bytes: u64,
    /// Bytes of a message cut short when its connection ended (e.g. a notification the
    /// acceptor was writing when the challenge closed the connection).
    pub incomplete_at_close: u64,
}

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

    /// The leader the servers' last votes settle on: one named by a majority of them (in any
    /// state), else the one named by the servers that already follow or lead. Votes from
    /// earlier in the episode do not count: a follower of a leader that just died may still
    /// answer FOLLOWING for it before it notices and starts looking itself.
    fn winner(&self, majority: usize) -> Option<i64> {
        let tally = |decided_only: bool| {
            let mut tally: BTreeMap<i64, usize> = BTreeMap::new();
            for v in self
                .votes
                .values()
                .filter(|v| v.leader != fle_proto::NO_VOTE)
            {
                if !decided_only || v.state != ServerState::Looking.name() {
                    *tally.entry(v.leader).or_default() += 1;
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
}

impl ElectionTracker {
    #[allow(clippy::too_many_arguments)]
    fn observe(
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

/// Per-connection state: fle-proto's decoder (made on the first bytes), and the initiator's
/// sid once seen.
pub struct FleConn {
    election: OnFirstData<ElectionConnection>,
    initiator: Initiator,
}

/// What is known of a connection's initiator.
#[derive(Default)]
pub struct Initiator {
    sid: Option<i64>,
    /// Whether a LOOKING vote came from it already.
    looked: bool,
}

/// The fle-dump decoder and printer.
pub struct FleDump<W: Write> {
    opts: FleOptions,
    /// Server ports of the connections passed over (for a run that decodes nothing).
    pub ports_seen: crate::input::PortsSeen,
    /// Where and how messages are printed.
    pub printer: Printer<W>,
    /// Counters.
    pub counts: FleCounts,
    /// Server ids by the election address they accept on.
    pub sids: HashMap<String, i64>,
    /// The ensemble's members, once a dynamic configuration named them all.
    members: Option<BTreeSet<i64>>,
    /// Elections seen.
    pub elections: ElectionTracker,
    /// The message being printed (reused: once its buffers grew, a line allocates nothing).
    line: Line,
    /// The rendered line.
    out: Vec<u8>,
}

impl<W: Write> FleDump<W> {
    /// A decoder printing to `printer`.
    pub fn new(opts: FleOptions, printer: Printer<W>) -> FleDump<W> {
        FleDump {
            opts,
            ports_seen: Default::default(),
            line: Line::new(printer.format()),
            out: Vec::with_capacity(1024),
            printer,
            counts: FleCounts::default(),
            sids: HashMap::new(),
            members: None,
            elections: ElectionTracker::default(),
        }
    }

    /// Prints the line built, coloured by its sender. In text, a notification's configuration
    /// (`has_config`: the line has one to show) goes inside the parenthesis, one line per entry.
    fn emit(&mut self, ts: Timestamp, info: &ConnInfo, src_is_client: bool, has_config: bool) {
        let src = if src_is_client {
            info.client
        } else {
            info.server
        };
        let skip = |k: &str, _: &str, null: bool| match k {
            "config" | "format" | "size" => true,
            "peer_epoch" | "version" | "sid" => null,
            _ => false,
        };
        // Rendered without colour first: the configuration goes inside the closing parenthesis,
        // and a coloured line ends with the colour's reset instead.
        self.out.clear();
        self.printer
            .render_into(&mut self.out, &self.line, ts, "kind", skip, "", 0);
        let text = self.printer.format() == Format::Text;
        if has_config && text && !self.opts.no_config && self.out.last() == Some(&b')') {
            if let Some(cfg) = self.line.get("config") {
                // zktraffic prints the dynamic configuration inside the notification, one line
                // per entry, indented.
                self.out.pop();
                self.out.extend_from_slice(b",\n          config=");
                for (i, entry) in cfg.trim_end().split('\n').enumerate() {
                    if i > 0 {
                        self.out.extend_from_slice(b"\n          ");
                    }
                    self.out.extend_from_slice(entry.as_bytes());
                }
                self.out.push(b')');
            }
        }
        self.printer.paint_from(&mut self.out, 0, src);
        self.printer.print_bytes(&self.out);
    }

    fn message(
        &mut self,
        initiator: &mut Initiator,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        msg: ElectionMessage<'_>,
    ) {
        let (src, dst) = match dir {
            Direction::ToServer => (info.client, info.server),
            Direction::ToClient => (info.server, info.client),
        };
        self.line.clear();
        self.line.f64("ts", ts.as_secs_f64());
        self.line.display("src", src);
        self.line.display("dst", dst);
        let mut has_config = false;
        match msg {
            ElectionMessage::Initial(init) => {
                self.counts.initial_messages += 1;
                initiator.sid = Some(init.sid);
                for addr in init.addresses() {
                    self.sids
                        .insert(addr.to_string_lossy().into_owned(), init.sid);
                }
                self.line.str("kind", "initial");
                self.line.merge(&init);
            }
            ElectionMessage::QuorumAuth(auth) => {
                self.counts.quorum_auth += 1;
                self.line.str("kind", "quorum_auth");
                self.line.merge(&auth);
            }
            ElectionMessage::Notification(n) => {
                self.counts.notifications += 1;
                if let Some(config) = n.config {
                    self.learn_from_config(&config.to_string_lossy());
                }
                let sid = match dir {
                    Direction::ToServer => {
                        if initiator.sid.is_none() {
                            let ends = (info.client, info.server);
                            initiator.sid = self.attribute_initiator(ends, &n, !initiator.looked);
                        }
                        initiator.looked |= n.state == ServerState::Looking;
                        initiator.sid
                    }
                    Direction::ToClient => self.sids.get(&info.server.to_string()).copied(),
                };
                if sid.is_none() {
                    self.counts.unattributed += 1;
                }
                let dst_sid = match dir {
                    Direction::ToServer => None,
                    Direction::ToClient => initiator.sid,
                };
                self.elections
                    .observe(ts, sid, src.to_string(), dst_sid, dst.to_string(), &n);
                self.line.str("kind", "notification");
                // Where the capture cannot tell the sender, the text says so (JSON: null).
                match (sid, self.printer.format()) {
                    (Some(sid), _) => self.line.int("sid", sid),
                    (None, Format::Text) => self.line.str("sid", "unattributed"),
                    (None, Format::Json) => self.line.value("sid", &None::<i64>),
                }
                self.line.merge(&n);
                if self.opts.no_config {
                    self.line.remove("config");
                } else {
                    has_config = n.config.is_some();
                }
            }
        }
        self.emit(ts, info, dir == Direction::ToServer, has_config);
    }

    /// Learns server ids from the dynamic configuration carried by notifications
    /// (`server.N=host:quorumport:electionport[:role][;client]`): an acceptor that never
    /// initiated a connection (the lowest id, when the others connected to it first) is
    /// identified this way.
    fn learn_from_config(&mut self, config: &str) {
        let mut members = BTreeSet::new();
        for line in config.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let Some(Ok(sid)) = key.trim().strip_prefix("server.").map(str::parse::<i64>) else {
                continue;
            };
            members.insert(sid);
            let addresses = value.split(';').next().unwrap_or("");
            // Several addresses (multiAddress) are separated by '|'.
            for address in addresses.split('|') {
                let parts: Vec<&str> = address.trim().split(':').collect();
                if parts.len() >= 3 {
                    let host = if parts[0] == "localhost" {
                        "127.0.0.1"
                    } else {
                        parts[0]
                    };
                    self.sids
                        .entry(format!("{host}:{}", parts[2]))
                        .or_insert(sid);
                }
            }
        }
        if !members.is_empty() {
            self.members = Some(members);
        }
    }

    /// The initiator of a connection whose initial message the capture missed, where the
    /// capture tells it (never a guess). `QuorumCnxManager` keeps only connections initiated
    /// by the larger sid, so the initiator is a server with a larger sid than the acceptor's
    /// (the ensemble's members are known from a dynamic configuration); among those it is:
    /// 1. the only one whose election address is on the initiator's host (a server may open
    ///    connections from another address of its host, so this only narrows the candidates);
    /// 2. the only one there is;
    /// 3. the one the connection's first LOOKING vote is for: a server's first vote of a round
    ///    is for itself (`lookForLeader` proposes its own id).
    fn attribute_initiator(
        &self,
        (initiator, server): (SocketAddr, SocketAddr),
        n: &Notification<'_>,
        first_looking: bool,
    ) -> Option<i64> {
        let acceptor = *self.sids.get(&server.to_string())?;
        let candidate =
            |sid: i64| sid > acceptor && self.members.as_ref().is_none_or(|m| m.contains(&sid));
        let on_host: BTreeSet<i64> = self
            .sids
            .iter()
            .filter(|(addr, sid)| {
                candidate(**sid)
                    && addr
                        .parse::<SocketAddr>()
                        .is_ok_and(|a| a.ip() == initiator.ip())
            })
            .map(|(_, sid)| *sid)
            .collect();
        if let [only] = on_host.iter().collect::<Vec<_>>()[..] {
            return Some(*only);
        }
        if let Some(members) = &self.members {
            if let [only] = members.range(acceptor + 1..).collect::<Vec<_>>()[..] {
                return Some(*only);
            }
        }
        (first_looking && n.state == ServerState::Looking && candidate(n.leader))
            .then_some(n.leader)
    }

    fn on_event(
        &mut self,
        initiator: &mut Initiator,
        info: &ConnInfo,
        ts: Timestamp,
        ev: ElectionEvent<'_>,
    ) {
        match ev {
            ElectionEvent::Message {
                direction, message, ..
            } => self.message(initiator, info, direction, ts, message),
            ElectionEvent::BadFrame {
                direction,
                error,
                size,
            } => {
                self.counts.decode_errors += 1;
                let line = &mut self.line;
                line.clear();
                line.f64("ts", ts.as_secs_f64());
                line.str("kind", "DecodeError");
                line.int("size", size);
                line.display("error", &error);
                self.emit(ts, info, direction == Direction::ToServer, false);
            }
            _ => {}
        }
    }
}

impl<W: Write> StreamHandler for FleDump<W> {
    type Conn = FleConn;

    fn open(&mut self, first: &TcpSegment<'_>, _ts: Timestamp) -> Option<(FleConn, ClientIs)> {
        let Some(client_is) = ClientIs::for_server_ports(first, &self.opts.ports) else {
            self.ports_seen.note(first);
            return None;
        };
        self.counts.connections += 1;
        let conn = FleConn {
            election: OnFirstData::new(first.syn),
            initiator: Initiator::default(),
        };
        Some((conn, client_is))
    }

    fn data(
        &mut self,
        conn: &mut FleConn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        let FleConn {
            election,
            initiator,
        } = conn;
        let election = election.get_or_make(ElectionConnection::new);
        election.push(dir, bytes, &mut |ev| self.on_event(initiator, info, ts, ev));
    }

    fn gap(
        &mut self,
        conn: &mut FleConn,
        _info: &ConnInfo,
        dir: Direction,
        _ts: Timestamp,
        _len: u64,
    ) {
        conn.election.get_or_make(ElectionConnection::new).gap(dir);
    }

    fn held_bytes(&self, conn: &FleConn) -> usize {
        conn.election.get().map_or(0, ElectionConnection::buffered)
    }

    fn close(&mut self, mut conn: FleConn, _info: &ConnInfo, _ts: Timestamp, _reason: CloseReason) {
        let Some(election) = conn.election.made() else {
            return; // it never carried a byte
        };
        let (to_acceptor, to_initiator) = election.framer_stats();
        // Bytes dropped while hunting, and boundaries that were not one (the framer counts
        // the tail cut short apart, below).
        self.counts.skipped_bytes += to_acceptor.skipped_bytes + to_initiator.skipped_bytes;
        self.counts.decode_errors += to_acceptor.invalid + to_initiator.invalid;
        self.counts.incomplete_at_close += election.finish() as u64;
    }

    fn wants_more(&self) -> bool {
        !self.printer.done()
    }
}

#[cfg(test)]
mod tests {
    fn vote(leader: i64) -> Notification<'static> {
        Notification {
            state: ServerState::Looking,
            leader,
            zxid: 1,
            election_epoch: 2,
            peer_epoch: Some(1),
            version: Some(2),
            config: None,
            opaque_tail: &[],
        }
    }

    /// The three rules, and no answer where none holds.
    #[test]
    fn initiators_are_attributed_only_where_the_capture_tells() {
        let printer =
            crate::output::Printer::new(Vec::new(), crate::output::Format::Text, true, false, None);
        let opts = FleOptions {
            ports: vec![3888],
            no_config: false,
            limit: None,
        };
        let mut d = FleDump::new(opts, printer);
        d.learn_from_config(
            "server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.2:2888:3888\nserver.3=10.0.0.3:2888:3888",
        );
        let at = |s: &str| s.parse::<SocketAddr>().expect("address");
        let to_1 = at("10.0.0.1:3888");
        // The host names one candidate (3 is on 10.0.0.3; 1, the acceptor, is no candidate).
        assert_eq!(
            d.attribute_initiator((at("10.0.0.3:40000"), to_1), &vote(2), false),
            Some(3)
        );
        // Only one member has a larger sid than the acceptor.
        let to_2 = at("10.0.0.2:3888");
        assert_eq!(
            d.attribute_initiator((at("10.0.0.9:40000"), to_2), &vote(1), false),
            Some(3)
        );
        // The first vote of a round, for a larger sid than the acceptor's.
        let from = at("10.0.0.9:40000");
        assert_eq!(d.attribute_initiator((from, to_1), &vote(2), true), Some(2));
        assert_eq!(d.attribute_initiator((from, to_1), &vote(2), false), None);
        assert_eq!(d.attribute_initiator((from, to_1), &vote(1), true), None);
    }

    use super::*;
    use fle_proto::ServerState::{Following, Leading, Looking};

    /// Feeds (time in ms, from the initiator, bytes) segments of one election connection
    /// (initiator 10.0.0.3, acceptor 10.0.0.1:3888) that starts with its SYN; returns the
    /// lines printed.
    fn run(
        format: Format,
        color: bool,
        no_config: bool,
        segments: &[(i64, bool, Vec<u8>)],
    ) -> Vec<String> {
        use zkwire_capture::{Reassembler, ReassemblyConfig};
        let initiator: SocketAddr = "10.0.0.3:40000".parse().expect("address");
        let acceptor: SocketAddr = "10.0.0.1:3888".parse().expect("address");
        let printer = Printer::new(Vec::new(), format, true, color, None);
        let opts = FleOptions {
            ports: vec![3888],
            no_config,
            limit: None,
        };
        let mut dump = FleDump::new(opts, printer);
        let mut reassembler = Reassembler::new(ReassemblyConfig::default());
        let segment = |src, dst, seq, syn, payload| TcpSegment {
            src,
            dst,
            seq,
            ack: None,
            syn,
            fin: false,
            rst: false,
            payload,
            missing: 0,
        };
        reassembler.segment(
            &segment(initiator, acceptor, 99, true, &[]),
            Timestamp(0),
            &mut dump,
        );
        let (mut to_acceptor, mut to_initiator) = (100u32, 5000u32);
        let mut last = Timestamp(0);
        for (ms, from_initiator, bytes) in segments {
            last = Timestamp(ms * 1_000_000 + 7_000);
            let n = bytes.len() as u32;
            let seg = if *from_initiator {
                to_acceptor += n;
                segment(initiator, acceptor, to_acceptor - n, false, bytes)
            } else {
                to_initiator += n;
                segment(acceptor, initiator, to_initiator - n, false, bytes)
            };
            reassembler.segment(&seg, last, &mut dump);
        }
        reassembler.finish(last, &mut dump);
        String::from_utf8_lossy(dump.printer.get_ref())
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The initiator's initial message, the acceptor's 28-byte notification (sender not known
    /// yet: `unattributed` in text, null in JSON; its absent fields left out of the text) and
    /// the initiator's notification with its configuration (inside the parenthesis in text).
    #[test]
    fn messages_render_as_text_and_json_lines() {
        use fle_proto::{Encode, InitialFormat, InitialMessage};
        let initial = InitialMessage {
            format: InitialFormat::V1,
            sid: 3,
            election_addr: "10.0.0.3:3888".into(),
        }
        .to_bytes();
        let mut old_vote = Vec::new();
        Notification {
            state: Looking,
            leader: 1,
            zxid: 0x1_0000_0002,
            election_epoch: 4,
            peer_epoch: None,
            version: None,
            config: None,
            opaque_tail: &[],
        }
        .encode_framed(&mut old_vote);
        let mut vote = Vec::new();
        Notification {
            state: Looking,
            leader: 3,
            zxid: 0x1_0000_0005,
            election_epoch: 4,
            peer_epoch: Some(1),
            version: Some(2),
            config: Some("server.1=10.0.0.1:2888:3888:participant\nserver.3=10.0.0.3:2888:3888:participant\nversion=100000000\n".into()),
            opaque_tail: &[],
        }
        .encode_framed(&mut vote);
        let segments = [(1, true, initial), (2, false, old_vote), (3, true, vote)];
        let text = run(Format::Text, false, false, &segments);
        let json = run(Format::Json, false, false, &segments);
        let colored = run(Format::Text, true, false, &segments);
        let bare = run(Format::Text, false, true, &segments);
        let bare_json = run(Format::Json, false, true, &segments);
        let initial_text = "00:00:00:001007 initial(src=10.0.0.3:40000, dst=10.0.0.1:3888, \
                            protocol_version=-65536, sid=3, election_addr=[10.0.0.3:3888])";
        let old_vote_text = "00:00:00:002007 notification(src=10.0.0.1:3888, dst=10.0.0.3:40000, \
                             sid=unattributed, state=LOOKING, leader=1, zxid=4294967298, \
                             zxid_hex=0x100000002, election_epoch=4, sentinel_vote=False)";
        let vote_text = "00:00:00:003007 notification(src=10.0.0.3:40000, dst=10.0.0.1:3888, \
                         sid=3, state=LOOKING, leader=3, zxid=4294967301, zxid_hex=0x100000005, \
                         election_epoch=4, peer_epoch=1, version=2, sentinel_vote=False";
        let config_lines = [
            "          config=server.1=10.0.0.1:2888:3888:participant",
            "          server.3=10.0.0.3:2888:3888:participant",
            "          version=100000000)",
        ];
        let mut expected = vec![
            initial_text.to_string(),
            old_vote_text.to_string(),
            format!("{vote_text},"),
        ];
        expected.extend(config_lines.map(str::to_string));
        assert_eq!(text, expected);
        // Coloured by sender; the colour's reset comes after the configuration.
        let (red, green, reset) = ("\u{1b}[31m", "\u{1b}[32m", "\u{1b}[0m");
        let mut expected = vec![
            format!("{red}{initial_text}{reset}"),
            format!("{green}{old_vote_text}{reset}"),
            format!("{red}{vote_text},"),
        ];
        expected.extend(config_lines.map(str::to_string));
        expected[5].push_str(reset);
        assert_eq!(colored, expected);
        assert_eq!(
            bare,
            [initial_text, old_vote_text, &format!("{vote_text})")]
        );

        let initial_json = r#"{"ts":0.001007,"src":"10.0.0.3:40000","dst":"10.0.0.1:3888","kind":"initial","format":"v1","protocol_version":-65536,"sid":3,"election_addr":["10.0.0.3:3888"]}"#;
        let old_vote_json = |config: &str| {
            format!(
                r#"{{"ts":0.002007,"src":"10.0.0.1:3888","dst":"10.0.0.3:40000","kind":"notification","sid":null,"format":"28","size":28,"state":"LOOKING","leader":1,"zxid":4294967298,"zxid_hex":"0x100000002","election_epoch":4,"peer_epoch":null,"version":null,{config}"sentinel_vote":false}}"#
            )
        };
        let vote_json = |config: &str| {
            format!(
                r#"{{"ts":0.003007,"src":"10.0.0.3:40000","dst":"10.0.0.1:3888","kind":"notification","sid":3,"format":"44+N","size":142,"state":"LOOKING","leader":3,"zxid":4294967301,"zxid_hex":"0x100000005","election_epoch":4,"peer_epoch":1,"version":2,{config}"sentinel_vote":false}}"#
            )
        };
        assert_eq!(
            json,
            [
                initial_json.to_string(),
                old_vote_json(r#""config":null,"#),
                vote_json(
                    r#""config":"server.1=10.0.0.1:2888:3888:participant\nserver.3=10.0.0.3:2888:3888:participant\nversion=100000000\n","#
                ),
            ]
        );
        assert_eq!(
            bare_json,
            [initial_json.to_string(), old_vote_json(""), vote_json("")]
        );
    }

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
