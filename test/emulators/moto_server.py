#!/usr/bin/env python3
"""Moto server (all services) for the test suite, plus a fast IAM seeding endpoint.

Usage: python3 test/emulators/moto_server.py [--port N | N] [--host 127.0.0.1]
                                             [--log-requests] [--exit-on-stdin-eof]
Prints exactly one line "READY <port>" on stdout once the socket is listening
(--port 0 binds a free port).

Extra endpoints, handled by a WSGI middleware in front of moto's own app:
  POST /_seed/iam    JSON spec -> optional account alias and roles, then users, login
                     profiles, MFA, tags and backdated access keys, written straight into
                     moto's IAM backend (no per-user HTTP; 5,000 users take < 1 s).
  POST /_seed/credential-report
                     {"accountId"?, "generatedAt"?, "content"?} -> a credential report as another
                     tool (or an earlier run) would have left it: the CSV of this moment (or
                     "content", served verbatim: broken reports), frozen, with GeneratedTime =
                     generatedAt (default now). GenerateCredentialReport keeps it while it is
                     younger than 4 hours, like IAM; older, it is regenerated (live again).
  POST /_seed/credential-report/forget
                     {} -> every account's credential report is gone, as if the last was more than
                     4 hours old: the next GenerateCredentialReport answers STARTED and makes a new
                     one. Benchmarks call it before each run so that every run pays the generation.
  POST /_seed/reset  resets every moto backend (same as POST /moto-api/reset).

Moto 5.2.1 facts this relies on / works around (checked in moto/iam/models.py,
moto/iam/responses.py, moto/sts/models.py, moto/core/responses.py):

* Which attributes drive what:
  - User.create_date     -> ListUsers/GetUser CreateDate, GetLoginProfile CreateDate,
                            CSV user_creation_time (and moto used it for password_last_changed).
  - User.password        -> GetLoginProfile (NoSuchEntity when falsy), CSV password_enabled.
  - User.password_last_used -> ListUsers PasswordLastUsed, CSV password_last_used.
  - User.mfa_devices     -> ListMFADevices (EnableDate = MFADevice.enable_date), CSV mfa_active.
  - User.access_keys (list order = key_1, key_2); AccessKey.create_date -> ListAccessKeys
    CreateDate and CSV access_key_N_last_rotated; AccessKey.status -> access_key_N_active;
    AccessKey.last_used (AccessKeyLastUsed(timestamp, service, region)) -> GetAccessKeyLastUsed
    and CSV access_key_N_last_used_date.
* Dates: moto stores naive UTC datetimes. XML responses use "%Y-%m-%dT%H:%M:%SZ" (or
  ".%fZ" when microseconds != 0); the CSV uses "%Y-%m-%dT%H:%M:%S+00:00" like real AWS.
  Seeded dates are therefore normalised to UTC and truncated to whole seconds so that
  the API and the CSV agree exactly.
* Credential report: the first GenerateCredentialReport returns State=STARTED, every later
  one COMPLETE (until reset), but the report is usable immediately after STARTED (real AWS
  would answer ReportInProgress). GetCredentialReport before any Generate -> ReportNotPresent.
  The CSV is rendered live at Get time (not a snapshot), has no "<root_account>" row, and
  moto hard-codes GeneratedTime=2015-02-02T20:02:02Z. PATCHED: GeneratedTime is the real
  generation time, a report 4 hours old is regenerated, and /_seed/credential-report freezes
  one (real IAM serves the CSV of generation time: keys created since are not in it).
* Moto's CSV always writes "not_supported" for access_key_N_last_used_region/_service and
  for password_next_rotation, and uses the creation date as password_last_changed even
  without a password. PATCHED below (User.to_csv replaced): region/service come from
  AccessKey.last_used, "N/A" is used where real AWS writes it, GeneratedTime is the
  real generation time.
* ListUsers ignores MaxItems/Marker (always one page, IsTruncated=false). PATCHED below:
  pages of MaxItems (default 100, 1..1000 like AWS) with an opaque numeric Marker.
* Every request re-lists moto's package directory to route it: PATCHED to a cached tuple.
* GetAccessKeyLastUsed scans every key of every user of every account per call (O(n));
  PATCHED with a dict lookup fast path so that 10k-key inventories stay fast.
* AssumeRole (not AssumeRoleWithWebIdentity) of a role that does not exist in its account is
  refused with AccessDenied, as real STS does: PATCHED (moto would hand out credentials).
* Signing a request with a moto-known access key makes moto overwrite that key's
  last_used with "now" (mark_account_as_visited): do not call AWS with seeded user keys
  if their backdated last-used must survive. Unknown keys (e.g. "testing") are ignored
  and resolve to the default account 123456789012.
* STS AssumeRole/AssumeRoleWithWebIdentity do not require the role to exist nor validate the
  token; the temporary ASIA... key is created in the account named in the role ARN, so
  later IAM calls signed with it are served from THAT account's IAM backend
  (seed that account with "accountId"). GetCallerIdentity then reports that account.
* MFA: a virtual MFA device "arn:aws:iam::<acct>:mfa/<user>" is created and enabled;
  its EnableDate is set to the user's creation date.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

try:
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    import moto.backends as moto_backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.responses import ActionResult
    from moto.iam import responses as iam_responses
    from moto.iam.exceptions import ValidationError
    from moto.iam.models import AccessKeyLastUsed, IAMBackend, User, iam_backends
    from moto.moto_api._internal import moto_api_backend
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse as STSResponse
except ImportError as err:  # the TS launcher greps for this marker
    print(f"MOTO_IMPORT_ERROR: {err}", file=sys.stderr, flush=True)
    sys.exit(3)

PARTITION = "aws"
REGION = "us-east-1"
CSV_DATE = "%Y-%m-%dT%H:%M:%S+00:00"
SEED_PASSWORD = "Seeded-Passw0rd!"
# Moto never evaluates trust policies; this one just documents the intended federation.
DEFAULT_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Federated": "sts.windows.net"},
                   "Action": "sts:AssumeRoleWithWebIdentity"}],
}
SEED_LOCK = threading.Lock()  # werkzeug is threaded; moto's dicts are not


# --------------------------------------------------------------------------- patches
def _csv_date(value: datetime | None) -> str:
    return "N/A" if value is None else value.strftime(CSV_DATE)


def _key_columns(user: User, index: int) -> list[str]:
    if index >= len(user.access_keys):
        return ["false", "N/A", "N/A", "N/A", "N/A"]
    key = user.access_keys[index]
    used = key.last_used
    if isinstance(used, AccessKeyLastUsed):
        used_cols = [_csv_date(used.timestamp), used.region or "N/A", used.service or "N/A"]
    elif isinstance(used, datetime):  # some callers assign a bare datetime (moto #5927)
        used_cols = [_csv_date(used), "N/A", "N/A"]
    else:
        used_cols = ["N/A", "N/A", "N/A"]
    return ["true" if key.status == "Active" else "false", _csv_date(key.create_date), *used_cols]


def _user_to_csv(self: User) -> str:
    """Same columns as moto/AWS, but with the values real AWS writes."""
    if self.password:
        password_last_used = _csv_date(self.password_last_used) if self.password_last_used else "no_information"
        changed = getattr(self, "password_last_changed", None) or self.create_date
        password_cols = ["true", password_last_used, _csv_date(changed)]
    else:
        password_cols = ["false", "N/A", "N/A"]
    certs = list(self.signing_certificates.values())[:2]
    cert_cols: list[str] = []
    for i in range(2):
        active = i < len(certs) and certs[i].status == "Active"
        cert_cols += ["true" if active else "false", "N/A"]
    fields = [
        self.name,
        self.arn,
        _csv_date(self.create_date),
        *password_cols,
        "N/A",  # password_next_rotation: seeding never sets a rotation policy
        "true" if self.mfa_devices else "false",
        *_key_columns(self, 0),
        *_key_columns(self, 1),
        *cert_cols,
    ]
    return ",".join(fields) + "\n"


_original_generate_report = IAMBackend.generate_report
_original_get_report = IAMBackend.get_credential_report
REPORT_LIFETIME = timedelta(hours=4)  # IAM reuses a report younger than this


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _report_expired(self: IAMBackend) -> bool:
    generated = getattr(self, "credential_report_generated_at", None)
    return generated is None or _utcnow() - generated >= REPORT_LIFETIME


def _report_generated(self: IAMBackend) -> bool:
    # GenerateCredentialReport answers COMPLETE for a usable report, STARTED when it makes a new one.
    return bool(self.credential_report) and not _report_expired(self)


def _generate_report(self: IAMBackend) -> None:
    # moto hard-codes GeneratedTime; remember the generation like AWS would, and regenerate at 4 h.
    if not self.credential_report or _report_expired(self):
        self.credential_report_generated_at = _utcnow()
        self.credential_report_frozen = None
    _original_generate_report(self)


def _get_credential_report(self: iam_responses.IamResponse) -> ActionResult:
    frozen = getattr(self.backend, "credential_report_frozen", None)
    report = frozen if frozen is not None else self.backend.get_credential_report()
    generated = getattr(self.backend, "credential_report_generated_at", None) or datetime(2015, 2, 2, 20, 2, 2)
    return ActionResult({"Content": report, "ReportFormat": "text/csv", "GeneratedTime": generated})


def _list_users(self: iam_responses.IamResponse) -> ActionResult:
    path_prefix = self._get_param("PathPrefix")
    marker = self._get_param("Marker")
    max_items = int(self._get_param("MaxItems") or 100)
    if not 1 <= max_items <= 1000:
        raise ValidationError("MaxItems must be between 1 and 1000")
    users = list(self.backend.list_users(path_prefix, None, None))
    start = int(marker) if marker and marker.isdigit() else 0
    page = users[start : start + max_items]
    result: dict[str, Any] = {"Users": page, "IsTruncated": start + max_items < len(users)}
    if result["IsTruncated"]:
        result["Marker"] = str(start + max_items)
    return ActionResult(result)


_original_last_used = IAMBackend.get_access_key_last_used


def _get_access_key_last_used(self: IAMBackend, access_key_id: str) -> dict[str, Any]:
    key = self.access_keys.get(access_key_id)
    user = self.users.get(key.user_name) if key is not None and key.user_name else None
    if key is not None and user is not None and key in user.access_keys:
        return {"user_name": key.user_name, "last_used": key.last_used}
    return _original_last_used(self, access_key_id)  # other accounts / unknown key


def install_patches() -> None:
    # moto re-lists its package directory (~180 stat calls) on every request to route it;
    # the list never changes, so compute it once. Halves server time per API call.
    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    User.to_csv = _user_to_csv  # type: ignore[method-assign]
    IAMBackend.generate_report = _generate_report  # type: ignore[method-assign]
    IAMBackend.report_generated = _report_generated  # type: ignore[method-assign]
    IAMBackend.get_access_key_last_used = _get_access_key_last_used  # type: ignore[method-assign]
    iam_responses.IamResponse.get_credential_report = _get_credential_report  # type: ignore[method-assign]
    iam_responses.IamResponse.list_users = _list_users  # type: ignore[method-assign]
    _original_assume_role = STSResponse.assume_role

    # Moto lets anyone assume any role ARN, existing or not. Real STS refuses a role that does not
    # exist (AccessDenied), which is how a member account without the collector role looks from the
    # hub: refuse it too for the AssumeRole action (web identity federation is left as moto has it).
    def _assume_existing_role(self: STSResponse) -> Any:
        role_arn = self._get_param("RoleArn") or ""
        parts = role_arn.split(":")
        account_id = parts[4] if len(parts) > 5 else ""
        role_name = role_arn.split("/")[-1]
        roles = iam_backends[account_id][PARTITION].roles.values() if account_id else []
        if not any(role.name == role_name for role in roles):
            raise STSClientError(
                "AccessDenied",
                f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            )
        return _original_assume_role(self)

    STSResponse.assume_role = _assume_existing_role  # type: ignore[method-assign]


# --------------------------------------------------------------------------- seeding
def parse_date(value: Any, field: str) -> datetime:
    """ISO-8601 -> naive UTC, whole seconds (see module docstring)."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected an ISO-8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise ValueError(f"{field}: {err}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class SeedConflict(Exception):
    """A seeded name already exists (HTTP 409)."""


