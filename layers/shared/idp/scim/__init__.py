"""SCIM 2.0 protocol code, pure: payloads, attribute mapping, PATCH diffs, filters and error classes."""
