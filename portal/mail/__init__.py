"""Mail: the outbox, SMTP delivery and the messages we send."""
