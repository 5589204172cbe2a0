"""Ideal variant: the practical limit, tuned by hand.

One persistent TLS connection for the whole run, test data pre-computed into a JSON file
before timing, heavy modules imported only by the steps that need them. The connection is
an ``http.client`` one; ``IDEAL_CLIENT=urllib3`` or ``requests`` swaps in one
``urllib3.HTTPSConnectionPool`` or one ``requests.Session``: reference points for what a
hand-tuned suite on those libraries costs.
"""

import http.client
import itertools
import json
import os
import ssl
import urllib.parse


class Pools:
    """Endless iterators over the pre-computed records."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        self.pets = itertools.cycle(data["pets"])
        self.customers = itertools.cycle(data["customers"])
        self.emails = itertools.cycle(data["emails"])
        self.addresses = itertools.cycle(data["addresses"])
        self.names = itertools.cycle(data["names"])


def connect(base_url, ca_file):
    """The run's one connection (or pool, or session), as ``IDEAL_CLIENT`` asks."""
    client = os.environ.get("IDEAL_CLIENT", "http.client")
    url = urllib.parse.urlsplit(base_url)
    if client == "urllib3":
        import urllib3

        return urllib3.HTTPSConnectionPool(
            url.hostname, url.port, ca_certs=ca_file, maxsize=1, timeout=10
        )
    if client == "requests":
        import requests

        session = requests.Session()
        session.verify = ca_file
        session.headers["Accept"] = "application/json"
        return session
    tls = ssl.create_default_context(cafile=ca_file)
    return http.client.HTTPSConnection(url.hostname, url.port, context=tls, timeout=10)


def before_all(context):
    context.base_url = os.environ["PETSTORE_URL"]
    context.conn = connect(context.base_url, os.environ["PETSTORE_CA"])
    context.pools = Pools(os.environ["PETSTORE_DATA"])


def before_scenario(context, scenario):
    context.pets_added = []
    context.customers = []


def after_all(context):
    context.conn.close()
