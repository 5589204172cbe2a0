"""Hooks of qhub's example suite: start the bundled demo API, then turn qhub on.

A real project needs only the ``install(context)`` line; the demo server is here so the
example runs anywhere with no external service.
"""

from qhub.behave import install
from qhub.demo import DemoServer


def before_all(context):
    context.demo = DemoServer().start()
    install(context, overrides={"api.base_url": context.demo.url})


def before_scenario(context, scenario):
    # Your own hooks keep working next to qhub's timing.
    context.created_ids = []


def after_scenario(context, scenario):
    for path in context.created_ids:
        context.api.delete(path)


def after_all(context):
    context.demo.stop()
