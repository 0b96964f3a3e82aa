"""HTTP plumbing every app's views share: middleware, errors, schema, throttles, pagination, filters."""
