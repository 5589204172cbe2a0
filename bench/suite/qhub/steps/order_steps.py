"""Order steps."""
from behave import then, when
from petstore import call


@when("the customer orders the pet with quantity {qty:d}")
def step_order(context, qty):
    body = {"user_id": context.customer["id"], "pet_id": context.pet_id,
            "quantity": qty, "status": "placed"}
    response = call(context, "POST", "/orders", body)
    if response.status_code == 201:
        context.order = response.json()


@when("the customer orders a pet that does not exist")
def step_order_missing_pet(context):
    body = {"user_id": context.customer["id"], "pet_id": 10**9, "quantity": 1, "status": "placed"}
    call(context, "POST", "/orders", body)


@when("an unknown customer orders the pet")
def step_unknown_customer(context):
    body = {"user_id": 10**9, "pet_id": context.pet_id, "quantity": 1, "status": "placed"}
    call(context, "POST", "/orders", body)


@then("the order references the customer and the pet")
def step_order_refs(context):
    order = context.response.json()
    assert order["user_id"] == context.customer["id"]
    assert order["pet_id"] == context.pet_id


@when("I fetch the order")
def step_fetch_order(context):
    call(context, "GET", f"/orders/{context.order['id']}")


@then("the order quantity is {qty:d}")
def step_order_qty(context, qty):
    assert context.response.json()["quantity"] == qty


@when("I cancel the order")
def step_cancel(context):
    call(context, "DELETE", f"/orders/{context.order['id']}")


@when("I change the order quantity to {qty:d}")
def step_change_qty(context, qty):
    call(context, "PATCH", f"/orders/{context.order['id']}", {"quantity": qty})
