//! [`ZxidQueue`]: values keyed by zxid in zxid order, bounded, where the `--summary`
//! measurements keep proposals in flight and what each learner was sent.

use std::collections::VecDeque;

/// Values keyed by zxid, kept in increasing zxid order: the order in which a leader proposes,
/// a follower acks and the leader commits. So the lookups done for every quorum packet hit
/// one end of the queue (no hashing), and what is older than an ack or a commit can be
/// dropped: ZAB acks and commits in zxid order, so those entries' ends were not captured.
#[derive(Debug)]
pub(super) struct ZxidQueue<V> {
    items: VecDeque<(i64, V)>,
}

impl<V> Default for ZxidQueue<V> {
    fn default() -> Self {
        ZxidQueue {
            items: VecDeque::new(),
        }
    }
}

impl<V> ZxidQueue<V> {
    fn position(&self, zxid: i64) -> Result<usize, usize> {
        match self.items.back() {
            Some((last, _)) if *last == zxid => Ok(self.items.len() - 1),
            Some((last, _)) if *last < zxid => Err(self.items.len()),
            None => Err(0),
            Some(_) => self.items.binary_search_by_key(&zxid, |(z, _)| *z),
        }
    }

    /// The entry for `zxid`, made with `make` if there is none; the oldest entries are
    /// forgotten beyond [`MAX_IN_FLIGHT`]. Room is made before the new entry goes in, so a new
    /// entry older than all the others is the one returned, not its neighbour.
    pub(super) fn entry(&mut self, zxid: i64, make: impl FnOnce() -> V) -> &mut V {
        let at = match self.position(zxid) {
            Ok(at) => at,
            Err(mut at) => {
                if self.items.len() >= MAX_IN_FLIGHT {
                    self.items.pop_front();
                    at = at.saturating_sub(1);
                }
                if at == self.items.len() {
                    // The usual case, a new newest zxid: no shifting.
                    self.items.push_back((zxid, make()));
                } else {
                    self.items.insert(at, (zxid, make()));
                }
                at
            }
        };
        &mut self.items[at].1
    }

    pub(super) fn get_mut(&mut self, zxid: i64) -> Option<&mut V> {
        let at = self.position(zxid).ok()?;
        self.items.get_mut(at).map(|(_, v)| v)
    }

    /// Removes and returns the entry for `zxid`, dropping every older one.
    pub(super) fn take_through(&mut self, zxid: i64) -> Option<V> {
        while self.items.front().is_some_and(|(z, _)| *z < zxid) {
            self.items.pop_front();
        }
        match self.items.front() {
            Some((z, _)) if *z == zxid => self.items.pop_front().map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Bounded: a proposal that never gets its commit is forgotten after this many newer ones.
const MAX_IN_FLIGHT: usize = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zxid_queue_finds_entries_in_and_out_of_order_and_drops_what_an_ack_passed() {
        let mut q: ZxidQueue<&str> = ZxidQueue::default();
        for (z, v) in [(10, "a"), (11, "b"), (13, "d")] {
            *q.entry(z, || v) = v;
        }
        // A zxid below the newest (a late or resent proposal) goes in its place.
        *q.entry(12, || "c") = "c";
        assert_eq!(q.entry(11, || "new"), &mut "b", "an existing entry is kept");
        assert_eq!(q.get_mut(12), Some(&mut "c"));
        assert_eq!(q.get_mut(14), None);
        // An ack or commit for 12 takes it and forgets 10 and 11, whose ends were missed.
        assert_eq!(q.take_through(12), Some("c"));
        assert_eq!(q.get_mut(10), None);
        assert_eq!(q.get_mut(11), None);
        assert_eq!(q.take_through(12), None);
        assert_eq!(q.take_through(13), Some("d"));
        assert!(q.items.is_empty());
    }

    #[test]
    fn zxid_queue_is_bounded() {
        let mut q: ZxidQueue<()> = ZxidQueue::default();
        for z in 0..(MAX_IN_FLIGHT as i64 + 10) {
            q.entry(z, || ());
        }
        assert_eq!(q.items.len(), MAX_IN_FLIGHT);
        assert_eq!(
            q.items.front().map(|(z, _)| *z),
            Some(10),
            "the oldest went first"
        );
    }

    /// A full queue given an entry older than all it holds returns that new entry (it used to
    /// drop it at once and hand back its neighbour, whose times the caller then overwrote).
    #[test]
    fn a_new_oldest_entry_in_a_full_queue_is_the_one_returned() {
        let mut q: ZxidQueue<i64> = ZxidQueue::default();
        for z in 100..(100 + MAX_IN_FLIGHT as i64) {
            q.entry(z, || z);
        }
        assert_eq!(*q.entry(5, || -5), -5, "the new entry, made by make()");
        assert_eq!(q.items.len(), MAX_IN_FLIGHT);
        assert_eq!(q.get_mut(100), None, "the oldest made room");
        assert_eq!(q.get_mut(101), Some(&mut 101), "its neighbour untouched");
        assert_eq!(q.get_mut(5), Some(&mut -5));
    }
}
