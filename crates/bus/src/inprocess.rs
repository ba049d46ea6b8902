//! The in-process bus: a shared queue in memory, for a single-process deployment.
//!
//! Published messages go into one of four priority lanes (urgent, high, normal, low). Each
//! subscriber gets a small forwarding task that pulls from the lanes and sends into a bounded
//! channel; consumers of one bus therefore share the messages, each going to one of them.
//! Lanes are served by weighted round-robin (8:4:2:1), so urgent work goes first while low
//! priority work still gets a share and is never starved.
//!
//! Handed-out messages are tracked as in flight until acknowledged. A delivery dropped without
//! acknowledgement (including one still sitting in the channel of a consumer whose receiver
//! was dropped) goes back to the front of its lane with its delivery count kept, so the next
//! consumer to pick it sees `delivery_count + 1`.

use crate::{Acker, BusError, BusMessage, BusResult, Delivery, EventBus};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, mpsc};
use waooaw_domain::Priority;

/// Default capacity of each consumer's channel.
pub const DEFAULT_CONSUMER_BUFFER: usize = 1024;

/// Weighted round-robin shares of the lanes: urgent, high, normal, low.
const LANE_WEIGHTS: [u32; 4] = [8, 4, 2, 1];

/// The most picks a message at the head of any non-empty lane can wait for.
pub const MAX_PICKS_BEFORE_SERVED: u32 = LANE_WEIGHTS[0] + LANE_WEIGHTS[1] + LANE_WEIGHTS[2] + LANE_WEIGHTS[3];

struct Queued {
    message: BusMessage,
    /// How many times it has been handed out already.
    delivered: u64,
}

fn lane_of(priority: Priority) -> usize {
    match priority {
        Priority::Urgent => 0,
        Priority::High => 1,
        Priority::Normal => 2,
        Priority::Low => 3,
    }
}

/// Four FIFO lanes served by weighted round-robin with credits: a lane may be picked while it
/// has credit; when no non-empty lane has credit left, every lane gets its weight again.
struct Lanes {
    lanes: [VecDeque<Queued>; 4],
    credits: [u32; 4],
    len: usize,
}

impl Lanes {
    fn new() -> Self {
        Self { lanes: Default::default(), credits: LANE_WEIGHTS, len: 0 }
    }

    fn push_back(&mut self, q: Queued) {
        self.lanes[lane_of(q.message.event.priority)].push_back(q);
        self.len += 1;
    }

    fn push_front(&mut self, q: Queued) {
        self.lanes[lane_of(q.message.event.priority)].push_front(q);
        self.len += 1;
    }

    fn pop(&mut self) -> Option<Queued> {
        if self.len == 0 {
            return None;
        }
        for _ in 0..2 {
            for lane in 0..4 {
                if self.credits[lane] > 0 && !self.lanes[lane].is_empty() {
                    self.credits[lane] -= 1;
                    self.len -= 1;
                    return self.lanes[lane].pop_front();
                }
            }
            self.credits = LANE_WEIGHTS;
        }
        None
    }
}

struct State {
    lanes: Lanes,
    in_flight: u64,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled once per message made available (publish or abandon).
    notify: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing done under the lock can leave the state inconsistent; a poisoned lock is
        // still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The embedded, single-process bus.
pub struct InProcessBus {
    shared: Arc<Shared>,
    buffer: usize,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessBus {
    pub fn new() -> Self {
        Self::with_consumer_buffer(DEFAULT_CONSUMER_BUFFER)
    }

    /// A bus whose consumers' channels hold `buffer` deliveries (at least 1). A smaller buffer
    /// makes priorities and sharing between consumers more exact; a larger one smooths bursts.
    pub fn with_consumer_buffer(buffer: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State { lanes: Lanes::new(), in_flight: 0, closed: false }),
                notify: Notify::new(),
            }),
            buffer: buffer.max(1),
        }
    }
}

