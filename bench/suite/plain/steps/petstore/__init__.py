"""Helpers shared by the plain variant's step files: HTTP calls and Faker records."""
import http.cookiejar
import logging
import os
import urllib.parse

import requests

log = logging.getLogger("petstore")
TIMEOUT = float(os.environ.get("PETSTORE_TIMEOUT", "10"))


def call(context, method, path, body=None):
    """One request; like ``requests.get`` it opens (and closes) its own TLS connection."""
    url = urllib.parse.urljoin(context.base_url, path)
    response = requests.request(
        method, url, json=body, verify=context.ca_bundle, timeout=TIMEOUT,
        cookies=http.cookiejar.CookieJar(),
    )
    log.debug("%s %s -> %s", method, path, response.status_code)
    context.response = response
    return response


def new_pet(fake, species):
    """A pet record made up by Faker."""
    return {
        "name": fake.first_name(),
        "species": species,
        "age": fake.random_int(0, 15),
        "tag": fake.word(),
        "price": f"{fake.pyfloat(min_value=5, max_value=900, right_digits=2):.2f}",
    }


def new_customer(fake, segment):
    """A customer record made up by Faker."""
    profile = fake.simple_profile()
    return {
        "name": profile["name"],
        "email": fake.unique.email(),
        "phone": fake.phone_number(),
        "address": fake.address().replace("\n", ", "),
        "segment": segment,
    }
