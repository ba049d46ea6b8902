//! The event bus: carries stored events from the process that accepted them to a process that
//! routes them to instances. One interface ([`EventBus`]), two implementations: in-process
//! (embedded default) and Redis Streams with consumer groups (scale-out). Both pass the
//! conformance suite in `tests/conformance.rs`.
//!
//! The bus is transport, not truth: an event is in the store before it is published, so a
//! message the bus loses is recovered from the store. Delivery is at-least-once: a message is
//! redelivered until acknowledged, and one held by a dead consumer goes to a live one.

pub mod inprocess;
pub mod redis_streams;

pub use inprocess::InProcessBus;
pub use redis_streams::{RedisBusConfig, RedisStreamsBus};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::mpsc;
use waooaw_domain::{Event, InstanceId};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("malformed bus message {id}: {reason}")]
    Malformed { id: String, reason: String },
    #[error("the bus is closed")]
    Closed,
}

pub type BusResult<T> = Result<T, BusError>;

/// What travels on the bus: an event, and optionally the one instance it is for (a redrive
/// or a resumed delivery), instead of every subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusMessage {
    pub event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_instance: Option<InstanceId>,
}

/// A message handed to a consumer. Acknowledge it once its effects are stored; dropping it
/// unacknowledged (or a crashed consumer) makes it deliverable again.
pub struct Delivery {
    pub message: BusMessage,
    /// How many times this message has been handed out, this time included.
    pub delivery_count: u64,
    acker: Option<Box<dyn Acker>>,
}

impl Delivery {
    pub fn new(message: BusMessage, delivery_count: u64, acker: Box<dyn Acker>) -> Self {
        Self { message, delivery_count, acker: Some(acker) }
    }

    pub async fn ack(mut self) -> BusResult<()> {
        match self.acker.take() {
            Some(a) => a.ack().await,
            None => Ok(()),
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(a) = self.acker.take() {
            a.abandon();
        }
    }
}

#[async_trait]
pub trait Acker: Send + Sync {
    async fn ack(self: Box<Self>) -> BusResult<()>;
    /// Called when a delivery is dropped unacknowledged.
    fn abandon(self: Box<Self>);
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// `inprocess` or `redis`.
    fn kind(&self) -> &'static str;
    async fn publish(&self, message: &BusMessage) -> BusResult<()>;
    /// Starts a consumer named `consumer` (unique per process); deliveries arrive on the
    /// receiver. Consumers of one bus share the messages: each goes to one of them.
    async fn subscribe(&self, consumer: &str) -> BusResult<mpsc::Receiver<Delivery>>;
    async fn ping(&self) -> BusResult<()>;
    /// Messages published and not yet acknowledged, for the queue-depth metric.
    async fn pending(&self) -> BusResult<u64>;
}

pub type DynBus = Arc<dyn EventBus>;
