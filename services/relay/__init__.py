"""The outbox relay: publishes committed outbox rows, in id order, to Kafka or Dapr pub/sub."""
