"""Helpers shared by the ideal variant's step files: one persistent connection, pooled data."""
import http.client
import json

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


def call(context, method, path, body=None):
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


def new_pet(context, species):
    return {**next(context.pools.pets), "species": species}


def new_customer(context, segment):
    return {**next(context.pools.customers), "segment": segment}