def validate(spec: Any) -> list[dict[str, Any]]:
    """Parse every date up front so a bad spec never leaves a half-seeded backend."""
    if not isinstance(spec, dict) or not isinstance(spec.get("users", []), list):
        raise ValueError('body must be {"users": [...]}')
    for i, role in enumerate(spec.get("roles") or []):
        if not isinstance(role, dict) or not isinstance(role.get("name"), str):
            raise ValueError(f"roles[{i}].name is required")
    users: list[dict[str, Any]] = []
    for i, raw in enumerate(spec.get("users", [])):
        where = f"users[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ValueError(f"{where}.name is required")
        keys = raw.get("keys") or []
        if len(keys) > 2:
            raise ValueError(f"{where}: IAM allows at most 2 access keys per user")
        parsed_keys = []
        for k, key in enumerate(keys):
            status = key.get("status", "Active")
            if status not in ("Active", "Inactive"):
                raise ValueError(f"{where}.keys[{k}].status must be Active or Inactive")
            last = key.get("lastUsed")
            parsed_keys.append({
                "createDate": parse_date(key.get("createDate"), f"{where}.keys[{k}].createDate")
                if key.get("createDate") else None,
                "status": status,
                "lastUsed": None if not last else AccessKeyLastUsed(
                    timestamp=parse_date(last.get("date"), f"{where}.keys[{k}].lastUsed.date"),
                    service=last.get("service") or "N/A",
                    region=last.get("region") or "N/A",
                ),
            })
        users.append({
            "name": raw["name"],
            "path": raw.get("path") or "/",
            "createDate": parse_date(raw["createDate"], f"{where}.createDate") if raw.get("createDate") else None,
            "passwordEnabled": bool(raw.get("passwordEnabled")),
            "passwordLastUsed": parse_date(raw["passwordLastUsed"], f"{where}.passwordLastUsed")
            if raw.get("passwordLastUsed") else None,
            "mfaActive": bool(raw.get("mfaActive")),
            "keys": parsed_keys,
            "tags": [{"Key": str(t["key"]), "Value": str(t.get("value", ""))} for t in raw.get("tags") or []],
        })
    return users


