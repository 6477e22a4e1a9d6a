"""The composition root: the one place that reads the settings and builds every store, client and
service, once per process. Handlers and the local stack ask `container()` for what they need;
tests build a `Container` of their own (or `use()` one) and `reset()` between environments.

Each part is built on first use, and its imports happen then: the metadata function never pays
for xmlsec, the SCIM client or the provisioning engine (cold start is part of the product).

This module is longer than 400 lines because it is the one composition root: every part of the product is wired
here, each in a few lines, and splitting it would scatter the wiring the rule "one composition root" keeps together.
"""
from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from idp.settings import Settings

if TYPE_CHECKING:  # the types only; the modules load lazily below
    from idp.adapters.admin_token import AdminToken
    from idp.adapters.audit_log import DynamoAuditLog
    from idp.adapters.directory_store import DirectoryStore
    from idp.adapters.event_publisher import EventPublisher
    from idp.adapters.hot_items import HotItems
    from idp.adapters.password_links import PasswordLinks
    from idp.adapters.secrets import SecretStore
    from idp.adapters.signon_keys import DeviceKey
    from idp.adapters.signon_state import SignonState
    from idp.app.account import MyAccount
    from idp.app.app_admin import AppAdmin
    from idp.app.audit_events import AuditEvents
    from idp.app.console_access import ConsoleAccess
    from idp.app.dashboard import Dashboard
    from idp.app.diagnosis import SignInDiagnosis
    from idp.app.group_admin import GroupAdmin
    from idp.app.login_pages import CookieRules, LoginPages
    from idp.app.metadata import AppMetadata
    from idp.app.mfa_admin import MfaAdmin
    from idp.app.notices import AccountNotices
    from idp.app.passkey_sign_in import PasskeySignIn
    from idp.app.password_policy_admin import PasswordPolicyAdmin
    from idp.app.password_reset import PasswordReset
    from idp.app.portal import Portal
    from idp.app.provisioning_admin import ProvisioningAdmin
    from idp.app.sign_in import SignIn
    from idp.app.signon_bridge import SignonHooks
    from idp.app.slo import SingleLogout
    from idp.app.sp_import import SpImport
    from idp.app.sso import SingleSignOn
    from idp.app.user_access import UserAccess
    from idp.app.user_admin import UserAdmin
    from idp.directory.apps import AppService
    from idp.directory.inbound import InboundService
    from idp.directory.lifecycle import UserLifecycle
    from idp.directory.service import DirectoryService
    from idp.directory.sources import SourceService
    from idp.directory.user_imports import ActivationSender, UserImports
    from idp.kernel.audit import AuditSink
    from idp.kernel.mail import Mailer, Postman
    from idp.provisioning.consumer import Consumer
    from idp.provisioning.engine import Engine
    from idp.provisioning.metrics import ProvisioningMetrics
    from idp.provisioning.policy import BreakerSettings
    from idp.provisioning.ports import EntityReads, ProvisioningStores
    from idp.provisioning.reconcile import Reconciler
    from idp.signon.mfa.passkey_service import PasskeyService
    from idp.signon.mfa.service import MfaService
    from idp.signon.service import SignOn

T = TypeVar("T")


def _part(build: Callable[["Container"], T]) -> property:
    """A part of the container: built once, on first use, under the container's lock."""
    name = build.__name__

    def get(self: "Container") -> T:
        try:
            return self._parts[name]
        except KeyError:
            pass
        with self._lock:
            if name not in self._parts:
                self._parts[name] = build(self)
            return self._parts[name]

    get.__doc__ = build.__doc__
    return property(get)


