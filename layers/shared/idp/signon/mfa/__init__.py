"""Multi-factor sign-in (contract section 7): authenticator apps (TOTP), passkeys (WebAuthn) and
recovery codes as pure factor logic; the policy that says when a second factor is needed; and the
service that applies both over its ports (the factor store, the seed sealer, the audit log)."""
