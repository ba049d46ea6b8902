//! `consensus(question, voters, quorum, deadline)`: a question put to several agents of the
//! tenant as `consensus` messages (action `consensus.vote`), each answering `approve`,
//! `reject` or `abstain` with a reason; votes are counted as they arrive until every voter
//! answered or the deadline passed, and the outcome is the trust-weighted majority of the
//! approve and reject votes, provided at least `quorum` of them came in. The tally is returned
//! whole (every vote, its weight, who did not answer) so the caller can keep it.

use crate::messages::{MessageError, send};
use crate::observe::InternalEvent;
use crate::runtime::Shared;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;
use waooaw_domain::{EventId, Instance, InstanceId, Message, MessageKind, Recipient, Reply};

pub const VOTE_ACTION: &str = "consensus.vote";

/// What a voter answers (in `Reply::Ok { result }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vote {
    Approve,
    Reject,
    Abstain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsensusDecision {
    Approve,
    Reject,
    /// Approve and reject weigh the same.
    Tie,
    /// Fewer than `quorum` approve or reject votes arrived in time.
    NoQuorum,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CastVote {
    pub voter: InstanceId,
    pub vote: Vote,
    pub weight: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsensusOutcome {
    pub question: String,
    pub decision: ConsensusDecision,
    pub quorum: usize,
    pub approve_weight: f64,
    pub reject_weight: f64,
    pub votes: Vec<CastVote>,
    /// Voters whose answer did not arrive before the deadline (or who could not vote).
    pub missing: Vec<InstanceId>,
}

/// A voter's weight. Reputation does not exist yet, so every voter weighs the same; when it
/// does, this is where it comes in.
fn weight_of(_voter: &Instance) -> f64 {
    1.0
}

/// Counts cast votes into a decision.
pub fn tally(question: &str, quorum: usize, votes: Vec<CastVote>, missing: Vec<InstanceId>) -> ConsensusOutcome {
    let sum = |v: Vote| votes.iter().filter(|c| c.vote == v).map(|c| c.weight).sum::<f64>() + 0.0; // an empty sum is -0.0
    let (approve_weight, reject_weight) = (sum(Vote::Approve), sum(Vote::Reject));
    let counted = votes.iter().filter(|c| c.vote != Vote::Abstain).count();
    let decision = if counted < quorum {
        ConsensusDecision::NoQuorum
    } else if approve_weight > reject_weight {
        ConsensusDecision::Approve
    } else if reject_weight > approve_weight {
        ConsensusDecision::Reject
    } else {
        ConsensusDecision::Tie
    };
    ConsensusOutcome { question: question.to_owned(), decision, quorum, approve_weight, reject_weight, votes, missing }
}

/// Puts `question` (with the facts in `context`, decided by each voter as a `request_type`
/// decision) to `voters` and counts the answers.
#[allow(clippy::too_many_arguments)] // the verb's own parameters, plus who asks and why
pub(crate) async fn consensus(
    shared: &Shared,
    from: &Instance,
    conversation: EventId,
    parent: Option<EventId>,
    question: &str,
    request_type: &str,
    context: Value,
    voters: &[Recipient],
    quorum: usize,
    deadline: Duration,
) -> Result<ConsensusOutcome, MessageError> {
    if question.trim().is_empty() || question.chars().count() > 2_000 {
        return Err(MessageError::Invalid("the question must be 1..=2000 characters".into()));
    }
    waooaw_domain::EventType::parse(request_type).map_err(|e| MessageError::Invalid(format!("request_type `{request_type}`: {e}")))?;
    if voters.is_empty() || quorum == 0 {
        return Err(MessageError::Invalid("a consensus needs at least one voter and a quorum of at least 1".into()));
    }
    if voters.contains(&Recipient::Instance(from.id)) {
        return Err(MessageError::SelfConsult);
    }
    let respond_by = chrono::Duration::from_std(deadline).ok().map(|d| chrono::Utc::now() + d);
    let payload = json!({"question": question, "request_type": request_type, "context": context});
    let mut asked: Vec<(EventId, Instance, tokio::sync::oneshot::Receiver<Reply>)> = Vec::new();
    for to in voters {
        let msg = Message {
            parent_id: parent,
            requires_response: true,
            respond_by,
            ..Message::new(from.tenant_id, from.id, to.clone(), MessageKind::Consensus, VOTE_ACTION, payload.clone(), conversation)
        };
        let id = msg.id;
        let waiter = shared.waiters.add(id);
        match send(shared, &msg).await {
            Ok(events) => {
                let voter = events.first().and_then(|e| e.target_instance);
                let voter = match voter {
                    Some(v) => shared.store.get_instance(from.tenant_id, v).await?,
                    None => None,
                };
                match voter {
                    Some(v) => asked.push((id, v, waiter)),
                    None => shared.waiters.remove(id),
                }
            }
            Err(e) => {
                shared.waiters.remove(id);
                return Err(e);
            }
        }
    }
    let until = tokio::time::Instant::now() + deadline;
    let answers = futures::future::join_all(asked.into_iter().map(|(id, voter, waiter)| async move {
        let reply = tokio::time::timeout_at(until, crate::messages::wait_reply(shared, voter.tenant_id, id, waiter)).await.ok();
        shared.waiters.remove(id);
        (voter, reply)
    }))
    .await;
    let mut votes = Vec::new();
    let mut missing = Vec::new();
    for (voter, reply) in answers {
        match reply {
            Some(Reply::Ok { result }) => {
                let vote = result.get("vote").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or(Vote::Abstain);
                let reason = result.get("reason").and_then(Value::as_str).unwrap_or("").to_owned();
                votes.push(CastVote { voter: voter.id, vote, weight: weight_of(&voter), reason });
            }
            _ => missing.push(voter.id),
        }
    }
    let outcome = tally(question, quorum, votes, missing);
    crate::observe::ConsensusReached { tenant_id: from.tenant_id, from: from.id, outcome: &outcome }.emit();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast(vote: Vote, weight: f64) -> CastVote {
        CastVote { voter: InstanceId::new(), vote, weight, reason: String::new() }
    }

    #[test]
    fn the_weighted_majority_decides_once_the_quorum_is_met() {
        let t = tally("q", 2, vec![cast(Vote::Approve, 1.0), cast(Vote::Reject, 1.0), cast(Vote::Approve, 1.0)], vec![]);
        assert_eq!((t.decision, t.approve_weight, t.reject_weight), (ConsensusDecision::Approve, 2.0, 1.0));
        // Weight, not headcount: one trusted reject outweighs two approvals.
        let t = tally("q", 2, vec![cast(Vote::Approve, 0.4), cast(Vote::Approve, 0.4), cast(Vote::Reject, 1.0)], vec![]);
        assert_eq!(t.decision, ConsensusDecision::Reject);
        let t = tally("q", 2, vec![cast(Vote::Approve, 1.0), cast(Vote::Abstain, 1.0)], vec![InstanceId::new()]);
        assert_eq!((t.decision, t.missing.len()), (ConsensusDecision::NoQuorum, 1));
        assert_eq!(tally("q", 2, vec![cast(Vote::Approve, 1.0), cast(Vote::Reject, 1.0)], vec![]).decision, ConsensusDecision::Tie);
    }
}
