"""The whole stack on one machine (`make run`): moto as the embedded AWS, resources from template.yaml,
the same routes Lambda serves (under uvicorn), the SQS event source, the schedules, the OfficeSpace
stand-in and a demo directory."""
from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("idp_local")

DEV_ADMIN_TOKEN = "dev-admin-token-0123456789"
STACK_NAME = "officespace-idp-local"


def repo_root() -> Path:
    """The checkout holding template.yaml (IDP_ROOT, else found from this file or the working directory)."""
    candidates = [os.environ.get("IDP_ROOT"), Path(__file__).resolve().parents[2], Path.cwd()]
    for cand in candidates:
        if cand and (Path(cand) / "template.yaml").exists():
            return Path(cand)
    raise SystemExit("template.yaml not found: run from the repository or set IDP_ROOT")


def load_function(root: Path, name: str):
    """Import functions/<name>/app.py under a unique module name and return its lambda_handler."""
    path = root / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"functions_{name}_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


@dataclass
class StackConfig:
    host: str = "127.0.0.1"
    port: int = 3000
    standin_port: int = 3001
    admin_token: str = DEV_ADMIN_TOKEN
    demo: bool = True
    standin: bool = True
    reconcile_seconds: float = 3600.0
    outbox_seconds: float = 5.0
    visibility_timeout: int | None = None  # override the template's (tests shorten it)
    consumers: int = 4  # LOCAL_CONSUMERS: SQS pollers at once, as Lambda runs concurrent invocations (distinct groups)
    exposed_ok: bool = False  # IDP_LOCAL_EXPOSED_OK=1: the person knows the published secrets are listening
    aws_endpoint: str | None = None  # AWS_ENDPOINT_URL: another AWS-compatible endpoint instead of the embedded AWS
    # With AUDIT_SSO_DELIVERY=log: the spool's shipper (LOCAL_AUDIT_SHIPPER=0 leaves the spool undelivered) and
    # its period (LOCAL_AUDIT_SHIP_SECONDS)
    audit_shipper: bool = True
    audit_ship_seconds: float = 0.25

    @classmethod
    def from_env(cls) -> "StackConfig":
        env = os.environ
        return cls(
            host=env.get("HOST", "127.0.0.1"),
            port=int(env.get("PORT", "3000")),
            standin_port=int(env.get("STANDIN_PORT", "3001")),
            admin_token=env.get("ADMIN_TOKEN") or DEV_ADMIN_TOKEN,
            demo=env.get("DEMO", "1") != "0",
            standin=env.get("STANDIN", "1") != "0",
            reconcile_seconds=float(env.get("RECONCILE_SECONDS", "3600")),
            outbox_seconds=float(env.get("LOCAL_OUTBOX_SECONDS", "5")),
            visibility_timeout=int(env["LOCAL_VISIBILITY_TIMEOUT"]) if env.get("LOCAL_VISIBILITY_TIMEOUT") else None,
            consumers=max(1, int(env.get("LOCAL_CONSUMERS", "4"))),
            exposed_ok=env.get("IDP_LOCAL_EXPOSED_OK") == "1",
            aws_endpoint=env.get("AWS_ENDPOINT_URL") or None,
            audit_shipper=env.get("LOCAL_AUDIT_SHIPPER", "1") != "0",
            audit_ship_seconds=float(env.get("LOCAL_AUDIT_SHIP_SECONDS", "0.25")),
        )

    def exposure_problem(self) -> str | None:
        """Why this configuration must not listen where other machines reach it, or None.
        The development admin token and the demo passwords are printed in the README: on a
        non-loopback address anybody on the network could use them."""
        from idp.kernel.targets import is_loopback_host

        if is_loopback_host(self.host) or self.exposed_ok:
            return None
        published = []
        if self.admin_token == DEV_ADMIN_TOKEN:
            published.append("the published development admin token (set ADMIN_TOKEN)")
        if self.demo:
            published.append("the demo users' published passwords (set DEMO=0)")
        if not published:
            return None
        return (f"refusing to listen on {self.host}, which other machines can reach, with "
                + " and ".join(published) + "; or set IDP_LOCAL_EXPOSED_OK=1 if you really mean it")


