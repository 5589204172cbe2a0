"""Plain variant: what a typical behave suite does without qhub.

A fresh ``requests`` call (new TCP + TLS connection) per request, a new Faker per scenario.
"""

import os

from faker import Faker


def before_all(context):
    context.base_url = os.environ["PETSTORE_URL"]
    context.ca_bundle = os.environ["PETSTORE_CA"]


def before_scenario(context, scenario):
    context.faker = Faker()
    context.pets_added = []
    context.customers = []
