"""SCIM 2.0 push provisioning: directory events → SP (OfficeSpace) users and groups."""
