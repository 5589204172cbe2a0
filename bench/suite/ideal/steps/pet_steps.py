"""Pet inventory steps."""
import datetime
import random

from behave import given, then, when
from petstore import call, new_pet


@given('a new pet of species "{species}"')
def step_new_pet(context, species):
    context.pet = new_pet(context, species)


@when("I add the pet to the store")
def step_add_pet(context):
    response = call(context, "POST", "/pets", context.pet)
    if response.status_code == 201:
        context.pet_id = response.json()["id"]
        context.pets_added.append(context.pet_id)


@given('a pet of species "{species}" in the store')
def step_pet_in_store(context, species):
    context.pet = new_pet(context, species)
    response = call(context, "POST", "/pets", context.pet)
    assert response.status_code == 201, response.text
    context.pet_id = response.json()["id"]
    context.pets_added.append(context.pet_id)


@given('{count:d} pets of species "{species}" in the store')
def step_pets_in_store(context, count, species):
    for _ in range(count):
        step_pet_in_store(context, species)


@when("I fetch the pet by its id")
def step_fetch_pet(context):
    call(context, "GET", f"/pets/{context.pet_id}")


@when("I fetch pet {pet_id:d}")
def step_fetch_pet_id(context, pet_id):
    call(context, "GET", f"/pets/{pet_id}")


@when("I rename the pet")
def step_rename(context):
    context.pet["name"] = next(context.pools.names)
    call(context, "PATCH", f"/pets/{context.pet_id}", {"name": context.pet["name"]})


@when('I replace the pet with a new pet of species "{species}"')
def step_replace(context, species):
    context.pet = new_pet(context, species)
    context.pet["registered"] = datetime.date.today().isoformat()
    call(context, "PUT", f"/pets/{context.pet_id}", context.pet)


@when("I remove the pet")
def step_remove(context):
    call(context, "DELETE", f"/pets/{context.pet_id}")


@when("I list all pets")
def step_list_pets(context):
    call(context, "GET", "/pets")


@when("I add a pet without a name")
def step_add_nameless(context):
    call(context, "POST", "/pets", {"species": random.choice(["dog", "cat"])})


@then('the pet has species "{species}"')
def step_pet_species(context, species):
    assert context.response.json()["species"] == species


@then("the pet name matches what I sent")
def step_pet_name(context):
    assert context.response.json()["name"] == context.pet["name"]


@then("the list contains every pet I added")
def step_list_contains(context):
    ids = {pet["id"] for pet in context.response.json()}
    missing = set(context.pets_added) - ids
    assert not missing, f"pets missing from the list: {sorted(missing)}"
