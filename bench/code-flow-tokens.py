#!/usr/bin/env python3
"""Mints single-use tokens of cloudtrust's Workspace OpenID Connect server for bench/code-flow.

Signs the demo end user in once through the real pages (GET authorize -> GET /core/login ->
POST /core/login), then, with that session cookie, asks the authorization endpoint for one
code per request (each answer is a 303 to the redirect URI carrying a new code).

  --kind code     writes COUNT authorization codes (all for the same PKCE verifier)
  --kind refresh  also exchanges each code at the token endpoint (HTTP Basic of the private
                  client) and writes the COUNT refresh tokens (scope openid offline_access)

One token per line, to --out. WORKERS threads share the work, each on its own keep-alive
connection. Prints what it did and how fast to stderr. Needs Python 3 and `requests`.
"""

import argparse
import base64
import hashlib
import http.client
import json
import re
import sys
import threading
import time
import urllib.parse

import requests


def fail(message):
    print(f"code-flow-tokens: {message}", file=sys.stderr)
    sys.exit(1)


def challenge_of(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hidden(html, name):
    m = re.search(r'<input[^>]*name="%s"[^>]*>' % re.escape(name), html)
    v = m and re.search(r'value="([^"]*)"', m.group(0))
    if not v:
        fail(f"the sign-in page has no hidden field {name!r}")
    return v.group(1).replace("&amp;", "&").replace("&quot;", '"').replace("&#x27;", "'")


def query_value(location, name):
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get(name)
    return values[0] if values else None


def sign_in(args, authorize_query):
    """Returns the session cookie (name=value) of the signed-in demo user."""
    s = requests.Session()
    r = s.get(f"{args.issuer}/connect/authorize?{authorize_query}", allow_redirects=False, timeout=10)
    if r.status_code != 303 or "/core/login" not in r.headers.get("Location", ""):
        fail(f"GET authorize without a session answered {r.status_code} {r.headers.get('Location')!r}: {r.text[:300]}")
    login_url = urllib.parse.urljoin(r.url, r.headers["Location"])
    r = s.get(login_url, timeout=10)
    if r.status_code != 200:
        fail(f"GET {login_url} answered {r.status_code}: {r.text[:300]}")
    form = {
        "csrf": hidden(r.text, "csrf"),
        "interaction": hidden(r.text, "interaction"),
        "email": args.user,
        "password": args.password,
    }
    post_url = urllib.parse.urljoin(login_url, "/core/login")
    r = s.post(post_url, data=form, allow_redirects=False, timeout=10)
    location = r.headers.get("Location", "")
    if r.status_code != 303 or not location.startswith(args.redirect_uri) or not query_value(location, "code"):
        fail(f"POST /core/login answered {r.status_code} {location!r}: {r.text[:300]}")
    session = s.cookies.get("cloudtrust_core_session")
    if not session:
        fail("signing in set no cloudtrust_core_session cookie")
    return f"cloudtrust_core_session={session}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--issuer", required=True, help="WORKSPACE_ISSUER, e.g. http://127.0.0.1:18080/core")
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", help="the private client's secret (needed for --kind refresh)")
    p.add_argument("--redirect-uri", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--verifier", required=True, help="PKCE code_verifier (43-128 characters)")
    p.add_argument("--kind", choices=["code", "refresh"], required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    if args.kind == "refresh" and not args.client_secret:
        fail("--kind refresh needs --client-secret")
    if args.count < 1 or args.workers < 1:
        fail("--count and --workers must be positive")

    authorize_query = urllib.parse.urlencode({
        "response_type": "code",
        "client_id": args.client_id,
        "redirect_uri": args.redirect_uri,
        "scope": "openid offline_access",
        "state": "x",
        "code_challenge": challenge_of(args.verifier),
        "code_challenge_method": "S256",
    }, quote_via=urllib.parse.quote)
    started = time.monotonic()
    cookie = sign_in(args, authorize_query)

    issuer = urllib.parse.urlsplit(args.issuer)
    authorize_path = f"{issuer.path}/connect/authorize?{authorize_query}"
    token_path = f"{issuer.path}/connect/token"
    basic = "Basic " + base64.b64encode(
        f"{urllib.parse.quote(args.client_id, safe='')}:{urllib.parse.quote(args.client_secret or '', safe='')}".encode()
    ).decode()
    exchange_tail = "&" + urllib.parse.urlencode({
        "redirect_uri": args.redirect_uri, "code_verifier": args.verifier,
    }, quote_via=urllib.parse.quote)

    out = [None] * args.count
    errors = []
    lock = threading.Lock()
    next_index = [0]

    def take():
        with lock:
            if errors or next_index[0] >= args.count:
                return None
            i = next_index[0]
            next_index[0] += 1
            return i

    def worker():
        conn = http.client.HTTPConnection(issuer.hostname, issuer.port or 80, timeout=30)
        try:
            while (i := take()) is not None:
                conn.request("GET", authorize_path, headers={"Cookie": cookie})
                r = conn.getresponse()
                body = r.read()
                location = r.getheader("Location") or ""
                code = query_value(location, "code") if r.status == 303 else None
                if not code:
                    raise RuntimeError(f"GET authorize answered {r.status} {location!r}: {body[:300]!r}")
                if args.kind == "code":
                    out[i] = code
                    continue
                form = "grant_type=authorization_code&code=" + urllib.parse.quote(code, safe="") + exchange_tail
                conn.request("POST", token_path, body=form, headers={
                    "Authorization": basic, "Content-Type": "application/x-www-form-urlencoded",
                })
                r = conn.getresponse()
                body = r.read()
                refresh = json.loads(body).get("refresh_token") if r.status == 200 else None
                if not refresh:
                    raise RuntimeError(f"POST token (authorization_code) answered {r.status}: {body[:300]!r}")
                out[i] = refresh
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                errors.append(str(e))
        finally:
            conn.close()

    minting = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        fail(errors[0])
    finished = time.monotonic()
    with open(args.out, "w", encoding="ascii") as f:
        f.write("\n".join(out) + "\n")
    rate = args.count / (finished - minting) if finished > minting else 0
    print(f"code-flow-tokens: {args.count} {args.kind} tokens in {finished - started:.2f}s "
          f"(sign-in {minting - started:.2f}s, then {rate:.0f}/s with {args.workers} workers)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