@dataclass
class LocalStack:
    config: StackConfig
    root: Path = field(default_factory=repo_root)
    moto_server: object = None
    resources: object = None
    event_source: object = None
    import_source: object = None  # the CSV import job's queue -> ImportJobFunction
    audit_shipper: object = None  # AUDIT_SSO_DELIVERY=log: the spool -> AuditShipFunction (idp_local.audit_shipper)
    schedules: list = field(default_factory=list)
    standin: object = None
    demo_info: dict | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    def start_aws(self) -> None:
        """Start moto on loopback (or use AWS_ENDPOINT_URL's endpoint: contract section 13) and create what
        template.yaml declares there, keeping what already exists."""
        os.environ.update({
            "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "officespace-idp",
            "POWERTOOLS_METRICS_NAMESPACE": "OfficeSpaceIdP", "POWERTOOLS_METRICS_DISABLED": "true",
        })
        credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
        if self.config.aws_endpoint:
            for key, value in credentials.items():  # the endpoint's own, when the person set them
                os.environ.setdefault(key, value)
            os.environ["AWS_ENDPOINT_URL"] = self.config.aws_endpoint
            log.info("using the AWS endpoint %s (AWS_ENDPOINT_URL) instead of the embedded AWS", self.config.aws_endpoint)
        else:
            os.environ.update(credentials)
            from idp_local.moto_server import EmbeddedAwsProcess

            self.moto_server = EmbeddedAwsProcess(ip_address="127.0.0.1")
            self.moto_server.start()
            host, port = self.moto_server.get_host_and_port()
            os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"

        from idp_local.cfn import load_template
        from idp_local.resources import create_from_template

        template = load_template(self.root / "template.yaml")
        self.resources = create_from_template(template, STACK_NAME, self.config.admin_token)
        if self.config.visibility_timeout is not None:
            import boto3

            boto3.client("sqs").set_queue_attributes(
                QueueUrl=self.resources.queue_url, Attributes={"VisibilityTimeout": str(self.config.visibility_timeout)}
            )
        os.environ.update({
            "TABLE_NAME": self.resources.table_name,
            "EVENTS_QUEUE_URL": self.resources.queue_url,
            "DLQ_URL": self.resources.dlq_url,
            "EVENTS_MAX_RECEIVE_COUNT": str(self.resources.max_receive_count),
            "IMPORT_QUEUE_URL": self.resources.import_queue_url,
            "IMPORT_MAX_RECEIVE_COUNT": str(self.resources.import_max_receive_count),
            "SSM_PREFIX": f"/{STACK_NAME}",
            "ADMIN_TOKEN": self.config.admin_token,
            "PUBLIC_BASE_URL": self.base_url,
            # The stand-in (SCIM server, SP) runs on this machine, over plain http.
            "IDP_ALLOW_LOCAL_TARGETS": "1",
        })
        if os.environ.get("AUDIT_SSO_DELIVERY") == "log" and not os.environ.get("AUDIT_SPOOL_PATH"):
            # the SSO's audit lines go to a spool file the stack's shipper delivers (never stdout here)
            import tempfile

            os.environ["AUDIT_SPOOL_PATH"] = str(Path(tempfile.gettempdir()) / STACK_NAME / "audit.spool")
        if self.config.host not in ("127.0.0.1", "localhost", "::1"):
            # Served over plain http on a non-loopback address: Secure cookies would be dropped.
            os.environ["IDP_INSECURE_COOKIES"] = "1"
        from idp import bootstrap
        from idp.settings import Settings
        from idp_local.mailbox import LocalMailbox

        # The environment changed: build the container afresh (a bad value fails here), with the local mailbox
        # as its mailer: `make run` sends no email, it keeps each message (GET /_local/mail).
        self.mailbox = LocalMailbox()
        bootstrap.use(bootstrap.Container(Settings.load(), mailer=self.mailbox))

    def start_workers(self) -> None:
        """The SQS event source for the push function and the schedules (outbox relay, reconcile)."""
        import boto3

        from idp_local.event_source import LambdaContext, Schedule, SqsEventSource

        push = load_function(self.root, "scim_push")
        reconcile = load_function(self.root, "reconcile")
        self.event_source = SqsEventSource(
            boto3.client("sqs"), self.resources.queue_url, self.resources.queue_arn, push,
            batch_size=self.resources.batch_size, wait_seconds=1, pollers=self.config.consumers,
        )
        self.event_source.start()
        if self.resources.import_queue_url:  # the CSV import job, as Lambda's event source mapping runs it
            self.import_source = SqsEventSource(
                boto3.client("sqs"), self.resources.import_queue_url, self.resources.import_queue_arn,
                load_function(self.root, "import_job"), batch_size=self.resources.import_batch_size, wait_seconds=1,
                pollers=self.config.consumers)
            self.import_source.start()
        self.start_audit_shipper()
        scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
        self.schedules = [
            Schedule(self.config.outbox_seconds, lambda: reconcile({**scheduled, "detail": {"job": "outbox"}}, LambdaContext("ReconcileFunction")), "outbox"),
            Schedule(self.config.reconcile_seconds, lambda: reconcile(scheduled, LambdaContext("ReconcileFunction")), "reconcile"),
        ]
        for schedule in self.schedules:
            schedule.start()

    def start_audit_shipper(self) -> None:
        """AUDIT_SSO_DELIVERY=log: the spool's lines to AuditShipFunction, as the log group's subscription does."""
        from idp.bootstrap import container

        settings = container().settings
        if settings.audit_sso_delivery != "log" or not self.config.audit_shipper:
            return
        if not settings.audit_spool_path:
            raise SystemExit("AUDIT_SSO_DELIVERY=log needs AUDIT_SPOOL_PATH locally (the stack sets one when empty)")
        from idp_local.audit_shipper import AuditShipper

        self.audit_shipper = AuditShipper(Path(settings.audit_spool_path), load_function(self.root, "audit_ship"),
                                          self.config.audit_ship_seconds)
        self.audit_shipper.start()
        log.info("shipping the SSO's audit lines from %s every %.2f s", settings.audit_spool_path,
                 self.config.audit_ship_seconds)

    def start_standin(self) -> None:
        if not self.config.standin:
            return
        try:
            from officespace_standin.server import start_standin
        except ImportError:
            log.warning("OfficeSpace stand-in not installed; starting without it")
            return
        # STANDIN_SCIM_TOKEN: a known SCIM token (tests configure a second app against the stand-in); else random.
        self.standin = start_standin(self.config.host, self.config.standin_port, idp_base_url=self.base_url,
                                     scim_token=os.environ.get("STANDIN_SCIM_TOKEN") or None)

    def seed(self) -> None:
        if self.config.demo:
            from idp_local.demo import seed_demo

            self.demo_info = seed_demo(self)

    def asgi_app(self):
        from idp_local.app import build_app

        return build_app(lambda: None if self.event_source and self.event_source.ready.is_set() else "consumer loop not polling yet",
                         mailbox=getattr(self, "mailbox", None))

    def stop(self) -> None:
        for schedule in self.schedules:
            schedule.stop()
        for source in (self.event_source, self.import_source, self.audit_shipper):
            if source:
                source.stop()
        if self.standin and hasattr(self.standin, "stop"):
            self.standin.stop()
        if self.moto_server:
            self.moto_server.stop()


