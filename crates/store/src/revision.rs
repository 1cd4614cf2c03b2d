//! The configuration revision and the change feed between nodes.
//!
//! Every committed transaction that changes what the data plane serves advances a one-row
//! counter (`revision.n`) by exactly one; writes are serialised, so committed revisions are
//! consecutive with no gaps. The management API runs each request inside [`track`], which
//! collects the revisions the request committed; the change event it publishes names them.
//! A node that applied events covering every revision up to the database's current one is in
//! sync; a hole (a lost notification) shows up as a revision no event covered, and the node
//! then reloads everything. [`Coverage`] keeps that account.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;

tokio::task_local! {
    static COMMITTED: RefCell<Vec<i64>>;
}

/// Runs `work` and returns its output with the revisions its transactions committed.
pub async fn track<F: Future>(work: F) -> (F::Output, Vec<i64>) {
    COMMITTED
        .scope(RefCell::new(Vec::new()), async move {
            let output = work.await;
            let revisions = COMMITTED.with(|c| c.take());
            (output, revisions)
        })
        .await
}

/// Notes a committed revision for the enclosing [`track`], if any.
pub(crate) fn record(n: i64) {
    let _ = COMMITTED.try_with(|c| c.borrow_mut().push(n));
}

/// Which revisions a node's in-memory state reflects: everything up to `base`, plus the
/// revisions named by events that arrived out of order.
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    base: i64,
    above: BTreeSet<i64>,
}

impl Coverage {
    /// State loaded in full from a database whose revision was `n` before the load began.
    pub fn reloaded(n: i64) -> Self {
        Self {
            base: n,
            above: BTreeSet::new(),
        }
    }

    /// Revisions applied through a change event.
    pub fn cover(&mut self, revisions: &[i64]) {
        for &n in revisions {
            if n > self.base {
                self.above.insert(n);
            }
        }
        while self.above.remove(&(self.base + 1)) {
            self.base += 1;
        }
    }

    /// Whether every revision up to `n` has been applied.
    pub fn covers(&self, n: i64) -> bool {
        n <= self.base
    }

    /// The highest revision up to which nothing is missing.
    pub fn base(&self) -> i64 {
        self.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_out_of_order_close_the_gap() {
        let mut c = Coverage::reloaded(3);
        c.cover(&[5]);
        assert!(!c.covers(5));
        assert_eq!(c.base(), 3);
        c.cover(&[4]);
        assert!(c.covers(5));
        c.cover(&[2, 6]);
        assert_eq!(c.base(), 6);
    }

    #[test]
    fn a_lost_event_leaves_a_hole() {
        let mut c = Coverage::reloaded(0);
        c.cover(&[1, 3, 4]);
        assert!(c.covers(1));
        assert!(!c.covers(4));
    }

    #[tokio::test]
    async fn track_collects_what_the_task_committed() {
        let ((), revs) = track(async {
            record(7);
            record(8);
        })
        .await;
        assert_eq!(revs, vec![7, 8]);
        record(9); // outside any tracked request: ignored
    }
}
