"""A loopback S3 server for the S3 backend tests: moto's S3 behind two small
WSGI layers.

- Requests are serialised by one lock, so moto's check-then-write for
  ``If-None-Match: *`` is atomic, as it is on real S3 (moto itself checks and
  writes without a lock).
- Fault injection for the retry tests: ``POST /__lh_fault__?count=N&status=503
  &code=SlowDown[&method=PUT]`` makes the next N matching requests fail with
  that status and an S3 XML error body; ``mode=drop`` closes the connection
  without an answer; ``mode=drop_after`` applies the request, then closes the
  connection (a success the client never sees); ``region=R`` adds an
  ``x-amz-bucket-region`` header (wrong-region answers); ``server_time=T`` adds
  ``<ServerTime>`` to the body (clock-skew answers); ``mode=delete_error``
  answers a DeleteObjects 200 with a DeleteResult that lists the first key
  asked as failed with ``code`` (a partial failure). ``GET /__lh_stats__`` returns
  request counts per method as JSON.
- Machine credentials for the credential-chain tests, handing out the
  printed key: EC2 instance metadata (IMDSv2: ``PUT /latest/api/token``, then
  ``/latest/meta-data/iam/security-credentials/[role]`` with the token) and a
  container credentials endpoint (``GET /__lh_container_creds__``, header
  ``Authorization: lh-container-auth``), and STS AssumeRoleWithWebIdentity
  (``POST /__lh_sts__``, role ``arn:aws:iam::123456789012:role/lh``, token
  ``lh-web-token``). ``POST /__lh_creds__?expires_in=S``
  sets how soon the credentials handed out expire (default an hour);
  ``/__lh_stats__`` counts ``imds``, ``container`` and ``sts`` fetches.
- Holds, for races between processes: ``POST /__lh_hold__?contains=S
  [&method=GET][&count=1]`` makes the next matching requests (path containing
  S) wait, outside the serialising lock, until ``POST /__lh_release__``;
  ``/__lh_stats__`` counts them as ``held``.

Run: ``python s3_fixture.py [--auth] BUCKET...``. It prints "port key_id
secret" on stdout, then serves until stdin closes or it gets SIGTERM. With
--auth, moto checks every request's SigV4 signature against an IAM user's
key (the printed one).
"""
import json
import os
import signal
import sys
import threading
from urllib.parse import parse_qs

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

_lock = threading.Lock()
_faults = []  # dicts: count, status, code, mode, method
_stats = {}
_holds = []  # dicts: contains, method, count, released (an Event)


def _error_body(code, message, server_time=None):
    extra = f"<ServerTime>{server_time}</ServerTime>" if server_time else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{extra}"
        "<RequestId>lh-fault</RequestId></Error>"
    ).encode()


def _drain(environ):
    n = int(environ.get("CONTENT_LENGTH") or 0)
    if n:
        environ["wsgi.input"].read(n)


def _drop_connection(environ):
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        import socket

        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


_creds = {"key_id": "testing", "secret": "testing", "expires_in": 3600}
IMDS_TOKEN = "lh-imds-token"
IMDS_ROLE = "lh-role"
STS_ROLE = "arn:aws:iam::123456789012:role/lh"
STS_TOKEN = "lh-web-token"


