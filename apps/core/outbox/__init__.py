"""The outbox: domain events written in the change's transaction and published by a relay."""
