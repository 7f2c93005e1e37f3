//! Amazon SES (API v2) as the [`Mailer`]: one plain-text message to all its addresses, from
//! `notifications.sender` (an identity SES has verified).

use async_trait::async_trait;
use aws_sdk_sesv2::error::{DisplayErrorContext, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use sliderule_protocol::provisioner::OutboxMessage;

use super::{MailError, Mailer};

pub struct Ses {
    client: aws_sdk_sesv2::Client,
    sender: String,
}

impl Ses {
    /// A mailer on `sdk` (the `aws` section's region and endpoint) sending as `sender`.
    pub fn new(sdk: &aws_config::SdkConfig, sender: &str) -> Self {
        Self {
            client: aws_sdk_sesv2::Client::new(sdk),
            sender: sender.to_owned(),
        }
    }
}

fn text(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Refused(e.to_string()))
}

#[async_trait]
impl Mailer for Ses {
    async fn send(&self, message: &OutboxMessage) -> Result<(), MailError> {
        let content = EmailContent::builder()
            .simple(
                Message::builder()
                    .subject(text(&message.subject)?)
                    .body(Body::builder().text(text(&message.body)?).build())
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(&self.sender)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(message.to.clone()))
                    .build(),
            )
            .content(content)
            .send()
            .await
            .map_err(|error| match &error {
                SdkError::ServiceError(_) => {
                    MailError::Refused(DisplayErrorContext(&error).to_string())
                }
                _ => MailError::Unavailable(DisplayErrorContext(&error).to_string()),
            })?;
        Ok(())
    }
}
