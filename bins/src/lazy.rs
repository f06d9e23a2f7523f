//! Connection state made on a connection's first bytes, not on its SYN.
//!
//! A SYN flood (spoofed sources, a few seconds of traffic) opens hundreds of thousands of
//! connections that never carry a byte. Each tool's decoder state — framers, pairing queues —
//! is a few hundred bytes; kept inline in every flow-table slot it made a flooded table several
//! times larger. Behind this box, a SYN-only connection costs one pointer.

/// Decoder state made when the connection first carries data (or loses some).
#[derive(Debug)]
pub struct OnFirstData<T> {
    made: Option<Box<T>>,
    start_seen: bool,
}

impl<T> OnFirstData<T> {
    /// Nothing made yet; `start_seen` says whether the connection's SYN was seen.
    pub fn new(start_seen: bool) -> Self {
        OnFirstData {
            made: None,
            start_seen,
        }
    }

    /// The state, made with `make(start_seen)` the first time.
    pub fn get_or_make(&mut self, make: impl FnOnce(bool) -> T) -> &mut T {
        let start_seen = self.start_seen;
        self.made.get_or_insert_with(|| Box::new(make(start_seen)))
    }

    /// The state, if the connection ever carried data.
    pub fn made(&mut self) -> Option<&mut T> {
        self.made.as_deref_mut()
    }

    /// The state, if made, to read.
    pub fn get(&self) -> Option<&T> {
        self.made.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_on_first_use_with_the_start_flag() {
        let mut lazy = OnFirstData::<(bool, u32)>::new(true);
        assert!(lazy.made().is_none());
        lazy.get_or_make(|seen| (seen, 1)).1 += 1;
        assert_eq!(lazy.get_or_make(|_| (false, 100)), &mut (true, 2));
        assert!(std::mem::size_of::<OnFirstData<[u8; 400]>>() <= 16);
    }
}
