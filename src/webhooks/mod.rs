//! Webhooks: what Attesta tells other systems when something happens to a document, and how a
//! receiver can be sure the message came from this instance, unchanged and recently.
//!
//! Messages follow the Standard Webhooks specification (<https://www.standardwebhooks.com/>):
//! headers `webhook-id`, `webhook-timestamp` and `webhook-signature`, the signature being
//! `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`, several separated by spaces
//! while a secret is being rotated. Nothing here does I/O or reads a clock: the server supplies
//! times and random bytes.

pub mod events;
pub mod schedule;
pub mod signature;
pub mod target;

pub use events::{DocumentHashes, Payload, Subscription, WebhookEventType};
pub use schedule::RetrySchedule;
pub use signature::{MessageId, Secret, SignatureError, TOLERANCE};