def seed_iam(spec: dict[str, Any]) -> dict[str, Any]:
    users = validate(spec)
    account_id = str(spec.get("accountId") or DEFAULT_ACCOUNT_ID)
    backend: IAMBackend = iam_backends[account_id][PARTITION]
    names = [u["name"] for u in users]
    role_names = [r["name"] for r in spec.get("roles") or []]
    existing_roles = {role.name for role in backend.roles.values()}
    clash = [n for n in names if n in backend.users] + [n for n in role_names if n in existing_roles]
    clash += [n for n, count in Counter(names).items() if count > 1]
    if clash:
        raise SeedConflict(f"names already exist or are duplicated: {', '.join(sorted(set(clash))[:5])}")
    if spec.get("accountAlias"):
        backend.create_account_alias(spec["accountAlias"])
    roles_out = []
    for r in spec.get("roles") or []:
        role = backend.create_role(
            role_name=r["name"],
            assume_role_policy_document=json.dumps(r.get("assumeRolePolicyDocument") or DEFAULT_TRUST),
            path=r.get("path") or "/",
            permissions_boundary=None,
            description=r.get("description") or "",
            tags=[],
            max_session_duration=None,
        )
        roles_out.append({"name": role.name, "arn": role.arn})
    out = []
    for u in users:
        user = backend.create_user(REGION, u["name"], path=u["path"], tags=u["tags"])
        # Whole seconds even for "now", otherwise the XML (µs) and the CSV (s) disagree.
        user.create_date = u["createDate"] or user.create_date.replace(microsecond=0)
        if u["passwordEnabled"]:
            user.password = SEED_PASSWORD
            user.password_last_changed = user.create_date  # read by the patched to_csv
            user.password_last_used = u["passwordLastUsed"]
        if u["mfaActive"]:
            device = backend.create_virtual_mfa_device(u["name"], "/")
            backend.enable_mfa_device(u["name"], device.serial_number, "123456", "654321")
            device.enable_date = user.create_date
            user.mfa_devices[device.serial_number].enable_date = user.create_date
        keys_out = []
        for k in u["keys"]:
            key = backend.create_access_key(u["name"], status=k["status"])
            key.create_date = k["createDate"] or key.create_date.replace(microsecond=0)
            key.last_used = k["lastUsed"]
            keys_out.append({
                "accessKeyId": key.access_key_id,
                "secretAccessKey": key.secret_access_key,
                "createDate": iso(key.create_date),
            })
        out.append({"name": user.name, "arn": user.arn, "keys": keys_out})
    return {"accountId": account_id, "roles": roles_out, "users": out}


