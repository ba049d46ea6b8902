//! How many instances this process wakes at once. An instance's drain task holds a slot while
//! it runs its wakes, and the dispatcher takes the next delivery from the bus only once a slot
//! is free, so a burst waits on the bus (durably stored, and shared with the other processes in
//! scale-out) instead of becoming thousands of runnable tasks here. Why it matters: tokio has
//! no priorities, and with every instance of a burst queued on the scheduler, ingestion's tasks
//! waited behind them (bench wake, 200,000 events offered as fast as they are taken: 24-29k
//! accepted events/s unbounded, 54-65k with 256 slots; deliveries/s 16-17k against 25k).
//!
//! A wake waiting for another agent's answer (`consult`) gives its slot back meanwhile: the
//! answer needs a wake of its own, and if every slot were held by askers none would be left
//! for it.

use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

pub(crate) struct WakeSlots {
    // Fair (FIFO): the dispatcher's wait for room queues behind the drains already waiting, so
    // an event routed to many instances is under way before the next delivery is taken.
    slots: Semaphore,
}

impl WakeSlots {
    pub fn new(slots: usize) -> Self {
        Self { slots: Semaphore::new(slots.max(1)) }
    }

    /// Waits for a free slot. `None` only if the slots were closed, which they never are.
    pub async fn take(&self) -> Option<SemaphorePermit<'_>> {
        self.slots.acquire().await.ok()
    }

    /// Returns once a slot is free, without holding it; with how long that took if no slot was
    /// free at first.
    pub async fn room(&self) -> Option<Duration> {
        if self.slots.try_acquire().is_ok() {
            return None;
        }
        let started = Instant::now();
        drop(self.take().await);
        Some(started.elapsed())
    }

    /// Runs `wait` with the caller's slot given back, and takes a slot again after it.
    pub async fn parked<T>(&self, wait: impl Future<Output = T>) -> T {
        self.slots.add_permits(1);
        // If this future is dropped before the slot is taken back, the guard undoes the loan.
        let mut loan = Loan { slots: &self.slots, open: true };
        let out = wait.await;
        if let Ok(permit) = self.slots.acquire().await {
            permit.forget();
        }
        loan.open = false;
        out
    }

    #[cfg(test)]
    fn free(&self) -> usize {
        self.slots.available_permits()
    }
}

struct Loan<'a> {
    slots: &'a Semaphore,
    open: bool,
}

impl Drop for Loan<'_> {
    fn drop(&mut self) {
        if self.open {
            self.slots.forget_permits(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn room_waits_until_a_slot_is_given_back() {
        let slots = std::sync::Arc::new(WakeSlots::new(1));
        let held = slots.take().await.unwrap();
        let waiting = tokio::spawn({
            let slots = slots.clone();
            async move { slots.room().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "no slot is free");
        drop(held);
        let waited = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("a slot came free").unwrap();
        assert!(waited.is_some_and(|w| w >= Duration::from_millis(20)), "it reports its wait: {waited:?}");
        assert_eq!(slots.free(), 1, "room does not keep the slot");
        assert_eq!(slots.room().await, None, "a free slot is no wait");
    }

    #[tokio::test]
    async fn a_parked_wake_lends_its_slot_until_it_resumes() {
        let slots = WakeSlots::new(1);
        let held = slots.take().await.unwrap();
        let inner = slots.parked(async {
            tokio::time::timeout(Duration::from_secs(5), slots.room()).await.expect("the asker's slot is free while it waits");
            slots.free()
        });
        assert_eq!(inner.await, 1);
        assert_eq!(slots.free(), 0, "resuming takes the slot back");
        drop(held);
        assert_eq!(slots.free(), 1);
    }

    #[tokio::test]
    async fn a_parked_wait_dropped_midway_gives_the_loan_back() {
        let slots = WakeSlots::new(2);
        let held = slots.take().await.unwrap();
        let never = slots.parked(std::future::pending::<()>());
        assert!(tokio::time::timeout(Duration::from_millis(10), never).await.is_err());
        assert_eq!(slots.free(), 1, "the dropped wait left no extra slot behind");
        drop(held);
        assert_eq!(slots.free(), 2);
    }
}