class Container:
    """Everything the product is made of, wired once. Pass `overrides` (part name → object) to swap
    a part for a fake: `Container(settings, table=fake_table)`."""

    def __init__(self, settings: Settings, **overrides: Any):
        self.settings = settings
        self._lock = threading.RLock()
        self._parts: dict[str, Any] = dict(overrides)

    # ------------------------------------------------------------------ AWS
    @_part
    def aws(self):
        """boto3 clients for this process (they follow AWS_ENDPOINT_URL: moto locally)."""
        from idp.adapters.aws import AwsClients

        return AwsClients(self.settings.region)

    @_part
    def table(self):
        """The directory table (DynamoDB resource API)."""
        return self.aws.table(self.settings.table_name)

    @_part
    def table_probe(self):
        """GET /healthz's read of the directory table (short timeouts, no retries)."""
        from idp.adapters.table_probe import TableProbe

        return TableProbe(self.settings.table_name, self.settings.region)

    @_part
    def secrets(self) -> "SecretStore":
        from idp.adapters.secrets import SecretStore

        return SecretStore(self.aws.client("ssm"), self.settings.ssm_prefix)

    @_part
    def sqs(self):
        return self.aws.client("sqs")

    @_part
    def publisher(self) -> "EventPublisher":
        from idp.adapters.event_publisher import EventPublisher

        return EventPublisher(self.sqs, self.settings.events_queue_url)

    # ------------------------------------------------------------------ audit
    @_part
    def audit(self) -> "DynamoAuditLog":
        """The audit log every context records into (idp.kernel.audit.AuditSink) and GET /admin/events reads."""
        from idp.adapters.audit_log import DynamoAuditLog
        from idp.adapters.audit_metrics import AuditMetrics

        return DynamoAuditLog(self.table, self.settings.audit_retention_days,
                              metrics=AuditMetrics(self.settings.metrics_namespace))

    @_part
    def sso_audit(self) -> "AuditSink":
        """Where the SSO's `sso` events go (AUDIT_SSO_DELIVERY): the audit log directly, or one log line each that
        AuditShipFunction writes (idp.adapters.audit_shipping; locally a spool file the stack's shipper delivers)."""
        if self.settings.audit_sso_delivery == "direct":
            return self.audit
        from idp.adapters.audit_shipping import ShippedAuditLog, SpoolLines, StdoutLines

        path = self.settings.audit_spool_path
        return ShippedAuditLog(self.audit, SpoolLines(path) if path else StdoutLines(), metrics=self.audit.metrics)

    # ------------------------------------------------------------------ email
    @_part
    def mailer(self) -> "Mailer":
        """Amazon SES v2 from MAIL_SENDER (the local stack passes its mailbox instead); none configured: a
        mailer that refuses, so each message is logged and counted, never sent."""
        if not self.settings.mail_sender:
            from idp.kernel.mail import NoMailer

            return NoMailer()
        from idp.adapters.ses_mailer import SesMailer

        return SesMailer(self.aws.client("sesv2"), self.settings.mail_sender, self.settings.mail_configuration_set)

    @_part
    def postman(self) -> "Postman":
        """Every email the product sends (idp.kernel.mail.Postman); failures counted as MailSendFailures."""
        from idp.adapters.mail_metrics import MailMetrics
        from idp.kernel.mail import Postman

        return Postman(self.mailer, on_failure=MailMetrics(self.settings.metrics_namespace).send_failed)

    @_part
    def hot_items(self) -> "HotItems":
        """The items every sign-in reads whoever signs in (an app's REV, the MFA policy), kept a second
        (idp.adapters.hot_items); the stores that write them drop the copy as they do."""
        from idp.adapters.hot_items import sign_in_items

        return sign_in_items()

    # ------------------------------------------------------------------ directory
    @_part
    def store(self) -> "DirectoryStore":
        from idp.adapters.directory_store import DirectoryStore

        return DirectoryStore(self.table, quarantine_days=self.settings.idp_released_name_quarantine_days, hot=self.hot_items)

    @_part
    def directory(self) -> "DirectoryService":
        from idp.adapters.password_policy_store import PasswordPolicyStore
        from idp.directory.service import DirectoryService

        return DirectoryService(self.store, self.publisher, signon=self.signon_hooks, audit=self.audit, clock=self.clock,
                                password_policies=PasswordPolicyStore(self.table),
                                password_notice=lambda user, reason: self.notices.password_changed(user, reason))

    @_part
    def signon_hooks(self) -> "SignonHooks":
        """What sign-on hears from the directory (idp.app.signon_bridge), the sign-on parts built when it is called."""
        from idp.app.signon_bridge import SignonHooks

        def keys_needed() -> None:
            self.device_key.ensure()  # password logins are about to happen: their device cookies need the key
            self.mfa.sealer.ensure()  # ... and enrolments in the login function, which may not create the seed key

        return SignonHooks(keys_needed, lambda uid, reason: self.signon.end_sessions(uid, reason))

    @_part
    def notices(self) -> "AccountNotices":
        """The emails telling a user their password or sign-in methods changed (idp.app.notices)."""
        from idp.app.notices import AccountNotices

        return AccountNotices(self.postman, self.settings.configured_base_url, self.store.get_user)

    @_part
    def clock(self) -> Callable[[], float]:
        """Seconds since the epoch for the password lifecycle (tests pass a fake: `Container(settings, clock=...)`)."""
        import time

        return time.time

    @_part
    def password_links(self) -> "PasswordLinks":
        from idp.adapters.password_links import PasswordLinks

        return PasswordLinks(self.table)

    @_part
    def lifecycle(self) -> "UserLifecycle":
        """Activation and password-reset links by email (idp.directory.lifecycle)."""
        from idp.directory.lifecycle import UserLifecycle

        return UserLifecycle(self.directory, self.password_links, self.postman, clock=self.clock)

    @_part
    def apps(self) -> "AppService":
        from idp.directory.apps import AppService

        return AppService(self.directory, self.secrets,
                          on_provisioning_changed=lambda slug: self.provisioning_state.status.reset_app(slug),
                          on_provisioning_moved=lambda slug: self.provisioning_state.mappings.forget_app(slug),
                          allow_local_targets=self.settings.idp_allow_local_targets)

    @_part
    def app_metadata(self) -> "AppMetadata":
        """An app's IdP metadata and signing certificate (idp.app.metadata): the SamlMetadataFunction's routes."""
        from idp.app.metadata import AppMetadata

        return AppMetadata(self.store)

    @_part
    def sources(self) -> "SourceService":
        """Identity sources (HR systems pushing users over SCIM) and their tokens."""
        from idp.directory.sources import SourceService

        return SourceService(self.store, self.directory)

    @_part
    def inbound(self) -> "InboundService":
        """The SCIM 2.0 server's use of the directory, for one source at a time (idp.directory.inbound)."""
        from idp.directory.inbound import InboundService

        return InboundService(self.directory, self.store)

    @_part
    def admin_token(self) -> "AdminToken":
        """The admin API's bearer token, called for its value (idp.adapters.admin_token)."""
        from idp.adapters.admin_token import AdminToken

        return AdminToken(self.settings)

    @_part
    def user_imports(self) -> "UserImports":
        """CSV imports of users (POST /admin/imports/users, its confirmation, the ImportJobFunction)."""
        from idp.adapters.user_import_store import DynamoUserImportStore, SqsImportJobQueue
        from idp.directory.user_imports import UserImports

        return UserImports(DynamoUserImportStore(self.table), SqsImportJobQueue(self.sqs, self.settings.import_queue_url),
                           self.directory, activation=self.import_activation())

    def import_activation(self) -> "ActivationSender | None":
        """What a CSV import confirmed with ``"send_activation": true`` calls for each user it creates: the activation
        email (idp.directory.lifecycle), its link on the configured public base URL."""
        return lambda uid: self.lifecycle.send_activation(uid, self.settings.configured_base_url() or "")

    # ------------------------------------------------------------------ sign-on
    @_part
    def signon_state(self) -> "SignonState":
        """Sessions, pending logins, the replay cache and login throttling (DynamoDB)."""
        from idp.adapters.signon_state import SignonState
        from idp.signon.policy import SignonPolicy

        return SignonState(self.table, SignonPolicy.from_settings(self.settings))

    @_part
    def device_key(self) -> "DeviceKey":
        """The key of the device cookies (an SSM SecureString through the secret store; see idp.adapters.signon_keys)."""
        from idp.adapters.signon_keys import DeviceKey

        return DeviceKey(self.secrets)

    @_part
    def signon(self) -> "SignOn":
        """The sign-on service: the login flow and the IdP session, over the directory and its own state."""
        from idp.app.signon_bridge import SignonDirectory
        from idp.signon.metrics import LoginMetrics
        from idp.signon.service import SignOn

        return SignOn(SignonDirectory(self.store), self.signon_state, device_key=self.device_key.get,
                      metrics=LoginMetrics(self.settings.metrics_namespace), audit=self.audit, mfa=self.mfa)

    @_part
    def sso(self) -> "SingleSignOn":
        """Answer an SSO (idp.app.sso): the SSO URL, and the pages that resume a sign-in once signed in."""
        from idp.app.sso import SingleSignOn

        return SingleSignOn(self.store, self.signon, self.apps, self.sso_audit, sso_reads=self.sso_reads,
                            answer_reads=self.answer_reads)

    @_part
    def sign_in(self) -> "SignIn":
        """Log in and resume what the login was for (idp.app.sign_in): POST /login and POST /login/passkey."""
        from idp.app.sign_in import SignIn

        return SignIn(self.signon, self.sso, self.audit, login_reads=self.login_reads)

    @_part
    def slo(self) -> "SingleLogout":
        """SP-initiated single logout (idp.app.slo)."""
        from idp.app.slo import SingleLogout

        return SingleLogout(self.sso, self.signon, self.audit)

    @_part
    def passkeys(self) -> "PasskeyService":
        """Passkey registration and sign-in (WebAuthn) over the MFA store."""
        from idp.signon.mfa.passkey_service import PasskeyService

        return PasskeyService(self.mfa.store, audit=self.audit, factor_changed=self._factor_changed)

    @_part
    def mfa(self) -> "MfaService":
        """Second factors (TOTP, passkeys, recovery codes) and the MFA policy (idp.signon.mfa)."""
        from idp.adapters.mfa_keys import SeedSealer
        from idp.adapters.mfa_state import MfaState
        from idp.signon.mfa.service import MfaService

        return MfaService(MfaState(self.table, hot=self.hot_items), SeedSealer(self.secrets), self.signon_state, audit=self.audit,
                          app_mfa=lambda slug: (self.store.get_app(slug) or {}).get("mfa"),
                          factor_changed=self._factor_changed)

    def _factor_changed(self, uid: str, factor: str, added: bool) -> None:
        self.notices.factor_changed(uid, factor, added)  # the mailer is built when a factor changes, not at cold start

    def sso_reads(self, slug: str, session_cookie: str | None = None, uid: str | None = None):
        """The read scope of one SSO answer (idp.adapters.answer_reads.sso_reads)."""
        from idp.adapters import answer_reads

        return answer_reads.sso_reads(self.table, self.store.revisions, slug, session_cookie, uid, hot=self.hot_items)

    def answer_reads(self, slug: str, uid: str):
        """The reads of an answer right after a sign-in (idp.adapters.answer_reads.after_sign_in)."""
        from idp.adapters import answer_reads

        return answer_reads.after_sign_in(self.table, self.store.revisions, slug, uid, hot=self.hot_items)

    def login_page_reads(self, login_id: str | None):
        """The read scope of GET /login (idp.adapters.answer_reads.login_page_reads)."""
        from idp.adapters import answer_reads

        return answer_reads.login_page_reads(self.table, login_id, hot=self.hot_items)

    def login_reads(self, login_id: str | None, username: str | None, client: str | None):
        """The read scope of POST /login and the answer it resumes (idp.adapters.answer_reads.login_reads)."""
        from idp.adapters import answer_reads

        return answer_reads.login_reads(self.table, self.store.revisions, login_id, username, client, hot=self.hot_items)

    # ------------------------------------------------------------------ provisioning
    @_part
    def provisioning_state(self) -> "ProvisioningStores":
        """The provisioning state's ports, one per item kind; each log entry is also an audit event pointing at it."""
        from idp.adapters.provisioning.stores import dynamo_stores

        return dynamo_stores(self.table, audit=self.audit)

    @_part
    def breaker(self) -> "BreakerSettings":
        from idp.provisioning.policy import BreakerSettings

        return BreakerSettings.from_settings(self.settings)

    @_part
    def metrics(self) -> "ProvisioningMetrics":
        from idp.provisioning.metrics import ProvisioningMetrics

        return ProvisioningMetrics(self.settings.metrics_namespace)

    @_part
    def scim_tokens(self):
        """slug → the app's SCIM bearer token from the secret store; `fresh` skips the cache (after a 401/403)."""

        def token(slug: str, fresh: bool = False) -> str | None:
            name = f"apps/{slug}/scim-token"
            if fresh:
                self.secrets.invalidate(name)
            return self.secrets.get(name)

        return token

    @_part
    def engine(self) -> "Engine":
        from idp.adapters.aws_faults import retry_after
        from idp.adapters.scim_client import ScimClient
        from idp.provisioning.engine import Engine

        timeout = (self.settings.scim_connect_timeout, self.settings.scim_read_timeout)
        # In AWS every SCIM connection's peer address is checked (after DNS): internal targets are refused.
        factory = ScimClient if self.settings.idp_allow_local_targets else functools.partial(ScimClient, refuse_local=True)
        return Engine(self.store, self.provisioning_state, self.scim_tokens, client_factory=factory,
                      timeout=timeout, on_exchange=self.metrics.exchange, aws_unavailable=retry_after)

    @_part
    def reconciler(self) -> "Reconciler":
        from idp.provisioning.reconcile import Reconciler

        return Reconciler(self.engine, self.breaker)

    @_part
    def provisioning_admin(self) -> "ProvisioningAdmin":
        """Provisioning admin of an app (idp.app.provisioning_admin): the admin API's routes and the console's tabs."""
        from idp.adapters.read_scope import request_reads
        from idp.app.provisioning_admin import ProvisioningAdmin

        stores = self.provisioning_state
        return ProvisioningAdmin(self.reconciler, self.publisher, self.store, stores.log, request_reads,
                                 mappings=stores.mappings, status=stores.status, plog=stores.log)

    @_part
    def dashboard(self) -> "Dashboard":
        """The console's dashboard (idp.app.dashboard), the queues' depths read from SQS."""
        from idp.adapters.event_queue_stats import SqsQueueStats
        from idp.app.dashboard import Dashboard

        queues = SqsQueueStats(self.sqs, self.settings.events_queue_url, self.settings.dlq_url)
        return Dashboard(self.store, self.provisioning_admin, self.audit, queues)

    @_part
    def diagnosis(self) -> "SignInDiagnosis":
        """Sign-in diagnosis (idp.app.diagnosis): the admin API's route and the console's user page."""
        from idp.app.diagnosis import SignInDiagnosis
        def mfa_need(user: dict, slug: str) -> str:
            from idp.signon.models import PendingSignOn

            need = self.mfa.need(user, PendingSignOn.idp(slug))
            return str(getattr(need, "value", need))  # a Need, or its value as a plain string

        return SignInDiagnosis(self.store, self.user_access, self.audit, self.entity_provisioning,
                               locked_for=lambda uid: self.signon_state.throttle("account", uid).wait, mfa_need=mfa_need)

    @_part
    def entity_provisioning(self) -> "EntityReads":
        """One user's or group's provisioning (its mapping and its log) as the diagnosis and the console read it."""
        from idp.provisioning.ports import EntityReads

        return EntityReads(self.provisioning_state.mappings, self.provisioning_state.log)

    @_part
    def user_access(self) -> "UserAccess":
        """Which apps a user may use and through what (idp.app.user_access): the console's user page, the diagnosis."""
        from idp.app.user_access import UserAccess

        return UserAccess(self.store)

    @_part
    def sp_import(self) -> "SpImport":
        """The import of the users an SP already holds (idp.app.sp_import), its reports in the directory table."""
        from idp.adapters.import_reports import DynamoImportReports
        from idp.app.sp_import import SpImport

        return SpImport(self.store, self.directory, self.engine, DynamoImportReports(self.table), self.publisher)

    @_part
    def consumer(self) -> "Consumer":
        from idp.adapters.event_queue import SqsEventQueue
        from idp.provisioning.consumer import Consumer
        from idp.provisioning.dispatch import Dispatcher

        s = self.settings
        dispatcher = Dispatcher(self.engine, self.reconciler, self.breaker, self.metrics)
        return Consumer(dispatcher, queue=SqsEventQueue(self.sqs), queue_url=s.events_queue_url or None,
                        max_receive_count=s.events_max_receive_count, backoff_base=s.scim_backoff_base_seconds,
                        backoff_cap=s.scim_backoff_max_seconds, permanent_delay=s.scim_permanent_retry_seconds,
                        metrics=self.metrics, isolate_apps=True)  # a slow app's shares go to its own message group

    # ------------------------------------------------------------------ use cases: the user's own account and MFA
    @_part
    def my_account(self) -> "MyAccount":
        """The signed-in user's account pages (idp.app.account): the guard, TOTP, passkeys added, recovery codes,
        renaming and removing factors, the password change, resuming a sign-in an enrolment paused."""
        from idp.app.account import MyAccount

        return MyAccount(self.signon, self.mfa, passkeys=lambda: self.passkeys, directory=lambda: self.directory,
                         sso=lambda: self.sso)

    @_part
    def passkey_sign_in(self) -> "PasskeySignIn":
        """Sign in with a passkey (idp.app.passkey_sign_in): POST /login/passkey/options and POST /login/passkey."""
        from idp.app.passkey_sign_in import PasskeySignIn

        return PasskeySignIn(self.signon, self.mfa, self.signon_state, passkeys=lambda: self.passkeys,
                             sign_in=self.sign_in)

    @_part
    def mfa_admin(self) -> "MfaAdmin":
        """MFA administration (idp.app.mfa_admin): the policy, a user's factors, a user's reset."""
        from idp.app.mfa_admin import MfaAdmin

        return MfaAdmin(self.mfa, self.directory, ensure_seed_key=self.mfa.sealer.ensure)

    @_part
    def login_pages(self) -> "LoginPages":
        """The login pages (idp.app.login_pages): GET /login, the form after a try, starting a login or a step-up,
        pausing a sign-in for enrolment, the MFA gate of the IdP's own pages, POST /logout."""
        from idp.app.login_pages import LoginPages

        return LoginPages(self.signon, self.mfa, self.store, page_reads=self.login_page_reads)

    @_part
    def cookie_rules(self) -> "CookieRules":
        """The sign-on cookies' security and lifetimes (idp.app.login_pages.CookieRules): the settings' and sign-on's."""
        from idp.app.login_pages import CookieRules

        policy = self.signon_state.policy
        return CookieRules(self.settings.idp_insecure_cookies, policy.session_lifetime, policy.device_lifetime,
                           policy.login_state_ttl)

    @_part
    def console_access(self) -> "ConsoleAccess":
        """Who may open a console page (idp.app.console_access): an administrator past the policy's second factor."""
        from idp.app.console_access import ConsoleAccess

        return ConsoleAccess(self.signon, self.login_pages)

    @_part
    def portal(self) -> "Portal":
        """The user portal, GET / (idp.app.portal): the apps the signed-in user may open."""
        from idp.app.portal import Portal

        return Portal(self.signon, self.store)

    @_part
    def password_reset(self) -> "PasswordReset":
        """The password lifecycle's public pages (idp.app.password_reset): "Forgot password?" and the link's form."""
        from idp.app.password_reset import PasswordReset

        return PasswordReset(self.lifecycle)

    # ------------------------------------------------------------------ use cases: the console and the admin API
    @_part
    def user_admin(self) -> "UserAdmin":
        """Users as an administrator sees and changes them (idp.app.user_admin): the console's Users pages and the
        admin API's user routes."""
        from idp.app.user_admin import UserAdmin

        return UserAdmin(self.directory, self.store, self.entity_provisioning, self.lifecycle, self.user_access,
                         self.diagnosis, self.mfa)

    @_part
    def app_admin(self) -> "AppAdmin":
        """Applications as an administrator sees them, and their access bindings (idp.app.app_admin): the console's
        Applications pages and the admin API's app listing."""
        from idp.app.app_admin import AppAdmin

        return AppAdmin(self.store, self.directory, self.user_admin)

    @_part
    def audit_events(self) -> "AuditEvents":
        """The audit log as an administrator reads it (idp.app.audit_events): GET /admin/events and the console's
        Events page."""
        from idp.app.audit_events import AuditEvents

        return AuditEvents(self.audit, self.store)

    @_part
    def password_policy_admin(self) -> "PasswordPolicyAdmin":
        """The password policy as an administrator reads and sets it (idp.app.password_policy_admin):
        GET|PUT /admin/password-policy and the console's Settings page."""
        from idp.app.password_policy_admin import PasswordPolicyAdmin

        return PasswordPolicyAdmin(self.directory)

    @_part
    def group_admin(self) -> "GroupAdmin":
        """Groups as an administrator sees them (idp.app.group_admin): the console's Groups pages and the admin
        API's group listing."""
        from idp.app.group_admin import GroupAdmin

        return GroupAdmin(self.directory, self.store)


_current: Container | None = None
_current_lock = threading.Lock()


def container() -> Container:
    """The process's container, built from the environment on first use (a bad value fails here)."""
    global _current
    if _current is None:
        with _current_lock:
            if _current is None:
                _current = Container(Settings.load())
    return _current


def use(replacement: Container) -> Container:
    """Make `replacement` the process's container (tests, the local stack)."""
    global _current
    _current = replacement
    return replacement


def reset() -> None:
    """Forget the process's container; the next `container()` reads the environment again."""
    global _current
    _current = None