def _creds_json():
    import datetime

    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=_creds["expires_in"])
    return json.dumps(
        {
            "Code": "Success",
            "Type": "AWS-HMAC",
            "AccessKeyId": _creds["key_id"],
            "SecretAccessKey": _creds["secret"],
            "Token": "",  # moto checks signatures of IAM users: no session token
            "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


def _answer(start_response, status, body, ctype="text/plain"):
    body = body.encode()
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


def _machine_creds(environ, start_response, path, method):
    """The metadata services' answers, or None when path is not theirs."""
    if path == "/latest/api/token" and method == "PUT":
        if not environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS"):
            return _answer(start_response, "400 Bad Request", "")
        return _answer(start_response, "200 OK", IMDS_TOKEN)
    if path.startswith("/latest/meta-data/iam/security-credentials/") and method == "GET":
        if environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN") != IMDS_TOKEN:
            return _answer(start_response, "401 Unauthorized", "")
        role = path[len("/latest/meta-data/iam/security-credentials/"):]
        if not role:
            return _answer(start_response, "200 OK", IMDS_ROLE + "\n")
        if role != IMDS_ROLE:
            return _answer(start_response, "404 Not Found", "")
        with _lock:
            _stats["imds"] = _stats.get("imds", 0) + 1
            body = _creds_json()
        return _answer(start_response, "200 OK", body, "application/json")
    if path == "/__lh_container_creds__":
        if environ.get("HTTP_AUTHORIZATION") != "lh-container-auth":
            return _answer(start_response, "403 Forbidden", "")
        with _lock:
            _stats["container"] = _stats.get("container", 0) + 1
            body = _creds_json()
        return _answer(start_response, "200 OK", body, "application/json")
    if path == "/__lh_sts__" and method == "POST":
        n = int(environ.get("CONTENT_LENGTH") or 0)
        form = {k: v[0] for k, v in parse_qs(environ["wsgi.input"].read(n).decode()).items()}
        if (form.get("Action") != "AssumeRoleWithWebIdentity" or form.get("Version") != "2011-06-15"
                or form.get("RoleArn") != STS_ROLE or not form.get("RoleSessionName")):
            return _answer(start_response, "400 Bad Request",
                           "<ErrorResponse><Error><Code>InvalidParameterValue</Code></Error></ErrorResponse>")
        if form.get("WebIdentityToken") != STS_TOKEN:
            return _answer(start_response, "403 Forbidden",
                           "<ErrorResponse><Error><Code>InvalidIdentityToken</Code>"
                           "<Message>bad token</Message></Error></ErrorResponse>", "text/xml")
        with _lock:
            _stats["sts"] = _stats.get("sts", 0) + 1
            c = json.loads(_creds_json())
        body = ("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                f"<AccessKeyId>{c['AccessKeyId']}</AccessKeyId><SecretAccessKey>{c['SecretAccessKey']}"
                f"</SecretAccessKey><SessionToken></SessionToken><Expiration>{c['Expiration']}</Expiration>"
                "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
        return _answer(start_response, "200 OK", body, "text/xml")
    if path == "/__lh_creds__":
        q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        _drain(environ)
        with _lock:
            _creds["expires_in"] = int(q.get("expires_in", "3600"))
        return _answer(start_response, "200 OK", "")
    return None


class Faulty:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ["REQUEST_METHOD"]
        answer = _machine_creds(environ, start_response, path, method)
        if answer is not None:
            return answer
        if path == "/__lh_fault__":
            q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            _drain(environ)
            with _lock:
                _faults.append(
                    {
                        "count": int(q.get("count", "1")),
                        "status": int(q.get("status", "503")),
                        "code": q.get("code", "SlowDown"),
                        "mode": q.get("mode", "status"),
                        "method": q.get("method"),
                        "region": q.get("region"),
                        "server_time": q.get("server_time"),
                    }
                )
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        if path == "/__lh_hold__":
            q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            _drain(environ)
            with _lock:
                _holds.append({"contains": q["contains"], "method": q.get("method"),
                               "count": int(q.get("count", "1")), "released": threading.Event()})
            return _answer(start_response, "200 OK", "")
        if path == "/__lh_release__":
            _drain(environ)
            with _lock:
                for h in _holds:
                    h["released"].set()
                _holds.clear()
            return _answer(start_response, "200 OK", "")
        hold = None
        with _lock:
            for h in _holds:
                if h["count"] > 0 and h["contains"] in path and h["method"] in (None, method):
                    h["count"] -= 1
                    _stats["held"] = _stats.get("held", 0) + 1
                    hold = h
                    break
        if hold:
            # waits outside the lock: the other processes' requests go on
            hold["released"].wait(timeout=300)
        if path == "/__lh_stats__":
            with _lock:
                body = json.dumps(_stats).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        with _lock:
            _stats[method] = _stats.get(method, 0) + 1
            fault = None
            for f in _faults:
                if f["count"] > 0 and (f["method"] is None or f["method"] == method):
                    f["count"] -= 1
                    fault = dict(f)
                    break
            if fault is None or fault["mode"] == "drop_after":
                # Serialised: moto's conditional writes become atomic.
                chunks = list(self.app(environ, start_response))
        if fault is None:
            return chunks
        if fault["mode"] in ("drop", "drop_after"):
            if fault["mode"] == "drop":
                _drain(environ)
                start_response("500 Dropped", [("Content-Length", "0")])
            _drop_connection(environ)
            return []
        if fault["mode"] == "delete_error":
            n = int(environ.get("CONTENT_LENGTH") or 0)
            asked = environ["wsgi.input"].read(n).decode()
            key = asked.split("<Key>", 1)[1].split("</Key>", 1)[0] if "<Key>" in asked else "?"
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult><Error>'
                    f"<Key>{key}</Key><Code>{fault['code']}</Code><Message>injected fault</Message>"
                    "</Error></DeleteResult>").encode()
            start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
            return [body]
        _drain(environ)
        body = b"" if method == "HEAD" else _error_body(fault["code"], "injected fault", fault["server_time"])
        headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
        if fault["region"]:
            headers.append(("x-amz-bucket-region", fault["region"]))
        start_response(f"{fault['status']} Injected", headers)
        return [body]


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        if os.environ.get("LH_S3_FIXTURE_LOG"):
            super().log_request(*args, **kwargs)


def main():
    args = sys.argv[1:]
    auth = "--auth" in args
    buckets = [a for a in args if not a.startswith("--")]
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    app = Faulty(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    import boto3

    def client(service):
        return boto3.client(
            service,
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    s3 = client("s3")
    for b in buckets:
        s3.create_bucket(Bucket=b)
    key_id, secret = "testing", "testing"
    if auth:
        # A user allowed everything; then switch moto's SigV4 checking on,
        # so every later request must carry a valid signature.
        iam = client("iam")
        iam.create_user(UserName="lh")
        policy = json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        )
        iam.put_user_policy(UserName="lh", PolicyName="all", PolicyDocument=policy)
        key = iam.create_access_key(UserName="lh")["AccessKey"]
        key_id, secret = key["AccessKeyId"], key["SecretAccessKey"]
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin

        with _lock:
            settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
            ActionAuthenticatorMixin.request_count = 0
    _creds.update(key_id=key_id, secret=secret)
    print(port, key_id, secret, flush=True)

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        while sys.stdin.read(4096):
            pass
    except (OSError, ValueError):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
