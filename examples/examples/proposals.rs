//! Every PROPOSAL with its zxid, transaction type and path, from a capture of the quorum port.
use zab_proto::{Packet, QuorumConnection, QuorumEvent};
use zkwire_capture::{
    run_file, ClientIs, CloseReason, ConnInfo, Direction, StreamHandler, TcpSegment, Timestamp,
};

/// Quorum ports of the shipped capture's three servers.
const QUORUM_PORTS: [u16; 3] = [2888, 2889, 2890];

struct Proposals;

impl StreamHandler for Proposals {
    type Conn = QuorumConnection;

    fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<(Self::Conn, ClientIs)> {
        // The leader owns the quorum port: the connection's client is the learner.
        let client_is = ClientIs::for_server_ports(first, &QUORUM_PORTS)?;
        Some((QuorumConnection::new(first.syn), client_is))
    }

    fn data(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Direction,
        _: Timestamp,
        bytes: &[u8],
    ) {
        conn.push(dir.into(), bytes, &mut |event| {
            if let QuorumEvent::Packet {
                packet: Packet::Proposal { zxid, txn },
                learner,
                ..
            } = event
            {
                let path = txn.record.path().map(|p| p.to_string()).unwrap_or_default();
                let to = learner
                    .sid
                    .map_or(info.client.to_string(), |sid| format!("sid {sid}"));
                println!("{zxid:#x} ({zxid}) {} {path} -> {to}", txn.record.name());
            }
        });
    }

    fn gap(&mut self, conn: &mut Self::Conn, _: &ConnInfo, dir: Direction, _: Timestamp, _: u64) {
        conn.gap(dir.into());
    }

    fn close(&mut self, mut conn: Self::Conn, _: &ConnInfo, _: Timestamp, _: CloseReason) {
        conn.finish();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or("tests/data/zk38-mtu1500.pcap".into());
    run_file(&path, &mut Proposals)?;
    Ok(())
}
