"""qhub variant: the plain suite with one ``install(context)`` line.

``context.api`` is a pooled client (keep-alive TLS), ``context.data`` serves cached
Faker records, and the step files import heavy modules only where ``qhub audit --diff``
said they are used.
"""

from qhub.behave import install


def before_all(context):
    install(context)


def before_scenario(context, scenario):
    context.pets_added = []
    context.customers = []
