//! Record fields that repeat from one TOC entry to the next, held once.
//!
//! Consecutive entries of a layer nearly always have the same owner and group names, and the
//! files of one package or one build step the same modification time. Records share one
//! allocation for such a value instead of each holding a copy: on a layer of many small files
//! those copies were most of the allocations (and frees) of a build or a decode, and most of a
//! record's heap.

use std::sync::Arc;

/// The value handed out last, shared for as long as the next ones equal it.
pub(crate) struct Recent<T: ?Sized>(Option<Arc<T>>);

impl<T: ?Sized> Default for Recent<T> {
    fn default() -> Self {
        Recent(None)
    }
}

impl<T: ?Sized + PartialEq> Recent<T>
where
    for<'a> Arc<T>: From<&'a T>,
{
    /// `value`, shared with the last one handed out when they are equal.
    pub(crate) fn share(&mut self, value: &T) -> Arc<T> {
        if let Some(last) = &self.0
            && **last == *value
        {
            return Arc::clone(last);
        }
        let fresh = Arc::<T>::from(value);
        self.0 = Some(Arc::clone(&fresh));
        fresh
    }
}

/// The owner and group names of the last record, shared by the records that repeat them.
#[derive(Default)]
pub(crate) struct Owners {
    pub uname: Recent<[u8]>,
    pub gname: Recent<[u8]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_share_one_allocation() {
        let mut recent = Recent::<[u8]>::default();
        let a = recent.share(b"root");
        let b = recent.share(b"root");
        assert!(Arc::ptr_eq(&a, &b));
        let c = recent.share(b"daemon");
        assert_eq!(&*c, b"daemon");
        // Only the last value is kept: going back makes a new one, equal but not shared.
        let d = recent.share(b"root");
        assert_eq!(d, a);
        assert!(!Arc::ptr_eq(&a, &d));
    }
}
