@pets
Feature: Pets in the demo store
  The pooled client (context.api) reuses one connection for every request, and the
  reusable steps from qhub.steps cover plain HTTP checks.

  @smoke
  Scenario: The store answers its health check
    When I GET "/health"
    Then the response status is 200
    And the response JSON has "status"

  @smoke
  Scenario: A new pet can be fetched by id
    Given a pet named "Rex" of species "dog"
    When I fetch that pet
    Then the response status is 200
    And the response matches schema "pet"
    And the pet is called "Rex"

  Scenario: Renaming a pet
    Given a pet named "Tom" of species "cat"
    When I rename that pet to "Thomas"
    Then the response status is 200
    And the pet is called "Thomas"

  Scenario: Unknown pets are reported as missing
    When I GET "/pets/424242"
    Then the response status is 404

  Scenario: Creating a pet through the generic POST step
    When I POST "/pets" with JSON:
      """
      {"name": "Nibbles", "species": "hamster"}
      """
    Then the response status is 201
    And the response matches schema "pet"

  Scenario Outline: Pets of every species are accepted
    Given a pet named "<name>" of species "<species>"
    When I fetch that pet
    Then the response status is 200
    And the pet is called "<name>"

    Examples:
      | name    | species |
      | Bella   | dog     |
      | Milo    | cat     |
      | Kiwi    | bird    |
      | Sheldon | turtle  |

  @data
  Scenario: A litter of pets built from a template is listed by the store
    Given 3 cached "adoptable_pet" records as "litter"
    When the pets "litter" are added to the store
    Then the store lists at least 3 pets
    And the cached "litter" records have unique "chip" values
