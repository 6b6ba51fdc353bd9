//! The catalog of Layer 2.0 event types (reference §7.1). Each type belongs to a family that
//! names the entity key carried in the payload (`message` or `conversation`).

use std::fmt;
use std::str::FromStr;

/// One of the eight event types a webhook can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    MessageSent,
    MessageDelivered,
    MessageRead,
    MessageDeleted,
    ConversationCreated,
    ConversationUpdatedParticipants,
    ConversationUpdatedMetadata,
    ConversationDeleted,
}

/// The entity an event is about; also the payload key that carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Message,
    Conversation,
}

impl Family {
    /// The payload key: `message` or `conversation`.
    pub fn entity_key(self) -> &'static str {
        match self {
            Family::Message => "message",
            Family::Conversation => "conversation",
        }
    }
}

impl EventType {
    /// Every type, in the order of the Layer documentation.
    pub const ALL: [EventType; 8] = [
        EventType::MessageSent,
        EventType::MessageDelivered,
        EventType::MessageRead,
        EventType::MessageDeleted,
        EventType::ConversationCreated,
        EventType::ConversationUpdatedParticipants,
        EventType::ConversationUpdatedMetadata,
        EventType::ConversationDeleted,
    ];

    /// The wire name, e.g. `message.sent`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::MessageSent => "message.sent",
            EventType::MessageDelivered => "message.delivered",
            EventType::MessageRead => "message.read",
            EventType::MessageDeleted => "message.deleted",
            EventType::ConversationCreated => "conversation.created",
            EventType::ConversationUpdatedParticipants => "conversation.updated.participants",
            EventType::ConversationUpdatedMetadata => "conversation.updated.metadata",
            EventType::ConversationDeleted => "conversation.deleted",
        }
    }

    /// Which entity the event carries.
    pub fn family(self) -> Family {
        match self {
            EventType::MessageSent
            | EventType::MessageDelivered
            | EventType::MessageRead
            | EventType::MessageDeleted => Family::Message,
            _ => Family::Conversation,
        }
    }
}

/// The name is not one of the eight event types.
#[derive(Debug, thiserror::Error)]
#[error("unknown event type")]
pub struct UnknownEventType;

impl FromStr for EventType {
    type Err = UnknownEventType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(UnknownEventType)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_has_its_family() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), t);
            assert!(t.as_str().starts_with(t.family().entity_key()));
        }
        assert!("Message.created".parse::<EventType>().is_err());
        assert!("message_sent".parse::<EventType>().is_err());
    }
}
