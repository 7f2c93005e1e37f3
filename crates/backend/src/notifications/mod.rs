//! E-mail notifications (provisioner.md, "E-mail notifications"): what happened to a cluster or a
//! membership, told to the person concerned (when their address is known) and to
//! `notifications.alert_email`. Driven by the audit log: every audited change passes
//! [`Notifier::on_audit`], which picks the ones worth a message ([`drafts`]).
//!
//! Every message goes to the outbox (the newest [`OUTBOX_SIZE`], which owners read at
//! `/provisioner/outbox`) and the log. With `notifications.sender` set it is also delivered by a
//! [`Mailer`] (Amazon SES, [`ses`]) — from a queue drained by a task of its own, so sending never
//! fails or slows the request that caused it: a failure is logged and counted
//! (`sliderule_notification_failures_total`), and a full queue drops the message the same way.
//!
//! Whose address is known: a local account's e-mail. GitHub people have none here — the
//! authenticator asks GitHub for `read:org` only, not `user:email` — so they are told through the
//! operators' address.

pub mod drafts;
pub mod ses;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use prometheus_client::metrics::counter::Counter;
use sliderule_protocol::provisioner::OutboxMessage;
use tokio::sync::mpsc;

use crate::store::{AuditEntry, Store};

/// Messages the outbox keeps.
pub const OUTBOX_SIZE: usize = 200;

/// Messages waiting for the mailer; past this, new ones are dropped (and counted as failures).
pub const QUEUE_SIZE: usize = 1_000;

/// Delivers a message.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, message: &OutboxMessage) -> Result<(), MailError>;
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail service answered with a refusal (an unverified sender, a bad address).
    #[error("the mail service refused the message: {0}")]
    Refused(String),
    /// The mail service could not be reached or failed.
    #[error("the mail service failed: {0}")]
    Unavailable(String),
}

/// What `/metrics` counts of notifications.
#[derive(Clone, Default)]
pub struct MailCounters {
    /// Messages written to the outbox.
    pub written: Counter,
    /// Messages the mailer delivered.
    pub delivered: Counter,
    /// Messages the mailer failed to deliver, or that found the queue full.
    pub failures: Counter,
}

/// The notifications of this process.
pub struct Notifier {
    store: Arc<dyn Store>,
    alert_email: Option<String>,
    outbox: Mutex<VecDeque<OutboxMessage>>,
    counters: MailCounters,
    /// The mailer's queue, when messages are delivered.
    queue: Option<mpsc::Sender<OutboxMessage>>,
}

impl Notifier {
    /// A notifier writing to the outbox and, with a `mailer`, delivering through it (this
    /// spawns the delivery task: call it inside the runtime).
    pub fn new(
        store: Arc<dyn Store>,
        alert_email: Option<String>,
        counters: MailCounters,
        mailer: Option<Arc<dyn Mailer>>,
    ) -> Self {
        let queue = mailer.map(|mailer| {
            let (queue, waiting) = mpsc::channel(QUEUE_SIZE);
            tokio::spawn(deliver(waiting, mailer, counters.clone()));
            queue
        });
        Self {
            store,
            alert_email,
            outbox: Mutex::new(VecDeque::new()),
            counters,
            queue,
        }
    }

    /// The message an audited change is worth, if any, sent.
    pub async fn on_audit(&self, entry: &AuditEntry) {
        let Some(draft) = drafts::draft(entry) else {
            return;
        };
        let mut to: Vec<String> = self.alert_email.iter().cloned().collect();
        if let Some(person) = &draft.person
            && let Some(address) = self.address_of(person).await
            && !to.contains(&address)
        {
            to.push(address);
        }
        if to.is_empty() {
            return;
        }
        let message = OutboxMessage {
            at: entry.at,
            to,
            subject: draft.subject,
            body: draft.body,
        };
        tracing::info!(to = ?message.to, subject = %message.subject, "notification");
        if let Some(queue) = &self.queue
            && let Err(error) = queue.try_send(message.clone())
        {
            tracing::warn!(%error, subject = %message.subject, "notification not queued for delivery");
            self.counters.failures.inc();
        }
        let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        if outbox.len() == OUTBOX_SIZE {
            outbox.pop_back();
        }
        outbox.push_front(message);
        self.counters.written.inc();
    }

    /// The outbox, newest first.
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        let outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        outbox.iter().cloned().collect()
    }

    /// A person's address: a local account's e-mail.
    async fn address_of(&self, person: &str) -> Option<String> {
        match self.store.account(&person.to_ascii_lowercase()).await {
            Ok(account) => account.and_then(|a| a.email),
            Err(error) => {
                tracing::warn!(%error, "cannot read a local account's address for a notification");
                None
            }
        }
    }
}

/// Delivers queued messages one at a time until the notifier is dropped.
async fn deliver(
    mut waiting: mpsc::Receiver<OutboxMessage>,
    mailer: Arc<dyn Mailer>,
    counters: MailCounters,
) {
    while let Some(message) = waiting.recv().await {
        match mailer.send(&message).await {
            Ok(()) => {
                counters.delivered.inc();
            }
            Err(error) => {
                tracing::warn!(%error, subject = %message.subject, "notification not delivered");
                counters.failures.inc();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use time::OffsetDateTime;

    /// Refuses everything after a first message, which it holds until told to go on.
    struct Slow {
        release: tokio::sync::Semaphore,
    }

    #[async_trait]
    impl Mailer for Slow {
        async fn send(&self, _: &OutboxMessage) -> Result<(), MailError> {
            let _permit = self.release.acquire().await;
            Err(MailError::Unavailable("down".into()))
        }
    }

    fn deploy_entry(id: i64) -> AuditEntry {
        AuditEntry {
            id,
            at: OffsetDateTime::UNIX_EPOCH,
            actor: "bob".into(),
            action: "deploy".into(),
            cluster: "bob".into(),
            parameters: serde_json::json!({ "node_capacity": 1 }).to_string(),
            outcome: "ok".into(),
        }
    }

    #[tokio::test]
    async fn a_mailer_that_hangs_neither_blocks_the_caller_nor_loses_the_outbox_and_a_full_queue_is_counted()
     {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let mailer = Arc::new(Slow {
            release: tokio::sync::Semaphore::new(0),
        });
        let counters = MailCounters::default();
        let notifier = Notifier::new(
            store,
            Some("ops@example.org".into()),
            counters.clone(),
            Some(mailer.clone()),
        );
        // One message in the mailer's hands, QUEUE_SIZE waiting, two more dropped.
        for id in 0..(QUEUE_SIZE as i64 + 3) {
            notifier.on_audit(&deploy_entry(id)).await;
        }
        assert_eq!(notifier.outbox().len(), OUTBOX_SIZE);
        assert_eq!(counters.written.get(), QUEUE_SIZE as u64 + 3);
        assert!(
            (2..=3).contains(&counters.failures.get()),
            "{} dropped",
            counters.failures.get()
        );
        mailer.release.add_permits(QUEUE_SIZE + 3);
        while counters.failures.get() < QUEUE_SIZE as u64 + 3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(counters.delivered.get(), 0);
    }
}
