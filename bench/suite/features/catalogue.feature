Feature: Catalogue contracts
  As a client developer
  I rely on the shape of the records the pet store API returns.

  Background:
    Given the pet store API is up

  Scenario Outline: A stored <species> matches the pet schema
    Given a pet of species "<species>" in the store
    When I fetch the pet by its id
    Then the response status is 200
    And the response matches the "pet" schema

    Examples:
      | species    |
      | dog        |
      | cat        |
      | rabbit     |
      | hamster    |
      | ferret     |
      | guinea pig |
      | hedgehog   |
      | chinchilla |
      | mouse      |
      | rat        |
      | parrot     |
      | canary     |
      | budgie     |
      | cockatiel  |
      | goldfish   |
      | axolotl    |
      | turtle     |
      | tortoise   |
      | iguana     |
      | gecko      |

  Scenario Outline: A <segment> customer matches the customer schema
    Given a registered customer from the "<segment>" segment
    When I fetch the customer
    Then the response status is 200
    And the response matches the "customer" schema

    Examples:
      | segment    |
      | retail     |
      | vip        |
      | trial      |
      | student    |
      | wholesale  |
      | enterprise |
      | partner    |
      | staff      |

  Scenario: An order matches the order schema
    Given a registered customer from the "retail" segment
    And a pet of species "dog" in the store
    When the customer orders the pet with quantity 1
    And I fetch the order
    Then the response matches the "order" schema
