Feature: Pet inventory
  As a shop assistant
  I keep the store's pet inventory up to date through the pet store API.

  Background:
    Given the pet store API is up

  Scenario Outline: Add a <species> to the inventory
    Given a new pet of species "<species>"
    When I add the pet to the store
    Then the response status is 201
    And the pet has species "<species>"
    When I fetch the pet by its id
    Then the response status is 200
    And the pet name matches what I sent

    Examples: Mammals
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

    Examples: Birds, fish and reptiles
      | species   |
      | parrot    |
      | canary    |
      | budgie    |
      | cockatiel |
      | goldfish  |
      | axolotl   |
      | turtle    |
      | tortoise  |
      | iguana    |
      | gecko     |

  Scenario Outline: Rename a <species>
    Given a pet of species "<species>" in the store
    When I rename the pet
    Then the response status is 200
    And the pet has species "<species>"
    When I fetch the pet by its id
    Then the pet name matches what I sent

    Examples:
      | species    |
      | dog        |
      | cat        |
      | rabbit     |
      | hamster    |
      | ferret     |
      | parrot     |
      | canary     |
      | budgie     |
      | goldfish   |
      | axolotl    |
      | turtle     |
      | iguana     |
      | gecko      |
      | chinchilla |
      | hedgehog   |

  Scenario Outline: Replace the record of a <old> with a <new>
    Given a pet of species "<old>" in the store
    When I replace the pet with a new pet of species "<new>"
    Then the response status is 200
    When I fetch the pet by its id
    Then the pet has species "<new>"
    And the pet name matches what I sent

    Examples:
      | old      | new       |
      | dog      | cat       |
      | cat      | dog       |
      | parrot   | canary    |
      | hamster  | mouse     |
      | turtle   | tortoise  |
      | goldfish | axolotl   |
      | rabbit   | ferret    |
      | gecko    | iguana    |
      | budgie   | cockatiel |
      | rat      | hedgehog  |

  Scenario Outline: Remove a <species> from the inventory
    Given a pet of species "<species>" in the store
    When I remove the pet
    Then the response status is 204
    When I fetch the pet by its id
    Then the response status is 404
    And the error mentions "not found"

    Examples:
      | species   |
      | dog       |
      | cat       |
      | parrot    |
      | goldfish  |
      | hamster   |
      | rabbit    |
      | turtle    |
      | gecko     |
      | cockatiel |
      | ferret    |

  Scenario Outline: Stock <count> pets of species <species> at once
    Given <count> pets of species "<species>" in the store
    When I list all pets
    Then the response status is 200
    And the list contains every pet I added

    Examples:
      | count | species  |
      | 2     | dog      |
      | 3     | cat      |
      | 4     | goldfish |
      | 5     | budgie   |
      | 2     | iguana   |
      | 3     | rabbit   |
      | 4     | mouse    |
      | 5     | canary   |

  Scenario: Fetching a pet that does not exist
    When I fetch pet 999999
    Then the response status is 404
    And the error mentions "not found"

  Scenario: A pet without a name is refused
    When I add a pet without a name
    Then the response status is 422
    And the error mentions "name"
