//! A topic with an SQS queue subscribed to it: how the tests read back what certaudit
//! published to SNS, through the real SDKs.

use serde_json::Value;

use super::Fabric;

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// A topic with an SQS queue subscribed to it, as a team would set up email's stand-in.
pub struct Inbox {
    pub topic_arn: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl Inbox {
    pub fn new(fabric: &Fabric) -> Inbox {
        Inbox::subscribed(fabric, false)
    }

    /// A FIFO topic with a FIFO queue subscribed: SNS refuses a FIFO publish without a
    /// MessageGroupId (and, without content-based deduplication, a MessageDeduplicationId).
    pub fn fifo(fabric: &Fabric) -> Inbox {
        Inbox::subscribed(fabric, true)
    }

    pub fn subscribed(fabric: &Fabric, fifo: bool) -> Inbox {
        let suffix = if fifo { ".fifo" } else { "" };
        let config = fabric.sdk_config();
        let sns = aws_sdk_sns::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        runtime().block_on(async {
            let mut topic = sns.create_topic().name(format!("certaudit-alerts{suffix}"));
            let mut queue = sqs.create_queue().queue_name(format!("inbox{suffix}"));
            if fifo {
                topic = topic.attributes("FifoTopic", "true");
                queue = queue.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
            }
            let topic = topic.send().await.unwrap();
            let topic_arn = topic.topic_arn().unwrap().to_string();
            let queue = queue.send().await.unwrap();
            let queue_url = queue.queue_url().unwrap().to_string();
            let queue_arn = sqs
                .get_queue_attributes()
                .queue_url(&queue_url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await
                .unwrap()
                .attributes()
                .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
                .clone();
            sns.subscribe()
                .topic_arn(&topic_arn)
                .protocol("sqs")
                .endpoint(queue_arn)
                .send()
                .await
                .unwrap();
            Inbox {
                topic_arn,
                queue_url,
                sqs,
            }
        })
    }

    /// Every notification delivered so far: (Subject, Message), in part order.
    pub fn take(&self) -> Vec<(String, String)> {
        let mut all = Vec::new();
        runtime().block_on(async {
            loop {
                let out = self
                    .sqs
                    .receive_message()
                    .queue_url(&self.queue_url)
                    .max_number_of_messages(10)
                    .send()
                    .await
                    .unwrap();
                if out.messages().is_empty() {
                    break;
                }
                for m in out.messages() {
                    let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                    all.push((
                        envelope["Subject"].as_str().unwrap_or_default().to_string(),
                        envelope["Message"].as_str().unwrap().to_string(),
                    ));
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(m.receipt_handle().unwrap())
                        .send()
                        .await
                        .unwrap();
                }
            }
        });
        all.sort();
        all
    }
}