def seed_credential_report(spec: Any) -> dict[str, Any]:
    """Freezes the account's report as of now (or as given), dated generatedAt."""
    if not isinstance(spec, dict):
        raise ValueError('body must be {"accountId"?, "generatedAt"?, "content"?}')
    content = spec.get("content")
    if content is not None and not isinstance(content, str):
        raise ValueError("content must be a string")
    generated = parse_date(spec["generatedAt"], "generatedAt") if spec.get("generatedAt") else _utcnow()
    account_id = str(spec.get("accountId") or DEFAULT_ACCOUNT_ID)
    backend: IAMBackend = iam_backends[account_id][PARTITION]
    backend.credential_report = True
    backend.credential_report_frozen = content if content is not None else _original_get_report(backend)
    backend.credential_report_generated_at = generated
    return {"accountId": account_id, "generatedAt": iso(generated)}


def forget_credential_reports(spec: Any) -> dict[str, Any]:
    """Every account's report is gone: the next GenerateCredentialReport starts a new one."""
    if spec not in ({}, None):
        raise ValueError("body must be {}")
    accounts = 0
    for account in iam_backends.values():
        backend: IAMBackend = account[PARTITION]
        backend.credential_report = None
        backend.credential_report_frozen = None
        backend.credential_report_generated_at = None
        accounts += 1
    return {"accounts": accounts}


