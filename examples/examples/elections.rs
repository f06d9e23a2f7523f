//! Each election's winner and electors, from a capture of the election port. The winner is the
//! leader that LEADING/FOLLOWING notifications of that election epoch confirm ("unknown"
//! without one); its electors are the servers whose last LOOKING vote was for it. A vote is
//! attributed only where the capture shows who sent it (a connection's initiator states its
//! sid); the others are counted as unattributed.
use fle_proto::{ElectionMessage, ElectionStream, Sender, ServerState, Step};
use std::collections::BTreeMap;
use zkwire_capture::{
    run, ClientIs, CloseReason, ConnInfo, Direction, FileSource, PipelineOptions, Reassembler,
    ReassemblyConfig, StreamHandler, TcpSegment, Timestamp,
};

/// One election epoch: attributed senders' last LOOKING votes, unattributed votes, and the
/// leader confirmed by LEADING/FOLLOWING notifications.
#[derive(Default)]
struct Election {
    votes: BTreeMap<i64, i64>,
    unattributed: u32,
    confirmed: Option<i64>,
}

#[derive(Default)]
struct Elections(BTreeMap<i64, Election>);

/// Both directions of a connection: the decoder and the bytes it has not consumed yet.
type Conn = [(ElectionStream, Vec<u8>); 2];

impl StreamHandler for Elections {
    type Conn = Conn;

    fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<(Conn, ClientIs)> {
        let (ports, port) = (3888..=3890, first.dst.port());
        let client_is = if ports.contains(&port) {
            ClientIs::Source
        } else if ports.contains(&first.src.port()) {
            ClientIs::Destination
        } else {
            return None;
        };
        let new = |s| {
            if first.syn {
                ElectionStream::new(s)
            } else {
                ElectionStream::mid_stream()
            }
        };
        Some((
            [
                (new(Sender::Initiator), Vec::new()),
                (new(Sender::Acceptor), Vec::new()),
            ],
            client_is,
        ))
    }

    fn data(&mut self, conn: &mut Conn, _: &ConnInfo, dir: Direction, _: Timestamp, bytes: &[u8]) {
        let (stream, buf) = &mut conn[usize::from(dir == Direction::ToClient)];
        buf.extend_from_slice(bytes);
        loop {
            let used = match stream.next(buf) {
                Step::Message {
                    len,
                    message: ElectionMessage::Notification(n),
                } => {
                    let e = self.0.entry(n.election_epoch).or_default();
                    match n.state {
                        ServerState::Leading | ServerState::Following => {
                            e.confirmed = Some(n.leader)
                        }
                        ServerState::Looking if !n.is_sentinel_vote() => {
                            match (dir, stream.initiator_sid()) {
                                (Direction::ToServer, Some(sid)) => {
                                    e.votes.insert(sid, n.leader);
                                }
                                _ => e.unattributed += 1,
                            }
                        }
                        _ => {}
                    }
                    len
                }
                Step::Message { len, .. } | Step::BadFrame { len, .. } | Step::Skipped { len } => {
                    len
                }
                _ => break,
            };
            buf.drain(..used);
        }
    }

    fn gap(&mut self, conn: &mut Conn, _: &ConnInfo, dir: Direction, _: Timestamp, _: u64) {
        let (stream, buf) = &mut conn[usize::from(dir == Direction::ToClient)];
        buf.clear();
        stream.resync();
    }

    fn close(&mut self, _: Conn, _: &ConnInfo, _: Timestamp, _: CloseReason) {}
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or("tests/data/zk38-mtu1500.pcap".into());
    let mut source = FileSource::open(std::path::Path::new(&path))?;
    let mut elections = Elections::default();
    let mut reassembler = Reassembler::new(ReassemblyConfig::default());
    run(
        &mut source,
        &mut reassembler,
        &mut elections,
        PipelineOptions::default(),
    );
    for (epoch, e) in elections.0 {
        let winner = e.confirmed.map_or("unknown".into(), |l| l.to_string());
        let electors: Vec<_> = e
            .votes
            .iter()
            .filter(|(_, v)| Some(**v) == e.confirmed)
            .map(|(s, _)| s)
            .collect();
        println!("election epoch {epoch}: winner {winner}, electors {electors:?} ({} unattributed votes)", e.unattributed);
    }
    Ok(())
}
