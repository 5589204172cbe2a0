Feature: Orders
  As a customer
  I order pets, change my orders and cancel them.

  Background:
    Given the pet store API is up

  Scenario Outline: A <segment> customer buys <qty> <species>
    Given a registered customer from the "<segment>" segment
    And a pet of species "<species>" in the store
    When the customer orders the pet with quantity <qty>
    Then the response status is 201
    And the order references the customer and the pet
    When I fetch the order
    Then the response status is 200
    And the order quantity is <qty>

    Examples: Consumers
      | segment | species    | qty |
      | retail  | dog        | 1   |
      | retail  | cat        | 2   |
      | retail  | goldfish   | 6   |
      | retail  | hamster    | 2   |
      | vip     | parrot     | 1   |
      | vip     | axolotl    | 2   |
      | vip     | chinchilla | 1   |
      | vip     | iguana     | 1   |
      | trial   | budgie     | 2   |
      | trial   | mouse      | 3   |
      | trial   | gecko      | 1   |
      | student | rat        | 2   |
      | student | canary     | 1   |
      | student | goldfish   | 4   |
      | student | guinea pig | 2   |

    Examples: Businesses
      | segment    | species   | qty |
      | wholesale  | goldfish  | 50  |
      | wholesale  | budgie    | 20  |
      | wholesale  | mouse     | 40  |
      | wholesale  | canary    | 12  |
      | enterprise | dog       | 5   |
      | enterprise | cat       | 8   |
      | enterprise | parrot    | 3   |
      | enterprise | tortoise  | 2   |
      | partner    | rabbit    | 10  |
      | partner    | hamster   | 15  |
      | partner    | cockatiel | 4   |
      | staff      | ferret    | 1   |
      | staff      | hedgehog  | 1   |
      | staff      | turtle    | 1   |
      | staff      | axolotl   | 2   |

  Scenario Outline: Cancel an order for a <species>
    Given a registered customer from the "<segment>" segment
    And a pet of species "<species>" in the store
    When the customer orders the pet with quantity 1
    And I cancel the order
    Then the response status is 204
    When I fetch the order
    Then the response status is 404

    Examples:
      | segment    | species   |
      | retail     | dog       |
      | retail     | cat       |
      | vip        | parrot    |
      | vip        | iguana    |
      | trial      | hamster   |
      | trial      | budgie    |
      | student    | mouse     |
      | wholesale  | goldfish  |
      | enterprise | rabbit    |
      | partner    | gecko     |
      | staff      | ferret    |
      | staff      | cockatiel |

  Scenario Outline: Change the quantity of an order to <qty>
    Given a registered customer from the "<segment>" segment
    And a pet of species "<species>" in the store
    When the customer orders the pet with quantity 1
    And I change the order quantity to <qty>
    Then the response status is 200
    When I fetch the order
    Then the order quantity is <qty>
    And the order references the customer and the pet

    Examples:
      | segment    | species  | qty |
      | retail     | dog      | 2   |
      | vip        | cat      | 3   |
      | trial      | rabbit   | 4   |
      | student    | goldfish | 10  |
      | wholesale  | mouse    | 100 |
      | enterprise | parrot   | 6   |
      | partner    | canary   | 12  |
      | staff      | turtle   | 2   |
      | retail     | hamster  | 5   |
      | vip        | axolotl  | 7   |

  Scenario Outline: A <segment> customer cannot order a pet that does not exist
    Given a registered customer from the "<segment>" segment
    When the customer orders a pet that does not exist
    Then the response status is 422
    And the error mentions "does not exist"

    Examples:
      | segment    |
      | retail     |
      | vip        |
      | trial      |
      | wholesale  |
      | enterprise |
      | staff      |

  Scenario: An order for an unknown customer is refused
    Given a pet of species "dog" in the store
    When an unknown customer orders the pet
    Then the response status is 422
    And the error mentions "does not exist"
