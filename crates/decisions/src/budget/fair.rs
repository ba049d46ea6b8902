//! The concurrent-call slots of an instance, handed out by a weighted fair queue across
//! urgencies: when a slot frees, the next waiter is picked by weighted round robin over the
//! non-empty classes (urgent and high 8, normal 3, low 1), so urgent work goes first, and low
//! work still gets one slot in every twelve while others wait. Hand-written: tokio's semaphore
//! is FIFO, and no maintained crate schedules async waiters by weight.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use waooaw_domain::Urgency;

const CLASSES: usize = 3;
const WEIGHTS: [u32; CLASSES] = [8, 3, 1];

fn class(u: Urgency) -> usize {
    match u {
        Urgency::Urgent | Urgency::High => 0,
        Urgency::Normal => 1,
        Urgency::Low => 2,
    }
}

struct State {
    free: usize,
    queues: [VecDeque<oneshot::Sender<Slot>>; CLASSES],
    /// Round-robin position: the class being served and what it has left of its weight.
    turn: usize,
    credit: u32,
}

/// Slots of one instance.
#[derive(Clone)]
pub struct FairSlots {
    size: usize,
    state: Arc<Mutex<State>>,
}

/// A held slot; dropping it hands it to the next waiter.
pub struct Slot {
    state: Option<Arc<Mutex<State>>>,
}

impl FairSlots {
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        let state = State { free: size, queues: Default::default(), turn: 0, credit: WEIGHTS[0] };
        Self { size, state: Arc::new(Mutex::new(state)) }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// A slot now, if one is free and nobody waits for one.
    pub fn try_acquire(&self) -> Option<Slot> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.free > 0 && s.queues.iter().all(VecDeque::is_empty) {
            s.free -= 1;
            return Some(Slot { state: Some(self.state.clone()) });
        }
        None
    }

    /// A slot now if one is free, else when the queue reaches this waiter.
    pub async fn acquire(&self, urgency: Urgency) -> Slot {
        let rx = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if s.free > 0 && s.queues.iter().all(VecDeque::is_empty) {
                s.free -= 1;
                return Slot { state: Some(self.state.clone()) };
            }
            let (tx, rx) = oneshot::channel();
            s.queues[class(urgency)].push_back(tx);
            rx
        };
        match rx.await {
            Ok(slot) => slot,
            // The slots were dropped while waiting: nothing to wait for any more.
            Err(_) => Slot { state: None },
        }
    }
}

impl State {
    /// The next waiter by weighted round robin, skipping empty classes and gone waiters.
    fn next(&mut self) -> Option<oneshot::Sender<Slot>> {
        for _ in 0..CLASSES * 2 {
            if self.credit == 0 || self.queues[self.turn].is_empty() {
                self.turn = (self.turn + 1) % CLASSES;
                self.credit = WEIGHTS[self.turn];
                continue;
            }
            self.credit -= 1;
            return self.queues[self.turn].pop_front();
        }
        None
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(state) = self.state.take() else { return };
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(tx) = s.next() {
            // A waiter that gave up (its future dropped) returns the slot: try the next.
            match tx.send(Slot { state: Some(state.clone()) }) {
                Ok(()) => return,
                Err(mut back) => back.state = None,
            }
        }
        s.free += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// One slot, 30 low waiters queued before 20 urgent ones: the order slots are handed out in.
    #[tokio::test]
    async fn urgent_goes_first_and_low_is_never_starved() {
        let slots = FairSlots::new(1);
        let held = slots.acquire(Urgency::Normal).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, urgency) in std::iter::repeat_n(Urgency::Low, 30).chain(std::iter::repeat_n(Urgency::Urgent, 20)).enumerate() {
            let (slots, order) = (slots.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let slot = slots.acquire(urgency).await;
                order.lock().unwrap().push((i, urgency));
                tokio::time::sleep(Duration::from_millis(1)).await;
                drop(slot);
            }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(order.len(), 50);
        let urgencies: Vec<Urgency> = order.iter().map(|(_, u)| *u).collect();
        // Eight urgent, one low, eight urgent, one low, the last four urgent, then the lows.
        assert!(urgencies[..8].iter().all(|u| *u == Urgency::Urgent), "urgent waiters jump the queue: {urgencies:?}");
        assert_eq!((urgencies[8], urgencies[17]), (Urgency::Low, Urgency::Low), "low work moves while urgent waits: {urgencies:?}");
        assert_eq!(urgencies[..22].iter().filter(|u| **u == Urgency::Urgent).count(), 20, "{urgencies:?}");
        let lows: Vec<usize> = order.iter().filter(|(_, u)| *u == Urgency::Low).map(|(i, _)| *i).collect();
        assert!(lows.windows(2).all(|w| w[0] < w[1]), "first come, first served within a class");
    }

    #[tokio::test]
    async fn a_free_slot_is_taken_at_once_and_returned_on_drop() {
        let slots = FairSlots::new(2);
        let a = slots.acquire(Urgency::Low).await;
        let b = slots.acquire(Urgency::Low).await;
        let waiting = tokio::time::timeout(Duration::from_millis(20), slots.acquire(Urgency::Urgent)).await;
        assert!(waiting.is_err(), "both slots are held");
        drop(a);
        let c = tokio::time::timeout(Duration::from_millis(200), slots.acquire(Urgency::Normal)).await;
        assert!(c.is_ok(), "the abandoned waiter did not keep the freed slot");
        drop((b, c));
    }
}
