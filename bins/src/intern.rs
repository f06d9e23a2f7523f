//! Values numbered once each. Tables counted per message key on the number, which hashes and
//! compares in a few instructions and allocates nothing, and name it only when they are shown.
//! zk-top interns paths and addresses for its per-period tables; zk-stats-daemon interns the
//! parts of zktraffic's keys for its windows.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// Tables updated once per message: a fast hasher.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Values by number: the first numbers are the reserved values given to [`Interner::new`],
/// then each new value takes the next.
#[derive(Debug, Clone)]
pub(crate) struct Interner<K> {
    ids: FastMap<K, u32>,
    values: Vec<K>,
}

impl<K> Default for Interner<K> {
    fn default() -> Interner<K> {
        Interner {
            ids: FastMap::default(),
            values: Vec::new(),
        }
    }
}

impl<K: Hash + Eq> Interner<K> {
    /// An interner whose first ids are `reserved` (never looked up by value).
    pub(crate) fn new(reserved: Vec<K>) -> Interner<K> {
        Interner {
            ids: FastMap::default(),
            values: reserved,
        }
    }

    /// The id of `key`; a new key is numbered only if `may_add` (`owned` makes the value to
    /// keep), else `None`.
    pub(crate) fn id<Q>(&mut self, key: &Q, may_add: bool, owned: impl Fn(&Q) -> K) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(id) = self.ids.get(key) {
            return Some(*id);
        }
        if !may_add {
            return None;
        }
        let id = u32::try_from(self.values.len()).ok()?;
        self.values.push(owned(key));
        self.ids.insert(owned(key), id);
        Some(id)
    }

    /// The value of an id, if one was given.
    pub(crate) fn get(&self, id: u32) -> Option<&K> {
        self.values.get(id as usize)
    }

    /// Values numbered, the reserved ones included.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_given_once_in_order_after_the_reserved_ones() {
        let mut names: Interner<Box<str>> = Interner::new(vec!["(none)".into()]);
        let own = |s: &str| Box::<str>::from(s);
        assert_eq!(names.id("/a", true, own), Some(1));
        assert_eq!(names.id("/b", true, own), Some(2));
        assert_eq!(
            names.id("/a", false, own),
            Some(1),
            "known: found even if full"
        );
        assert_eq!(names.id("/c", false, own), None, "new and not allowed");
        assert_eq!(names.len(), 3);
        assert_eq!(names.get(2).map(|s| &**s), Some("/b"));
        assert_eq!(names.get(0).map(|s| &**s), Some("(none)"));
        assert_eq!(names.get(3), None);
    }
}