impl Drop for InProcessBus {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.notify.notify_waiters();
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    fn kind(&self) -> &'static str {
        "inprocess"
    }

    async fn publish(&self, message: &BusMessage) -> BusResult<()> {
        let queued = Queued { message: message.clone(), delivered: 0 };
        {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(BusError::Closed);
            }
            state.lanes.push_back(queued);
        }
        self.shared.notify.notify_one();
        Ok(())
    }

    async fn subscribe(&self, consumer: &str) -> BusResult<mpsc::Receiver<Delivery>> {
        if self.shared.lock().closed {
            return Err(BusError::Closed);
        }
        let (tx, rx) = mpsc::channel(self.buffer);
        tracing::debug!(consumer, "in-process bus consumer subscribed");
        tokio::spawn(forward(self.shared.clone(), tx));
        Ok(rx)
    }

    async fn ping(&self) -> BusResult<()> {
        if self.shared.lock().closed { Err(BusError::Closed) } else { Ok(()) }
    }

    async fn pending(&self) -> BusResult<u64> {
        let state = self.shared.lock();
        Ok(state.lanes.len as u64 + state.in_flight)
    }
}

/// Moves messages from the shared lanes into one consumer's channel, taking a message only
/// once the channel has room for it. Ends when the receiver is dropped or the bus closes.
async fn forward(shared: Arc<Shared>, tx: mpsc::Sender<Delivery>) {
    loop {
        let Ok(permit) = tx.reserve().await else {
            break;
        };
        let queued = loop {
            let notified = shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if tx.is_closed() {
                break None;
            }
            {
                let mut state = shared.lock();
                if state.closed {
                    return;
                }
                if let Some(q) = state.lanes.pop() {
                    state.in_flight += 1;
                    break Some(q);
                }
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tx.closed() => break None,
            }
        };
        let Some(queued) = queued else { break };
        let delivery_count = queued.delivered + 1;
        let acker = InProcessAcker { shared: shared.clone(), message: queued.message.clone(), delivery_count };
        permit.send(Delivery::new(queued.message, delivery_count, Box::new(acker)));
    }
    // This task may have consumed a wake-up meant for a message it will not take.
    shared.notify.notify_one();
}

struct InProcessAcker {
    shared: Arc<Shared>,
    message: BusMessage,
    delivery_count: u64,
}

#[async_trait]
impl Acker for InProcessAcker {
    async fn ack(self: Box<Self>) -> BusResult<()> {
        let mut state = self.shared.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        Ok(())
    }

