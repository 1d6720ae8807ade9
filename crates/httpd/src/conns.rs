//! The open connections: how many there are, when each last sent a byte,
//! and whether it has started a request. At the cap the idlest one (the
//! longest since its last byte) is closed to make room, so connections
//! that send nothing cannot lock a legitimate sender out; on shutdown the
//! ones that have not started a request are closed at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

/// One open connection.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    base: Instant,
    /// Milliseconds after `base` of the last byte received (or the accept).
    last: AtomicU64,
    /// A request has started (some byte received).
    busy: AtomicBool,
    /// Closes the connection when notified.
    pub kill: Notify,
}

impl Slot {
    /// Notes that a byte arrived.
    pub fn touch(&self) {
        self.busy.store(true, Ordering::Relaxed);
        self.last
            .store(self.base.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

/// All open connections.
#[derive(Debug)]
pub struct Registry {
    base: Instant,
    next: AtomicU64,
    map: Mutex<HashMap<u64, Arc<Slot>>>,
    cap: usize,
}

impl Registry {
    pub fn new(cap: usize) -> Self {
        Registry {
            base: Instant::now(),
            next: AtomicU64::new(0),
            map: Mutex::new(HashMap::new()),
            cap: cap.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Slot>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection; at the cap, closes the idlest first.
    /// Returns the slot and whether a connection was evicted.
    pub fn add(&self) -> (Arc<Slot>, bool) {
        let slot = Arc::new(Slot {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            base: self.base,
            last: AtomicU64::new(self.base.elapsed().as_millis() as u64),
            busy: AtomicBool::new(false),
            kill: Notify::new(),
        });
        let mut map = self.lock();
        let mut evicted = false;
        while map.len() >= self.cap {
            let Some(id) = idlest(&map) else { break };
            if let Some(victim) = map.remove(&id) {
                victim.kill.notify_one();
                evicted = true;
            }
        }
        map.insert(slot.id, slot.clone());
        (slot, evicted)
    }

    /// Closes the idlest connection (the process is out of descriptors).
    pub fn evict_one(&self) -> bool {
        let mut map = self.lock();
        match idlest(&map).and_then(|id| map.remove(&id)) {
            Some(victim) => {
                victim.kill.notify_one();
                true
            }
            None => false,
        }
    }

    /// Forgets a connection that has ended.
    pub fn remove(&self, slot: &Slot) {
        self.lock().remove(&slot.id);
    }

    /// Open connections.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every connection that has not started a request; returns how many.
    pub fn close_idle(&self) -> usize {
        let mut map = self.lock();
        let idle: Vec<u64> = map
            .values()
            .filter(|s| !s.busy.load(Ordering::Relaxed))
            .map(|s| s.id)
            .collect();
        for id in &idle {
            if let Some(s) = map.remove(id) {
                s.kill.notify_one();
            }
        }
        idle.len()
    }

    /// Closes every connection.
    pub fn close_all(&self) {
        for (_, s) in self.lock().drain() {
            s.kill.notify_one();
        }
    }
}

fn idlest(map: &HashMap<u64, Arc<Slot>>) -> Option<u64> {
    map.values()
        .min_by_key(|s| (s.last.load(Ordering::Relaxed), s.id))
        .map(|s| s.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_evicts_the_idlest_and_shutdown_closes_idle_only() {
        let r = Registry::new(3);
        let (a, _) = r.add();
        let (b, _) = r.add();
        let (c, _) = r.add();
        std::thread::sleep(std::time::Duration::from_millis(5));
        a.touch();
        c.touch();
        // b is the idlest: it goes when a fourth arrives.
        let (d, evicted) = r.add();
        assert!(evicted);
        assert_eq!(r.len(), 3);
        assert!(r.lock().contains_key(&a.id) && !r.lock().contains_key(&b.id));
        // d has sent nothing: it is closed at shutdown, a and c are not.
        assert_eq!(r.close_idle(), 1);
        assert!(!r.lock().contains_key(&d.id));
        r.remove(&a);
        assert_eq!(r.len(), 1);
        r.close_all();
        assert!(r.is_empty());
    }
}
