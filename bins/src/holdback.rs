//! Paired text output in request-time order, across connections.
//!
//! zk-dump prints a request together with its reply, so a request's line waits for the reply.
//! Lines of other connections (watch events, other pairs) that come meanwhile must wait too,
//! or the output runs backwards in time: an event at 12.952 printed above the request at
//! 12.941 whose reply came later. Every line is therefore queued under the capture time of
//! the line that starts its block (the request for a pair, its own time otherwise) and printed
//! once nothing earlier is still waiting. A request that waits longer than a bound of capture
//! time (or while too many lines are held) is printed alone, so output never stalls on a
//! request that gets no reply; its reply is then printed alone when it comes.

use std::collections::{BTreeMap, VecDeque};
use zkwire_capture::Timestamp;

/// Where a held request's block sits in the queue.
pub type Slot = (i64, u64);

/// How long a request may hold back the output, in nanoseconds of capture time.
pub const HOLD_NS: i64 = 1_000_000_000;
/// How many blocks may be held at most.
pub const MAX_HELD: usize = 100_000;

/// A queued block: its lines' bytes back to back, `first` of them the first line's.
#[derive(Debug)]
struct Block {
    text: Vec<u8>,
    first: usize,
    waiting: bool,
}

/// How many emptied line buffers are kept for the next lines.
const SPARE_BUFFERS: usize = 256;

/// The queue of blocks not yet printed, in slot order. Lines are copied into buffers it
/// recycles, so holding a line allocates nothing once enough buffers exist.
///
/// Nearly every block comes after all the others (a capture is in time order), so blocks are
/// queued at the back of a deque, and printed from its front, each in constant time; a block
/// earlier than the newest queued (a capture whose clock stepped back) is kept apart in a
/// sorted map, so no input makes a block cost more than a logarithm of the queue's length.
#[derive(Debug, Default)]
pub struct Holdback {
    queue: VecDeque<(Slot, Block)>,
    late: BTreeMap<Slot, Block>,
    next: u64,
    spare: Vec<Vec<u8>>,
}

impl Holdback {
    fn insert(&mut self, ts: Timestamp, line: &[u8], waiting: bool) -> Slot {
        let slot = (ts.0, self.next);
        self.next += 1;
        let mut text = self.spare.pop().unwrap_or_default();
        text.extend_from_slice(line);
        let block = Block {
            text,
            first: line.len(),
            waiting,
        };
        if self.queue.back().is_none_or(|(newest, _)| *newest < slot) {
            self.queue.push_back((slot, block));
        } else {
            self.late.insert(slot, block);
        }
        slot
    }

    /// The block queued under `slot`, if it is still held.
    fn block_mut(&mut self, slot: Slot) -> Option<&mut Block> {
        match self.queue.binary_search_by(|(s, _)| s.cmp(&slot)) {
            Ok(i) => self.queue.get_mut(i).map(|(_, block)| block),
            Err(_) => self.late.get_mut(&slot),
        }
    }

    /// Whether the first block in slot order is a late one (also when none is held).
    fn late_first(&self) -> bool {
        match (self.queue.front(), self.late.first_key_value()) {
            (Some((queued, _)), Some((late, _))) => late < queued,
            (queued, _) => queued.is_none(),
        }
    }

    /// The first block in slot order, and its slot.
    fn first(&self) -> Option<(Slot, &Block)> {
        if self.late_first() {
            self.late
                .first_key_value()
                .map(|(slot, block)| (*slot, block))
        } else {
            self.queue.front().map(|(slot, block)| (*slot, block))
        }
    }

    /// Takes the first block in slot order out of the queue.
    fn pop_first(&mut self) -> Option<Block> {
        if self.late_first() {
            self.late.pop_first().map(|(_, block)| block)
        } else {
            self.queue.pop_front().map(|(_, block)| block)
        }
    }

    /// Queues a request's line until its reply completes the block.
    pub fn hold(&mut self, ts: Timestamp, line: &[u8]) -> Slot {
        self.insert(ts, line, true)
    }

    /// Queues a line that needs nothing more, at its own time.
    pub fn ready(&mut self, ts: Timestamp, line: &[u8]) {
        self.insert(ts, line, false);
    }

    /// Completes a held request's block with its reply's line; `false` when the request was
    /// already printed alone, so the line is the caller's to queue.
    pub fn complete(&mut self, slot: Slot, line: &[u8]) -> bool {
        match self.block_mut(slot) {
            Some(block) if block.waiting => {
                block.text.extend_from_slice(line);
                block.waiting = false;
                true
            }
            _ => false,
        }
    }

    /// Ends a held request that will get no reply: its line is marked so.
    pub fn unanswered(&mut self, slot: Slot) {
        if let Some(block) = self.block_mut(slot) {
            if block.waiting {
                block.text.extend_from_slice(b" (no reply)");
                block.first = block.text.len();
                block.waiting = false;
            }
        }
    }

    /// Hands `out` each line of a block, then keeps its buffer for a later line.
    fn emit(&mut self, mut block: Block, out: &mut dyn FnMut(&[u8])) {
        let (first, rest) = block.text.split_at(block.first);
        out(first);
        if !rest.is_empty() {
            out(rest);
        }
        if self.spare.len() < SPARE_BUFFERS {
            block.text.clear();
            self.spare.push(block.text);
        }
    }

