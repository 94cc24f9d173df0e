"""Email: templates to messages, the transactional outbox, senders, and the dispatcher."""
