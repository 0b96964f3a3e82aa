"""What the service tells about itself: request context, logs, metrics, tracing, health, audit."""