    /// Hands `out` every line that can be printed at capture time `now`, in order.
    pub fn drain(&mut self, now: Timestamp, out: &mut dyn FnMut(&[u8])) {
        loop {
            let crowded = self.queue.len() + self.late.len() > MAX_HELD;
            let Some((slot, block)) = self.first() else {
                break;
            };
            let overdue = now.0.saturating_sub(slot.0) >= HOLD_NS;
            if block.waiting && !overdue && !crowded {
                break;
            }
            // A request still waiting past the bound is printed alone.
            if let Some(block) = self.pop_first() {
                self.emit(block, out);
            }
        }
    }

    /// Hands `out` every line left, in order (the end of the input).
    pub fn drain_all(&mut self, out: &mut dyn FnMut(&[u8])) {
        while let Some(block) = self.pop_first() {
            self.emit(block, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drained(h: &mut Holdback, now: i64) -> Vec<String> {
        let mut out = Vec::new();
        h.drain(Timestamp(now), &mut |l| {
            out.push(String::from_utf8(l.to_vec()).expect("utf-8"))
        });
        out
    }

    #[test]
    fn a_waiting_request_holds_later_lines_of_any_connection() {
        let mut h = Holdback::default();
        let req = h.hold(Timestamp(10), b"req A");
        h.ready(Timestamp(20), b"event B");
        assert!(drained(&mut h, 20).is_empty());
        assert!(h.complete(req, b"reply A"));
        assert_eq!(drained(&mut h, 30), ["req A", "reply A", "event B"]);
    }

    #[test]
    fn a_request_past_the_bound_is_printed_alone() {
        let mut h = Holdback::default();
        let req = h.hold(Timestamp(0), b"req");
        h.ready(Timestamp(5), b"later");
        assert!(drained(&mut h, HOLD_NS - 1).is_empty());
        assert_eq!(drained(&mut h, HOLD_NS), ["req", "later"]);
        assert!(!h.complete(req, b"reply"));
    }

    /// A capture whose clock steps back: lines still come out in time order, and a held
    /// request among them is completed wherever it sits.
    #[test]
    fn lines_earlier_than_the_newest_are_printed_in_time_order() {
        let mut h = Holdback::default();
        let req = h.hold(Timestamp(50), b"req 50");
        h.ready(Timestamp(60), b"line 60");
        h.ready(Timestamp(20), b"line 20");
        let late_req = h.hold(Timestamp(30), b"req 30");
        h.ready(Timestamp(55), b"line 55");
        h.ready(Timestamp(10), b"line 10");
        assert_eq!(drained(&mut h, 100), ["line 10", "line 20"]);
        assert!(h.complete(late_req, b"reply 30"));
        assert_eq!(drained(&mut h, 100), ["req 30", "reply 30"]);
        assert!(h.complete(req, b"reply 50"));
        assert_eq!(
            drained(&mut h, 100),
            ["req 50", "reply 50", "line 55", "line 60"]
        );
    }

    /// The reference: every block in one sorted map, as the queue was kept before the deque.
    #[derive(Default)]
    struct Model {
        queue: BTreeMap<Slot, (String, bool)>,
        next: u64,
    }

    impl Model {
        fn insert(&mut self, ts: i64, line: &str, waiting: bool) -> Slot {
            let slot = (ts, self.next);
            self.next += 1;
            self.queue.insert(slot, (line.to_string(), waiting));
            slot
        }
        fn complete(&mut self, slot: Slot, line: &str) -> bool {
            match self.queue.get_mut(&slot) {
                Some((text, waiting)) if *waiting => {
                    text.push_str(line);
                    *waiting = false;
                    true
                }
                _ => false,
            }
        }
        fn drain(&mut self, now: i64, out: &mut Vec<String>) {
            while let Some(entry) = self.queue.first_entry() {
                let overdue = now.saturating_sub(entry.key().0) >= HOLD_NS;
                if entry.get().1 && !overdue {
                    break;
                }
                out.push(entry.remove().0);
            }
        }
    }

    proptest::proptest! {
        /// Whatever the order of the times, lines come out as from one sorted map.
        #[test]
        fn lines_come_out_as_from_one_sorted_map(
            ops in proptest::collection::vec((0..4u8, 0..3 * HOLD_NS, 0..64usize), 0..200)
        ) {
            let (mut h, mut model) = (Holdback::default(), Model::default());
            let (mut slots, mut got, mut want) = (Vec::new(), Vec::new(), Vec::new());
            for (i, (op, ts, pick)) in ops.into_iter().enumerate() {
                let line = format!("<{i}>");
                match op {
                    0 => {
                        let slot = h.hold(Timestamp(ts), line.as_bytes());
                        proptest::prop_assert_eq!(slot, model.insert(ts, &line, true));
                        slots.push(slot);
                    }
                    1 => {
                        h.ready(Timestamp(ts), line.as_bytes());
                        model.insert(ts, &line, false);
                    }
                    2 if !slots.is_empty() => {
                        let slot = slots[pick % slots.len()];
                        proptest::prop_assert_eq!(
                            h.complete(slot, line.as_bytes()),
                            model.complete(slot, &line)
                        );
                    }
                    _ => {
                        h.drain(Timestamp(ts), &mut |l| {
                            got.push(String::from_utf8(l.to_vec()).expect("utf-8"))
                        });
                        model.drain(ts, &mut want);
                        // The holdback hands a block's lines one by one.
                        proptest::prop_assert_eq!(got.concat(), want.concat());
                    }
                }
            }
        }
    }

    #[test]
    fn unanswered_requests_say_so() {
        let mut h = Holdback::default();
        let req = h.hold(Timestamp(0), b"req");
        h.unanswered(req);
        let mut out = Vec::new();
        h.drain_all(&mut |l| out.push(String::from_utf8(l.to_vec()).expect("utf-8")));
        assert_eq!(out, ["req (no reply)"]);
    }
}
