"""Steps specific to the demo pet store, written the way a team would write them."""

from behave import given, then, when

from qhub import profile_block


@given('a pet named "{name}" of species "{species}"')
def step_create_pet(context, name, species):
    response = context.api.post("/pets", json={"name": name, "species": species})
    assert response.status_code == 201, response.text
    context.pet = response.json()
    context.created_ids.append(f"/pets/{context.pet['id']}")


@when("I fetch that pet")
def step_fetch_pet(context):
    context.response = context.api.get(f"/pets/{context.pet['id']}", route="/pets/{id}")


@when('I rename that pet to "{name}"')
def step_rename_pet(context, name):
    context.response = context.api.patch(
        f"/pets/{context.pet['id']}", json={"name": name}, route="/pets/{id}"
    )


@then('the pet is called "{name}"')
def step_pet_called(context, name):
    assert context.response.json()["name"] == name, context.response.text


@given('the cached users "{key}" are registered')
def step_register_users(context, key):
    context.users = []
    with profile_block(context.profiler, "register cached users"):
        for user in context.data.get(key):
            response = context.api.post("/users", json=user)
            assert response.status_code == 201, response.text
            context.users.append(response.json())
            context.created_ids.append(f"/users/{response.json()['id']}")


@when("the first registered user orders that pet")
def step_order(context):
    order = {"user_id": context.users[0]["id"], "pet_id": context.pet["id"]}
    context.response = context.api.post("/orders", json=order)
    if context.response.status_code == 201:
        context.created_ids.append(f"/orders/{context.response.json()['id']}")


@when("somebody orders a pet that does not exist")
def step_bad_order(context):
    context.response = context.api.post("/orders", json={"user_id": 1, "pet_id": 999_999})


@then("every cached user has a unique email")
def step_unique_emails(context):
    emails = [user["email"] for user in context.users]
    assert len(emails) == len(set(emails)), emails


@when('the pets "{key}" are added to the store')
def step_add_pets(context, key):
    for pet in context.data.get(key):
        response = context.api.post("/pets", json=pet)
        assert response.status_code == 201, response.text
        context.created_ids.append(f"/pets/{response.json()['id']}")


@then("the store lists at least {count:d} pets")
def step_list_pets(context, count):
    pets = context.api.get("/pets").json()
    assert len(pets) >= count, pets
