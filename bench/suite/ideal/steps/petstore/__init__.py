"""Helpers shared by the ideal variant's step files: one persistent connection, pooled data.

``IDEAL_CLIENT`` picks what carries the requests (bound once, at import): ``http.client``
(the default, the ideal itself), or, as reference points for a client built on a library,
one ``urllib3.HTTPSConnectionPool`` or one ``requests.Session`` (``environment.py`` makes
``context.conn`` to match).
"""
import http.client
import json
import os

_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class Response:
    """Status and decoded JSON body of one answer."""

    __slots__ = ("body", "status_code", "text")

    def __init__(self, status_code, text):
        self.status_code = status_code
        self.text = text
        self.body = json.loads(text) if text else None

    def json(self):
        return self.body


def _call_http_client(context, method, path, body=None):
    """One request over the run's single keep-alive connection (reconnects if dropped)."""
    payload = None if body is None else json.dumps(body)
    conn = context.conn
    for attempt in (1, 2):
        try:
            conn.request(method, path, body=payload, headers=_HEADERS)
            raw = conn.getresponse()
            text = raw.read().decode()
            break
        except (http.client.HTTPException, ConnectionError):
            conn.close()
            if attempt == 2:
                raise
    response = Response(raw.status, text)
    context.response = response
    return response


def _call_urllib3(context, method, path, body=None):
    """One request through the run's urllib3 pool (keep-alive, no retries)."""
    payload = None if body is None else json.dumps(body)
    raw = context.conn.urlopen(method, path, body=payload, headers=_HEADERS, retries=False)
    response = Response(raw.status, raw.data.decode())
    context.response = response
    return response


def _call_requests(context, method, path, body=None):
    """One request through the run's ``requests.Session`` (keep-alive)."""
    response = context.conn.request(method, context.base_url + path, json=body, timeout=10)
    context.response = response
    return response


call = {
    "http.client": _call_http_client,
    "urllib3": _call_urllib3,
    "requests": _call_requests,
}[os.environ.get("IDEAL_CLIENT", "http.client")]


def new_pet(context, species):
    return {**next(context.pools.pets), "species": species}


def new_customer(context, segment):
    return {**next(context.pools.customers), "segment": segment}