    fn abandon(self: Box<Self>) {
        let this = *self;
        {
            let mut state = this.shared.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
            if state.closed {
                return;
            }
            state.lanes.push_front(Queued { message: this.message, delivered: this.delivery_count });
        }
        this.shared.notify.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use std::time::Duration;
    use waooaw_domain::{EventType, NewEvent, TenantId};

    fn message(priority: Priority, n: u64) -> BusMessage {
        let mut new = NewEvent::new(EventType::parse("file.modified").unwrap(), "test", TenantId::new(), serde_json::json!({ "n": n }));
        new.priority = priority;
        BusMessage { event: new.into_event(Utc::now()).unwrap(), only_instance: None }
    }

    fn queued(priority: Priority, n: u64) -> Queued {
        Queued { message: message(priority, n), delivered: 0 }
    }

    #[test]
    fn urgent_is_picked_first() {
        let mut lanes = Lanes::new();
        for n in 0..5 {
            lanes.push_back(queued(Priority::Low, n));
            lanes.push_back(queued(Priority::Normal, n));
        }
        lanes.push_back(queued(Priority::High, 0));
        lanes.push_back(queued(Priority::Urgent, 0));
        let first = lanes.pop().unwrap();
        assert_eq!(first.message.event.priority, Priority::Urgent);
        let second = lanes.pop().unwrap();
        assert_eq!(second.message.event.priority, Priority::High);
        let third = lanes.pop().unwrap();
        assert_eq!(third.message.event.priority, Priority::Normal);
    }

    #[test]
    fn low_is_served_within_a_bounded_number_of_picks() {
        let mut lanes = Lanes::new();
        for n in 0..1000 {
            lanes.push_back(queued(Priority::Urgent, n));
            lanes.push_back(queued(Priority::High, n));
            lanes.push_back(queued(Priority::Normal, n));
        }
        lanes.push_back(queued(Priority::Low, 0));
        lanes.push_back(queued(Priority::Low, 1));
        let mut low_at = Vec::new();
        for pick in 1..=(3 * MAX_PICKS_BEFORE_SERVED) {
            if lanes.pop().unwrap().message.event.priority == Priority::Low {
                low_at.push(pick);
            }
        }
        assert_eq!(low_at.len(), 2, "both low messages served, at picks {low_at:?}");
        assert!(low_at[0] <= MAX_PICKS_BEFORE_SERVED, "{low_at:?}");
        assert!(low_at[1] - low_at[0] <= MAX_PICKS_BEFORE_SERVED, "{low_at:?}");
    }

    #[test]
    fn shares_follow_the_weights_under_full_backlog() {
        let mut lanes = Lanes::new();
        for p in Priority::ALL {
            for n in 0..100 {
                lanes.push_back(queued(p, n));
            }
        }
        let mut counts = [0u32; 4];
        for _ in 0..(4 * MAX_PICKS_BEFORE_SERVED) {
            counts[lane_of(lanes.pop().unwrap().message.event.priority)] += 1;
        }
        assert_eq!(counts, [32, 16, 8, 4]);
    }

    #[test]
    fn fifo_within_a_lane_and_abandoned_go_first() {
        let mut lanes = Lanes::new();
        for n in 0..3 {
            lanes.push_back(queued(Priority::Normal, n));
        }
        let a = lanes.pop().unwrap();
        assert_eq!(a.message.event.payload["n"], 0);
        lanes.push_front(a);
        let order: Vec<_> = std::iter::from_fn(|| lanes.pop()).map(|q| q.message.event.payload["n"].clone()).collect();
        assert_eq!(order, vec![0, 1, 2]);
        assert_eq!(lanes.len, 0);
    }

    #[tokio::test]
    async fn bus_delivers_urgent_before_backlog() {
        let bus = InProcessBus::with_consumer_buffer(1);
        for n in 0..20 {
            bus.publish(&message(Priority::Low, n)).await.unwrap();
            bus.publish(&message(Priority::Normal, n)).await.unwrap();
        }
        bus.publish(&message(Priority::Urgent, 0)).await.unwrap();
        let mut rx = bus.subscribe("c").await.unwrap();
        let first = rx.recv().await.unwrap();
        assert_eq!(first.message.event.priority, Priority::Urgent);
        first.ack().await.unwrap();
        let mut low_seen = false;
        for _ in 0..MAX_PICKS_BEFORE_SERVED {
            let d = rx.recv().await.unwrap();
            low_seen |= d.message.event.priority == Priority::Low;
            d.ack().await.unwrap();
        }
        assert!(low_seen, "low priority starved");
    }

    #[tokio::test]
    async fn publish_is_fast_and_does_not_wait_for_consumers() {
        let bus = InProcessBus::new();
        let _rx = bus.subscribe("slow").await.unwrap(); // never reads
        let msg = message(Priority::Normal, 0);
        let n = 100_000u64;
        let start = std::time::Instant::now();
        for _ in 0..n {
            bus.publish(&msg).await.unwrap();
        }
        let elapsed = start.elapsed();
        eprintln!("in-process publish: {:.0}/s", n as f64 / elapsed.as_secs_f64());
        // Generous bound for unoptimised debug builds; release builds are far faster.
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
        assert_eq!(bus.pending().await.unwrap(), n);
    }

    #[tokio::test]
    async fn dropping_the_bus_ends_consumers() {
        let bus = InProcessBus::new();
        let mut rx = bus.subscribe("c").await.unwrap();
        drop(bus);
        let r = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await.unwrap();
        assert!(r.is_none());
    }
}
