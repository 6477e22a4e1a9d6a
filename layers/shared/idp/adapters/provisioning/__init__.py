"""The DynamoDB stores of the provisioning state, one per item kind (see docs/ARCHITECTURE.md):
`mappings` (what was pushed per user/group), `claims` (create claims on those items), `lease` (the
reconcile lease), `app_status` (status and circuit breaker), `access` (bound-group snapshots),
`log` (the provisioning log) and `buffer` (the write buffer mappings and log share).
`stores.dynamo_stores` builds them as `idp.provisioning.ports.ProvisioningStores`."""
