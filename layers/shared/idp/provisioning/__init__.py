"""SCIM 2.0 push provisioning: directory change events (and the hourly reconcile) become the fewest
SCIM requests that make each SP's users and groups equal to the directory. `consumer` takes the
SQS batch, `dispatch` turns one event into syncs per app under the circuit breaker of `policy`,
`reconcile` walks a whole app, and `engine` is the facade over `user_sync`, `group_sync`,
`claims`, `lease`, `clients` and `retry_budget`; `planner` holds the pure decisions, `ports` what
the package needs from the directory, the token store, the SP and its own state, `run` the unit
of work, `metrics` the per-app EMF counters."""