def banner(stack: LocalStack) -> str:
    lines = [
        "",
        "OfficeSpace IdP local stack is up",
        f"  API and IdP           {stack.base_url}   (health: {stack.base_url}/healthz)",
        f"  AWS                   {os.environ.get('AWS_ENDPOINT_URL')}   "
        f"({'AWS_ENDPOINT_URL' if stack.config.aws_endpoint else 'embedded'})",
        f"  Admin token           {stack.config.admin_token}",
        f"  User portal / login   {stack.base_url}/  ,  {stack.base_url}/login",
        f"  Account (MFA)         {stack.base_url}/account   (passkeys: open http://localhost:{stack.config.port}/; "
        "an IP address cannot be a WebAuthn RP ID)",
        f"  Identity sources      {stack.base_url}/scim/v2   (SCIM 2.0 in: POST /admin/sources gives a token; console: Sources)",
    ]
    if stack.standin is not None:
        lines.append(f"  OfficeSpace stand-in  http://{stack.config.host}:{stack.config.standin_port}/   (SCIM: /scim/v2)")
        if getattr(stack.standin, "scim_base_url", None):
            lines.append(f"  Stand-in SCIM         {stack.standin.scim_base_url}   token {stack.standin.scim_token}")
    if stack.demo_info:
        lines.append("  Demo logins:")
        for user in stack.demo_info["users"]:
            lines.append(f"    {user['username']:<8} {user['password']:<22} {user['note']}")
        lines.append(f"  Demo app              {stack.base_url}/saml2/officespace/metadata")
        admins = [u for u in stack.demo_info["users"] if "admin" in (u.get("roles") or [])]
        if admins:
            lines.append(f"  Admin console         {stack.base_url}/console   (sign in as {admins[0]['username']} / {admins[0]['password']})")
    lines.append("  Ctrl-C stops everything.")
    return "\n".join(lines)


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from idp_local.console_log import install

    install(os.environ.get("LOG_LEVEL", "INFO"))
    for noisy in ("werkzeug", "botocore", "urllib3", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import uvicorn

    config = StackConfig.from_env()
    problem = config.exposure_problem()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 2
    stack = LocalStack(config)
    try:
        stack.start_aws()
        stack.start_standin()
        stack.start_workers()
        stack.seed()
        server = uvicorn.Server(uvicorn.Config(stack.asgi_app(), host=stack.config.host, port=stack.config.port,
                                               log_level="warning", lifespan="off"))

        def announce():
            while not server.started:
                threading.Event().wait(0.05)
            print(banner(stack), flush=True)

        threading.Thread(target=announce, daemon=True).start()
        try:
            server.run()  # returns on Ctrl-C / SIGTERM
        except KeyboardInterrupt:  # uvicorn re-raises the captured Ctrl-C once it has shut down
            pass
    finally:
        stack.stop()
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
