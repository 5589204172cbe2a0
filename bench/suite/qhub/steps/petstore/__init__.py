"""Helpers shared by the qhub variant's step files: ``context.api`` and ``context.data``."""


def call(context, method, path, body=None):
    """One request through qhub's pooled client (keep-alive TLS, retries as configured)."""
    response = context.api.request(method, path, json=body)
    context.response = response
    return response


def _without_id(record):
    record.pop("id", None)
    return record


def new_pet(context, species):
    """The next pet of the cached pool (template ``pet`` in ``data/``), of this species."""
    return _without_id(context.data.build("pet", species=species))


def new_customer(context, segment):
    """The next customer of the cached pool (template ``customer``), in this segment."""
    return _without_id(context.data.build("customer", segment=segment))


def customers(context, n, segment):
    """``n`` customers of a segment, cached under one key per segment and size."""
    rows = context.data.records("customer", n, key=f"customers-{segment}-{n}", segment=segment)
    return [_without_id(r) for r in rows]
