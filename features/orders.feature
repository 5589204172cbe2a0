@orders
Feature: Orders link users and pets

  Scenario: A registered user orders a pet
    Given 2 cached users as "buyers"
    And the cached users "buyers" are registered
    And a pet named "Goldie" of species "fish"
    When the first registered user orders that pet
    Then the response status is 201
    And the response matches schema "order"

  @negative
  Scenario: Ordering a pet that does not exist is refused
    When somebody orders a pet that does not exist
    Then the response status is 422
