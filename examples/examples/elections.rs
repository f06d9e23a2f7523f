//! Each election's winner and electors, from a capture of the election port. The winner is the
//! leader that LEADING/FOLLOWING notifications of that election epoch confirm ("unknown"
//! without one); its electors are the servers whose last LOOKING vote was for it. A vote is
//! attributed only where the capture shows who sent it (a connection's initiator states its
//! sid); the others are counted as unattributed.
use fle_proto::{ElectionConnection, ElectionEvent, ElectionMessage, ServerState};
use std::collections::BTreeMap;
use zkwire_capture::{
    run_file, ClientIs, CloseReason, ConnInfo, Direction, StreamHandler, TcpSegment, Timestamp,
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

impl StreamHandler for Elections {
    type Conn = ElectionConnection;

    fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<(Self::Conn, ClientIs)> {
        let client_is = ClientIs::for_server_ports(first, &[3888, 3889, 3890])?;
        Some((ElectionConnection::new(first.syn), client_is))
    }

    fn data(
        &mut self,
        conn: &mut Self::Conn,
        _: &ConnInfo,
        dir: Direction,
        _: Timestamp,
        bytes: &[u8],
    ) {
        conn.push(dir, bytes, &mut |event| {
            let ElectionEvent::Message {
                message: ElectionMessage::Notification(n),
                sender,
                ..
            } = event
            else {
                return;
            };
            let e = self.0.entry(n.election_epoch).or_default();
            match (n.state, sender) {
                _ if n.is_sentinel_vote() => {}
                (ServerState::Leading | ServerState::Following, _) => e.confirmed = Some(n.leader),
                (ServerState::Looking, Some(sid)) => {
                    e.votes.insert(sid, n.leader);
                }
                (ServerState::Looking, None) => e.unattributed += 1,
                _ => {}
            }
        });
    }

    fn gap(&mut self, conn: &mut Self::Conn, _: &ConnInfo, dir: Direction, _: Timestamp, _: u64) {
        conn.gap(dir);
    }

    fn close(&mut self, mut conn: Self::Conn, _: &ConnInfo, _: Timestamp, _: CloseReason) {
        conn.finish();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or("tests/data/zk38-mtu1500.pcap".into());
    let mut elections = Elections::default();
    run_file(&path, &mut elections)?;
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
