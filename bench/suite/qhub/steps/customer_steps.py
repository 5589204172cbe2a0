"""Customer account steps."""
import collections
import json

from behave import given, then, when
from petstore import call, customers, new_customer


@given('{n:d} customers from the "{segment}" segment')
def step_customers(context, n, segment):
    context.customers = customers(context, n, segment)


@when("I register the customers")
def step_register(context):
    for customer in context.customers:
        response = call(context, "POST", "/users", customer)
        assert response.status_code == 201, response.text
        customer["id"] = response.json()["id"]


@given('a registered customer from the "{segment}" segment')
def step_registered_customer(context, segment):
    step_customers(context, 1, segment)
    step_register(context)
    context.customer = context.customers[0]


@then("every customer gets an id")
def step_every_id(context):
    ids = [c.get("id") for c in context.customers]
    assert all(isinstance(i, int) for i in ids), ids
    assert len(set(ids)) == len(ids)


@when("I fetch each customer")
def step_fetch_each(context):
    context.fetched = [call(context, "GET", f"/users/{c['id']}").json() for c in context.customers]


@then("each customer has the email I sent")
def step_each_email(context):
    sent = collections.Counter(c["email"] for c in context.customers)
    got = collections.Counter(c["email"] for c in context.fetched)
    assert sent == got, (sent, got)


@when("I fetch the customer")
def step_fetch_customer(context):
    call(context, "GET", f"/users/{context.customer['id']}")


@when("the customer changes their email")
def step_change_email(context):
    context.customer["email"] = new_customer(context, context.customer["segment"])["email"]
    call(context, "PATCH", f"/users/{context.customer['id']}", {"email": context.customer["email"]})


@then("the customer has the new email")
def step_new_email(context):
    assert context.response.json()["email"] == context.customer["email"]


@when("the customer closes their account")
def step_close(context):
    call(context, "DELETE", f"/users/{context.customer['id']}")


@when("the customer moves to a new address")
def step_move(context):
    context.customer["address"] = new_customer(context, context.customer["segment"])["address"]
    body = {k: v for k, v in context.customer.items() if k != "id"}
    call(context, "PUT", f"/users/{context.customer['id']}", body)


@then("the customer has the new address")
def step_new_address(context):
    assert context.response.json()["address"] == context.customer["address"]


@then("the customer keeps their email")
def step_keeps_email(context):
    assert context.response.json()["email"] == context.customer["email"]


@when("I register a customer without an email")
def step_no_email(context):
    call(context, "POST", "/users", {"name": new_customer(context, "retail")["name"]})


@when("I list all customers")
def step_list_customers(context):
    call(context, "GET", "/users")


@then("the list contains every customer I registered")
def step_list_has_customers(context):
    listed = {u["id"]: u for u in json.loads(context.response.text)}
    for customer in context.customers:
        assert listed[customer["id"]]["email"] == customer["email"]