# --------------------------------------------------------------------------- WSGI
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def json_response(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


SEEDERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "/_seed/iam": seed_iam,
    "/_seed/credential-report": seed_credential_report,
    "/_seed/credential-report/forget": forget_credential_reports,
}


def with_seed_endpoints(app: WsgiApp) -> WsgiApp:
    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_seed/"):
            return app(environ, start_response)
        request = Request(environ)
        if request.method != "POST":
            response = json_response(405, {"error": "POST only"})
        elif path == "/_seed/reset":
            with SEED_LOCK:
                moto_api_backend.reset()
            response = json_response(200, {"status": "ok"})
        elif path in SEEDERS:
            seed = SEEDERS[path]
            try:
                spec = json.loads(request.get_data() or b"{}")
                with SEED_LOCK:
                    response = json_response(200, seed(spec))
            except SeedConflict as err:
                response = json_response(409, {"error": str(err)})
            except (ValueError, TypeError, AttributeError) as err:
                response = json_response(400, {"error": str(err)})
            except Exception as err:  # moto exceptions (LimitExceeded, ...)
                response = json_response(500, {"error": f"{type(err).__name__}: {err}"})
        else:
            response = json_response(404, {"error": f"unknown seed endpoint {path}"})
        return response(environ, start_response)

    return middleware


def _exit_on_eof() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port_pos", nargs="?", type=int, help="port (same as --port)")
    parser.add_argument("--port", "-p", type=int, default=None)
    parser.add_argument("--host", "-H", default="127.0.0.1")
    parser.add_argument("--log-requests", action="store_true", help="werkzeug access log on stderr")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin closes, i.e. when the parent process dies")
    args = parser.parse_args(argv)
    if not args.log_requests:
        # One stderr line per request would dominate benchmark runs; errors still get logged.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = args.port if args.port is not None else (args.port_pos if args.port_pos is not None else 5000)

    if args.exit_on_stdin_eof:
        # Backstop for a parent killed with SIGKILL: its end of our stdin pipe closes.
        threading.Thread(target=_exit_on_eof, daemon=True).start()
    install_patches()
    app = with_seed_endpoints(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, port, app, threaded=True)
    print(f"READY {server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
