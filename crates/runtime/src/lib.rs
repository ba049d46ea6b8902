//! The runtime: accepts events, routes them to the instances they concern, and wakes each
//! instance through the six-step protocol. Entry point: [`Runtime::start`].
//!
//! Invariants:
//! - An event is acknowledged to its publisher only after the store holds it ([`ingest`]).
//! - Instances wake on events only; an idle instance has no task, only an index entry.
//! - One wake at a time per instance: in-process by its queue ([`dispatch`]), across processes
//!   by the context version check in `Store::commit_wake`.
//! - A delivery's effect is saved once: the delivery row and the context commit together.
//! - A process takes deliveries from the bus only while it has a free wake slot
//!   ([`wake_slots`]): a burst waits on the bus, not as runnable tasks.
//! - A commit is conditional on what its wake read, so cached reads ([`warm`]) are never trusted
//!   blindly: a stale one loses the commit and the wake runs again from the store.

pub mod catalog;
mod commit;
pub mod consensus;
mod dispatch;
mod handoff;
mod ingest;
pub mod messages;
pub mod observe;
mod registry;
mod runtime;
mod schedule;
pub mod tasks;
pub mod trace;
mod wake;
mod wake_slots;
mod warm;
pub mod work;

pub use catalog::{Catalog, CatalogError};
pub use messages::{MessageError, message_of};
pub use runtime::{Runtime, RuntimeConfig, RuntimeError, WakeProbe};
pub use waooaw_domain::{Decider, NoDecider};
pub use work::{Consult, NoConsult, WakeInput, WorkError, WorkFn, WorkOutput, WorkRegistry};
