//! Which way a quorum-port packet travels.

/// Which way a quorum-port packet travels: the leader (or a follower acting as observer
/// master) owns the listening port, so a sniffer knows the direction of every segment from
/// the TCP ports alone.
///
/// It converts from the TCP [`zkwire_jute::Direction`] (the one type `zkwire-capture`
/// re-exports): `dir.into()`, `ToServer` being learner → leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum QuorumDirection {
    /// Leader (or observer master) → follower/observer.
    LeaderToLearner,
    /// Follower/observer → leader (or observer master).
    LearnerToLeader,
}

impl QuorumDirection {
    /// `leader->learner` or `learner->leader`.
    pub const fn as_str(self) -> &'static str {
        match self {
            QuorumDirection::LeaderToLearner => "leader->learner",
            QuorumDirection::LearnerToLeader => "learner->leader",
        }
    }
}

impl From<zkwire_jute::Direction> for QuorumDirection {
    /// The TCP direction of a quorum connection: the leader (or observer master) owns the
    /// listening port, so the connection's client is always the learner.
    fn from(dir: zkwire_jute::Direction) -> QuorumDirection {
        match dir {
            zkwire_jute::Direction::ToServer => QuorumDirection::LearnerToLeader,
            zkwire_jute::Direction::ToClient => QuorumDirection::LeaderToLearner,
        }
    }
}

impl std::fmt::Display for QuorumDirection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
